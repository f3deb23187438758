/**
 * Per-operation switches (FIELD.md §1 theme 3 "delete-only", "no delete"; §4 item 8 allow-replace):
 * `--no-replace` (`replace: false`) and `--delete-only` (`deleteOnly`), against ftp-srv in this process.
 * toggles.realservers.test.ts runs the same scenarios on pure-ftpd and vsftpd.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { deploy, type DeployOptions, type DeployReport } from '../src/index.js';
import { assertBuilt, spawnCli, type SpawnResult } from './helpers/cli-spawn.js';
import { ConfigError, GuardError } from '../src/engine/errors.js';
import { pipeline } from 'node:stream/promises';
import gulp from 'gulp';
import { deploy as gulpPlugin, type GulpDeployOptions } from '../gulp-plugin/index.js';
import { actionConnection, actionWorkspace, expectSuccess, runAction } from './helpers/action.js';
import { deployOptions, login, useEmbedded } from './helpers/embedded.js';
import { recorder, sent } from './helpers/protocol.js';
import { snapshot, tmpDir, uniqueName, writeTree } from './helpers/tmp.js';
import { deleteOnlyScenario, noReplaceScenario } from './helpers/toggles.js';

const server = useEmbedded();
const STATE = '.ftpship-state.json';

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
    // No state here: the line about the files not sent speaks of none (was: "the state records what is on the server").
    expect(infos.join('\n')).toMatch(
      /--delete-only: 3 new file\(s\) not uploaded \(a\.txt, b\.txt, index\.html\): they were not sent; a deploy without --delete-only sends them/,
    );
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

  it('--delete-only keeps the excludes the state was made with: a file they left out goes through a temp on the next run (G2)', async () => {
    const t = target();
    const local = tmpDir();
    writeTree(local, { 'index.html': 'i', 'extra.txt': 'new version', 'gone.txt': 'g' });
    await deploy(t.opts(local, { exclude: ['extra.txt'] }));
    writeTree(t.disk, { 'extra.txt': 'live, put there by hand' });
    fs.rmSync(path.join(local, 'gone.txt'));
    const only = await deploy(t.opts(local, { deleteOnly: true }));
    expect(only.files).toEqual([{ path: 'gone.txt', action: 'delete', size: 1 }]);
    const rec = recorder();
    const r = await deploy(t.opts(local), rec);
    expect(r.counts).toMatchObject({ upload: 1 });
    expect(sent(rec.log, 'STOR')).not.toContain(`${t.dir}/extra.txt`);
    expect(sent(rec.log, 'RNTO').filter((p) => !p.includes(STATE))).toEqual([`${t.dir}/extra.txt`]);
  });

  it('--delete-only keeps a file a cut run was sending as uncertain: the next run replaces it through a temp', async () => {
    const t = target();
    const local = tmpDir();
    writeTree(local, { 'index.html': 'i', 'gone.txt': 'g' });
    await deploy(t.opts(local));
    // As a run cut while sending b.txt in place leaves it: part of it live, the state unsure of it.
    const statePath = path.join(t.disk, STATE);
    const state = JSON.parse(fs.readFileSync(statePath, 'utf8')) as Record<string, unknown>;
    fs.writeFileSync(statePath, JSON.stringify({ ...state, pending: { temps: {}, uncertain: ['b.txt'] } }));
    writeTree(t.disk, { 'b.txt': 'part' });
    writeTree(local, { 'b.txt': 'part of it, then the rest' });
    fs.rmSync(path.join(local, 'gone.txt'));
    const only = await deploy(t.opts(local, { deleteOnly: true }));
    expect(only.files).toEqual([{ path: 'gone.txt', action: 'delete', size: 1 }]);
    expect(only.held?.replace).toEqual(['b.txt']);
    const rec = recorder();
    const r = await deploy(t.opts(local), rec);
    expect(r.files).toEqual([{ path: 'b.txt', action: 'replace', size: 25 }]);
    expect(sent(rec.log, 'RNTO').filter((p) => !p.includes(STATE))).toEqual([`${t.dir}/b.txt`]);
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
    // ftp-deploy's name (its PR #20): pointed to this one.
    await expect(
      deploy({ ...t.opts(local), allowReplace: false } as unknown as DeployOptions),
    ).rejects.toThrow('unknown option allowReplace; did you mean replace?');
    await expect(deploy(t.opts(local, { replace: 'no' as unknown as boolean }))).rejects.toThrow(ConfigError);
  });
});

describe('the CLI', () => {
  const url = (dir: string): string => `ftp://${server().user}@${server().host}:${server().port}${dir}`;
  const cli = async (args: string[]): Promise<SpawnResult> =>
    spawnCli(args, { env: { FTPSHIP_PASSWORD: server().password } });

  it('--no-replace and --delete-only: the plan and the summary say what was left; both together with --no-delete or --upload-only: exit 2', async () => {
    assertBuilt();
    const t = target();
    const local = tmpDir();
    writeTree(local, { 'index.html': 'v1', 'old.txt': 'old' });
    expect((await cli(['deploy', local, url(t.dir), '--quiet'])).code).toBe(0);
    writeTree(local, { 'index.html': 'version two', 'new.txt': 'new' });
    fs.rmSync(path.join(local, 'old.txt'));

    const plan = await cli(['plan', local, url(t.dir), '--no-replace']);
    expect(plan.code).toBe(0);
    expect(plan.stderr).toContain('  left    index.html (--no-replace)');
    expect(plan.stderr).toMatch(
      /plan: would upload 1, replace 0, delete 1, .*; 1 changed file\(s\) left as they are \(--no-replace\);/,
    );
    const only = await cli(['deploy', local, url(t.dir), '--delete-only', '--json']);
    expect(only.code).toBe(0);
    expect(only.stderr).toMatch(
      /--delete-only: 1 changed file\(s\) left as they are \(index\.html\); 1 new file/,
    );
    const report = JSON.parse(only.stdout) as DeployReport;
    expect(report.counts).toMatchObject({ upload: 0, replace: 0, delete: 1 });
    expect(report.held).toMatchObject({ replace: ['index.html'], upload: ['new.txt'], by: 'delete-only' });
    expect(fs.readdirSync(t.disk).sort()).toEqual([
      '.ftpship-state.json',
      '.ftpship-state.json.bak',
      'index.html',
    ]);

    for (const [other, words] of [
      ['--no-delete', /drop one of --delete-only and --no-delete/],
      ['--upload-only', /drop one of --delete-only and --upload-only/],
    ] as const) {
      const r = await cli(['deploy', local, url(t.dir), '--delete-only', other]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(words);
    }
  });
});

describe('the Action and the gulp plugin pass the options through', () => {
  it('the Action: `replace: false` leaves the changed file, `delete-only: true` deletes alone; the summary says what was left', async () => {
    const name = uniqueName('toggles');
    const disk = path.join(server().root, name);
    const { ws, site } = actionWorkspace({ 'index.html': 'v1', 'old.txt': 'old' });
    const conn = actionConnection(server(), `${name}/`);
    expectSuccess(await runAction(ws, conn));
    writeTree(site, { 'index.html': 'version two', 'new.txt': 'new' });

    const kept = await runAction(ws, { ...conn, replace: 'false', 'dry-run': 'true' });
    expectSuccess(kept);
    expect(kept.outputs).toMatchObject({ uploaded: '1', replaced: '0' });
    expect(kept.summary).toContain(
      '1 changed file(s) left as they are (`replace: false`): they would not be sent',
    );
    fs.rmSync(path.join(site, 'old.txt'));
    const only = await runAction(ws, { ...conn, 'delete-only': 'true' });
    expectSuccess(only);
    expect(only.outputs).toMatchObject({ uploaded: '0', replaced: '0', deleted: '1' });
    expect(only.summary).toContain(
      '1 changed file(s), 1 new file(s) left as they are (the `delete-only` input): not sent',
    );
    expect(fs.readdirSync(disk).sort()).toEqual([
      '.ftpship-state.json',
      '.ftpship-state.json.bak',
      'index.html',
    ]);
    expect(fs.readFileSync(path.join(disk, 'index.html'), 'utf8')).toBe('v1');
  });

  it('gulp: `replace: false` and `deleteOnly`', async () => {
    const dir = `/${uniqueName('toggles')}`;
    const disk = path.join(server().root, dir);
    const local = tmpDir();
    writeTree(local, { 'index.html': 'v1', 'old.txt': 'old' });
    const gulpDeploy = async (extra: Partial<GulpDeployOptions>): Promise<DeployReport> => {
      let report: DeployReport | undefined;
      const stream = gulpPlugin({
        ...login(server()),
        remoteDir: dir,
        retryDelayMs: 10,
        quiet: true,
        ...extra,
        onReport: (r) => (report = r),
      });
      await pipeline(gulp.src('**/*', { cwd: local, dot: true, encoding: false }), stream);
      return report as DeployReport;
    };
    await gulpDeploy({});
    writeTree(local, { 'index.html': 'version two', 'new.txt': 'new' });
    const kept = await gulpDeploy({ replace: false });
    expect(kept.counts).toMatchObject({ upload: 1, replace: 0 });
    expect(kept.held?.replace).toEqual(['index.html']);
    expect(fs.readFileSync(path.join(disk, 'index.html'), 'utf8')).toBe('v1');
    fs.rmSync(path.join(local, 'old.txt'));
    writeTree(local, { 'later.txt': 'later' });
    const only = await gulpDeploy({ deleteOnly: true });
    expect(only.counts).toMatchObject({ upload: 0, replace: 0, delete: 1 });
    expect(fs.readdirSync(disk).sort()).toEqual([
      '.ftpship-state.json',
      '.ftpship-state.json.bak',
      'index.html',
      'new.txt',
    ]);
    await expect(gulpDeploy({ deleteOnly: true, delete: false })).rejects.toThrow(
      /drop one of deleteOnly and delete: false/,
    );
  });
});
