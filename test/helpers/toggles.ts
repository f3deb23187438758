/**
 * The --no-replace and --delete-only scenarios, shared by toggles.ftpsrv.test.ts (ftp-srv) and
 * toggles.realservers.test.ts (pure-ftpd, vsftpd): each deploys, runs with the option, checks the server's
 * folder on disk and the report, then shows the state told the truth (a run without the option converges,
 * and one more changes nothing).
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from '@jest/globals';
import { deploy, type DeployOptions, type DeployReport } from '../../src/index.js';
import { readDirs, readTree, tmpDir, writeTree } from './tmp.js';

const STATE = '.ftpship-state.json';

type Opts = (local: string, extra?: Partial<DeployOptions>) => DeployOptions;

const V1 = {
  'index.html': 'v1',
  'keep.txt': 'same',
  'old.txt': 'old',
  'olddir/o.txt': 'o',
  'sw-file': 'a file that becomes a folder',
  'sw-dir/x.txt': 'a folder that becomes a file',
};

function changeToV2(local: string): void {
  fs.writeFileSync(path.join(local, 'index.html'), 'version two');
  fs.rmSync(path.join(local, 'old.txt'));
  fs.rmSync(path.join(local, 'olddir'), { recursive: true });
  fs.rmSync(path.join(local, 'sw-file'));
  fs.rmSync(path.join(local, 'sw-dir'), { recursive: true });
  writeTree(local, {
    'new.txt': 'new',
    'newdir/n.txt': 'n',
    'sw-file/in.txt': 'now inside a folder',
    'sw-dir': 'now a file',
  });
}

const server = (disk: string): Record<string, string> => readTree(disk, [STATE]);
const noChange = (r: DeployReport): void => {
  expect(r.files).toEqual([]);
  expect(r.held).toBeUndefined();
};

/** --no-replace: new files go up, orphans go, changed files and type swaps stay; then a plain run converges. */
export async function noReplaceScenario(opts: Opts, disk: string): Promise<void> {
  const local = tmpDir();
  writeTree(local, V1);
  await deploy(opts(local));
  const v1 = server(disk);
  changeToV2(local);

  const plan = await deploy(opts(local, { replace: false, dryRun: true }));
  const r = await deploy(opts(local, { replace: false }));
  expect(r.counts).toMatchObject({ upload: 2, replace: 0, delete: 2, mkdir: 1, rmdir: 1 });
  expect(r.held).toEqual({
    replace: ['index.html'],
    upload: ['sw-file/in.txt'],
    mkdir: [],
    swap: ['sw-file', 'sw-dir'], // the folder that replaces a file, then the file that replaces a folder
    by: 'no-replace',
  });
  // The dry run showed exactly this.
  expect({ ...plan, durationMs: 0, estimate: undefined, dryRun: false }).toMatchObject({
    counts: { ...r.counts },
    files: r.files,
    held: r.held,
  });
  const there = server(disk);
  expect(there['index.html']).toBe(v1['index.html']);
  expect(there['sw-file']).toBe(v1['sw-file']);
  expect(there['sw-dir/x.txt']).toBe(v1['sw-dir/x.txt']);
  expect(there['old.txt']).toBeUndefined();
  expect(there['new.txt']).toBeDefined();
  expect(readDirs(disk)).toEqual(['newdir', 'sw-dir']);

  // The state recorded what is there: a run without the option replaces and swaps, then nothing is left.
  const after = await deploy(opts(local));
  expect(after.counts).toMatchObject({ upload: 1, replace: 2, delete: 2, mkdir: 1, rmdir: 1 });
  expect(server(disk)).toEqual(readTree(local));
  noChange(await deploy(opts(local)));
}

/** --delete-only: only the orphans go; nothing sent or made; then a plain run converges. */
export async function deleteOnlyScenario(opts: Opts, disk: string): Promise<void> {
  const local = tmpDir();
  writeTree(local, V1);
  await deploy(opts(local));
  const v1 = server(disk);
  changeToV2(local);

  const plan = await deploy(opts(local, { deleteOnly: true, dryRun: true }));
  const r = await deploy(opts(local, { deleteOnly: true }));
  expect(r.counts).toMatchObject({ upload: 0, replace: 0, delete: 2, mkdir: 0, rmdir: 1 });
  expect(r.bytes.sent).toBe(0);
  expect(r.files.map((e) => `${e.action} ${e.path}`).sort()).toEqual([
    'delete old.txt',
    'delete olddir/o.txt',
    'rmdir olddir',
  ]);
  expect(r.held).toEqual({
    replace: ['index.html'],
    upload: ['new.txt', 'newdir/n.txt', 'sw-file/in.txt'],
    mkdir: ['newdir'],
    swap: ['sw-file', 'sw-dir'],
    by: 'delete-only',
  });
  expect(plan).toMatchObject({ counts: r.counts, files: r.files, held: r.held });
  const expected = { ...v1 };
  delete expected['old.txt'];
  delete expected['olddir/o.txt'];
  expect(server(disk)).toEqual(expected);
  expect(readDirs(disk)).toEqual(['sw-dir']);

  const after = await deploy(opts(local));
  expect(after.counts).toMatchObject({ upload: 3, replace: 2, delete: 2, mkdir: 2, rmdir: 1 });
  expect(server(disk)).toEqual(readTree(local));
  noChange(await deploy(opts(local)));
}
