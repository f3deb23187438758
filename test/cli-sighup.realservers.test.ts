/**
 * SIGHUP (the terminal or SSH session closed) on `ftpship deploy` mid-upload. Started as usual, it stops as on
 * SIGTERM, with 129: the lock released, what was sent in the state, the rerun sends only the rest (was: killed by
 * the signal, the lock left), even when nothing it writes reaches anyone any more. Started with `nohup`, the
 * hang-up is ignored and the deploy finishes (was: killed all the same: Node resets the SIGHUP that nohup
 * ignores to its default before any JavaScript runs). Two SIGHUPs each time, as a closed terminal sends them
 * (the shell's to its jobs, then the kernel's as the shell exits).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { pathToFileURL } from 'node:url';
import { startCli, type CliRun } from './helpers/cli.js';
import { BIN, spawnCli } from './helpers/cli-spawn.js';
import { realServerSuite, remoteFolders, type RealServer } from './helpers/real-servers.js';
import { readTree, tmpDir, writeTree } from './helpers/tmp.js';

const { describe: d, each } = realServerSuite('cli-sighup.realservers');
const target = remoteFolders('h-hup7-sighup');
const FILES = 80;

/** A site of FILES pages, its server folder, and the deploy's arguments (verbose: a line per STOR). */
function scene(server: RealServer): {
  local: string;
  disk: string;
  args: string[];
  env: Record<string, string>;
} {
  const local = tmpDir('ftpship-h-hup7-');
  const files: Record<string, string> = {};
  for (let i = 0; i < FILES; i++) files[`p/f${i}.txt`] = `page ${i}`;
  writeTree(local, files);
  const { dir, disk } = target(server);
  const url = `ftp://${server.user}@${server.host}:${server.port}${dir}`;
  // `_` as a shell sets it running node itself (not nohup): the test runner's own may say anything.
  const env = { FTPSHIP_PASSWORD: server.password, _: process.execPath };
  return { local, disk, args: ['deploy', local, url, '--parallel', '2', '--verbose'], env };
}

/** Once the uploads have begun: two SIGHUPs, as a closed terminal sends them. */
async function hangUp(run: CliRun): Promise<void> {
  expect(await run.waitForLine(/> STOR /, 5)).toBeDefined();
  expect(run.child.kill('SIGHUP')).toBe(true);
  run.child.kill('SIGHUP');
}

function savedCount(disk: string): number {
  const state = JSON.parse(fs.readFileSync(path.join(disk, '.ftpship-state.json'), 'utf8')) as {
    files: Record<string, unknown>;
  };
  return Object.keys(state.files).length;
}

d.each(each('pure', 'vsftpd'))('%s: SIGHUP during the uploads', (_name, server) => {
  it('exit 129 with the cancel message, the lock released, the state saved; the rerun sends only the rest (was: killed by the signal, the lock left)', async () => {
    const { local, disk, args, env } = scene(server);
    const run = startCli(args, env);
    const killer = setTimeout(() => run.child.kill('SIGKILL'), 15_000);
    await hangUp(run);
    const r = await run.done;
    clearTimeout(killer);
    expect(r.signal).toBeNull();
    expect(r.code).toBe(129);
    expect(r.stderr).toMatch(/^warning: SIGHUP: stopping .*; SIGINT or SIGTERM to quit at once$/m);
    expect(r.stderr).toMatch(
      /^ftpship: error: deploy cancelled \(SIGHUP\): no new transfer was started, what was done is recorded in the state and the lock released; rerun/m,
    );
    expect(fs.existsSync(path.join(disk, '.ftpship-state.json.lock'))).toBe(false);
    const saved = savedCount(disk);
    expect(saved).toBeGreaterThan(0);
    expect(saved).toBeLessThan(FILES);
    const rerun = await startCli(args.slice(0, 3), env).done;
    expect(rerun.code).toBe(0);
    expect(rerun.stderr).toContain(`; ${saved} unchanged;`);
    expect(readTree(disk, ['.ftpship-state.json'])).toEqual(readTree(local));
  });
});

d.each(each('pure'))('%s: SIGHUP with stderr gone', (_name, server) => {
  it('every write to stderr failing (EPIPE), the hang-up still cancels: exit 129, the lock released, the state saved', async () => {
    const { disk, args, env } = scene(server);
    const run = startCli([...args, '--json'], env);
    const killer = setTimeout(() => run.child.kill('SIGKILL'), 15_000);
    expect(await run.waitForLine(/> STOR /, 5)).toBeDefined();
    // The reader of stderr goes away (a terminal closed): what the CLI writes there from now on fails.
    run.child.stderr?.destroy();
    run.child.kill('SIGHUP');
    run.child.kill('SIGHUP');
    const r = await run.done;
    clearTimeout(killer);
    expect(r.signal).toBeNull();
    expect(r.code).toBe(129);
    // stdout still reads: the JSON failure says the same.
    expect(JSON.parse(r.stdout)).toMatchObject({
      exitCode: 129,
      error: expect.stringMatching(/^deploy cancelled \(SIGHUP\)/),
    });
    expect(fs.existsSync(path.join(disk, '.ftpship-state.json.lock'))).toBe(false);
    expect(savedCount(disk)).toBeGreaterThan(0);
    expect(savedCount(disk)).toBeLessThan(FILES);
  });
});

