/**
 * A doctored or damaged state never reaches outside the target (G3) and never deletes a live file as a
 * temp: every path it lists is checked when it is read, and a bad one makes the state unreadable (exit 1,
 * nothing changed). The same for local paths that are not plain paths inside the folder, and two local
 * names that are one name in NFC. Server: ftp-srv in this process.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ConfigError, deploy, type DeployOptions } from '../src/index.js';
import { tempPathFor } from '../src/engine/plan.js';
import { emptyState, parseState } from '../src/engine/state.js';
import { deployOptions, useEmbedded } from './helpers/embedded.js';
import { snapshot, tmpDir, uniqueName, writeTree } from './helpers/tmp.js';

const server = useEmbedded();
const STATE = '.ftpship-state.json';

/** A state as JSON gives it: edited freely, into shapes the type would not allow. */
type Raw = { files: Record<string, unknown>; dirs: unknown[]; pending?: unknown; version?: unknown };

/** A deployed target, a victim file beside it (outside the target), and the state's path on disk. */
async function deployed(): Promise<{ local: string; opts: DeployOptions; disk: string; statePath: string }> {
  const local = tmpDir();
  writeTree(local, { 'index.html': 'home', 'a/b.txt': 'b' });
  const base = uniqueName('trust');
  const opts = deployOptions(server(), local, `${base}/site`);
  await deploy(opts);
  const disk = path.join(server().root, base);
  writeTree(disk, { 'victim/keep.txt': 'precious' });
  return { local, opts, disk, statePath: path.join(disk, 'site', STATE) };
}

function edit(statePath: string, change: (s: Raw) => void): void {
  const s = JSON.parse(fs.readFileSync(statePath, 'utf8')) as Raw;
  change(s);
  fs.writeFileSync(statePath, JSON.stringify(s));
}

async function failure(opts: DeployOptions): Promise<Error & { exitCode?: number }> {
  return (await deploy(opts).then(
    () => new Error('the deploy succeeded'),
    (e: unknown) => e,
  )) as Error & { exitCode?: number };
}

