/**
 * Step 1–2 of a deploy: select the local files (excludes, no symlinks out of the folder, POSIX NFC paths)
 * and hash each one (SHA-256, streamed, several at a time).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import { DeployError } from './errors.js';
import type { SourceFile } from './options.js';

export interface LocalFile {
  /** Relative POSIX path, NFC. */
  path: string;
  size: number;
  sha256: string;
  /**
   * The bytes read while hashing, kept for the upload (small files, within a memory budget) so each file is
   * read once; dropped once uploaded or found unchanged.
   */
  cache?: Buffer;
  /** Absolute path on disk, or the contents themselves (gulp). */
  abs?: string;
  contents?: Buffer;
}

export interface LocalTree {
  files: Map<string, LocalFile>;
  /** Every folder that holds a file or is itself part of the tree (relative, POSIX). */
  dirs: Set<string>;
  /** Entries left out, with the reason (symlinks leaving the folder, sockets…). */
  skipped: Array<{ path: string; reason: string }>;
}

/** Builds a matcher for gitignore-like globs: `dir/` and `dir` also match everything below; no-slash globs match basenames. */
export function globMatcher(globs: string[]): (rel: string) => boolean {
  if (globs.length === 0) return () => false;
  const expanded = globs.flatMap((g) => {
    const clean = g.replace(/^\.\//, '').replace(/\/+$/, '');
    return clean.includes('/') || clean.includes('**')
      ? [clean, `${clean}/**`]
      : [clean, `**/${clean}`, `**/${clean}/**`, `${clean}/**`];
  });
  const isMatch = picomatch(expanded, { dot: true });
  return (rel) => isMatch(rel);
}

/** Walks `localDir` and hashes every selected file. */
export async function scanLocalDir(localDir: string, exclude: (rel: string) => boolean): Promise<LocalTree> {
  const root = fs.realpathSync(localDir);
  const tree: LocalTree = { files: new Map(), dirs: new Set(), skipped: [] };
  const pending: Array<{ rel: string; abs: string; size: number }> = [];
  const walk = (absDir: string, relDir: string): void => {
    for (const entry of fs.readdirSync(absDir, { withFileTypes: true })) {
      const name = entry.name.normalize('NFC');
      const rel = relDir ? `${relDir}/${name}` : name;
      const abs = path.join(absDir, entry.name);
      if (exclude(rel)) continue;
      let stat: fs.Stats;
      try {
        stat = fs.lstatSync(abs);
      } catch (err) {
        // E.g. a name that is not valid UTF-8: Node reads it with U+FFFD and cannot open it again.
        throw new DeployError(
          `cannot read local file ${abs}: ${(err as Error).message}; rename it or exclude it with --exclude`,
          { cause: err },
        );
      }
      if (stat.isSymbolicLink()) {
        const target = safeRealpath(abs);
        if (!target || !(target === root || target.startsWith(root + path.sep))) {
          tree.skipped.push({
            path: rel,
            reason: 'symlink pointing outside the local folder (not followed)',
          });
          continue;
        }
        stat = fs.statSync(abs);
        if (stat.isDirectory()) {
          tree.skipped.push({ path: rel, reason: 'symlink to a folder (not followed)' });
          continue;
        }
      }
      if (stat.isDirectory()) {
        tree.dirs.add(rel);
        walk(abs, rel);
      } else if (stat.isFile()) {
        pending.push({ rel, abs, size: stat.size });
      } else {
        tree.skipped.push({ path: rel, reason: 'not a regular file' });
      }
    }
  };
  walk(root, '');
  let budget = CACHE_BUDGET;
  await forEachLimit(pending, 16, async (f) => {
    const file: LocalFile = { path: f.rel, size: f.size, sha256: '', abs: f.abs };
    const keep = f.size <= CACHE_MAX_FILE && budget >= f.size;
    if (keep) budget -= f.size;
    file.sha256 = await hashFile(f.abs, f.size, keep ? (b) => (file.cache = b) : undefined);
    tree.files.set(f.rel, file);
  });
  return tree;
}

/** The same tree from files supplied in memory (gulp). */
export function treeFromFiles(files: SourceFile[]): LocalTree {
  const tree: LocalTree = { files: new Map(), dirs: new Set(), skipped: [] };
  for (const f of files) {
    const rel = f.path.replace(/\\/g, '/').normalize('NFC');
    const sha256 = crypto.createHash('sha256').update(f.contents).digest('hex');
    tree.files.set(rel, { path: rel, size: f.contents.length, sha256, contents: f.contents });
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) tree.dirs.add(parts.slice(0, i).join('/'));
  }
  return tree;
}

function safeRealpath(p: string): string | undefined {
  try {
    return fs.realpathSync(p);
  } catch {
    return undefined;
  }
}

/** Bytes of small files kept from hashing to uploading (first deploys then read each file once). */
const CACHE_BUDGET = 64 * 1024 * 1024;
const CACHE_MAX_FILE = 256 * 1024;

/** SHA-256 of a file; small files in one read (handed to `keep` if given), large ones streamed. */
export async function hashFile(abs: string, size: number, keep?: (bytes: Buffer) => void): Promise<string> {
  const hash = crypto.createHash('sha256');
  try {
    if (size < 4 * 1024 * 1024) {
      const bytes = await fs.promises.readFile(abs);
      hash.update(bytes);
      keep?.(bytes);
    } else {
      for await (const chunk of fs.createReadStream(abs, { highWaterMark: 1024 * 1024 }))
        hash.update(chunk as Buffer);
    }
  } catch (err) {
    throw new DeployError(
      `cannot read local file ${abs}: ${(err as Error).message}; check its permissions or exclude it with --exclude`,
      { cause: err },
    );
  }
  return hash.digest('hex');
}

/** Runs `fn` over `items` with at most `limit` at a time; stops at the first error. */
export async function forEachLimit<T>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async (): Promise<void> => {
    while (next < items.length && failed === undefined) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed !== undefined) throw failed;
}
