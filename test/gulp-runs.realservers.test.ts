/**
 * The gulp plugin run again and again in one process (as `gulp.watch` runs a publish task), with real gulp 5
 * tasks against the real servers.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it, jest } from '@jest/globals';
import gulp from 'gulp';
import { deploy, type GulpDeployOptions } from '../gulp-plugin/index.js';
import type { DeployReport } from '../src/engine/report.js';
import { gulpOptions, runTaskOrThrow } from './helpers/gulp-tasks.js';
import { heldHook } from './helpers/hook-server.js';
import { realServerSuite, remoteFolders, type RealServer } from './helpers/real-servers.js';
import { readTree, tmpDir, writeTree } from './helpers/tmp.js';

const { describe, env, each, opts } = realServerSuite('gulp runs');
const target = remoteFolders('h-gulp');
const STATE = '.ftpship-state.json';

afterEach(() => {
  jest.restoreAllMocks();
});

const gulpOpts = (server: RealServer, remoteDir: string, extra: Partial<GulpDeployOptions> = {}) =>
  gulpOptions(opts(server, '', remoteDir), extra);

describe('gulp plugin: runs in one process on real servers', () => {
  it.each(each('pure', 'vsftpd', 'proftpd'))(
    '%s: three watch-style runs re-read the state, send only what changed, and leave no socket open',
    async (_label, server) => {
      const { dir, disk } = target(server);
      const local = tmpDir();
      writeTree(local, { 'index.html': 'one', 'css/a.css': 'a{}', 'img/x.bin': Buffer.alloc(3000, 7) });
      const reports: DeployReport[] = [];
      const publish = (): NodeJS.ReadWriteStream =>
        gulp
          .src('**/*', { cwd: local, dot: true, encoding: false })
          .pipe(deploy(gulpOpts(server, dir, { onReport: (r) => reports.push(r) })));
      const sockets = (): number =>
        process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TLSWrap').length;
      const before = sockets();

      await runTaskOrThrow(publish);
      fs.writeFileSync(path.join(local, 'index.html'), 'two');
      await runTaskOrThrow(publish);
      fs.rmSync(path.join(local, 'css'), { recursive: true });
      await runTaskOrThrow(publish);

      expect(reports.map((r) => r.counts)).toEqual([
        { mkdir: 2, upload: 3, replace: 0, delete: 0, rmdir: 0, unchanged: 0 },
        { mkdir: 0, upload: 0, replace: 1, delete: 0, rmdir: 0, unchanged: 2 },
        { mkdir: 0, upload: 0, replace: 0, delete: 1, rmdir: 1, unchanged: 2 },
      ]);
      expect(readTree(disk, [STATE])).toEqual(readTree(local));
      expect(fs.existsSync(path.join(disk, STATE))).toBe(true);
      // At most as many as before: one still closing when the test began (left by an earlier test) may be gone.
      expect(sockets()).toBeLessThanOrEqual(before);
    },
  );

  // The later run's remoteDir: the same, or the same folder spelt another way (`site/` beside `/site`, where the
  // login folder is `/`), which raced the first run for the server's lock and failed at once.
  it.each([
    ['the same remoteDir', (dir: string) => dir],
    ['`site/` while the first has `/site`', (dir: string) => `${dir.slice(1)}/`],
  ])(
    'pure-ftpd: a run that starts while one deploys (two watchers firing at once), %s: waits for it, then deploys',
    async (_how, spell) => {
      const server = env.pure;
      const { dir, disk } = target(server);
      const local = tmpDir();
      writeTree(local, { 'index.html': 'one', 'css/a.css': 'a{}' });
      const src = (): NodeJS.ReadWriteStream => gulp.src('**/*', { cwd: local, dot: true, encoding: false });
      await runTaskOrThrow(() => src().pipe(deploy(gulpOpts(server, dir))));

      // The first run's maintenance hook is called while it holds the target (before live files change); it
      // answers once the second run is waiting, or has failed.
      const hook = await heldHook();
      const { held, letGo, url: hookUrl } = hook;
      const logged: string[] = [];
      jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
        logged.push(String(chunk));
        if (String(chunk).includes('waiting for the deploy')) letGo();
        return true;
      });

      const reports: DeployReport[] = [];
      const first = (): NodeJS.ReadWriteStream => {
        fs.writeFileSync(path.join(local, 'index.html'), 'two');
        return src().pipe(
          deploy(gulpOpts(server, dir, { maintenanceUrl: hookUrl, onReport: (r) => reports.push(r) })),
        );
      };
      const later = spell(dir);
      const second = async (): Promise<void> => {
        await held;
        fs.writeFileSync(path.join(local, 'index.html'), 'three');
        await runTaskOrThrow(() =>
          src().pipe(deploy(gulpOpts(server, later, { quiet: false, onReport: (r) => reports.push(r) }))),
        ).finally(letGo);
      };
      try {
        await runTaskOrThrow(gulp.parallel(first, second));
      } finally {
        hook.close();
      }
      expect(logged.join('')).toContain(
        `ftpship: waiting for the deploy to 127.0.0.1 ${later} this process started before this one`,
      );
      expect(reports.map((r) => r.counts.replace)).toEqual([1, 1]);
      expect(fs.readFileSync(path.join(disk, 'index.html'), 'utf8')).toBe('three');
    },
  );
});
