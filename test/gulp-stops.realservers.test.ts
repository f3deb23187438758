/**
 * The real gulp 5 CLI running a gulpfile that deploys with the plugin, stopped as a user stops it (Ctrl-C, another
 * task failing, a step after deploy() failing), against pure-ftpd and vsftpd: the lock must be released before
 * the process ends, the state honest, so that a rerun converges at once, without waiting for a stale lock.
 * Needs `npm run build` (the gulpfile imports `ftpship/gulp`, which points into dist/).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { stripVTControlCharacters } from 'node:util';
import { beforeAll, expect, it } from '@jest/globals';
import gulp from 'gulp';
import { deploy } from '../gulp-plugin/index.js';
import type { DeployReport } from '../src/engine/report.js';
import { consumerDir, repoRoot, requireBuild } from './helpers/gulp.js';
import { gulpOptions, runTaskOrThrow } from './helpers/gulp-tasks.js';
import { realServerSuite, remoteFolders, type RealServer } from './helpers/real-servers.js';
import { readTree, writeTree } from './helpers/tmp.js';

const { describe, env, opts } = realServerSuite('gulp stops');
const target = remoteFolders('h-gulp6-stops');
const STATE = '.ftpship-state.json';
const LOCK = `${STATE}.lock`;

beforeAll(() => {
  requireBuild();
});

const ADDED = [1, 2, 3, 4, 5, 6].map((i) => `site/p/${i}.bin`);

/** The plugin's options in the gulpfiles below (the password comes from the environment): one connection. */
function pluginOptions(server: RealServer, dir: string): Record<string, unknown> {
  return {
    host: server.host,
    port: server.port,
    user: server.user,
    secure: false,
    remoteDir: dir,
    parallel: 1,
    retryDelayMs: 10,
    timeoutMs: 10_000,
  };
}

/**
 * A consumer folder with a gulpfile deploying `site/` to `dir` one file at a time; once the first file is up
 * (the plugin's first progress line), the gulp process gets `signal` (as from Ctrl-C in its terminal; a
 * hang-up twice, as a closed terminal sends it), if given, and `firstUp` resolves (the failing task and step
 * wait for it).
 */
function scene(server: RealServer, dir: string, signal?: 'SIGINT' | 'SIGTERM' | 'SIGHUP'): string {
  const cwd = consumerDir();
  writeTree(cwd, {
    'site/index.html': 'home',
    ...Object.fromEntries(ADDED.map((rel, i) => [rel, Buffer.alloc(32 * 1024, i + 1)] as const)),
  });
  const options = pluginOptions(server, dir);
  fs.writeFileSync(
    path.join(cwd, 'gulpfile.mjs'),
    `import fs from 'node:fs';
import { Writable } from 'node:stream';
import gulp from 'gulp';
import { deploy } from 'ftpship/gulp';
const options = { ...${JSON.stringify(options)}, password: process.env.FTP_PASSWORD };
const write = process.stdout.write.bind(process.stdout);
let up;
const firstUp = new Promise((resolve) => (up = resolve));
let closed = false;
process.stdout.write = (chunk, ...rest) => {
  const progress = /ftpship: [1-9]\\d*\\/\\d+ files/.test(String(chunk));
  if (closed && progress && !process.env.NO_HANGUP) {
    // The next line, after the closed terminal: the hang-up, twice (unless NO_HANGUP: as under setsid or disown).
    closed = false;
    process.kill(process.pid, 'SIGHUP');
    process.kill(process.pid, 'SIGHUP');
  }
  if (up && progress) {
    up = up();
    if (process.env.TERMINAL_PID) closed = closeTerminal();
    else {
      ${signal ? `process.kill(process.pid, '${signal}');` : ''}
      ${signal === 'SIGHUP' ? `process.kill(process.pid, '${signal}');` : ''}
    }
  }
  return write(chunk, ...rest);
};
// The terminal (\`script\`, TERMINAL_PID) closes; waited for here, within the write of the first progress line, until
// writing to it fails (EIO), then a second more (progress lines come one a second at most): the deploy goes no
// further meanwhile. So the deploy's next progress line is written to the closed terminal, and that line brings the
// hang-up (above), before the deploy can finish, as a shell passes the hang-up on a moment after its terminal closed.
function closeTerminal() {
  process.kill(Number(process.env.TERMINAL_PID), 'SIGKILL');
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let i = 0; ; i++) {
    try {
      fs.writeSync(1, ' ');
    } catch {
      break;
    }
    if (i === 2000) throw new Error('the terminal is still open 10 s after its process was killed');
    Atomics.wait(pause, 0, 0, 5);
  }
  Atomics.wait(pause, 0, 0, 1000);
  return true;
}
export const publish = () => gulp.src('site/**', { encoding: false }).pipe(deploy(options));
export const watch = () => gulp.watch('site/**', { ignoreInitial: false }, publish);
const lint = (cb) => void firstUp.then(() => cb(new Error('lint failed')));
export const both = gulp.parallel(publish, lint);
const out = () => {
  const w = new Writable({ objectMode: true, write: (_file, _enc, done) => done() });
  void firstUp.then(() => w.destroy(new Error('EACCES: permission denied, mkdir out')));
  return w;
};
export const piped = () => gulp.src('site/**', { encoding: false }).pipe(deploy(options)).pipe(out());
`,
  );
  return cwd;
}

