/**
 * The lock's MKD run by the server, its reply lost with the connection (cut before the 257 came back): the retry
 * finds the folder there, naming no one, and cannot tell it from another deploy's lock taken at the same moment
 * (whose holder is on its way). It gives it the grace as any lock naming no one (claiming it at once could leave
 * two deploys both holding it), but says that the folder may be its own, and takes it with no "stale lock"
 * warning. Was: "waiting up to 15 s for the deploy that took it to name itself", then "taking over a stale lock
 * (unknown holder, last seen never)" of its own lock.
 * Skipped, with a message, only when test/servers/.env.json is absent.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { deploy } from '../src/index.js';
import { freshLock, outcome, realServerSuite, remoteFolders } from './helpers/real-servers.js';
import { readTree, tmpDir, writeTree } from './helpers/tmp.js';
import { recorder, sent } from './helpers/protocol.js';
import { holdingProxy } from './helpers/faults.js';

const { describe: d, opts, each } = realServerSuite('lock-cut.realservers');
const STATE = '.ftpship-state.json';
const LOCK = `${STATE}.lock`;
const target = remoteFolders('h-lockcut26');
/** The lock's MKD: the first one the proxy sees has its reply held back, then its connection cut. */
const LOCK_MKD = new RegExp(`^MKD \\S*/${LOCK.replace(/\./g, '\\.')}$`);

d.each(each('pure', 'vsftpd'))('%s', (_name, server) => {
  it('the connection cut after the server made the lock folder, before the MKD\'s reply came back: the retry waits the grace, saying the folder may be its own, then takes it without a "stale lock" warning', async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a' });
    const { dir, disk } = target(server);
    const proxy = await holdingProxy(server.port, LOCK_MKD);
    let madeAtCut: boolean | undefined;
    // The server answered (it ran the MKD: the folder is there), the client never hears it.
    void proxy.replied.then(() => {
      madeAtCut = fs.existsSync(path.join(disk, LOCK));
      proxy.cut();
    });
    const rec = recorder();
    const infos: string[] = [];
    try {
      await deploy(opts(server, local, dir, { port: proxy.port, secure: false, parallel: 1 }), {
        ...rec,
        info: (m) => infos.push(m),
      });
    } finally {
      await proxy.close();
    }
    expect(await proxy.seen).toBe(`MKD ${dir}/${LOCK}`);
    expect(madeAtCut).toBe(true); // made by this deploy's MKD, its 257 lost
    // The wait (the grace is 15 s by default), in words that say whose folder it may be.
    expect(infos).toContain(
      `the lock ${dir}/${LOCK} is there but names no deploy yet: it may be this deploy's own (the connection was cut before the server answered its MKD), or another deploy's taken at the same moment; waiting up to 15 s for a deploy to name itself in it (so that two deploys never both hold it), else this deploy takes it`,
    );
    expect(infos).toContain(
      `no deploy named itself in the lock ${dir}/${LOCK} within 15 s: this deploy takes it (most likely its own, made by the MKD whose answer was lost with the connection)`,
    );
    // Was: "taking over a stale lock ... (unknown holder, last seen never)". The retry's own warning stays.
    expect(rec.warnings).toEqual([
      expect.stringMatching(new RegExp(`^lock ${dir}/${LOCK}: .*; retrying \\(1/`)),
    ]);
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
    expect(fs.existsSync(path.join(disk, LOCK))).toBe(false);
  });

  it("the MKD's reply lost the same way, the folder another deploy's that names itself during the wait: not taken (exit 3), nothing uploaded", async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a' });
    const { dir, disk } = target(server);
    // Another deploy's lock, made a moment ago (its 257 came back), not named yet.
    const lock = freshLock(server, disk);
    const proxy = await holdingProxy(server.port, LOCK_MKD);
    void proxy.replied.then(() => proxy.cut());
    const rec = recorder();
    const infos: string[] = [];
    const theirs = JSON.stringify({
      token: 'theirs',
      holder: 'ftpship on other-host pid 42',
      startedAt: new Date().toISOString(),
      refreshedAt: new Date().toISOString(),
    });
    let err;
    try {
      err = await outcome(
        deploy(opts(server, local, dir, { port: proxy.port, secure: false, parallel: 1 }), {
          ...rec,
          info: (m) => {
            infos.push(m);
            // That deploy names itself while this one waits.
            if (/names no deploy yet/.test(m)) fs.writeFileSync(path.join(lock, 'holder.json'), theirs);
          },
        }),
      );
    } finally {
      await proxy.close();
    }
    expect(infos).toContainEqual(expect.stringMatching(/names no deploy yet: it may be this deploy's own/));
    expect([err?.exitCode, err?.message]).toEqual([
      3,
      expect.stringMatching(/another deploy holds the lock .*other-host pid 42/),
    ]);
    expect(rec.warnings.join('\n')).not.toMatch(/taking over|takes it/);
    expect(infos.join('\n')).not.toMatch(/takes it \(most likely/);
    expect(sent(rec.log, 'STOR').filter((p) => !p.includes(LOCK))).toEqual([]);
    expect(fs.readFileSync(path.join(lock, 'holder.json'), 'utf8')).toBe(theirs);
    expect(fs.existsSync(path.join(disk, 'a.txt'))).toBe(false);
  });
});

d.each(each('pure', 'vsftpd', 'proftpd'))(
  '%s, with pipelining off (the unlock after the final state, on its own)',
  (_name, server) => {
    it('the connection cut after the server removed the lock folder, before the RMD\'s reply came back: the retry finds it gone and takes it as released (no "could not remove the lock")', async () => {
      const local = tmpDir();
      writeTree(local, { 'a.txt': 'a' });
      const { dir, disk } = target(server);
      const proxy = await holdingProxy(server.port, new RegExp(`^RMD \\S*/${LOCK.replace(/\./g, '\\.')}$`));
      let goneAtCut: boolean | undefined;
      void proxy.replied.then(() => {
        goneAtCut = !fs.existsSync(path.join(disk, LOCK));
        proxy.cut();
      });
      const rec = recorder();
      try {
        await deploy(
          opts(server, local, dir, { port: proxy.port, secure: false, parallel: 1, pipelining: false }),
          rec,
        );
      } finally {
        await proxy.close();
      }
      expect(await proxy.seen).toBe(`RMD ${dir}/${LOCK}`);
      expect(goneAtCut).toBe(true); // the server ran the RMD; its 250 never came back
      // Was (the RMD's 550 on the retry taken for a refusal): "could not remove the lock …", the lock gone.
      expect(rec.warnings).toEqual([
        expect.stringMatching(new RegExp(`^unlock ${dir}/${LOCK}: .*; retrying \\(1/`)),
      ]);
      expect(readTree(disk, [STATE])).toEqual(readTree(local));
      expect(fs.existsSync(path.join(disk, LOCK))).toBe(false);
    });
  },
);
