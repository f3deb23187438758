import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';

/** A fresh temporary directory. */
export function tmpDir(prefix = 'ftpship-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function sha256(data: Buffer | string): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

/** Deterministic pseudo-random bytes (so failures reproduce). */
export function bytes(n: number, seed = 1): Buffer {
  const out = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 255;
  }
  return out;
}

/** Writes a tree of files: { 'a/b.txt': 'content' }. */
export function writeTree(root: string, files: Record<string, string | Buffer>): void {
  for (const [rel, content] of Object.entries(files)) {
    const full = path.join(root, rel);
    fs.mkdirSync(path.dirname(full), { recursive: true });
    fs.writeFileSync(full, content);
  }
}

/** Reads every file under root as { relPath: sha256 }, skipping names in `ignore`. */
export function readTree(root: string, ignore: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string, rel: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      // A state file ignored: its backup copy (`<state>.bak`, written beside it once a deploy changes it) too.
      if (ignore.includes(r) || (r.endsWith('.bak') && ignore.includes(r.slice(0, -4)))) continue;
      if (e.isDirectory()) walk(path.join(dir, e.name), r);
      else out[r] = sha256(fs.readFileSync(path.join(dir, e.name)));
    }
  };
  walk(root, '');
  return out;
}

/** Lists every directory under root (relative, POSIX). */
export function readDirs(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      out.push(r);
      walk(path.join(dir, e.name), r);
    }
  };
  walk(root, '');
  return out.sort();
}

/** Every entry under root with its type, size, mtime and content hash: compare two to prove "nothing changed". */
export function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!fs.existsSync(root)) return out;
  const walk = (dir: string, rel: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      const full = path.join(dir, e.name);
      const st = fs.lstatSync(full);
      if (e.isDirectory()) {
        out[`${r}/`] = `dir ${st.mtimeMs}`;
        walk(full, r);
      } else out[r] = `file ${st.size} ${st.mtimeMs} ${sha256(fs.readFileSync(full))}`;
    }
  };
  walk(root, '');
  return out;
}

/** A unique folder name for tests sharing one server (other test files run at the same time). */
export function uniqueName(prefix = 't'): string {
  return `${prefix}-${crypto.randomBytes(5).toString('hex')}`;
}

/**
 * Sets a file's modification time (what MDTM shows for it on a server serving this folder): a lock holder file
 * planted by a test as a deploy left it at its `refreshedAt` (ftpship looks at the server's time of that file too).
 */
export function backdate(file: string, when: string | Date): void {
  const at = new Date(when);
  fs.utimesSync(file, at, at);
}

/** FTP-Deploy-Action's state for `files` (path: content), as that tool writes it. */
export function fdaState(files: Record<string, string>, generatedTime = 1): string {
  return JSON.stringify({
    description: 'DO NOT DELETE THIS FILE. This file is used to keep track of which files have been synced.',
    version: '1.0.0',
    generatedTime,
    data: Object.entries(files).map(([name, content]) => ({
      type: 'file',
      name,
      size: Buffer.byteLength(content),
      hash: sha256(content),
    })),
  });
}
