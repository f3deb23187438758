/**
 * The gulp plugin run again and again in one process, as `gulp.watch` or `gulp.series` runs a publish task, with
 * real gulp 5 tasks against ftp-server().
 */
import { getEventListeners } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough, Transform } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import gulp from 'gulp';
import PluginError from 'plugin-error';
import { deploy } from '../gulp-plugin/index.js';
import { gulpOptionsFor, useEmbedded } from './helpers/embedded.js';
import { runTaskOrThrow } from './helpers/gulp-tasks.js';
import { readTree, tmpDir, uniqueName, writeTree } from './helpers/tmp.js';

const server = useEmbedded();

const STATE = '.ftpship-state.json';

const opts = gulpOptionsFor(server);

/** What a task's promise did within a few seconds: its error, 'done', or 'still running' (a hung task). */
async function outcome(run: Promise<unknown>): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise((resolve) => (timer = setTimeout(() => resolve('still running'), 5000)));
  try {
    return await Promise.race([
      run.then(
        () => 'done',
        (err: unknown) => err,
      ),
      hung,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

describe('gulp plugin: a publish task run again in one process', () => {
  it("one deploy() stream made at the top of the gulpfile (as vinyl-ftp's conn) fails its second run clearly, not hangs", async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'one', 'css/a.css': 'a{}' });
    const remote = `/${uniqueName('h-gulp-once')}`;
    const conn = deploy(opts(remote));
    const publish = (): NodeJS.ReadWriteStream =>
      gulp.src('**/*', { cwd: local, dot: true, encoding: false }).pipe(conn);
    await runTaskOrThrow(publish);
    expect(readTree(path.join(server().root, remote), [STATE])).toEqual(readTree(local));

    fs.writeFileSync(path.join(local, 'index.html'), 'two');
    const second = await outcome(runTaskOrThrow(publish));
    expect(second).toBeInstanceOf(PluginError);
    expect((second as PluginError).plugin).toBe('ftpship');
    expect((second as Error).message).toBe(
      'this deploy() stream has run already (one stream deploys once) and takes no more files: call deploy(options) inside the task, ' +
        'once per run (gulp.src(...).pipe(deploy(options))), not once at the top of the gulpfile',
    );
    // The same task with deploy() inside it deploys the change.
    await runTaskOrThrow(() =>
      gulp.src('**/*', { cwd: local, dot: true, encoding: false }).pipe(deploy(opts(remote))),
    );
    expect(fs.readFileSync(path.join(server().root, remote, 'index.html'), 'utf8')).toBe('two');
  });

  it('a plugin further up a .pipe chain that fails and ends its stream (gulp-sass logError) fails the deploy; nothing is deleted', async () => {
    const local = tmpDir();
    writeTree(local, { 'a.css': 'a{}', 'b.css': 'b{}', 'c.css': 'c{}', 'd.css': 'd{}' });
    const remote = `/${uniqueName('h-gulp-chain')}`;
    const src = (): NodeJS.ReadWriteStream => gulp.src('*.css', { cwd: local, encoding: false });
    await runTaskOrThrow(() => src().pipe(deploy(opts(remote))));
    const before = readTree(path.join(server().root, remote));

    // A sass-like step that fails on its second file; its logError handler logs and ends the stream, which
    // then hands on one file, through one more step, to deploy().
    let seen = 0;
    const sass = new Transform({
      objectMode: true,
      transform(file, _encoding, done) {
        if (++seen === 2) return done(new Error('sass: syntax error in b.scss'));
        done(null, file);
      },
    });
    sass.on('error', function (this: Transform) {
      this.emit('end');
    });
    let deployError: unknown;
    let closed: Promise<unknown> = Promise.resolve();
    const publish = (): NodeJS.ReadWriteStream => {
      const stream = deploy(opts(remote));
      stream.on('error', (err) => (deployError = err));
      closed = new Promise((resolve) => stream.once('close', resolve));
      return src()
        .pipe(sass)
        .pipe(new PassThrough({ objectMode: true }))
        .pipe(stream);
    };
    const task = await outcome(runTaskOrThrow(publish));
    expect((task as Error).message).toBe('sass: syntax error in b.scss');
    await closed;

    expect(deployError).toBeInstanceOf(PluginError);
    // Heard while it ran (the deploy stopped), or before it began.
    expect((deployError as Error).message).toMatch(
      /^an earlier step of the pipeline failed \(sass: syntax error in b\.scss\), so not every file reached ftpship; (the deploy was stopped \(cancelled: nothing was changed\)|nothing was deployed), as the files that did would have made the server's copies of the others orphans, deleted\. Fix that error and run the task again$/,
    );
    expect(readTree(path.join(server().root, remote))).toEqual(before);
  });

  it('two runs of one task overlapping (two watchers firing at once), the first slower to collect: the later run, with the newer files, is what the server holds', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'v1', 'old.txt': 'gone in v2' });
    const remote = `/${uniqueName('h-gulp-overtake')}`;
    // A build step slow on its first run (a cold compile): it holds that run's first file until let go.
    let letGo = (): void => undefined;
    const held = new Promise<void>((resolve) => (letGo = resolve));
    let runs = 0;
    const slowFirstTime = (): Transform => {
      const first = ++runs === 1;
      return new Transform({
        objectMode: true,
        transform(file, _encoding, done) {
          if (first) void held.then(() => done(null, file));
          else done(null, file);
        },
      });
    };
    let firstRead = (): void => undefined;
    let secondCollected = (): void => undefined;
    const publish = (): NodeJS.ReadWriteStream => {
      const step = slowFirstTime();
      const seen = new PassThrough({ objectMode: true });
      const src = gulp.src('*', { cwd: local, encoding: false });
      if (runs === 1) src.once('end', () => firstRead());
      if (runs === 2) seen.once('end', () => setImmediate(() => secondCollected()));
      return src
        .pipe(step)
        .pipe(seen)
        .pipe(deploy(opts(remote)));
    };
    // The first run has read v1 (held in its slow step) when the files change and the second run starts.
    const read = new Promise<void>((resolve) => (firstRead = resolve));
    const first = runTaskOrThrow(publish);
    await read;
    writeTree(local, { 'index.html': 'v2', 'new.txt': 'new in v2' });
    fs.unlinkSync(path.join(local, 'old.txt'));
    const second = runTaskOrThrow(publish);
    // Let the first run go once every file of the second has reached its deploy stream.
    await new Promise<void>((resolve) => (secondCollected = resolve));
    letGo();
    await Promise.all([first, second]);
    // Before: the second deployed at once, and the first, holding v1, overwrote it: index.html v1, old.txt back
    // and new.txt deleted.
    expect(readTree(path.join(server().root, remote), [STATE])).toEqual(readTree(local));
  });

  it('12 runs fired faster than they finish, under one signal for the whole watch session: one listener on it (no MaxListenersExceededWarning); queued, the last files win', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'v0', 'css/a.css': 'a{}' });
    const remote = `/${uniqueName('h-gulp-burst')}`;
    const session = new AbortController();
    // Each run's deploy() made as its task starts, all before the first has finished.
    const runs: Array<Promise<void>> = [];
    for (let i = 1; i <= 12; i++) {
      writeTree(local, { 'index.html': `v${i}` });
      const stream = deploy(opts(remote, { signal: session.signal }));
      runs.push(
        runTaskOrThrow(() => gulp.src('**/*', { cwd: local, dot: true, encoding: false }).pipe(stream)),
      );
    }
    // Was 12, one per run waiting its turn: Node warned "Possible EventTarget memory leak detected. 11 abort
    // listeners added to [AbortSignal]" in the gulpfile's process.
    expect(getEventListeners(session.signal, 'abort').length).toBe(1);
    await Promise.all(runs);
    expect(readTree(path.join(server().root, remote), [STATE])).toEqual(readTree(local));
    expect(getEventListeners(session.signal, 'abort')).toEqual([]);
  });
});