/**
 * Runs the gulp CLI (through `launcher`, a command line before gulp's, if given); resolves with how it ended
 * and what it printed.
 */
async function gulpCli(
  cwd: string,
  task: string,
  server: RealServer,
  launcher: string[] = [],
): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }> {
  return new Promise((resolve, reject) => {
    const [command, ...args] = [
      ...launcher,
      path.join(repoRoot, 'node_modules/.bin/gulp'),
      '--no-color',
      task,
    ];
    const child = spawn(command, args, {
      cwd,
      // `_` as a shell sets it running gulp itself (not nohup): the test runner's own may say anything.
      env: {
        ...process.env,
        _: path.join(repoRoot, 'node_modules/.bin/gulp'),
        FORCE_COLOR: '0',
        NODE_OPTIONS: '',
        FTP_PASSWORD: server.password,
      },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, out: stripVTControlCharacters(out) }));
  });
}

/** What the stopped run left: no lock, an honest state short of the rest; then a rerun sends just the rest. */
async function checkLeftAndRerun(
  server: RealServer,
  cwd: string,
  dir: string,
  disk: string,
  minConfirmed = 1,
  added = ['index.html', ...ADDED.map((rel) => rel.slice('site/'.length))],
): Promise<void> {
  expect(fs.existsSync(path.join(disk, LOCK))).toBe(false);
  const files = (
    JSON.parse(fs.readFileSync(path.join(disk, STATE), 'utf8')) as { files: Record<string, unknown> }
  ).files;
  const confirmed = added.filter((rel) => rel in files);
  expect(confirmed.length).toBeGreaterThanOrEqual(minConfirmed);
  expect(confirmed.length).toBeLessThan(added.length);
  for (const rel of confirmed)
    expect(fs.readFileSync(path.join(disk, rel))).toEqual(fs.readFileSync(path.join(cwd, 'site', rel)));

  const reports: DeployReport[] = [];
  await runTaskOrThrow(() =>
    gulp
      .src('site/**', { cwd, encoding: false })
      .pipe(deploy(gulpOptions(opts(server, '', dir), { onReport: (r) => reports.push(r) }))),
  );
  expect(reports).toHaveLength(1);
  // No stale lock taken over.
  expect(reports[0].warnings.join('\n')).not.toMatch(/lock/);
  expect(
    reports[0].files
      .filter((f) => f.action === 'upload' || f.action === 'replace')
      .map((f) => f.path)
      .sort(),
  ).toEqual(added.filter((rel) => !confirmed.includes(rel)).sort());
  expect(readTree(disk, [STATE])).toEqual(readTree(path.join(cwd, 'site')));
  expect(fs.existsSync(path.join(disk, LOCK))).toBe(false);
}

const CANCELLED = (signal: string): RegExp =>
  new RegExp(
    `ftpship: deploy cancelled \\(${signal}\\): no new transfer was started, what was done is recorded in the state and the lock released`,
  );

