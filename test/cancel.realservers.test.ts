/**
 * A deploy cancelled (SIGINT, SIGTERM: the `signal` option) or killed at an unlucky moment, as a chaos run of
 * the CLI over TLS against the real servers found it: a command the server carried out but whose reply the
 * cancel cut off, a folder made since the last checkpoint, a stale lock being taken over. A proxy in front
 * of the control port (plain FTP, to see the commands) holds a reply back, or kills the CLI when a command
 * goes out. Skipped, with a message, only when test/servers/.env.json is absent.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { deploy, type DeployOptions } from '../src/index.js';
import { outcome, realServerSuite, remoteFolders, type RealServer } from './helpers/real-servers.js';
import { holdingProxy } from './helpers/faults.js';
import { runCli, startCli, type CliResult, type CliRun } from './helpers/cli.js';
import { chaosProxy } from './helpers/chaos.js';
import { backdate, bytes, readDirs, readTree, sha256, tmpDir, writeTree } from './helpers/tmp.js';
import { waitFor } from './helpers/wait.js';

const { describe: d, opts, each } = realServerSuite('cancel.realservers');
const STATE = '.ftpship-state.json';
const target = remoteFolders('cancel');

interface State {
  files: Record<string, { sha256: string }>;
  dirs: string[];
  pending?: {
    temps: Record<string, { path: string; size: number; sha256: string; committing?: boolean }>;
    uncertain: string[];
  };
}
const readState = (disk: string): State =>
  JSON.parse(fs.readFileSync(path.join(disk, STATE), 'utf8')) as State;

/** deploy() options through a proxy on loopback: plain FTP, so the proxy reads the commands. */
function viaProxy(
  server: RealServer,
  port: number,
  local: string,
  dir: string,
  signal: AbortSignal,
): DeployOptions {
  return { ...opts(server, local, dir), host: '127.0.0.1', port, secure: false, signal };
}

d.each(each('pure', 'vsftpd', 'proftpd'))('%s: a deploy cancelled', (_name, server) => {
  it('while removing a temp a run cut in its commit phase left: the next deploy does not take it for renamed (G4)', async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'one', 'b.txt': 'bee' });
    const { dir, disk } = target(server);
    await deploy(opts(server, local, dir));
    // What a deploy of a.txt = "two" cut in its commit phase leaves: the temp up and marked committing, its
    // rename not done (a.txt still "one"), a.txt uncertain.
    const temp = '.ftpship-0123456789abcdef0123.tmp';
    fs.writeFileSync(path.join(disk, temp), 'two');
    fs.chownSync(path.join(disk, temp), server.uid, server.gid);
    const cut = readState(disk);
    delete cut.files['a.txt'];
    cut.pending = {
      temps: { [temp]: { path: 'a.txt', size: 3, sha256: sha256('two'), committing: true } },
      uncertain: ['a.txt'],
    };
    fs.writeFileSync(path.join(disk, STATE), JSON.stringify(cut));
    // The next deploy (a.txt = "one" again) removes that temp as a leftover, and is cancelled while its DELE
    // is done on the server but unanswered.
    const controller = new AbortController();
    // The state on the server when the DELE goes out: what a run killed there (SIGKILL, a second signal)
    // leaves for the next one.
    let markedAtDelete: boolean | undefined;
    const proxy = await holdingProxy(
      server.port,
      new RegExp(`^DELE \\S*/${temp.replace(/\./g, '\\.')}$`),
      () => (markedAtDelete = readState(disk).pending?.temps[temp]?.committing),
    );
    try {
      const run = outcome(deploy(viaProxy(server, proxy.port, local, dir, controller.signal)));
      await Promise.race([proxy.seen, run]);
      await waitFor(() => !fs.existsSync(path.join(disk, temp)));
      controller.abort('SIGINT');
      expect((await run)?.name).toBe('CancelledError');
    } finally {
      await proxy.close();
    }
    expect(markedAtDelete).not.toBe(true);
    expect(fs.existsSync(path.join(disk, `${STATE}.lock`))).toBe(false);
    // The temp is gone, but not by a rename: a.txt holds "one". A deploy of a.txt = "two" must send it; it
    // took the gone temp for renamed, recorded "two" for a.txt, and left "one" live (G4).
    writeTree(local, { 'a.txt': 'two' });
    const report = await deploy(opts(server, local, dir));
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
    expect(report.counts.replace).toBe(1);
    for (const [p, f] of Object.entries(readState(disk).files))
      expect(sha256(fs.readFileSync(path.join(disk, p)))).toBe(f.sha256);
  });

  it('while a folder is being made: the state lists it, so a file of that name can replace it later', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home' });
    const { dir, disk } = target(server);
    await deploy(opts(server, local, dir));
    // Uploads at the top level keep every connection busy while the folders n and n/s are made.
    const top: Record<string, Buffer> = {};
    for (let i = 0; i < 24; i++) top[`r${String(i).padStart(2, '0')}.bin`] = bytes(256 * 1024, i + 1);
    writeTree(local, { ...top, 'n/s/f.txt': 'deep' });
    const controller = new AbortController();
    const proxy = await holdingProxy(server.port, /^MKD \S*\/n$/, () => {
      // Cancelled the moment MKD n goes out; its reply reaches the deploy a little later.
      controller.abort('SIGINT');
      setTimeout(() => proxy.release(), 300);
    });
    try {
      const err = await outcome(deploy(viaProxy(server, proxy.port, local, dir, controller.signal)));
      expect(err?.name).toBe('CancelledError');
    } finally {
      await proxy.close();
    }
    // Every folder of the target is known to the state (none made after its last save).
    const dirs = readDirs(disk).filter((x) => !x.startsWith(`${STATE}.lock`));
    expect(dirs).toContain('n');
    expect(readState(disk).dirs).toEqual(expect.arrayContaining(dirs));
    // n becomes a file: it failed on every rerun ("cannot replace folder" or a refused upload).
    fs.rmSync(path.join(local, 'n'), { recursive: true });
    writeTree(local, { n: 'now a file' });
    await deploy(opts(server, local, dir));
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
    expect(readDirs(disk)).toEqual([]);
  });
});

