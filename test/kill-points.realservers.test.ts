/**
 * Killed at many points (SIGKILL of the real CLI, through a proxy on its control and data connections), then
 * rerun by the CLI, on pure-ftpd and vsftpd, and on proftpd (its defaults: no REST) at the points where the
 * servers differ. The points are fixed: the Nth command of a kind (an upload to a temporary name, a commit's
 * rename, a folder's RMD, a delete, a name test's delete, every step of a state write, the unlock), each let
 * through to the server or held from it, or the Nth byte of upload data; or two in a row (a rerun killed
 * again, or its network dropped: the server's side of its connections left open). Checked at each kill,
 * before the rerun: every live path holds a whole version of itself (G2), the state is whole and lists only
 * what the server holds (G4). After the rerun: exit 0, a lock the killed run left taken over (its holder dead
 * on this machine) with a warning naming it, the server tree equal to the local one byte for byte (G1), no
 * lock, no temporary file and no name test's file left anywhere, a further run a no-op. Three deploys: a full
 * one, an incremental one (replaces, deletes, a folder that became a file), and one killed while it writes
 * the state; a point cut in the large file is resumed, not sent whole (where the server allows REST). And a
 * lock left by a runner killed on another machine: refused, saying when to run again; taken over once that
 * time is past. The points of one deploy run side by side, each in a folder of its own. Skipped, with a
 * message, only when test/servers/.env.json is absent.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { deploy } from '../src/index.js';
import { realServerSuite, remoteFolders, type RealServer } from './helpers/real-servers.js';
import { proxiedDeploy, releasePassive } from './helpers/chaos.js';
import { startCli, type CliResult } from './helpers/cli.js';
import { backdate, bytes, readDirs, readTree, sha256, tmpDir, writeTree } from './helpers/tmp.js';

const { describe: d, opts, each } = realServerSuite('kill-points.realservers');
const STATE = '.ftpship-state.json';
const target = remoteFolders('killpts');

type Tree = Record<string, string | Buffer>;
const BIG = 1100 * 1024; // over the 1 MiB from which a new file goes through a temp (resumable)
const OLD: Tree = {
  'index.html': 'home v1',
  'same.txt': 'same',
  'css/site.css': 'body{a}',
  'big.bin': bytes(BIG, 1),
  'gone/deep/a.txt': 'ga',
  'old.txt': 'old',
  'swap/inner.txt': 'a folder, then a file',
};
const NEW: Tree = {
  'index.html': 'home v2, longer',
  'same.txt': 'same',
  'css/site.css': 'body{b}',
  'big.bin': bytes(BIG, 2),
  swap: 'now a file',
  'n/m/new.txt': 'nested',
};

/** Where to kill: the `nth` command matching `command` (let through to the server, or held), or upload byte `byte`. */
interface Point {
  command?: RegExp;
  nth?: number;
  hold?: boolean;
  byte?: number;
  /**
   * The network drops there rather than the client being killed: the server's side of its connections stays
   * open (it never hears of it) until after the rerun.
   */
  dropped?: boolean;
}

const shas = (t: Tree): Record<string, string> =>
  Object.fromEntries(Object.entries(t).map(([k, v]) => [k, sha256(v)]));
const TEMP = /^\.?ftpship-[0-9a-f]{20}\.tmp$/;
/** ftpship's own entries: the state, its lock and temporary copy, the temporary names of uploads. */
const own = (p: string): boolean => p.split('/').some((s) => s.startsWith('.ftpship') || TEMP.test(s));

function reset(local: string, tree: Tree): void {
  fs.rmSync(local, { recursive: true, force: true });
  fs.mkdirSync(local, { recursive: true });
  writeTree(local, tree);
}

/** Every entry (files and folders) under root, relative. */
function entries(root: string, rel = ''): string[] {
  return fs.readdirSync(path.join(root, rel), { withFileTypes: true }).flatMap((e) => {
    const r = rel ? `${rel}/${e.name}` : e.name;
    return e.isDirectory() ? [`${r}/`, ...entries(root, r)] : [r];
  });
}

/** At a kill: each live path whole (G2), the state whole and honest (G4). */
function expectWhole(disk: string, before: Tree, after: Tree, where: string): void {
  const server = readTree(disk);
  for (const [p, h] of Object.entries(server)) {
    if (own(p)) continue;
    const known = [before[p], after[p]].filter((v) => v !== undefined);
    // A new file under 1 MiB goes up under its own name (the README says so): it may be seen part-written.
    const newSmall = before[p] === undefined && known.every((v) => v.length < 1024 * 1024);
    if (!newSmall) expect([where, p, known.map(sha256)]).toEqual([where, p, expect.arrayContaining([h])]);
  }
  const statePath = path.join(disk, STATE);
  if (!fs.existsSync(statePath)) return;
  const state = JSON.parse(fs.readFileSync(statePath, 'utf8')) as {
    files: Record<string, { sha256: string }>;
  };
  for (const [p, f] of Object.entries(state.files))
    expect([where, p, server[p]]).toEqual([where, p, f.sha256]);
}

