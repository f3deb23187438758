/**
 * The gulp plugin's TLS errors in gulp words: the engine's advice names CLI flags (`--ca FILE`, `--insecure`,
 * `--tls-name`), a gulpfile sets `tls: { ca, rejectUnauthorized, servername }`. ftp-srv in-process with
 * explicit TLS and a certificate for ftp.provider.test only (its own file: ftp-srv's handlers are per process).
 */
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from '@jest/globals';
import PluginError from 'plugin-error';
import Vinyl from 'vinyl';
import { deploy, type GulpDeployOptions } from '../gulp-plugin/index.js';
import { selfSignedCert } from './helpers/cert.js';
import { login, useEmbedded } from './helpers/embedded.js';
import { uniqueName } from './helpers/tmp.js';

const PROVIDER = 'ftp.provider.test';
const cert = selfSignedCert([PROVIDER]);
const FP = new X509Certificate(cert.cert).fingerprint256;
const server = useEmbedded({ tls: cert });

async function failure(extra: Partial<GulpDeployOptions>): Promise<{ err: unknown; dir: string }> {
  const dir = `/${uniqueName()}`;
  const file = new Vinyl({ cwd: '/', base: '/', path: '/index.html', contents: Buffer.from('hi') });
  const options = { ...login(server()), remoteDir: dir, secure: 'explicit', quiet: true, ...extra } as const;
  const err = await pipeline(Readable.from([file]), deploy(options)).then(
    () => undefined,
    (e: unknown) => e,
  );
  return { err, dir };
}

describe('gulp plugin over explicit FTPS', () => {
  it('an untrusted certificate: the message names tls.ca and rejectUnauthorized, not --ca or --insecure', async () => {
    const { err, dir } = await failure({});
    expect(err).toBeInstanceOf(PluginError);
    expect((err as Error).message).toMatch(
      /^TLS certificate of 127\.0\.0\.1:\d+ not trusted: .+; pass its CA with tls: \{ ca \} \(or tls: \{ rejectUnauthorized: false \} to skip the check\); or, if you have checked that this certificate \(SHA-256 fingerprint [0-9A-F:]{95}\) is your server's, pin it with tls: \{ fingerprint: '[0-9A-F:]{95}' \}$/,
    );
    expect(fs.existsSync(path.join(server().root, dir))).toBe(false);
  });

  it('a certificate for another name: the message names tls: { servername }, not --tls-name', async () => {
    const { err } = await failure({ tls: { ca: cert.cert } });
    expect(err).toBeInstanceOf(PluginError);
    expect((err as Error).message).toBe(
      `the TLS certificate of 127.0.0.1:${server().port} is for ${PROVIDER}, not 127.0.0.1: connect to one of ` +
        `those names, or check the certificate against one with tls: { servername: '${PROVIDER}' }; ` +
        `or, if you have checked that the certificate (SHA-256 fingerprint ${FP}) is your server's, pin it with tls: { fingerprint: '${FP}' }`,
    );
  });

  it('tls: { fingerprint } pins the certificate: no CA, no name needed; a wrong pin names tls.fingerprint', async () => {
    const { err, dir } = await failure({ tls: { fingerprint: FP } });
    expect(err).toBeUndefined();
    expect(fs.readFileSync(path.join(server().root, dir, 'index.html'), 'utf8')).toBe('hi');
    const wrong = await failure({
      tls: { fingerprint: FP.replace(/^../, FP.startsWith('00') ? '11' : '00') },
    });
    expect(wrong.err).toBeInstanceOf(PluginError);
    expect((wrong.err as Error).message).toMatch(
      /^the TLS certificate of 127\.0\.0\.1:\d+ is not the one pinned with tls\.fingerprint: its SHA-256 fingerprint is /,
    );
    expect(fs.existsSync(path.join(server().root, wrong.dir))).toBe(false);
  });
});
