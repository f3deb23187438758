/**
 * `--upload-only` (Action `upload-only`, library `uploadOnly`): upload every file, keep no state on the server,
 * delete nothing (FIELD.md complaint 13: "just upload, no sync", FTP-Deploy-Action #324, #424). ftp-srv
 * in-process; deploy.realservers.test.ts repeats it over folders and files that already exist on pure-ftpd,
 * vsftpd and proftpd (MKD of an existing folder answers 550 there, and the rename replaces).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { deploy, type DeployOptions } from '../src/index.js';
import { ConfigError, GuardError } from '../src/engine/errors.js';
import { deployOptions, useEmbedded } from './helpers/embedded.js';
import { recorder, sent } from './helpers/protocol.js';
import { readTree, snapshot, tmpDir, uniqueName, writeTree } from './helpers/tmp.js';

const server = useEmbedded();

const STATE = '.ftpship-state.json';
const opts = (localDir: string, remoteDir: string, extra: Partial<DeployOptions> = {}): DeployOptions =>
  deployOptions(server(), localDir, remoteDir, { uploadOnly: true, ...extra });

function site(): { local: string; dir: string; disk: string } {
  const local = tmpDir();
  writeTree(local, { 'index.html': 'v1', 'css/site.css': 'body{}', 'js/deep/app.js': 'app()' });
  const dir = `/${uniqueName()}`;
  return { local, dir, disk: path.join(server().root, dir) };
}

describe('upload-only', () => {
  it('uploads every file on every run, through a temp; writes no state, deletes nothing, leaves no lock or temp', async () => {
    const { local, dir, disk } = site();
    writeTree(disk, { 'theirs.txt': 'uploaded by someone else', 'index.html': 'older' });
    const rec = recorder();
    const first = await deploy(opts(local, dir), rec);
    expect(first.counts).toMatchObject({ upload: 3, replace: 0, delete: 0, unchanged: 0 });
    expect(readTree(disk, ['theirs.txt'])).toEqual(readTree(local)); // no state, no lock, no temp
    expect(fs.readFileSync(path.join(disk, 'theirs.txt'), 'utf8')).toBe('uploaded by someone else');
    // Each file went to a temp and was renamed over its name (the server may hold an older copy).
    expect(sent(rec.log, 'RNTO').sort()).toEqual(
      ['css/site.css', 'index.html', 'js/deep/app.js'].map((f) => `${dir}/${f}`),
    );
    // Never reads or writes a state (the deploy lock, a folder beside where it would be, is taken and removed).
    const stateFile = (p: string): boolean => p.includes(STATE) && !p.includes(`${STATE}.lock/`);
    expect(sent(rec.log, 'RETR').filter(stateFile)).toEqual([]);
    expect(sent(rec.log, 'STOR').filter(stateFile)).toEqual([]);

    // Unchanged files go up again (nothing is compared), a file gone locally stays on the server.
    fs.rmSync(path.join(local, 'css/site.css'));
    fs.writeFileSync(path.join(local, 'index.html'), 'v2');
    const again = await deploy(opts(local, dir));
    expect(again.counts).toMatchObject({ upload: 2, delete: 0, unchanged: 0 });
    expect(again.bytes.sent).toBe(2 + 'app()'.length);
    expect(fs.readFileSync(path.join(disk, 'index.html'), 'utf8')).toBe('v2');
    expect(fs.readFileSync(path.join(disk, 'css/site.css'), 'utf8')).toBe('body{}');
    expect(fs.readdirSync(disk).sort()).toEqual(['css', 'index.html', 'js', 'theirs.txt']);
  });

  it('--no-atomic writes each file in place (no temp, no rename)', async () => {
    const { local, dir, disk } = site();
    const rec = recorder();
    await deploy(opts(local, dir, { atomic: false }), rec);
    expect(sent(rec.log, 'RNTO')).toEqual([]);
    expect(
      sent(rec.log, 'STOR')
        .filter((p) => !p.includes(STATE))
        .sort(),
    ).toEqual(['css/site.css', 'index.html', 'js/deep/app.js'].map((f) => `${dir}/${f}`));
    expect(readTree(disk)).toEqual(readTree(local));
  });

  it('a dry run lists every file as an upload and touches nothing', async () => {
    const { local, dir, disk } = site();
    writeTree(disk, { 'index.html': 'older' });
    const before = snapshot(disk);
    const rec = recorder();
    const r = await deploy(opts(local, dir, { dryRun: true }), rec);
    expect(r.files.filter((f) => f.action === 'upload').map((f) => f.path)).toEqual([
      'index.html',
      'css/site.css',
      'js/deep/app.js',
    ]);
    expect(snapshot(disk)).toEqual(before);
    expect(sent(rec.log, 'MKD')).toEqual([]);
  });

  it('is refused, changing nothing, where ftpship keeps a state (the run would leave it out of date)', async () => {
    const { local, dir, disk } = site();
    await deploy(deployOptions(server(), local, dir));
    fs.writeFileSync(path.join(local, 'index.html'), 'v2');
    const before = snapshot(disk);
    const err = await deploy(opts(local, dir)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GuardError);
    expect((err as Error).message).toContain(`${dir}/${STATE}`);
    expect((err as Error).message).toMatch(/without --upload-only/);
    expect(snapshot(disk)).toEqual(before);
    // The deploy with the state still sees the change (the state was not left stale).
    const normal = await deploy(deployOptions(server(), local, dir));
    expect(normal.counts).toMatchObject({ replace: 1, unchanged: 2 });
  });

  it.each([['adopt'], ['verify'], ['resetState']] as const)(
    'cannot be combined with %s: a configuration error naming both, before connecting',
    async (option) => {
      const { local, dir } = site();
      const rec = recorder();
      const err = await deploy(opts(local, dir, { [option]: true }), rec).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      const flag = option === 'resetState' ? '--reset-state' : `--${option}`;
      expect((err as Error).message).toContain(`drop one of --upload-only and ${flag}`);
      expect(rec.log).toEqual([]);
    },
  );
});
