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

/**
 * A self-signed certificate for localhost / 127.0.0.1 valid only between `notBefore` and `notAfter`
 * (openssl's `YYYYMMDDHHMMSSZ`): one that has expired, or is not valid yet. `openssl req` takes no dates in
 * the past, `openssl ca -selfsign` does.
 */
export function datedCert(notBefore: string, notAfter: string): { key: string; cert: string } {
  const dir = tmpDir('ftpship-cert-');
  const file = (name: string): string => path.join(dir, name);
  fs.writeFileSync(file('index.txt'), '');
  fs.writeFileSync(file('serial'), '01\n');
  fs.writeFileSync(
    file('ca.cnf'),
    [
      '[ca]',
      'default_ca = d',
      '[d]',
      `database = ${file('index.txt')}`,
      `serial = ${file('serial')}`,
      `new_certs_dir = ${dir}`,
      'default_md = sha256',
      'policy = p',
      'copy_extensions = copy',
      '[p]',
      'commonName = supplied',
      '',
    ].join('\n'),
  );
  const run = (args: string[]): void => {
    execFileSync('openssl', args, { stdio: 'ignore' });
  };
  run([
    'req',
    '-new',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout',
    file('key.pem'),
    '-out',
    file('req.pem'),
  ]);
  run([
    'ca',
    '-batch',
    '-config',
    file('ca.cnf'),
    '-selfsign',
    '-keyfile',
    file('key.pem'),
    '-in',
    file('req.pem'),
    '-startdate',
    notBefore,
    '-enddate',
    notAfter,
    '-out',
    file('cert.pem'),
  ]);
  return { key: fs.readFileSync(file('key.pem'), 'utf8'), cert: fs.readFileSync(file('cert.pem'), 'utf8') };
}
