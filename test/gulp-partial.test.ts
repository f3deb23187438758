/**
 * The gulp plugin's guard against a stream that carries only part of the build (a watch task piping the changed
 * files, `gulp.src(glob, { since: gulp.lastRun(task) })`): with real gulp 5 tasks against ftp-server().
 */
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
import { editLater, oldBuild, runTask } from './helpers/gulp-tasks.js';
import { readTree, tmpDir, uniqueName, writeTree } from './helpers/tmp.js';

const server = useEmbedded();

const STATE = '.ftpship-state.json';

const opts = gulpOptionsFor(server);

/** A build of ten files, older than any run. */
async function build(): Promise<string> {
  const tree: Record<string, string> = { 'index.html': '<h1>home</h1>' };
  for (let i = 1; i <= 6; i++) tree[`blog/post-${i}.html`] = `post ${i}`;
  for (const n of ['a', 'b', 'c']) tree[`css/${n}.css`] = `.${n}{}`;
  return oldBuild(tree);
}

const refusal = (carried: number, deployed: number, deletes: number): string =>
  `only ${carried} file${carried === 1 ? '' : 's'} reached ftpship, of the ${deployed} it deployed to this target, so the plan would delete ${deletes} of them; ` +
  'nothing was changed. A stream carrying part of the build (gulp.src with since: gulp.lastRun(), gulp-changed, gulp-newer, a watch piping the ' +
  'changed file, or an error kept by gulp-plumber that ended it early) makes every file it leaves out an orphan. Pipe in the whole build ' +
  `(ftpship sends only what changed), pass maxDelete: ${deletes} to delete them on purpose, or delete: false to upload these files and delete nothing.`;

