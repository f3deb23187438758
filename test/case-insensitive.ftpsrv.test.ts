/**
 * A server whose names are case-insensitive (Windows: IIS, FileZilla Server on NTFS), emulated by the
 * embedded ftp-srv's `caseInsensitive` hook (no such file system can be mounted here: the kernel has no
 * CONFIG_UNICODE for casefold). A file renamed only in case (`Logo.PNG` → `logo.png`, as a build tool's
 * new version does) is one file there: uploading the new name and then deleting the old one as an orphan
 * would delete the file just uploaded.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { deploy, type DeployOptions } from '../src/index.js';
import { deployOptions, useEmbedded } from './helpers/embedded.js';
import { recorder, sent } from './helpers/protocol.js';
import { tmpDir, uniqueName, writeTree } from './helpers/tmp.js';

const server = useEmbedded({ caseInsensitive: true });
const opts = (local: string, dir: string, extra: Partial<DeployOptions> = {}): DeployOptions =>
  deployOptions(server(), local, dir, extra);

/** The file at `rel` whatever the case of its name, as the server sees it. */
function onServer(dir: string, rel: string): string | undefined {
  let at = path.join(server().root, dir);
  for (const part of rel.split('/')) {
    const hit = fs.existsSync(at)
      ? fs.readdirSync(at).find((n) => n.toLowerCase() === part.toLowerCase())
      : undefined;
    if (!hit) return undefined;
    at = path.join(at, hit);
  }
  return fs.statSync(at).isDirectory() ? '(a folder)' : fs.readFileSync(at, 'utf8');
}

