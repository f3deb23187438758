/**
 * The gulp plugin run again and again in one process, as `gulp.watch` or `gulp.series` runs a publish task, with
 * real gulp 5 tasks against ftp-server().
 */
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
});
