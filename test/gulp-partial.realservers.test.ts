/**
 * The gulp plugin's guard against a stream that carries only part of the build (a watch-style task with
 * `gulp.src(glob, { since: gulp.lastRun(task) })`), with real gulp 5 tasks against a real server.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import gulp from 'gulp';
import PluginError from 'plugin-error';
import { deploy, type GulpDeployOptions } from '../gulp-plugin/index.js';
import { realServerSuite, remoteFolders, type RealServer } from './helpers/real-servers.js';
import { editLater, gulpOptions, oldBuild, runTask } from './helpers/gulp-tasks.js';
import { readTree } from './helpers/tmp.js';

const { describe, env, opts } = realServerSuite('gulp partial stream');
const target = remoteFolders('h-guard');
const STATE = '.ftpship-state.json';

const gulpOpts = (server: RealServer, remoteDir: string, extra: Partial<GulpDeployOptions> = {}) =>
  gulpOptions(opts(server, '', remoteDir), extra);

/** A build of eight files, older than any run (since: compares mtimes with the task's last run). */
async function build(): Promise<string> {
  const tree: Record<string, string> = { 'index.html': 'home', 'about.html': 'about' };
  for (let i = 1; i <= 4; i++) tree[`blog/post-${i}.html`] = `post ${i}`;
  tree['css/site.css'] = 'body{}';
  tree['js/app.js'] = 'void 0;';
  return oldBuild(tree);
}

describe('gulp plugin: a partial stream on a real server', () => {
  it('pure-ftpd: a since: gulp.lastRun() run is refused with nothing deleted, goes through with maxDelete; a normal change set deploys', async () => {
    const server = env.pure;
    const local = await build();
    const { dir, disk } = target(server);
    const partial = (extra: Partial<GulpDeployOptions>) => {
      const task = (): NodeJS.ReadWriteStream =>
        gulp
          .src('**/*', { cwd: local, dot: true, encoding: false, since: gulp.lastRun(task) })
          .pipe(deploy(gulpOpts(server, dir, extra)));
      return task;
    };
    const full = (): NodeJS.ReadWriteStream =>
      gulp.src('**/*', { cwd: local, dot: true, encoding: false }).pipe(deploy(gulpOpts(server, dir)));

    // The full first run (no last run yet), then a partial one.
    const publish = partial({});
    expect(await runTask(publish)).toBeUndefined();
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
    const state = fs.readFileSync(path.join(disk, STATE), 'utf8');
    editLater(local, 'about.html', 'about us');
    const err = await runTask(publish);
    expect(err).toBeInstanceOf(PluginError);
    expect((err as Error).message).toMatch(
      /^only 1 file reached ftpship, of the 8 it deployed to this target, so the plan would delete 7 of them; nothing was changed\. .* pass maxDelete: 7 to delete them on purpose, or delete: false /,
    );
    expect(Object.keys(readTree(disk, [STATE])).sort()).toEqual(Object.keys(readTree(local)).sort());
    expect(fs.readFileSync(path.join(disk, 'about.html'), 'utf8')).toBe('about');
    expect(fs.readFileSync(path.join(disk, STATE), 'utf8')).toBe(state);

    // A normal change set through the whole build: two posts gone, the edit sent.
    fs.rmSync(path.join(local, 'blog/post-3.html'));
    fs.rmSync(path.join(local, 'blog/post-4.html'));
    expect(await runTask(full)).toBeUndefined();
    expect(readTree(disk, [STATE])).toEqual(readTree(local));

    // The partial run again, with maxDelete: what the stream leaves out is deleted.
    const allowed = partial({ maxDelete: 5 });
    expect(await runTask(allowed)).toBeUndefined(); // the first run of this task: the whole build
    editLater(local, 'index.html', 'home, edited');
    expect(await runTask(allowed)).toBeUndefined();
    // The stream carried index.html and about.html (its edit above is newer than any run too).
    expect(Object.keys(readTree(disk, [STATE])).sort()).toEqual(['about.html', 'index.html']);
    expect(fs.readFileSync(path.join(disk, 'index.html'), 'utf8')).toBe('home, edited');
  });
});
