/**
 * A mutation audit of src/engine/deploy.ts (the deploy's orchestration: state read, spot check, lock, plan,
 * guards, dry run, report): behaviours no other test pinned, each test written to fail with one mutant of
 * deploy.ts applied. ftp-srv in-process, deploy() called directly.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ConfigError, deploy, GuardError, type DeployOptions } from '../src/index.js';
import { deployOptions, useEmbedded } from './helpers/embedded.js';
import { expectNothingChanged, recorder, sent } from './helpers/protocol.js';
import { fdaState, readTree, sha256, tmpDir, uniqueName, writeTree } from './helpers/tmp.js';

const STATE = '.ftpship-state.json';
const FDA_STATE = '.ftp-deploy-sync-state.json';

const server = useEmbedded();

const opts = (localDir: string, remoteDir: string, extra: Partial<DeployOptions> = {}): DeployOptions =>
  deployOptions(server(), localDir, remoteDir, extra);
const disk = (dir: string): string => path.join(server().root, dir);
const stateOf = (dir: string): { files: Record<string, unknown>; ftpDeployAction?: unknown } =>
  JSON.parse(fs.readFileSync(path.join(disk(dir), STATE), 'utf8')) as {
    files: Record<string, unknown>;
    ftpDeployAction?: unknown;
  };

/** `n` files named f1.txt … fn.txt. */
const files = (n: number, from = 1): Record<string, string> =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${from + i}.txt`, `file ${from + i}`]));

describe('deploy.ts audit: the partial-stream guard at its bounds (a stream: the gulp plugin)', () => {
  /** A first deploy of `deployed` files, then the local folder holding only `now` (a stream carrying it). */
  async function streamAfter(
    deployed: Record<string, string>,
    now: Record<string, string>,
    extra: Partial<DeployOptions> = {},
  ): Promise<{ dir: string; local: string; result: Promise<unknown> }> {
    const local = tmpDir();
    writeTree(local, deployed);
    const dir = `/${uniqueName('x-daudit')}`;
    await deploy(opts(local, dir, extra), {}, { stream: true });
    fs.rmSync(local, { recursive: true });
    writeTree(local, now);
    return { dir, local, result: deploy(opts(local, dir, extra), {}, { stream: true }) };
  }

  it('exactly four deletions (the least that trips it), a stream carrying 3 of 7 deployed files: refused, nothing deleted', async () => {
    const { dir, result } = await streamAfter(files(7), files(3));
    const err = await result.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GuardError);
    expect((err as Error).message).toMatch(
      /^only 3 files reached ftpship, of the 7 it deployed to this target, so the plan would delete 4 of them/,
    );
    expect(readTree(disk(dir), [STATE])).toEqual(
      Object.fromEntries(Object.entries(files(7)).map(([p, c]) => [p, sha256(c)])),
    );
  });

  it('a plan deleting exactly half of the deployed files (4 of 8, two more kept by --keep) goes through', async () => {
    const deployed = { ...files(6), 'k/1.txt': 'k1', 'k/2.txt': 'k2' };
    const { dir, result } = await streamAfter(deployed, files(2), { keep: ['k/**'] });
    await expect(result).resolves.toMatchObject({ counts: expect.objectContaining({ delete: 4 }) });
    expect(Object.keys(readTree(disk(dir), [STATE])).sort()).toEqual([
      'f1.txt',
      'f2.txt',
      'k/1.txt',
      'k/2.txt',
    ]);
  });

  it('a stream carrying exactly half as many files as were deployed (3 kept and 1 new of 8) goes through', async () => {
    const { dir, local, result } = await streamAfter(files(8), { ...files(3), 'new.txt': 'new' });
    await expect(result).resolves.toMatchObject({
      counts: expect.objectContaining({ delete: 5, upload: 1 }),
    });
    expect(readTree(disk(dir), [STATE])).toEqual(readTree(local));
  });
});

describe('deploy.ts audit: the lock as the spot check sees it', () => {
  it('a dry run while another deploy holds the lock warns that a deploy now would be refused, and changes nothing', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'v1' });
    const dir = `/${uniqueName('x-daudit')}`;
    await deploy(opts(local, dir));
    writeTree(local, { 'index.html': 'v2' });
    fs.mkdirSync(path.join(disk(dir), `${STATE}.lock`));

    const rec = recorder();
    const r = await deploy(opts(local, dir, { dryRun: true }), rec);
    expect(r.counts).toMatchObject({ replace: 1 });
    expect(rec.warnings).toEqual([
      `another deploy holds the lock ${dir}/${STATE}.lock (or one that was killed left it): a deploy now would be refused (exit 3); this plan may be out of date once that deploy has finished`,
    ]);
    expectNothingChanged(rec.log);
    expect(fs.statSync(path.join(disk(dir), `${STATE}.lock`)).isDirectory()).toBe(true);
  });

  it('a deploy with nothing to do, no lock on the server: the lock is looked for once, in the spot check, and nothing else', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'v1', 'a/b.txt': 'b' });
    const dir = `/${uniqueName('x-daudit')}`;
    await deploy(opts(local, dir));
    const state = fs.readFileSync(path.join(disk(dir), STATE), 'utf8');

    const rec = recorder();
    const r = await deploy(opts(local, dir), rec);
    expect(r.files).toEqual([]);
    const lookups = rec.log.filter((l) => l.startsWith('> ') && l.includes(`${STATE}.lock`));
    expect(lookups).toEqual([`> CWD ${dir}/${STATE}.lock`]);
    expectNothingChanged(rec.log);
    expect(fs.readFileSync(path.join(disk(dir), STATE), 'utf8')).toBe(state);
  });
});

describe("deploy.ts audit: FTP-Deploy-Action's state after the switch", () => {
  it("its state file deleted (as the README says) and nothing else changed: the next deploy drops it from ftpship's state, and later ones no longer look for it", async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'one', 'b.txt': 'b' });
    const dir = `/${uniqueName('x-daudit')}`;
    const fda = fdaState({ 'index.html': 'one', 'b.txt': 'b' });
    writeTree(disk(dir), { 'index.html': 'one', 'b.txt': 'b', [FDA_STATE]: fda });
    // The switch: FTP-Deploy-Action's state read, nothing sent; ftpship's state notes that tool's file.
    const first = await deploy(opts(local, dir));
    expect(first.counts).toMatchObject({ upload: 0, replace: 0, unchanged: 2 });
    expect(stateOf(dir).ftpDeployAction).toBeDefined();

    fs.rmSync(path.join(disk(dir), FDA_STATE));
    const rec = recorder();
    const second = await deploy(opts(local, dir), rec);
    expect(second.files).toEqual([]);
    expect(stateOf(dir).ftpDeployAction).toBeUndefined();
    expect(Object.keys(stateOf(dir).files).sort()).toEqual(['b.txt', 'index.html']);

    const third = recorder();
    await deploy(opts(local, dir), third);
    expect(third.log.filter((l) => l.startsWith('> ') && l.includes(FDA_STATE))).toEqual([]);
  });
});

describe('deploy.ts audit: a first deploy onto a folder that holds files', () => {
  it('no state, the target holding one file another tool put there: warned (sent again, nothing deleted), and that file stays', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'new home' });
    const dir = `/${uniqueName('x-daudit')}`;
    writeTree(disk(dir), { 'old.html': 'by hand' });

    const rec = recorder();
    const r = await deploy(opts(local, dir), rec);
    expect(r.counts).toMatchObject({ upload: 1, delete: 0 });
    expect(rec.warnings).toHaveLength(1);
    expect(rec.warnings[0]).toMatch(
      new RegExp(
        `^no state file at ${dir}/\\${STATE}, but ${dir} already holds old\\.html: this deploy sends every file again and deletes nothing there`,
      ),
    );
    expect(readTree(disk(dir), [STATE])).toEqual({
      'index.html': sha256('new home'),
      'old.html': sha256('by hand'),
    });
  });
});

describe('deploy.ts audit: a cut run and the spot check', () => {
  it('no state, the target holding only a temporary file a cut first deploy left: no warning that it holds files', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home' });
    const dir = `/${uniqueName('x-daudit')}`;
    const temp = '.ftpship-0123456789abcdef0123.tmp';
    writeTree(disk(dir), { [temp]: 'part of a cut upload' });

    const rec = recorder();
    const r = await deploy(opts(local, dir), rec);
    expect(r.counts).toMatchObject({ upload: 1 });
    expect(rec.warnings).toEqual([]);
  });

  it('one file the state lists deleted by hand on the server (one off in the spot check): every file is checked, and that one is sent again', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home', 'a.txt': 'a', 'b.txt': 'b' });
    const dir = `/${uniqueName('x-daudit')}`;
    await deploy(opts(local, dir));
    fs.rmSync(path.join(disk(dir), 'a.txt'));

    const rec = recorder();
    const r = await deploy(opts(local, dir), rec);
    expect(rec.warnings[0]).toMatch(
      /^1 of a few files the state lists, looked at before trusting it, are missing or changed on the server/,
    );
    expect(rec.warnings).toContain(
      'drift: a.txt is missing on the server, the state says 1; it will be uploaded again',
    );
    expect(r.counts).toMatchObject({ upload: 1 });
    expect(readTree(disk(dir), [STATE])).toEqual(readTree(local));
  });
});

describe('deploy.ts audit: --adopt with --no-replace', () => {
  it('a file on the server with other content than the local one: refused before anything is sent (the state could not say what it holds)', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home', 'page.html': 'new page' });
    const dir = `/${uniqueName('x-daudit')}`;
    writeTree(disk(dir), { 'index.html': 'home', 'page.html': 'old page' });

    const rec = recorder();
    const err = await deploy(opts(local, dir, { adopt: true, replace: false }), rec).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(
      /^--adopt found 1 file\(s\) on the server that differ from the local ones \(or could not be compared\): page\.html\. --no-replace would keep them/,
    );
    expectNothingChanged(rec.log);
    expect(fs.existsSync(path.join(disk(dir), STATE))).toBe(false);
    expect(readTree(disk(dir))).toEqual({ 'index.html': sha256('home'), 'page.html': sha256('old page') });
  });
});

describe('deploy.ts audit: files newly excluded', () => {
  it('one deployed file now matching --exclude: said (left on the server, no longer tracked), and dropped from the state', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home', 'old.txt': 'old' });
    const dir = `/${uniqueName('x-daudit')}`;
    await deploy(opts(local, dir));

    const infos: string[] = [];
    const r = await deploy(opts(local, dir, { exclude: ['old.txt'] }), { info: (m) => infos.push(m) });
    expect(r.files).toEqual([]);
    expect(infos).toContain(
      '1 file(s) deployed earlier now match --exclude (old.txt): left on the server and no longer tracked; delete them by hand if they should go',
    );
    expect(Object.keys(stateOf(dir).files)).toEqual(['index.html']);
    expect(readTree(disk(dir), [STATE])).toEqual({ 'index.html': sha256('home'), 'old.txt': sha256('old') });
  });
});

describe('deploy.ts audit: the state of a deploy inside this one', () => {
  it('a state file of a deploy inside this one that this deploy once sent (an earlier version did), gone locally: left alone quietly, not warned of as an orphan of another deploy', async () => {
    const inner = tmpDir();
    writeTree(inner, { 'index.html': 'the blog' });
    const dir = `/${uniqueName('x-daudit')}`;
    await deploy(opts(inner, `${dir}/blog`));
    const innerState = fs.readFileSync(path.join(disk(dir), 'blog', STATE), 'utf8');
    const outer = tmpDir();
    writeTree(outer, { 'index.html': 'home' });
    await deploy(opts(outer, dir));
    // As an earlier version left it: the outer state lists the inner deploy's state, sent as a file.
    const outerState = path.join(disk(dir), STATE);
    const listed = JSON.parse(fs.readFileSync(outerState, 'utf8')) as { files: Record<string, unknown> };
    listed.files[`blog/${STATE}`] = { size: Buffer.byteLength(innerState), sha256: sha256(innerState) };
    fs.writeFileSync(outerState, JSON.stringify(listed));

    const rec = recorder();
    const r = await deploy(opts(outer, dir), rec);
    expect(r.files).toEqual([]);
    expect(rec.warnings).toEqual([]);
    expect(sent(rec.log, 'DELE')).toEqual([]);
    expect(fs.readFileSync(path.join(disk(dir), 'blog', STATE), 'utf8')).toBe(innerState);
  });
});

describe("deploy.ts audit: FTP-Deploy-Action's state older than the files", () => {
  it("ftpship's own state deleted by hand: a file written on the server after that tool's state is dropped from it, sent again, and said as such", async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'aaa', 'b.txt': 'b' });
    const dir = `/${uniqueName('x-daudit')}`;
    const fda = fdaState({ 'a.txt': 'aaa', 'b.txt': 'b' });
    writeTree(disk(dir), { 'a.txt': 'aaa', 'b.txt': 'b', [FDA_STATE]: fda });
    // That tool's last deploy, an hour ago: its files, then its state (written last).
    const hourAgo = Date.now() / 1000 - 3600;
    for (const f of ['a.txt', 'b.txt']) fs.utimesSync(path.join(disk(dir), f), hourAgo - 10, hourAgo - 10);
    fs.utimesSync(path.join(disk(dir), FDA_STATE), hourAgo, hourAgo);
    expect((await deploy(opts(local, dir))).files).toEqual([]);
    // ftpship sends a change of the same size; its state is then deleted by hand, and the change reverted.
    writeTree(local, { 'a.txt': 'bbb' });
    await deploy(opts(local, dir));
    fs.rmSync(path.join(disk(dir), STATE));
    writeTree(local, { 'a.txt': 'aaa' });

    const infos: string[] = [];
    const r = await deploy(opts(local, dir), { info: (m) => infos.push(m), warn: () => undefined });
    expect(r.files.map((f) => `${f.action} ${f.path}`)).toEqual(['replace a.txt']);
    expect(infos).toContain(
      "1 file(s) written on the server after FTP-Deploy-Action's last deploy went up again through a temporary name: 0 not on the server (counted as uploads), 1 there (counted as replaced)",
    );
    expect(readTree(disk(dir), [STATE, FDA_STATE])).toEqual(readTree(local));
  });
});
