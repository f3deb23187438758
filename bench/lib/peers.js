// Runners: each tool runs as a child process under /usr/bin/time -v, so wall time, CPU time and peak RSS
// are the tool's own. Every runner returns {ok, ms, cpuMs, rssMB, code, out} and never throws on a tool failure.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { BENCH_DIR, CA_FILE, FTP_PASS, FTP_USER, WORK } from './pureftpd.js';

export const REPO = path.resolve(BENCH_DIR, '..');
export const PEERS_DIR = path.join(WORK, 'peers');
export const FTPSHIP_BIN = path.join(REPO, 'bin', 'ftpship.js');
const HAS_TIME = fs.existsSync('/usr/bin/time');

/** npm install the peers into bench/.work/peers (never the main node_modules) if missing. */
export function ensurePeers() {
  const want = fs.readFileSync(path.join(BENCH_DIR, 'peers', 'package.json'), 'utf8');
  const pj = path.join(PEERS_DIR, 'package.json');
  if (
    fs.existsSync(pj) &&
    fs.readFileSync(pj, 'utf8') === want &&
    fs.existsSync(path.join(PEERS_DIR, 'node_modules', 'vinyl-ftp'))
  )
    return;
  fs.mkdirSync(PEERS_DIR, { recursive: true });
  fs.writeFileSync(pj, want);
  const lock = path.join(BENCH_DIR, 'peers', 'package-lock.json');
  if (fs.existsSync(lock)) fs.copyFileSync(lock, path.join(PEERS_DIR, 'package-lock.json'));
  console.log('installing peers into', PEERS_DIR);
  execFileSync(
    'npm',
    [fs.existsSync(lock) ? 'ci' : 'install', '--no-audit', '--no-fund', '--ignore-scripts'],
    { cwd: PEERS_DIR, stdio: 'inherit' },
  );
}

export function peerVersions() {
  const v = (name) => {
    try {
      return JSON.parse(fs.readFileSync(path.join(PEERS_DIR, 'node_modules', name, 'package.json'), 'utf8'))
        .version;
    } catch {
      return '?';
    }
  };
  const cmd = (c, a, re) => {
    try {
      return (execFileSync(c, a, { encoding: 'utf8' }).match(re) || [])[1] || '?';
    } catch {
      return '?';
    }
  };
  return {
    node: process.version,
    '@samkirkland/ftp-deploy': v('@samkirkland/ftp-deploy'),
    'vinyl-ftp': v('vinyl-ftp'),
    gulp: v('gulp'),
    'basic-ftp': v('basic-ftp'),
    lftp: cmd('lftp', ['--version'], /Version ([\d.]+)/),
    curl: cmd('curl', ['--version'], /curl ([\d.]+)/),
  };
}

/**
 * Run a command, measuring wall time (ms), CPU time (ms, user + system, all its processes and threads) and
 * peak RSS (MB), the last two from /usr/bin/time -v.
 * onSpawn(child) lets a caller watch or kill the tool (e.g. the resume cut hook).
 */
