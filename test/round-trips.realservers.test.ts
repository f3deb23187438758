/**
 * Round trips saved at the ends of a deploy, on real servers, and the guarantees kept:
 * - the state is read with the login (EPSV and RETR in its write), from the login folder for a relative target;
 * - the state is read again in the lock's own write (MKD, MKD, EPSV, RETR): a deploy that finished
 *   meanwhile is still seen (plan again, G4);
 * - the process exits without waiting for the replies to QUIT, which every connection still sends;
 * - the lock goes back in the same write as the final state's rename (DELE of the holder and RMD of the lock
 *   right after RNFR/RNTO): the order on the wire, a refused final rename (a failed deploy, the lock
 *   released, the rerun converging), and a deploy killed or cut off at each command of that last write (the
 *   rerun, or the retry, finishing it: G1, G4, no lock left).
 * Each with pipelining off too. Skipped, with a message, only when test/servers/.env.json is absent.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { deploy, type DeployOptions, type Reporter } from '../src/index.js';
import { realServerSuite, remoteFolders, type RealServer } from './helpers/real-servers.js';
import { readTree, sha256, tmpDir, writeTree } from './helpers/tmp.js';
import { chaosProxy, type ChaosProxy } from './helpers/chaos.js';
import { startCli, type CliRun } from './helpers/cli.js';

const { describe: d, opts, each } = realServerSuite('round-trips.realservers');
const STATE = '.ftpship-state.json';
const LOCK = `${STATE}.lock`;
const target = remoteFolders('h-rt-rt');

const OLD = { 'index.html': 'home v1', 'a/b.txt': 'b v1', 'gone.txt': 'gone' };
const NEW = { 'index.html': 'home v2', 'a/b.txt': 'b v1', 'a/new.txt': 'new' };

/** The deploy options these tests use: a short stale-lock time, plain FTP. */
const optsFor = (
  server: RealServer,
  local: string,
  dir: string,
  extra: Partial<DeployOptions> = {},
): DeployOptions => opts(server, local, dir, { staleLockMs: 1000, secure: false, ...extra });

/**
 * OLD deployed into a new folder (named to the deploy as `remoteOf` gives it), then the local tree changed to NEW
 * (an edit, a new file in a folder, a file gone): the deploy under test then has every kind of change to make.
 */
async function deployedThenChanged(
  server: RealServer,
  extra: Partial<DeployOptions> = {},
  remoteOf = (dir: string): string => dir,
): Promise<{ local: string; dir: string; disk: string }> {
  const local = tmpDir();
  const { dir, disk } = target(server);
  writeTree(local, OLD);
  await deploy(optsFor(server, local, remoteOf(dir), extra));
  fs.rmSync(path.join(local, 'gone.txt'));
  writeTree(local, NEW);
  return { local, dir, disk };
}

/** The protocol log of each connection. */
function perConnection(): Reporter & { lines: Map<number, string[]> } {
  const lines = new Map<number, string[]>();
  return {
    lines,
    protocol: (l, id = 0) => lines.set(id, [...(lines.get(id) ?? []), l]),
  };
}

/** The lines of the connection that wrote the final state, from its last RNTO over the state on. */
function finalWrite(rec: { lines: Map<number, string[]> }, dir: string): string[] {
  const rnto = `> RNTO ${dir}/${STATE}`;
  for (const lines of rec.lines.values()) {
    const at = lines.lastIndexOf(rnto);
    if (at >= 0 && lines.slice(at).some((l) => l.startsWith('> DELE ') && l.endsWith('/holder.json')))
      return lines.slice(at);
  }
  return [];
}

/** The site is the local tree, the state lists exactly it, and nothing of ftpship's is left but the state. */
function expectConverged(disk: string, local: string): void {
  expect(readTree(disk, [STATE])).toEqual(readTree(local));
  expect(fs.existsSync(path.join(disk, LOCK))).toBe(false);
  expect(fs.existsSync(path.join(disk, `${STATE}.tmp`))).toBe(false);
  const state = JSON.parse(fs.readFileSync(path.join(disk, STATE), 'utf8')) as {
    files: Record<string, { sha256: string }>;
    pending?: unknown;
  };
  expect(state.pending).toBeUndefined();
  const listed = Object.fromEntries(Object.entries(state.files).map(([p, f]) => [p, f.sha256]));
  expect(listed).toEqual(readTree(local));
}