describe('gulp plugin: a stream with only part of the build', () => {
  it('a since: gulp.lastRun() task: the full first run deploys, the partial second is refused with nothing deleted', async () => {
    const local = await build();
    const remote = `/${uniqueName('h-guard-since')}`;
    const disk = path.join(server().root, remote);
    const reports: DeployReport[] = [];
    const publish = (): NodeJS.ReadWriteStream =>
      gulp
        .src('**/*', { cwd: local, dot: true, encoding: false, since: gulp.lastRun(publish) })
        .pipe(deploy(opts(remote, { onReport: (r) => reports.push(r) })));

    expect(await runTask(publish)).toBeUndefined();
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
    const state = fs.readFileSync(path.join(disk, STATE), 'utf8');

    editLater(local, 'index.html', '<h1>home, edited</h1>');
    const err = await runTask(publish);
    expect(err).toBeInstanceOf(PluginError);
    expect((err as PluginError).plugin).toBe('ftpship');
    expect((err as Error).message).toBe(refusal(1, 10, 9));
    // Nothing changed on the server: the old files, the old index.html, the old state.
    expect(fs.readFileSync(path.join(disk, 'index.html'), 'utf8')).toBe('<h1>home</h1>');
    expect(Object.keys(readTree(disk, [STATE])).sort()).toEqual(Object.keys(readTree(local)).sort());
    expect(fs.readFileSync(path.join(disk, STATE), 'utf8')).toBe(state);
    // The refused plan still reaches onReport, with the reason.
    expect(reports[1]?.counts).toMatchObject({ replace: 1, delete: 9 });
    expect(reports[1]?.refused).toBe(refusal(1, 10, 9));

    // vinyl-ftp's watch recipe (gulp.src of the changed path, with its base), as a dry run: refused the same way.
    const watched = await runTask(() =>
      gulp
        .src(path.join(local, 'index.html'), { base: local, encoding: false })
        .pipe(deploy(opts(remote, { dryRun: true }))),
    );
    expect((watched as Error).message).toBe(refusal(1, 10, 9));

    // The whole build piped in deploys the edit.
    expect(
      await runTask(() =>
        gulp.src('**/*', { cwd: local, dot: true, encoding: false }).pipe(deploy(opts(remote))),
      ),
    ).toBeUndefined();
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
  });

  it('a stream cut short by a step further up whose error a handler kept to itself is refused', async () => {
    const local = await build();
    const remote = `/${uniqueName('h-guard-plumber')}`;
    const disk = path.join(server().root, remote);
    const whole = (): NodeJS.ReadWriteStream => gulp.src('**/*', { cwd: local, dot: true, encoding: false });
    expect(await runTask(() => whole().pipe(deploy(opts(remote))))).toBeUndefined();
    const state = fs.readFileSync(path.join(disk, STATE), 'utf8');

    // A step whose error a handler keeps to itself (no 'error' event reaches the pipeline or gulp), and that
    // hands on no file after the failed one: the stream ends normally with part of the build.
    let seen = 0;
    let failed: Error | undefined;
    const compile = (): Transform =>
      new Transform({
        objectMode: true,
        transform(file: Vinyl, _enc, done) {
          if (!file.isDirectory() && ++seen === 3)
            failed = new PluginError('gulp-sass', 'b.scss: expected "}"');
          if (failed) done();
          else done(null, file);
        },
      });
    const passOn = (): Transform =>
      new Transform({ objectMode: true, transform: (file: Vinyl, _enc, done) => done(null, file) });
    const err = await runTask(() =>
      whole()
        .pipe(compile())
        .pipe(passOn())
        .pipe(deploy(opts(remote))),
    );
    expect(failed).toBeDefined();
    expect((err as Error).message).toBe(refusal(2, 10, 8));
    expect(Object.keys(readTree(disk, [STATE])).sort()).toEqual(Object.keys(readTree(local)).sort());
    expect(fs.readFileSync(path.join(disk, STATE), 'utf8')).toBe(state);
  });

  it('the same partial stream with maxDelete deletes what it leaves out', async () => {
    const local = await build();
    const remote = `/${uniqueName('h-guard-max')}`;
    const disk = path.join(server().root, remote);
    const publish = (): NodeJS.ReadWriteStream =>
      gulp
        .src('**/*', { cwd: local, dot: true, encoding: false, since: gulp.lastRun(publish) })
        .pipe(deploy(opts(remote, { maxDelete: 9 })));
    expect(await runTask(publish)).toBeUndefined();
    editLater(local, 'index.html', 'only this');
    expect(await runTask(publish)).toBeUndefined();
    expect(Object.keys(readTree(disk, [STATE]))).toEqual(['index.html']);
    expect(fs.readFileSync(path.join(disk, 'index.html'), 'utf8')).toBe('only this');
  });

  it('with delete: false the partial stream uploads its files and deletes nothing', async () => {
    const local = await build();
    const remote = `/${uniqueName('h-guard-nodel')}`;
    const disk = path.join(server().root, remote);
    const publish = (): NodeJS.ReadWriteStream =>
      gulp
        .src('**/*', { cwd: local, dot: true, encoding: false, since: gulp.lastRun(publish) })
        .pipe(deploy(opts(remote, { delete: false })));
    expect(await runTask(publish)).toBeUndefined();
    editLater(local, 'css/b.css', '.b{color:red}');
    expect(await runTask(publish)).toBeUndefined();
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
  });

  it('deleteOnly with a partial stream is refused too; with maxDelete it deletes what the stream leaves out', async () => {
    const local = await build();
    const remote = `/${uniqueName('h-guard-delonly')}`;
    const disk = path.join(server().root, remote);
    const src = (glob: string): NodeJS.ReadWriteStream =>
      gulp.src(glob, { cwd: local, base: local, dot: true, encoding: false });
    expect(await runTask(() => src('**/*').pipe(deploy(opts(remote))))).toBeUndefined();
    const err = await runTask(() => src('css/*').pipe(deploy(opts(remote, { deleteOnly: true }))));
    expect((err as Error).message).toBe(
      refusal(3, 10, 7).replace(
        ', pass maxDelete: 7 to delete them on purpose, or delete: false to upload these files and delete nothing.',
        ', or pass maxDelete: 7 to delete them on purpose.',
      ),
    );
    expect(Object.keys(readTree(disk, [STATE])).sort()).toEqual(Object.keys(readTree(local)).sort());
    expect(
      await runTask(() => src('css/*').pipe(deploy(opts(remote, { deleteOnly: true, maxDelete: 7 })))),
    ).toBeUndefined();
    expect(Object.keys(readTree(disk, [STATE])).sort()).toEqual(['css/a.css', 'css/b.css', 'css/c.css']);
  });

  it('full builds still deploy: a few files removed, and every file renamed (hashed names)', async () => {
    const local = await build();
    const remote = `/${uniqueName('h-guard-full')}`;
    const disk = path.join(server().root, remote);
    const reports: DeployReport[] = [];
    const publish = (): NodeJS.ReadWriteStream =>
      gulp
        .src('**/*', { cwd: local, dot: true, encoding: false })
        .pipe(deploy(opts(remote, { onReport: (r) => reports.push(r) })));
    expect(await runTask(publish)).toBeUndefined();

    // A normal change set: three posts gone, one edited.
    for (const n of [4, 5, 6]) fs.rmSync(path.join(local, `blog/post-${n}.html`));
    fs.writeFileSync(path.join(local, 'blog/post-1.html'), 'post 1, edited');
    expect(await runTask(publish)).toBeUndefined();
    expect(reports[1]?.counts).toMatchObject({ replace: 1, delete: 3, unchanged: 6 });
    expect(readTree(disk, [STATE])).toEqual(readTree(local));

    // Every file under a new name: the plan deletes all seven, and the stream carries as many new ones.
    const renamed = tmpDir();
    writeTree(
      renamed,
      Object.fromEntries(Object.entries(readTree(local)).map(([p, c]) => [p.replace(/\./, '.9f3a.'), c])),
    );
    expect(
      await runTask(() =>
        gulp.src('**/*', { cwd: renamed, dot: true, encoding: false }).pipe(deploy(opts(remote))),
      ),
    ).toBeUndefined();
    expect(readTree(disk, [STATE])).toEqual(readTree(renamed));
  });
});