const url = (server: RealServer, port: number, dir: string): string =>
  `ftp://${server.user}@127.0.0.1:${port}${dir}`;

/** The CLI through the proxy, killed (SIGKILL) at `at`. */
async function killedRun(
  server: RealServer,
  local: string,
  dir: string,
  at: Point,
): Promise<{ result: CliResult; where: string; unconnected: number[]; close: () => Promise<void> }> {
  let where: string | undefined;
  let seen = 0;
  const run = await proxiedDeploy(
    server,
    local,
    dir,
    (ctl) => {
      const kill = (what: string): void => {
        where = at.dropped ? `${what}, the network dropped` : what;
        if (at.dropped) ctl.proxy().freeze();
        ctl.kill();
      };
      return {
        onCommand: (line) => {
          if (where !== undefined || !at.command?.test(line) || ++seen !== (at.nth ?? 1)) return;
          kill(`${at.hold ? 'held' : 'sent'} ${line}`);
          return at.hold ? 'hold' : undefined;
        },
        onData: (total) => {
          if (where !== undefined || at.byte === undefined || total < at.byte) return;
          kill(`upload byte ${at.byte}`);
          return 'hold';
        },
      };
    },
    at.dropped,
  );
  return { ...run, where: where ?? `never killed: ${run.result.stderr}` };
}

/**
 * One point: the site at `before`, the local tree at `after`, killed at `at` (at each point of a list, one
 * run after another: a rerun killed again), checked at each kill, rerun, checked.
 */
async function point(server: RealServer, before: Tree, after: Tree, at: Point | Point[]): Promise<void> {
  const local = tmpDir('ftpship-killpts-');
  const { dir, disk } = target(server);
  reset(local, before);
  if (Object.keys(before).length > 0) await deploy(opts(server, local, dir));
  else {
    fs.mkdirSync(disk); // a first deploy: no state yet
    fs.chownSync(disk, server.uid, server.gid);
  }
  reset(local, after);
  const unconnected: number[] = [];
  const closers: Array<() => Promise<void>> = [];
  let where = server.name;
  // After the rerun (which meets what the killed runs left, as a user would): sessions still waiting let go.
  try {
    for (const p of Array.isArray(at) ? at : [at]) {
      const cut = await killedRun(server, local, dir, p);
      unconnected.push(...cut.unconnected);
      closers.push(cut.close);
      where = `${where}: ${cut.where}`;
      expect([where, cut.result.signal]).toEqual([where, 'SIGKILL']);
      await new Promise((r) => setTimeout(r, 100)); // the server finishes what the killed session had started
      expectWhole(disk, before, after, where);
    }
    const lock = `${dir}/${STATE}.lock`;
    const lockLeft = fs.existsSync(path.join(server.home, lock));
    // A reply slower than 8 s is one the server holds back (not a loaded machine): warned about, and the rerun
    // stopped there (it would wait on).
    const rerun = startCli(
      ['deploy', local, url(server, server.port, dir), '--json', '--parallel', '2', '--timeout', '8000'],
      {
        FTPSHIP_PASSWORD: server.password,
      },
    );
    void rerun.waitForLine(/^warning: .*no reply/).then((l) => l && rerun.child.kill('SIGKILL'));
    const done = await rerun.done;
    // The only warning: the killed run's lock taken over, naming its holder (dead on this machine); or, killed
    // before it named itself, after the grace the rerun said it gives.
    // (Not the server's connection limit: other test files share these servers.)
    const warned = done.stderr
      .split('\n')
      .filter((l) => /warning|error/.test(l) && !/refused another connection|\(greeting\): 421 /.test(l))
      // A server that refuses REST (proftpd's default): a part the killed run sent goes again whole, said once.
      .filter(
        (l) =>
          server.resume ||
          !/^warning: the server refused to resume \(STOR .*: 451 .*Append\/Restart not permitted.*\); uploading whole files instead$/.test(
            l,
          ),
      )
      // A network dropped in the large file's resumed temp: the server's session may still hold it (vsftpd
      // locks it), said once, and the file sent whole under a new temporary name.
      .filter(
        (l) =>
          !(
            Array.isArray(at) &&
            at.some((p) => p.dropped) &&
            /^warning: upload big\.bin: the server did not start the resumed upload to .* within 4000 ms: another session \(of a deploy cut off earlier\) most likely still holds that temporary file open; sending it whole under a new temporary name/.test(
              l,
            )
          ),
      )
      // (Known, left: a first deploy killed before its first state write, with a folder made already, gets
      // "no state file …, but … already holds …" on its rerun, which then finishes it all the same.)
      .filter((l) => !(Object.keys(before).length === 0 && / already holds .*--adopt/.test(l)));
    const takeover = new RegExp(
      `^warning: taking over a stale lock ${lock.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\((ftpship on |unknown holder)`,
    );
    expect([where, warned]).toEqual([where, lockLeft ? [expect.stringMatching(takeover)] : []]);
    if (warned[0]?.includes('(unknown holder'))
      expect([where, done.stderr]).toEqual([
        where,
        expect.stringContaining(`the lock ${lock} is there but names no deploy yet: waiting up to 15 s`),
      ]);
    expect([where, done.code]).toEqual([where, 0]);
    // Cut half way through the large file: the rerun resumes it (REST), sending less than the whole (G1).
    if (!Array.isArray(at) && at.byte !== undefined && server.resume) {
      const sent = (JSON.parse(done.stdout) as { bytes: { sent: number } }).bytes.sent;
      expect([where, sent < BIG]).toEqual([where, true]);
    }
    expect([where, readTree(disk, [STATE])]).toEqual([where, shas(after)]);
    expect([where, readDirs(disk)]).toEqual([where, readDirs(local)]);
    expect([where, entries(disk).filter(own)]).toEqual([where, [STATE, `${STATE}.bak`]]);
    expectWhole(disk, after, after, where);
    const again = await deploy(opts(server, local, dir, { dryRun: true }));
    expect([where, again.files]).toEqual([where, []]);
  } finally {
    for (const close of closers) await close();
    await releasePassive(unconnected);
  }
  fs.rmSync(local, { recursive: true, force: true });
}

