/**
 * The deploy lock on real servers (MKD of an existing folder is refused there, unlike ftp-srv): a lock a
 * deploy has just taken, before it wrote who holds it, is not taken over; two deploys started together
 * leave an honest state; a target the user may not write to is said to be that, not a lock held.
 * Skipped, with a message, only when test/servers/.env.json is absent.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { deploy } from '../src/index.js';
import { freshLock, outcome, realServerSuite, remoteFolders, type Failure } from './helpers/real-servers.js';
import { backdate, readTree, sha256, snapshot, tmpDir, writeTree } from './helpers/tmp.js';
import { recorder, sent } from './helpers/protocol.js';
import { chaosProxy } from './helpers/chaos.js';
import { startCli, type CliRun } from './helpers/cli.js';
import { waitFor } from './helpers/wait.js';

const { env, describe: d, opts, each } = realServerSuite('lock.realservers');
const STATE = '.ftpship-state.json';
const LOCK = `${STATE}.lock`;
const target = remoteFolders('lock');

d.each(each('pure', 'vsftpd'))('%s', (_name, server) => {
  it('a lock without a holder yet, named a moment later: refused (exit 3), nothing uploaded', async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a' });
    const { dir, disk } = target(server);
    const lock = freshLock(server, disk);
    const naming = setTimeout(() => {
      const now = new Date().toISOString();
      fs.writeFileSync(
        path.join(lock, 'holder.json'),
        JSON.stringify({ holder: 'ftpship on other-host pid 42', startedAt: now, refreshedAt: now }),
      );
    }, 1200);
    const rec = recorder();
    const err = await outcome(deploy(opts(server, local, dir), rec));
    clearTimeout(naming);
    expect(err?.exitCode).toBe(3);
    expect(err?.message).toMatch(/another deploy holds the lock .*other-host pid 42/);
    expect(rec.warnings.join('\n')).not.toMatch(/taking over/);
    expect(sent(rec.log, 'STOR')).toEqual([]);
    expect(fs.existsSync(path.join(disk, 'a.txt'))).toBe(false);
  });

  it('a deploy refused by a live lock: its GuardError carries the report of the plan, with refused saying why (was: no report)', async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a' });
    const { dir, disk } = target(server);
    const lock = freshLock(server, disk);
    const now = new Date().toISOString();
    fs.writeFileSync(
      path.join(lock, 'holder.json'),
      JSON.stringify({ holder: 'ftpship on other-host pid 43', startedAt: now, refreshedAt: now }),
    );
    const err = (await outcome(deploy(opts(server, local, dir)))) as
      (Failure & { report?: { refused?: string; dryRun: boolean; files: unknown[] } }) | undefined;
    expect(err?.exitCode).toBe(3);
    expect(err?.report).toMatchObject({
      dryRun: false,
      refused: err?.message,
      files: [{ path: 'a.txt', action: 'upload', size: 1 }],
    });
    expect(err?.report?.refused).toMatch(/another deploy holds the lock .*other-host pid 43/);
  });

  it('killed after its final state write, before its unlock: the rerun, with nothing to do, releases that lock (was: left in the target, the next deploy from elsewhere refused)', async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a' });
    const { dir, disk } = target(server);
    await deploy(opts(server, local, dir));
    writeTree(local, { 'a.txt': 'a v2' });
    let run: CliRun | undefined;
    const proxy = await chaosProxy(server.port, {
      onCommand: (line) => {
        if (!/^DELE \S*\/holder\.json$/.test(line)) return;
        run?.child.kill('SIGKILL');
        return 'hold';
      },
    });
    try {
      const url = `ftp://${server.user}@127.0.0.1:${proxy.port}${dir}`;
      run = startCli(['deploy', local, url], { FTPSHIP_PASSWORD: server.password });
      expect((await run.done).signal).toBe('SIGKILL');
    } finally {
      await proxy.close();
    }
    expect(fs.existsSync(path.join(disk, LOCK, 'holder.json'))).toBe(true);
    const rec = recorder();
    expect((await deploy(opts(server, local, dir), rec)).files).toEqual([]);
    expect(fs.existsSync(path.join(disk, LOCK))).toBe(false);
    expect(rec.warnings).toEqual([expect.stringMatching(/^taking over a stale lock .*pid \d+/)]);
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
  });

  it('a lock refreshed a moment ago by a deploy of this machine killed and not yet reaped (a zombie): its holder is dead, the lock taken over at once', async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a' });
    const { dir, disk } = target(server);
    // The child ends after its parent has exec'd into `sleep 30`, which never reaps it: a zombie until the parent
    // ends. (Was `sleep 0`: ended before the exec, the shell could reap it first, and the test failed in CI.)
    const parent = spawn('sh', ['-c', 'sleep 0.5 & echo $!; exec sleep 30'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    try {
      const pid = Number(await new Promise<string>((r) => parent.stdout.once('data', (b) => r(String(b)))));
      const zombie = (): boolean => /^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
      await waitFor(zombie, 5000);
      const lock = freshLock(server, disk);
      const now = new Date().toISOString();
      const holder = `ftpship on ${os.hostname()} pid ${pid}`;
      fs.writeFileSync(
        path.join(lock, 'holder.json'),
        JSON.stringify({
          token: 'killed',
          holder,
          host: os.hostname(),
          pid,
          startedAt: now,
          refreshedAt: now,
        }),
      );
      const rec = recorder();
      // Was it taken for alive (kill(pid, 0) succeeds on a zombie): "another deploy holds the lock", exit 3.
      await deploy(opts(server, local, dir), rec);
      expect(rec.warnings).toEqual([`taking over a stale lock ${dir}/${LOCK} (${holder}, last seen ${now})`]);
      expect(readTree(disk, [STATE])).toEqual(readTree(local));
      expect(fs.existsSync(path.join(disk, LOCK))).toBe(false);
    } finally {
      parent.kill();
    }
  });

  it('a lock never named (its deploy killed between its MKD and its holder), nothing to do: taken over after the grace and released (was: left in the target)', async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a' });
    const { dir, disk } = target(server);
    await deploy(opts(server, local, dir));
    freshLock(server, disk);
    const rec = recorder();
    expect((await deploy(opts(server, local, dir, { staleLockMs: 1000 }), rec)).files).toEqual([]);
    expect(fs.existsSync(path.join(disk, LOCK))).toBe(false);
    expect(rec.warnings).toEqual([expect.stringMatching(/^taking over a stale lock .*unknown holder/)]);
  });

  it("a deploy with nothing to do leaves a live deploy's lock alone, and says nothing", async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a' });
    const { dir, disk } = target(server);
    await deploy(opts(server, local, dir));
    const lock = freshLock(server, disk);
    const now = new Date().toISOString();
    const holder = JSON.stringify({
      holder: 'ftpship on other-host pid 42',
      host: 'other-host',
      pid: 42,
      startedAt: now,
      refreshedAt: now,
    });
    fs.writeFileSync(path.join(lock, 'holder.json'), holder);
    const rec = recorder();
    expect((await deploy(opts(server, local, dir), rec)).files).toEqual([]);
    expect(rec.warnings).toEqual([]);
    expect(fs.readFileSync(path.join(lock, 'holder.json'), 'utf8')).toBe(holder);
  });

  it('cancelled (AbortSignal, as on SIGINT) while waiting for a lock to be named: stops at once, that lock left as it was', async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a' });
    const { dir, disk } = target(server);
    const lock = freshLock(server, disk);
    const controller = new AbortController();
    let abortedAt = 0;
    let looks = 0;
    const rec = {
      ...recorder(),
      // The second look for the holder: it is waiting for the lock to be named.
      protocol: (line: string) => {
        if (/> (RETR|SIZE) .*holder\.json/.test(line) && ++looks === 2) {
          abortedAt = Date.now();
          controller.abort('SIGINT');
        }
      },
    };
    const err = await outcome(deploy({ ...opts(server, local, dir), signal: controller.signal }, rec));
    expect(err?.name).toBe('CancelledError');
    expect(err?.message).toMatch(/^cancelled \(SIGINT\): nothing was changed/);
    expect(abortedAt).toBeGreaterThan(0);
    expect(Date.now() - abortedAt).toBeLessThan(2000); // not the rest of the 15 s a lock gets to be named
    expect(fs.readdirSync(lock)).toEqual([]);
    expect(fs.existsSync(path.join(disk, 'a.txt'))).toBe(false);
  });

  it('a lock that never gets a holder (its deploy died at once): taken over after the grace, with a warning', async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a' });
    const { dir, disk } = target(server);
    freshLock(server, disk);
    const infos: string[] = [];
    const rec = { ...recorder(), info: (m: string) => infos.push(m) };
    const started = Date.now();
    await deploy(opts(server, local, dir, { staleLockMs: 1500 }), rec);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500); // it waited for a holder first
    // Said while it waits (was: up to 15 s of silence on the CLI, then the warning).
    expect(infos).toContainEqual(
      `the lock ${dir}/${LOCK} is there but names no deploy yet: waiting up to 2 s for the deploy that took it to name itself, else it counts as abandoned`,
    );
    expect(rec.warnings.join('\n')).toMatch(/taking over a stale lock .*unknown holder/);
    expect(readTree(disk, [STATE])).toEqual({ 'a.txt': sha256('a') });
    expect(fs.existsSync(path.join(disk, LOCK))).toBe(false);
  });

  it('a stale lock this user may not remove (another account left it): says so, exit 1, not "another deploy took the lock"', async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a' });
    const { dir, disk } = target(server);
    const lock = path.join(disk, LOCK);
    fs.mkdirSync(lock, { recursive: true });
    fs.chownSync(disk, server.uid, server.gid);
    const old = new Date(Date.now() - 3600_000).toISOString();
    fs.writeFileSync(
      path.join(lock, 'holder.json'),
      JSON.stringify({ holder: 'someone else', startedAt: old, refreshedAt: old }),
    );
    backdate(path.join(lock, 'holder.json'), old);
    fs.chmodSync(lock, 0o755); // root's: the FTP user cannot delete inside it
    const err = await outcome(deploy(opts(server, local, dir)));
    expect(err?.exitCode).toBe(1);
    expect(err?.message).toMatch(/cannot take over the stale lock .*: 550 .*remove that folder by hand/);
    expect(fs.existsSync(path.join(disk, 'a.txt'))).toBe(false);
  });

  // A later deploy whose sizes already show an upload takes its lock while its files are hashed, before its plan
  // is made: the plan's refusals and a plan with nothing to do must still leave the server as it was.
  it('a later deploy with a new file, refused by a live lock: exit 3 with the plan, nothing sent, that lock untouched', async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a' });
    const { dir, disk } = target(server);
    await deploy(opts(server, local, dir));
    writeTree(local, { 'b.txt': 'bb' });
    const lock = freshLock(server, disk);
    const now = new Date().toISOString();
    const holder = JSON.stringify({
      holder: 'ftpship on other-host pid 44',
      startedAt: now,
      refreshedAt: now,
    });
    fs.writeFileSync(path.join(lock, 'holder.json'), holder);
    const before = snapshot(disk);
    const rec = recorder();
    const err = (await outcome(deploy(opts(server, local, dir), rec))) as
      (Failure & { report?: { refused?: string; files: unknown[] } }) | undefined;
    expect(err?.exitCode).toBe(3);
    expect(err?.message).toMatch(/another deploy holds the lock .*other-host pid 44/);
    expect(err?.report?.files).toEqual([expect.objectContaining({ path: 'b.txt', action: 'upload' })]);
    expect(sent(rec.log, 'STOR')).toEqual([]);
    expect(snapshot(disk)).toEqual(before);
  });

  it('a later deploy with a new file, cancelled once it has taken the lock: the lock released, nothing sent, the rerun deploys', async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a' });
    const { dir, disk } = target(server);
    await deploy(opts(server, local, dir));
    writeTree(local, { 'b.txt': 'bb' });
    const ac = new AbortController();
    const rec = recorder();
    const err = await outcome(
      deploy(
        { ...opts(server, local, dir), signal: ac.signal },
        {
          ...rec,
          protocol: (line: string, connection: number) => {
            rec.protocol?.(line, connection);
            if (/> MKD \S*\.lock$/.test(line)) ac.abort();
          },
        },
      ),
    );
    // Before the plan was ready ("cancelled: nothing was changed") or after ("deploy cancelled: …"): either way
    // the lock goes back and b.txt is not sent.
    expect(err?.message).toMatch(/^(deploy )?cancelled/);
    expect(sent(rec.log, 'STOR').filter((p) => p.includes('b.txt'))).toEqual([]);
    expect(fs.existsSync(path.join(disk, LOCK))).toBe(false);
    expect(Object.keys(readTree(disk, [STATE]))).toEqual(['a.txt']);
    await deploy(opts(server, local, dir));
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
  });

  it('a later deploy with a new file that is not sent (a copy of the state): nothing to do, no lock left', async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a' });
    const { dir, disk } = target(server);
    await deploy(opts(server, local, dir));
    writeTree(local, { [STATE]: '{"generator":"ftpship","files":{}}' });
    const before = snapshot(disk);
    const rec = recorder();
    const report = await deploy(opts(server, local, dir), rec);
    expect(report.files).toEqual([]);
    expect(rec.warnings.join('\n')).toMatch(/the local file \.ftpship-state\.json is not uploaded/);
    // No lock either: that file is no upload (was: the lock taken while the files were hashed, then released).
    expect(sent(rec.log, 'STOR')).toEqual([]);
    expect(sent(rec.log, 'MKD')).toEqual([]);
    expect(snapshot(disk)).toEqual(before);
  });

  it('a target folder the user may not write to: one line naming the lock and the permission, exit 1, no takeover', async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a' });
    const { dir, disk } = target(server);
    fs.mkdirSync(disk, { recursive: true });
    fs.chownSync(disk, server.uid, server.gid);
    fs.chmodSync(disk, 0o555);
    try {
      const rec = recorder();
      const err = await outcome(deploy(opts(server, local, dir), rec));
      expect(err?.exitCode).toBe(1);
      expect(err?.message).toContain(`cannot create the deploy lock ${dir}/${LOCK}: 550`);
      expect(err?.message).toContain(`check that the user may write to ${dir}`);
      expect(rec.warnings.join('\n')).not.toMatch(/taking over/);
      expect(snapshot(disk)).toEqual({});
    } finally {
      fs.chmodSync(disk, 0o755);
    }
  });
});

d('pure-ftpd: two deploys of one target started together', () => {
  it('never both hold the lock: after each pair the state lists exactly what the server holds (G4)', async () => {
    const server = env.pure;
    const a = tmpDir();
    const b = tmpDir();
    for (let i = 0; i < 60; i++) {
      writeTree(a, { [`d${i % 6}/f${i}.txt`]: `site A file ${i}\n`.repeat(50) });
      writeTree(b, { [`d${i % 6}/f${i}.txt`]: `site B, another file ${i}\n`.repeat(40) });
    }
    for (let round = 0; round < 8; round++) {
      const { dir, disk } = target(server);
      const results = await Promise.all([
        outcome(deploy(opts(server, a, dir, { parallel: 3 }))),
        outcome(deploy(opts(server, b, dir, { parallel: 3 }))),
      ]);
      for (const r of results)
        if (r) expect([r.exitCode, r.message]).toEqual([3, expect.stringMatching(/lock/)]); // refused by the lock, or done
      const state = JSON.parse(fs.readFileSync(path.join(disk, STATE), 'utf8')) as {
        files: Record<string, { sha256: string }>;
      };
      const onServer = readTree(disk, [STATE]);
      const listed = Object.fromEntries(Object.entries(state.files).map(([p, f]) => [p, f.sha256]));
      expect(listed).toEqual(onServer);
      expect(fs.existsSync(path.join(disk, LOCK))).toBe(false);
    }
  }, 120_000);
});

d('pure-ftpd: three deploys taking over one stale lock at the same moment', () => {
  it('one wins, the others back off (exit 3): the state lists exactly what the server holds (G4)', async () => {
    const server = env.pure;
    const sites = [0, 1, 2].map((v) => {
      const local = tmpDir();
      for (let i = 0; i < 40; i++)
        writeTree(local, { [`d${i % 4}/f${i}.txt`]: `version ${v} of file ${i}\n`.repeat(40) });
      return local;
    });
    for (let round = 0; round < 4; round++) {
      const { dir, disk } = target(server);
      await deploy(opts(server, sites[0], dir));
      const lock = path.join(disk, LOCK);
      fs.mkdirSync(lock);
      fs.chownSync(lock, server.uid, server.gid);
      const old = new Date(Date.now() - 3600_000).toISOString();
      fs.writeFileSync(
        path.join(lock, 'holder.json'),
        JSON.stringify({
          holder: 'ftpship on a cancelled runner',
          host: 'elsewhere',
          startedAt: old,
          refreshedAt: old,
        }),
      );
      backdate(path.join(lock, 'holder.json'), old);
      fs.chownSync(path.join(lock, 'holder.json'), server.uid, server.gid);
      // A stale time of 2 s (the planted holder is an hour old all the same): each winner's look at the lock
      // after its takeover comes 500 ms later, not 2 s (a quarter of the stale time).
      const results = await Promise.all(
        sites.map(async (local) => outcome(deploy(opts(server, local, dir, { staleLockMs: 2000 })))),
      );
      for (const r of results)
        if (r) expect([r.exitCode, r.message]).toEqual([3, expect.stringMatching(/lock/)]);
      expect(results.filter((r) => r === undefined).length).toBeGreaterThanOrEqual(1);
      const state = JSON.parse(fs.readFileSync(path.join(disk, STATE), 'utf8')) as {
        files: Record<string, { sha256: string }>;
      };
      const listed = Object.fromEntries(Object.entries(state.files).map(([p, f]) => [p, f.sha256]));
      expect(listed).toEqual(readTree(disk, [STATE]));
      expect(fs.existsSync(lock)).toBe(false);
    }
  }, 120_000);
});

d('pure-ftpd: a stale lock taken over under a short staleLockMs', () => {
  it('a deploy coming a moment after the takeover finds that lock live: refused (exit 3), and the deploy that took it over finishes (was: its holder unrefreshed through a 2 s pause, stale to others after 1 s: a third deploy took over the live lock, and the first backed off)', async () => {
    const server = env.pure;
    const first = tmpDir();
    writeTree(first, { 'a.txt': 'the first deploy' });
    const second = tmpDir();
    writeTree(second, { 'a.txt': 'the second deploy' });
    const { dir, disk } = target(server);
    const lock = freshLock(server, disk);
    const holderPath = path.join(lock, 'holder.json');
    const old = new Date(Date.now() - 3600_000).toISOString();
    fs.writeFileSync(
      holderPath,
      JSON.stringify({
        holder: 'ftpship on a cancelled runner',
        host: 'elsewhere',
        startedAt: old,
        refreshedAt: old,
      }),
    );
    backdate(holderPath, old);
    fs.chownSync(holderPath, server.uid, server.gid);
    // The first deploy's uploads wait (it holds the lock meanwhile) until the second has had its answer.
    let release = (): void => undefined;
    const released = new Promise<void>((r) => (release = r));
    const proxy = await chaosProxy(server.port, {
      onCommand: (line): Promise<void> | undefined =>
        /^STOR /.test(line) && !/holder\.json$/.test(line) ? released : undefined,
    });
    try {
      const taking = outcome(
        deploy({
          ...opts(server, first, dir, { staleLockMs: 1000 }),
          host: '127.0.0.1',
          port: proxy.port,
          secure: false,
        }),
      );
      // The first deploy took the lock over: its holder (with a token, unlike the stale one) is on the server.
      const named = (): boolean => {
        try {
          return (
            typeof (JSON.parse(fs.readFileSync(holderPath, 'utf8')) as { token?: string }).token === 'string'
          );
        } catch {
          return false;
        }
      };
      while (!named()) await new Promise((r) => setTimeout(r, 10));
      // Longer than the stale time since that holder was written: live only if refreshed since.
      await new Promise((r) => setTimeout(r, 1300));
      const refused = await outcome(deploy(opts(server, second, dir, { staleLockMs: 1000 })));
      release();
      expect(await taking).toBeUndefined();
      expect([refused?.exitCode, refused?.message]).toEqual([
        3,
        expect.stringMatching(/another deploy holds the lock/),
      ]);
      expect(readTree(disk, [STATE])).toEqual(readTree(first));
      expect(fs.existsSync(lock)).toBe(false);
    } finally {
      release();
      await proxy.close();
    }
  });
});
