/**
 * Issue 9 item 5, the local side: symlinks pointing outside the local folder are neither followed nor
 * uploaded and the plan says so (a warning, and `skipped` in the JSON report); a symlink to a file inside is
 * uploaded as a file; an unreadable file, a name Node cannot open again (not valid UTF-8) and a path the
 * server refuses each fail the deploy with one line naming the path, exit 1.
 * Server: ftp-srv in this process; the refused path runs on pure-ftpd when test/servers is up.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { EmbeddedServer } from '../src/embedded-server.js';
import { embedded } from './helpers/embedded.js';
import { spawn } from 'node:child_process';
import { BIN, runCli, type CliResult } from './helpers/cli.js';
import { loadRealServers } from './helpers/real-servers.js';
import { readTree, sha256, tmpDir, uniqueName, writeTree } from './helpers/tmp.js';

let srv: EmbeddedServer;
beforeAll(async () => {
  srv = await embedded();
});
afterAll(async () => {
  await srv.close();
});

const env = (): Record<string, string> => ({ FTPSHIP_PASSWORD: srv.password });
const url = (dir: string): string => `ftp://${srv.user}@127.0.0.1:${srv.port}/${dir}`;
const STATE = ['.ftpship-state.json'];

interface Report {
  skipped: Array<{ path: string; reason: string }>;
  warnings: string[];
  files: Array<{ action: string; path: string }>;
}
const json = (r: CliResult): Report => {
  if (r.code !== 0) console.log(r.stderr);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Report;
};

describe('symlinks', () => {
  it('pointing outside: not followed, not uploaded, named in the plan and the report; to a file inside: uploaded as a file', async () => {
    const outside = tmpDir('ftpship-outside-');
    writeTree(outside, { 'secret.txt': 'do not publish', 'dir/also.txt': 'nor this' });
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home', 'assets/logo.svg': '<svg/>' });
    fs.symlinkSync(path.join(outside, 'secret.txt'), path.join(local, 'leak.txt'));
    fs.symlinkSync(path.join(outside, 'dir'), path.join(local, 'leakdir'));
    fs.symlinkSync('../../etc/passwd', path.join(local, 'assets', 'passwd'));
    fs.symlinkSync('assets/logo.svg', path.join(local, 'logo-link.svg'));
    const dir = uniqueName('local');

    const plan = await runCli(['plan', local, url(dir), '--json'], env());
    const planned = json(plan);
    const skipped = Object.fromEntries(planned.skipped.map((s) => [s.path, s.reason]));
    expect(skipped).toEqual({
      'leak.txt': expect.stringMatching(/outside the local folder \(not followed\)/),
      leakdir: expect.stringMatching(/outside the local folder \(not followed\)/),
      'assets/passwd': expect.stringMatching(/outside the local folder \(not followed\)/),
    });
    for (const p of ['leak.txt', 'leakdir', 'assets/passwd'])
      expect(plan.stderr).toMatch(new RegExp(`skipped ${p.replace('.', '\\.')}: symlink pointing outside`));
    expect(planned.files.map((f) => f.path)).not.toEqual(expect.arrayContaining(['leak.txt']));
    expect(planned.files.map((f) => f.path)).toContain('logo-link.svg');

    const report = json(await runCli(['deploy', local, url(dir), '--json'], env()));
    expect(report.skipped).toEqual(planned.skipped);
    const remote = path.join(srv.root, dir);
    expect(readTree(remote, STATE)).toEqual({
      'index.html': sha256('home'),
      'assets/logo.svg': sha256('<svg/>'),
      'logo-link.svg': sha256('<svg/>'),
    });
    expect(fs.lstatSync(path.join(remote, 'logo-link.svg')).isFile()).toBe(true); // a file, not a link
    const everything = JSON.stringify(readTree(remote));
    expect(everything).not.toContain(sha256('do not publish'));
  });
});

describe('symlinks to folders inside', () => {
  it('are followed (PRODUCT.md: not followed out of the local dir): latest -> v3 goes up as a folder; a link to a folder above it (a loop) is skipped', async () => {
    const local = tmpDir();
    writeTree(local, { 'v3/index.html': 'v3 home', 'v3/css/a.css': 'a{}' });
    fs.symlinkSync('v3', path.join(local, 'latest'));
    fs.symlinkSync('..', path.join(local, 'v3', 'up'));
    const dir = uniqueName('local');
    const report = json(await runCli(['deploy', local, url(dir), '--json'], env()));
    expect(Object.fromEntries(report.skipped.map((s) => [s.path, s.reason]))).toEqual({
      'v3/up': 'symlink to a folder above it, a loop (not followed)',
      'latest/up': 'symlink to a folder above it, a loop (not followed)',
    });
    const remote = path.join(srv.root, dir);
    expect(readTree(remote, STATE)).toEqual({
      'v3/index.html': sha256('v3 home'),
      'v3/css/a.css': sha256('a{}'),
      'latest/index.html': sha256('v3 home'),
      'latest/css/a.css': sha256('a{}'),
    });
    expect(fs.lstatSync(path.join(remote, 'latest')).isDirectory()).toBe(true); // a folder, not a link
  });
});

describe('files that cannot be read, names that cannot be stored', () => {
  it('an unreadable file (the CLI runs as nobody): one line naming it, exit 1, nothing uploaded', async () => {
    if (process.getuid?.() !== 0) {
      console.warn('skipped: needs root to run the CLI as another user');
      return;
    }
    const local = tmpDir();
    fs.chmodSync(local, 0o755);
    writeTree(local, { 'ok.txt': 'ok', 'private/key.pem': 'KEY' });
    fs.chmodSync(path.join(local, 'private'), 0o755);
    fs.chmodSync(path.join(local, 'ok.txt'), 0o644);
    fs.chmodSync(path.join(local, 'private/key.pem'), 0o000);
    const dir = uniqueName('local');
    // As nobody, so the 000 file is unreadable (root reads anything).
    const child = spawn(process.execPath, [BIN, 'deploy', local, url(dir)], {
      uid: 65534,
      gid: 65534,
      env: { ...process.env, NODE_OPTIONS: '', ...env() },
      cwd: '/',
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(1);
    const lines = stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^ftpship: error: cannot read local file .*private\/key\.pem: EACCES/);
    expect(fs.existsSync(path.join(srv.root, dir, 'ok.txt'))).toBe(false); // failed before any upload
  });

  it('a name that is not valid UTF-8: one line naming it and the --exclude that leaves it out, exit 2, and the process ends (it used to hang)', async () => {
    const local = tmpDir();
    writeTree(local, { 'ok.txt': 'ok' });
    fs.writeFileSync(Buffer.from(`${local}/bad\xffname.txt`, 'latin1'), 'x');
    const dir = uniqueName('local');
    const started = Date.now();
    const r = await runCli(['deploy', local, url(dir)], env());
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(r.code).toBe(2);
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines).toEqual([
      `ftpship: error: local name ${fs.realpathSync(local)}/bad\uFFFDname.txt is not valid UTF-8 (each byte that is not shows as \uFFFD), so ftpship cannot read or send it: rename it in UTF-8 (convmv -f latin1 -t utf8, say), or leave it out with --exclude '/bad?name\\.txt'`,
    ]);
    expect(fs.existsSync(path.join(srv.root, dir, 'ok.txt'))).toBe(false);
    const left = await runCli(['deploy', local, url(dir), '--exclude', '/bad?name\\.txt'], env());
    expect(left.code).toBe(0);
    expect(fs.readFileSync(path.join(srv.root, dir, 'ok.txt'), 'utf8')).toBe('ok');
  });

  it('a line break in a file or folder name: one line naming it (quoted), exit 2, before any change; --exclude leaves it out', async () => {
    const local = tmpDir();
    writeTree(local, { 'ok.txt': 'ok', 'sub/fine.txt': 'fine' });
    fs.writeFileSync(path.join(local, 'sub', 'bad\nname.txt'), 'x');
    const dir = uniqueName('local');
    const r = await runCli(['deploy', local, url(dir)], env());
    expect(r.code).toBe(2);
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines).toEqual([
      `ftpship: error: local path "sub/bad\\nname.txt" has a line break (or NUL) in its name, which FTP cannot send: a line break ends a command. Rename it, or leave it out with --exclude $'/sub/bad\\x0aname\\\\.txt'`,
    ]);
    expect(fs.existsSync(path.join(srv.root, dir))).toBe(false); // nothing created, nothing uploaded
    fs.mkdirSync(path.join(local, 'two\rlines'));
    const folder = await runCli(['deploy', local, url(dir), '--exclude', 'sub/bad*'], env());
    expect(folder.code).toBe(2);
    expect(folder.stderr).toContain('local path "two\\rlines" has a line break');
    const ok = await runCli(['deploy', local, url(dir), '--exclude', 'sub/bad*', '--exclude', 'two*'], env());
    expect(ok.code).toBe(0);
    expect(readTree(path.join(srv.root, dir), STATE)).toEqual({
      'ok.txt': sha256('ok'),
      'sub/fine.txt': sha256('fine'),
    });
  });

  const real = loadRealServers();
  (real ? it : it.skip)(
    'a path the server refuses to store (pure-ftpd, folder not writable): exit 1, the error names the path',
    async () => {
      const server = real!.pure;
      const local = tmpDir();
      writeTree(local, { 'a.txt': 'a', 'locked/file.txt': 'refused' });
      const name = uniqueName('m');
      const disk = path.join(server.home, name);
      try {
        fs.mkdirSync(path.join(disk, 'locked'), { recursive: true });
        fs.chownSync(disk, server.uid, server.gid);
        fs.chmodSync(path.join(disk, 'locked'), 0o555); // root-owned, read-only for the FTP user
        const r = await runCli(['deploy', local, `ftp://${server.user}@127.0.0.1:${server.port}/${name}`], {
          FTPSHIP_PASSWORD: server.password,
        });
        expect(r.code).toBe(1);
        const lines = r.stderr.split('\n').filter((l) => l.startsWith('ftpship: error:'));
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(/upload locked\/file\.txt failed: 553 .*check the path, the name/);
        expect(fs.readdirSync(path.join(disk, 'locked'))).toEqual([]);
      } finally {
        fs.rmSync(disk, { recursive: true, force: true });
      }
    },
  );
});
