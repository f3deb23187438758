/**
 * Issue 9 item 1: the engine's integration suite on every real server × mode (test/servers/README.md):
 * first deploy, incremental with same-size edits, deletes and type swaps, resume of a large file cut by
 * kill -9 of the CLI, and atomic replace (the live file is never written in place).
 *
 * Every case uses its own `/m-<random>` folder (other engineers' tests share these servers) and removes it
 * at the end. Skipped, with a message, when test/servers/.env.json is absent.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { deploy, type DeployOptions } from '../src/index.js';
import {
  loadRealServers,
  realDeployOptions,
  remoteFolders,
  type RealServer,
  type RealServers,
} from './helpers/real-servers.js';
import { recorder } from './helpers/protocol.js';
import { runCli, startCli, type CliResult } from './helpers/cli.js';
import { readDirs, readTree, sha256, tmpDir, writeTree } from './helpers/tmp.js';

const servers = loadRealServers('matrix.realservers');
const env = servers as RealServers;
const d = servers ? describe : describe.skip;
const STATE = '.ftpship-state.json';

type Secure = false | 'explicit' | 'implicit';
interface Cell {
  label: string;
  server: RealServer;
  secure: Secure;
}

/** server × mode: every TLS mode each server offers, plain FTP once (pure-ftpd). */
function cells(): Cell[] {
  if (!servers) return [];
  const out: Cell[] = [
    { label: 'pure-ftpd 2121 plain', server: env.pure, secure: false },
    { label: 'pure-ftpd 2121 explicit TLS', server: env.pure, secure: 'explicit' },
    { label: 'vsftpd 2122 explicit TLS (no MLSD, session reuse)', server: env.vsftpd, secure: 'explicit' },
    { label: 'vsftpd 2990 implicit TLS', server: env.vsftpdImplicit, secure: 'implicit' },
    { label: 'proftpd 2123 explicit TLS (REST refused)', server: env.proftpd, secure: 'explicit' },
    {
      label: 'proftpd 2124 explicit TLS (AllowStoreRestart on)',
      server: env.proftpdResume,
      secure: 'explicit',
    },
  ];
  if (env.proftpdImplicit)
    out.push({ label: 'proftpd 2991 implicit TLS', server: env.proftpdImplicit, secure: 'implicit' });
  else console.log('matrix.realservers: proftpd implicit TLS did not come up — that cell is not run');
  return out;
}

const target = remoteFolders('m');

function opts(
  cell: Cell,
  localDir: string,
  remoteDir: string,
  extra: Partial<DeployOptions> = {},
): DeployOptions {
  return realDeployOptions(cell.server, env.ca, cell.secure, localDir, remoteDir, extra);
}

function cliUrl(cell: Cell, dir: string): string {
  const scheme = cell.secure === 'implicit' ? 'ftps' : cell.secure === 'explicit' ? 'ftpes' : 'ftp';
  return `${scheme}://${cell.server.user}@127.0.0.1:${cell.server.port}${dir}`;
}

function report(r: CliResult): { bytes: { sent: number }; warnings: string[] } {
  if (r.code !== 0) console.log(r.stderr);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as { bytes: { sent: number }; warnings: string[] };
}

/** The big file for the resume case: big enough that pure-ftpd (no throttle) is still sending at the kill. */
const BIG_SIZE = 60 * 1024 * 1024;
let big: Buffer;
let bigLocal: string;
beforeAll(() => {
  if (!servers) return;
  big = crypto.randomBytes(BIG_SIZE);
  bigLocal = tmpDir('ftpship-matrix-big-');
  writeTree(bigLocal, { 'big.bin': big, 'small.txt': 'small' });
});

