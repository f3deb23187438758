/**
 * A deploy cancelled (Ctrl-C, SIGTERM, a cancelled workflow) while an upload waits out its retry backoff (the
 * server answered its STOR with a 421, as a busy server does): it stops at once, not after the backoff (up to
 * 16 s at the defaults), records what was done and releases the lock.
 * The 421 comes from a proxy in front of pure-ftpd (for that one file only: a reply the server itself does
 * not send there).
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { CancelledError, deploy } from '../src/index.js';
import { linesProxy } from './helpers/faults.js';
import { realServerSuite, remoteFolders, type RealServer } from './helpers/real-servers.js';
import { readTree, tmpDir, writeTree } from './helpers/tmp.js';

const { describe: d, opts, each } = realServerSuite('backoff-cancel.realservers');
const target = remoteFolders('h-fail-backoff');

/** Passes control connections through, but answers every STOR of a path matching `busy` with a 421. */
async function busyProxy(
  port: number,
  busy: RegExp,
): Promise<{ port: number; refused: () => number; close: () => Promise<void> }> {
  let refused = 0;
  const proxy = await linesProxy(port, (line) => {
    if (!/^STOR /.test(line) || !busy.test(line)) return 'pass';
    refused++;
    return { reply: '421 Service not available, closing control connection.', close: true };
  });
  return { ...proxy, refused: () => refused };
}

/** Options for a deploy through the proxy: one connection, one retry after a backoff of a minute. */
function throughProxy(
  server: RealServer,
  local: string,
  dir: string,
  port: number,
  signal: AbortSignal,
): ReturnType<typeof opts> {
  return opts(server, local, dir, {
    port,
    secure: false,
    parallel: 1,
    retries: 1,
    retryDelayMs: 60_000, // before: the cancel waited for it (the test times out)
    signal,
  });
}

d.each(each('pure'))('%s: cancelled during a retry backoff', (_name, server) => {
  it('stops at once, not after the backoff (a minute here); the lock released, the rerun finishes', async () => {
    const local = tmpDir('ftpship-h-fail-');
    writeTree(local, { 'index.html': 'home', 'busy.txt': 'busy', 'a.txt': 'a' });
    const { dir, disk } = target(server);
    const proxy = await busyProxy(server.port, /busy\.txt$/);
    const cancel = new AbortController();
    try {
      const o = throughProxy(server, local, dir, proxy.port, cancel.signal);
      const warn = (m: string): void => {
        if (/busy\.txt.*retrying \(1\/1\)/.test(m)) cancel.abort('SIGINT');
      };
      await expect(deploy(o, { warn })).rejects.toThrow(CancelledError);
      expect(proxy.refused()).toBe(1);
      expect(fs.existsSync(path.join(disk, '.ftpship-state.json.lock'))).toBe(false);
    } finally {
      await proxy.close();
    }
    await deploy(opts(server, local, dir));
    expect(readTree(disk, ['.ftpship-state.json'])).toEqual(readTree(local));
  }, 10_000);
});

d.each(each('pure', 'proftpd'))(
  '%s: cancelled while the lock holder waits out its retry backoff',
  (_name, server) => {
    it('stops at once, not after the backoff (a minute here); the lock folder removed, nothing changed; a first deploy and one taking the lock early (was: the way out gave up on the backoff after a second and left the lock folder, naming no one)', async () => {
      const local = tmpDir('ftpship-h-engine8-');
      writeTree(local, { 'index.html': 'home', 'a.txt': 'a' });
      const { dir, disk } = target(server);
      for (const run of ['first', 'later']) {
        if (run === 'later') {
          await deploy(opts(server, local, dir));
          writeTree(local, { 'a.txt': 'a, longer now' }); // sizes differ: the lock is taken while hashing
        }
        const files = (): Record<string, string> => (fs.existsSync(disk) ? readTree(disk) : {});
        const before = files();
        const proxy = await busyProxy(server.port, /\.lock\/holder\.json$/);
        const cancel = new AbortController();
        try {
          const o = throughProxy(server, local, dir, proxy.port, cancel.signal);
          const warn = (m: string): void => {
            if (/lock holder.*retrying \(1\/1\)/.test(m)) cancel.abort('SIGINT');
          };
          const err = await deploy(o, { warn }).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(CancelledError);
          expect([run, (err as Error).message]).toEqual([run, 'cancelled (SIGINT): nothing was changed']);
          expect([run, proxy.refused()]).toEqual([run, 1]);
          expect([run, fs.existsSync(path.join(disk, '.ftpship-state.json.lock'))]).toEqual([run, false]);
          expect([run, files()]).toEqual([run, before]);
        } finally {
          await proxy.close();
        }
      }
      await deploy(opts(server, local, dir));
      expect(readTree(disk, ['.ftpship-state.json'])).toEqual(readTree(local));
    }, 20_000);
  },
);
