/**
 * Issue 4, items 1–5, 7 and 8 (engine side) against ftp-srv in-process: mirror, change detection, orphans,
 * state, dry-run, parallel. Folder/rename behaviour that ftp-srv gets wrong is proven again in
 * deploy.realservers.test.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  CancelledError,
  ConfigError,
  deploy,
  GuardError,
  type DeployOptions,
  type Reporter,
} from '../src/index.js';
import type { EmbeddedServer } from '../src/embedded-server.js';
import { parseTarget } from '../src/url.js';
import { deployOptions, embedded } from './helpers/embedded.js';
import {
  expectNoCwdWhileUploading,
  expectParentsFirst,
  loginsSeen,
  recorder,
  expectNothingChanged,
  sent,
} from './helpers/protocol.js';
import { bytes, readDirs, readTree, sha256, snapshot, tmpDir, uniqueName, writeTree } from './helpers/tmp.js';

let srv: EmbeddedServer;
beforeAll(async () => {
  srv = await embedded();
});
afterAll(async () => {
  await srv.close();
});

const STATE = '.ftpship-state.json';

const opts = (localDir: string, remoteDir: string, extra: Partial<DeployOptions> = {}): DeployOptions =>
  deployOptions(srv, localDir, remoteDir, extra);

function remote(dir: string): string {
  return path.join(srv.root, dir);
}

describe('item 1: first deploy mirrors exactly; a rerun changes nothing', () => {
  it('byte-identical files, every folder created once, parents first; second run uploads nothing and keeps the state untouched', async () => {
    const local = tmpDir();
    writeTree(local, {
      'index.html': '<h1>hi</h1>',
      'a/b/c/deep.txt': 'deep',
      'a/b/sibling.txt': 'sib',
      'a/x/y/z.txt': 'z',
      'img/logo.bin': bytes(300_000),
      'img/icons/i.svg': '<svg/>',
    });
    const dir = `/${uniqueName()}`;
    const rec = recorder();
    const r1 = await deploy(opts(local, dir), rec);
    expect(readTree(remote(dir), [STATE])).toEqual(readTree(local));
    const mkds = sent(rec.log, 'MKD');
    const expectedDirs = ['a', 'a/b', 'a/b/c', 'a/x', 'a/x/y', 'img', 'img/icons'].map((d) => `${dir}/${d}`);
    for (const d of expectedDirs) {
      expect(mkds.filter((m) => m === d)).toHaveLength(1);
      const parent = d.slice(0, d.lastIndexOf('/'));
      if (parent !== dir) expect(mkds.indexOf(parent)).toBeLessThan(mkds.indexOf(d));
    }
    expect(r1.counts).toMatchObject({ mkdir: 7, upload: 6, replace: 0, delete: 0, rmdir: 0, unchanged: 0 });
    expect(r1.bytes.sent).toBe(r1.bytes.planned);

    const statePath = path.join(remote(dir), STATE);
    const before = {
      text: fs.readFileSync(statePath, 'utf8'),
      mtime: fs.statSync(statePath).mtimeMs,
      tree: snapshot(remote(dir)),
    };
    await new Promise((r) => setTimeout(r, 20));
    const rec2 = recorder();
    const r2 = await deploy(opts(local, dir), rec2);
    expect(r2.counts).toEqual({ mkdir: 0, upload: 0, replace: 0, delete: 0, rmdir: 0, unchanged: 6 });
    expect(r2.bytes.sent).toBe(0);
    expect(fs.readFileSync(statePath, 'utf8')).toBe(before.text);
    expect(fs.statSync(statePath).mtimeMs).toBe(before.mtime);
    expect(snapshot(remote(dir))).toEqual(before.tree);
    for (const verb of ['STOR', 'APPE', 'MKD', 'DELE', 'RMD', 'RNFR'])
      expect(sent(rec2.log, verb)).toEqual([]);
  });
});

describe('item 2: change detection by content hash', () => {
  it('same-size edits, new nested folders, deletions, emptied folders, type swaps, odd names, blog/ vs blog-post.html', async () => {
    const local = tmpDir();
    writeTree(local, {
      'same.txt': 'aaaa',
      'old.txt': 'old',
      'gone/only.txt': 'x',
      'gone/deeper/more.txt': 'y',
      swap1: 'I am a file',
      'swap2/x.txt': 'I am in a folder',
      'empty.txt': '',
      '.htaccess': 'Deny from all',
      'sp ace/na me.txt': 'spaces',
      'ünï/ćödé 日本.txt': 'unicode',
      'hash#1.txt': 'hash',
      'pct%20.txt': 'percent',
      'blog/index.html': 'blog',
      'blog-post.html': 'post',
    });
    const dir = `/${uniqueName()}`;
    await deploy(opts(local, dir));
    expect(readTree(remote(dir), [STATE])).toEqual(readTree(local));

    fs.writeFileSync(path.join(local, 'same.txt'), 'bbbb');
    fs.rmSync(path.join(local, 'old.txt'));
    fs.rmSync(path.join(local, 'gone'), { recursive: true });
    fs.rmSync(path.join(local, 'swap1'));
    writeTree(local, { 'swap1/inner.txt': 'now a folder', 'n1/n2/n3/new.txt': 'new', 'empty2.txt': '' });
    fs.rmSync(path.join(local, 'swap2'), { recursive: true });
    fs.writeFileSync(path.join(local, 'swap2'), 'now a file');
    fs.rmSync(path.join(local, 'blog'), { recursive: true });
    fs.writeFileSync(path.join(local, 'hash#1.txt'), 'HASH');

    const rec = recorder();
    const r = await deploy(opts(local, dir), rec);
    expect(readTree(remote(dir), [STATE])).toEqual(readTree(local));
    expect(readDirs(remote(dir))).toEqual(readDirs(local));
    expect(fs.readFileSync(path.join(remote(dir), 'blog-post.html'), 'utf8')).toBe('post');
    const byAction = (a: string): string[] =>
      r.files
        .filter((f) => f.action === a)
        .map((f) => f.path)
        .sort();
    expect(byAction('replace')).toEqual(['hash#1.txt', 'same.txt', 'swap2']);
    expect(byAction('upload')).toEqual(['empty2.txt', 'n1/n2/n3/new.txt', 'swap1/inner.txt']);
    // swap1 (a file that became a folder) is deleted before its folder is made: the report lists it.
    expect(byAction('delete')).toEqual(
      ['blog/index.html', 'gone/deeper/more.txt', 'gone/only.txt', 'old.txt', 'swap1', 'swap2/x.txt'].sort(),
    );
    expect(byAction('rmdir')).toEqual(['blog', 'gone', 'gone/deeper', 'swap2']);
    expect(byAction('mkdir')).toEqual(['n1', 'n1/n2', 'n1/n2/n3', 'swap1']);
    expect(r.counts.unchanged).toBe(6); // empty.txt .htaccess 'sp ace/na me.txt' ünï/… pct%20.txt blog-post.html
    // The state lists exactly the local files with their hashes (G4), and nothing else.
    const state = JSON.parse(fs.readFileSync(path.join(remote(dir), STATE), 'utf8')) as {
      files: Record<string, { sha256: string }>;
      pending?: unknown;
    };
    expect(Object.keys(state.files).sort()).toEqual(Object.keys(readTree(local)).sort());
    for (const [p, f] of Object.entries(state.files))
      expect(f.sha256).toBe(sha256(fs.readFileSync(path.join(local, p))));
    expect(state.pending).toBeUndefined();
    // The replaced files went through temps that no earlier run recorded: sent without asking their size.
    expect(sent(rec.log, 'STOR').filter((p) => p.includes('.ftpship-') && !p.includes(STATE))).toHaveLength(
      3,
    );
    // (The state's own temporary copy is asked for in the spot check's write, at no round trip.)
    expect(sent(rec.log, 'SIZE').filter((p) => p.includes('.ftpship-') && !p.includes(STATE))).toEqual([]);
    // And a rerun is a no-op.
    const again = await deploy(opts(local, dir));
    expect(again.files).toEqual([]);
  });

  it('a folder that only differs by a prefix is unrelated: deleting blog/ keeps blog-post.html and blog2/', async () => {
    const local = tmpDir();
    writeTree(local, { 'blog/a.html': 'a', 'blog-post.html': 'p', 'blog2/b.html': 'b', 'blog.html': 'c' });
    const dir = `/${uniqueName()}`;
    await deploy(opts(local, dir));
    fs.rmSync(path.join(local, 'blog'), { recursive: true });
    const r = await deploy(opts(local, dir));
    expect(r.files.map((f) => `${f.action} ${f.path}`).sort()).toEqual(['delete blog/a.html', 'rmdir blog']);
    expect(readTree(remote(dir), [STATE])).toEqual({
      'blog-post.html': sha256('p'),
      'blog2/b.html': sha256('b'),
      'blog.html': sha256('c'),
    });
  });
});

describe('a first deploy onto a folder that already holds a site (another tool put it there, no state)', () => {
  it('files that may be live there go through a temp and are renamed in (G2); files in new top folders go straight up', async () => {
    const local = tmpDir();
    writeTree(local, {
      'index.html': '<h1>new</h1>',
      'css/site.css': 'body{}',
      'about.html': 'about',
      'js/new.js': 'x()',
    });
    const dir = `/${uniqueName()}`;
    writeTree(remote(dir), { 'index.html': '<h1>old, live</h1>', 'css/site.css': 'old' });
    const rec = recorder();
    await deploy(opts(local, dir), rec);
    expect(readTree(remote(dir), [STATE])).toEqual(readTree(local));
    const stored = sent(rec.log, 'STOR').filter((p) => !p.includes(STATE));
    const renamedTo = sent(rec.log, 'RNTO').filter((p) => !p.includes(STATE));
    expect(renamedTo.sort()).toEqual([`${dir}/css/site.css`, `${dir}/index.html`]);
    expect(stored.filter((p) => !/\.ftpship-[0-9a-f]{20}\.tmp$/.test(p)).sort()).toEqual([
      `${dir}/about.html`,
      `${dir}/js/new.js`,
    ]);
  });

  it('onto an empty or missing folder, new small files go straight up (no temp, no rename)', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'i', 'css/site.css': 'c' });
    const empty = `/${uniqueName()}`;
    fs.mkdirSync(remote(empty));
    for (const dir of [empty, `/${uniqueName()}`]) {
      const rec = recorder();
      await deploy(opts(local, dir), rec);
      expect(sent(rec.log, 'RNTO').filter((p) => !p.includes(STATE))).toEqual([]);
      expect(readTree(remote(dir), [STATE])).toEqual(readTree(local));
    }
  });

  it('a new file of 1 MiB or more goes through a temp (a cut upload can resume); one byte less goes straight up', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'i' });
    const dir = `/${uniqueName()}`;
    await deploy(opts(local, dir));
    const MiB = 1024 * 1024;
    fs.writeFileSync(path.join(local, 'at.bin'), Buffer.alloc(MiB, 1));
    fs.writeFileSync(path.join(local, 'below.bin'), Buffer.alloc(MiB - 1, 2));
    const rec = recorder();
    await deploy(opts(local, dir), rec);
    expect(readTree(remote(dir), [STATE])).toEqual(readTree(local));
    expect(sent(rec.log, 'RNTO').filter((p) => !p.includes(STATE))).toEqual([`${dir}/at.bin`]);
    expect(sent(rec.log, 'STOR').filter((p) => !p.includes(STATE) && !p.endsWith('.tmp'))).toEqual([
      `${dir}/below.bin`,
    ]);
  });
});

describe('new files that may be written over live, untracked ones go through a temp (G2)', () => {
  const TEMP = /\.ftpship-[0-9a-f]{20}\.tmp$/;
  const storedInPlace = (log: string[], dir: string): string[] =>
    sent(log, 'STOR')
      .filter((p) => !p.includes(STATE) && !TEMP.test(p))
      .map((p) => p.slice(dir.length + 1))
      .sort();

  it('an exclude removed: the files it kept out (the server still holds its own copies) are renamed in, not overwritten', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'i', 'uploads/photo.jpg': 'local photo' });
    const dir = `/${uniqueName()}`;
    await deploy(opts(local, dir, { exclude: ['uploads/'] }));
    writeTree(remote(dir), { 'uploads/photo.jpg': 'the CMS copy, live' });
    writeTree(local, { 'news.html': 'n' });
    const rec = recorder();
    await deploy(opts(local, dir), rec);
    expect(readTree(remote(dir), [STATE])).toEqual(readTree(local));
    expect(storedInPlace(rec.log, dir)).toEqual([]);
    expect(sent(rec.log, 'RNTO').filter((p) => !p.includes(STATE))).toEqual(
      expect.arrayContaining([`${dir}/uploads/photo.jpg`, `${dir}/news.html`]),
    );
    // Once the new settings are recorded, new files go straight up again.
    writeTree(local, { 'later.html': 'l' });
    const rec2 = recorder();
    await deploy(opts(local, dir), rec2);
    expect(storedInPlace(rec2.log, dir)).toEqual(['later.html']);
  });

  it('a first deploy onto a populated folder, cancelled: the rerun still sends those files through a temp', async () => {
    const local = tmpDir();
    const files: Record<string, string> = {};
    for (let i = 0; i < 30; i++) files[`f${i}.html`] = `new ${i}`;
    writeTree(local, files);
    const dir = `/${uniqueName()}`;
    const live: Record<string, string> = {};
    for (let i = 0; i < 30; i++) live[`f${i}.html`] = `old, live ${i}`;
    writeTree(remote(dir), live);
    const controller = new AbortController();
    let stored = 0;
    const err = await deploy(
      { ...opts(local, dir, { parallel: 1 }), signal: controller.signal },
      {
        protocol: (line) => {
          if (line.startsWith('> STOR ') && !line.includes(STATE) && ++stored === 3) controller.abort('stop');
        },
      },
    ).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(CancelledError);
    const rec = recorder();
    await deploy(opts(local, dir), rec);
    expect(readTree(remote(dir), [STATE])).toEqual(readTree(local));
    expect(storedInPlace(rec.log, dir)).toEqual([]);
  });
});

describe('item 2: unicode normalisation', () => {
  it('a decomposed (NFD, macOS-style) local name is deployed under its NFC name, once', async () => {
    const local = tmpDir();
    const nfd = 'cafe\u0301/re\u0301sume\u0301.txt';
    writeTree(local, { [nfd]: 'accents' });
    const dir = `/${uniqueName()}`;
    const r = await deploy(opts(local, dir));
    expect(r.files.map((f) => f.path)).toEqual([nfd.split('/')[0].normalize('NFC'), nfd.normalize('NFC')]);
    expect(fs.readFileSync(path.join(remote(dir), nfd.normalize('NFC')), 'utf8')).toBe('accents');
    expect((await deploy(opts(local, dir))).files).toEqual([]);
  });
});

describe('item 3: orphans', () => {
  it('a folder gone locally that holds a --keep file is kept, never planned for removal (dry run and real run)', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'i', 'old/a.txt': 'a', 'old/keep.txt': 'k' });
    const dir = `/${uniqueName()}`;
    await deploy(opts(local, dir));
    fs.rmSync(path.join(local, 'old'), { recursive: true });
    const keep = { keep: ['old/keep.txt'] };
    const dry = await deploy(opts(local, dir, { ...keep, dryRun: true }));
    expect(dry.files.map((f) => `${f.action} ${f.path}`)).toEqual(['delete old/a.txt']);
    const rec = recorder();
    const r = await deploy(opts(local, dir, keep), rec);
    expect(r.files.map((f) => `${f.action} ${f.path}`)).toEqual(['delete old/a.txt']);
    expect(sent(rec.log, 'RMD').filter((p) => !p.includes(STATE))).toEqual([]);
    expect(Object.keys(readTree(remote(dir), [STATE])).sort()).toEqual(['index.html', 'old/keep.txt']);
  });

  it('deletes only what ftpship deployed: remote-only files survive, --keep matches survive, the state survives', async () => {
    const local = tmpDir();
    writeTree(local, {
      'index.html': 'i',
      'a.txt': 'a',
      '.env': 'SECRET=1',
      'uploads/u1.jpg': 'u1',
      'sub/x.txt': 'x',
    });
    const dir = `/${uniqueName()}`;
    await deploy(opts(local, dir, { keep: ['.env', 'uploads/'] }));
    // Files that only exist on the server: never ours.
    writeTree(remote(dir), { 'remote-only.txt': 'r', 'sub/remote-only.txt': 'rs', 'uploads/user.jpg': 'uu' });
    for (const f of ['a.txt', '.env', 'uploads/u1.jpg', 'sub/x.txt']) fs.rmSync(path.join(local, f));
    fs.rmSync(path.join(local, 'sub'), { recursive: true });
    fs.rmSync(path.join(local, 'uploads'), { recursive: true });
    const rec = recorder();
    const r = await deploy(opts(local, dir, { keep: ['.env', 'uploads/'] }), rec);
    expect(
      sent(rec.log, 'DELE')
        .filter((p) => !p.includes(STATE))
        .sort(),
    ).toEqual([`${dir}/a.txt`, `${dir}/sub/x.txt`]);
    expect(
      r.files
        .filter((f) => f.action === 'delete')
        .map((f) => f.path)
        .sort(),
    ).toEqual(['a.txt', 'sub/x.txt']);
    const tree = readTree(remote(dir));
    expect(Object.keys(tree).sort()).toEqual(
      [
        '.env',
        STATE,
        `${STATE}.bak`,
        'index.html',
        'remote-only.txt',
        'sub/remote-only.txt',
        'uploads/u1.jpg',
        'uploads/user.jpg',
      ].sort(),
    );
    // sub/ held a remote-only file: it stays, with a warning, and the deploy still succeeds. The report
    // says it was kept, not removed; the state forgets it, so the next deploy has nothing to do.
    expect(rec.warnings.join('\n')).toMatch(/kept folder sub: .*later deploys leave it alone/);
    expect(r.counts.rmdir).toBe(0);
    expect(r.files.some((f) => f.action === 'rmdir')).toBe(false);
    expect(r.kept.sort()).toEqual(['.env', 'sub', 'uploads', 'uploads/u1.jpg']);
    const mid = snapshot(remote(dir));
    const again = recorder();
    const r2 = await deploy(opts(local, dir, { keep: ['.env', 'uploads/'] }), again);
    expect(r2.files).toEqual([]);
    expect(again.warnings).toEqual([]);
    expect(snapshot(remote(dir))).toEqual(mid); // not even the state was written again
  });

  it('an exclude added after a deploy leaves the deployed files it matches on the server, untracked (FIELD 3: exclude from deletion)', async () => {
    const local = tmpDir();
    writeTree(local, {
      'index.html': 'i',
      'uploads/a/x.jpg': 'x',
      'uploads/y.jpg': 'y',
      'notes.md': 'n',
      'blog/post.html': 'p',
    });
    const dir = `/${uniqueName()}`;
    await deploy(opts(local, dir));
    // The CMS rewrites one upload on the server; the local build no longer ships any of them.
    writeTree(remote(dir), { 'uploads/a/x.jpg': 'edited on the server' });
    fs.rmSync(path.join(local, 'uploads'), { recursive: true });
    fs.rmSync(path.join(local, 'notes.md'));
    fs.rmSync(path.join(local, 'blog'), { recursive: true });
    const before = snapshot(remote(dir));
    const plan = await deploy(opts(local, dir, { dryRun: true, exclude: ['uploads/', '*.md'] }));
    expect(plan.files.map((f) => `${f.action} ${f.path}`).sort()).toEqual([
      'delete blog/post.html',
      'rmdir blog',
    ]);
    expect(snapshot(remote(dir))).toEqual(before);
    const infos: string[] = [];
    const rec = { ...recorder(), info: (m: string) => infos.push(m) };
    const r = await deploy(opts(local, dir, { exclude: ['uploads/', '*.md'] }), rec);
    expect(r.counts).toMatchObject({ delete: 1, rmdir: 1 });
    expect(sent(rec.log, 'DELE').filter((p) => !p.includes(STATE))).toEqual([`${dir}/blog/post.html`]);
    expect(sent(rec.log, 'RMD').filter((p) => !p.includes(STATE))).toEqual([`${dir}/blog`]);
    expect(r.kept.sort()).toEqual(['notes.md', 'uploads', 'uploads/a', 'uploads/a/x.jpg', 'uploads/y.jpg']);
    expect(infos.join('\n')).toMatch(/3 file\(s\) deployed earlier now match --exclude .*no longer tracked/);
    expect(readTree(remote(dir), [STATE])).toEqual({
      'index.html': sha256('i'),
      'notes.md': sha256('n'),
      'uploads/a/x.jpg': sha256('edited on the server'),
      'uploads/y.jpg': sha256('y'),
    });
    const state = JSON.parse(fs.readFileSync(path.join(remote(dir), STATE), 'utf8')) as {
      files: Record<string, unknown>;
      dirs: string[];
    };
    expect(Object.keys(state.files)).toEqual(['index.html']);
    expect(state.dirs).toEqual([]);
    // Untracked now: the next deploy, with or without the exclude, never deletes them.
    expect((await deploy(opts(local, dir, { exclude: ['uploads/', '*.md'] }))).files).toEqual([]);
    const r3 = await deploy(opts(local, dir));
    expect(r3.files).toEqual([]);
    expect(readTree(remote(dir), [STATE])['uploads/a/x.jpg']).toBe(sha256('edited on the server'));
  });

  it("the same with a list of files (the Action's files input): an exclude given with it leaves deployed paths alone", async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'i', 'uploads/a.jpg': 'a' });
    const dir = `/${uniqueName()}`;
    const list = (...paths: string[]): DeployOptions['files'] =>
      paths.map((p) => ({ path: p, file: path.join(local, p) }));
    await deploy({ ...opts(local, dir), localDir: undefined, files: list('index.html', 'uploads/a.jpg') });
    writeTree(remote(dir), { 'uploads/a.jpg': 'rewritten by the CMS' });
    const r = await deploy({
      ...opts(local, dir, { exclude: ['uploads/'] }),
      localDir: undefined,
      files: list('index.html'),
    });
    expect(r.counts).toMatchObject({ delete: 0, rmdir: 0 });
    expect(r.kept.sort()).toEqual(['uploads', 'uploads/a.jpg']);
    expect(fs.readFileSync(path.join(remote(dir), 'uploads/a.jpg'), 'utf8')).toBe('rewritten by the CMS');
  });

  it('never deletes the state file, even under a custom name inside the target', async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a', 'b.txt': 'b' });
    const dir = `/${uniqueName()}`;
    await deploy(opts(local, dir, { statePath: 'private/deploy-state.json' }));
    expect(fs.existsSync(path.join(remote(dir), 'private/deploy-state.json'))).toBe(true);
    fs.rmSync(path.join(local, 'a.txt'));
    fs.rmSync(path.join(local, 'b.txt'));
    // Emptying the folder on purpose takes an explicit --max-delete (an empty local folder is refused).
    const r = await deploy(opts(local, dir, { statePath: 'private/deploy-state.json', maxDelete: 2 }));
    expect(r.counts.delete).toBe(2);
    // And its backup copy (the state as this run read it), beside it.
    expect(Object.keys(readTree(remote(dir)))).toEqual([
      'private/deploy-state.json',
      'private/deploy-state.json.bak',
    ]);
  });

  it('a local file at the state path (a copy of the state, downloaded with the site) is not sent over it, with a warning; a state path naming a local folder is a configuration error', async () => {
    const local = tmpDir();
    writeTree(local, {
      'a.txt': 'a',
      [STATE]: '{\n "version": 1,\n "generator": "ftpship",\n "files": {}\n}',
      'css/x.css': 'x',
    });
    const dir = `/${uniqueName()}`;
    const warnings: string[] = [];
    const r = await deploy(opts(local, dir), { warn: (m) => warnings.push(m) });
    expect(r.files.map((f) => f.path).sort()).toEqual(['a.txt', 'css', 'css/x.css']);
    expect(warnings).toEqual([
      `the local file ${STATE} is not uploaded: ftpship keeps its state at that path on the server; move the state with --state to publish the file`,
    ]);
    const onServer = JSON.parse(fs.readFileSync(path.join(remote(dir), STATE), 'utf8')) as { files: object };
    expect(Object.keys(onServer.files).sort()).toEqual(['a.txt', 'css/x.css']); // ftpship's, not the copy
    // A state path that names a local folder is a configuration error, before any change.
    const err = await deploy(opts(local, `/${uniqueName()}`, { statePath: 'css' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/the state path \/.*\/css is a folder of the local tree \(css\)/);
    // With the state elsewhere, the file is an ordinary one.
    const moved = await deploy(opts(local, `/${uniqueName()}`, { statePath: `/${uniqueName()}-state.json` }));
    expect(moved.files.map((f) => f.path).sort()).toEqual([STATE, 'a.txt', 'css', 'css/x.css']);
  });

  it('a state path or maintenance file inside a local file (meta, with --state meta/s.json) is a configuration error before any change (was: files sent, then "a folder ftpship did not deploy", exit 1, every run)', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'v1', 'meta/x.txt': 'x' });
    const dir = `/${uniqueName()}`;
    await deploy(opts(local, dir, { statePath: 'meta/s.json' }));
    // The folder that holds the state becomes a local file.
    fs.rmSync(path.join(local, 'meta'), { recursive: true });
    writeTree(local, { 'index.html': 'v2', meta: 'now a file' });
    const before = snapshot(remote(dir));
    const rec = recorder();
    const err = await deploy(opts(local, dir, { statePath: 'meta/s.json' }), rec).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe(
      `the state path ${dir}/meta/s.json is inside meta, a file of the local folder, which the server cannot hold as a folder too; give --state another path, such as .ftpship-state.json, or leave the local file out with --exclude '/meta'`,
    );
    expectNothingChanged(rec.log);
    expect(snapshot(remote(dir))).toEqual(before);
    // A first deploy: nothing made, not even the folder for the state.
    const fresh = `/${uniqueName()}`;
    const first = await deploy(opts(local, fresh, { statePath: 'meta/s.json' })).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(ConfigError);
    expect(fs.existsSync(remote(fresh))).toBe(false);
    // The maintenance file alike.
    const marker = await deploy(
      opts(local, dir, { statePath: 'meta2/s.json', maintenance: { path: 'meta/up.html' } }),
    ).catch((e: unknown) => e);
    expect(marker).toBeInstanceOf(ConfigError);
    expect((marker as Error).message).toMatch(
      /^the maintenance file meta\/up\.html is inside meta, a file of the local folder,.* --exclude '\/meta'$/,
    );
    expect(snapshot(remote(dir))).toEqual(before);
  });

  it('--no-delete leaves orphans in place (and still knows they are ours later)', async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a', 'd/b.txt': 'b' });
    const dir = `/${uniqueName()}`;
    await deploy(opts(local, dir));
    fs.rmSync(path.join(local, 'd'), { recursive: true });
    const rec = recorder();
    const r = await deploy(opts(local, dir, { delete: false }), rec);
    expect(r.counts.delete).toBe(0);
    expect(r.counts.rmdir).toBe(0);
    expect(sent(rec.log, 'DELE')).toEqual([]);
    expect(fs.readFileSync(path.join(remote(dir), 'd/b.txt'), 'utf8')).toBe('b');
    const later = await deploy(opts(local, dir));
    expect(later.files.map((f) => `${f.action} ${f.path}`)).toEqual(['delete d/b.txt', 'rmdir d']);
    expect(fs.existsSync(path.join(remote(dir), 'd'))).toBe(false);
  });

  it("FTP-Deploy-Action's state copy in the local folder (never sent) is no upload: with nothing else to do, no lock is taken (was: MKD of the lock, the holder written); alone there, the plan that would empty the site is refused before any lock (was: the lock taken, then refused)", async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a', 'b.txt': 'b' });
    const dir = `/${uniqueName()}`;
    await deploy(opts(local, dir));
    // The copy of its state FTP-Deploy-Action writes into the folder it deploys.
    writeTree(local, { '.ftp-deploy-sync-state.json': '{"description":"x","version":"1.0.0","data":[]}' });
    const before = snapshot(remote(dir));
    const rec = recorder();
    expect((await deploy(opts(local, dir), rec)).files).toEqual([]);
    expectNothingChanged(rec.log);
    // A failed build leaving only that copy.
    fs.rmSync(path.join(local, 'a.txt'));
    fs.rmSync(path.join(local, 'b.txt'));
    const rec2 = recorder();
    const err = (await deploy(opts(local, dir), rec2).catch((e: unknown) => e)) as Error & {
      exitCode: number;
    };
    expect(err.message).toMatch(
      /has no file to publish.*, so the plan would delete all 2 files .*; nothing was changed/,
    );
    expect(err.exitCode).toBe(3);
    expectNothingChanged(rec2.log);
    expect(snapshot(remote(dir))).toEqual(before);
  });

  it('--max-delete N refuses a bigger plan (GuardError, exit code 3) and changes nothing', async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a', 'b.txt': 'b', 'c.txt': 'c' });
    const dir = `/${uniqueName()}`;
    await deploy(opts(local, dir));
    fs.rmSync(path.join(local, 'a.txt'));
    fs.rmSync(path.join(local, 'b.txt'));
    writeTree(local, { 'new.txt': 'n', 'c.txt': 'C' });
    const before = snapshot(remote(dir));
    const rec = recorder();
    const err = (await deploy(opts(local, dir, { maxDelete: 1 }), rec).catch((e: unknown) => e)) as Error & {
      exitCode: number;
    };
    expect(err.exitCode).toBe(3);
    expect(err.message).toMatch(/deletes 2 files, more than --max-delete 1/);
    expect(snapshot(remote(dir))).toEqual(before);
    expectNothingChanged(rec.log);
    // Exactly at the limit is fine.
    const ok = await deploy(opts(local, dir, { maxDelete: 2 }));
    expect(ok.counts.delete).toBe(2);
    // One file over --max-delete 0 is one file; the only file, gone locally, is the one file.
    fs.rmSync(path.join(local, 'new.txt'));
    const one = (await deploy(opts(local, dir, { maxDelete: 0 })).catch((e: unknown) => e)) as Error;
    expect(one.message).toMatch(/^the plan deletes 1 file, more than --max-delete 0;/);
    await deploy(opts(local, dir, { maxDelete: 1 }));
    fs.rmSync(path.join(local, 'c.txt'));
    const last = (await deploy(opts(local, dir)).catch((e: unknown) => e)) as Error;
    expect(last.message).toMatch(
      /so the plan would delete the one file ftpship deployed; nothing was changed/,
    );
  });

  it('G3: a folder that became a file locally, holding a file --keep protects, is refused (GuardError, nothing changed), not deleted with it', async () => {
    const local = tmpDir();
    writeTree(local, { 'docs/a.html': 'a', 'docs/manual.pdf': 'pdf', 'index.html': 'i' });
    const dir = `/${uniqueName()}`;
    await deploy(opts(local, dir));
    fs.rmSync(path.join(local, 'docs'), { recursive: true });
    writeTree(local, { docs: 'now a file' });
    const before = snapshot(remote(dir));
    const rec = recorder();
    const err = (await deploy(opts(local, dir, { keep: ['docs/manual.pdf'] }), rec).catch(
      (e: unknown) => e,
    )) as Error & { exitCode: number };
    expect(err).toBeInstanceOf(GuardError);
    expect(err.exitCode).toBe(3);
    expect(err.message).toMatch(/docs\/manual\.pdf/);
    expect(err.message).toMatch(/--keep/);
    expect(snapshot(remote(dir))).toEqual(before);
    expectNothingChanged(rec.log);
    // Without the keep, the swap goes through: the folder and its files go, the file takes its place.
    await deploy(opts(local, dir));
    expect(fs.readFileSync(path.join(remote(dir), 'docs'), 'utf8')).toBe('now a file');
  });

  it('G3: a folder --keep protects (empty) that became a file locally is refused (GuardError, nothing changed), not removed for it', async () => {
    // The model's sequence: mkdir d; deploy; --keep d; d becomes a file; deploy (was: RMD d, the file in its place).
    const local = tmpDir();
    writeTree(local, { 'index.html': 'i' });
    fs.mkdirSync(path.join(local, 'd'));
    const dir = `/${uniqueName()}`;
    await deploy(opts(local, dir));
    fs.rmSync(path.join(local, 'd'), { recursive: true });
    writeTree(local, { d: 'now a file' });
    const before = snapshot(remote(dir));
    const rec = recorder();
    const err = (await deploy(opts(local, dir, { keep: ['d'] }), rec).catch((e: unknown) => e)) as Error & {
      exitCode: number;
    };
    expect(err).toBeInstanceOf(GuardError);
    expect(err.exitCode).toBe(3);
    expect(err.message).toBe(
      'the local file d replaces a folder on the server that --keep protects, which would be removed to make it; ' +
        'nothing was changed. Rename the local file, or narrow --keep, then deploy again.',
    );
    expect(snapshot(remote(dir))).toEqual(before);
    expectNothingChanged(rec.log);
    // Without the keep, the swap goes through.
    await deploy(opts(local, dir));
    expect(fs.readFileSync(path.join(remote(dir), 'd'), 'utf8')).toBe('now a file');
  });

  it('G3: a file --keep protects that became a folder locally is refused (GuardError, nothing changed), not deleted for it', async () => {
    const local = tmpDir();
    writeTree(local, { 'robots.txt': 'r', 'index.html': 'i' });
    const dir = `/${uniqueName()}`;
    await deploy(opts(local, dir, { keep: ['robots.txt'] }));
    fs.rmSync(path.join(local, 'robots.txt'));
    writeTree(local, { 'robots.txt/a.txt': 'now a folder' });
    const before = snapshot(remote(dir));
    const rec = recorder();
    const err = (await deploy(opts(local, dir, { keep: ['robots.txt'] }), rec).catch(
      (e: unknown) => e,
    )) as Error & { exitCode: number };
    expect(err).toBeInstanceOf(GuardError);
    expect(err.exitCode).toBe(3);
    expect(err.message).toMatch(/robots\.txt.*--keep/);
    expect(snapshot(remote(dir))).toEqual(before);
    expect(fs.readFileSync(path.join(remote(dir), 'robots.txt'), 'utf8')).toBe('r');
    expectNothingChanged(rec.log);
    // Without the keep, the swap goes through: the file goes, the folder takes its place.
    await deploy(opts(local, dir));
    expect(fs.readFileSync(path.join(remote(dir), 'robots.txt/a.txt'), 'utf8')).toBe('now a folder');
  });
});

describe('item 4: state', () => {
  it('is written atomically (temp + rename) after the uploads, and lists the deployed files', async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a', 'b/c.txt': 'c' });
    const dir = `/${uniqueName()}`;
    const rec = recorder();
    await deploy(opts(local, dir), rec);
    const stateAbs = `${dir}/${STATE}`;
    expect(sent(rec.log, 'STOR')).not.toContain(stateAbs);
    expect(sent(rec.log, 'STOR')).toContain(`${stateAbs}.tmp`);
    expect(sent(rec.log, 'RNTO').filter((p) => p === stateAbs).length).toBeGreaterThanOrEqual(1);
    // The final state write comes after every upload.
    const lastRnto = rec.log.lastIndexOf(`> RNTO ${stateAbs}`);
    const lastUpload = Math.max(
      rec.log.indexOf(`> STOR ${dir}/a.txt`),
      rec.log.indexOf(`> STOR ${dir}/b/c.txt`),
    );
    expect(lastRnto).toBeGreaterThan(lastUpload);
    expect(fs.existsSync(path.join(remote(dir), `${STATE}.tmp`))).toBe(false);
    const state = JSON.parse(fs.readFileSync(path.join(remote(dir), STATE), 'utf8')) as {
      files: Record<string, unknown>;
      dirs: string[];
    };
    expect(state.files).toEqual({
      'a.txt': { size: 1, sha256: sha256('a') },
      'b/c.txt': { size: 1, sha256: sha256('c') },
    });
    expect(state.dirs).toEqual(['b']);
  });

  it('can live outside the target folder; the target then holds only the site', async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a', 'b/c.txt': 'c' });
    const name = uniqueName();
    const dir = `/${name}/www`;
    const statePath = `/${name}/private/state/x.json`;
    await deploy(opts(local, dir, { statePath }));
    expect(readTree(remote(dir))).toEqual(readTree(local));
    expect(fs.existsSync(path.join(srv.root, statePath))).toBe(true);
    fs.writeFileSync(path.join(local, 'a.txt'), 'A');
    const r = await deploy(opts(local, dir, { statePath }));
    expect(r.files.map((f) => `${f.action} ${f.path}`)).toEqual(['replace a.txt']);
    expect(readTree(remote(dir))).toEqual(readTree(local));
  });

  it('one state outside two targets (staging and production copied from one workflow) is refused for the second, nothing changed; --reset-state moves it', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'prod', 'old.html': 'old' });
    const name = uniqueName();
    const statePath = `/${name}/private/state.json`;
    await deploy(opts(local, `/${name}/prod`, { statePath }));
    const recorded = JSON.parse(fs.readFileSync(path.join(srv.root, statePath), 'utf8')) as {
      target: string;
    };
    expect(recorded.target).toBe(`/${name}/prod`);
    // Staging: its own files, one of them named like a production file the local tree no longer has.
    fs.rmSync(path.join(local, 'old.html'));
    writeTree(path.join(srv.root, name, 'staging'), { 'old.html': 'staging only', 'x.html': 'x' });
    const before = snapshot(path.join(srv.root, name));
    const err = await deploy(opts(local, `/${name}/staging`, { statePath })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GuardError);
    expect((err as Error).message).toContain(
      `the state file ${statePath} records deploys to /${name}/prod, not to /${name}/staging`,
    );
    expect(snapshot(path.join(srv.root, name))).toEqual(before); // old.html of staging not deleted
    // The site moved on purpose: --reset-state starts the state over for the new target.
    await deploy(opts(local, `/${name}/staging`, { statePath, resetState: true }));
    expect(fs.readFileSync(path.join(srv.root, name, 'staging', 'old.html'), 'utf8')).toBe('staging only');
    const moved = JSON.parse(fs.readFileSync(path.join(srv.root, statePath), 'utf8')) as { target: string };
    expect(moved.target).toBe(`/${name}/staging`);
  });

  it('a state inside its target moves with the folder: a renamed target deploys as before', async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a' });
    const name = uniqueName();
    await deploy(opts(local, `/${name}/old`));
    fs.renameSync(path.join(srv.root, name, 'old'), path.join(srv.root, name, 'new'));
    const r = await deploy(opts(local, `/${name}/new`));
    expect(r.counts).toMatchObject({ unchanged: 1, upload: 0 });
  });

  it('a corrupt state is an error naming the file and --reset-state; nothing changes; --reset-state re-seeds', async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a', 'b.txt': 'b' });
    const dir = `/${uniqueName()}`;
    await deploy(opts(local, dir));
    fs.writeFileSync(path.join(remote(dir), STATE), '{"generator":"ftpship","version":1,"files":'); // cut short
    fs.writeFileSync(path.join(local, 'b.txt'), 'B');
    const before = snapshot(remote(dir));
    const rec = recorder();
    const err = (await deploy(opts(local, dir), rec).catch((e: unknown) => e)) as Error & {
      exitCode: number;
    };
    expect(err.exitCode).toBe(1);
    expect(err.message).toContain(`${dir}/${STATE}`);
    expect(err.message).toContain('--reset-state');
    expect(err.message).not.toContain('\n');
    expect(snapshot(remote(dir))).toEqual(before);
    for (const verb of ['STOR', 'MKD', 'DELE', 'RNFR']) expect(sent(rec.log, verb)).toEqual([]);
    const r = await deploy(opts(local, dir, { resetState: true }));
    expect(r.counts.upload + r.counts.replace).toBe(2);
    expect(readTree(remote(dir), [STATE])).toEqual(readTree(local));
    expect((await deploy(opts(local, dir))).files).toEqual([]);
  });

  it('reads FTP-Deploy-Action state: switching tools re-uploads only what changed', async () => {
    const local = tmpDir();
    writeTree(local, {
      'index.html': 'home',
      'sub/a.txt': 'hello world!',
      'sub/b.txt': 'will change',
      'gone.txt': 'bye',
    });
    const dir = `/${uniqueName()}`;
    // What FTP-Deploy-Action left on the server: the files, and its state.
    writeTree(remote(dir), {
      'index.html': 'home',
      'sub/a.txt': 'hello world!',
      'sub/b.txt': 'will change',
      'gone.txt': 'bye',
    });
    const rec = (p: string, content: string): object => ({
      type: 'file',
      name: p,
      size: Buffer.byteLength(content),
      hash: sha256(content),
    });
    fs.writeFileSync(
      path.join(remote(dir), '.ftp-deploy-sync-state.json'),
      JSON.stringify({
        description:
          'DO NOT DELETE THIS FILE. This file is used to keep track of which files have been synced in the most recent deployment.',
        version: '1.0.0',
        generatedTime: Date.now(),
        data: [
          { type: 'folder', name: 'sub', size: null },
          rec('index.html', 'home'),
          rec('sub/a.txt', 'hello world!'),
          rec('sub/b.txt', 'will change'),
          rec('gone.txt', 'bye'),
        ],
      }),
    );
    fs.writeFileSync(path.join(local, 'sub/b.txt'), 'has changed');
    fs.rmSync(path.join(local, 'gone.txt'));
    const infos: string[] = [];
    const r = await deploy(opts(local, dir), { info: (m) => infos.push(m) });
    expect(r.files.map((f) => `${f.action} ${f.path}`).sort()).toEqual([
      'delete gone.txt',
      'replace sub/b.txt',
    ]);
    expect(r.counts.unchanged).toBe(2);
    expect(infos.join('\n')).toMatch(/FTP-Deploy-Action/);
    expect(readTree(remote(dir), [STATE, '.ftp-deploy-sync-state.json'])).toEqual(readTree(local));
    expect(fs.existsSync(path.join(remote(dir), STATE))).toBe(true);
    expect((await deploy(opts(local, dir))).files).toEqual([]);
  });

  it('FTP-Deploy-Action records without a size: a file whose hash matches is unchanged, not sent again', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home', 'sub/a.txt': 'hello world!', 'sub/b.txt': 'will change' });
    const dir = `/${uniqueName()}`;
    writeTree(remote(dir), { 'index.html': 'home', 'sub/a.txt': 'hello world!', 'sub/b.txt': 'will change' });
    // Its size missing, or not a number of bytes: unknown, the hash alone decides.
    const rec = (p: string, content: string, size: unknown): object => ({
      type: 'file',
      name: p,
      ...(size === undefined ? {} : { size }),
      hash: sha256(content),
    });
    fs.writeFileSync(
      path.join(remote(dir), '.ftp-deploy-sync-state.json'),
      JSON.stringify({
        description: 'x',
        version: '1.0.0',
        data: [
          { type: 'folder', name: 'sub', size: null },
          rec('index.html', 'home', undefined),
          rec('sub/a.txt', 'hello world!', null),
          rec('sub/b.txt', 'an older content', -5),
        ],
      }),
    );
    const r = await deploy(opts(local, dir));
    expect(r.files.map((f) => `${f.action} ${f.path}`)).toEqual(['replace sub/b.txt']);
    expect(r.counts.unchanged).toBe(2);
    expect((await deploy(opts(local, dir))).files).toEqual([]);
  });
});

describe('a site deleted by hand with its state file left behind (file managers hide dot-files)', () => {
  it('a few files the state lists are looked at first: gone, every file is checked and sent again', async () => {
    const local = tmpDir();
    const files: Record<string, string> = {};
    for (let i = 0; i < 30; i++) files[`d${i % 3}/f${i}.txt`] = `file ${i}`;
    writeTree(local, { 'index.html': 'i', ...files });
    const dir = `/${uniqueName()}`;
    await deploy(opts(local, dir));
    // A no-op deploy: one pipelined look at 8 files, no warning.
    const quiet = recorder();
    expect((await deploy(opts(local, dir), quiet)).files).toEqual([]);
    expect(sent(quiet.log, 'SIZE').filter((p) => !p.includes(STATE))).toHaveLength(8);
    expect(quiet.warnings).toEqual([]);
    for (const e of fs.readdirSync(remote(dir)))
      if (e !== STATE) fs.rmSync(path.join(remote(dir), e), { recursive: true });
    const rec = recorder();
    const r = await deploy(opts(local, dir), rec);
    expect(rec.warnings.join('\n')).toMatch(
      /missing or changed on the server .*every file is checked, as with --verify/,
    );
    expect(r.counts.upload + r.counts.replace).toBe(31);
    expect(readTree(remote(dir), [STATE])).toEqual(readTree(local));
  });
});

describe('item 4: looking for the state on a first deploy', () => {
  it("one RETR, both state files (and the state's temporary copy) asked with SIZE in one go, one listing of their folder; then the deploy", async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'hi' });
    const dir = `/${uniqueName()}`;
    fs.mkdirSync(remote(dir));
    const rec = recorder();
    await deploy(opts(local, dir), rec);
    const beforeLock = rec.log.slice(0, rec.log.indexOf(`> MKD ${dir}/${STATE}.lock`));
    expect(sent(beforeLock, 'RETR')).toEqual([`${dir}/${STATE}`]);
    expect(sent(beforeLock, 'SIZE')).toEqual([
      `${dir}/${STATE}`,
      `${dir}/${STATE}.tmp`,
      `${dir}/.ftp-deploy-sync-state.json`,
    ]);
    expect(beforeLock.filter((l) => /^> (MLSD|LIST|NLST)\b/.test(l))).toHaveLength(1);
    expect(readTree(remote(dir), [STATE])).toEqual(readTree(local));
  });
});

describe('item 5: dry-run', () => {
  it('has zero side effects and plans, path for path, what the deploy then does', async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a', 'old.txt': 'o', 'd/e/f.txt': 'f', 'keep/k.txt': 'k', 'x/y.txt': 'y' });
    const dir = `/${uniqueName()}`;
    await deploy(opts(local, dir));
    fs.writeFileSync(path.join(local, 'a.txt'), 'A');
    fs.rmSync(path.join(local, 'old.txt'));
    fs.rmSync(path.join(local, 'x'), { recursive: true });
    writeTree(local, { 'n/m/new.txt': 'new', 'd/e/g.txt': 'g' });

    const serverBefore = snapshot(srv.root);
    const localBefore = snapshot(local);
    const rec = recorder();
    const plan = await deploy(opts(local, dir, { dryRun: true }), rec);
    expect(snapshot(srv.root)).toEqual(serverBefore);
    expect(snapshot(local)).toEqual(localBefore);
    for (const verb of ['STOR', 'APPE', 'MKD', 'DELE', 'RMD', 'RNFR', 'RNTO', 'SITE'])
      expect(sent(rec.log, verb)).toEqual([]);
    expect(plan.dryRun).toBe(true);
    expect(plan.bytes.sent).toBe(0);

    const rec2 = recorder();
    const done = await deploy(opts(local, dir), rec2);
    expect(done.files).toEqual(plan.files);
    expect(done.counts).toEqual(plan.counts);
    // What was actually sent matches the plan, path for path.
    const rel = (p: string): string => p.slice(dir.length + 1);
    const planned = (a: string): string[] =>
      plan.files
        .filter((f) => f.action === a)
        .map((f) => f.path)
        .sort();
    // What each verb touched, relative to the target, ftpship's own state and lock aside.
    const touched = (verb: string): string[] =>
      sent(rec2.log, verb)
        .map(rel)
        .filter((p) => !p.startsWith(STATE));
    expect(touched('MKD').sort()).toEqual(planned('mkdir'));
    expect(touched('RMD').sort()).toEqual(planned('rmdir'));
    expect(touched('DELE').sort()).toEqual(planned('delete'));
    const stored = touched('STOR');
    const renamed = touched('RNTO');
    expect([...stored.filter((p) => !p.includes('.ftpship-')), ...renamed].sort()).toEqual(
      [...planned('upload'), ...planned('replace')].sort(),
    );
    expect(readTree(remote(dir), [STATE])).toEqual(readTree(local));
  });

  it('a dry-run of a first deploy to a folder that does not exist creates nothing', async () => {
    const local = tmpDir();
    writeTree(local, { 'a/b.txt': 'b' });
    const dir = `/${uniqueName()}/deeper`;
    const rec = recorder();
    const plan = await deploy(opts(local, dir, { dryRun: true }), rec);
    expect(plan.counts).toMatchObject({ mkdir: 1, upload: 1 });
    expect(fs.existsSync(remote(dir.split('/')[1]))).toBe(false);
    expect(sent(rec.log, 'MKD')).toEqual([]);
  });
});

describe('item 7: parallel', () => {
  it('N connections share one queue: N logins, overlapping transfers, parents before children, absolute paths, no CWD while uploading', async () => {
    const local = tmpDir();
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 40; i++) files[`l1-${i % 4}/l2-${i % 3}/l3/f${i}.bin`] = bytes(20_000 + i, i + 1);
    writeTree(local, files);
    const dir = `/${uniqueName()}`;
    const rec = recorder();
    const r = await deploy(opts(local, dir, { parallel: 3 }), rec);
    expect(readTree(remote(dir), [STATE])).toEqual(readTree(local));
    expect(r.counts.upload).toBe(40);
    expect(await loginsSeen(rec.log, 3)).toBe(3);
    // Transfers overlap: at some point more than one STOR is in flight (a 226 before any counts for none: the
    // lock's claim file on ftp-srv, APPE then RETR).
    let inFlight = 0;
    let maxInFlight = 0;
    for (const l of rec.log) {
      if (l.startsWith('> STOR ')) maxInFlight = Math.max(maxInFlight, ++inFlight);
      if (/^< 226/.test(l) && inFlight > 0) inFlight--;
    }
    expect(maxInFlight).toBeGreaterThan(1);
    expectParentsFirst(rec.log, dir);
    expectNoCwdWhileUploading(rec.log);
    for (const p of sent(rec.log, 'STOR')) expect(p.startsWith('/')).toBe(true);
  });

  it('4 connections by default; the live changes last: every upload, then the renames and deletes, then the folders deepest first, then the state', async () => {
    const local = tmpDir();
    const site: Record<string, string | Buffer> = {
      'change.txt': 'c1',
      'css/a.css': 'a1',
      'old.txt': 'o',
      'gone/y.txt': 'y',
      'gone/deep/x.txt': 'x',
    };
    for (let i = 0; i < 12; i++) site[`img/p${i}.bin`] = bytes(30_000, i + 1);
    writeTree(local, site);
    const dir = `/${uniqueName()}`;
    await deploy(opts(local, dir));
    writeTree(local, { 'change.txt': 'c2', 'css/a.css': 'a2', 'new/n.txt': 'n' });
    for (let i = 0; i < 12; i++) writeTree(local, { [`img/p${i}.bin`]: bytes(30_000, i + 50) });
    fs.rmSync(path.join(local, 'old.txt'));
    fs.rmSync(path.join(local, 'gone'), { recursive: true });
    const rec = recorder();
    await deploy(opts(local, dir), rec);
    expect(await loginsSeen(rec.log, 4)).toBe(4);
    const site_ = (l: string): boolean => !l.includes(STATE);
    const at = (re: RegExp): number[] => rec.log.flatMap((l, i) => (re.test(l) && site_(l) ? [i] : []));
    const stors = at(/^> STOR /);
    const commits = at(/^> (RNFR|RNTO|DELE) /);
    const rmds = at(/^> RMD /);
    expect(stors.length).toBe(15); // 12 images, 2 changed files through temps, 1 new file
    expect(Math.max(...stors)).toBeLessThan(Math.min(...commits));
    expect(Math.max(...commits)).toBeLessThan(Math.min(...rmds));
    expect(rmds.map((i) => rec.log[i])).toEqual([`> RMD ${dir}/gone/deep`, `> RMD ${dir}/gone`]);
    expect(rec.log.lastIndexOf(`> RNTO ${dir}/${STATE}`)).toBeGreaterThan(Math.max(...rmds));
    expect(readTree(remote(dir), [STATE])).toEqual(readTree(local));
  });

  it('a dry-run opens one connection', async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a' });
    const rec = recorder();
    await deploy(opts(local, `/${uniqueName()}`, { parallel: 5, dryRun: true }), rec);
    expect(rec.log.filter((l) => l.startsWith('> USER ')).length).toBe(1);
  });
});

describe('item 8 (engine): a local file that becomes unreadable mid-run', () => {
  it('fails with one line naming the file, exit code 1, and the state never lists it', async () => {
    const local = tmpDir();
    // Larger than the bytes ftpship keeps from hashing (256 KiB), so the upload has to read the file again.
    writeTree(local, { 'a.txt': 'a', 'dir/vanishing.txt': Buffer.alloc(600 * 1024, 7), 'z.txt': 'z' });
    const dir = `/${uniqueName()}`;
    let removed = false;
    const reporter: Reporter = {
      // After the scan and hash, before the uploads: the first MKD of the run.
      protocol: (l) => {
        if (!removed && l.startsWith('> MKD ')) {
          removed = true;
          fs.rmSync(path.join(local, 'dir/vanishing.txt'));
        }
      },
    };
    const err = (await deploy(opts(local, dir), reporter).catch((e: unknown) => e)) as Error & {
      exitCode: number;
    };
    expect(removed).toBe(true);
    expect(err.exitCode).toBe(1);
    expect(err.message).toContain(path.join(local, 'dir/vanishing.txt'));
    expect(err.message).not.toContain('\n');
    const statePath = path.join(remote(dir), STATE);
    // G4: the state may note the path as uncertain (so a rerun cleans up), never as deployed.
    const state = JSON.parse(fs.readFileSync(statePath, 'utf8')) as { files: Record<string, unknown> };
    expect(Object.keys(state.files)).not.toContain('dir/vanishing.txt');
    // Rerun without the file converges (at most cleaning up the path it may have begun to write).
    const r = await deploy(opts(local, dir));
    expect(r.files.filter((f) => f.path.includes('vanishing')).map((f) => f.action)).not.toContain('upload');
    expect(readTree(remote(dir), [STATE])).toEqual(readTree(local));
  });
});

describe('exclude with !negation (FIELD.md complaint 4: FTP-Deploy-Action users ask for it)', () => {
  it.each([[''], ['/'], ['!'], ['.'], ['./']])('glob %p is a configuration error naming it', async (bad) => {
    const err = await deploy(opts(tmpDir(), '/never', { exclude: [bad] })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    // Named by the CLI's flag, as every message is; `option` says which option, for a front end's own name.
    expect((err as Error).message).toContain(`invalid --exclude glob ${JSON.stringify(bad)}`);
    expect((err as ConfigError).option).toBe('exclude');
    const keep = await deploy(opts(tmpDir(), '/never', { keep: [bad] })).catch((e: unknown) => e);
    expect((keep as Error).message).toContain(`invalid --keep glob ${JSON.stringify(bad)}`);
    expect((keep as ConfigError).messageFor((o) => o)).toContain(`invalid keep glob ${JSON.stringify(bad)}`);
  });

  it('re-includes one file; a lone !glob leaves everything in, so a deploy with it deletes nothing', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'i', 'a.map': 'm', 'vendor/keep.map': 'k', 'vendor/lib.js': 'l' });
    const dir = `/${uniqueName()}`;
    const r = await deploy(opts(local, dir, { exclude: ['*.map', '!vendor/keep.map'] }));
    expect(Object.keys(readTree(remote(dir), [STATE])).sort()).toEqual([
      'index.html',
      'vendor/keep.map',
      'vendor/lib.js',
    ]);
    expect(r.counts.upload).toBe(3);

    // Read by picomatch alone, ['!a.map'] would mean "everything but a.map": every deployed file excluded,
    // hence an orphan, hence deleted. It means nothing left out.
    const dir2 = `/${uniqueName()}`;
    await deploy(opts(local, dir2));
    const again = await deploy(opts(local, dir2, { exclude: ['!a.map'] }));
    expect(again.counts).toMatchObject({ delete: 0, upload: 0, replace: 0, unchanged: 4 });
    expect(readTree(remote(dir2), [STATE])).toEqual(readTree(local));
  });
});

describe('replaceDefaultExcludes (the Action sets it): .git/ and node_modules/ are no longer left out', () => {
  it('one warning names the first such file and the globs to add; with the defaults, none', async () => {
    const local = tmpDir();
    writeTree(local, {
      'index.html': 'i',
      'sub/.git/config': 'token',
      '.git/HEAD': 'ref',
      'node_modules/m/i.js': 'm',
      '.DS_Store': 'x',
    });
    const dryRun = { dryRun: true };
    const replaced = await deploy(
      opts(local, '/never', { ...dryRun, exclude: ['.DS_Store'], replaceDefaultExcludes: true }),
    );
    expect(replaced.counts.upload).toBe(4);
    expect(replaced.warnings).toEqual([
      "the local file .git/HEAD and 2 more files under .git/ or node_modules/ will be on the server: replaceDefaultExcludes is set, so the default excludes (.git/, node_modules/) do not apply; add '**/.git/**' and '**/node_modules/**' to exclude to leave them out",
    ]);
    const defaults = await deploy(opts(local, '/never', dryRun));
    expect(defaults.counts.upload).toBe(1);
    expect(defaults.warnings).toEqual([]);
    const own = await deploy(
      opts(local, '/never', {
        ...dryRun,
        exclude: ['**/.git/**', 'node_modules/', '.DS_Store'],
        replaceDefaultExcludes: true,
      }),
    );
    expect(own.counts.upload).toBe(1);
    expect(own.warnings).toEqual([]);
  });
});

describe('an empty local folder never empties the live site by accident', () => {
  it('refuses (GuardError, nothing changed) when nothing is left to publish but deployed files would go; --max-delete lets it through', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'i', 'css/a.css': 'a' });
    const dir = `/${uniqueName()}`;
    await deploy(opts(local, dir));
    const before = readTree(remote(dir));
    fs.rmSync(path.join(local, 'index.html'));
    fs.rmSync(path.join(local, 'css'), { recursive: true }); // a failed build: dist/ is empty
    const err = await deploy(opts(local, dir)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GuardError);
    expect((err as Error).message).toMatch(
      new RegExp(
        `the local folder ${local} has no file to publish .* would delete all 2 files .*--max-delete 2`,
      ),
    );
    expect(readTree(remote(dir))).toEqual(before);
    // Everything excluded is the same case.
    writeTree(local, { 'index.html': 'i' });
    await expect(deploy(opts(local, dir, { exclude: ['*.html'] }))).rejects.toBeInstanceOf(GuardError);
    fs.rmSync(path.join(local, 'index.html'));
    const on = await deploy(opts(local, dir, { maxDelete: 2 }));
    expect(on.counts.delete).toBe(2);
    expect(readTree(remote(dir), [STATE])).toEqual({});
  });
});

describe("the report's target is a URL the CLI reads as the same folder", () => {
  it('relative to a login folder that is not /, or absolute after // outside it; given back, it deploys to the same folder', async () => {
    const home = await embedded({ loginFolder: '/home/demo' });
    try {
      fs.mkdirSync(path.join(home.root, 'home/demo'), { recursive: true });
      const local = tmpDir();
      writeTree(local, { 'index.html': 'i' });
      const port = `127.0.0.1:${home.port}`;
      for (const [remoteDir, url, onDisk] of [
        ['site', `ftp://demo@${port}/site`, 'home/demo/site'],
        ['/home/demo/abs', `ftp://demo@${port}/abs`, 'home/demo/abs'],
        ['/srv/www', `ftp://demo@${port}//srv/www`, 'srv/www'],
      ]) {
        const first = await deploy(deployOptions(home, local, remoteDir));
        expect(first.target).toBe(url);
        expect(fs.readFileSync(path.join(home.root, onDisk, 'index.html'), 'utf8')).toBe('i');
        // Given back as the CLI reads it, the target is the same folder: nothing to do.
        const again = await deploy(deployOptions(home, local, parseTarget(first.target).remoteDir));
        expect(again.counts).toMatchObject({ upload: 0, unchanged: 1 });
        expect(again.target).toBe(url);
      }
    } finally {
      await home.close();
    }
  });
});
