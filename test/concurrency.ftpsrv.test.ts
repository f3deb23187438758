/**
 * Two deploys of one target (FIELD.md row 17): one finishes between the other's plan and its lock. The
 * later one must plan again from the state the first left, or it would record old hashes for files the
 * first changed (G4: the state never lists content the server does not hold).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { deploy, type DeployOptions } from '../src/index.js';
import type { EmbeddedServer } from '../src/embedded-server.js';
import { releaseHeldLock, type HeldLock } from '../src/engine/lock.js';
import { FtpClient } from '../src/ftp/index.js';
import { deployOptions, embedded, login } from './helpers/embedded.js';
import { waitFor } from './helpers/wait.js';
import { throttled } from './helpers/faults.js';
import { bytes, readTree, sha256, tmpDir, uniqueName, writeTree } from './helpers/tmp.js';

let srv: EmbeddedServer;
beforeAll(async () => {
  srv = await embedded();
});
afterAll(async () => {
  await srv.close();
});

const opts = (localDir: string, remoteDir: string, extra: Partial<DeployOptions> = {}): DeployOptions =>
  deployOptions(srv, localDir, remoteDir, extra);

describe('a deploy that finishes while another is planning', () => {
  it('the later deploy plans again from the new state: server and state agree afterwards', async () => {
    const dir = `/${uniqueName('race')}`;
    const disk = path.join(srv.root, dir);
    const v1 = tmpDir();
    writeTree(v1, { 'a.txt': 'version 1', 'b.txt': 'b' });
    await deploy(opts(v1, dir));

    // What deploy A leaves behind: a.txt at version 2 and its state (made in a scratch folder first).
    const scratch = `/${uniqueName('race-a')}`;
    const v2 = tmpDir();
    writeTree(v2, { 'a.txt': 'version 2', 'b.txt': 'b' });
    await deploy(opts(v2, scratch));

    // Deploy B (local a.txt still at version 1, plus a new file) planned from the first state; A's result
    // lands just as B asks for the lock.
    const b = tmpDir();
    writeTree(b, { 'a.txt': 'version 1', 'b.txt': 'b', 'c.txt': 'new' });
    let landed = false;
    const infos: string[] = [];
    const report = await deploy(opts(b, dir), {
      info: (m) => infos.push(m),
      protocol: (line) => {
        if (landed || !line.startsWith('> MKD ') || !line.endsWith('.ftpship-state.json.lock')) return;
        landed = true;
        for (const f of ['a.txt', '.ftpship-state.json'])
          fs.copyFileSync(path.join(srv.root, scratch, f), path.join(disk, f));
      },
    });
    expect(landed).toBe(true);
    expect(infos.some((m) => /planning again/.test(m))).toBe(true);
    expect(report.files.find((f) => f.path === 'a.txt')?.action).toBe('replace');
    // The server holds B's a.txt, and the state says so.
    expect(fs.readFileSync(path.join(disk, 'a.txt'), 'utf8')).toBe('version 1');
    const state = JSON.parse(fs.readFileSync(path.join(disk, '.ftpship-state.json'), 'utf8')) as {
      files: Record<string, { sha256: string }>;
    };
    for (const f of ['a.txt', 'b.txt', 'c.txt']) {
      expect(state.files[f].sha256).toBe(sha256(fs.readFileSync(path.join(disk, f))));
    }
  });
});

/** Runs `body` on a server of its own, closed after. */
async function onServer(
  starting: Promise<EmbeddedServer>,
  body: (srv: EmbeddedServer) => Promise<void>,
): Promise<void> {
  const own = await starting;
  try {
    await body(own);
  } finally {
    await own.close();
  }
}

/**
 * An embedded server taking site files at 1 MiB/s (ftpship's state at full speed): a deploy holds its lock for
 * seconds. `holderDelayMs`: the bytes of a lock's holder file land that much later (the file is there, empty).
 */
async function slowEmbedded(holderDelayMs = 0): Promise<EmbeddedServer> {
  return embedded({
    wrapUpload: (fsPath: string, stream: fs.WriteStream) => {
      if (fsPath.endsWith('/holder.json') && holderDelayMs > 0)
        return new Writable({
          write: (chunk: Buffer, _enc, done) => setTimeout(() => stream.write(chunk, done), holderDelayMs),
          final: (done) => stream.end(() => done()),
        });
      return fsPath.includes('ftpship-state') ? stream : throttled(stream, 1024 * 1024);
    },
  });
}

