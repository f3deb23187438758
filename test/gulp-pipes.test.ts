/**
 * The gulp plugin in the middle of a gulp 5 pipeline (gulp.src → deploy() → gulp.dest), run by gulp's own runner:
 * a failure fails the task, never leaves it hanging. Server: ftp-srv in this process.
 */
import { getEventListeners } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import gulp from 'gulp';
import PluginError from 'plugin-error';
import type Vinyl from 'vinyl';
import { deploy } from '../gulp-plugin/index.js';
import type { DeployReport } from '../src/engine/report.js';
import { gulpOptionsFor, useEmbedded } from './helpers/embedded.js';
import { runTask } from './helpers/gulp-tasks.js';
import { readTree, tmpDir, uniqueName, writeTree } from './helpers/tmp.js';

const server = useEmbedded();

const opts = gulpOptionsFor(server);

/** What a task's promise ended with within a few seconds, or 'still running' (a hung task). */
async function outcome(run: Promise<unknown>): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise((resolve) => (timer = setTimeout(() => resolve('still running'), 5000)));
  try {
    return await Promise.race([run, hung]);
  } finally {
    clearTimeout(timer);
  }
}

const STATE = '.ftpship-state.json';

const TREE = { 'index.html': '<h1>hi</h1>', 'css/site.css': 'a{}', 'img/logo.bin': 'x'.repeat(5000) };

describe('gulp plugin: a failure with more steps after it (gulp.src → deploy() → gulp.dest)', () => {
  it.each([
    ['buffered', true],
    ['streamed', false],
  ])('%s: a deploy that fails fails the task with its error, not hangs', async (_label, buffer) => {
    const local = tmpDir();
    writeTree(local, TREE);
    const err = await outcome(
      runTask(() =>
        gulp
          .src('**/*', { cwd: local, buffer, encoding: false })
          .pipe(deploy(opts(`/${uniqueName('h-gulp4-dest')}`, { password: 'wrong-h-gulp4' })))
          .pipe(gulp.dest(tmpDir())),
      ),
    );
    expect(err).toBeInstanceOf(PluginError);
    expect((err as PluginError).plugin).toBe('ftpship');
    expect((err as Error).message).toMatch(
      /^login to 127\.0\.0\.1:\d+ as "demo" failed: 530 Login incorrect; check the user and password$/,
    );
  });

  it('a file refused on its way in fails the task naming it, not hangs; nothing is deployed', async () => {
    const local = tmpDir();
    writeTree(local, TREE);
    const remote = `/${uniqueName('h-gulp4-refused')}`;
    const dropContents = new Transform({
      objectMode: true,
      transform(file: Vinyl, _enc, done): void {
        if (file.relative.endsWith('.bin')) file.contents = null;
        done(null, file);
      },
    });
    const err = await outcome(
      runTask(() =>
        gulp
          .src('**/*', { cwd: local, encoding: false })
          .pipe(dropContents)
          .pipe(deploy(opts(remote)))
          .pipe(gulp.dest(tmpDir())),
      ),
    );
    expect(err).toBeInstanceOf(PluginError);
    expect((err as Error).message).toMatch(/^"img\/logo.bin" reached ftpship without its contents/);
    expect(fs.existsSync(path.join(server().root, remote))).toBe(false);
  });
});

describe('gulp plugin: streamed contents read already by a step before it', () => {
  it('gulp.src with buffer: false and sourcemaps: true fails the task naming the file and what to change, not hangs', async () => {
    const local = tmpDir();
    writeTree(local, { 'app.js': 'let a = 1;\n' });
    const remote = `/${uniqueName('h-gulp4-maps')}`;
    const err = await outcome(
      runTask(() =>
        gulp.src('*.js', { cwd: local, buffer: false, sourcemaps: true }).pipe(deploy(opts(remote))),
      ),
    );
    expect(err).toBeInstanceOf(PluginError);
    expect((err as PluginError).plugin).toBe('ftpship');
    expect((err as Error).message).toBe(
      '"app.js" reached ftpship with its streamed contents read already by a step before it (gulp.src with both ' +
        'buffer: false and sourcemaps: true reads them), so there is nothing left to deploy; nothing was deployed. ' +
        'Drop buffer: false or sourcemaps: true from gulp.src, or have that step buffer the file',
    );
    expect(fs.existsSync(path.join(server().root, remote))).toBe(false);
  });
});

