/**
 * A deploy() stream torn down while its deploy runs (stream.pipeline after a failure further down, a destroy()
 * call) stops the deploy as Ctrl-C does: no new transfer, the checkpoint written, the lock released, and it says
 * so; the next run (gulp.watch's, which starts as soon as the torn-down task has failed) sends only the rest.
 * Real gulp 5 streams against pure-ftpd and vsftpd; the teardown comes from the plugin's own progress line once
 * the first file has gone up.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pipeline, Writable } from 'node:stream';
import { afterEach, expect, it, jest } from '@jest/globals';
import gulp from 'gulp';
import { deploy, type GulpDeployOptions } from '../gulp-plugin/index.js';
import type { DeployReport } from '../src/engine/report.js';
import { gulpOptions, runTask, runTaskOrThrow } from './helpers/gulp-tasks.js';
import { heldHook } from './helpers/hook-server.js';
import { realServerSuite, remoteFolders, type RealServer } from './helpers/real-servers.js';
import { readTree, tmpDir, writeTree } from './helpers/tmp.js';

const { describe, env, opts } = realServerSuite('gulp teardown');
const target = remoteFolders('h-gulp5-teardown');
const STATE = '.ftpship-state.json';
const LOCK = `${STATE}.lock`;

afterEach(() => {
  jest.restoreAllMocks();
});

const gulpOpts = (server: RealServer, remoteDir: string, extra: Partial<GulpDeployOptions> = {}) =>
  gulpOptions(opts(server, '', remoteDir), extra);

/** A site deployed once, then six new files (sent one at a time: parallel 1). */
async function scene(
  server: RealServer,
): Promise<{ local: string; dir: string; disk: string; added: string[] }> {
  const { dir, disk } = target(server);
  const local = tmpDir();
  writeTree(local, { 'index.html': 'home' });
  await runTaskOrThrow(() =>
    gulp.src('**/*', { cwd: local, dot: true, encoding: false }).pipe(deploy(gulpOpts(server, dir))),
  );
  const added = [1, 2, 3, 4, 5, 6].map((i) => `p/${i}.bin`);
  writeTree(local, Object.fromEntries(added.map((rel, i) => [rel, Buffer.alloc(32 * 1024, i + 1)] as const)));
  return { local, dir, disk, added };
}

/**
 * The plugin's log lines (stdout and stderr); `onLine` sees each as it is written. At the cancel line (the
 * torn-down deploy's last word), the state and whether the lock is there, as the deploy left them.
 */
function watchLog(disk: string, onLine: (line: string) => void) {
  const lines: string[] = [];
  const seen: { state?: Record<string, unknown>; lockLeft?: boolean } = {};
  const capture = (chunk: string | Uint8Array): boolean => {
    const line = String(chunk);
    lines.push(line);
    if (line.includes('deploy cancelled') && seen.state === undefined) {
      seen.lockLeft = fs.existsSync(path.join(disk, LOCK));
      seen.state = (
        JSON.parse(fs.readFileSync(path.join(disk, STATE), 'utf8')) as { files: Record<string, unknown> }
      ).files;
    }
    onLine(line);
    return true;
  };
  jest.spyOn(process.stdout, 'write').mockImplementation(capture);
  jest.spyOn(process.stderr, 'write').mockImplementation(capture);
  return { lines, seen };
}

/** A progress line after the first file went up ("ftpship: 1/6 files, …"). */
const FIRST_UP = /ftpship: [1-9]\d*\/\d+ files/;

/** The checks after a teardown: what the cancelled deploy left, then the next run's report. */
function checkConverged(
  seen: { state?: Record<string, unknown>; lockLeft?: boolean },
  rerun: DeployReport,
  added: string[],
  local: string,
  disk: string,
): void {
  // Stopped after the first file: the lock gone, the state honest and short of the rest.
  expect(seen.lockLeft).toBe(false);
  const confirmed = added.filter((rel) => seen.state && rel in seen.state);
  expect(confirmed.length).toBeGreaterThanOrEqual(1);
  expect(confirmed.length).toBeLessThan(added.length);
  for (const rel of confirmed)
    expect(fs.readFileSync(path.join(disk, rel))).toEqual(fs.readFileSync(path.join(local, rel)));
  // The rerun sends exactly what was not confirmed (as new files, or over what a cut transfer may have left).
  expect(
    rerun.files
      .filter((f) => f.action === 'upload' || f.action === 'replace')
      .map((f) => f.path)
      .sort(),
  ).toEqual(added.filter((rel) => !confirmed.includes(rel)).sort());
  expect(readTree(disk, [STATE])).toEqual(readTree(local));
  expect(fs.existsSync(path.join(disk, LOCK))).toBe(false);
}

/** Cancelled as on Ctrl-C, saying why: the teardown (and the error that caused it, if any). */
const CANCELLED =
  /ftpship: deploy cancelled \(the gulp stream was torn down[^\n]*\): no new transfer was started, what was done is recorded in the state and the lock released/;

/** A full run of the site (quiet), its report kept. */
function rerun(server: RealServer, local: string, dir: string, reports: DeployReport[]) {
  return (): NodeJS.ReadWriteStream =>
    gulp
      .src('**/*', { cwd: local, dot: true, encoding: false })
      .pipe(deploy(gulpOpts(server, dir, { onReport: (r) => reports.push(r) })));
}

/**
 * The checks once a torn-down deploy has closed: it said it was cancelled and deployed nothing, the lock is
 * gone; then a full rerun (one report) converges ({@link checkConverged}).
 */