d.each(each('pure'))('%s: SIGHUP to a deploy started with nohup', (_name, server) => {
  it.each([
    // bash (as zsh) names the command it runs in `_`: `nohup ftpship deploy …` from a shell.
    ['`nohup` run by bash', () => ({ launcher: ['bash', '-c', 'nohup "$@"', 'bash'] })],
    // nohup given a terminal as stdin (a shell's `nohup … &`) leaves it /dev/null, opened for writing only.
    [
      'stdin /dev/null for writing only (nohup from a terminal)',
      () => ({ stdin: fs.openSync('/dev/null', 'w') }),
    ],
  ] as const)(
    '%s: the hang-up is ignored, the deploy goes on and finishes, exit 0 (was: killed by the signal)',
    async (_how, how) => {
      const { local, disk, args, env } = scene(server);
      const launch = how();
      const run = startCli(args, env, undefined, launch);
      if ('stdin' in launch) fs.closeSync(launch.stdin);
      const killer = setTimeout(() => run.child.kill('SIGKILL'), 15_000);
      await hangUp(run);
      const r = await run.done;
      clearTimeout(killer);
      expect(r.signal).toBeNull();
      expect(r.stderr).not.toContain('SIGHUP');
      expect(r.code).toBe(0);
      expect(fs.existsSync(path.join(disk, '.ftpship-state.json.lock'))).toBe(false);
      expect(savedCount(disk)).toBe(FILES);
      expect(readTree(disk, ['.ftpship-state.json'])).toEqual(readTree(local));
    },
  );
});

d.each(each('pure'))('%s: SIGHUP while the CLI loads', (_name, server) => {
  it('two hang-ups before the deploy listens: exit 129 with the message, the folder not made (was: killed by the signal)', async () => {
    const { disk, args, env } = scene(server);
    // A module hook sends SIGHUP twice as the CLI's own module is asked for (held by bin/ftpship.js till then).
    const dir = tmpDir('ftpship-h-hup7-hook-');
    const hooks = path.join(dir, 'hooks.mjs');
    fs.writeFileSync(
      hooks,
      `export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (/\\/dist\\/src\\/cli(\\.bundle)?\\.js$/.test(r.url)) {
    process.kill(process.pid, 'SIGHUP');
    process.kill(process.pid, 'SIGHUP');
  }
  return r;
}
`,
    );
    const register = path.join(dir, 'register.mjs');
    fs.writeFileSync(
      register,
      `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
    );
    const r = await spawnCli(args, {
      env,
      command: [process.execPath, '--import', pathToFileURL(register).href, BIN],
    });
    expect(r.code).toBe(129);
    // (--verbose: a connection cut by the cancel may log its close after that line.)
    expect(r.stderr.trim().split('\n')).toContain('ftpship: error: cancelled (SIGHUP): nothing was changed');
    expect(fs.existsSync(disk)).toBe(false);
  });
});

/** A line of shell: the argument quoted. */
const sq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The deploy in a terminal (`script` gives it a pty as stdout and stderr) that closes (`script` killed: every
 * write fails with EIO) once the uploads have begun; then `hangUp` (SIGHUP or not). What it exits with.
 */
async function inClosingTerminal(
  args: string[],
  env: Record<string, string>,
  hangUp: boolean,
): Promise<string> {
  const dir = tmpDir('ftpship-h-hup7-tty-');
  const pidFile = path.join(dir, 'pid');
  const rcFile = path.join(dir, 'rc');
  // The shell in the terminal ignores the hang-up, to tell what ftpship exits with.
  const deploy = [process.execPath, BIN, ...args].map(sq).join(' ');
  const inner = `trap "" HUP; ${deploy} & echo $! > ${sq(pidFile)}; wait $!; echo $? > ${sq(rcFile)}`;
  const term = spawn('script', ['-qfc', inner, '/dev/null'], {
    env: { ...process.env, NODE_OPTIONS: '', SHELL: '/bin/sh', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let shown = '';
  const stor = new Promise<void>((resolve) =>
    term.stdout.on('data', (c: Buffer) => {
      shown += c.toString();
      if ((shown.match(/> STOR /g) ?? []).length >= 5) resolve();
    }),
  );
  const killer = setTimeout(() => {
    term.kill('SIGKILL');
    if (fs.existsSync(pidFile)) process.kill(Number(fs.readFileSync(pidFile, 'utf8')), 'SIGKILL');
  }, 15_000);
  try {
    await stor;
    term.kill('SIGKILL'); // the terminal is gone
    await new Promise((r) => term.on('close', r));
    if (hangUp) {
      const pid = Number(fs.readFileSync(pidFile, 'utf8'));
      process.kill(pid, 'SIGHUP');
      process.kill(pid, 'SIGHUP');
    }
    for (let i = 0; i < 100 && !fs.existsSync(rcFile); i++) await new Promise((r) => setTimeout(r, 100));
    return fs.readFileSync(rcFile, 'utf8').trim();
  } finally {
    clearTimeout(killer);
  }
}

d.each(each('pure'))('%s: the terminal itself closes', (_name, server) => {
  const withScript = fs.existsSync('/usr/bin/script') ? it : it.skip;
  withScript(
    'SIGHUP after its terminal hung up (every write EIO): exit 129, the lock released, the state saved (was: killed by the signal; then Node aborted on its way out, 134)',
    async () => {
      const { disk, args, env } = scene(server);
      expect(await inClosingTerminal(args, env, true)).toBe('129');
      expect(fs.existsSync(path.join(disk, '.ftpship-state.json.lock'))).toBe(false);
      expect(savedCount(disk)).toBeGreaterThan(0);
      expect(savedCount(disk)).toBeLessThan(FILES);
    },
  );
  withScript(
    'no SIGHUP (as under setsid or disown): the deploy finishes, exit 0 (was: every file sent, then Node aborted on its way out, 134)',
    async () => {
      const { local, disk, args, env } = scene(server);
      expect(await inClosingTerminal(args, env, false)).toBe('0');
      expect(readTree(disk, ['.ftpship-state.json'])).toEqual(readTree(local));
    },
  );
});
