/**
 * A shared host's connection limit, on a real proftpd with `MaxClientsPerUser 2`: a login over it gets
 * "530 Sorry, the maximum number of clients (2) for this user are already connected." — a 530, like a wrong
 * password. The extra connections of a deploy are refused so (it goes on with fewer, and says why), and so
 * is the first login while other sessions hold the limit (an FTP client left open, or a cut deploy's
 * sessions, which proftpd keeps for minutes): it is asked again with backoff, then fails saying what holds
 * it, never "check the user and password". Sessions held here are logins of the test's own client.
 */
import fs from 'node:fs';
import { afterEach, expect, it } from '@jest/globals';
import { ConfigError, deploy, DeployError, FtpClient } from '../src/index.js';
import { realServerSuite, remoteFolders } from './helpers/real-servers.js';
import { holdingProxy } from './helpers/faults.js';
import { readTree, tmpDir, writeTree } from './helpers/tmp.js';

const { env, describe: d, opts } = realServerSuite('limits.realservers');
const target = remoteFolders('limits');
const STATE = '.ftpship-state.json';

const held: FtpClient[] = [];
/** Logs in `n` sessions of the server's user and keeps them open. */
async function hold(n: number): Promise<void> {
  const s = env.proftpdMax;
  for (let i = 0; i < n; i++)
    held.push(await FtpClient.connect({ host: s.host, port: s.port, user: s.user, password: s.password }));
}
afterEach(async () => {
  await Promise.all(held.splice(0).map(async (c) => c.quit().catch(() => undefined)));
});

function site(files: number): string {
  const local = tmpDir();
  const tree: Record<string, string> = {};
  for (let i = 0; i < files; i++) tree[`d${i % 5}/f${i}.txt`] = `file ${i}`;
  writeTree(local, tree);
  return local;
}

d('proftpd, MaxClientsPerUser 2', () => {
  it('--parallel 4 with one session taken: deploys over the one connection left, and one warning says why', async () => {
    await hold(1);
    const local = site(60);
    const { dir, disk } = target(env.proftpdMax);
    // The deploy's first upload is answered only once it has warned (or after 10 s): its connection stays
    // open while the others log in. A deploy done first quits it, and proftpd then lets them in (CI, once).
    const proxy = await holdingProxy(env.proftpdMax.port, /^STOR /);
    const timer = setTimeout(() => proxy.release(), 10_000);
    const r = await deploy(
      {
        ...opts(env.proftpdMax, local, dir, { parallel: 4 }),
        host: '127.0.0.1',
        port: proxy.port,
        secure: false,
      },
      { warn: () => proxy.release() },
    ).finally(async () => {
      clearTimeout(timer);
      await proxy.close();
    });
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
    // Before: the refused logins were dropped without a word (--parallel 4 ran over one connection).
    expect(r.warnings).toEqual([
      'the server refused another connection (PASS ***: 530 Sorry, the maximum number of clients (2) for this ' +
        'user are already connected.); going on with 1',
    ]);
  });

  it('the first login over the limit: asked again, then one error saying what holds it (not the password), nothing changed', async () => {
    await hold(2);
    const local = site(3);
    const { dir, disk } = target(env.proftpdMax);
    const warnings: string[] = [];
    const err = await deploy(opts(env.proftpdMax, local, dir, { retries: 2 }), {
      warn: (m) => warnings.push(m),
    }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    // Before: a ConfigError (exit 2) ending "; check the user and password".
    expect(err).toBeInstanceOf(DeployError);
    expect(err).not.toBeInstanceOf(ConfigError);
    expect(err?.message).toBe(
      `127.0.0.1:${env.proftpdMax.port} takes no more connections for "${env.proftpdMax.user}" now (530 Sorry, the ` +
        'maximum number of clients (2) for this user are already connected.; asked 3 times): other sessions hold ' +
        'them (another FTP client, or a deploy that was cut off: servers can keep its sessions for minutes); wait ' +
        'and run again, or ask the host to raise the limit',
    );
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/^login: PASS \*\*\*: 530 Sorry, the maximum number .*; retrying \(1\/2\)$/);
    expect(fs.existsSync(disk)).toBe(false);
  });

  it('a session freed while the first login is asked again: the deploy goes through', async () => {
    await hold(2);
    const local = site(10);
    const { dir, disk } = target(env.proftpdMax);
    const warnings: string[] = [];
    // One session ends once the first login has been refused (not after a fixed delay: a slow start would let
    // the login in before the limit was ever met), within the retry's backoff.
    let freed: Promise<void> | undefined;
    const r = await deploy(opts(env.proftpdMax, local, dir, { retries: 5, retryDelayMs: 300 }), {
      warn: (m) => {
        warnings.push(m);
        freed ??= (held.shift() as FtpClient).quit().then(
          () => undefined,
          () => undefined,
        );
      },
    });
    await freed;
    expect(warnings[0]).toMatch(/^login: PASS \*\*\*: 530 .*; retrying \(1\/5\)$/);
    expect(r.counts.upload).toBe(10);
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
  });
});
