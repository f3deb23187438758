/**
 * bin/ftpship.js when `main()` never settles: Node would exit 0, silently, once its event loop drains (a
 * deploy that looks done). The real bin runs with dist/src/cli.js (and its bundle, cli.bundle.js) swapped (a module
 * hook) for a `main()` that stalls, resolves, or resolves after a timer.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { assertBuilt, BIN, spawnCli } from './helpers/cli-spawn.js';
import { tmpDir } from './helpers/tmp.js';

let register: string;
beforeAll(() => {
  assertBuilt();
  const dir = tmpDir('ftpship-run-main-');
  const stub = path.join(dir, 'cli-stub.mjs');
  fs.writeFileSync(
    stub,
    `export async function main() {
  const mode = process.env.STUB_MODE;
  if (mode === 'stall') return new Promise(() => {});
  if (mode === 'stall-live') {
    // A deploy that stalls while its live line is on a terminal (stderr as a terminal 80 columns wide).
    const { CliOutput } = await import(${JSON.stringify(pathToFileURL(path.resolve(path.dirname(BIN), '../dist/src/cli-output.js')).href)});
    const stderr = { isTTY: true, columns: 80, write: (s) => process.stderr.write(s) };
    const out = new CliOutput({ quiet: false, verbose: false, secrets: [], stderr, ci: false });
    await out.ready();
    out.reporter().progress({ filesDone: 1, filesTotal: 4, bytesDone: 1048576, bytesTotal: 4194304 });
    return new Promise(() => {});
  }
  if (mode === 'throw') throw new Error('h-cli14 thrown out of main');
  if (mode === 'timer') return new Promise((resolve) => setTimeout(() => resolve(3), 50));
  return 0;
}
`,
  );
  const hooks = path.join(dir, 'hooks.mjs');
  fs.writeFileSync(
    hooks,
    `export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  return /\\/dist\\/src\\/cli(\\.bundle)?\\.js$/.test(r.url) ? { url: ${JSON.stringify(pathToFileURL(stub).href)}, shortCircuit: true } : r;
}
`,
  );
  register = path.join(dir, 'register.mjs');
  fs.writeFileSync(
    register,
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
  );
});

const runBin = async (mode: string, args = ['deploy', 'site', 'ftp://u@127.0.0.1/x']) =>
  spawnCli(args, {
    command: [process.execPath, '--import', register, BIN],
    env: { STUB_MODE: mode },
  });

describe('bin/ftpship.js and a main() that never settles', () => {
  it('a deploy whose promise never settles exits 70 with a one-line internal error, not 0 in silence', async () => {
    const r = await runBin('stall');
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^ftpship: internal error: the deploy stopped without finishing/),
    ]);
    expect(r.stderr).toMatch(/run the same command again, it resumes/);
    expect(r.code).toBe(70);
  });

  it('stalled while the live progress line is on a terminal: exit 70 too, the line cleared and the cursor given back (was: redrawn for ever)', async () => {
    const r = await spawnCli(['deploy', 'site', 'ftp://u@127.0.0.1/x'], {
      command: [process.execPath, '--import', register, BIN],
      env: { STUB_MODE: 'stall-live', TERM: 'xterm-256color' },
      timeoutMs: 20_000,
    });
    expect(r.stderr).toContain('1/4 files | 1.0 MiB of 4.0 MiB');
    expect(r.code).toBe(70);
    const esc = String.fromCharCode(27);
    // The cursor shown and line wrap on again, the line cleared, then the message from its start.
    expect(r.stderr).toMatch(
      new RegExp(`${esc}\\[\\?25h${esc}\\[\\?7h.*${esc}\\[2Kftpship: internal error: the deploy stopped`),
    );
  });

  it('a main() that settles, at once or after a timer, exits with its code and nothing more', async () => {
    const now = await runBin('done');
    expect([now.code, now.stderr]).toEqual([0, '']);
    const later = await runBin('timer');
    expect([later.code, later.stderr]).toEqual([3, '']);
  });
});

/**
 * With --json, stdout is one JSON document whatever happens (README): a stall (exit 70) or an error thrown out of
 * main() (exit 1) printed their line on stderr and left stdout empty, so a script's JSON.parse failed.
 */
describe('bin/ftpship.js --json and a failure main() did not report', () => {
  it('a stall: the error as JSON on stdout, exit 70 (was: stdout empty)', async () => {
    const r = await runBin('stall', ['plan', 'site', 'ftp://u@127.0.0.1/x', '--json']);
    expect(r.code).toBe(70);
    expect(JSON.parse(r.stdout)).toEqual({
      version: 1,
      dryRun: true,
      error: expect.stringMatching(/^internal error: the deploy stopped without finishing/),
      exitCode: 70,
    });
  });

  it('an error thrown out of main(): the error as JSON on stdout, exit 1 (was: stdout empty)', async () => {
    const r = await runBin('throw', ['deploy', '--json', 'site', 'ftp://u@127.0.0.1/x']);
    expect([r.code, r.stderr]).toEqual([1, 'ftpship: error: h-cli14 thrown out of main\n']);
    expect(JSON.parse(r.stdout)).toEqual({
      version: 1,
      dryRun: false,
      error: 'h-cli14 thrown out of main',
      exitCode: 1,
    });
  });

  it('without --json, or --json after --: stdout stays empty', async () => {
    const r = await runBin('throw');
    expect([r.code, r.stdout]).toEqual([1, '']);
    const after = await runBin('stall', ['deploy', '--', 'site', '--json']);
    expect([after.code, after.stdout]).toEqual([70, '']);
  });
});