describe('gulp plugin: what gulp.src and gulp.dest send it', () => {
  it('gulp.src with sourcemaps → gulp.dest(out, { sourcemaps: "." }) → deploy(): the server holds what gulp.dest wrote, maps too', async () => {
    const local = tmpDir();
    writeTree(local, { 'js/app.js': 'let a = 1;\n', 'index.html': '<p>hi</p>\n' });
    const out = tmpDir();
    const remote = `/${uniqueName('h-gulp4-maps')}`;
    const reports: DeployReport[] = [];
    const build = (): NodeJS.ReadWriteStream =>
      gulp
        .src('**/*', { cwd: local, sourcemaps: true })
        .pipe(gulp.dest(out, { sourcemaps: '.' }))
        .pipe(deploy(opts(remote, { onReport: (r) => reports.push(r) })));
    expect(await runTask(build)).toBeUndefined();
    const written = readTree(out);
    expect(Object.keys(written).sort()).toEqual([
      'index.html',
      'index.html.map',
      'js/app.js',
      'js/app.js.map',
    ]);
    expect(readTree(path.join(server().root, remote), [STATE])).toEqual(written);
    expect(await runTask(build)).toBeUndefined();
    expect(reports[1].counts).toMatchObject({ upload: 0, replace: 0, delete: 0, unchanged: 4 });
  });

  it('folders (gulp.src nodir: false) pass through and are not deployed; streamed files are', async () => {
    const local = tmpDir();
    writeTree(local, { 'a/b/c.txt': 'c', 'd.txt': 'd' });
    fs.mkdirSync(path.join(local, 'empty'));
    const remote = `/${uniqueName('h-gulp4-dirs')}`;
    const passed: string[] = [];
    const err = await runTask(() =>
      gulp
        .src('**', { cwd: local, buffer: false, nodir: false } as Parameters<typeof gulp.src>[1])
        .pipe(deploy(opts(remote)))
        .pipe(
          new Transform({
            objectMode: true,
            transform(file: Vinyl, _enc, done): void {
              passed.push(`${file.relative.split(path.sep).join('/')}${file.isDirectory() ? '/' : ''}`);
              done(null, file);
            },
          }),
        ),
    );
    expect(err).toBeUndefined();
    expect(passed.sort()).toEqual(['a/', 'a/b/', 'a/b/c.txt', 'd.txt', 'empty/']);
    expect(readTree(path.join(server().root, remote), [STATE])).toEqual(readTree(local));
    expect(fs.existsSync(path.join(server().root, remote, 'empty'))).toBe(false);
  });

  it('watch-style runs reusing one options object (frozen) and signal: options unchanged, no listener left behind', async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a', 'b/c.txt': 'c' });
    const session = new AbortController();
    const freeze = <T>(o: T): T => {
      if (o && typeof o === 'object' && !(o instanceof AbortSignal)) {
        for (const v of Object.values(o)) freeze(v);
        Object.freeze(o);
      }
      return o;
    };
    const options = freeze(
      opts(`/${uniqueName('h-gulp4-watch')}`, {
        signal: session.signal,
        keep: ['uploads/**'],
        maintenance: { path: '.maintenance' },
        fileMode: '644',
      }),
    );
    const before = JSON.stringify({ ...options, signal: undefined });
    const listeners = (): Record<string, number> =>
      Object.fromEntries(process.eventNames().map((e) => [String(e), process.listenerCount(e)]));
    const counts: unknown[] = [];
    let after1: Record<string, number> | undefined;
    for (let i = 0; i < 4; i++) {
      fs.writeFileSync(path.join(local, 'a.txt'), `a${i}`);
      const err = await runTask(() =>
        gulp
          .src('**/*', { cwd: local, buffer: i % 2 === 0, encoding: false })
          .pipe(deploy({ ...options, onReport: (r) => counts.push(r.counts.upload + r.counts.replace) })),
      );
      expect(err).toBeUndefined();
      if (i === 0) after1 = listeners();
    }
    expect(counts).toEqual([2, 1, 1, 1]);
    expect(JSON.stringify({ ...options, signal: undefined })).toBe(before);
    expect(getEventListeners(session.signal, 'abort')).toHaveLength(0);
    // The first run may add the spool's one 'exit' listener; later runs add none.
    expect({ ...listeners(), exit: 0 }).toEqual({ ...after1, exit: 0 });
    expect(process.listenerCount('exit')).toBeLessThanOrEqual(1 + (after1?.exit ?? 0));
  });
});
