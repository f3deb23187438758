/**
 * The gulp plugin on a name the server changes or refuses (pure-ftpd), with real gulp 5 tasks: the task fails
 * with a PluginError whose fileName (which gulp prints under Details) is the file the message names.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import gulp from 'gulp';
import PluginError from 'plugin-error';
import { deploy } from '../gulp-plugin/index.js';
import { realServerSuite, remoteFolders, type RealServer } from './helpers/real-servers.js';
import { gulpOptions, runTask } from './helpers/gulp-tasks.js';
import { tmpDir, writeTree } from './helpers/tmp.js';

const { describe, env, opts } = realServerSuite('gulp names');
const target = remoteFolders('h-gulp-names');
const STATE = '.ftpship-state.json';

/** Runs a task deploying all of `local` to `dir` on `server`; its error, if any. */
async function publish(server: RealServer, local: string, dir: string): Promise<unknown> {
  const task = (): NodeJS.ReadWriteStream =>
    gulp
      .src('**/*', { cwd: local, dot: true, encoding: false })
      .pipe(deploy(gulpOptions(opts(server, '', dir))));
  return runTask(task);
}

describe('gulp plugin: a name the server would change or refuses (pure-ftpd)', () => {
  it('a file name ending in a space: refused before anything is sent, the PluginError naming that file as its fileName', async () => {
    const server = env.pure;
    const local = tmpDir();
    writeTree(local, { 'ok.txt': 'ok', 'sub/note.txt ': 'a note' });
    const { dir, disk } = target(server);
    const err = await publish(server, local, dir);
    expect(err).toBeInstanceOf(PluginError);
    expect((err as Error).message).toContain(`the server did not keep the file name "${dir}/sub/note.txt "`);
    // Before: no fileName (the engine's error carried no path), and ok.txt sent.
    expect((err as PluginError).fileName).toBe(path.join(local, 'sub', 'note.txt '));
    expect(fs.readdirSync(disk).sort()).toEqual([STATE]);
  });
});
