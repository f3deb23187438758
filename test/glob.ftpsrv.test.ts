/**
 * --exclude through the `ftpship` command (spawned, as a user runs it) against ftp-srv: a `!folder/` that
 * follows a file glob, and a `folder/` exclude beside a deployed file of that name.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import type { EmbeddedServer } from '../src/embedded-server.js';
import { useEmbeddedCli } from './helpers/embedded.js';
import { actionConnection, actionWorkspace, expectSuccess } from './helpers/action.js';
import { runMain } from './helpers/action-main.js';
import type { SpawnResult } from './helpers/cli-spawn.js';
import { readTree, tmpDir, uniqueName, writeTree } from './helpers/tmp.js';

const embeddedCli = useEmbeddedCli();
const { url, cli } = embeddedCli;
let srv: EmbeddedServer;
beforeAll(() => {
  srv = embeddedCli.srv();
});

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
    expect(Object.keys(readTree(path.join(srv.root, dir), [STATE])).sort()).toEqual([
      'config/app.php',
      'index.html',
    ]);
  });

  it('`build/` names folders: a deployed file named build, gone locally, is deleted (it used to stay, untracked)', async () => {
    const local = tmpDir();
    writeTree(local, { build: 'a file', 'index.html': 'hi' });
    const dir = uniqueName('dironly');
    expect((await deploy(local, dir, ['--exclude', 'build/'])).code).toBe(0);
    expect(Object.keys(readTree(path.join(srv.root, dir), [STATE])).sort()).toEqual(['build', 'index.html']);
    fs.rmSync(path.join(local, 'build'));
    const r = await deploy(local, dir, ['--exclude', 'build/']);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain('now match --exclude');
    expect(Object.keys(readTree(path.join(srv.root, dir), [STATE])).sort()).toEqual(['index.html']);
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
    expectSuccess(await runMain(ws, { ...actionConnection(srv, `${dir}/`), exclude }));
    expect(Object.keys(readTree(path.join(srv.root, dir), [STATE])).sort()).toEqual([
      'config/app.php',
      'index.html',
    ]);
  });
});