type KillServer = 'pure' | 'vsftpd' | 'proftpd';
// KILL_SERVERS=vsftpd: the points on some of the servers only (by hand; CI runs each row on its servers).
const chosen = process.env.KILL_SERVERS?.split(',') as KillServer[] | undefined;

/** Rows of [site before, local tree, point, its servers (default: pure-ftpd and vsftpd)], side by side. */
async function runAll(rows: Array<[Tree, Tree, Point | Point[], KillServer[]?]>): Promise<void> {
  const queue = rows.flatMap(([before, after, p, on = ['pure', 'vsftpd']]) =>
    each(...on.filter((s) => !chosen || chosen.includes(s))).map(
      ([, server]) =>
        async () =>
          point(server, before, after, p),
    ),
  );
  const worker = async (): Promise<void> => {
    for (let p = queue.shift(); p; p = queue.shift()) await p();
  };
  // Four at a time, two connections each: the servers' connection limits are shared with other test files.
  await Promise.all(Array.from({ length: 4 }, worker));
}

// proftpd (its defaults: no REST, so a cut part goes again whole) at the points where the servers differ: an
// upload's session left waiting for its data connection, a cut in the large file, a rename, the state's writes.
const ALL: KillServer[] = ['pure', 'vsftpd', 'proftpd'];

