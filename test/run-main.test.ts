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
