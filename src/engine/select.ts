/**
 * Step 1–2 of a deploy: select the local files (excludes, no symlinks out of the folder, POSIX NFC paths)
 * and hash each one (SHA-256, streamed, several at a time).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import { ConfigError, DeployError } from './errors.js';
import { byDepthThenName } from './paths.js';
import { HashingStopped, hashOnWorker, type HashResult } from './hash-worker.js';
import type { SourceFile } from './options.js';

export interface LocalFile {
  /** Relative POSIX path, NFC. */
  path: string;
  size: number;
  sha256: string;
  /**
   * What the file looked like when it was listed (size, mtime, ctime), before it was hashed: the upload
   * reads it again and refuses a file that changed since, whose bytes might not match the recorded hash.
   */
  stamp?: string;
  /** Settles once `sha256` is set; absent for files hashed on creation. */
  hashed?: Promise<void>;
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
  /** Settles once every file is hashed; rejects with the first file that cannot be read. */
  hashed: Promise<void>;
  /** Ends the hashing early (the deploy failed or is over): its thread would otherwise keep Node running. */
  stopHashing?: () => void;
  /** Where the files were hashed, once known: on a worker thread, or on the main thread (no thread to be had). */
  hashedOn?: 'worker thread' | 'main thread';
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

/**
 * Walks `localDir` and returns its files once listed; their hashes follow in the background (each file's
 * `hashed`, and the tree's): a first deploy starts uploading before the last file is hashed.
 */
export async function scanLocalDir(localDir: string, exclude: (rel: string) => boolean): Promise<LocalTree> {
  const root = fs.realpathSync(localDir);
  const tree: LocalTree = { files: new Map(), dirs: new Set(), skipped: [], hashed: Promise.resolve() };
  const pending: Array<{ rel: string; abs: string; size: number; stamp: string }> = [];
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
        // Hashing goes on in the background (after uploads started, on a first deploy): a file that cannot
        // be read must stop the deploy here, before any change.
        try {
          fs.accessSync(abs, fs.constants.R_OK);
        } catch (err) {
          throw unreadableFile(abs, err);
        }
        pending.push({ rel, abs, size: stat.size, stamp: stampOf(stat) });
      } else {
        tree.skipped.push({ path: rel, reason: 'not a regular file' });
      }
    }
  };
  walk(root, '');
  for (const f of pending)
    tree.files.set(f.rel, { path: f.rel, size: f.size, sha256: '', abs: f.abs, stamp: f.stamp });
  const stop = { current: (): void => {} };
  tree.hashed = hashInBackground([...tree.files.values()], stop, tree);
  tree.stopHashing = () => stop.current();
  tree.hashed.catch(() => {}); // awaited by deploy(); a failure is reported there
  return tree;
}

/**
 * Hashes `files` on a worker thread, in upload order (shallow first, then by name), each file's `hashed`
 * settling as its result arrives; the main thread stays free for the connections. If the thread cannot
 * run, the main thread hashes what is left. A file that cannot be read, or changed since it was listed,
 * rejects its own promise and the returned one.
 */
async function hashInBackground(
  files: LocalFile[],
  stop: { current: () => void },
  tree: LocalTree,
): Promise<void> {
  const order = [...files].sort((a, b) => byDepthThenName(a.path, b.path));
  const done = new Map<LocalFile, { resolve: () => void; reject: (err: unknown) => void }>();
  for (const f of order) {
    f.hashed = new Promise<void>((resolve, reject) => done.set(f, { resolve, reject }));
    f.hashed.catch(() => {}); // awaited by whoever needs it; never an unhandled rejection
  }
  let failed: unknown;
  const settle = (f: LocalFile, result: HashResult | Error): void => {
    const d = done.get(f);
    if (!d) return;
    done.delete(f);
    if (result instanceof Error || 'error' in result) {
      const err =
        result instanceof Error
          ? result
          : result.code === 'ECHANGED'
            ? changedFile(f.abs as string)
            : unreadableFile(f.abs as string, new Error(result.error));
      failed ??= err;
      d.reject(err);
    } else {
      f.sha256 = result.sha256;
      f.size = result.size; // the content hashed, even if the file changed since it was listed
      d.resolve();
    }
  };
  const run = hashOnWorker(
    order.map((f) => ({ abs: f.abs as string, stamp: f.stamp ?? '' })),
    (i, result) => settle(order[i], result),
  );
  stop.current = () => {
    run.stop();
    for (const f of order.filter((x) => done.has(x))) settle(f, new HashingStopped('hashing stopped'));
  };
  try {
    tree.hashedOn = 'worker thread';
    await run.done;
  } catch (err) {
    if (err instanceof HashingStopped) throw err;
    tree.hashedOn = 'main thread';
    for (const f of order) {
      if (!done.has(f)) continue; // hashed already, or stopped
      await hashFile(f.abs as string, f.stamp).then(
        (h) => settle(f, h),
        (err: unknown) => settle(f, err as Error),
      );
    }
  }
  if (failed !== undefined) throw failed;
}