d('pure-ftpd, vsftpd and proftpd: the CLI killed at many points, then rerun', () => {
  it('a full deploy', async () => {
    await runAll([
      [{}, NEW, { command: /^STOR .*\/n\/m\/new\.txt$/ }, ALL],
      [{}, NEW, { byte: 600 * 1024 }, ALL],
      [{}, NEW, { command: /^RNTO .*\/big\.bin$/ }],
    ]);
  }, 60_000);

  it('an incremental deploy: replaces, deletes, a folder that became a file; killed twice in the large file, the rerun cut off in the temp it resumed (was: the rerun on vsftpd stalled a minute on a temp the killed run had just begun, or, the cut session holding the resumed temp, minutes)', async () => {
    await runAll([
      // First: the longest.
      // The rerun's network dropped in the resumed temp: the server's session holds it still (vsftpd locks it;
      // not on pure-ftpd, which has no lock, and whose cut upload is still under way).
      [OLD, NEW, [{ byte: 600 * 1024 }, { byte: 16 * 1024, dropped: true }], ['vsftpd']],
      [OLD, NEW, { command: /^STOR .*ftpship-[0-9a-f]{20}\.tmp$/, nth: 2 }, ALL],
      [OLD, NEW, { command: /^RMD .*\/swap$/ }],
      [OLD, NEW, { command: /^RNTO .*\/swap$/, hold: true }, ALL],
    ]);
  }, 60_000);

  it("killed between the name test's upload and its delete (a name ending in a dot or a space, or holding a tab, a backslash, or `*` in a folder's): the rerun removes that file (was: left on the server for good)", async () => {
    const probe = { command: /^DELE .*\/ftpship-name-test-[0-9a-f]{12}[ .]$/, hold: true };
    await runAll([
      [OLD, { ...NEW, 'n/dot.': 'a name ending in a dot' }, probe, ALL],
      // (pure-ftpd stores such a name as "sp_": the deploy stops there, saying so.)
      [OLD, { ...NEW, 'css/sp ': 'a name ending in a space' }, probe, ['vsftpd']],
      // The tests run before any change for a tab, a backslash, and (a folder) `*`: the rerun removes those too.
      [
        OLD,
        { ...NEW, 'n/t\tab.txt': 'a tab' },
        { ...probe, command: /^DELE .*\/ftpship-name-test-[0-9a-f]{12}\t$/ },
        ['vsftpd'],
      ],
      [
        OLD,
        { ...NEW, 'n/b\\s.txt': 'a backslash' },
        { ...probe, command: /^DELE .*\/ftpship-name-test-[0-9a-f]{12}\\_$/ },
        ['vsftpd'],
      ],
      [
        OLD,
        { ...NEW, 'n/*/x.txt': 'in a folder named *' },
        { ...probe, command: /^RMD .*\/ftpship-name-test-[0-9a-f]{12}\*$/ },
        ['vsftpd'],
      ],
    ]);
  }, 60_000);

  it('killed while it writes the state or names its lock (was: the rerun on vsftpd stalled a minute on the state copy, or the holder file, the killed run had just begun)', async () => {
    await runAll([
      // Killed as it names itself in its lock, or in a first deploy's first state write (its lock not named
      // yet either): the rerun, after the grace, takes the lock over. (First: the longest.)
      [OLD, NEW, { command: /^STOR .*holder\.json$/ }],
      [{}, NEW, { command: /^STOR .*\.ftpship-state\.json\.tmp$/ }],
      [OLD, NEW, { command: /^RNTO .*\.ftpship-state\.json$/, nth: 2 }, ALL],
      [OLD, NEW, { command: /^STOR .*\.ftpship-state\.json\.tmp$/, nth: 3 }],
      [OLD, NEW, { command: /^RNTO .*\.ftpship-state\.json$/, nth: 3, hold: true }],
    ]);
  }, 60_000);

  it('killed on one machine, rerun from another (CI): refused (exit 3) saying when to run it again to take the lock over (was: "since" its start only); then, that time past, taken over and finished', async () => {
    const [, server] = each('pure')[0];
    const local = tmpDir('ftpship-killpts-');
    const { dir, disk } = target(server);
    reset(local, OLD);
    await deploy(opts(server, local, dir));
    reset(local, NEW);
    const cut = await killedRun(server, local, dir, { command: /^RMD .*\/swap$/ });
    try {
      expect([cut.where, cut.result.signal]).toEqual([cut.where, 'SIGKILL']);
      // What a runner killed elsewhere leaves: its holder names another machine, so its pid cannot be looked at.
      const holderPath = path.join(disk, `${STATE}.lock`, 'holder.json');
      const holder = JSON.parse(fs.readFileSync(holderPath, 'utf8')) as Record<string, unknown>;
      const last = new Date(Date.now() - 30_000);
      const refreshed = {
        ...holder,
        host: 'runner-2',
        holder: 'ftpship on runner-2 pid 7',
        refreshedAt: last.toISOString(),
      };
      fs.writeFileSync(holderPath, JSON.stringify(refreshed));
      const args = ['deploy', local, url(server, server.port, dir)];
      const refused = await startCli(args, { FTPSHIP_PASSWORD: server.password }).done;
      expect(refused.code).toBe(3);
      const again = new Date(last.getTime() + 120_000).toISOString();
      const errors = refused.stderr.split('\n').filter((l) => l.startsWith('ftpship: error:'));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain(
        `ftpship: error: another deploy holds the lock ${dir}/${STATE}.lock (ftpship on runner-2 pid 7, since ${String(holder.startedAt)}, last refreshed ${last.toISOString()}); ` +
          `wait for it to finish, or remove the folder if that deploy is dead (stale after 120 s: run the deploy again after ${again} to take it over)`,
      );
      // That time past (the holder last refreshed over 2 minutes ago): the rerun takes the lock over and finishes.
      fs.writeFileSync(
        holderPath,
        JSON.stringify({ ...refreshed, refreshedAt: new Date(Date.now() - 121_000).toISOString() }),
      );
      backdate(holderPath, new Date(Date.now() - 121_000));
      const done = await startCli(args, { FTPSHIP_PASSWORD: server.password }).done;
      expect([done.code, done.stderr]).toEqual([
        0,
        expect.stringContaining(
          `warning: taking over a stale lock ${dir}/${STATE}.lock (ftpship on runner-2 pid 7`,
        ),
      ]);
      expect(readTree(disk, [STATE])).toEqual(shas(NEW));
      expect(entries(disk).filter(own)).toEqual([STATE, `${STATE}.bak`]);
    } finally {
      await releasePassive(cut.unconnected);
    }
    fs.rmSync(local, { recursive: true, force: true });
  }, 30_000);
});
