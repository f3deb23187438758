// Dedicated pure-ftpd instances for the benchmark, plus helpers to reset and verify the server side.
// Runs as root (apt-get, useradd, chown). Ports stay clear of the test suite (2121-2124, 2990, 40000-40999).
import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setInterval, clearInterval } from 'node:timers';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const WORK = path.join(BENCH_DIR, '.work');
export const FTP_USER = 'ftpbench';
export const FTP_PASS = 'ftpbench-local-only';
export const FTP_HOME = path.join(WORK, 'ftphome');
export const TLS_DIR = path.join(WORK, 'tls');
export const CA_FILE = path.join(TLS_DIR, 'cert.pem');

/**
 * direct: RTT 0 on 127.0.0.1; proxied: advertises 127.0.0.2 in PASV, reached through latency-proxy.
 * Passive ports sit above the kernel's ephemeral range (32768-60999), so client sockets never hold
 * them, and the range is wide: with 100 ports, vinyl-ftp (PASV, 8 connections) often got
 * "425 Unable to identify the local data socket: Address already in use" (pure-ftpd's listen() failing).
 */
export const INSTANCES = {
  direct: { port: 2200, pasv: [61000, 61999], host: '127.0.0.1' },
  proxied: { port: 2201, pasv: [62000, 62999], host: '127.0.0.2', forcePasvIp: '127.0.0.2' },
};

