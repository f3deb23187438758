/**
 * The gulp plugin's temp files of streamed contents (gulp.src(..., { buffer: false })) over whole gulp runs, as
 * gulp's runner and gulp.watch run a publish task: each goes once nothing needs it, never left for the process's
 * exit. Server: ftp-srv in this process.
 */
import fs from 'node:fs';
import os from 'node:os';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Readable, Transform } from 'node:stream';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import gulp from 'gulp';
import PluginError from 'plugin-error';
import Vinyl from 'vinyl';
import { deploy, type GulpDeployOptions } from '../gulp-plugin/index.js';
import type { DeployReport } from '../src/engine/report.js';
import { gulpOptionsFor, useEmbedded } from './helpers/embedded.js';
import { runTask } from './helpers/gulp-tasks.js';
import { tmpDir, uniqueName, writeTree } from './helpers/tmp.js';

const server = useEmbedded();

const opts = gulpOptionsFor(server);

/** The spool folders (temp files of streamed contents) now in the temp folder. */
function spoolDirs(): string[] {
  return fs.readdirSync(os.tmpdir()).filter((n) => /^ftpship-gulp-[A-Za-z0-9]{6}$/.test(n));
}

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/**
 * Waits (bounded) until no spool folder but those `before` is left, collecting garbage (copies passed on that nothing holds, as a
 * long gulp.watch session does in time); returns those left.
 */
async function spoolsLeft(before: string[]): Promise<string[]> {
  const extra = (): string[] => spoolDirs().filter((d) => !before.includes(d));
  for (let i = 0; i < 50 && extra().length > 0; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
  }
  return extra();
}

const TREE = { 'index.html': '<h1>hi</h1>', 'css/site.css': 'a{}', 'img/logo.bin': 'x'.repeat(5000) };

describe('gulp plugin: temp files of streamed contents over gulp runs', () => {
  it('deploy() last in a gulp task: none left after a deploy, an unchanged rerun, a failed deploy, a refused file', async () => {
    const local = tmpDir();
    writeTree(local, TREE);
    const remote = `/${uniqueName('h-gulp4-spool')}`;
    const reports: DeployReport[] = [];
    const publish =
      (extra: Partial<GulpDeployOptions> = {}) =>
      (): NodeJS.ReadWriteStream =>
        gulp
          .src('**/*', { cwd: local, buffer: false, encoding: false })
          .pipe(deploy(opts(remote, { onReport: (r) => reports.push(r), ...extra })));
    const before = spoolDirs();
    expect(await runTask(publish())).toBeUndefined();
    expect(reports[0].counts.upload).toBe(3);
    expect(await spoolsLeft(before)).toEqual([]);
    // Was one more 'exit' listener a run: a gulp.watch session warned of a leak (MaxListenersExceededWarning).
    const exitListeners = process.listenerCount('exit');

    expect(await runTask(publish())).toBeUndefined();
    expect(reports[1].counts.upload + reports[1].counts.replace).toBe(0);
    expect(await spoolsLeft(before)).toEqual([]);
    expect(process.listenerCount('exit')).toBe(exitListeners);

    const err = await runTask(publish({ password: 'wrong-h-gulp4' }));
    expect(err).toBeInstanceOf(PluginError);
    expect(await spoolsLeft(before)).toEqual([]);
    expect(process.listenerCount('exit')).toBe(exitListeners);

    // A file refused on its way in (here: one whose contents a step dropped), before any deploy.
    const dropContents = new Transform({
      objectMode: true,
      transform(file: Vinyl, _enc, done): void {
        if (file.relative.endsWith('.bin')) file.contents = null;
        done(null, file);
      },
    });
    const refused = await runTask(() =>
      gulp
        .src('**/*', { cwd: local, buffer: false, encoding: false })
        .pipe(dropContents)
        .pipe(deploy(opts(remote))),
    );
    expect((refused as Error).message).toMatch(/^"img\/logo.bin" reached ftpship without its contents/);
    expect(await spoolsLeft(before)).toEqual([]);
    expect(process.listenerCount('exit')).toBe(exitListeners);
  });
});

/** A vinyl file made in memory with streamed contents. */
function streamed(base: string, rel: string, text: string): Vinyl {
  return new Vinyl({
    cwd: base,
    base,
    path: path.join(base, rel),
    contents: Readable.from([Buffer.from(text)]),
  });
}

/** Runs `files` through a deploy() stream whose files a consumer keeps, unread: its error and the files. */
async function keptUnread(files: Vinyl[], options: GulpDeployOptions): Promise<[unknown, Vinyl[]]> {
  const kept: Vinyl[] = [];
  const err = await new Promise((resolve) => {
    Readable.from(files)
      .pipe(deploy(options))
      .on('data', (f: Vinyl) => kept.push(f))
      .on('error', resolve)
      .on('end', () => resolve(undefined));
  });
  return [err, kept];
}

async function read(file: Vinyl): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of file.contents as Readable) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

describe('gulp plugin: copies passed on that a consumer keeps unread', () => {
  it.each([
    ['went through', undefined],
    ['failed', 'wrong-h-gulp4'],
  ])(
    'copies a consumer keeps unread after a deploy that %s are whole when read, then go',
    async (_l, password) => {
      const base = tmpDir();
      const before = spoolDirs();
      const remote = `/${uniqueName('h-gulp4-kept')}`;
      const [err, kept] = await keptUnread(
        [streamed(base, 'a.txt', 'one'), streamed(base, 'b/c.txt', 'two')],
        opts(remote, password === undefined ? {} : { password }),
      );
      expect(err === undefined).toBe(password === undefined);
      expect(spoolDirs().filter((d) => !before.includes(d))).toHaveLength(1);
      expect(await Promise.all(kept.map(read))).toEqual(['one', 'two']);
      expect(await spoolsLeft(before)).toEqual([]);
    },
  );
});
