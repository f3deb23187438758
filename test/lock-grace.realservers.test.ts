/**
 * The grace a lock folder naming no one gets (15 s, or the stale time if less) is counted per folder: from when
 * the deploy waiting on it first saw THAT folder. Was: counted from the first look at an older one. The old
 * folder gone (its deploy's takeover and release, a removal by hand) and made again by another deploy (C) a
 * moment ago, the waiting deploy's grace past: it took C's fresh lock for the old abandoned one and removed it
 * while C was naming itself, and both deploys ran at once. Now a new grace starts when this deploy's own MKD is
 * refused after the folder was seen gone, and when MLST's facts show another folder (pure-ftpd, proftpd); a
 * retry after a cut connection counts its grace afresh (it did already: checked here too).
 * Two real deploys; proxies in front of each hold one command at the right moment.
 * Skipped, with a message, only when test/servers/.env.json is absent.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { deploy } from '../src/index.js';
import { freshLock, outcome, realServerSuite, remoteFolders, type Failure } from './helpers/real-servers.js';
import { readTree, tmpDir, writeTree } from './helpers/tmp.js';
import { recorder } from './helpers/protocol.js';
import { chaosProxy } from './helpers/chaos.js';

const { describe: d, opts, each } = realServerSuite('lock-grace.realservers');
const STATE = '.ftpship-state.json';
const LOCK = `${STATE}.lock`;
/** B's stale time, so its grace: long enough that C's holder, once written, is not stale to B. */
const STALE_MS = 3000;
const target = remoteFolders('h-lock14-grace');

/**
 * How deploy B, its grace for the old folder run out, meets the folder C made again: B's own MKD, in its wait,
 * refused (C's came first); the folder there again at B's next look (told apart by MLST's facts: not on
 * vsftpd, which has no MLST); or B's connection cut while it waits, and the retry's MKD refused.
 */
type Meeting = 'own MKD refused' | 'next look' | 'connection cut';

d.each(each('pure', 'vsftpd'))('%s', (name, server) => {
  const meetings: Array<[Meeting, string]> = [
    ['own MKD refused', 'was: removed while C named itself, both deploys then running at once'],
    ['connection cut', 'the retry counts the grace afresh'],
  ];
  if (name === 'pure-ftpd') meetings.push(['next look', 'was: taken over as the old one, as above']);
  it.each<[Meeting, string]>(meetings)(
    "waiting on a lock naming no one, that folder gone and made again by another deploy C, B's grace for it run out; then B's %s: C's lock gets a grace of its own, not taken over (%s)",
    async (meeting) => {
      const { dir, disk } = target(server);
      const siteB = tmpDir();
      writeTree(siteB, { 'b.txt': 'site B' });
      const siteC = tmpDir();
      writeTree(siteC, { 'c.txt': 'site C' });
      const lock = freshLock(server, disk);

      let releaseC: () => void = () => {};
      const cHeld = new Promise<void>((r) => (releaseC = r));
      let cNaming: () => void = () => {};
      const cWantsName = new Promise<void>((r) => (cNaming = r));
      // C: its lock's holder STOR held until B has judged C's folder (taken it over and begun to upload, or
      // looked at it again).
      const proxyC = await chaosProxy(server.port, {
        onCommand: (line): Promise<void> | undefined => {
          if (!/^STOR \S*\/holder\.json$/.test(line)) return;
          cNaming();
          return cHeld;
        },
      });
      let runC: Promise<Failure | undefined> | undefined;
      const recC = recorder();
      /** C deploys: it has had its MKD's 257 and wants to name itself when this resolves. */
      const startC = async (): Promise<void> => {
        runC = outcome(
          deploy(opts(server, siteC, dir, { port: proxyC.port, secure: false, parallel: 1 }), recC),
        );
        await cWantsName;
      };
      /** B's grace for the old folder run out, that folder goes. */
      const oldGone = async (): Promise<void> => {
        await new Promise((r) => setTimeout(r, STALE_MS + 100));
        fs.rmSync(lock, { recursive: true, force: true });
      };

      let looks = 0;
      let met = false;
      let looksAfter = 0;
      const lockCwd = new RegExp(`^CWD \\S*/${LOCK.replace(/\./g, '\\.')}$`);
      // B: its second look at the old folder held past its grace.
      const proxyB = await chaosProxy(server.port, {
        onCommand: (line): 'hold' | Promise<void> | undefined => {
          // Old: B took C's folder over, named itself in it and went on to upload: C names itself only then.
          if (/^STOR \S*\/b\.txt$/.test(line)) releaseC();
          if (lockCwd.test(line)) {
            if (met && ++looksAfter === 2) releaseC();
            if (++looks !== 2) return;
            if (meeting === 'own MKD refused') return oldGone(); // that look finds the folder gone
            if (meeting === 'next look')
              return oldGone()
                .then(startC)
                .then(() => void (met = true));
            void oldGone().then(() => {
              proxyB.cutAll();
              proxyB.heal();
            });
            return 'hold';
          }
          // B's MKD (in its wait, or its retry's) goes on only once C has made the folder again (C's 257, its
          // holder not yet written).
          if (meeting !== 'next look' && looks >= 2 && !met && /^MKD \S*\.lock$/.test(line)) {
            met = true;
            return startC();
          }
          return undefined;
        },
      });
      const recB = recorder();
      try {
        const errB = await outcome(
          deploy(
            opts(server, siteB, dir, {
              port: proxyB.port,
              secure: false,
              parallel: 1,
              staleLockMs: STALE_MS,
            }),
            recB,
          ),
        );
        releaseC();
        expect(met).toBe(true);
        const errC = await runC;
        // B did not take C's lock for the old one: no takeover, and C named itself and deployed.
        expect(recB.warnings.filter((w) => /taking over/.test(w))).toEqual([]);
        expect([errC?.message, recC.warnings]).toEqual([undefined, []]);
        // B: refused by C's lock (named by then), or, C done already, deployed after it.
        if (errB)
          expect([errB.exitCode, errB.message]).toEqual([
            3,
            expect.stringMatching(/another deploy holds the lock/),
          ]);
        const state = JSON.parse(fs.readFileSync(path.join(disk, STATE), 'utf8')) as {
          files: Record<string, { sha256: string }>;
        };
        const listed = Object.fromEntries(Object.entries(state.files).map(([p, f]) => [p, f.sha256]));
        expect(listed).toEqual(readTree(disk, [STATE]));
        expect(fs.existsSync(lock)).toBe(false);
      } finally {
        releaseC();
        await runC;
        await proxyB.close();
        await proxyC.close();
      }
    },
    30_000,
  );
});
