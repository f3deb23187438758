/** POSIX path helpers for remote paths and relative deploy paths. */
import path from 'node:path/posix';

/** Joins a remote base directory and a relative path into an absolute remote path. */
export function remoteJoin(base: string, rel: string): string {
  if (!rel) return base;
  return base === '/' ? `/${rel}` : `${base}/${rel}`;
}

/** `abs` relative to the target `root`, or undefined when it lies outside. */
export function insideTarget(root: string, abs: string): string | undefined {
  const prefix = root === '/' ? '/' : `${root}/`;
  return abs.startsWith(prefix) ? abs.slice(prefix.length) : undefined;
}

/** Parent of a relative path ('' for top-level entries). */
export function parentOf(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i === -1 ? '' : rel.slice(0, i);
}

/** The last segment of a path ('a/b.txt' → 'b.txt'). */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** The last segment starts with a dot: a name some hosts refuse (pure-ftpd -x or -X). */
export function dotName(path: string): boolean {
  return baseName(path).startsWith('.');
}

/** `path` is `dir` itself or inside it ('a/b' is at or under 'a'; 'a-b' is not). */
export function atOrUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(`${dir}/`);
}

/** Every ancestor directory of a relative path, shallowest first ('a/b/c.txt' → ['a', 'a/b']). */
export function ancestorsOf(rel: string): string[] {
  const parts = rel.split('/');
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join('/'));
  return out;
}

/** Number of segments ('a' → 1, 'a/b' → 2). Counts slashes: it runs in sort comparators, so no split. */
export function depthOf(rel: string): number {
  if (rel === '') return 0;
  let depth = 1;
  for (let i = rel.indexOf('/'); i !== -1; i = rel.indexOf('/', i + 1)) depth++;
  return depth;
}

/** Shallow paths first, then by name: parents before children, and the order the plan uploads in. */
export function byDepthThenName(a: string, b: string): number {
  return depthOf(a) - depthOf(b) || (a < b ? -1 : a > b ? 1 : 0);
}

/**
 * Normalises a remote directory: absolute, POSIX, no trailing slash, no `.`/`..` escaping upward.
 * Relative input is taken from the login directory `home`.
 */
export function normalizeRemoteDir(dir: string, home = '/'): string {
  const joined = dir.startsWith('/') ? dir : path.join(home, dir);
  const norm = path.normalize(joined).replace(/\/+$/, '');
  return norm === '' ? '/' : norm;
}

/** Is `rel` a safe relative path: no empty, `.` or `..` segments, no leading slash, no CR/LF/NUL/backslash? */
export function isSafeRelPath(rel: string): boolean {
  if (rel === '' || rel.startsWith('/') || /[\r\n\0\\]/.test(rel)) return false;
  return rel.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}

/**
 * May a state record `rel`: a safe relative path once backslashes count as separators too (a local name
 * may hold a backslash; a Windows server reads it as one, so it must not hide a `..`).
 */
export function isRecordablePath(rel: string): boolean {
  return isSafeRelPath(rel.replace(/\\/g, '/'));
}

/** A path as a case-insensitive (Windows) server compares it. */
export function foldCase(rel: string): string {
  return rel.toLowerCase();
}

/** Most servers' file systems take at most this many bytes a name (Linux: 255). */
export const NAME_MAX_BYTES = 255;

/**
 * A word on a refused path whose last segment is longer than most servers' file systems take, '' for one that
 * is not; the refusal seldom says so ("553 Could not create file.", "550 Create directory operation failed.").
 */
export function nameTooLong(rel: string): string {
  const bytes = Buffer.byteLength(baseName(rel));
  return bytes > NAME_MAX_BYTES
    ? `its name is ${bytes} bytes long (UTF-8), and most servers' file systems take at most ${NAME_MAX_BYTES} bytes a name`
    : '';
}

/**
 * The `--exclude` option that leaves out exactly `rel`, quoted for a shell (bash's `$'…'` when the name holds
 * a control character): anchored at the top and every glob character escaped, so a file named `*` or
 * `[abc].txt` does not take its neighbours with it.
 */
export function excludeOption(rel: string): string {
  const glob = `/${rel.replace(/[\\*?[\]{}()!+@|^$.,]/g, (c) => `\\${c}`)}`;
  const control = (c: string): boolean => c < ' ' || c === '\x7f';
  if (![...glob].some(control)) return `--exclude '${glob.replace(/'/g, "'\\''")}'`;
  // A tab or another control character: bash's $'…', where it is written as an escape.
  const escaped = [...glob]
    .map((c) =>
      c === '\\' || c === "'"
        ? `\\${c}`
        : c === '\t'
          ? '\\t'
          : control(c)
            ? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`
            : c,
    )
    .join('');
  return `--exclude $'${escaped}'`;
}
