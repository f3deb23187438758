/**
 * Per-operation switches (FIELD.md §1 theme 3 "delete-only", "no delete"; §4 item 8 allow-replace):
 * `--no-replace` (`replace: false`) and `--delete-only` (`deleteOnly`), against ftp-srv in this process.
 * toggles.realservers.test.ts runs the same scenarios on pure-ftpd and vsftpd.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { deploy, type DeployOptions } from '../src/index.js';
import { ConfigError, GuardError } from '../src/engine/errors.js';
import { deployOptions, useEmbedded } from './helpers/embedded.js';
import { snapshot, tmpDir, uniqueName, writeTree } from './helpers/tmp.js';
import { deleteOnlyScenario, noReplaceScenario } from './helpers/toggles.js';

const server = useEmbedded();

function target(): {
  dir: string;
  disk: string;
  opts: (l: string, e?: Partial<DeployOptions>) => DeployOptions;
} {
  const dir = `/${uniqueName('toggles')}`;
  return {
    dir,
    disk: path.join(server().root, dir),
    opts: (local, extra = {}) => deployOptions(server(), local, dir, extra),
  };
}

describe('--no-replace and --delete-only (ftp-srv)', () => {
  it('--no-replace leaves changed files and type swaps as they are; the next plain run replaces them', async () => {
    const t = target();
    await noReplaceScenario(t.opts, t.disk);
  });

  it('--delete-only deletes the orphans alone; the next plain run sends the rest', async () => {
    const t = target();
    await deleteOnlyScenario(t.opts, t.disk);
  });

  it('--delete-only keeps --keep matches, obeys --max-delete, and on a first deploy says there is nothing to delete', async () => {
    const t = target();
    const local = tmpDir();
    writeTree(local, { 'index.html': 'i', 'a.txt': 'a', 'b.txt': 'b' });
    const infos: string[] = [];
    const first = await deploy(t.opts(local, { deleteOnly: true }), { info: (m) => infos.push(m) });
    expect(first.files).toEqual([]);
    expect(first.held?.upload).toEqual(['a.txt', 'b.txt', 'index.html']);
    expect(infos.join('\n')).toMatch(/delete-only: no state file .*nothing to delete/);
    expect(snapshot(t.disk)).toEqual({}); // no state written, nothing made

    await deploy(t.opts(local));
    fs.rmSync(path.join(local, 'a.txt'));
    fs.rmSync(path.join(local, 'b.txt'));
    const before = snapshot(t.disk);
    await expect(deploy(t.opts(local, { deleteOnly: true, maxDelete: 1 }))).rejects.toThrow(GuardError);
    expect(snapshot(t.disk)).toEqual(before);
    const r = await deploy(t.opts(local, { deleteOnly: true, keep: ['b.txt'] }));
    expect(r.files.map((e) => `${e.action} ${e.path}`)).toEqual(['delete a.txt']);
    expect(r.kept).toEqual(['b.txt']);
  });

  it('refuses --delete-only with --no-delete or --upload-only, and --no-replace with --upload-only', async () => {
    const t = target();
    const local = tmpDir();
    writeTree(local, { 'index.html': 'i' });
    await expect(deploy(t.opts(local, { deleteOnly: true, delete: false }))).rejects.toThrow(
      new ConfigError(
        '--delete-only does only the deletions, and --no-delete turns them off: the run would do nothing; drop one of --delete-only and --no-delete',
      ),
    );
    await expect(deploy(t.opts(local, { deleteOnly: true, uploadOnly: true }))).rejects.toThrow(
      /drop one of --delete-only and --upload-only/,
    );
    await expect(deploy(t.opts(local, { replace: false, uploadOnly: true }))).rejects.toThrow(
      /drop one of --upload-only and --no-replace/,
    );
    await expect(deploy(t.opts(local, { replace: 'no' as unknown as boolean }))).rejects.toThrow(ConfigError);
  });
});