d.each(each('pure', 'vsftpd', 'proftpd'))('%s: a deploy killed', (_name, server) => {
  it('after a file became a folder, before the next checkpoint: a rerun turning the folder back into a file succeeds', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home', swap: 'a file' });
    const { dir, disk } = target(server);
    await deploy(opts(server, local, dir));
    fs.rmSync(path.join(local, 'swap'));
    writeTree(local, { 'swap/sub/inner.txt': 'inner' });
    // Killed the moment swap/sub is being made: swap was made (the file deleted) since the last checkpoint.
    const proxy = await holdingProxy(server.port, /^MKD \S*\/swap\/sub$/, () => run.child.kill('SIGKILL'));
    const url = `ftp://${server.user}@127.0.0.1:${proxy.port}${dir}`;
    const run = startCli(['deploy', local, url], { FTPSHIP_PASSWORD: server.password });
    try {
      expect((await run.done).signal).toBe('SIGKILL');
    } finally {
      await proxy.close();
    }
    expect(fs.statSync(path.join(disk, 'swap')).isDirectory()).toBe(true);
    // Back to the file (a revert): the rerun renamed its temp onto the folder the killed run made, which
    // the state did not know, and failed so on every rerun (pure-ftpd: "451 Rename/move failure: Is a directory").
    fs.rmSync(path.join(local, 'swap'), { recursive: true });
    writeTree(local, { swap: 'a file' });
    await deploy(opts(server, local, dir));
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
    expect(readDirs(disk)).toEqual([]);
  });
});