const sh = (cmd, args, opts = {}) =>
  execFileSync(cmd, args, {
    encoding: 'utf8',
    stdio: [opts.input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    ...opts,
  });
const has = (bin) => {
  try {
    sh('sh', ['-c', `command -v ${bin}`]);
    return true;
  } catch {
    return false;
  }
};

/** apt-get install the given Debian packages if their binary is missing. */
export function ensureApt(pkgs) {
  const missing = Object.entries(pkgs)
    .filter(([bin]) => !has(bin))
    .map(([, pkg]) => pkg);
  if (!missing.length) return;
  console.log(`apt-get install ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    sh('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env, stdio: 'inherit' });
  } catch {
    sh('apt-get', ['update'], { env, stdio: 'inherit' });
    sh('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { env, stdio: 'inherit' });
  }
}

export function ensureUser() {
  fs.mkdirSync(FTP_HOME, { recursive: true });
  try {
    sh('id', [FTP_USER]);
    sh('usermod', ['-d', FTP_HOME, '-s', '/bin/sh', FTP_USER]);
  } catch {
    sh('useradd', ['-M', '-d', FTP_HOME, '-s', '/bin/sh', FTP_USER]);
  }
  sh('chpasswd', [], { input: `${FTP_USER}:${FTP_PASS}\n` });
  sh('chown', [`${FTP_USER}:${FTP_USER}`, FTP_HOME]);
}

/** Self-signed certificate valid for localhost, 127.0.0.1 and 127.0.0.2 (own file: -2, not /etc/ssl). */
export function ensureCert() {
  const pem = path.join(TLS_DIR, 'pure-ftpd.pem');
  if (fs.existsSync(pem)) return pem;
  fs.mkdirSync(TLS_DIR, { recursive: true });
  const key = path.join(TLS_DIR, 'key.pem');
  sh('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '3650',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:127.0.0.2',
    '-keyout',
    key,
    '-out',
    CA_FILE,
  ]);
  fs.writeFileSync(pem, fs.readFileSync(key, 'utf8') + fs.readFileSync(CA_FILE, 'utf8'), { mode: 0o600 });
  return pem;
}

function waitGreeting(host, port, timeoutMs = 10000) {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = net.connect(port, host);
      s.once('data', (d) => {
        s.destroy();
        if (String(d).startsWith('220')) resolve();
        else retry(new Error(`unexpected greeting ${d}`));
      });
      s.once('error', retry);
    };
    const retry = (err) => {
      if (Date.now() - t0 > timeoutMs) reject(err);
      else setTimeout(attempt, 100);
    };
    attempt();
  });
}

function killStale(pidFile) {
  try {
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (cmd.includes('pure-ftpd') || cmd.includes('latency-proxy')) process.kill(pid, 'SIGTERM');
  } catch {
    /* nothing stale */
  }
}

/** Start one pure-ftpd instance in the foreground as our child. Returns {port, host, pid, stop()}. */
export async function startPureFtpd(name) {
  const inst = INSTANCES[name];
  const runDir = path.join(WORK, 'run');
  fs.mkdirSync(runDir, { recursive: true });
  const pidFile = path.join(runDir, `pure-ftpd-${name}.pid`);
  killStale(pidFile);
  const args = [
    '-S',
    `127.0.0.1,${inst.port}`,
    '-p',
    `${inst.pasv[0]}:${inst.pasv[1]}`,
    '-l',
    'unix',
    '-E',
    '-A',
    '-H',
    '-D',
    '-4',
    '-Y',
    '1',
    '-2',
    ensureCert(), // explicit TLS allowed, not required
    '-L',
    '100000:10', // do not cut large listings (default 10000:5)
    '-c',
    '200',
    '-C',
    '100',
    '-I',
    '60',
  ];
  if (inst.forcePasvIp) args.push('-P', inst.forcePasvIp);
  const child = spawn('pure-ftpd', args, { stdio: 'ignore' });
  fs.writeFileSync(pidFile, String(child.pid));
  await waitGreeting('127.0.0.1', inst.port);
  return {
    ...inst,
    name,
    pid: child.pid,
    stop: () => {
      child.kill('SIGTERM');
      fs.rmSync(pidFile, { force: true });
    },
  };
}

const CLK_TCK = (() => {
  try {
    return Number(sh('getconf', ['CLK_TCK']).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * CPU time (ms, user + system) a pure-ftpd instance has spent so far, its ended sessions included: each
 * session is a child process, counted once the master has reaped it. Waits (up to 2 s) for the sessions of
 * the tool that just ran to end, so a reading after a run holds all of that run's server work. Null
 * without /proc.
 */
export async function serverCpuMs(pid) {
  const children = () => {
    try {
      return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    } catch {
      return '';
    }
  };
  for (let waited = 0; children() !== '' && waited < 2000; waited += 10)
    await new Promise((r) => setTimeout(r, 10));
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // Fields 14-17 of stat(5) (utime, stime, cutime, cstime) are 11-14 once pid and comm are cut off.
    return ((Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 1000) / CLK_TCK;
  } catch {
    return null;
  }
}

/** Start the latency proxy as a child process (so its CPU use is separate from the driver). */
export async function startProxyChild({ rttMs, instance = INSTANCES.proxied }) {
  const pidFile = path.join(WORK, 'run', 'latency-proxy.pid');
  killStale(pidFile);
  const ports = `${instance.port},${instance.pasv[0]}-${instance.pasv[1]}`;
  const child = spawn(
    process.execPath,
    [
      path.join(BENCH_DIR, 'lib', 'latency-proxy.js'),
      '--rtt',
      String(rttMs),
      '--listen',
      instance.host,
      '--target',
      '127.0.0.1',
      '--ports',
      ports,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  fs.writeFileSync(pidFile, String(child.pid));
  let buf = '';
  const lines = [];
  child.stdout.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
  await new Promise((resolve, reject) => {
    const t = setInterval(() => {
      if (lines.includes('READY') || child.exitCode !== null) {
        clearInterval(t);
        if (lines.includes('READY')) resolve();
        else reject(new Error('latency proxy exited'));
      }
    }, 20);
  });
  return {
    pid: child.pid,
    /** {connections, bytesUp, bytesDown} since start */
    stats: async () => {
      const n = lines.length;
      child.kill('SIGUSR2');
      while (lines.length === n) await new Promise((r) => setTimeout(r, 10));
      return JSON.parse(lines[lines.length - 1]);
    },
    stop: () => {
      child.kill('SIGTERM');
      fs.rmSync(pidFile, { force: true });
    },
  };
}

/** Path on disk of a remote (chrooted) directory. */
export const remoteOnDisk = (remoteDir) => path.join(FTP_HOME, remoteDir.replace(/^\/+/, ''));

/** Empty a remote directory (on disk; faster than FTP) and recreate it owned by the FTP user. */
export function emptyRemote(remoteDir) {
  const abs = remoteOnDisk(remoteDir);
  fs.rmSync(abs, { recursive: true, force: true });
  fs.mkdirSync(abs, { recursive: true });
  sh('chown', ['-R', `${FTP_USER}:${FTP_USER}`, FTP_HOME]);
  return abs;
}

function walk(root, rel, files, dirs, ignore) {
  for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
    if (ignore(e.name)) continue;
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) {
      dirs.add(r);
      walk(root, r, files, dirs, ignore);
    } else files.set(r, path.join(root, r));
  }
}

function hashFile(file) {
  const h = crypto.createHash('sha1');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(4 * 1024 * 1024);
  try {
    let n;
    while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

/** Tool state files and temporaries that the comparison skips (any level). */
export const DEFAULT_IGNORE = ['.ftp-deploy-sync-state.json', /^\.ftpship/];

/**
 * Compare the server's directory (on disk) with the local tree byte for byte (sha1 of each file).
 * Returns a list of mismatches: "missing f", "extra f", "differs f", "missing dir d", "extra dir d".
 */
export function verifyTree(localDir, remoteDir, { ignore = DEFAULT_IGNORE } = {}) {
  const skip = (name) => ignore.some((p) => (p instanceof RegExp ? p.test(name) : p === name));
  const [lf, ld, rf, rd] = [new Map(), new Set(), new Map(), new Set()];
  walk(localDir, '', lf, ld, skip);
  const rroot = remoteOnDisk(remoteDir);
  if (fs.existsSync(rroot)) walk(rroot, '', rf, rd, skip);
  const out = [];
  for (const [rel, abs] of lf) {
    const other = rf.get(rel);
    if (!other) out.push(`missing ${rel}`);
    else if (fs.statSync(abs).size !== fs.statSync(other).size || hashFile(abs) !== hashFile(other))
      out.push(`differs ${rel}`);
  }
  for (const rel of rf.keys()) if (!lf.has(rel)) out.push(`extra ${rel}`);
  for (const d of ld) if (!rd.has(d)) out.push(`missing dir ${d}`);
  for (const d of rd) if (!ld.has(d)) out.push(`extra dir ${d}`);
  return out;
}

/** Size of the largest file under a remote dir (for the resume cut hook: temp names are unknown). */
export function largestRemoteFile(remoteDir) {
  let best = 0;
  const rec = (d) => {
    let entries;
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) rec(p);
      else
        try {
          best = Math.max(best, fs.statSync(p).size);
        } catch {
          /* renamed meanwhile */
        }
    }
  };
  rec(remoteOnDisk(remoteDir));
  return best;
}

export function pureFtpdVersion() {
  try {
    return 'pure-ftpd ' + sh('dpkg-query', ['-W', '-f', '${Version}', 'pure-ftpd']).trim();
  } catch {
    return 'pure-ftpd ?';
  }
}