async function cancelledThenConverges(
  server: RealServer,
  site: { local: string; dir: string; disk: string; added: string[] },
  lines: string[],
  seen: { state?: Record<string, unknown>; lockLeft?: boolean },
): Promise<void> {
  const log = lines.join('');
  expect(log).toMatch(CANCELLED);
  // Was: the deploy went on after the task had failed, and logged "deployed: did upload 6, …" later.
  expect(log).not.toMatch(/deployed:/);
  expect(fs.existsSync(path.join(site.disk, LOCK))).toBe(false);

  const reports: DeployReport[] = [];
  await runTaskOrThrow(rerun(server, site.local, site.dir, reports));
  expect(reports).toHaveLength(1);
  checkConverged(seen, reports[0], site.added, site.local, site.disk);
}

/** A step after deploy() (gulp.dest, say) that takes the files, and can be made to fail. */
const failingStep = (): Writable => new Writable({ objectMode: true, write: (_file, _enc, done) => done() });

describe('gulp plugin: a deploy() stream torn down while it deploys', () => {
  it('pure-ftpd: stream.pipeline tearing it down after a later step failed cancels the deploy, and it closes once that has stopped; a rerun converges', async () => {
    const server = env.pure;
    const { local, dir, disk, added } = await scene(server);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const out = failingStep();
    const { lines, seen } = watchLog(disk, (line) => {
      if (FIRST_UP.test(line) && !out.destroyed)
        out.destroy(new Error('EACCES: permission denied, mkdir out'));
    });
    const stream = deploy(gulpOpts(server, dir, { parallel: 1, quiet: false }));
    const closed = new Promise<void>((resolve) => stream.once('close', () => resolve()));
    try {
      const err = await runTask((cb: (err?: Error | null) => void) => {
        pipeline(gulp.src('**/*', { cwd: local, dot: true, encoding: false }), stream, out, cb);
      });
      expect((err as Error).message).toContain('EACCES');
      // Closed once the deploy has stopped, saying so.
      await closed;
      await cancelledThenConverges(server, { local, dir, disk, added }, lines, seen);
      expect(unhandled).toEqual([]);
    } finally {
      process.removeListener('unhandledRejection', onUnhandled);
    }
  });

  it('pure-ftpd: a .pipe(gulp.dest()) after deploy() failing mid-deploy cancels it; gulp.watch running the task again at once waits for that, then sends the rest', async () => {
    const server = env.pure;
    const { local, dir, disk, added } = await scene(server);
    const out = failingStep();
    const { lines, seen } = watchLog(disk, (line) => {
      if (FIRST_UP.test(line) && !out.destroyed) out.destroy(new Error('ENOSPC: no space left on device'));
    });
    // The task ends with the last step's error, at once: the deploy is still on its way out.
    const err = await runTask(() =>
      gulp
        .src('**/*', { cwd: local, dot: true, encoding: false })
        .pipe(deploy(gulpOpts(server, dir, { parallel: 1, quiet: false })))
        .pipe(out),
    );
    expect((err as Error).message).toContain('ENOSPC');
    const reports: DeployReport[] = [];
    await runTaskOrThrow(rerun(server, local, dir, reports));
    const log = lines.join('');
    expect(log).toMatch(CANCELLED);
    expect(log).not.toMatch(/deployed:/);
    expect(reports).toHaveLength(1);
    checkConverged(seen, reports[0], added, local, disk);
  });

  it('vsftpd: destroy() called on the stream (outside gulp) cancels the deploy before it closes; a rerun converges', async () => {
    const server = env.vsftpd;
    const { local, dir, disk, added } = await scene(server);
    const stream = deploy(gulpOpts(server, dir, { parallel: 1, quiet: false }));
    const closed = new Promise<void>((resolve) => stream.once('close', () => resolve()));
    const { lines, seen } = watchLog(disk, (line) => {
      if (FIRST_UP.test(line) && !stream.destroyed) stream.destroy();
    });
    gulp.src('**/*', { cwd: local, dot: true, encoding: false }).pipe(stream);
    await closed;
    await cancelledThenConverges(server, { local, dir, disk, added }, lines, seen);
  });

  it('pure-ftpd: a run torn down while it waits for an earlier one (gulp.watch firing again) stops waiting at once, changing nothing', async () => {
    const server = env.pure;
    const { local, dir, disk } = await scene(server);
    fs.writeFileSync(path.join(local, 'index.html'), 'home, edited'); // a live file changes: the hook is called
    // The earlier run's maintenance hook is called while it holds the target; it answers when the test says.
    const hook = await heldHook();
    const { held, letGo, url: maintenanceUrl } = hook;
    try {
      const reports: DeployReport[] = [];
      let earlierDone = false;
      const earlier = runTaskOrThrow(() =>
        gulp
          .src('**/*', { cwd: local, dot: true, encoding: false })
          .pipe(deploy(gulpOpts(server, dir, { maintenanceUrl, onReport: (r) => reports.push(r) }))),
      ).finally(() => (earlierDone = true));
      await held;
      const later = deploy(gulpOpts(server, dir, { quiet: false }));
      const closed = new Promise<void>((resolve) => later.once('close', () => resolve()));
      const { lines } = watchLog(disk, (line) => {
        if (line.includes('waiting for the deploy') && !later.destroyed) later.destroy();
      });
      gulp.src('**/*', { cwd: local, dot: true, encoding: false }).pipe(later);
      await closed;
      // Closed while the earlier run still holds the target: it did not wait for it, and said so.
      expect(earlierDone).toBe(false);
      expect(lines.join('')).toContain(
        'ftpship: cancelled (the gulp stream was torn down): nothing was changed',
      );
      letGo();
      await earlier;
      expect(reports.map((r) => [r.counts.upload, r.counts.replace])).toEqual([[6, 1]]);
      expect(lines.join('')).not.toMatch(/deployed:/);
      expect(readTree(disk, [STATE])).toEqual(readTree(local));
    } finally {
      letGo();
      hook.close();
    }
  });
});