d.each(each('pure', 'vsftpd'))('%s: a deploy cut, then reconnecting', (_name, server) => {
  it('its first checkpoint cut, while a file that became a folder waits for it: the same run finishes (was: the folder held the only connection waiting for the checkpoint, which waited for a connection; the CLI exited 0 with nothing done)', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home', swap: 'a file' });
    const { dir, disk } = target(server);
    await deploy(opts(server, local, dir));
    fs.rmSync(path.join(local, 'swap'));
    writeTree(local, { 'index.html': 'home v2', 'swap/inner.txt': 'inner' });
    // Every connection cut as the first checkpoint is renamed into place; the server is back a moment later.
    let cuts = 0;
    const proxy = await chaosProxy(server.port, {
      onCommand: (line) => {
        if (!/^RNFR \S*\/\.ftpship-state\.json\.tmp$/.test(line) || cuts++ > 0) return;
        setImmediate(() => {
          proxy.cutAll();
          setTimeout(() => proxy.heal(), 300);
        });
        return 'hold';
      },
    });
    let r: CliResult;
    try {
      const url = `ftp://${server.user}@127.0.0.1:${proxy.port}${dir}`;
      r = await runCli(['deploy', local, url, '--parallel', '2', '--json'], {
        FTPSHIP_PASSWORD: server.password,
      });
    } finally {
      await proxy.close();
    }
    expect(cuts).toBeGreaterThan(0);
    expect([r.code, r.stdout === '' ? 'no report' : 'report']).toEqual([0, 'report']);
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
    expect(fs.existsSync(path.join(disk, `${STATE}.lock`))).toBe(false);
    expect(readState(disk).pending).toBeUndefined();
  });
});

d.each(each('pure', 'vsftpd', 'proftpd'))(
  '%s: a deploy cancelled while it waits for the lock',
  (_name, server) => {
    const LOCK = `${STATE}.lock`;
    function lockDir(disk: string): string {
      const lock = path.join(disk, LOCK);
      fs.mkdirSync(lock, { recursive: true });
      fs.chownSync(disk, server.uid, server.gid);
      fs.chownSync(lock, server.uid, server.gid);
      return lock;
    }

    it('taking over a stale lock: stops while other deploys get their chance to show, and gives the lock back', async () => {
      const local = tmpDir();
      writeTree(local, { 'a.txt': 'a' });
      const { dir, disk } = target(server);
      const lock = lockDir(disk);
      const long = new Date(Date.now() - 3600_000).toISOString();
      fs.writeFileSync(
        path.join(lock, 'holder.json'),
        JSON.stringify({ holder: 'ftpship on gone-host pid 7', startedAt: long, refreshedAt: long }),
      );
      backdate(path.join(lock, 'holder.json'), long);
      fs.chownSync(path.join(lock, 'holder.json'), server.uid, server.gid);
      const controller = new AbortController();
      let abortedAt = 0;
      const warn = (m: string): void => {
        if (!/taking over a stale lock/.test(m)) return;
        setTimeout(() => {
          abortedAt = Date.now();
          controller.abort('SIGINT');
        }, 300);
      };
      const err = await outcome(deploy({ ...opts(server, local, dir), signal: controller.signal }, { warn }));
      expect(err?.name).toBe('CancelledError');
      expect(abortedAt).toBeGreaterThan(0);
      expect(Date.now() - abortedAt).toBeLessThan(1000); // not the rest of the 2 s
      expect(fs.existsSync(lock)).toBe(false);
      expect(fs.existsSync(path.join(disk, 'a.txt'))).toBe(false);
    });
  },
);

d.each(each('pure'))('%s: a deploy killed before its first checkpoint landed', (_name, server) => {
  it('a new file it sent is known to the rerun, which deletes it once gone locally (was: left on the server for good, untracked)', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home' });
    const { dir, disk } = target(server);
    await deploy(opts(server, local, dir));
    writeTree(local, { 'new.html': 'new page' });
    // The first checkpoint's upload is held (the server never gets it); killed when it is tried again, after
    // the client's timeout: the deploy ran meanwhile as far as it goes before its first checkpoint.
    let run: CliRun | undefined;
    let stores = 0;
    const proxy = await chaosProxy(server.port, {
      onCommand: (line) => {
        if (!/^STOR \S*\/\.ftpship-state\.json\.tmp$/.test(line)) return;
        if (++stores > 1) run?.child.kill('SIGKILL');
        return 'hold';
      },
    });
    try {
      const url = `ftp://${server.user}@127.0.0.1:${proxy.port}${dir}`;
      run = startCli(['deploy', local, url, '--timeout', '1500'], { FTPSHIP_PASSWORD: server.password });
      expect((await run.done).signal).toBe('SIGKILL');
    } finally {
      await proxy.close();
    }
    // The next build no longer has the page.
    fs.rmSync(path.join(local, 'new.html'));
    await deploy(opts(server, local, dir));
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
  });
});
