/**
 * A connection lost in the middle of the STOR of one of ftpship's files with a fixed name (the state's
 * temporary copy, the lock's holder as it names the deploy or refreshes, the maintenance file's temporary
 * copy): the server never hears of it, and its session goes on waiting for the
 * rest of the data, the file open. vsftpd (lock_upload_files, its default) keeps a write lock on it all that
 * time (its data timeout, minutes): a STOR of that name on another connection waits for the lock, and so
 * does a RETR. The retry on a new connection must not wait on it. The lost data connection is a proxy that
 * stops passing the upload's bytes (the server's side stays open) until the proxy closes. On pure-ftpd and
 * proftpd (no such lock) the same cuts, as a check: a cut refresh failed there too (the holder left empty).
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { deploy, type DeployOptions } from '../src/index.js';
import {
  realDeployOptions,
  realServerSuite,
  remoteFolders,
  type RealServer,
} from './helpers/real-servers.js';
import { chaosProxy } from './helpers/chaos.js';
import { backdate, readTree, tmpDir, writeTree } from './helpers/tmp.js';

const { describe: d, env, opts, each } = realServerSuite('held-name.realservers');
const target = remoteFolders('hretry26-held');
const STATE = '.ftpship-state.json';
const LOCK = `${STATE}.lock`;
const BAK = `${STATE}.bak`;

/**
 * A deploy of two files through a proxy whose data connection of the `nth` STOR matching `stor` (the first by
 * default) stops passing bytes (the server's side left open, holding the file): short timeouts and two
 * retries, as a user in a hurry sets them. `update`: the site deployed before, another version (this deploy
 * then changes live files). `gate`: the first command matching it is kept from the server until
 * one matching `until` comes after the stall (a deploy kept going meanwhile). The proxy closes after the
 * deploy (the held session then ends).
 */
async function deployHeld(
  server: RealServer,
  stor: RegExp,
  o: {
    nth?: number;
    gate?: RegExp;
    until?: RegExp;
    update?: boolean;
    /**
     * The `nth` command matching `at` kept from the server, the connection then cut: e.g. the lock's second MKD
     * (the first made the folder, its 257 seen).
     */
    cut?: { at: RegExp; nth: number };
    /** A stale lock there before the deploy (an hour old, from another machine): taken over. */
    staleLock?: boolean;
    extra?: Partial<DeployOptions>;
  } = {},
): Promise<{
  error?: Error;
  warnings: string[];
  local: string;
  disk: string;
  stalled: boolean;
  left: string[];
}> {
  const local = tmpDir('ftpship-hretry26-');
  const { dir, disk } = target(server);
  if (o.update) {
    // The site deployed before (directly), so that this deploy changes live files.
    writeTree(local, { 'index.html': 'home v1', 'css/site.css': 'body {}' });
    await deploy(opts(server, local, dir));
  }
  writeTree(local, { 'index.html': 'home', 'css/site.css': 'body {}' });
  if (o.staleLock) {
    const lock = path.join(disk, LOCK);
    fs.mkdirSync(lock, { recursive: true });
    const old = new Date(Date.now() - 3600_000).toISOString();
    const holder = path.join(lock, 'holder.json');
    fs.writeFileSync(
      holder,
      JSON.stringify({
        holder: 'a deploy on a cancelled runner',
        host: 'elsewhere',
        startedAt: old,
        refreshedAt: old,
      }),
    );
    backdate(holder, old);
    for (const p of [disk, lock, holder]) fs.chownSync(p, server.uid, server.gid);
  }
  let seen = 0;
  let cuts = 0;
  let armed = false;
  let stalled = false;
  let gated = false;
  let open = (): void => {};
  const opened = new Promise<void>((r) => (open = r));
  const proxy = await chaosProxy(server.port, {
    onCommand: (line): 'hold' | Promise<void> | undefined => {
      if (o.cut?.at.test(line) && ++cuts === o.cut.nth) {
        setTimeout(() => {
          proxy.cutAll();
          proxy.heal();
        }, 300);
        return 'hold';
      }
      if (stalled && o.until?.test(line)) open();
      if (!stalled && stor.test(line) && ++seen === (o.nth ?? 1)) armed = true;
      if (gated || !o.gate?.test(line)) return;
      gated = true;
      return opened;
    },
    onData: () => {
      if (!armed) return;
      armed = false;
      stalled = true;
      return 'stall';
    },
  });
  const warnings: string[] = [];
  let error: Error | undefined;
  let left: string[];
  try {
    await deploy(
      realDeployOptions(server, env.ca, false, local, dir, {
        port: proxy.port,
        timeoutMs: 2000,
        retries: 2,
        parallel: 2,
        ...o.extra,
      }),
      { warn: (m) => warnings.push(m) },
    ).catch((err: unknown) => (error = err as Error));
    // What the deploy left, while the session that lost its connection still holds its file.
    left = fs.existsSync(disk) ? ownFiles(disk) : [];
  } finally {
    await proxy.close();
  }
  return { error, warnings, local, disk, stalled, left };
}

