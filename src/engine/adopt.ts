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
import { FtpProtocolError, FtpReplyError, type FtpClient, type ListEntry } from '../ftp/index.js';
import { forEachLimit, type ConnectionPool } from './pool.js';
import { byDepthThenName, depthOf, parentOf, remoteJoin } from './paths.js';
import type { LocalFile, LocalTree } from './select.js';
import type { DeployState } from './state.js';

/** A listing this long may have been cut short (pure-ftpd stops at its -L limit): absent names are unsure. */
const MAYBE_TRUNCATED = 1000;

export interface Adoption {
  /** Files found on the server with the local content. */
  adopted: number;
  /** Files on the server (or maybe, where a listing was long) that differ: replaced through a temp. */
  differing: number;
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
  if (rootEntries === undefined) return { adopted: 0, differing: 0 }; // no such folder (or not listable)
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

  const candidates: LocalFile[] = [];
  const unsure: string[] = [];
  for (const f of local.files.values()) {
    const dir = parentOf(f.path);
    const entries = listings.get(dir);
    if (entries === undefined) continue; // a folder the server does not have: the file is new
    if (entries === 'unlistable') {
      unsure.push(f.path);
      continue;
    }
    const entry = entries.find((e) => e.name === f.path.slice(dir ? dir.length + 1 : 0));
    if (entry?.type === 'file' && entry.size === f.size) candidates.push(f);
    else if (entry || entries.length >= MAYBE_TRUNCATED) unsure.push(f.path);
  }

  let adopted = 0;
  await forEachLimit(candidates, pool.capacity, async (f) => {
    await f.hashed;
    const remote = await pool.run(`compare ${f.path}`, async (c) => {
      const abs = remoteJoin(root, f.path);
      const byServer = await serverSha256(c, abs);
      if (byServer) return { size: f.size, sha256: byServer };
      const hash = crypto.createHash('sha256');
      const sink = new Writable({
        write(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          done();
        },
      });
      const size = await c.download(abs, sink);
      return { size, sha256: hash.digest('hex') };
    });
    if (remote.size === f.size && remote.sha256 === f.sha256) {
      state.files[f.path] = { size: f.size, sha256: f.sha256 };
      adopted++;
    } else unsure.push(f.path);
  });
  // Replaced through a temp, as a changed file is: the server holds (or may hold) another content there.
  if (unsure.length > 0) state.pending = { temps: {}, uncertain: unsure.sort() };
  return { adopted, differing: unsure.length };
}

/**
 * The server's own SHA-256 of a file, when it offers one (undefined otherwise, or when it refuses for this
 * file or answers something unreadable: the caller then reads the file itself).
 */
export async function serverSha256(c: FtpClient, abs: string): Promise<string | undefined> {
  if (!c.sha256Command) return undefined;
  try {
    return await c.sha256(abs);
  } catch (err) {
    if (err instanceof FtpReplyError || err instanceof FtpProtocolError) return undefined;
    throw err;
  }
}

/** A folder's entries, or undefined when the server refuses to list it (no such folder, or no right to). */
async function listFolder(pool: ConnectionPool, abs: string): Promise<ListEntry[] | undefined> {
  try {
    return await pool.run(`list ${abs}`, async (c) => c.list(abs));
  } catch (err) {
    if (err instanceof FtpReplyError && err.code >= 450) return undefined;
    throw err;
  }
}
