/**
 * --exclude and --keep through the `ftpship` command (spawned, as a user runs it) against ftp-srv: a `!folder/`
 * that follows a file glob, a `folder/` exclude or keep beside a file of that name, and `folder/**` beside one.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { useEmbeddedCli } from './helpers/embedded.js';
import { actionConnection, actionWorkspace, expectSuccess } from './helpers/action.js';
import { runMain } from './helpers/action-main.js';
import type { SpawnResult } from './helpers/cli-spawn.js';
import { readTree, tmpDir, uniqueName, writeTree } from './helpers/tmp.js';

const { srv, url, cli } = useEmbeddedCli();

const STATE = '.ftpship-state.json';

async function deploy(local: string, dir: string, args: string[]): Promise<SpawnResult> {
  return cli(['deploy', local, url(dir), ...args]);
}

describe('--exclude, the last match deciding as in .gitignore', () => {
  it('`!config/` after `.env` takes back the folder, not the .env inside it (it used to go up)', async () => {
    const local = tmpDir();
    writeTree(local, {
      '.env': 'SECRET=1',
      'config/.env': 'SECRET=2',
      'config/app.php': '<?php',
      'index.html': 'hi',
    });
    const dir = uniqueName('neg');
    const r = await deploy(local, dir, ['--exclude', '.env', '--exclude', '!config/']);
    expect(r.code).toBe(0);
    expect(Object.keys(readTree(path.join(srv().root, dir), [STATE])).sort()).toEqual([
      'config/app.php',
      'index.html',
    ]);
  });

  it('`build/` names folders: a deployed file named build, gone locally, is deleted (it used to stay, untracked)', async () => {
    const local = tmpDir();
    writeTree(local, { build: 'a file', 'index.html': 'hi' });
    const dir = uniqueName('dironly');
    expect((await deploy(local, dir, ['--exclude', 'build/'])).code).toBe(0);
    expect(Object.keys(readTree(path.join(srv().root, dir), [STATE])).sort()).toEqual([
      'build',
      'index.html',
    ]);
    fs.rmSync(path.join(local, 'build'));
    const r = await deploy(local, dir, ['--exclude', 'build/']);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain('now match --exclude');
    expect(Object.keys(readTree(path.join(srv().root, dir), [STATE])).sort()).toEqual(['index.html']);
  });

  it("the Action's `exclude` block as FTP-Deploy-Action users paste it, with a comment, an empty line, a trailing space and a `!folder/`", async () => {
    const { ws } = actionWorkspace({
      '.git/config': 'token',
      '.github/workflows/ci.yml': 'ci',
      'node_modules/x/i.js': 'x',
      '.env': 'SECRET=1',
      'config/.env': 'SECRET=2',
      'config/app.php': '<?php',
      'index.html': 'hi',
    });
    const dir = uniqueName('fda');
    const exclude = '**/.git*\n**/.git*/**   \n\n# secrets\n**/node_modules/**\n.env # never\n!config/\n';
    expectSuccess(await runMain(ws, { ...actionConnection(srv(), `${dir}/`), exclude }));
    expect(Object.keys(readTree(path.join(srv().root, dir), [STATE])).sort()).toEqual([
      'config/app.php',
      'index.html',
    ]);
  });
});

describe('--keep `d/` and `d/**` name the folder d, not a file d (as in .gitignore)', () => {
  const onServer = (dir: string): string[] =>
    Object.keys(readTree(path.join(srv().root, dir), [STATE])).sort();

  it('`--keep d/`: a deployed file d gone locally is deleted as any orphan (it used to stay, kept)', async () => {
    const local = tmpDir();
    writeTree(local, { d: 'a file', 'index.html': 'hi' });
    const dir = uniqueName('keepfile');
    expect((await deploy(local, dir, ['--keep', 'd/'])).code).toBe(0);
    expect(onServer(dir)).toEqual(['d', 'index.html']);
    fs.rmSync(path.join(local, 'd'));
    const r = await deploy(local, dir, ['--keep', 'd/']);
    expect(r.code).toBe(0);
    expect(onServer(dir)).toEqual(['index.html']);
  });

  it('`--keep d/`: a deployed folder d gone locally stays, with what it holds', async () => {
    const local = tmpDir();
    writeTree(local, { 'd/x.txt': 'x', 'index.html': 'hi' });
    const dir = uniqueName('keepdir');
    expect((await deploy(local, dir, ['--keep', 'd/'])).code).toBe(0);
    fs.rmSync(path.join(local, 'd'), { recursive: true });
    const r = await deploy(local, dir, ['--keep', 'd/']);
    expect(r.code).toBe(0);
    expect(onServer(dir)).toEqual(['d/x.txt', 'index.html']);
  });

  it('`--keep d/**`: a deployed file d gone locally is deleted (it used to stay); a folder d stays, whole', async () => {
    const local = tmpDir();
    writeTree(local, { d: 'a file', 'e/x.txt': 'x', 'index.html': 'hi' });
    const dir = uniqueName('keepbelow');
    expect((await deploy(local, dir, [])).code).toBe(0);
    fs.rmSync(path.join(local, 'd'));
    fs.rmSync(path.join(local, 'e'), { recursive: true });
    const r = await deploy(local, dir, ['--keep', 'd/**', '--keep', 'e/**']);
    expect(r.code).toBe(0);
    expect(onServer(dir)).toEqual(['e/x.txt', 'index.html']);
    expect(fs.statSync(path.join(srv().root, dir, 'e')).isDirectory()).toBe(true);
  });

  it('`--exclude d/**` leaves out what a folder d holds, not a local file d (it used to leave the file out)', async () => {
    const local = tmpDir();
    writeTree(local, { d: 'a file', 'e/x.txt': 'x', 'index.html': 'hi' });
    const dir = uniqueName('exclbelow');
    const r = await deploy(local, dir, ['--exclude', 'd/**', '--exclude', 'e/**']);
    expect(r.code).toBe(0);
    expect(onServer(dir)).toEqual(['d', 'index.html']);
    // The folder e is left out whole, as before: no empty e on the server.
    expect(fs.existsSync(path.join(srv().root, dir, 'e'))).toBe(false);
  });

  it('the Action: `exclude: d/**` with `files` sends a file d; `keep: k/` lets a deployed file k go (both used to stay)', async () => {
    const { ws, site } = actionWorkspace({ d: 'a file', k: 'a file', 'e/x.txt': 'x', 'index.html': 'hi' });
    const dir = uniqueName('actbelow');
    const inputs = { ...actionConnection(srv(), `${dir}/`), files: '**', exclude: 'd/**\ne/**', keep: 'k/' };
    expectSuccess(await runMain(ws, inputs));
    expect(onServer(dir)).toEqual(['d', 'index.html', 'k']);
    fs.rmSync(path.join(site, 'k'));
    expectSuccess(await runMain(ws, inputs));
    expect(onServer(dir)).toEqual(['d', 'index.html']);
  });

  it('the Action: `files` with an `exclude` written as the absolute path of a file in local-dir is refused, naming the glob to write', async () => {
    // The Action gives deploy() the files alone (deploy() refuses a folder and files both), so this check of
    // the folder's excludes is its own: without it, secret.txt went up.
    const { ws, site } = actionWorkspace({ 'secret.txt': 'shh', 'index.html': 'hi' });
    const dir = uniqueName('actabs');
    const inputs = {
      ...actionConnection(srv(), `${dir}/`),
      files: '**',
      exclude: path.join(site, 'secret.txt'),
    };
    const run = await runMain(ws, inputs);
    expect(run.status).toBe(1);
    expect(run.stdout).toContain(
      `::error::invalid exclude glob ${JSON.stringify(path.join(site, 'secret.txt'))}`,
    );
    expect(run.stdout).toContain('write "/secret.txt"');
    expect(fs.existsSync(path.join(srv().root, dir))).toBe(false);
  });
});
