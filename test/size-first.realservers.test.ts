/**
 * Size first, as an early-out (PRODUCT.md step 4, FIELD §4.10): a later deploy in which a file is new or of
 * another size knows it has work before any hash is in, and takes its lock and logs in its other connections
 * while the files are still hashed; a deploy whose only change is a same-size edit knows it only from the
 * hashes, and waits for them. The hashing is made long by an unchanged 256 MiB file (sparse on both sides:
 * nothing is sent, no disk is used), recorded in the state by hand as a deploy would have.
 * Skipped, with a message, only when test/servers/.env.json is absent.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { deploy, type Reporter } from '../src/index.js';
import { realServerSuite, remoteFolders } from './helpers/real-servers.js';
import { readTree, tmpDir, writeTree } from './helpers/tmp.js';

const { describe: d, opts, each } = realServerSuite('size-first.realservers');
const STATE = '.ftpship-state.json';
const LOCK = `${STATE}.lock`;
const BIG = 256 * 1024 * 1024;
const target = remoteFolders('sizefirst');

/** The SHA-256 of `n` zero bytes (what a sparse file of that size reads as). */
function zerosSha256(n: number): string {
  const h = crypto.createHash('sha256');
  const chunk = Buffer.alloc(1024 * 1024);
  for (let left = n; left > 0; left -= chunk.length)
    h.update(left >= chunk.length ? chunk : chunk.subarray(0, left));
  return h.digest('hex');
}

/** The protocol lines and the "hashed N files" line of a deploy, in the order the reporter got them. */
function timeline(): Reporter & { events: string[] } {
  const events: string[] = [];
  return {
    events,
    protocol: (l) => events.push(l),
    debug: (m) => {
      if (/^hashed \d+ files/.test(m)) events.push('HASHED');
    },
  };
}

d.each(each('pure'))('%s', (_name, server) => {
  /** A deployed site of two small files and an unchanged 256 MiB one, recorded in the state. */
  async function site(): Promise<{ local: string; dir: string; disk: string }> {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'aaaa', 'b.txt': 'bbbb' });
    const { dir, disk } = target(server);
    await deploy(opts(server, local, dir));
    for (const where of [local, disk]) {
      fs.writeFileSync(path.join(where, 'big.bin'), '');
      fs.truncateSync(path.join(where, 'big.bin'), BIG);
    }
    const statePath = path.join(disk, STATE);
    const state = JSON.parse(fs.readFileSync(statePath, 'utf8')) as { files: Record<string, unknown> };
    state.files['big.bin'] = { size: BIG, sha256: zerosSha256(BIG) };
    fs.writeFileSync(statePath, JSON.stringify(state));
    return { local, dir, disk };
  }

  const lockAt = (events: string[]): number =>
    events.findIndex((l) => l.startsWith('> MKD ') && l.endsWith(LOCK));
  const loginsBefore = (events: string[], i: number): number =>
    events.slice(0, i).filter((l) => l.startsWith('> USER ')).length;

  it('a file resized: the lock and the other logins go out while the files are still hashed', async () => {
    const { local, dir, disk } = await site();
    writeTree(local, { 'a.txt': 'a, longer now' });
    const t = timeline();
    const report = await deploy(opts(server, local, dir), t);
    expect(report.files).toEqual([expect.objectContaining({ path: 'a.txt', action: 'replace' })]);
    const hashed = t.events.indexOf('HASHED');
    expect(hashed).toBeGreaterThan(0);
    expect(lockAt(t.events)).toBeGreaterThan(0);
    expect(lockAt(t.events)).toBeLessThan(hashed);
    expect(loginsBefore(t.events, hashed)).toBeGreaterThan(1);
    expect(readTree(disk, [STATE, `${STATE}.bak`, 'big.bin'])).toEqual(readTree(local, ['big.bin']));
  });

  it('a same-size edit: nothing is known before the hashes are in; the lock and the other logins wait for them', async () => {
    const { local, dir, disk } = await site();
    writeTree(local, { 'a.txt': 'AAAA' });
    const t = timeline();
    const report = await deploy(opts(server, local, dir), t);
    expect(report.files).toEqual([expect.objectContaining({ path: 'a.txt', action: 'replace' })]);
    const hashed = t.events.indexOf('HASHED');
    expect(hashed).toBeGreaterThan(0);
    expect(lockAt(t.events)).toBeGreaterThan(hashed);
    expect(loginsBefore(t.events, hashed)).toBe(1);
    expect(readTree(disk, [STATE, `${STATE}.bak`, 'big.bin'])).toEqual(readTree(local, ['big.bin']));
  });
});