describe('deploys started at the same moment on a server that answers 257 to MKD of an existing folder', () => {
  // ftp-srv makes folders as `mkdir -p` does: MKD of the lock folder says yes to every deploy, so the lock
  // rests on the claim file (was: each deploy found no holder yet, took the lock, and all wrote at once).
  it('six deploys of six trees at one folder: one holds the lock, the others are refused; the server and the state are the winner’s', async () => {
    // The winner's holder lands 500 ms after its claim: the others look for it before that.
    await onServer(slowEmbedded(500), async (slow) => {
      const dir = `/${uniqueName('same-moment')}`;
      const trees = Array.from({ length: 6 }, (_, i) => {
        const local = tmpDir();
        writeTree(local, {
          'index.html': `site ${i}`,
          [`only-${i}.txt`]: `${i}`,
          'big.bin': bytes(512 * 1024, i),
        });
        return local;
      });
      const outcomes = await Promise.allSettled(trees.map(async (t) => deploy(deployOptions(slow, t, dir))));
      const won = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
      expect(won).toHaveLength(1);
      for (const o of outcomes)
        if (o.status === 'rejected')
          expect((o.reason as Error).message).toMatch(/^another deploy holds the lock /);
      const disk = path.join(slow.root, dir);
      expect(readTree(disk, ['.ftpship-state.json'])).toEqual(readTree(trees[won[0]]));
      const state = JSON.parse(fs.readFileSync(path.join(disk, '.ftpship-state.json'), 'utf8')) as {
        files: Record<string, { sha256: string }>;
      };
      expect(Object.keys(state.files).sort()).toEqual(Object.keys(readTree(trees[won[0]])).sort());
      expect(fs.existsSync(path.join(disk, '.ftpship-state.json.lock'))).toBe(false);
      // The lock is free again: the next deploy takes it.
      await deploy(deployOptions(slow, trees[0], dir));
      expect(readTree(disk, ['.ftpship-state.json'])).toEqual(readTree(trees[0]));
    });
  }, 30_000);
});

describe('a server that answers 257 to MKD of an existing folder and refuses the claim file', () => {
  it('the deploy goes on as before claims, warning that runs started together are not kept apart there; the next one too', async () => {
    await onServer(
      embedded({
        wrapUpload: (fsPath: string, stream: fs.WriteStream) => {
          if (fsPath.endsWith('/claims')) throw new Error('Append not supported');
          return stream;
        },
      }),
      async (noAppend) => {
        const dir = `/${uniqueName('no-claims')}`;
        const local = tmpDir();
        writeTree(local, { 'index.html': 'home' });
        for (let run = 0; run < 2; run++) {
          const warnings: string[] = [];
          await deploy(deployOptions(noAppend, local, dir), { warn: (m) => warnings.push(m) });
          expect(warnings).toEqual([
            expect.stringMatching(
              /^the server answers "created" to MKD of a folder that is there already, so the deploy lock .*\.lock rests on a claim file in it, which it refused \(APPE .*\/claims: 55\d .*\): deploys started at the same moment are not kept apart on this server; give every workflow that deploys here the same concurrency: group$/,
            ),
          ]);
          expect(readTree(path.join(noAppend.root, dir), ['.ftpship-state.json'])).toEqual(readTree(local));
          expect(fs.existsSync(path.join(noAppend.root, dir, '.ftpship-state.json.lock'))).toBe(false);
          fs.writeFileSync(path.join(local, 'index.html'), 'home, edited');
        }
      },
    );
  });
});

describe('a lock released from outside the deploy (the gulp exit) on a server whose MKD cannot tell', () => {
  it('the claim file goes with the holder, then the folder (was: the RMD refused, the lock left for the next deploy to wait on)', async () => {
    await onServer(slowEmbedded(), async (slow) => {
      const dir = `/${uniqueName('exit-release')}`;
      const local = tmpDir();
      writeTree(local, { 'index.html': 'home', 'big.bin': bytes(2 * 1024 * 1024, 3) });
      let held: HeldLock | undefined;
      const running = deploy(deployOptions(slow, local, dir), {}, { onLock: (l) => (held ??= l) });
      running.catch(() => {});
      const lockDir = path.join(slow.root, dir, '.ftpship-state.json.lock');
      await waitFor(() => held !== undefined && fs.existsSync(path.join(lockDir, 'holder.json')), 20_000);
      expect(fs.existsSync(path.join(lockDir, 'claims'))).toBe(true);
      const c = await FtpClient.connect(login(slow));
      try {
        expect(await releaseHeldLock(c, held as HeldLock)).toBe(true);
      } finally {
        c.close();
      }
      expect(fs.existsSync(lockDir)).toBe(false);
      await running.catch(() => undefined); // it finds its lock gone and stops
    });
  }, 30_000);
});

