/**
 * The gulp plugin in the middle of a gulp 5 pipeline (gulp.src → deploy() → gulp.dest), run by gulp's own runner:
 * a failure fails the task, never leaves it hanging. Server: ftp-srv in this process.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import gulp from 'gulp';
import PluginError from 'plugin-error';
import type Vinyl from 'vinyl';
import { deploy, type GulpDeployOptions } from '../gulp-plugin/index.js';
import { login, useEmbedded } from './helpers/embedded.js';
import { runTask } from './helpers/gulp-tasks.js';
import { tmpDir, uniqueName, writeTree } from './helpers/tmp.js';

const server = useEmbedded();

function opts(remoteDir: string, extra: Partial<GulpDeployOptions> = {}): GulpDeployOptions {
  return { ...login(server()), remoteDir, retryDelayMs: 10, quiet: true, ...extra };
}

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