describe('the gulp CLI stopped by a signal mid-deploy', () => {
  it.each([
    {
      server: 'pure',
      task: 'publish',
      sig: 'SIGINT',
      title:
        'pure-ftpd: Ctrl-C (SIGINT) cancels the deploy, the lock released, before gulp ends by the signal',
    },
    {
      server: 'vsftpd',
      task: 'watch',
      sig: 'SIGTERM',
      title: 'vsftpd: SIGTERM to a gulp.watch session mid-deploy cancels it, and the watch ends',
    },
    {
      server: 'pure',
      task: 'publish',
      sig: 'SIGHUP',
      title:
        'pure-ftpd: SIGHUP (twice, as a closed terminal sends it: the terminal or SSH session closed) cancels the deploy, the lock released, before gulp ends by the signal',
    },
  ] as const)('$title; a rerun sends only the rest', async ({ server: name, task, sig }) => {
    const server = env[name];
    const { dir, disk } = target(server);
    const cwd = scene(server, dir, sig);
    const { code, signal, out } = await gulpCli(cwd, task, server);
    // Was: the lock folder stayed, and a rerun waited 15 s (or 2 minutes, from another machine) to take it over;
    // on a hang-up, killed at once, and what was sent since the last checkpoint not recorded.
    expect(fs.existsSync(path.join(disk, LOCK))).toBe(false);
    expect(out).toMatch(CANCELLED(sig));
    expect(out).not.toMatch(/deployed:/);
    // Ended by the signal, as Ctrl-C ends it (a shell sees 128 + its number).
    expect({ code, signal }).toEqual({ code: null, signal: sig });
    await checkLeftAndRerun(server, cwd, dir, disk);
  });
});

/**
 * `gulp publish` in a terminal (`script`: a pty as stdin, stdout and stderr) whose shell ignores the hang-up, to
 * tell what gulp ends with; the gulpfile closes the terminal once the first file is up, then (unless `hangUp` is
 * false) hangs itself up. What the shell saw gulp exit with.
 */