describe('a state listing paths outside the target, or not paths at all', () => {
  const cases: Array<[string, (s: Raw) => void, string]> = [
    [
      'a file entry with ..',
      (s) => (s.files['../victim/keep.txt'] = { size: 8, sha256: '0'.repeat(64) }),
      '../victim/keep.txt',
    ],
    [
      'an absolute file entry',
      (s) => (s.files['/victim/keep.txt'] = { size: 8, sha256: '0'.repeat(64) }),
      '/victim/keep.txt',
    ],
    ['a folder ..', (s) => s.dirs.push('..'), '".."'],
    ['a folder reached through a backslash', (s) => s.dirs.push('a\\..\\..'), 'a\\\\..\\\\..'],
    [
      'an uncertain path with ..',
      (s) => (s.pending = { temps: {}, uncertain: ['../victim/keep.txt'] }),
      '../victim/keep.txt',
    ],
    [
      'a maintenance marker outside',
      (s) => (s.pending = { temps: {}, uncertain: [], maintenance: '../victim/keep.txt' }),
      '../victim/keep.txt',
    ],
    [
      "a maintenance marker's folder outside",
      (s) => (s.pending = { temps: {}, uncertain: [], maintenance: '.m', markerDirs: ['../victim'] }),
      '../victim',
    ],
    [
      'a live file recorded as a temp',
      (s) =>
        (s.pending = { temps: { 'index.html': { path: 'index.html', size: 4, sha256: '' } }, uncertain: [] }),
      'index.html',
    ],
    [
      "a live file recorded as a name test's file",
      (s) => (s.pending = { temps: {}, uncertain: [], probes: ['index.html'] }),
      '"index.html"',
    ],
    [
      "a name test's file outside",
      (s) =>
        (s.pending = { temps: {}, uncertain: [], probes: ['../victim/ftpship-name-test-0123456789ab.'] }),
      '../victim/ftpship-name-test-0123456789ab.',
    ],
    ['a folder that is not a string', (s) => s.dirs.push(null), 'null'],
    ['a folder that is an object', (s) => s.dirs.push({ x: 1 }), '{"x":1}'],
    ['a temp entry that is a number', (s) => (s.pending = { temps: { x: 5 }, uncertain: [] }), '"x"'],
    ['an uncertain path that is a number', (s) => (s.pending = { temps: {}, uncertain: [7] }), '7'],
  ];
  it.each(cases)(
    '%s: unreadable state (exit 1, names it), nothing on the server changed',
    async (_, change, named) => {
      const { opts, disk, statePath } = await deployed();
      edit(statePath, change);
      const before = snapshot(disk);
      const err = await failure(opts);
      expect(err.exitCode).toBe(1);
      expect(err.message).toContain(`the state file /${path.basename(disk)}/site/${STATE} is unreadable`);
      expect(err.message).toContain(named);
      expect(err.message).toContain('--reset-state');
      expect(snapshot(disk)).toEqual(before);
    },
  );

  it('a state from a newer ftpship: says to upgrade, not to re-seed; nothing changed', async () => {
    const { opts, disk, statePath } = await deployed();
    edit(statePath, (s) => (s.version = 2));
    const before = snapshot(disk);
    const err = await failure(opts);
    expect(err.exitCode).toBe(1);
    expect(err.message).toMatch(/written by a newer ftpship \(state version 2\).*Upgrade ftpship/);
    expect(err.message).not.toContain('--reset-state');
    expect(snapshot(disk)).toEqual(before);
  });

  it("--state naming the state of a deploy to a folder inside the target (/site/blog's, given to /site): refused, nothing changed (was: read as this deploy's, then written over)", async () => {
    const base = uniqueName('trust-nest');
    const blog = tmpDir();
    writeTree(blog, { 'index.html': 'the blog', 'post/1.html': 'first post' });
    await deploy(deployOptions(server(), blog, `${base}/site/blog`));
    const site = tmpDir();
    writeTree(site, { 'index.html': 'home', 'about.html': 'about' });
    const disk = path.join(server().root, base);
    const before = snapshot(disk);
    const err = await failure(deployOptions(server(), site, `${base}/site`, { statePath: `blog/${STATE}` }));
    expect(err.exitCode).toBe(3);
    expect(err.message).toBe(
      `the state file /${base}/site/blog/${STATE} is the state of the deploy to /${base}/site/blog (it records that ` +
        `folder, and lies in it), not of this one to /${base}/site: sharing it would delete and overwrite each other's ` +
        `files. Nothing was changed. Give this deploy its own --state (or none: it then keeps /${base}/site/${STATE}).`,
    );
    expect(snapshot(disk)).toEqual(before);
  });

  it("FTP-Deploy-Action's state naming a path outside: unreadable, nothing changed", async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home' });
    const base = uniqueName('trust-fda');
    const disk = path.join(server().root, base);
    writeTree(disk, {
      'victim/keep.txt': 'precious',
      'site/.ftp-deploy-sync-state.json': JSON.stringify({
        description: 'FTP-Deploy-Action',
        version: '1.0.0',
        generatedTime: 1,
        data: [{ type: 'file', name: '../victim/keep.txt', size: 8, hash: '0'.repeat(64) }],
      }),
    });
    const before = snapshot(disk);
    const err = await failure(deployOptions(server(), local, `${base}/site`));
    expect(err.exitCode).toBe(1);
    expect(err.message).toContain('.ftp-deploy-sync-state.json is unreadable');
    expect(err.message).toContain('../victim/keep.txt');
    expect(snapshot(disk)).toEqual(before);
  });

  it("FTP-Deploy-Action's state cut short (not JSON): named as that tool's file, with its ways out, not --state (was: 'give --state another path')", async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home' });
    const base = uniqueName('trust-fda-cut');
    const disk = path.join(server().root, base);
    writeTree(disk, {
      'index.html': 'home',
      '.ftp-deploy-sync-state.json':
        '{"description":"x","version":"1.0.0","data":[{"type":"file","name":"ind',
    });
    const before = snapshot(disk);
    const err = await failure(deployOptions(server(), local, base));
    expect(err.exitCode).toBe(1);
    expect(err.message).toMatch(
      new RegExp(
        `^FTP-Deploy-Action's state file /${base}/\\.ftp-deploy-sync-state\\.json is unreadable: not JSON \\(.+\\)\\. Nothing was changed\\.`,
      ),
    );
    expect(err.message).toContain('Delete it');
    expect(err.message).toContain('--reset-state');
    expect(err.message).not.toContain('give --state');
    expect(err.message).not.toContain('ftpship did not write it');
    expect(snapshot(disk)).toEqual(before);
  });

  it('the states ftpship writes itself are read again (a plain deploy, then one with a folder and a file swapped)', async () => {
    const { local, opts, statePath } = await deployed();
    fs.rmSync(path.join(local, 'a'), { recursive: true });
    writeTree(local, { a: 'now a file' });
    await deploy(opts);
    const state = JSON.parse(fs.readFileSync(statePath, 'utf8')) as { files: Record<string, unknown> };
    expect(Object.keys(state.files).sort()).toEqual(['a', 'index.html']);
    const r = await deploy(opts);
    expect(r.counts.unchanged).toBe(2);
  });

  it('an entry whose size disagrees with the file while its SHA-256 agrees (edited by hand): the file is sent again, and the state mended', async () => {
    const { opts, statePath, disk } = await deployed();
    edit(statePath, (s) => ((s.files['index.html'] as { size: number }).size = 3));
    fs.writeFileSync(path.join(disk, 'site', 'index.html'), 'hom'); // what the entry's size would fit
    const r = await deploy(opts);
    expect(r.files).toEqual([expect.objectContaining({ path: 'index.html', action: 'replace' })]);
    expect(fs.readFileSync(path.join(disk, 'site', 'index.html'), 'utf8')).toBe('home');
    const state = JSON.parse(fs.readFileSync(statePath, 'utf8')) as Raw;
    expect(state.files['index.html']).toMatchObject({ size: 4 });
    expect((await deploy(opts)).files).toEqual([]);
  });

  it('a name with a backslash inside, and a temp as ftpship names it, are read (ftp-srv cannot store the first)', () => {
    const file = { size: 1, sha256: 'a'.repeat(64) };
    const temp = tempPathFor({ path: 'd/x.txt', sha256: '', stamp: '1:2:3' });
    const text = JSON.stringify({
      ...emptyState('s'),
      files: { 'x\\y.txt': file, 'd/x.txt': file },
      dirs: ['d'],
      pending: {
        temps: { [temp]: { path: 'd/x.txt', size: 1, sha256: '', stamp: '1:2:3' } },
        uncertain: ['d/x.txt'],
      },
    });
    expect(Object.keys(parseState(text, 'here', 's').files)).toEqual(['x\\y.txt', 'd/x.txt']);
  });
});