/**
 * A proxy that calls `act` on the command `which` picks among those of the last write (the final state's
 * STOR and what follows it: the first STOR of the state's temp after a site temp was renamed in).
 */
async function atFinalWrite(
  server: RealServer,
  dir: string,
  which: RegExp,
  act: (proxy: ChaosProxy) => 'hold' | void,
): Promise<ChaosProxy> {
  let committing = false;
  let finalStor = false;
  let done = false;
  const proxy: ChaosProxy = await chaosProxy(server.port, {
    onCommand: (line) => {
      if (/^RNFR \S*\/\.ftpship-[0-9a-f]{20}\.tmp$/.test(line)) committing = true;
      if (committing && line === `STOR ${dir}/${STATE}.tmp`) finalStor = true;
      if (!finalStor || done || !which.test(line)) return;
      done = true;
      return act(proxy);
    },
  });
  return proxy;
}

d.each(each('pure', 'vsftpd', 'proftpd'))('%s', (_name, server) => {
  const o = (local: string, dir: string, extra: Partial<DeployOptions> = {}): DeployOptions =>
    optsFor(server, local, dir, extra);

  it('the state is read with the login (EPSV, RETR in its write; a relative target from the login folder); not with pipelining off', async () => {
    for (const [pipelining, absolute] of [
      [true, true],
      [true, false],
      [false, true],
    ] as const) {
      // A relative target: the servers put the user in / (chrooted).
      const remoteOf = (dir: string): string => (absolute ? dir : dir.slice(1));
      const { local, dir, disk } = await deployedThenChanged(server, { pipelining }, remoteOf);
      const remote = remoteOf(dir);
      const rec = perConnection();
      const report = await deploy(o(local, remote, { pipelining }), rec);
      const first = rec.lines.get(1) ?? [];
      const loggedIn = first.findIndex((l) => /^< 230 /.test(l));
      const retr = first.indexOf(`> RETR ${remote}/${STATE}`);
      if (pipelining) {
        expect(first.slice(retr - 2, retr + 1)).toEqual(['> PWD', '> EPSV', `> RETR ${remote}/${STATE}`]);
        expect(retr).toBeLessThan(loggedIn);
      } else expect(first.findIndex((l) => l.startsWith('> RETR '))).toBeGreaterThan(loggedIn);
      // Read, it was the state: only what changed went.
      expect(report.files.map((f) => `${f.action} ${f.path}`).sort()).toEqual([
        'delete gone.txt',
        'replace index.html',
        'upload a/new.txt',
      ]);
      expectConverged(disk, local);
    }
  });

  it('the state is read again in the lock write; a deploy that finished meanwhile is seen (plan again)', async () => {
    for (const pipelining of [true, false]) {
      const { dir, disk } = target(server);
      const v1 = tmpDir();
      writeTree(v1, { 'a.txt': 'version 1', 'b.txt': 'b' });
      await deploy(o(v1, dir, { pipelining }));
      // What another deploy leaves behind: a.txt at version 2 and its state (made in a scratch folder first).
      const scratch = target(server);
      const v2 = tmpDir();
      writeTree(v2, { 'a.txt': 'version 2', 'b.txt': 'b' });
      await deploy(o(v2, scratch.dir, { pipelining }));
      // This deploy (a.txt still at version 1, and a new file) planned from the first state; the other's
      // result lands just as it asks for the lock.
      const local = tmpDir();
      writeTree(local, { 'a.txt': 'version 1', 'b.txt': 'b', 'c.txt': 'new' });
      const infos: string[] = [];
      const rec = perConnection();
      let landed = false;
      const report = await deploy(o(local, dir, { pipelining }), {
        info: (m) => infos.push(m),
        protocol: (line, id) => {
          rec.protocol?.(line, id);
          if (landed || line !== `> MKD ${dir}/${LOCK}`) return;
          landed = true;
          for (const f of ['a.txt', STATE]) fs.copyFileSync(path.join(scratch.disk, f), path.join(disk, f));
        },
      });
      const lines = [...rec.lines.values()].find((l) => l.includes(`> MKD ${dir}/${LOCK}`)) ?? [];
      const at = lines.indexOf(`> MKD ${dir}/${LOCK}`);
      const lockWrite = [`> MKD ${dir}/${LOCK}`, `> MKD ${dir}/${LOCK}`, '> EPSV', `> RETR ${dir}/${STATE}`];
      if (pipelining) expect(lines.slice(at, at + 4)).toEqual(lockWrite);
      else expect(lines.slice(at, at + 4)).not.toEqual(lockWrite);
      expect(infos.some((m) => /planning again/.test(m))).toBe(true);
      expect(report.files.find((f) => f.path === 'a.txt')?.action).toBe('replace');
      expectConverged(disk, local);
    }
  });

  it('the unlock goes in the final rename write, after the rename; with pipelining off, after its reply', async () => {
    for (const pipelining of [true, false]) {
      const { local, dir, disk } = await deployedThenChanged(server, { pipelining });
      const rec = perConnection();
      await deploy(o(local, dir, { pipelining }), rec);
      const lines = finalWrite(rec, dir);
      expect(lines.length).toBeGreaterThan(0);
      const unlock = [`> DELE ${dir}/${LOCK}/holder.json`, `> RMD ${dir}/${LOCK}`];
      if (pipelining) expect(lines.slice(1, 3)).toEqual(unlock);
      else {
        // The rename's reply first: the unlock is a step of its own.
        expect(lines[1]).toMatch(/^< 2\d\d /);
        expect(lines.filter((l) => l.startsWith('> ') && l !== '> QUIT')).toEqual([lines[0], ...unlock]);
      }
      expectConverged(disk, local);
    }
  });

  it('the final rename refused: the deploy fails (exit 1) saying so, the lock released; the rerun converges', async () => {
    const { local, dir, disk } = await deployedThenChanged(server);
    // The state turned into a folder just before its last write: the rename over it is refused.
    const proxy = await atFinalWrite(server, dir, /^STOR /, () => {
      const statePath = path.join(disk, STATE);
      fs.rmSync(statePath);
      fs.mkdirSync(statePath);
      fs.chownSync(statePath, server.uid, server.gid);
    });
    let err: (Error & { exitCode?: number }) | undefined;
    try {
      const url = { ...o(local, dir), port: proxy.port, host: '127.0.0.1' };
      await deploy(url).catch((e: unknown) => (err = e as Error));
    } finally {
      await proxy.close();
    }
    expect(err?.exitCode).toBe(1);
    expect(err?.message).toMatch(
      new RegExp(
        `cannot put the final state in place \\(RNTO ${dir}/${STATE}: [45]\\d\\d .*\\); the lock was released.*run the deploy again`,
      ),
    );
    expect(fs.existsSync(path.join(disk, LOCK))).toBe(false);
    // What the site holds is the new content, whole; the rerun (the folder gone again) records it.
    expect(readTree(disk, [STATE, `${STATE}.tmp`])).toEqual(readTree(local));
    fs.rmdirSync(path.join(disk, STATE));
    await deploy(o(local, dir));
    expectConverged(disk, local);
    expect((await deploy(o(local, dir))).files).toEqual([]);
  });
});

