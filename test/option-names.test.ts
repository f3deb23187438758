/**
 * An error about an option's value names the option as the user gave it: the CLI's flag, the Action's input,
 * the gulp option. The engine named some by the library's names ("invalid exclude glob", "invalid state path",
 * "invalid maintenance file"), which a CLI user never typed (--exclude, --state, --maintenance) and an Action
 * user neither (state-path, maintenance-file). Each run stops at the options: no server is reached (the port is
 * closed; a run that got that far would fail there instead).
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import PluginError from 'plugin-error';
import { deploy as gulpDeploy, type GulpDeployOptions } from '../gulp-plugin/index.js';
import { actionConnection, actionWorkspace } from './helpers/action.js';
import { runMain } from './helpers/action-main.js';
import { assertBuilt, spawnCli } from './helpers/cli-spawn.js';
import { tmpDir, writeTree } from './helpers/tmp.js';
import { unusedPort } from './helpers/ports.js';

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

let port: number;
beforeAll(async () => {
  assertBuilt();
  port = await unusedPort();
});

describe('the CLI names the flag', () => {
  it.each([
    [['--state', 'dir/'], 'invalid --state "dir/"; name a file, e.g. .ftpship-state.json'],
    [
      ['--maintenance', '../m'],
      'invalid --maintenance "../m"; give a file path relative to the server folder, such as .maintenance',
    ],
    [['--exclude', '!'], 'invalid --exclude glob "!": it names no path'],
    [['--keep', '.'], 'invalid --keep glob ".": it names no path'],
    [['--parallel', '0'], 'invalid --parallel 0; use a whole number from 1 to 64'],
  ])('%j: exit 2, "%s"', async (flags, message) => {
    const local = tmpDir('ftpship-h-cli4-');
    writeTree(local, { 'a.txt': 'a' });
    const r = await spawnCli(['deploy', local, `ftp://u@127.0.0.1:${port}/h-cli4`, ...flags], {
      env: { FTPSHIP_PASSWORD: 'h-cli4-secret' },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^ftpship: error: ${escape(message)}`));
  });
});

describe('the Action names the input', () => {
  it.each([
    [{ 'state-path': 'dir/' }, 'invalid state-path "dir/"; name a file'],
    // FTP-Deploy-Action's name for the same: the input given is the one named.
    [{ 'state-name': 'dir/' }, 'invalid state-name "dir/"; name a file'],
    [{ 'maintenance-file': '../m' }, 'invalid maintenance-file "../m"; give a file path relative'],
    [{ keep: '.' }, 'invalid keep glob ".": it names no path'],
  ])('%j: "%s"', async (inputs, message) => {
    const { ws } = actionWorkspace({ 'index.html': 'x' });
    const run = await runMain(ws, {
      ...actionConnection({ host: '127.0.0.1', port, user: 'u', password: 'h-cli4-secret' }, 'h-cli4/'),
      ...inputs,
    });
    expect(run.status).not.toBe(0);
    const errors = run.stdout.split('\n').filter((l) => l.startsWith('::error::'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(new RegExp(`^::error::${escape(message)}`));
  });
});

describe('the gulp plugin names the option', () => {
  it.each([
    [{ statePath: 'dir/' }, 'invalid statePath "dir/"; name a file'],
    [{ maintenance: { path: '../m' } }, 'invalid maintenance.path "../m"; give a file path relative'],
    [{ keep: ['.'] }, 'invalid keep glob ".": it names no path'],
    [{ timeoutMs: 5 }, 'invalid timeoutMs 5; use a whole number of milliseconds'],
  ])('%j: "%s"', (bad, message) => {
    let err: unknown;
    try {
      gulpDeploy({ host: '127.0.0.1', port, user: 'u', password: 'p', ...bad } as GulpDeployOptions);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PluginError);
    expect((err as Error).message).toMatch(new RegExp(`^${escape(message)}`));
  });
});