describe('a case-insensitive server', () => {
  it.each([
    ['atomic', true],
    ['--no-atomic', false],
  ])(
    '%s: a file renamed only in case is there after the deploy, with the new content',
    async (_mode, atomic) => {
      const local = tmpDir();
      writeTree(local, { 'img/Logo.PNG': 'old logo', 'Index.html': 'v1', 'keep.txt': 'k' });
      const dir = `/${uniqueName()}`;
      await deploy(opts(local, dir, { atomic }));
      fs.rmSync(path.join(local, 'img/Logo.PNG'));
      fs.rmSync(path.join(local, 'Index.html'));
      writeTree(local, { 'img/logo.png': 'new logo!', 'index.html': 'v1' }); // one changed, one the same bytes
      const rec = recorder();
      await deploy(opts(local, dir, { atomic }), rec);
      expect(onServer(dir, 'img/logo.png')).toBe('new logo!');
      expect(onServer(dir, 'index.html')).toBe('v1');
      expect(onServer(dir, 'keep.txt')).toBe('k');
      // The next deploy sees nothing to do: the state matches the server.
      const again = await deploy(opts(local, dir, { atomic }));
      expect(again.files).toEqual([]);
      expect(sent(rec.log, 'DELE').length).toBeGreaterThan(0); // the old names were removed, not left behind
    },
  );

  it('--maintenance: a file renamed only in case is deleted before its upload, so the marker is up first', async () => {
    const local = tmpDir();
    writeTree(local, { 'Index.html': 'v1', 'a.txt': 'a' });
    const dir = `/${uniqueName('h-cross')}`;
    await deploy(opts(local, dir));
    fs.rmSync(path.join(local, 'Index.html'));
    writeTree(local, { 'index.html': 'v2' });
    const rec = recorder();
    await deploy(opts(local, dir, { maintenance: { path: '.maintenance' } }), rec);
    const at = (re: RegExp): number => rec.log.findIndex((l) => re.test(l));
    const up = at(/^> RNTO .*\/\.maintenance$/);
    expect(up).toBeGreaterThan(-1);
    expect(at(/^> DELE .*\/Index\.html$/)).toBeGreaterThan(up);
    expect(onServer(dir, 'index.html')).toBe('v2');
    expect(onServer(dir, '.maintenance')).toBeUndefined();
  });

  it('--delete-only: an old name that differs only in case from a local file is not deleted (it is the live file); a plain run converges', async () => {
    const local = tmpDir();
    writeTree(local, { 'Index.html': 'v1', 'old.txt': 'o' });
    const dir = `/${uniqueName('h-cross')}`;
    await deploy(opts(local, dir));
    fs.rmSync(path.join(local, 'Index.html'));
    fs.rmSync(path.join(local, 'old.txt'));
    writeTree(local, { 'index.html': 'v1' });
    const plan = await deploy(opts(local, dir, { deleteOnly: true, dryRun: true }));
    const done = await deploy(opts(local, dir, { deleteOnly: true }));
    expect(done.files).toEqual(plan.files);
    expect(done.files.map((f) => `${f.action} ${f.path}`)).toEqual(['delete old.txt']);
    expect(done.kept).toEqual(['Index.html']);
    expect(onServer(dir, 'index.html')).toBe('v1');
    expect(onServer(dir, 'old.txt')).toBeUndefined();
    await deploy(opts(local, dir));
    expect(onServer(dir, 'index.html')).toBe('v1');
    expect((await deploy(opts(local, dir))).files).toEqual([]);
  });

  it('an old name left by --no-delete, deleted by a later deploy, does not take the live file with it', async () => {
    const local = tmpDir();
    writeTree(local, { 'Logo.PNG': 'logo', 'a.txt': 'a' });
    const dir = `/${uniqueName()}`;
    await deploy(opts(local, dir));
    fs.rmSync(path.join(local, 'Logo.PNG'));
    writeTree(local, { 'logo.png': 'logo v2' });
    await deploy(opts(local, dir, { delete: false })); // Logo.PNG stays recorded as a kept orphan
    expect(onServer(dir, 'logo.png')).toBe('logo v2');
    await deploy(opts(local, dir)); // deletes the orphan Logo.PNG: on this server, logo.png
    expect(onServer(dir, 'logo.png')).toBe('logo v2');
    expect((await deploy(opts(local, dir))).files).toEqual([]);
  });

  it('a folder renamed only in case (Img/ -> img/): its files are there, no warning about a kept folder, and the next deploy has nothing to do', async () => {
    const local = tmpDir();
    writeTree(local, { 'Img/a.png': 'a', 'Img/b.png': 'b', 'index.html': 'i' });
    const dir = `/${uniqueName()}`;
    await deploy(opts(local, dir));
    fs.rmSync(path.join(local, 'Img'), { recursive: true });
    writeTree(local, { 'img/a.png': 'a2', 'img/b.png': 'b' });
    const rec = recorder();
    await deploy(opts(local, dir), rec);
    expect([onServer(dir, 'img/a.png'), onServer(dir, 'img/b.png')]).toEqual(['a2', 'b']);
    expect(rec.warnings).toEqual([]);
    const again = recorder();
    expect((await deploy(opts(local, dir), again)).files).toEqual([]);
    expect(again.warnings).toEqual([]);
  });

  it.each([
    ['atomic', true],
    ['--no-atomic', false],
  ])(
    '%s: a folder replaced by a file whose name differs only in case (Docs/ -> docs): the file is there (was: its upload failed on every run)',
    async (_mode, atomic) => {
      const local = tmpDir();
      writeTree(local, { 'Docs/a.html': 'a', 'Docs/sub/b.html': 'b', 'index.html': 'i' });
      const dir = `/${uniqueName()}`;
      await deploy(opts(local, dir, { atomic }));
      fs.rmSync(path.join(local, 'Docs'), { recursive: true });
      writeTree(local, { docs: 'docs is a file now' });
      const rec = recorder();
      await deploy(opts(local, dir, { atomic }), rec);
      expect(onServer(dir, 'docs')).toBe('docs is a file now');
      expect(onServer(dir, 'index.html')).toBe('i');
      expect(rec.warnings).toEqual([]);
      expect((await deploy(opts(local, dir, { atomic }))).files).toEqual([]);
    },
  );
});