// Killed and cut off: on pure-ftpd (a vsftpd session whose client was killed with its STOR under way holds the
// file's upload lock until its accept timeout: the rerun's STOR of that temp waits that long).
d.each(each('pure'))('%s', (_name, server) => {
  const o = (local: string, dir: string, extra: Partial<DeployOptions> = {}): DeployOptions =>
    optsFor(server, local, dir, extra);

  it('the CLI exits without waiting for the replies to QUIT, yet every connection said QUIT', async () => {
    const local = tmpDir();
    const { dir } = target(server);
    writeTree(local, OLD);
    const proxy = await chaosProxy(server.port);
    try {
      const url = `ftp://${server.user}@127.0.0.1:${proxy.port}${dir}`;
      for (const files of [OLD, NEW]) {
        writeTree(local, files);
        const before = proxy.commands.length;
        const run = startCli(['deploy', local, url, '--parallel', '3'], {
          FTPSHIP_PASSWORD: server.password,
        });
        expect((await run.done).code).toBe(0);
        const said = (verb: string): number =>
          proxy.commands.slice(before).filter((l) => l.split(' ')[0] === verb).length;
        // The QUITs were written before the exit; the proxy may read them a moment after it.
        for (let i = 0; i < 100 && said('QUIT') < said('USER'); i++)
          await new Promise((r) => setTimeout(r, 20));
        expect(said('USER')).toBeGreaterThan(1);
        expect(said('QUIT')).toBe(said('USER'));
      }
    } finally {
      await proxy.close();
    }
  });

  it.each([
    ['the final STOR of the state', /^STOR /, 'hold'],
    ['its RNFR', /^RNFR /, 'hold'],
    ['its RNTO (the rename done)', /^RNTO /, 'through'],
    ['the DELE of the holder', /^DELE \S*\/holder\.json$/, 'hold'],
    ['the DELE of the holder (gone)', /^DELE \S*\/holder\.json$/, 'through'],
    ['the RMD of the lock', /^RMD /, 'hold'],
  ] as const)('killed at %s: the state honest, the rerun converges', async (_what, which, how) => {
    const { local, dir, disk } = await deployedThenChanged(server);
    let run: CliRun | undefined;
    const proxy = await atFinalWrite(server, dir, which, () => {
      run?.child.kill('SIGKILL');
      return how === 'hold' ? 'hold' : undefined;
    });
    try {
      const url = `ftp://${server.user}@127.0.0.1:${proxy.port}${dir}`;
      run = startCli(['deploy', local, url, '--parallel', '2'], { FTPSHIP_PASSWORD: server.password });
      expect((await run.done).signal).toBe('SIGKILL');
    } finally {
      await proxy.close();
    }
    // Never a state that lists a file with content it does not have (G4), at the cut.
    const state = JSON.parse(fs.readFileSync(path.join(disk, STATE), 'utf8')) as {
      files: Record<string, { sha256: string }>;
    };
    for (const [p, f] of Object.entries(state.files))
      expect([p, sha256(fs.readFileSync(path.join(disk, p)))]).toEqual([p, f.sha256]);
    await deploy(o(local, dir));
    expectConverged(disk, local);
    expect((await deploy(o(local, dir))).files).toEqual([]);
  });

  it.each([
    ['the DELE of the holder (the unlock not run: written again under the lock)', /^DELE \S*\/holder\.json$/],
    ['the RMD of the lock (the state in place: the lock released after)', /^RMD /],
  ])('every connection cut at %s: the retry finishes the deploy (exit 0)', async (_what, which) => {
    const { local, dir, disk } = await deployedThenChanged(server);
    const holder = path.join(disk, LOCK, 'holder.json');
    const proxy = await atFinalWrite(server, dir, which, (p) => {
      // Held at the RMD: cut once the server has run the DELE before it (else the cut may come first, the
      // holder stays, and the retry rightly writes the state again under the lock it still holds).
      const until = Date.now() + 5000;
      const cut = (): void => {
        if (which.source.startsWith('^RMD') && fs.existsSync(holder) && Date.now() < until)
          return void setTimeout(cut, 2);
        p.cutAll();
        setTimeout(() => p.heal(), 100);
      };
      setImmediate(cut);
      return 'hold';
    });
    try {
      await deploy({ ...o(local, dir), host: '127.0.0.1', port: proxy.port });
    } finally {
      await proxy.close();
    }
    expectConverged(disk, local);
    // After the cut: the state written again only while the lock was still this deploy's (its DELE not run).
    const after = proxy.commands.slice(proxy.commands.findIndex((l) => which.test(l)) + 1);
    const rewritten = after.includes(`STOR ${dir}/${STATE}.tmp`);
    expect(rewritten).toBe(which.source.startsWith('^DELE'));
    expect(after).toContain(`RMD ${dir}/${LOCK}`);
  });
});