/** ftpship's own entries in `disk` (its state, temporary copies, the lock), recursively. */
function ownFiles(disk: string): string[] {
  return fs
    .readdirSync(disk, { recursive: true, encoding: 'utf8' })
    .filter((p) => path.basename(p).startsWith('.ftpship') || p.includes(LOCK))
    .sort();
}

d.each(each('vsftpd', 'pure', 'proftpd'))('%s: a STOR of a fixed name cut, then retried', (_name, server) => {
  it("the state's temporary copy: the retry does not wait on the cut session's file; the deploy finishes", async () => {
    const r = await deployHeld(server, new RegExp(`^STOR .*/${STATE.replace(/\./g, '\\.')}\\.tmp$`));
    expect(r.stalled).toBe(true);
    // Before: "cannot write the state file …: timed out" after every retry waited on vsftpd's lock.
    expect(r.error).toBeUndefined();
    expect(readTree(r.disk, [STATE])).toEqual(readTree(r.local));
    // The state is in place, and no copy of it is left behind (nor the lock): its backup copy only.
    expect(r.left).toEqual([STATE, BAK]);
    expect(ownFiles(r.disk)).toEqual([STATE, BAK]);
  });

  it("the state's backup copy (FIELD 4.4), over the last one: the retry does not wait on the cut session's file; the copy is the final state", async () => {
    const r = await deployHeld(server, new RegExp(`^STOR .*/${BAK.replace(/\./g, '\\.')}$`), {
      update: true,
    });
    expect(r.stalled).toBe(true);
    expect(r.error).toBeUndefined();
    expect(readTree(r.disk, [STATE])).toEqual(readTree(r.local));
    expect(r.left).toEqual([STATE, BAK]);
    // Read after the cut session was closed (deployHeld closes its proxy): none put its part back over it.
    const copy = fs.readFileSync(path.join(r.disk, BAK), 'utf8');
    expect(copy).toBe(fs.readFileSync(path.join(r.disk, STATE), 'utf8'));
    expect(JSON.parse(copy).files['index.html']).toMatchObject({ size: 4 });
  });
});

d.each(each('vsftpd', 'pure', 'proftpd'))("%s: the lock holder's STOR cut, then retried", (_name, server) => {
  it('the retry names this deploy in its lock, not "could not write the lock holder"; the deploy finishes', async () => {
    const r = await deployHeld(server, new RegExp(`^STOR .*/${LOCK.replace(/\./g, '\\.')}/holder\\.json$`));
    expect(r.stalled).toBe(true);
    expect(r.error).toBeUndefined();
    // Before: the retries waited on vsftpd's lock, and the lock named no deploy all through this one (another
    // deploy would have taken it over as abandoned after 15 s).
    expect(r.warnings.filter((w) => /could not/.test(w))).toEqual([]);
    expect(readTree(r.disk, [STATE])).toEqual(readTree(r.local));
    expect(r.left).toEqual([STATE, BAK]);
    expect(ownFiles(r.disk)).toEqual([STATE, BAK]);
  });
});

d.each(each('vsftpd', 'pure', 'proftpd'))(
  "%s: a refresh of the lock holder's STOR cut, then retried",
  (_name, server) => {
    it('the retry finds the holder it was writing, not "the deploy lock is no longer this deploy\'s"', async () => {
      const holder = new RegExp(`^(?:STOR|SIZE|RETR|DELE) .*/${LOCK.replace(/\./g, '\\.')}/holder\\.json$`);
      const r = await deployHeld(
        server,
        new RegExp(`^STOR .*/${LOCK.replace(/\./g, '\\.')}/holder\\.json$`),
        {
          nth: 2, // the first refresh (the first names the deploy)
          gate: /^STOR .*\/index\.html$/, // the deploy goes on until the refresh's retry
          until: holder,
          extra: { staleLockMs: 4000 }, // refreshed every second
        },
      );
      expect(r.stalled).toBe(true);
      // Before: the cut STOR had emptied the holder, and the retry took that for a lock taken over or removed:
      // "the deploy lock … is no longer this deploy's: its holder file or folder was removed".
      expect(r.error).toBeUndefined();
      expect(readTree(r.disk, [STATE])).toEqual(readTree(r.local));
      expect(r.left).toEqual([STATE, BAK]);
      expect(ownFiles(r.disk)).toEqual([STATE, BAK]);
    });
  },
);

