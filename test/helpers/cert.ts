import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tmpDir } from './tmp.js';

/**
 * A self-signed certificate, made now with openssl (PEM strings): for localhost / 127.0.0.1, or for `names`
 * only (DNS names), as a shared host's certificate names the provider and not the customer's host.
 */
export function selfSignedCert(names?: string[]): { key: string; cert: string } {
  const san = names ? names.map((n) => `DNS:${n}`).join(',') : 'DNS:localhost,IP:127.0.0.1';
  const dir = tmpDir('ftpship-cert-');
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${names?.[0] ?? 'localhost'}`,
      '-addext',
      `subjectAltName=${san}`,
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  return { key: fs.readFileSync(key, 'utf8'), cert: fs.readFileSync(cert, 'utf8') };
}
