/**
 * The deploy lock held through a long deploy on a server at its connection limit: every allowed connection
 * busy with uploads, and the server refusing one more for the refresh. The refresh used to go only on an idle
 * connection or one of its own, and failed silently: after the stale time another deploy took the lock over
 * mid-run. Now it takes the next connection a transfer frees, before the uploads waiting for one, and a lock
 * that is no longer this deploy's stops the run before any state write.
 * proftpdHost throttles uploads (TransferRate); a front proxy allows two control connections, as a host's
 * per-IP limit does (data connections go to the server directly).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { deploy } from '../src/index.js';
import { outcome, realServerSuite, remoteFolders } from './helpers/real-servers.js';
import { bytes, readTree, sha256, tmpDir, writeTree } from './helpers/tmp.js';
import { recorder } from './helpers/protocol.js';
import { frontProxy } from './helpers/faults.js';

const { servers, env, describe: d, opts } = realServerSuite('lock-refresh.realservers');
const STATE = '.ftpship-state.json';
const LOCK = `${STATE}.lock`;
const STALE_MS = 2000;
const target = remoteFolders('h-lock');
const onHost = servers?.proftpdHost ? d : describe.skip;

/** `n` files of 1 MiB (40: about 5 s on two connections at proftpdHost's 4 MB/s per upload). */
function bigSite(n = 40): string {
  const local = tmpDir();
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < n; i++) files[`f${String(i).padStart(2, '0')}.bin`] = bytes(1 << 20, i + 1);
  writeTree(local, files);
  return local;
}

/** Resolves once the lock's holder file is on disk (the deploy is under way), or `done` settles first. */
async function holderShown(disk: string, done: Promise<unknown>): Promise<boolean> {
  let over = false;
  void done.finally(() => (over = true)).catch(() => undefined);
  while (!over && !fs.existsSync(path.join(disk, LOCK, 'holder.json')))
    await new Promise((r) => setTimeout(r, 20));
  return !over;
}

