// Deterministic workload generators for the benchmark (see /work/shared/BENCH-METHOD.md).
// Everything is derived from a fixed seed: same seed → same tree, same bytes.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** mulberry32: small, fast, deterministic PRNG returning floats in [0,1). */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const int = (rnd, lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1));
const pick = (rnd, arr) => arr[Math.floor(rnd() * arr.length)];

/** Deterministic random bytes: AES-128-CTR keystream keyed by (seed, label). Fast (~1 GB/s). */
export function randomBytes(seed, label, size) {
  const key = crypto.createHash('sha256').update(`${seed}:${label}`).digest();
  const cipher = crypto.createCipheriv('aes-128-ctr', key.subarray(0, 16), key.subarray(16, 32));
  return cipher.update(Buffer.alloc(size));
}

// About 6 names per level, like a web build.
const LEVEL_NAMES = [
  ['assets', 'blog', 'docs', 'img', 'js', 'css'],
  ['2023', '2024', 'en', 'fr', 'static', 'vendor'],
  ['a', 'b', 'c', 'media', 'pages', 'fonts'],
];
const EXTS = ['.html', '.css', '.js', '.json', '.svg', '.png', '.jpg', '.woff2', '.txt', '.map'];

function fileSize(rnd) {
  const r = rnd();
  if (r < 0.7) return int(rnd, 1024, 16 * 1024); // 70 % small 1–16 KB
  if (r < 0.95) return int(rnd, 16 * 1024, 200 * 1024); // 25 % medium 16–200 KB
  return int(rnd, 200 * 1024, 2 * 1024 * 1024); // 5 % large 0.2–2 MB
}

function randomDir(rnd) {
  const depth = int(rnd, 0, 3);
  const parts = [];
  for (let d = 0; d < depth; d++) parts.push(pick(rnd, LEVEL_NAMES[d]));
  return parts.join('/');
}

function writeFile(root, rel, buf) {
  const abs = path.join(root, rel);
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  fs.writeFileSync(abs, buf);
}

/**
 * Generate a site of `files` files under `dir` (emptied first).
 * Returns {files, bytes, dirs} (relative paths, POSIX separators).
 */
export function generateSite(dir, { files = 500, seed = 1 } = {}) {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const rnd = prng(seed);
  const list = [];
  const dirs = new Set();
  let bytes = 0;
  for (let i = 0; i < files; i++) {
    const folder = randomDir(rnd);
    const rel = (folder ? folder + '/' : '') + `f${String(i).padStart(5, '0')}${pick(rnd, EXTS)}`;
    const size = fileSize(rnd);
    writeFile(dir, rel, randomBytes(seed, rel, size));
    list.push(rel);
    bytes += size;
    let p = folder;
    while (p) {
      dirs.add(p);
      p = path.posix.dirname(p) === '.' ? '' : path.posix.dirname(p);
    }
  }
  return { files: list, bytes, dirs: [...dirs].sort() };
}

/** All files under dir, relative, POSIX separators, sorted (deterministic). */
export function listFiles(dir, rel = '') {
  const out = [];
  const entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(dir, r));
    else if (e.isFile()) out.push(r);
  }
  return out;
}

/**
 * Change set for the incremental phase: 2 % of files edited in place with the SAME size,
 * 1 % deleted, 1 % added in new folders. Returns {edited, deleted, added}.
 */
export function applyChangeSet(dir, seed = 1) {
  const rnd = prng(seed * 7919 + 17);
  const all = listFiles(dir);
  const n = all.length;
  const pool = [...all];
  const take = (k) => {
    const out = [];
    for (let i = 0; i < k && pool.length; i++) out.push(pool.splice(Math.floor(rnd() * pool.length), 1)[0]);
    return out;
  };
  const edited = take(Math.max(1, Math.round(n * 0.02)));
  const deleted = take(Math.max(1, Math.round(n * 0.01)));
  const added = [];
  for (const rel of edited) {
    const abs = path.join(dir, rel);
    const size = fs.statSync(abs).size;
    // Overwrite a block in the middle (in place, same size), guaranteed to differ.
    const len = Math.min(size, 512);
    const off = Math.floor((size - len) / 2);
    const fd = fs.openSync(abs, 'r+');
    const old = Buffer.alloc(len);
    fs.readSync(fd, old, 0, len, off);
    const neu = randomBytes(seed, 'edit:' + rel, len);
    for (let i = 0; i < len; i++) if (neu[i] === old[i]) neu[i] ^= 0xff;
    fs.writeSync(fd, neu, 0, len, off);
    fs.closeSync(fd);
  }
  for (const rel of deleted) fs.rmSync(path.join(dir, rel));
  const k = Math.max(1, Math.round(n * 0.01));
  for (let i = 0; i < k; i++) {
    const folder = `new-${seed}/${pick(rnd, LEVEL_NAMES[1])}${i % 3 ? '/' + pick(rnd, LEVEL_NAMES[2]) : ''}`;
    const rel = `${folder}/n${String(i).padStart(4, '0')}${pick(rnd, EXTS)}`;
    writeFile(dir, rel, randomBytes(seed, 'add:' + rel, fileSize(rnd)));
    added.push(rel);
  }
  return { edited, deleted, added };
}

/** n small files (100 B – 2 KB), 100 per folder, two levels: d000/e0/… Deterministic per index. */
export function generateSmallFiles(dir, n, seed = 3) {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const rnd = prng(seed);
  const block = randomBytes(seed, 'small', 4096);
  for (let i = 0; i < n; i++) {
    const folder = `d${String(Math.floor(i / 1000)).padStart(3, '0')}/e${Math.floor(i / 100) % 10}`;
    if (i % 100 === 0) fs.mkdirSync(path.join(dir, folder), { recursive: true });
    const size = int(rnd, 100, 2048);
    const buf = Buffer.from(block.subarray(i % 2048, (i % 2048) + size));
    buf.writeUInt32BE(i, 0); // unique content per file
    fs.writeFileSync(path.join(dir, folder, `s${String(i).padStart(6, '0')}.txt`), buf);
  }
  return { files: n };
}

/**
 * A large file: one random 1 MiB block repeated, each chunk stamped with its index so no two
 * chunks are equal. Writes ~1 GiB in about a second (page cache permitting).
 */
export function generateLargeFile(file, bytes = 1024 ** 3, seed = 5) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const CH = 1024 * 1024;
  const block = randomBytes(seed, 'large', CH);
  const fd = fs.openSync(file, 'w');
  try {
    for (let off = 0, i = 0; off < bytes; off += CH, i++) {
      block.writeUInt32BE(i, 0);
      block.writeUInt32BE(seed, 4);
      fs.writeSync(fd, block, 0, Math.min(CH, bytes - off), off);
    }
  } finally {
    fs.closeSync(fd);
  }
  return { bytes };
}