/**
 * A deploy of `files` (no local folder) over a site holding one file, in a new folder named `prefix`-…: its
 * error, checked to be a ConfigError (exit 2: bad input) that changed nothing on the server.
 */
async function refusedFiles(
  prefix: string,
  files: DeployOptions['files'],
): Promise<Error & { exitCode?: number }> {
  const base = uniqueName(prefix);
  const disk = path.join(server().root, base);
  writeTree(disk, { 'site/old.txt': 'old' });
  const before = snapshot(disk);
  const err = await failure({ ...deployOptions(server(), '', `${base}/site`), localDir: undefined, files });
  expect(err).toBeInstanceOf(ConfigError);
  expect(err.exitCode).toBe(2);
  expect(snapshot(disk)).toEqual(before);
  return err;
}

describe('local paths', () => {
  it.each([['../outside.txt'], ['/abs.txt'], ['a/../../b.txt'], ['a//b.txt'], ['..\\up.txt']])(
    'a file given as %j: refused before any change, naming it (exit 2: bad input, a rerun cannot fix it)',
    async (name) => {
      const err = await refusedFiles('trust-files', [
        { path: 'ok.txt', contents: Buffer.from('ok') },
        { path: name, contents: Buffer.from('x') },
      ]);
      expect(err.message).toContain(JSON.stringify(name.replace(/\\/g, '/')));
      expect(err.message).toMatch(/not a plain path inside the folder/);
    },
  );

  it('two local names that are one in NFC (café.txt composed and decomposed): refused, naming it', async () => {
    const local = tmpDir();
    fs.writeFileSync(path.join(local, 'caf\u00e9.txt'), 'composed');
    fs.writeFileSync(path.join(local, 'cafe\u0301.txt'), 'decomposed, longer');
    const err = await failure(deployOptions(server(), local, uniqueName('trust-nfc')));
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain('two local files would be "caf\u00e9.txt" on the server');
  });

  // Were exit 1 (DeployError), read as "run it again", which cannot help: the list itself is wrong.
  it.each([
    [
      'one in NFC',
      ['caf\u00e9.txt', 'cafe\u0301.txt'],
      'two local files would be "caf\u00e9.txt" on the server',
    ],
    [
      'one with a backslash as /',
      ['a/b.txt', 'a\\b.txt'],
      'two local files would be "a/b.txt" on the server',
    ],
    ['a file and a folder', ['docs', 'docs/a.html'], 'two local files would be "docs" on the server'],
  ])('two files given that are %s: refused before any change (exit 2)', async (_what, names, said) => {
    const err = await refusedFiles(
      'trust-twins',
      names.map((p) => ({ path: p, contents: Buffer.from(p) })),
    );
    expect(err.message).toContain(said);
  });

  // Was exit 1 with "check its permissions": the file is not there, and a rerun does not make it so.
  it('a file given on disk that does not exist: refused before any change (exit 2), naming it', async () => {
    const missing = path.join(tmpDir(), 'gone.html');
    const err = await failure({
      ...deployOptions(server(), '', uniqueName('trust-missing')),
      localDir: undefined,
      files: [{ path: 'index.html', file: missing }],
    });
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(
      `file ${JSON.stringify(missing)} (for "index.html") does not exist; list files that exist`,
    );
  });

  it('a broken symlink and a loop are skipped and said to be so (not "outside the folder")', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home' });
    fs.symlinkSync('nothere', path.join(local, 'broken'));
    fs.symlinkSync('loop2', path.join(local, 'loop1'));
    fs.symlinkSync('loop1', path.join(local, 'loop2'));
    const r = await deploy({ ...deployOptions(server(), local, uniqueName('trust-links')), dryRun: true });
    expect(Object.fromEntries(r.skipped.map((s) => [s.path, s.reason]))).toEqual({
      broken: 'broken symlink, or a loop of links (not followed)',
      loop1: 'broken symlink, or a loop of links (not followed)',
      loop2: 'broken symlink, or a loop of links (not followed)',
    });
  });
});