async function inClosingTerminal(server: RealServer, cwd: string, hangUp: boolean): Promise<string> {
  const rcFile = path.join(cwd, 'rc');
  const gulpBin = path.join(repoRoot, 'node_modules/.bin/gulp');
  const inner = `trap "" HUP; TERMINAL_PID=$PPID ${gulpBin} --no-color publish & wait $!; echo $? > ${rcFile}`;
  const term = spawn('script', ['-qfc', inner, '/dev/null'], {
    cwd,
    env: {
      ...process.env,
      _: gulpBin,
      SHELL: '/bin/sh',
      NODE_OPTIONS: '',
      FORCE_COLOR: '0',
      FTP_PASSWORD: server.password,
      ...(hangUp ? {} : { NO_HANGUP: '1' }),
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  term.stdout.resume();
  await new Promise((resolve) => term.on('close', resolve));
  for (let i = 0; i < 200 && !fs.existsSync(rcFile); i++) await new Promise((r) => setTimeout(r, 100));
  return fs.readFileSync(rcFile, 'utf8').trim();
}

describe('the gulp CLI hung up on (the terminal or SSH session closed) mid-deploy', () => {
  const withScript = fs.existsSync('/usr/bin/script') ? it : it.skip;
  withScript(
    'pure-ftpd: the terminal itself closes under `gulp publish` (every write to it fails), then the hang-up: the deploy is cancelled, the lock released, gulp ends by SIGHUP',
    async () => {
      const server = env.pure;
      const { dir, disk } = target(server);
      const cwd = scene(server, dir);
      // 128 + 1: ended by SIGHUP, as the shell reports it. Was: 139 (or 134): the progress line written to the closed
      // terminal failed (EIO) with no one listening, gulp exited at once, and Node crashed on its way out.
      expect(await inClosingTerminal(server, cwd, true)).toBe('129');
      expect(fs.existsSync(path.join(disk, LOCK))).toBe(false);
      await checkLeftAndRerun(server, cwd, dir, disk);
    },
  );

  withScript(
    'vsftpd: the terminal closes under `gulp publish` with no hang-up after (as under setsid or disown): the deploy finishes, gulp exits 0',
    async () => {
      const server = env.vsftpd;
      const { dir, disk } = target(server);
      const cwd = scene(server, dir);
      // Was: 134: every file sent, then Node aborted on its way out (putting back the hung-up terminal's settings).
      expect(await inClosingTerminal(server, cwd, false)).toBe('0');
      expect(fs.existsSync(path.join(disk, LOCK))).toBe(false);
      expect(readTree(disk, [STATE])).toEqual(readTree(path.join(cwd, 'site')));
    },
  );

  it('vsftpd: SIGHUP to `nohup gulp publish` is ignored: the deploy goes on and finishes, exit 0', async () => {
    const server = env.vsftpd;
    const { dir, disk } = target(server);
    const cwd = scene(server, dir, 'SIGHUP');
    // bash names the command it runs in `_` (/usr/bin/nohup), as when `nohup gulp publish` is typed in a shell.
    const { code, signal, out } = await gulpCli(cwd, 'publish', server, ['bash', '-c', 'nohup "$@"', 'bash']);
    // Was: killed by the hang-up all the same (Node resets the SIGHUP nohup ignores to its default).
    expect(out).toMatch(/ftpship: deployed:/);
    expect(out).not.toMatch(/SIGHUP/);
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(fs.existsSync(path.join(disk, LOCK))).toBe(false);
    expect(readTree(disk, [STATE])).toEqual(readTree(path.join(cwd, 'site')));
  });
});

/**
 * A consumer folder with a gulpfile whose `watch` task hangs itself up (SIGHUP) once gulp.watch is ready, before
 * any deploy, then changes a file: the deploy that change starts ends the watch once done.
 */
function hangupBeforeDeployScene(server: RealServer, dir: string): string {
  const cwd = consumerDir();
  writeTree(cwd, { 'site/index.html': 'home' });
  const options = pluginOptions(server, dir);
  fs.writeFileSync(
    path.join(cwd, 'gulpfile.mjs'),
    `import fs from 'node:fs';
import gulp from 'gulp';
import { deploy } from 'ftpship/gulp';
const options = { ...${JSON.stringify(options)}, password: process.env.FTP_PASSWORD };
let watcher;
let done;
const write = process.stdout.write.bind(process.stdout);
process.stdout.write = (chunk, ...rest) => {
  if (/ftpship: deployed:/.test(String(chunk))) void watcher.close().then(() => done());
  return write(chunk, ...rest);
};
const publish = () => gulp.src('site/**', { encoding: false }).pipe(deploy(options));
export const watch = (cb) => {
  done = cb;
  watcher = gulp.watch('site/**', publish);
  watcher.on('ready', () => {
    process.kill(process.pid, 'SIGHUP');
    setImmediate(() => fs.writeFileSync('site/index.html', 'changed'));
  });
};
`,
  );
  return cwd;
}

describe('the gulp CLI hung up on before any deploy', () => {
  it('vsftpd: under `nohup gulp watch`, SIGHUP while the watch waits for a change is ignored; the change then deploys', async () => {
    const server = env.vsftpd;
    const { dir, disk } = target(server);
    const cwd = hangupBeforeDeployScene(server, dir);
    const { code, signal, out } = await gulpCli(cwd, 'watch', server, ['bash', '-c', 'nohup "$@"', 'bash']);
    // Was: killed by the hang-up (the plugin ignored it only once a deploy had started).
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(out).toMatch(/ftpship: deployed:/);
    expect(fs.existsSync(path.join(disk, LOCK))).toBe(false);
    expect(readTree(disk, [STATE])).toEqual(readTree(path.join(cwd, 'site')));
  });

  it('vsftpd: without nohup, SIGHUP while `gulp watch` waits for a change ends gulp, as before; nothing deployed', async () => {
    const server = env.vsftpd;
    const { dir, disk } = target(server);
    const cwd = hangupBeforeDeployScene(server, dir);
    const { code, signal, out } = await gulpCli(cwd, 'watch', server);
    expect({ code, signal }).toEqual({ code: null, signal: 'SIGHUP' });
    expect(out).not.toMatch(/ftpship: deployed:/);
    expect(fs.existsSync(path.join(disk, STATE))).toBe(false);
  });
});

/** Said at the exit, once the lock is gone. */
const RELEASED_AT_EXIT =
  /ftpship: the process is exiting mid-deploy \(the gulp CLI exits as soon as a task fails\): the lock \S+\.ftpship-state\.json\.lock was released/;

describe('the gulp CLI exiting mid-deploy as a task fails', () => {
  it('pure-ftpd: another task of a gulp.parallel failing: gulp exits 1, the lock released first; a rerun converges at once', async () => {
    const server = env.pure;
    const { dir, disk } = target(server);
    const cwd = scene(server, dir);
    const { code, out } = await gulpCli(cwd, 'both', server);
    // Was: the lock folder stayed, and a rerun waited 15 s (or 2 minutes, from another machine) to take it over.
    expect(fs.existsSync(path.join(disk, LOCK))).toBe(false);
    expect(out).toMatch(/'both' errored after/);
    expect(out).toMatch(/Error: lint failed/);
    expect(out).toMatch(RELEASED_AT_EXIT);
    expect(out).not.toMatch(/deployed:/);
    expect(code).toBe(1);
    // The state as of the deploy's last checkpoint (maybe none of the files yet).
    await checkLeftAndRerun(server, cwd, dir, disk, 0);
  });

  it('vsftpd: a step after deploy() failing (.pipe(deploy()).pipe(out)): gulp exits 1, the lock released first; a rerun converges at once', async () => {
    const server = env.vsftpd;
    const { dir, disk } = target(server);
    const cwd = scene(server, dir);
    const { code, out } = await gulpCli(cwd, 'piped', server);
    // Was: the lock folder stayed, and a rerun waited 15 s (or 2 minutes, from another machine) to take it over.
    expect(fs.existsSync(path.join(disk, LOCK))).toBe(false);
    expect(out).toMatch(/'piped' errored after/);
    expect(out).toMatch(/EACCES: permission denied, mkdir out/);
    expect(out).toMatch(RELEASED_AT_EXIT);
    expect(code).toBe(1);
    await checkLeftAndRerun(server, cwd, dir, disk, 0);
  });
});

/**
 * A consumer folder with a gulpfile deploying MANY files (`site/m/`) to `dir` one at a time, beside a task that
 * fails once half of them are on the server (a look at the server's folder `disk`): the gulp CLI then exits.
 */
const MANY = 32;
function manyScene(server: RealServer, dir: string, disk: string): { cwd: string; added: string[] } {
  const cwd = consumerDir();
  const added = Array.from({ length: MANY }, (_, i) => `m/${String(i).padStart(2, '0')}.bin`);
  writeTree(
    cwd,
    Object.fromEntries(added.map((rel, i) => [`site/${rel}`, Buffer.alloc(8 * 1024, i + 1)] as const)),
  );
  const options = pluginOptions(server, dir);
  fs.writeFileSync(
    path.join(cwd, 'gulpfile.mjs'),
    `import fs from 'node:fs';
import gulp from 'gulp';
import { deploy } from 'ftpship/gulp';
const options = { ...${JSON.stringify(options)}, password: process.env.FTP_PASSWORD };
const publish = () => gulp.src('site/**', { encoding: false }).pipe(deploy(options));
const folder = ${JSON.stringify(path.join(disk, 'm'))};
const lint = (cb) => {
  const look = setInterval(() => {
    let there = [];
    try { there = fs.readdirSync(folder); } catch {}
    if (there.length < ${MANY / 2}) return;
    clearInterval(look);
    cb(new Error('lint failed'));
  }, 5);
};
export const both = gulp.parallel(publish, lint);
`,
  );
  return { cwd, added };
}

describe('the gulp CLI exiting mid-deploy of many files', () => {
  it.each(['vsftpd', 'pure'] as const)(
    '%s: another task of a gulp.parallel failing halfway: what the server confirmed since the last checkpoint is recorded before the unlock; the rerun sends only the rest',
    async (name) => {
      const server = env[name];
      const { dir, disk } = target(server);
      const { cwd, added } = manyScene(server, dir, disk);
      const { code, out } = await gulpCli(cwd, 'both', server);
      expect(out).toMatch(/Error: lint failed/);
      expect(out).toMatch(RELEASED_AT_EXIT);
      expect(code).toBe(1);
      // Was: the state as of the deploy's first checkpoint (none of the files), and the rerun sent all MANY again.
      // Now most of the files up when the server's folder held half of them (a few may still await their hash).
      await checkLeftAndRerun(server, cwd, dir, disk, MANY / 4, added);
      expect(out).toMatch(/what was confirmed by the server until then is recorded in the state/);
    },
  );
});

/**
 * `manyScene`'s gulpfile on a LATER deploy: every file deployed once (in process), then changed locally; the
 * failing task waits for half of the replacements' temps (`.ftpship-….tmp`) on the server's folder `disk`.
 */
function replaceScene(server: RealServer, dir: string, disk: string): { cwd: string; added: string[] } {
  const { cwd, added } = manyScene(server, dir, disk);
  const gulpfile = path.join(cwd, 'gulpfile.mjs');
  fs.writeFileSync(
    gulpfile,
    fs
      .readFileSync(gulpfile, 'utf8')
      .replace(
        'there = fs.readdirSync(folder);',
        'there = fs.readdirSync(folder).filter((n) => n.endsWith(".tmp"));',
      ),
  );
  return { cwd, added };
}

describe('the gulp CLI exiting mid-deploy of many replaced files (a later deploy)', () => {
  it.each(['vsftpd', 'pure'] as const)(
    '%s: another task of a gulp.parallel failing halfway through the replacements: the state lists only files the server holds with that content, the lock is gone, the rerun finishes the tree',
    async (name) => {
      const server = env[name];
      const { dir, disk } = target(server);
      const { cwd, added } = replaceScene(server, dir, disk);
      await runTaskOrThrow(() =>
        gulp.src('site/**', { cwd, encoding: false }).pipe(deploy(gulpOptions(opts(server, '', dir)))),
      );
      expect(readTree(disk, [STATE])).toEqual(readTree(path.join(cwd, 'site')));
      for (const [i, rel] of added.entries())
        fs.writeFileSync(path.join(cwd, 'site', rel), Buffer.alloc(8 * 1024, 100 + i));

      const { code, out } = await gulpCli(cwd, 'both', server);
      expect(out).toMatch(/Error: lint failed/);
      expect(out).toMatch(RELEASED_AT_EXIT);
      expect(code).toBe(1);
      expect(fs.existsSync(path.join(disk, LOCK))).toBe(false);
      // G4: every file the state lists is on the server with the content (size and SHA-256) it records.
      const { files } = JSON.parse(fs.readFileSync(path.join(disk, STATE), 'utf8')) as {
        files: Record<string, { size: number; sha256: string }>;
      };
      expect(out).toMatch(/what was confirmed by the server until then is recorded in the state/);
      expect(Object.keys(files).length).toBeGreaterThan(0);
      for (const [rel, entry] of Object.entries(files)) {
        const there = fs.readFileSync(path.join(disk, rel));
        expect({ rel, size: there.length, sha256: createHash('sha256').update(there).digest('hex') }).toEqual(
          {
            rel,
            ...entry,
          },
        );
      }

      const reports: DeployReport[] = [];
      await runTaskOrThrow(() =>
        gulp
          .src('site/**', { cwd, encoding: false })
          .pipe(deploy(gulpOptions(opts(server, '', dir), { onReport: (r) => reports.push(r) }))),
      );
      expect(reports).toHaveLength(1);
      // The replacements confirmed before the exit (recorded as temps, not yet live) are committed as they are:
      // at least a quarter of the files (half were up when the task failed) are not sent again.
      expect(reports[0].bytes.sent).toBeLessThanOrEqual(((MANY * 3) / 4) * 8 * 1024);
      expect(reports[0].warnings.join('\n')).not.toMatch(/lock/);
      expect(readTree(disk, [STATE])).toEqual(readTree(path.join(cwd, 'site')));
      expect(fs.existsSync(path.join(disk, LOCK))).toBe(false);
    },
  );
});
