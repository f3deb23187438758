/**
 * Issue 4: the `ftpship` bin works after `npm pack` + `npm install <tgz>` into a fresh project — `--help`,
 * a real deploy to ftp-srv, and `import { deploy } from 'ftpship'`. Slow (npm install), so in its own file.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { EmbeddedServer } from '../src/embedded-server.js';
import { embedded } from './helpers/embedded.js';
import { assertBuilt, REPO, spawnCli } from './helpers/cli-spawn.js';
import { readTree, tmpDir, writeTree } from './helpers/tmp.js';

let srv: EmbeddedServer;
let project: string;
let bin: string;

beforeAll(async () => {
  assertBuilt();
  srv = await embedded();
  const packDir = tmpDir('ftpship-pack-');
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', packDir], {
    cwd: REPO,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tgz = path.join(packDir, (JSON.parse(out) as Array<{ filename: string }>)[0].filename);
  project = tmpDir('ftpship-install-');
  fs.writeFileSync(
    path.join(project, 'package.json'),
    JSON.stringify({ name: 'uses-ftpship', version: '1.0.0', private: true, type: 'module' }),
  );
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--omit=dev', tgz], {
    cwd: project,
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 150_000,
  });
  bin = path.join(project, 'node_modules', '.bin', 'ftpship');
}, 180_000);

afterAll(async () => {
  await srv?.close();
});

describe('the installed package', () => {
  it('ships the built code, the bin and the example site, and no tests or sources', () => {
    const pkg = path.join(project, 'node_modules', 'ftpship');
    expect(fs.existsSync(path.join(pkg, 'dist/src/cli.js'))).toBe(true);
    expect(fs.existsSync(path.join(pkg, 'examples/site/index.html'))).toBe(true);
    expect(fs.existsSync(path.join(pkg, 'test'))).toBe(false);
    expect(fs.existsSync(path.join(pkg, 'src'))).toBe(false);
    expect(fs.statSync(bin).isFile() || fs.lstatSync(bin).isSymbolicLink()).toBe(true);
  });

  it('`ftpship --help` lists the commands', async () => {
    const r = await spawnCli(['--help'], { command: [bin], cwd: project });
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/deploy \[options\] <local-dir> <url>/);
    expect(r.stdout + r.stderr).toMatch(/plan \[options\] <local-dir> <url>/);
    expect(r.stdout + r.stderr).toMatch(/demo/);
    const v = await spawnCli(['--version'], { command: [bin], cwd: project });
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(
      (JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version,
    );
  });

  it('`ftpship deploy` publishes a folder and `ftpship plan` then finds nothing to do', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': '<h1>installed</h1>', 'css/a.css': 'a{}' });
    const target = `ftp://${srv.user}@${srv.host}:${srv.port}/installed`;
    const r = await spawnCli(['deploy', local, target], {
      command: [bin],
      cwd: project,
      env: { FTPSHIP_PASSWORD: srv.password },
    });
    expect(r.stderr).toMatch(/deployed: did upload 2/);
    expect(r.code).toBe(0);
    expect(readTree(path.join(srv.root, 'installed'), ['.ftpship-state.json'])).toEqual(readTree(local));
    const p = await spawnCli(['plan', local, target, '--json'], {
      command: [bin],
      cwd: project,
      env: { FTPSHIP_PASSWORD: srv.password },
    });
    expect(p.code).toBe(0);
    expect(JSON.parse(p.stdout)).toMatchObject({ dryRun: true, files: [], counts: { unchanged: 2 } });
  });

  it('`ftpship demo` needs the checkout (ftp-srv is a dev dependency) and says so in one line', async () => {
    const r = await spawnCli(['demo'], { command: [bin], cwd: project });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      'ftpship: error: the embedded FTP server needs the dev dependency ftp-srv: run `npm ci` in the ftpship checkout',
    ]);
  });

  it('the library entry point imports', async () => {
    const script = "import('ftpship').then((m) => console.log(typeof m.deploy))";
    const r = await spawnCli(['--input-type=module', '-e', script], {
      command: [process.execPath],
      cwd: project,
    });
    expect(r.stdout.trim()).toBe('function');
  });
});