/**
 * The same tree from files the caller lists: in memory (gulp), hashed here, or on disk (the Action's
 * `files`), hashed in the background like a scanned folder's.
 */
export function treeFromFiles(files: SourceFile[]): LocalTree {
  const tree: LocalTree = { files: new Map(), dirs: new Set(), skipped: [], hashed: Promise.resolve() };
  const onDisk: LocalFile[] = [];
  for (const f of files) {
    const rel = f.path.replace(/\\/g, '/').normalize('NFC');
    if (f.contents) {
      const sha256 = crypto.createHash('sha256').update(f.contents).digest('hex');
      tree.files.set(rel, { path: rel, size: f.contents.length, sha256, contents: f.contents });
    } else if (f.file) {
      let stat: fs.Stats;
      try {
        stat = fs.statSync(f.file);
        fs.accessSync(f.file, fs.constants.R_OK);
      } catch (err) {
        throw unreadableFile(f.file, err);
      }
      const file: LocalFile = { path: rel, size: stat.size, sha256: '', abs: f.file, stamp: stampOf(stat) };
      tree.files.set(rel, file);
      onDisk.push(file);
    } else {
      throw new ConfigError(`file ${JSON.stringify(f.path)} has neither contents nor a file to read`);
    }
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) tree.dirs.add(parts.slice(0, i).join('/'));
  }
  if (onDisk.length > 0) {
    const stop = { current: (): void => {} };
    tree.hashed = hashInBackground(onDisk, stop, tree);
    tree.stopHashing = () => stop.current();
    tree.hashed.catch(() => {}); // awaited by deploy(); a failure is reported there
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

/** The one buffer every file is read through while hashing (reused: no fresh memory per file). */
const scratch = Buffer.allocUnsafeSlow(1024 * 1024);
/** Time the hashing may hold the event loop before letting the connections' work run. */
const SLICE_MS = 4;
let sliceStart = performance.now();

/**
 * SHA-256 of a file, read synchronously through one reused buffer (a thread-pool round trip per
 * open/read/close cost more than the read itself), letting other work run every few milliseconds.
 * Returns the hash and the number of bytes hashed.
 */
export async function hashFile(abs: string, stamp?: string): Promise<{ sha256: string; size: number }> {
  const hash = crypto.createHash('sha256');
  let fd: number | undefined;
  try {
    fd = fs.openSync(abs, 'r');
    if (stamp !== undefined && stampOf(fs.fstatSync(fd)) !== stamp) throw changedFile(abs);
    let size = 0;
    for (;;) {
      const n = fs.readSync(fd, scratch, 0, scratch.length, size);
      if (n === 0) break;
      hash.update(n === scratch.length ? scratch : scratch.subarray(0, n));
      size += n;
      if (performance.now() - sliceStart > SLICE_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        sliceStart = performance.now();
      }
    }
    return { sha256: hash.digest('hex'), size };
  } catch (err) {
    throw err instanceof DeployError ? err : unreadableFile(abs, err);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Size, modification and change time: a write to the file changes its ctime, whatever it does to mtime. */
export function stampOf(stat: fs.Stats): string {
  return `${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`;
}

/** A local file whose stamp moved between the listing and a later read. */
export function changedFile(abs: string): DeployError {
  return new DeployError(
    `local file ${abs} changed while the deploy was running (after it was listed); rerun once it is final`,
  );
}

function unreadableFile(abs: string, err: unknown): DeployError {
  return new DeployError(
    `cannot read local file ${abs}: ${(err as Error).message}; check its permissions or exclude it with --exclude`,
    { cause: err },
  );
}
