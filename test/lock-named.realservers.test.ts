/**
 * A deploy names itself in its lock (holder.json) before it changes anything on the server: no upload, no
 * folder of the site made and no state written before the holder's STOR is answered. A deploy killed right
 * after taking its lock so leaves a lock naming it, which the rerun on the same machine takes over at once
 * (its process is gone), not after the 15 s a lock naming no one gets to be named.
 * Was: the holder was written beside the body's first steps, after the first uploads on the wire (MKD of the
 * lock at 381 ms, the holder's STOR at 465 ms in a first deploy of 2000 files).
 * Skipped, with a message, only when test/servers/.env.json is absent.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { deploy, type DeployOptions, type Reporter } from '../src/index.js';
import { realServerSuite, remoteFolders } from './helpers/real-servers.js';
import { readTree, tmpDir, writeTree } from './helpers/tmp.js';
import { chaosProxy, releasePassive } from './helpers/chaos.js';
import { startCli, type CliRun } from './helpers/cli.js';

const { describe: d, opts, each } = realServerSuite('lock-named.realservers');
const STATE = '.ftpship-state.json';
const LOCK = `${STATE}.lock`;
const target = remoteFolders('h-lock7-named');

/** A site with folders (MKDs) and a few files per folder (uploads on every connection). */
function site(version: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const d of ['a', 'b/c', 'd'])
    for (let i = 0; i < 6; i++) files[`${d}/f${i}.txt`] = `${d} ${i} ${version}`;
  files['index.html'] = `home ${version}`;
  return files;
}

/** Every protocol line of a deploy, in the order they happened, with the connection each was on. */
function trace(): Reporter & { lines: Array<{ id: number; line: string }> } {
  const lines: Array<{ id: number; line: string }> = [];
  return { lines, protocol: (line, id = 0) => lines.push({ id, line }) };
}

/**
 * The commands that change the server sent before the holder's STOR was answered (its final reply read), the
 * lock's own MKDs (and the target's, made to hold it) and that STOR aside; undefined when no holder was written.
 */
function changesBeforeNamed(
  t: { lines: Array<{ id: number; line: string }> },
  dir: string,
): string[] | undefined {
  const stor = t.lines.findIndex((l) => l.line === `> STOR ${dir}/${LOCK}/holder.json`);
  if (stor < 0) return undefined;
  const on = t.lines[stor].id;
  const answered = t.lines.findIndex((l, i) => i > stor && l.id === on && /^< 2\d\d /.test(l.line));
  return (
    t.lines
      .slice(0, answered < 0 ? t.lines.length : answered)
      .map((l) => l.line)
      .filter((l) => /^> (STOR|APPE|MKD|RNFR|RNTO|DELE|RMD|SITE) /.test(l))
      // (The target itself is made first, to hold the lock.)
      .filter(
        (l) => ![`> MKD ${dir}`, `> MKD ${dir}/${LOCK}`, `> STOR ${dir}/${LOCK}/holder.json`].includes(l),
      )
  );
}

d.each(each('pure', 'vsftpd'))('%s', (_name, server) => {
  const o = (local: string, dir: string, extra: Partial<DeployOptions> = {}): DeployOptions =>
    opts(server, local, dir, { parallel: 3, ...extra });

  it('the lock names its deploy before any upload, folder or state write goes out: a first deploy, a later one; pipelining on and off (was: the first uploads before the holder)', async () => {
    for (const pipelining of [true, false]) {
      const local = tmpDir();
      const { dir, disk } = target(server);
      writeTree(local, site('v1'));
      const first = trace();
      await deploy(o(local, dir, { pipelining }), first);
      expect([pipelining, 'first', changesBeforeNamed(first, dir)]).toEqual([pipelining, 'first', []]);
      // A later deploy whose sizes show an upload: its lock is taken while the files are hashed.
      writeTree(local, { 'a/f0.txt': 'a 0 v2, longer', 'b/c/new.txt': 'new' });
      const later = trace();
      await deploy(o(local, dir, { pipelining }), later);
      expect([pipelining, 'later', changesBeforeNamed(later, dir)]).toEqual([pipelining, 'later', []]);
      expect(readTree(disk, [STATE])).toEqual(readTree(local));
      expect(fs.existsSync(path.join(disk, LOCK))).toBe(false);
    }
  });

  it('killed (SIGKILL) right after taking its lock: the lock names it, and the rerun on this machine takes it over at once (was: a lock naming no one, the rerun waiting 15 s)', async () => {
    const local = tmpDir();
    const { dir, disk } = target(server);
    writeTree(local, site('v1'));
    let run: CliRun | undefined;
    let locked = false;
    let killedAt: string | undefined;
    // Killed at the first command after the lock's MKD that changes the site or writes the state (held: it
    // never reaches the server, nor does any command after it).
    const proxy = await chaosProxy(server.port, {
      onCommand: (line) => {
        if (killedAt !== undefined) return 'hold'; // nothing more reaches the server, on any connection
        if (line === `MKD ${dir}/${LOCK}`) locked = true;
        if (!locked) return;
        if (!/^(STOR|APPE|MKD|RNFR|DELE) /.test(line) || line.includes(`/${LOCK}`)) return;
        killedAt = line;
        run?.child.kill('SIGKILL');
        return 'hold';
      },
    });
    try {
      const url = `ftp://${server.user}@127.0.0.1:${proxy.port}${dir}`;
      run = startCli(['deploy', local, url, '--parallel', '3'], { FTPSHIP_PASSWORD: server.password });
      expect((await run.done).signal).toBe('SIGKILL');
    } finally {
      await proxy.close();
      await releasePassive(proxy.unconnected);
    }
    expect(killedAt).toBeDefined();
    const holder = JSON.parse(fs.readFileSync(path.join(disk, LOCK, 'holder.json'), 'utf8')) as {
      pid?: number;
    };
    expect(holder.pid).toBe(run.child.pid);
    const infos: string[] = [];
    const warnings: string[] = [];
    await deploy(o(local, dir), { info: (m) => infos.push(m), warn: (m) => warnings.push(m) });
    expect(infos.filter((m) => /names no deploy yet/.test(m))).toEqual([]);
    expect(warnings).toEqual([
      expect.stringMatching(
        new RegExp(`^taking over a stale lock .*\\(ftpship on .* pid ${run.child.pid}\\b`),
      ),
    ]);
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
    expect(fs.existsSync(path.join(disk, LOCK))).toBe(false);
  }, 40_000);
});
