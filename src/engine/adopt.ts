/**
 * `--adopt`: a first deploy onto a server that already holds the site (uploaded by hand or by another tool).
 * Each local folder is listed once on the server; a local file found there with the same size is hashed —
 * by the server where it offers SHA-256 itself (`HASH`, `XSHA256`), else downloaded and hashed here (nothing
 * is written locally) — and, when its SHA-256 is the local file's, recorded as deployed instead of being
 * uploaded again. Every other local file the server may hold is replaced through a temporary
 * name, never overwritten in place. Remote-only files stay remote-only: never recorded, never deleted.
 * The state only ever lists what was checked byte for byte (G4).
 */
import crypto from 'node:crypto';
import { Writable } from 'node:stream';
import type { ListEntry } from '../ftp/index.js';
import { forEachLimit, type ConnectionPool } from './pool.js';
import { byDepthThenName, depthOf, parentOf, remoteJoin } from './paths.js';
import { listFolder, serverHashes } from './remote.js';
import type { LocalFile, LocalTree } from './select.js';
import type { DeployState } from './state.js';

/** A listing this long may have been cut short (pure-ftpd stops at its -L limit): absent names are unsure. */
const MAYBE_TRUNCATED = 1000;

export interface Adoption {
  /** Files found on the server with the local content. */
  adopted: number;
  /** Files on the server (or maybe, where a listing was long) that differ: replaced through a temp. */
  differing: number;
  /**
   * What the listed folders hold that the local tree does not (folders end in `/`): left there, and never
   * ftpship's to delete. A tool that mirrored with deletion (lftp `mirror --delete`) would have removed them.
   */
  remoteOnly: string[];
}

/** Fills an empty state with what the server already holds of the local tree. */
export async function adoptRemote(
  pool: ConnectionPool,
  root: string,
  local: LocalTree,
  state: DeployState,
): Promise<Adoption> {
  // Folder by folder from the top, each listed once, and only where its parent's listing shows it.
  const listings = new Map<string, ListEntry[] | 'unlistable'>();
  const rootEntries = await listFolder(pool, root);
  if (rootEntries === undefined) return { adopted: 0, differing: 0, remoteOnly: [] }; // no such folder (or not listable)
  listings.set('', rootEntries);
  const byDepth = new Map<number, string[]>();
  for (const d of local.dirs) byDepth.set(depthOf(d), [...(byDepth.get(depthOf(d)) ?? []), d]);
  for (const depth of [...byDepth.keys()].sort((a, b) => a - b)) {
    const present = (byDepth.get(depth) ?? []).filter((d) => {
      const parent = listings.get(parentOf(d));
      const name = d.slice(d.lastIndexOf('/') + 1);
      return Array.isArray(parent) && parent.some((e) => e.type === 'dir' && e.name === name);
    });
    await forEachLimit(present, pool.capacity, async (d) => {
      listings.set(d, (await listFolder(pool, remoteJoin(root, d))) ?? 'unlistable');
    });
  }
  state.dirs = [...listings.keys()].filter((d) => d !== '').sort(byDepthThenName);
  const remoteOnly: string[] = [];
  for (const [dir, entries] of listings) {
    if (entries === 'unlistable') continue;
    for (const e of entries) {
      const p = dir ? `${dir}/${e.name}` : e.name;
      if (e.type === 'file' && !local.files.has(p)) remoteOnly.push(p);
      else if (e.type === 'dir' && !local.dirs.has(p)) remoteOnly.push(`${p}/`);
    }
  }

  const candidates: LocalFile[] = [];
  const unsure: string[] = [];
  const byName = new Map<string, Map<string, ListEntry>>();
  for (const f of local.files.values()) {
    const dir = parentOf(f.path);
    const entries = listings.get(dir);
    if (entries === undefined) continue; // a folder the server does not have: the file is new
    if (entries === 'unlistable') {
      unsure.push(f.path);
      continue;
    }
    let names = byName.get(dir);
    if (!names) byName.set(dir, (names = new Map(entries.map((e) => [e.name, e]))));
    const entry = names.get(f.path.slice(dir ? dir.length + 1 : 0));
    if (entry?.type === 'file' && entry.size === f.size) candidates.push(f);
    else if (entry || entries.length >= MAYBE_TRUNCATED) unsure.push(f.path);
  }

  let adopted = 0;
  const same = (f: LocalFile, remote: { size: number; sha256: string }): void => {
    if (remote.size === f.size && remote.sha256 === f.sha256) {
      state.files[f.path] = { size: f.size, sha256: f.sha256 };
      adopted++;
    } else unsure.push(f.path);
  };
  // The server's own hashes where it has them (a round trip per batch); the rest is downloaded and hashed.
  const byServer = await serverHashes(
    pool,
    root,
    candidates.map((f) => f.path),
  );
  const toRead: LocalFile[] = [];
  for (const f of candidates) {
    const sha256 = byServer.get(f.path);
    if (sha256 === undefined) toRead.push(f);
    else {
      await f.hashed;
      same(f, { size: f.size, sha256 });
    }
  }
  await forEachLimit(toRead, pool.capacity, async (f) => {
    await f.hashed;
    const remote = await pool.run(`compare ${f.path}`, async (c) => {
      const hash = crypto.createHash('sha256');
      const sink = new Writable({
        write(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          done();
        },
      });
      const size = await c.download(remoteJoin(root, f.path), sink);
      return { size, sha256: hash.digest('hex') };
    });
    same(f, remote);
  });
  // Replaced through a temp, as a changed file is: the server holds (or may hold) another content there.
  if (unsure.length > 0) state.pending = { temps: {}, uncertain: unsure.sort() };
  return { adopted, differing: unsure.length, remoteOnly: remoteOnly.sort() };
}