d.each(cells())('$label', (cell) => {
  it('first deploy, then same-size edits, deletes and file<->folder swaps converge; a rerun sends nothing', async () => {
    const local = tmpDir();
    writeTree(local, {
      'index.html': '<h1>v1</h1>',
      'css/site.css': 'body{color:red}',
      'a/b/c/deep.txt': 'deep',
      'old.txt': 'old',
      'gone/deeper/only.txt': 'x',
      swap1: 'a file',
      'swap2/x.txt': 'in a folder',
      '.htaccess': 'Deny from all',
      'sp ace/ünï 日本.txt': 'unicode',
      'empty.txt': '',
    });
    const { dir, disk } = target(cell.server);
    const r1 = await deploy(opts(cell, local, dir, { parallel: 3 }));
    expect(r1.counts.upload).toBe(10);
    expect(readTree(disk, [STATE])).toEqual(readTree(local));

    // Same-size edits (no size change: only the hash tells), deletes, type swaps both ways.
    writeTree(local, { 'index.html': '<h1>v2</h1>', 'css/site.css': 'body{color:tan}' });
    fs.rmSync(path.join(local, 'old.txt'));
    fs.rmSync(path.join(local, 'gone'), { recursive: true });
    fs.rmSync(path.join(local, 'swap1'));
    fs.rmSync(path.join(local, 'swap2'), { recursive: true });
    writeTree(local, { 'swap1/inner.txt': 'now a folder', swap2: 'now a file' });
    const r2 = await deploy(opts(cell, local, dir, { parallel: 3 }));
    // replace: index, css, swap2 (folder → file); delete: old, gone/deeper/only, swap1 (file → folder), swap2/x
    expect(r2.counts).toMatchObject({ replace: 3, delete: 4 });
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
    expect(readDirs(disk)).toEqual(readDirs(local));

    const rec = recorder();
    const r3 = await deploy(opts(cell, local, dir), rec);
    expect(r3.files).toEqual([]);
    expect(r3.bytes.sent).toBe(0);
    expect(rec.log.filter((l) => /^> (STOR|APPE|DELE|RMD|MKD|RNFR) /.test(l))).toEqual([]);
  });

  it('atomic replace: the live file is never written in place (temp + rename), a watcher never sees a partial file', async () => {
    const local = tmpDir();
    const before = crypto.randomBytes(3 * 1024 * 1024);
    const after = crypto.randomBytes(5 * 1024 * 1024);
    writeTree(local, { 'live.bin': before, 'page.html': 'old page' });
    const { dir, disk } = target(cell.server);
    await deploy(opts(cell, local, dir));
    writeTree(local, { 'live.bin': after, 'page.html': 'new page' });
    const live = path.join(disk, 'live.bin');
    const seen = new Set<string>();
    let running = true;
    const watcher = (async () => {
      while (running) {
        const st = fs.statSync(live, { throwIfNoEntry: false });
        seen.add(st ? String(st.size) : 'missing');
        await new Promise((r) => setTimeout(r, 1));
      }
    })();
    const rec = recorder();
    try {
      await deploy(opts(cell, local, dir), rec);
    } finally {
      running = false;
      await watcher;
    }
    // Only the old size or the new one: never missing, never growing in place.
    expect([...seen].filter((s) => s !== String(before.length) && s !== String(after.length))).toEqual([]);
    expect(sha256(fs.readFileSync(live))).toBe(sha256(after));
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
    const stors = rec.log.filter((l) => l.startsWith('> STOR '));
    expect(stors.some((l) => /\/\.ftpship-[0-9a-f]+\.tmp$/.test(l))).toBe(true);
    expect(stors.some((l) => l === `> STOR ${dir}/live.bin`)).toBe(false);
    expect(rec.log.some((l) => l === `> RNTO ${dir}/live.bin`)).toBe(true);
  });

  it('kill -9 of the CLI mid-upload of a 60 MB file, then rerun: SHA-256 intact; resumed (or whole again where REST is refused, with a warning)', async () => {
    const { dir, disk } = target(cell.server);
    // The temp's name depends on what the run knew of the file when it planned: find it on disk.
    const tempSize = (): number => {
      const name = fs.existsSync(disk)
        ? fs.readdirSync(disk).find((n) => /^\.ftpship-[0-9a-f]+\.tmp$/.test(n))
        : undefined;
      return name ? fs.statSync(path.join(disk, name)).size : 0;
    };
    const cliEnv = { FTPSHIP_PASSWORD: cell.server.password };
    const args = (extra: string[]): string[] => [
      'deploy',
      bigLocal,
      cliUrl(cell, dir),
      '--ca',
      env.ca,
      '--parallel',
      '1',
      ...extra,
    ];
    const run = startCli(args([]), cliEnv);
    let cutAt = 0;
    await new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + 20_000;
      const timer = setInterval(() => {
        const size = tempSize();
        if (size >= BIG_SIZE * 0.3 || Date.now() > deadline) {
          clearInterval(timer);
          run.child.kill('SIGKILL');
          cutAt = size;
          if (size === 0) reject(new Error('the temp file never appeared'));
          else resolve();
        }
      }, 5);
      void run.done.then(() => {
        clearInterval(timer);
        if (cutAt === 0) reject(new Error(`the CLI ended before the kill: ${run.child.exitCode}`));
      });
    });
    const killed = await run.done;
    expect(killed.signal).toBe('SIGKILL');
    const onDisk = tempSize();
    expect(cutAt).toBeGreaterThan(0);
    expect(onDisk).toBeLessThan(BIG_SIZE); // really cut: the file was not complete at the kill
    expect(fs.existsSync(path.join(disk, 'big.bin'))).toBe(false);

    const rerun = await runCli(args(['--json']), cliEnv);
    const rep = report(rerun);
    expect(sha256(fs.readFileSync(path.join(disk, 'big.bin')))).toBe(sha256(big));
    expect(readTree(disk, [STATE])).toEqual(readTree(bigLocal));
    expect(fs.readdirSync(disk).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    if (cell.server.resume) {
      expect(rep.bytes.sent).toBeLessThan(BIG_SIZE);
      expect(rep.bytes.sent).toBeLessThanOrEqual(BIG_SIZE - onDisk + 'small.txt'.length + 100);
      expect(rep.warnings.join('\n')).not.toMatch(/refused to resume/);
    } else {
      // proftpd's default: REST+STOR answered 451 — the whole file again, once, with one warning.
      expect(rep.bytes.sent).toBeGreaterThanOrEqual(BIG_SIZE);
      expect(rep.bytes.sent).toBeLessThan(2 * BIG_SIZE);
      expect(rep.warnings.filter((w) => /refused to resume/.test(w))).toHaveLength(1);
      expect(rerun.stderr).toMatch(/refused to resume .*451/);
    }
  });
});
