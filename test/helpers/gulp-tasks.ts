/**
 * For tests that run real gulp 5 tasks through gulp's own runner, as `gulp.watch` and the gulp CLI run them:
 * the runner, the plugin's options from a server's engine options, and builds whose times `since:` reads.
 */
import fs from 'node:fs';
import path from 'node:path';
import gulp from 'gulp';
import type { GulpDeployOptions } from '../../gulp-plugin/index.js';
import type { DeployOptions } from '../../src/engine/options.js';
import { tmpDir, writeTree } from './tmp.js';

/** Runs gulp tasks in series through gulp's own runner: the error it ended with, or undefined. */
export async function runTask(...tasks: gulp.TaskFunction[]): Promise<unknown> {
  // gulp's runner also emits a failed task as an 'error' event on gulp (the gulp CLI logs it).
  const logged = (): void => undefined;
  gulp.on('error', logged);
  return new Promise<unknown>((resolve) => {
    void gulp.series(...tasks)((err?: Error | null) => resolve(err ?? undefined));
  }).finally(() => gulp.removeListener('error', logged));
}

/** {@link runTask}, rejecting with the error a task ended with. */
export async function runTaskOrThrow(...tasks: gulp.TaskFunction[]): Promise<void> {
  const err = await runTask(...tasks);
  if (err !== undefined) throw err;
}

/** The plugin's options from a test server's engine options (a stream has no local folder), quiet. */
export function gulpOptions(
  engine: DeployOptions,
  extra: Partial<GulpDeployOptions> = {},
): GulpDeployOptions {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  const { localDir, ...options } = engine;
  return { ...options, quiet: true, ...extra };
}

/** A build of `tree` in a new folder, older than any run (`since: gulp.lastRun(task)` compares its times). */
export async function oldBuild(tree: Record<string, string>): Promise<string> {
  const local = tmpDir();
  writeTree(local, tree);
  const earlier = Date.now() / 1000 - 60;
  for (const rel of Object.keys(tree)) fs.utimesSync(path.join(local, rel), earlier, earlier);
  // since: skips a file whose mtime and ctime are both at or before the last run's start (a whole ms of
  // Date.now()); the ctime, which utimes sets to now, holds fractions of a ms: wait for the next ms or two.
  const newest = Math.max(...Object.keys(tree).map((rel) => fs.statSync(path.join(local, rel)).ctimeMs));
  while (Date.now() <= newest + 1) await new Promise((resolve) => setTimeout(resolve, 2));
  return local;
}

/** Edits a file and gives it times after any run so far (a later edit, as `since:` sees it). */
export function editLater(local: string, rel: string, contents: string): void {
  const file = path.join(local, rel);
  fs.writeFileSync(file, contents);
  const later = Date.now() / 1000 + 60;
  fs.utimesSync(file, later, later);
}
