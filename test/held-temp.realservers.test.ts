/**
 * pure-ftpd moves a file it resumes (REST+STOR) to `.pureftpd-upload.*` and moves it back, with whatever that
 * session got, when the session ends: also a session whose client the network cut off, minutes later. A deploy
 * killed in its large file, rerun, and that rerun's network dropped in the temp it resumed, leaves such a
 * session; the next run, finding the temp missing, must not send the file under that name again, or the old
 * session's part lands on it: before its rename (the live file torn, the state naming the new content: G2, G4),
 * or after (a temp left on the server for good). The old session is ended (its proxy's sockets to the server
 * closed) at the chosen moment; every wait is for what the server's folder shows, never a fixed time.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { deploy } from '../src/index.js';
import { realServerSuite, remoteFolders, type RealServer } from './helpers/real-servers.js';
import { chaosProxy, proxiedDeploy, releasePassive, type ProxiedRun } from './helpers/chaos.js';
import { recorder, sent } from './helpers/protocol.js';
import { bytes, readTree, sha256, tmpDir, writeTree } from './helpers/tmp.js';

const { describe: d, opts, each } = realServerSuite('held-temp.realservers');
const target = remoteFolders('hfail5-held');
const leftTarget = remoteFolders('hengine6-left');
const STATE = '.ftpship-state.json';
const BIG = 1100 * 1024; // over the 1 MiB from which a new file goes through a temp (resumable)
const OLD = { 'index.html': 'home v1', 'big.bin': bytes(BIG, 1) };
const NEW = { 'index.html': 'home v2', 'big.bin': bytes(BIG, 2) };
const TEMP = /^\.?ftpship-[0-9a-f]{20}\.tmp$/;
const PURE_UPLOAD = /^\.pureftpd-upload\./;

/** Polls the server's folder until `seen` holds (what it returns), or fails naming `what`. */
async function until<T>(what: string, seen: () => T | undefined | false): Promise<T> {
  for (const end = Date.now() + 8000; Date.now() < end;) {
    const v = seen();
    if (v !== undefined && v !== false) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** ftpship's own entries in the folder, and temps and pure-ftpd's upload names. */
const own = (disk: string): string[] =>
  fs
    .readdirSync(disk)
    .filter((n) => n.startsWith('.ftpship') || TEMP.test(n) || PURE_UPLOAD.test(n))
    .sort();

/**
 * The site at OLD, then a deploy of NEW killed in big.bin (its temp part-sent), then a rerun whose network
 * drops in the temp it resumed: pure-ftpd holds it as `.pureftpd-upload.*` (the temp's name empty) until `end`.
 */
async function heldTemp(server: RealServer): Promise<{
  local: string;
  dir: string;
  disk: string;
  temp: string;
  end: () => Promise<void>;
  close: () => Promise<void>;
}> {
  const local = tmpDir('ftpship-held-');
  const { dir, disk } = target(server);
  writeTree(local, OLD);
  await deploy(opts(server, local, dir));
  fs.rmSync(local, { recursive: true, force: true });
  writeTree(local, NEW);
  const cutAt = async (bytesIn: number, dropped: boolean): Promise<ProxiedRun> =>
    proxiedDeploy(
      server,
      local,
      dir,
      (ctl) => {
        let done = false;
        return {
          onData: (total) => {
            if (done || total < bytesIn) return;
            done = true;
            if (dropped) ctl.proxy().freeze();
            ctl.kill();
            return 'hold';
          },
        };
      },
      dropped,
    );
  const killed = await cutAt(600 * 1024, false);
  expect(killed.result.signal).toBe('SIGKILL');
  await releasePassive(killed.unconnected);
  const temp = await until('the killed run’s temp', () => {
    const names = fs.readdirSync(disk);
    // (big.bin's: index.html's, a few bytes, may be there too)
    const big = (n: string): boolean => TEMP.test(n) && fs.statSync(path.join(disk, n)).size > 64 * 1024;
    return !names.some((n) => PURE_UPLOAD.test(n)) && names.find(big);
  });
  const dropped = await cutAt(16 * 1024, true);
  // The session the network cut off ends (its proxy's sockets to the server closed).
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return; // (its passive ports, released once, may be another session's by now)
    closed = true;
    await dropped.close();
    await releasePassive(dropped.unconnected);
  };
  try {
    expect(dropped.result.signal).toBe('SIGKILL');
    // The resumed temp moved away by that session (it holds it).
    await until('pure-ftpd to hold the resumed temp', () => {
      const names = fs.readdirSync(disk);
      return !names.includes(temp) && names.some((n) => PURE_UPLOAD.test(n));
    });
  } catch (err) {
    await close();
    throw err;
  }
  const end = async (): Promise<void> => {
    await close();
    // The session ends: its part goes back under the temp's name.
    await until('pure-ftpd to put the part back', () => {
      const names = fs.readdirSync(disk);
      return names.includes(temp) && !names.some((n) => PURE_UPLOAD.test(n));
    });
  };
  return { local, dir, disk, temp, end, close };
}

/** Every file the state lists holds the content it records (G4). */
function expectHonestState(disk: string): void {
  const state = JSON.parse(fs.readFileSync(path.join(disk, STATE), 'utf8')) as {
    files: Record<string, { sha256: string }>;
  };
  const server = readTree(disk, [STATE]);
  for (const [p, f] of Object.entries(state.files)) expect([p, server[p]]).toEqual([p, f.sha256]);
}

const shas = (t: Record<string, string | Buffer>): Record<string, string> =>
  Object.fromEntries(Object.entries(t).map(([k, v]) => [k, sha256(v)]));

d('pure-ftpd: a resumed temp held by a session the network cut off', () => {
  it.each(each('pure'))(
    '%s: the session ends between the rerun’s upload and its rename: the live file is whole, the temp that comes back removed by the next deploy (was: the part renamed over big.bin, the state naming the new content)',
    async (_name, server) => {
      const { local, dir, disk, end, close } = await heldTemp(server);
      let ended = false;
      const proxy = await chaosProxy(server.port, {
        onCommand: (line): Promise<void> | undefined => {
          if (ended || !/^RNFR \S*\/\.?ftpship-[0-9a-f]{20}\.tmp$/.test(line)) return;
          ended = true;
          return end();
        },
      });
      try {
        // One connection: every command after the held one waits too (no rename goes on another).
        await deploy({
          ...opts(server, local, dir, { parallel: 1 }),
          host: '127.0.0.1',
          port: proxy.port,
          secure: false,
        });
      } finally {
        await proxy.close();
        await close();
      }
      expect(ended).toBe(true);
      const live = readTree(disk, [STATE]);
      expect({ 'big.bin': live['big.bin'], 'index.html': live['index.html'] }).toEqual(shas(NEW));
      expectHonestState(disk);
      await deploy(opts(server, local, dir));
      expect(own(disk)).toEqual([STATE, `${STATE}.bak`]);
      expect(readTree(disk, [STATE])).toEqual(shas(NEW));
      expect((await deploy(opts(server, local, dir, { dryRun: true }))).files).toEqual([]);
      fs.rmSync(local, { recursive: true, force: true });
    },
    30_000,
  );

  it.each(each('pure'))(
    '%s: the session ends after the rerun: the temp that comes back is removed by the next deploy (was: left on the server for good)',
    async (_name, server) => {
      const { local, dir, disk, end } = await heldTemp(server);
      try {
        await deploy(opts(server, local, dir));
      } finally {
        await end();
      }
      expect(readTree(disk, [STATE, ...own(disk)])).toEqual(shas(NEW));
      expectHonestState(disk);
      await deploy(opts(server, local, dir));
      expect(own(disk)).toEqual([STATE, `${STATE}.bak`]);
      expect(readTree(disk, [STATE])).toEqual(shas(NEW));
      fs.rmSync(local, { recursive: true, force: true });
    },
    30_000,
  );

  it.each(each('pure'))(
    '%s: the file changed before the rerun (the held temp not reused): the temp that comes back is removed by the next deploy (was: left on the server for good)',
    async (_name, server) => {
      const { local, dir, disk, end } = await heldTemp(server);
      const changed = { ...NEW, 'big.bin': bytes(BIG, 3) };
      writeTree(local, changed);
      try {
        await deploy(opts(server, local, dir));
      } finally {
        await end();
      }
      expectHonestState(disk);
      await deploy(opts(server, local, dir));
      expect(own(disk)).toEqual([STATE, `${STATE}.bak`]);
      expect(readTree(disk, [STATE])).toEqual(shas(changed));
      fs.rmSync(local, { recursive: true, force: true });
    },
    30_000,
  );
});

d.each(each('pure', 'vsftpd'))(
  '%s: a temp a finished run left to a server session (kept as left)',
  (_name, server) => {
    const TEMP_LEFT = '.ftpship-0123456789abcdef0123.tmp';
    const SITE = { 'index.html': 'home', 'sub/a.txt': 'a' };
    /** The state on disk, with TEMP_LEFT recorded as left at `left` (what tempLeft or tempMissing writes). */
    const leaveTemp = (disk: string, left: string): void => {
      const file = path.join(disk, STATE);
      const st = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
      st.pending = {
        temps: { [TEMP_LEFT]: { path: 'index.html', size: 4, sha256: '', left } },
        uncertain: [],
      };
      fs.writeFileSync(file, JSON.stringify(st));
      fs.chownSync(file, server.uid, server.gid);
    };
    const pendingIn = (disk: string): unknown =>
      (JSON.parse(fs.readFileSync(path.join(disk, STATE), 'utf8')) as { pending?: unknown }).pending;

    it('gone: a deploy with nothing else to do only looks for it (SIZE in the spot check), no lock, no state write (was: MKD of the lock, the state written twice); there, or past its day, the lock is taken and the state converges', async () => {
      const local = tmpDir('ftpship-left-');
      writeTree(local, SITE);
      const { dir, disk } = leftTarget(server);
      await deploy(opts(server, local, dir));
      leaveTemp(disk, new Date().toISOString());
      const before = fs.readFileSync(path.join(disk, STATE));
      const rec = recorder();
      const r = await deploy(opts(server, local, dir), rec);
      expect(r.files).toEqual([]);
      for (const verb of ['MKD', 'STOR', 'DELE', 'RNFR', 'RMD'])
        expect([verb, sent(rec.log, verb)]).toEqual([verb, []]);
      expect(sent(rec.log, 'SIZE')).toContain(`${dir}/${TEMP_LEFT}`);
      expect(fs.readFileSync(path.join(disk, STATE))).toEqual(before);
      // The spot check still looks at the files the state lists (no run is in flux): one deleted by hand is sent
      // again (was: not looked at for that day, "nothing to do").
      fs.rmSync(path.join(disk, 'sub/a.txt'));
      const again = await deploy(opts(server, local, dir));
      expect(again.files.map((f) => f.path)).toEqual(['sub/a.txt']);
      expect(readTree(disk, [STATE])).toEqual(shas(SITE));
      expect(pendingIn(disk)).toMatchObject({ temps: { [TEMP_LEFT]: { path: 'index.html' } } });
      // Put back by the session: the next deploy removes it, and the state forgets it.
      fs.writeFileSync(path.join(disk, TEMP_LEFT), 'ho');
      fs.chownSync(path.join(disk, TEMP_LEFT), server.uid, server.gid);
      const rec2 = recorder();
      await deploy(opts(server, local, dir), rec2);
      expect(sent(rec2.log, 'DELE')).toContain(`${dir}/${TEMP_LEFT}`);
      expect(own(disk)).toEqual([STATE, `${STATE}.bak`]);
      expect(pendingIn(disk)).toBeUndefined();
      // Past its day, gone: dropped from the state (a lock, once), not looked for again.
      leaveTemp(disk, new Date(Date.now() - 2 * 24 * 3600 * 1000).toISOString());
      await deploy(opts(server, local, dir));
      expect(pendingIn(disk)).toBeUndefined();
      expect(own(disk)).toEqual([STATE, `${STATE}.bak`]);
      expect(readTree(disk, [STATE])).toEqual(shas(SITE));
      fs.rmSync(local, { recursive: true, force: true });
    }, 20_000);
  },
);