export function measure(cmd, args, { env = {}, cwd = REPO, timeoutMs = 15 * 60_000, onSpawn } = {}) {
  const statFile = path.join(WORK, 'run', `time-${process.pid}-${Date.now()}.txt`);
  fs.mkdirSync(path.dirname(statFile), { recursive: true });
  const [c, a] = HAS_TIME ? ['/usr/bin/time', ['-v', '-o', statFile, cmd, ...args]] : [cmd, args];
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(c, a, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const keep = (d) => (out = (out + d).slice(-4000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    if (onSpawn) onSpawn(child);
    child.on('close', (code, signal) => {
      const ms = performance.now() - t0;
      clearTimeout(timer);
      let rssMB = null;
      let cpuMs = null;
      try {
        const stats = fs.readFileSync(statFile, 'utf8');
        const m = stats.match(/Maximum resident set size \(kbytes\): (\d+)/);
        if (m) rssMB = Number(m[1]) / 1024;
        const u = stats.match(/User time \(seconds\): ([\d.]+)/);
        const k = stats.match(/System time \(seconds\): ([\d.]+)/);
        if (u && k) cpuMs = (Number(u[1]) + Number(k[1])) * 1000;
        fs.rmSync(statFile);
      } catch {
        /* no stats */
      }
      resolve({ ok: code === 0, code, signal, ms, cpuMs, rssMB, out: out.trim() });
    });
  });
}

const node = (script, cfg, opts) =>
  measure(
    process.execPath,
    [path.join(BENCH_DIR, 'peers', script), JSON.stringify({ peersDir: PEERS_DIR, ...cfg })],
    opts,
  );
const cred = (t) => ({ host: t.host, port: t.port, user: t.user ?? FTP_USER, pass: t.pass ?? FTP_PASS });

/** target = {host, port, remoteDir, user?, pass?} */
export const runFtpDeploy = ({ local, target }) =>
  node('ftp-deploy.mjs', { ...cred(target), local, remoteDir: target.remoteDir });

export const runVinylFtp = ({ local, target, parallel = 8 }) =>
  node('vinyl-ftp.mjs', { ...cred(target), local, remoteDir: target.remoteDir, parallel });

export const runBasicFtpUpload = ({ file, target, remotePath }) =>
  node('basic-ftp-upload.mjs', { ...cred(target), file, remotePath });

function lftp(target, script, { tls = false, besideSha256, besideSha256Tree } = {}) {
  const { host, port, user, pass } = cred(target);
  const pre = ['set cmd:fail-exit true', 'set net:max-retries 3', 'set net:timeout 30'];
  if (tls) pre.push('set ftp:ssl-force true', 'set ftp:ssl-protect-data true', `set ssl:ca-file ${CA_FILE}`);
  else pre.push('set ftp:ssl-allow false'); // pure-ftpd offers AUTH TLS; plain rows must stay plain
  const args = [
    '-u',
    `${user},${pass}`,
    '-p',
    String(port),
    '-e',
    [...pre, ...script, 'quit'].join('; '),
    host,
  ];
  if (besideSha256Tree)
    // The same for a folder: OpenSSL's SHA-256 of every file under it (in as few processes as xargs allows).
    return measure(
      'sh',
      [
        '-c',
        'lftp "$@" & find "$HASHED" -type f -print0 | xargs -0 openssl dgst -sha256 > /dev/null || { wait; exit 3; }; wait $!',
        'sh',
        ...args,
      ],
      { env: { HASHED: besideSha256Tree } },
    );
  if (!besideSha256) return measure('lftp', args);
  // lftp and OpenSSL's SHA-256 of the same file at once (the wall time until both are done): the least work a
  // tool does that sends a file and records the SHA-256 of its bytes, with C code and no start-up of its own.
  return measure(
    'sh',
    [
      '-c',
      'lftp "$@" & openssl dgst -sha256 "$HASHED" > /dev/null || { wait; exit 3; }; wait $!',
      'sh',
      ...args,
    ],
    { env: { HASHED: besideSha256 } },
  );
}

/** lftp mirror, flags exactly as BENCH-METHOD.md. */
export const runLftp = ({ local, target, parallel = 8, tls = false }) =>
  lftp(
    target,
    [
      `mirror -R --parallel=${parallel} --delete --no-perms --ignore-time --no-symlinks ${local} ${target.remoteDir}`,
    ],
    { tls },
  );

/** lftp mirror (as runLftp) with OpenSSL's SHA-256 of every local file running beside it: a hashing mirror's floor. */
export const runLftpHashed = ({ local, target, parallel = 8 }) =>
  lftp(
    target,
    [
      `mirror -R --parallel=${parallel} --delete --no-perms --ignore-time --no-symlinks ${local} ${target.remoteDir}`,
    ],
    { besideSha256Tree: local },
  );

/** OpenSSL's SHA-256 of every file under `local`, nothing sent: what hashing every file costs alone. */
export const runHashTree = ({ local }) =>
  measure('sh', ['-c', 'find "$1" -type f -print0 | xargs -0 openssl dgst -sha256 > /dev/null', 'sh', local]);

export const runLftpPut = ({ file, target, remotePath }) => lftp(target, [`put ${file} -o ${remotePath}`]);

/** lftp put with `openssl dgst -sha256` of the same file running beside it: the floor of a hashing uploader. */
export const runLftpPutHashed = ({ file, target, remotePath }) =>
  lftp(target, [`put ${file} -o ${remotePath}`], { besideSha256: file });

export function runCurlPut({ file, target, remotePath }) {
  const { host, port, user, pass } = cred(target);
  return measure('curl', [
    '-sS',
    '--ftp-create-dirs',
    '-T',
    file,
    '--user',
    `${user}:${pass}`,
    `ftp://${host}:${port}${remotePath}`,
  ]);
}

/** The CLI is usable: bin/ftpship.js exists, is built (dist/), and answers --help. */
export function ftpshipAvailable() {
  if (!fs.existsSync(FTPSHIP_BIN)) return false;
  try {
    execFileSync(process.execPath, [FTPSHIP_BIN, 'deploy', '--help'], { stdio: 'ignore', timeout: 15000 });
    return true;
  } catch {
    return false;
  }
}

/**
 * ftpship CLI: `ftpship deploy <local-dir> <url> [--parallel N] [--json] [--quiet]`, password in FTPSHIP_PASSWORD.
 * Either pass raw `args` (after "deploy"), or {local, target, parallel, tls, extra}.
 */
export function runFtpship({ args, local, target, parallel, tls = false, extra = [], onSpawn }) {
  const t = target ?? {};
  if (!args) {
    const { host, port, user } = cred(t);
    const url = `${tls ? 'ftpes' : 'ftp'}://${user}@${host}:${port}${t.remoteDir}`;
    args = [
      local,
      url,
      ...(parallel ? ['--parallel', String(parallel)] : []),
      ...(tls ? ['--ca', CA_FILE] : []),
      '--quiet',
      ...extra,
    ];
  }
  return measure(process.execPath, [FTPSHIP_BIN, 'deploy', ...args], {
    env: { FTPSHIP_PASSWORD: t.pass ?? FTP_PASS },
    onSpawn,
  });
}
