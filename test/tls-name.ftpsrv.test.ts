/**
 * A certificate that names another host (FIELD.md complaint 8: "altname mismatch", the shared host whose
 * certificate is the provider's): the error names the certificate's own names and the way out that still
 * verifies — `--tls-name` (Action `tls-name`, library `tls.servername`) — instead of pointing at `--ca` or
 * `--insecure`. ftp-srv in-process with explicit TLS and a certificate for ftp.provider.test only; the same
 * on vsftpd (data connections reuse the TLS session) in deploy.realservers.test.ts.
 */
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { deploy, type DeployOptions } from '../src/index.js';
import { ConfigError } from '../src/engine/errors.js';
import { selfSignedCert } from './helpers/cert.js';
import { assertBuilt, spawnCli } from './helpers/cli-spawn.js';
import { deployOptions, useEmbedded } from './helpers/embedded.js';
import { readTree, tmpDir, uniqueName, writeTree } from './helpers/tmp.js';

const PROVIDER = 'ftp.provider.test';
const cert = selfSignedCert([PROVIDER, 'www.provider.test']);
const FP = new X509Certificate(cert.cert).fingerprint256;
const server = useEmbedded({ tls: cert });
const STATE = '.ftpship-state.json';

function setup(extra: Partial<DeployOptions> = {}): { options: DeployOptions; local: string; dir: string } {
  const local = tmpDir();
  writeTree(local, { 'index.html': 'hello', 'css/site.css': 'body{}' });
  const dir = `/${uniqueName()}`;
  const options = deployOptions(server(), local, dir, {
    secure: 'explicit',
    tls: { ca: cert.cert },
    ...extra,
  });
  return { options, local, dir };
}

describe('a certificate for another name', () => {
  it('fails before login, naming the names the certificate holds and --tls-name, not --ca or --insecure', async () => {
    const { options, dir } = setup();
    const log: string[] = [];
    const err = await deploy(options, { protocol: (l) => log.push(l) }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe(
      `the TLS certificate of 127.0.0.1:${server().port} is for ${PROVIDER}, www.provider.test, not 127.0.0.1: ` +
        `connect to one of those names, or check the certificate against one with --tls-name ${PROVIDER}; ` +
        `or, if you have checked that the certificate (SHA-256 fingerprint ${FP}) is your server's, pin it with --tls-fingerprint ${FP}`,
    );
    expect(log.some((l) => l.startsWith('> USER'))).toBe(false);
    expect(fs.existsSync(path.join(server().root, dir))).toBe(false);
  });

  it('tls.servername (--tls-name) checks it against that name: the deploy goes through, data connections too', async () => {
    const { options, local, dir } = setup({ tls: { ca: cert.cert, servername: PROVIDER } });
    const r = await deploy(options);
    expect(r.counts.upload).toBe(2);
    expect(readTree(path.join(server().root, dir), [STATE])).toEqual(readTree(local));
  });

  it('a name the certificate does not hold still fails (the check is not switched off)', async () => {
    const { options } = setup({ tls: { ca: cert.cert, servername: 'other.test' } });
    const err = await deploy(options).catch((e: unknown) => e as Error);
    expect((err as Error).message).toMatch(
      /is for ftp\.provider\.test, www\.provider\.test, not other\.test:/,
    );
  });

  it('without the CA, the untrusted certificate is still the error (the name does not vouch for it)', async () => {
    const { options } = setup({ tls: { servername: PROVIDER } });
    const err = await deploy(options).catch((e: unknown) => e as Error);
    expect((err as Error).message).toMatch(
      /^TLS certificate of 127\.0\.0\.1:\d+ not trusted: self[- ]signed certificate; pass its CA with --ca FILE/,
    );
  });

  it('CLI: --tls-name works with ftpes://, is refused with plain ftp:// and for a malformed name (exit 2)', async () => {
    assertBuilt();
    const { local } = setup();
    const caFile = path.join(tmpDir(), 'ca.pem');
    fs.writeFileSync(caFile, cert.cert);
    const srv = server();
    const url = (scheme: string, dir: string): string =>
      `${scheme}://${srv.user}@127.0.0.1:${srv.port}/${dir}`;
    const env = { env: { FTPSHIP_PASSWORD: srv.password } };
    const dir = uniqueName();
    const ok = await spawnCli(
      ['deploy', local, url('ftpes', dir), '--ca', caFile, '--tls-name', PROVIDER],
      env,
    );
    expect(ok.code).toBe(0);
    expect(readTree(path.join(srv.root, dir), [STATE])).toEqual(readTree(local));
    const without = await spawnCli(['deploy', local, url('ftpes', uniqueName()), '--ca', caFile], env);
    expect(without.code).toBe(2);
    expect(without.stderr).toContain(`--tls-name ${PROVIDER}`);
    const plain = await spawnCli(['deploy', local, url('ftp', uniqueName()), '--tls-name', PROVIDER], env);
    expect(plain.code).toBe(2);
    expect(plain.stderr).toMatch(
      /--tls-name ftp\.provider\.test checks a TLS certificate, but this connection is plain FTP/,
    );
    const bad = await spawnCli(['deploy', local, url('ftpes', uniqueName()), '--tls-name', 'a b'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/invalid --tls-name "a b"/);
  });
});