d.each(each('vsftpd', 'pure', 'proftpd'))(
  "%s: the maintenance file's STOR cut, then retried",
  (_name, server) => {
    it("the retry does not wait on the cut session's file: the marker goes up, and down", async () => {
      const r = await deployHeld(server, /^STOR .*\/\.maintenance\.tmp$/, {
        update: true,
        extra: { maintenance: { path: '.maintenance' } },
      });
      expect(r.stalled).toBe(true);
      // Before: "cannot put up the maintenance file .maintenance: no reply to STOR …/.maintenance.tmp".
      expect(r.error).toBeUndefined();
      expect(readTree(r.disk, [STATE])).toEqual(readTree(r.local));
    });
  },
);

d.each(each('vsftpd', 'pure', 'proftpd'))(
  "%s: the lock's MKD reply cut, then the holder's STOR of the retry cut, then retried",
  (_name, server) => {
    it("the second retry does not wait on the cut session's file: this deploy holds the lock and finishes", async () => {
      const r = await deployHeld(
        server,
        new RegExp(`^STOR .*/${LOCK.replace(/\./g, '\\.')}/holder\\.json$`),
        { cut: { at: /^MKD .*\.lock$/, nth: 2 } },
      );
      expect(r.stalled).toBe(true);
      // Before (vsftpd): "cannot take the deploy lock …: no reply to STOR …/holder.json": the second retry's
      // STOR waited on the cut session's file to the end of the retries.
      expect(r.error).toBeUndefined();
      expect(readTree(r.disk, [STATE])).toEqual(readTree(r.local));
      expect(r.left).toEqual([STATE, BAK]);
    });
  },
);

d.each(each('vsftpd', 'pure', 'proftpd'))(
  "%s: a stale lock taken over, then the holder's STOR of the takeover cut, then retried",
  (_name, server) => {
    it('the retry names this deploy in the lock it took, with no wait and no second stale-lock warning; the deploy finishes', async () => {
      const r = await deployHeld(
        server,
        new RegExp(`^STOR .*/${LOCK.replace(/\./g, '\\.')}/holder\\.json$`),
        { staleLock: true },
      );
      expect(r.stalled).toBe(true);
      expect(r.error).toBeUndefined();
      // Before: the retry found the lock it had made naming no one, waited for the grace, and warned
      // "taking over a stale lock … (unknown holder, last seen never)" about its own.
      expect(r.warnings.filter((w) => /stale lock/.test(w))).toEqual([
        expect.stringContaining('(a deploy on a cancelled runner, last seen'),
      ]);
      expect(readTree(r.disk, [STATE])).toEqual(readTree(r.local));
      expect(r.left).toEqual([STATE, BAK]);
    });
  },
);

d.each(each('vsftpd', 'pure', 'proftpd'))(
  "%s: a stale lock taken over, then the connection cut after the holder's STOR, at the clock check (MDTM)",
  (_name, server) => {
    it('the retry finds the lock naming this deploy: its own, held; no refusal, no second stale-lock warning', async () => {
      // The first MDTM of the holder judges the stale lock; the second, after this deploy's holder went up,
      // checks this machine's clock against the server's: held back, and the connection cut.
      const r = await deployHeld(server, /^$/, {
        staleLock: true,
        cut: { at: new RegExp(`^MDTM .*/${LOCK.replace(/\./g, '\\.')}/holder\\.json$`), nth: 2 },
      });
      // Was it seen as another deploy's: "another deploy holds the lock … it is a deploy() of this same process".
      expect(r.error).toBeUndefined();
      expect(r.warnings.filter((w) => /stale lock/.test(w))).toEqual([
        expect.stringContaining('(a deploy on a cancelled runner, last seen'),
      ]);
      expect(r.warnings).toContainEqual(expect.stringMatching(/^lock .*; retrying \(1\//));
      expect(readTree(r.disk, [STATE])).toEqual(readTree(r.local));
      expect(r.left).toEqual([STATE, BAK]);
    });
  },
);
