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
import { deployOptions, embedded } from './helpers/embedded.js';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { deploy, type DeployOptions } from '../src/index.js';
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

describe('the local folder as given', () => {
  it('a symlink to the folder, with a trailing slash, and a path through ..: the same files, the same deploy', async () => {
    const base = tmpDir();
    const site = path.join(base, 'site');
    writeTree(site, { 'index.html': 'home', 'assets/a.css': 'a{}' });
    fs.symlinkSync('site', path.join(base, 'current'));
    const dir = uniqueName('local');
    json(await runCli(['deploy', `${path.join(base, 'current')}/`, url(dir), '--json'], env()));
    expect(readTree(path.join(srv.root, dir), STATE)).toEqual({
      'index.html': sha256('home'),
      'assets/a.css': sha256('a{}'),
    });
    // The same folder through `..`: nothing to do.
    const again = json(await runCli(['plan', path.join(site, 'assets', '..'), url(dir), '--json'], env()));
    expect(again.files).toEqual([]);
  });
});

describe('a deployed path that is now a link the walk skips', () => {
  it('is left on the server and in the state, not deleted (a link out of the folder, a broken link, a FIFO); a real file again replaces it', async () => {
    const outside = tmpDir('ftpship-outside-');
    writeTree(outside, { 'config.php': 'shared config', 'uploads/a.jpg': 'shared jpg' });
    const local = tmpDir();
    writeTree(local, {
      'index.html': 'home',
      'config.php': 'config',
      'uploads/a.jpg': 'jpg',
      'feed.xml': 'feed',
    });
    const dir = uniqueName('local');
    json(await runCli(['deploy', local, url(dir), '--json'], env()));
    const before = {
      'index.html': sha256('home'),
      'config.php': sha256('config'),
      'uploads/a.jpg': sha256('jpg'),
      'feed.xml': sha256('feed'),
    };
    const remote = path.join(srv.root, dir);
    expect(readTree(remote, STATE)).toEqual(before);
    // As `php artisan storage:link` or a shared-config setup leaves them: links out of the folder, one broken.
    fs.rmSync(path.join(local, 'config.php'));
    fs.symlinkSync(path.join(outside, 'config.php'), path.join(local, 'config.php'));
    fs.rmSync(path.join(local, 'uploads'), { recursive: true });
    fs.symlinkSync('../storage/uploads', path.join(local, 'uploads'));
    fs.rmSync(path.join(local, 'feed.xml'));
    execFileSync('mkfifo', [path.join(local, 'feed.xml')]);
    const second = await runCli(['deploy', local, url(dir), '--json'], env());
    const report = json(second);
    expect(second.stderr).toContain(
      '3 file(s) deployed earlier stay on the server and in the state (uploads/a.jpg, config.php, feed.xml): skipped locally (see above), not deleted',
    );
    expect(report.skipped.map((s) => s.path).sort()).toEqual(['config.php', 'feed.xml', 'uploads']);
    expect(report.files).toEqual([]);
    expect(readTree(remote, STATE)).toEqual(before);
    const state = JSON.parse(fs.readFileSync(path.join(remote, STATE[0]), 'utf8')) as {
      files: Record<string, unknown>;
    };
    expect(Object.keys(state.files).sort()).toEqual(Object.keys(before).sort());
    // A real file there again: sent, over the copy left.
    fs.rmSync(path.join(local, 'config.php'));
    fs.writeFileSync(path.join(local, 'config.php'), 'config v2');
    json(await runCli(['deploy', local, url(dir), '--json'], env()));
    expect(readTree(remote, STATE)).toEqual({ ...before, 'config.php': sha256('config v2') });
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

describe('special files', () => {
  it('a FIFO, a socket, a link to the FIFO and a dangling link in the folder: skipped with a reason, the walk does not block on the FIFO, the rest goes up', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home' });
    execFileSync('mkfifo', [path.join(local, 'pipe')]);
    const sock = net.createServer().listen(path.join(local, 'sock'));
    await once(sock, 'listening');
    try {
      fs.symlinkSync('pipe', path.join(local, 'pipe-link'));
      fs.symlinkSync('gone.html', path.join(local, 'dangling.html'));
      const dir = uniqueName('local');
      const report = json(await runCli(['deploy', local, url(dir), '--json'], env()));
      expect(Object.fromEntries(report.skipped.map((s) => [s.path, s.reason]))).toEqual({
        pipe: 'not a regular file',
        'pipe-link': 'not a regular file',
        sock: 'not a regular file',
        'dangling.html': 'broken symlink, or a loop of links (not followed)',
      });
      expect(readTree(path.join(srv.root, dir), STATE)).toEqual({ 'index.html': sha256('home') });
    } finally {
      sock.close();
    }
  });

  it('library `files` naming a FIFO or a folder: refused at once, naming it (a FIFO used to hang the hashing for ever)', async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a' });
    const fifo = path.join(local, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const dir = uniqueName('local');
    const withFiles = (file: string): DeployOptions =>
      deployOptions(srv, '', dir, {
        localDir: undefined,
        files: [
          { path: 'a.txt', file: path.join(local, 'a.txt') },
          { path: 'b.txt', file },
        ],
      });
    await expect(deploy(withFiles(fifo))).rejects.toThrow(
      `file ${JSON.stringify(fifo)} (for "b.txt") is not a regular file but a named pipe (FIFO); give regular files only`,
    );
    await expect(deploy(withFiles(local))).rejects.toMatchObject({
      name: 'ConfigError',
      message: expect.stringContaining('is not a regular file but a folder'),
    });
    expect(fs.existsSync(path.join(srv.root, dir))).toBe(false);
  });
});

/**
 * A deploy of a.txt and b.txt (in a new folder named `prefix`-…) over one connection, `act(b)` done once a.txt
 * is on its way (b.txt follows it): the run, the paths, whether it acted, and the files the state lists then.
 */
function deployActingOnB(prefix: string, act: (b: string) => void) {
  const local = tmpDir();
  writeTree(local, { 'a.txt': 'first', 'b.txt': 'second' });
  const b = path.join(local, 'b.txt');
  const dir = uniqueName(prefix);
  let acted = false;
  const run = deploy(deployOptions(srv, local, dir, { parallel: 1 }), {
    protocol: (line) => {
      if (!acted && /^> STOR .*a\.txt$/.test(line)) {
        acted = true;
        act(b);
      }
    },
  });
  const stateFiles = (): string[] => {
    const state = JSON.parse(fs.readFileSync(path.join(srv.root, dir, STATE[0]), 'utf8')) as {
      files: Record<string, unknown>;
    };
    return Object.keys(state.files);
  };
  return { run, b, local, dir, acted: () => acted, stateFiles };
}

describe('a file that changes after it was listed', () => {
  for (const [how, change] of [
    ['grows', (f: string) => fs.appendFileSync(f, ' and more')],
    ['shrinks', (f: string) => fs.truncateSync(f, 2)],
  ] as const) {
    it(`${how} before its upload: the deploy stops naming it, the state does not list it; the rerun sends what it holds then`, async () => {
      // Once a.txt is on its way, b.txt changes.
      const { run, b, local, dir, acted, stateFiles } = deployActingOnB('local', change);
      await expect(run).rejects.toThrow(`local file ${b} changed while the deploy was running`);
      expect(acted()).toBe(true);
      const remote = path.join(srv.root, dir);
      expect(stateFiles()).not.toContain('b.txt');
      // Seen when its upload was to begin: not one byte of it went (was: sent, then refused once sent).
      expect(fs.existsSync(path.join(remote, 'b.txt'))).toBe(false);
      await deploy(deployOptions(srv, local, dir));
      expect(readTree(remote, STATE)).toEqual({
        'a.txt': sha256('first'),
        'b.txt': sha256(fs.readFileSync(b)),
      });
    });
  }
});

describe('a file that changes while it is being sent', () => {
  it('the deploy stops naming it, and the state does not list it (the server got a mix of two versions)', async () => {
    const local = tmpDir();
    writeTree(local, { 'page.bin': 'x'.repeat(200_000) });
    const file = path.join(local, 'page.bin');
    const dir = uniqueName('local-sending');
    let storing = false;
    let acted = false;
    const run = deploy(deployOptions(srv, local, dir, { parallel: 1 }), {
      protocol: (line) => {
        if (/^> STOR .*\/page\.bin$/.test(line)) storing = true;
        else if (storing && !acted && /^< 150/.test(line)) {
          acted = true; // the file is open and being read: it grows
          fs.appendFileSync(file, ' and more');
        }
      },
    });
    await expect(run).rejects.toThrow(`local file ${file} changed while the deploy was running`);
    expect(acted).toBe(true);
    const state = path.join(srv.root, dir, STATE[0]);
    if (fs.existsSync(state))
      expect(Object.keys((JSON.parse(fs.readFileSync(state, 'utf8')) as { files: object }).files)).toEqual(
        [],
      );
    // The rerun sends what it holds now.
    await deploy(deployOptions(srv, local, dir));
    expect(readTree(path.join(srv.root, dir), STATE)).toEqual({ 'page.bin': sha256(fs.readFileSync(file)) });
  });
});

describe('a file removed after it was listed (a build cleaning its output)', () => {
  it('before its upload: the deploy stops saying it was removed (not "check its permissions"); the state does not list it; the rerun converges', async () => {
    // Once a.txt is on its way, b.txt goes.
    const { run, b, local, dir, stateFiles } = deployActingOnB('local-gone', (f) => fs.rmSync(f));
    await expect(run).rejects.toThrow(
      `local file ${b} was removed while the deploy was running (after it was listed); rerun once the folder is final`,
    );
    const remote = path.join(srv.root, dir);
    expect(stateFiles()).toEqual(['a.txt']);
    await deploy(deployOptions(srv, local, dir));
    expect(readTree(remote, STATE)).toEqual({ 'a.txt': sha256('first') });
  });
});

describe('excludes as FTP-Deploy-Action users write them', () => {
  it('**/.git*, **/.git*/**, **/node_modules/**, *.map with !important.map, ./ and trailing slashes, and Windows backslashes: none of what they leave out goes up', async () => {
    const local = tmpDir();
    writeTree(local, {
      'index.html': 'home',
      '.gitignore': 'x',
      '.git/config': 'token',
      'sub/.gitkeep': '',
      'node_modules/m/i.js': 'm',
      'js/app.js': 'app',
      'js/app.js.map': 'map',
      'js/important.map': 'imp',
      'drafts/a.html': 'draft',
      'assets/secret.txt': 'secret',
      'assets/logo.svg': '<svg/>',
      'dist/x.js': 'x',
      'dist/y.map': 'y',
      '.env': 'PASSWORD=1',
    });
    const dir = uniqueName('local');
    const excludes = [
      '**/.git*',
      '**/.git*/**',
      '**/node_modules/**',
      '*.map',
      '!important.map',
      './drafts/',
      'assets\\secret.txt',
      'dist\\*.map',
      '.env',
    ];
    const r = await runCli(['deploy', local, url(dir), ...excludes.flatMap((g) => ['--exclude', g])], env());
    expect(r.code).toBe(0);
    expect(readTree(path.join(srv.root, dir), STATE)).toEqual({
      'index.html': sha256('home'),
      'js/app.js': sha256('app'),
      'js/important.map': sha256('imp'),
      'assets/logo.svg': sha256('<svg/>'),
      'dist/x.js': sha256('x'),
    });
    expect(r.stderr).toContain("the exclude glob 'assets\\secret.txt' separates folders with a backslash");
    expect(r.stderr).toContain("write 'dist/*.map'");
  });
});

describe('a glob that leaves the folder', () => {
  it('--exclude ../x, a/../b or the absolute path of a file matches nothing (paths are inside the folder): exit 2, naming it and what to write', async () => {
    const local = tmpDir();
    writeTree(local, { 'secret.txt': 's', 'index.html': 'home' });
    const dir = uniqueName('local');
    const r = await runCli(['deploy', local, url(dir), '--exclude', '../site/secret.txt'], env());
    expect(r.stderr.split('\n').filter(Boolean)).toEqual([
      'ftpship: error: invalid --exclude glob "../site/secret.txt": globs are read inside the folder deployed, where no path holds "..", so it matches nothing; write it from the top of that folder, without ".."',
    ]);
    expect(r.code).toBe(2);
    // The file's absolute path: read inside the folder (a leading / is its top), it matched nothing.
    const abs = await runCli(['deploy', local, url(dir), '--exclude', path.join(local, 'secret.txt')], env());
    expect(abs.stderr.split('\n').filter(Boolean)).toEqual([
      `ftpship: error: invalid --exclude glob ${JSON.stringify(path.join(local, 'secret.txt'))}: the local folder's absolute path, but globs are read inside it (a leading / is its top), so it matches nothing; write "/secret.txt"`,
    ]);
    expect(abs.code).toBe(2);
    const keep = await runCli(['deploy', local, url(dir), '--keep', 'a/../uploads/**'], env());
    expect(keep.code).toBe(2);
    expect(keep.stderr).toContain('invalid --keep glob "a/../uploads/**"');
    expect(fs.existsSync(path.join(srv.root, dir))).toBe(false);
  });
});

describe('a trailing slash names folders (as in .gitignore)', () => {
  it('--exclude build/ leaves out the folders named build, not a file named build', async () => {
    const local = tmpDir();
    writeTree(local, { build: '#!/bin/sh', 'sub/build/x.js': 'x', 'index.html': 'home' });
    const dir = uniqueName('local');
    json(await runCli(['deploy', local, url(dir), '--json', '--exclude', 'build/'], env()));
    expect(readTree(path.join(srv.root, dir), STATE)).toEqual({
      build: sha256('#!/bin/sh'),
      'index.html': sha256('home'),
    });
  });
});

describe('files that cannot be read, names that cannot be stored', () => {
  // Exit 2 (was 1, "run it again"): a permission no rerun changes, as for the top folder.
  it('an unreadable file (the CLI runs as nobody): one line naming it, exit 2, nothing uploaded', async () => {
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
    expect(code).toBe(2);
    const lines = stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^ftpship: error: cannot read local file .*private\/key\.pem: EACCES/);
    expect(fs.existsSync(path.join(srv.root, dir, 'ok.txt'))).toBe(false); // failed before any upload
  });

  /** The CLI as nobody (root reads anything): its exit code and the lines of its stderr. */
  const asNobody = async (args: string[]): Promise<{ code: number | null; lines: string[] }> => {
    const child = spawn(process.execPath, [BIN, ...args], {
      uid: 65534,
      gid: 65534,
      env: { ...process.env, NODE_OPTIONS: '', ...env() },
      cwd: '/',
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    return { code, lines: stderr.split('\n').filter(Boolean) };
  };

  it('an unreadable folder inside (the CLI runs as nobody): one line naming it and the --exclude to write, exit 2, nothing uploaded; excluded, the rest goes up', async () => {
    if (process.getuid?.() !== 0) {
      console.warn('skipped: needs root to run the CLI as another user');
      return;
    }
    const local = tmpDir();
    writeTree(local, { 'ok.txt': 'ok', 'private/key.pem': 'KEY' });
    fs.chmodSync(local, 0o755);
    fs.chmodSync(path.join(local, 'ok.txt'), 0o644);
    fs.chmodSync(path.join(local, 'private'), 0o700); // root's own: nobody cannot list it
    const dir = uniqueName('local');
    const r = await asNobody(['deploy', local, url(dir)]);
    expect(r.lines).toEqual([
      expect.stringMatching(
        /^ftpship: error: cannot read local folder .*\/private: EACCES.*; check its permissions or exclude it with --exclude '\/private'$/,
      ),
    ]);
    expect(r.code).toBe(2);
    expect(fs.existsSync(path.join(srv.root, dir, 'ok.txt'))).toBe(false); // failed before any upload
    // One that may be listed but not entered: its files cannot be looked at (not a name to change).
    fs.chmodSync(path.join(local, 'private'), 0o744);
    const entered = await asNobody(['deploy', local, url(dir)]);
    expect(entered.lines).toEqual([
      expect.stringMatching(
        /^ftpship: error: cannot read local file .*\/private\/key\.pem: EACCES.*; check its permissions or exclude it with --exclude$/,
      ),
    ]);
    expect(entered.code).toBe(2);
    const ok = await asNobody(['deploy', local, url(dir), '--exclude', '/private']);
    expect(ok.code).toBe(0);
    expect(readTree(path.join(srv.root, dir), STATE)).toEqual({ 'ok.txt': sha256('ok') });
  });

  it('an unreadable local folder (the CLI runs as nobody): a usage error naming it, exit 2, nothing sent', async () => {
    if (process.getuid?.() !== 0) {
      console.warn('skipped: needs root to run the CLI as another user');
      return;
    }
    const local = tmpDir();
    writeTree(local, { 'ok.txt': 'ok' });
    fs.chmodSync(local, 0o700); // root's own
    const dir = uniqueName('local');
    const r = await asNobody(['deploy', local, url(dir)]);
    expect(r.lines).toEqual([
      `ftpship: error: local folder ${JSON.stringify(local)} cannot be read (EACCES); check its permissions for the user running ftpship`,
    ]);
    expect(r.code).toBe(2);
    expect(fs.existsSync(path.join(srv.root, dir))).toBe(false);
    // One inside it: nobody cannot even tell whether it exists (it used to be told it does not).
    const inner = path.join(local, 'site');
    fs.mkdirSync(inner);
    const deeper = await asNobody(['deploy', inner, url(dir)]);
    expect(deeper.lines).toEqual([
      `ftpship: error: local folder ${JSON.stringify(inner)} cannot be reached (EACCES); check its permissions and those of the folders above it for the user running ftpship`,
    ]);
    expect(deeper.code).toBe(2);
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