onHost('proftpdHost behind a two-connection limit', () => {
  it('uploads holding every allowed connection past the stale time: the lock stays held, a second deploy is refused (exit 3)', async () => {
    const server = env.proftpdHost;
    const proxy = await frontProxy(server.port, { maxClients: 2 });
    try {
      const local = bigSite();
      const { dir, disk } = target(server);
      const rec = recorder();
      const first = deploy(
        opts(server, local, dir, { port: proxy.port, secure: false, parallel: 2, staleLockMs: STALE_MS }),
        rec,
      );
      const firstOutcome = outcome(first);
      expect(await holderShown(disk, firstOutcome)).toBe(true);
      // Past the stale time with every connection sending: the lock is stale unless it was refreshed.
      await new Promise((r) => setTimeout(r, STALE_MS + 600));
      let firstDone = false;
      void firstOutcome.then(() => (firstDone = true));
      const other = tmpDir();
      writeTree(other, { 'other.txt': 'other' });
      const second = await outcome(
        deploy(opts(server, other, dir, { secure: false, staleLockMs: STALE_MS }), recorder()),
      );
      expect(firstDone).toBe(false); // the second deploy ran while the first held every connection
      expect(second?.exitCode).toBe(3);
      expect(second?.message).toMatch(/another deploy holds the lock/);
      expect(await firstOutcome).toBeUndefined();
      expect(proxy.refused).toBeGreaterThan(0); // the server refused a connection for the refresh
      expect(rec.warnings.join('\n')).not.toMatch(/stale lock|refresh|lock holder/);
      const want = readTree(local);
      expect(readTree(disk, [STATE])).toEqual(want);
      expect(fs.existsSync(path.join(disk, 'other.txt'))).toBe(false);
      expect(fs.existsSync(path.join(disk, LOCK))).toBe(false);
    } finally {
      await proxy.close();
    }
  }, 30_000);

  it('the lock folder removed by hand mid-run: the run stops half way (exit 1) naming the lock', async () => {
    const server = env.proftpdHost;
    const proxy = await frontProxy(server.port, { maxClients: 2 });
    try {
      const local = bigSite();
      const { dir, disk } = target(server);
      const rec = recorder();
      const run = outcome(
        deploy(
          opts(server, local, dir, { port: proxy.port, secure: false, parallel: 2, staleLockMs: STALE_MS }),
          rec,
        ),
      );
      expect(await holderShown(disk, run)).toBe(true);
      await new Promise((r) => setTimeout(r, 300));
      fs.rmSync(path.join(disk, LOCK), { recursive: true, force: true });
      const err = await run;
      expect(err?.exitCode).toBe(1);
      expect(err?.message).toMatch(
        new RegExp(
          `the deploy lock ${dir}/${LOCK.replace(/\./g, '\\.')} is no longer this deploy's: its holder file or folder was removed`,
        ),
      );
      // Stopped half way: not every file was sent.
      expect(Object.keys(readTree(disk, [STATE])).length).toBeLessThan(40);
      const now = fs.existsSync(path.join(disk, STATE)) ? fs.readFileSync(path.join(disk, STATE)) : undefined;
      expect(fs.existsSync(path.join(disk, LOCK))).toBe(false);
      // G4 all the same: what the state lists is on the server with that content.
      if (now) {
        const listed = (JSON.parse(now.toString()) as { files: Record<string, { sha256: string }> }).files;
        for (const [p, f] of Object.entries(listed))
          expect(sha256(fs.readFileSync(path.join(disk, p)))).toBe(f.sha256);
      }
    } finally {
      await proxy.close();
    }
  }, 30_000);

  it('a refresh the server refuses (the lock folder made read-only): warned once, the deploy finishes', async () => {
    const server = env.proftpdHost;
    const local = bigSite(24);
    const { dir, disk } = target(server);
    const rec = recorder();
    const run = outcome(
      deploy(opts(server, local, dir, { secure: false, parallel: 2, staleLockMs: STALE_MS }), rec),
    );
    const lock = path.join(disk, LOCK);
    try {
      expect(await holderShown(disk, run)).toBe(true);
      // Not writable by the FTP user: the holder can be read (still this deploy's) but not written again.
      fs.chmodSync(path.join(lock, 'holder.json'), 0o444);
      fs.chmodSync(lock, 0o555);
      expect(await run).toBeUndefined();
    } finally {
      fs.chmodSync(lock, 0o755);
    }
    const refreshes = rec.warnings.filter((w) =>
      w.startsWith(`could not refresh the deploy lock ${dir}/${LOCK} (`),
    );
    expect(refreshes).toHaveLength(1);
    expect(readTree(disk, [STATE, LOCK])).toEqual(readTree(local));
  }, 30_000);

  it('the lock taken over by another deploy mid-run: the run stops (exit 1) naming the other holder, and leaves its lock alone', async () => {
    const server = env.proftpdHost;
    const local = bigSite(24);
    const { dir, disk } = target(server);
    const run = outcome(
      deploy(opts(server, local, dir, { secure: false, parallel: 2, staleLockMs: STALE_MS }), recorder()),
    );
    expect(await holderShown(disk, run)).toBe(true);
    // What a deploy on another machine leaves when it judged this one's lock stale: its own holder.
    const holder = path.join(disk, LOCK, 'holder.json');
    const now = new Date().toISOString();
    const theirs = JSON.stringify({
      token: 'other',
      holder: 'ftpship on other-host pid 42',
      host: 'other-host',
      pid: 42,
      startedAt: now,
      refreshedAt: now,
    });
    fs.rmSync(holder);
    fs.writeFileSync(holder, theirs);
    fs.chownSync(holder, server.uid, server.gid);
    const err = await run;
    expect(err?.exitCode).toBe(1);
    expect(err?.message).toContain(
      `the deploy lock ${dir}/${LOCK} is no longer this deploy's: another deploy took it over (ftpship on other-host pid 42, since ${now})`,
    );
    expect(fs.readFileSync(holder, 'utf8')).toBe(theirs);
  }, 30_000);

  it('single uploads longer than the stale time on every allowed connection, the lock taken over meanwhile: no state written after, exit 1', async () => {
    const server = env.proftpdHost;
    const proxy = await frontProxy(server.port, { maxClients: 2 });
    try {
      const local = tmpDir();
      // About 3 s each at 4 MB/s: no connection frees for the refresh before the lock is stale.
      writeTree(local, { 'a.bin': bytes(12 << 20, 1), 'b.bin': bytes(12 << 20, 2) });
      const { dir, disk } = target(server);
      const run = outcome(
        deploy(
          opts(server, local, dir, { port: proxy.port, secure: false, parallel: 2, staleLockMs: STALE_MS }),
          recorder(),
        ),
      );
      expect(await holderShown(disk, run)).toBe(true);
      await new Promise((r) => setTimeout(r, STALE_MS + 200));
      // Another deploy judged the lock stale and took it over: its holder is there now.
      const holder = path.join(disk, LOCK, 'holder.json');
      const now = new Date().toISOString();
      const theirs = JSON.stringify({
        token: 'other',
        holder: 'ftpship on other-host pid 7',
        startedAt: now,
        refreshedAt: now,
      });
      fs.rmSync(holder);
      fs.writeFileSync(holder, theirs);
      fs.chownSync(holder, server.uid, server.gid);
      const state = fs.readFileSync(path.join(disk, STATE), 'utf8');
      const err = await run;
      expect(err?.exitCode).toBe(1);
      expect(err?.message).toMatch(/another deploy took it over \(ftpship on other-host pid 7/);
      expect(fs.readFileSync(path.join(disk, STATE), 'utf8')).toBe(state); // not written over that deploy's
      expect(fs.readFileSync(holder, 'utf8')).toBe(theirs);
    } finally {
      await proxy.close();
    }
  }, 30_000);
});
