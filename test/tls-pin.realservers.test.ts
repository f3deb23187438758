/**
 * Certificate pinning on the real servers (--tls-fingerprint, tls.fingerprint): their self-signed certificate
 * (test/servers/setup.sh, the `ca` of .env.json) trusted by its SHA-256 fingerprint alone, without the CA,
 * over explicit TLS (pure-ftpd, vsftpd, proftpd) and implicit TLS (vsftpd, proftpd), data connections
 * included (vsftpd and proftpd require the control connection's TLS session on them). A wrong pin sends
 * nothing but AUTH TLS (explicit) or nothing at all (implicit): the client's log of every line it sent.
 */
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import { expect, it } from '@jest/globals';
import { deploy, DeployError } from '../src/index.js';
import { realServerSuite, remoteFolders } from './helpers/real-servers.js';
import { assertBuilt, spawnCli } from './helpers/cli-spawn.js';
import { readTree, tmpDir, writeTree } from './helpers/tmp.js';

const { servers, env, describe: d, opts, each } = realServerSuite('tls-pin.realservers');
const target = remoteFolders('h-pin');
/** The servers' certificate's fingerprint, from its PEM (AB:CD:…). */
const FP = servers ? new X509Certificate(fs.readFileSync(env.ca)).fingerprint256 : '';
/** A fingerprint that is not the servers': the real one with its first byte changed. */
const WRONG = FP.replace(/^../, FP.startsWith('00') ? '11' : '00');

function site(): string {
  const local = tmpDir();
  writeTree(local, { 'index.html': 'pinned', 'css/site.css': 'body{}' });
  return local;
}

d.each(each('pure', 'vsftpd', 'proftpd', 'vsftpdImplicit', 'proftpdImplicit'))('%s', (_name, server) => {
  it('the right pin deploys without the CA (control and data connections); a wrong one sends no USER/PASS', async () => {
    const local = site();
    const { dir, disk } = target(server);
    const pinned = opts(server, local, dir, { tls: { fingerprint: FP.replace(/:/g, '').toLowerCase() } });
    const r = await deploy(pinned);
    expect(r.counts.upload).toBe(2);
    expect(readTree(disk, ['.ftpship-state.json'])).toEqual(readTree(local));

    const other = target(server);
    const log: string[] = [];
    const err = await deploy(opts(server, local, other.dir, { tls: { fingerprint: WRONG } }), {
      protocol: (l) => log.push(l),
    }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(DeployError);
    expect((err as Error).message).toContain(
      `is not the one pinned with --tls-fingerprint: its SHA-256 fingerprint is ${FP}, the pin is ${WRONG}. Nothing was sent`,
    );
    expect(log.filter((l) => l.startsWith('> '))).toEqual(server.implicitTls ? [] : ['> AUTH TLS']);
    expect(fs.existsSync(other.disk)).toBe(false);
  });
});

d('CLI against vsftpd', () => {
  it("--tls-fingerprint in openssl's form deploys over ftpes:// without --ca", async () => {
    assertBuilt();
    const server = env.vsftpd;
    const local = site();
    const { dir, disk } = target(server);
    const run = await spawnCli(
      [
        'deploy',
        local,
        `ftpes://${server.user}@${server.host}:${server.port}/${dir.slice(1)}`,
        '--tls-fingerprint',
        `sha256 Fingerprint=${FP}`,
      ],
      { env: { FTPSHIP_PASSWORD: server.password } },
    );
    expect(run.code).toBe(0);
    expect(readTree(disk, ['.ftpship-state.json'])).toEqual(readTree(local));
    expect(run.stdout + run.stderr).not.toContain(server.password);
  });
});