describe('a lock released from outside the deploy (the gulp exit) after another deploy took it over', () => {
  it('its holder names that deploy: left as it is, and the release says no (the exit prints "left: another deploy holds it now")', async () => {
    const dir = `/${uniqueName('exit-taken')}`;
    const lock = `${dir}/.ftpship-state.json.lock`;
    const lockDir = path.join(srv.root, lock);
    fs.mkdirSync(lockDir, { recursive: true });
    const now = new Date().toISOString();
    const theirs = JSON.stringify({
      token: 'theirs',
      holder: 'ftpship on other-host pid 7',
      startedAt: now,
      refreshedAt: now,
    });
    fs.writeFileSync(path.join(lockDir, 'holder.json'), theirs);
    const c = await FtpClient.connect(login(srv));
    try {
      expect(await releaseHeldLock(c, { path: lock, holderPath: `${lock}/holder.json`, token: 'mine' })).toBe(
        false,
      );
    } finally {
      c.close();
    }
    // Was it removed, that deploy went on writing without a lock.
    expect(fs.readFileSync(path.join(lockDir, 'holder.json'), 'utf8')).toBe(theirs);
  });
});

describe("a live lock that looks stale only because this machine's clock is ahead of the server's (and the holder's)", () => {
  it('found out after the takeover, by the server’s time of the new holder file: the holder is put back as it was, and this deploy backs off (was: took the live lock over)', async () => {
    await onServer(embedded({ clockOffsetMs: -3600_000 }), async (behind) => {
      const dir = `/${uniqueName('clock-ahead')}`;
      const lock = path.join(behind.root, dir, '.ftpship-state.json.lock');
      fs.mkdirSync(lock, { recursive: true });
      // Written a moment ago by a deploy whose machine keeps the server's time: an hour behind this one's.
      const theirs = new Date(Date.now() - 3600_000 - 5_000).toISOString();
      const holder = {
        token: 'theirs',
        holder: 'ftpship on runner-2 pid 7',
        host: 'runner-2',
        pid: 7,
        startedAt: theirs,
        refreshedAt: theirs,
      };
      fs.writeFileSync(path.join(lock, 'holder.json'), JSON.stringify(holder));
      const local = tmpDir();
      writeTree(local, { 'index.html': 'home' });
      const err = (await deploy(deployOptions(behind, local, dir)).catch((e: unknown) => e)) as Error;
      expect(err.message).toMatch(
        /^another deploy holds the lock .*\.lock \(ftpship on runner-2 pid 7, since .*\): its holder file was written \d+ s ago by the server's clock, under the stale time \(120 s\); this machine's clock is 60 min ahead of the server's, which made the lock look stale\. The lock was given back as it was; set this machine's clock right, then run the deploy again$/,
      );
      expect(JSON.parse(fs.readFileSync(path.join(lock, 'holder.json'), 'utf8'))).toEqual(holder);
      expect(fs.existsSync(path.join(behind.root, dir, 'index.html'))).toBe(false);
    });
  });
});

describe('a claim left by a deploy killed before it named itself, on a server whose MKD cannot tell', () => {
  it('the next deploy is not first in the claim file, waits the grace for a holder, then takes the lock over; the unlock removes the claim file and the folder', async () => {
    await onServer(embedded(), async (srv) => {
      const dir = `/${uniqueName('dead-claim')}`;
      const lock = path.join(srv.root, dir, '.ftpship-state.json.lock');
      fs.mkdirSync(lock, { recursive: true });
      fs.writeFileSync(path.join(lock, 'claims'), 'a-deploy-killed-after-its-claim\n');
      const local = tmpDir();
      writeTree(local, { 'index.html': 'home' });
      const warnings: string[] = [];
      const infos: string[] = [];
      await deploy(deployOptions(srv, local, dir, { staleLockMs: 2000 }), {
        warn: (m) => warnings.push(m),
        info: (m) => infos.push(m),
      });
      expect(infos).toContainEqual(
        expect.stringMatching(/is there but names no deploy yet: waiting up to 2 s/),
      );
      expect(warnings).toEqual([
        expect.stringMatching(/^taking over a stale lock .* \(unknown holder, last seen never\)$/),
      ]);
      expect(readTree(path.join(srv.root, dir), ['.ftpship-state.json'])).toEqual(readTree(local));
      expect(fs.existsSync(lock)).toBe(false);
    });
  });
});
