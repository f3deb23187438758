/**
 * Step 1–2 of a deploy: select the local files (excludes, no symlinks out of the folder, POSIX NFC paths)
 * and hash each one (SHA-256, streamed, several at a time).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import picomatch from 'picomatch';
import { ConfigError, DeployError } from './errors.js';
import type { FtpEncoding } from '../ftp/encoding.js';
import { ancestorsOf, excludeOption, foldCase, isRecordablePath, parentOf } from './paths.js';
import { HashingStopped, HashThread, type HashResult } from './hash-worker.js';
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
  /**
   * `hashed`, for a caller with nothing else to do meanwhile: the main thread hashes too, taking files
   * from the end of the list while the worker goes on from the front, until {@link pauseHashing}.
   */
  finishHashing: () => Promise<void>;
  /** The main thread has other work now (uploads): it stops hashing after the file in hand. */
  pauseHashing: () => void;
  /** Ends the hashing early (the deploy failed or is over): its thread would otherwise keep Node running. */
  stopHashing?: () => void;
  /** Where the files were hashed, once known: on a worker thread, or on the main thread (no thread to be had). */
  hashedOn?: 'worker thread' | 'main thread';
  /** Files the main thread hashed beside the worker ({@link finishHashing}). */
  hashedByMain?: number;
}

/** A tree whose files are all hashed already (or that has none). */
function emptyTree(): LocalTree {
  const hashed = Promise.resolve();
  return {
    files: new Map(),
    dirs: new Set(),
    skipped: [],
    hashed,
    finishHashing: async () => hashed,
    pauseHashing: () => {},
  };
}

export interface GlobParts {
  /** `!glob`: takes back what earlier globs matched. */
  negate: boolean;
  /** A leading `/` or `./`: the glob starts at the top of the folder, as in .gitignore. */
  anchored: boolean;
  /** The glob itself, without those and without a trailing `/`. */
  body: string;
  /** A trailing `/`: the glob names folders (as in .gitignore), not a file of that name. */
  dirOnly: boolean;
}

/** How an --exclude / --keep glob reads (the matcher and the option check share it). */
export function globParts(glob: string): GlobParts {
  const negate = glob.startsWith('!');
  const rest = negate ? glob.slice(1) : glob;
  const body = rest.replace(/^\.?\/+/, '').replace(/\/+$/, '');
  return { negate, anchored: /^\.?\//.test(rest), body, dirOnly: body !== '' && /\/$/.test(rest) };
}

/**
 * A glob written as a regular expression (`\.map$`, `^logs/.*`, `.*\.php$`: FTP-Deploy-Action users expect
 * one), which as a glob matches next to nothing (`^` and `$` are plain characters, `.` a dot): the glob meant,
 * or undefined when the glob does not read as a regular expression.
 */
export function globMeantByRegex(glob: string): string | undefined {
  const negate = glob.startsWith('!') ? '!' : '';
  const body = glob.slice(negate.length);
  const start = body.startsWith('^');
  const end = /(?:^|[^\\])\$$/.test(body);
  if (!start && !end && !/\\[dwsDWS]|\.\*\\\.|\.\+(?!\()|\(\?/.test(body)) return undefined;
  // `assets\secret.txt`: a Windows path (its `\s` is a separator), not a regular expression.
  if (!start && !end && globMeantBySlashes(glob) !== undefined) return undefined;
  const meant = body
    .slice(start ? 1 : 0, end ? -1 : undefined)
    .replace(/\.[*+]/g, '*')
    .replace(/\\(.)/g, '$1');
  // Unanchored, a regular expression matches anywhere in the path; a glob's basename matches at any depth.
  const glued = `${start ? '' : '*'}${meant}${end || meant.endsWith('/') ? '' : '*'}`.replace(/\*+/g, '*');
  return `${negate}${glued}`;
}

/**
 * A glob written with Windows folder separators (`assets\secret.txt`, `dist\*.map`, `**\node_modules\**`): the
 * glob with `/` in their place, or undefined. In a glob a backslash escapes the next character (`\!`, `\[`, `\.`,
 * as ftpship's own --exclude suggestions write them), so such a glob matches next to nothing, on Windows too. Read
 * as separators: a backslash before a letter, digit, `_` or `-` (which need no escape), or between a name and `*`
 * or `?`; once one is, so is every backslash before a name, `*`, `?` or `.` (`src\**\*.map`). `\\` stays, and a
 * glob that reads as a regular expression (`^logs\d+`, `\.map$`: see {@link globMeantByRegex}) is left to that.
 */
export function globMeantBySlashes(glob: string): string | undefined {
  const tokens = glob.match(/\\[\s\S]?|[^\\]+/g) ?? [];
  const meansSlash = (t: string, i: number): boolean =>
    /^\\[\w-]$/.test(t) || (/^\\[*?]$/.test(t) && /[\w-]$/.test(tokens[i - 1] ?? ''));
  if (!tokens.some(meansSlash) || /^!?\^|(?:^|[^\\])\$$|\.\*\\\.|\.\+|\(\?/.test(glob)) return undefined;
  return tokens.map((t) => (/^\\[\w*?.-]$/.test(t) ? `/${t.slice(1)}` : t)).join('');
}

/**
 * Warnings for globs that most likely do not say what was meant: an exclude or keep glob written as a regular
 * expression (see {@link globMeantByRegex}), and excludes written from the project root (`site/x` for the
 * local folder `site`, where globs are read inside it). Each names the glob meant.
 */
export function globAdvice(o: { exclude: string[]; keep: string[]; localDir?: string }): string[] {
  const out: string[] = [];
  for (const [name, globs] of [
    ['exclude', o.exclude],
    ['keep', o.keep],
  ] as const)
    for (const g of globs) {
      const slashed = globMeantBySlashes(g);
      if (slashed !== undefined)
        out.push(
          `the ${name} glob '${g}' separates folders with a backslash, as Windows writes paths, but in a glob a ` +
            `backslash escapes the next character, so it is read as '${slashed}' as well: write '${slashed}'`,
        );
      const meant = globMeantByRegex(g);
      if (meant !== undefined)
        out.push(
          `the ${name} glob '${g}' looks like a regular expression, but it is read as a glob (^ and $ are plain ` +
            `characters there, . is a dot, * any part of a name), so it matches next to nothing: write '${meant}'`,
        );
    }
  const { localDir } = o;
  const named = localDir ? o.exclude.filter((g) => namesLocalFolder(g, localDir)) : [];
  if (named.length > 0)
    out.push(
      `the exclude glob${named.length > 1 ? 's' : ''} ${named.map((g) => `'${g}'`).join(', ')} start${named.length > 1 ? '' : 's'} ` +
        `with the local folder's own name, but globs are read inside ${localDir}, which holds no such entry, so ` +
        `${named.length > 1 ? 'they match' : 'it matches'} nothing: write ${named.map((g) => `'${withoutFirstPart(g)}'`).join(', ')}`,
    );
  return out;
}

/** A glob's leading `!` and `/`, its first path part, and the rest. */
function splitFirstPart(glob: string): { prefix: string; first: string; rest: string } {
  const prefix = /^!?\/?/.exec(glob)?.[0] ?? '';
  const body = glob.slice(prefix.length);
  const slash = body.indexOf('/');
  return slash < 0
    ? { prefix, first: '', rest: body }
    : { prefix, first: body.slice(0, slash), rest: body.slice(slash + 1) };
}

/**
 * `site/x` for the local folder `site` (globs are read inside it): the first part is the folder's own name, no
 * entry of that name is inside it, and something follows (`dist/` alone may be meant as a glob of its own).
 */
function namesLocalFolder(glob: string, localDir: string): boolean {
  const { first, rest } = splitFirstPart(glob);
  const own = path.basename(path.resolve(localDir));
  return first !== '' && rest !== '' && first === own && !fs.existsSync(path.join(localDir, first));
}

function withoutFirstPart(glob: string): string {
  const { prefix, rest } = splitFirstPart(glob);
  return `${prefix}${rest}`;
}

/**
 * Builds a matcher for gitignore-like globs: `dir/` and `dir` also match everything below, and `dir/` no file
 * named `dir` (when the caller says the path is a file: `isDir` false); no-slash globs
 * match basenames, `/glob` only at the top; `!glob` takes back what earlier globs matched (the last glob that matches decides, as in
 * .gitignore; a file inside a folder that is left out is not seen at all). `\!` starts a literal `!`.
 */
export function globMatcher(globs: string[]): (rel: string) => boolean {
  const isMatch = globMatcherByKind(globs);
  return (rel) => isMatch(rel);
}

/** {@link globMatcher}, told whether the path is a folder where that is known (`dir/` matches no file `dir`). */
export function globMatcherByKind(
  globs: string[],
  { itself = false }: { itself?: boolean } = {},
): (rel: string, isDir?: boolean) => boolean {
  if (globs.length === 0) return () => false;
  const rooted = ({ anchored, body }: GlobParts): boolean =>
    anchored || body.includes('/') || body.includes('**');
  const expand = (r: GlobParts): string[] =>
    itself
      ? rooted(r)
        ? [r.body]
        : [r.body, `**/${r.body}`]
      : rooted(r)
        ? [r.body, `${r.body}/**`]
        : [r.body, `**/${r.body}`, `**/${r.body}/**`, `${r.body}/**`];
  // For a path known to be a file (isDir false), `dir/` matches only what is below a folder of that name
  // (nothing, when the caller looks at each folder above the path itself); and `dir/**` no file `dir` (picomatch
  // reads `dir/**` as `dir` too: the folder, then, as in .gitignore `dir/**` is only what a folder `dir` holds).
  const belowOnly = (g: string): string => (g.endsWith('/**') ? `${g}/*` : g);
  const forFile = (r: GlobParts): string[] =>
    !r.dirOnly
      ? expand(r).map(belowOnly)
      : itself
        ? []
        : rooted(r)
          ? [`${r.body}/**/*`]
          : [`**/${r.body}/**/*`];
  // A glob written with Windows separators matches what it says and what it means (see globMeantBySlashes).
  const rules = globs.flatMap((given) => {
    // Paths are matched in NFC (as the walk and the state write them): a glob pasted from a macOS file name
    // may be in NFD, and would otherwise match nothing.
    const g = given.normalize('NFC');
    const slashed = globMeantBySlashes(g);
    return slashed === undefined ? [globParts(g)] : [globParts(g), globParts(slashed)];
  });
  if (!rules.some((r) => r.negate)) {
    const isMatch = picomatch(rules.flatMap(expand), { dot: true });
    const isFileMatch = picomatch(rules.flatMap(forFile), { dot: true });
    return (rel, isDir) => (isDir === false ? isFileMatch(rel) : isMatch(rel));
  }
  const compiled = rules.map((r) => ({
    negate: r.negate,
    isMatch: picomatch(expand(r), { dot: true }),
    isFileMatch: picomatch(forFile(r), { dot: true }),
  }));
  return (rel, isDir) => {
    let matched = false;
    for (const r of compiled) if ((isDir === false ? r.isFileMatch : r.isMatch)(rel)) matched = !r.negate;
    return matched;
  };
}

/**
 * The excludes as the walk of the local folder applies them: a path is left out when it, or a folder above
 * it, matches (the walk never enters an excluded folder, so `!glob` cannot take back a file inside one).
 */
export function excludedPath(globs: string[]): (rel: string, isDir?: boolean) => boolean {
  const isMatch = excludeMatcher(globs);
  return (rel, isDir) => isMatch(rel, isDir) || ancestorsOf(rel).some((d) => isMatch(d, true));
}

/**
 * The excludes' matcher, for a caller that looks at each folder above a path too (the walk, which never enters
 * an excluded folder; {@link excludedPath}): each glob names the path itself, as in .gitignore, so `!d/` after
 * `*.map` takes back the folder `d` alone, not the `.map` files inside it that `*.map` leaves out.
 */
export function excludeMatcher(globs: string[]): (rel: string, isDir?: boolean) => boolean {
  return globMatcherByKind(globs, { itself: true });
}

/**
 * Walks `localDir` and returns its files once listed; their hashes follow in the background (each file's
 * `hashed`, and the tree's): a first deploy starts uploading before the last file is hashed. The walk lets
 * other work run every few milliseconds (the connections log in meanwhile), and hands each stretch of files
 * to the hashing thread as it goes.
 */
export async function scanLocalDir(
  localDir: string,
  exclude: (rel: string, isDir?: boolean) => boolean,
  encoding: FtpEncoding = 'utf8',
): Promise<LocalTree> {
  const root = fs.realpathSync(localDir);
  const tree = emptyTree();
  const hashing = new BackgroundHashing(tree); // its thread boots while the folder is walked
  let found: LocalFile[] = [];
  // The real paths of the folders being walked, root first: a link to one of them is a loop.
  const walking: string[] = [];
  const walk = async (absDir: string, relDir: string): Promise<void> => {
    walking.push(fs.realpathSync(absDir));
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(absDir, { withFileTypes: true });
    } catch (err) {
      // E.g. a folder its owner alone may list (EACCES): it would otherwise end the deploy with Node's bare message.
      // Permissions are bad input, as for the top folder (exit 2); a folder gone meanwhile may be back (exit 1).
      const Refusal = deniedAccess(err) ? ConfigError : DeployError;
      throw new Refusal(
        `cannot read local folder ${absDir}: ${(err as Error).message}; check its permissions${relDir ? ` or exclude it with ${excludeOption(relDir)}` : ''}`,
        { cause: err },
      );
    }
    for (const entry of entries) {
      const name = entry.name.normalize('NFC');
      const rel = relDir ? `${relDir}/${name}` : name;
      const abs = path.join(absDir, entry.name);
      // A link may lead to a folder: only a plain file is known not to be one (`dist/` leaves out no file `dist`).
      if (exclude(rel, entry.isFile() ? false : undefined)) continue;
      checkSendable(rel, true, encoding);
      checkUnique(tree, rel, abs, entry.name);
      let stat: fs.Stats;
      try {
        stat = fs.lstatSync(abs);
      } catch (err) {
        // A folder that may be listed but not entered (mode 644): its entries cannot be looked at.
        if ((err as NodeJS.ErrnoException).code === 'EACCES') throw unreadableFile(abs, err);
        // A name that is not valid UTF-8 (latin1, from an old archive): Node reads it with U+FFFD and cannot
        // open it again, nor could FTP send it as it is. Bad input (exit 2), with a glob that leaves it out.
        if (entry.name.includes('\uFFFD'))
          throw new ConfigError(
            `local name ${abs} is not valid UTF-8 (each byte that is not shows as \uFFFD), so ftpship cannot read ` +
              `or send it: rename it in UTF-8 (convmv -f latin1 -t utf8, say), or leave it out with ` +
              `${excludeOption(rel).replace(/\uFFFD/g, '?')}`,
            { cause: err },
          );
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw vanishedFile(abs, err);
        throw new DeployError(
          `cannot read local file ${abs}: ${(err as Error).message}; rename it or exclude it with --exclude`,
          { cause: err },
        );
      }
      if (stat.isSymbolicLink()) {
        const target = safeRealpath(abs);
        const inside = (p: string): boolean => p === root || p.startsWith(root + path.sep);
        if (!target || !inside(target)) {
          // Unresolvable: said to be broken only if its own text stays inside (../../etc/passwd is outside).
          const broken = !target && inside(path.resolve(path.dirname(abs), safeReadlink(abs)));
          tree.skipped.push({
            path: rel,
            reason: broken
              ? 'broken symlink, or a loop of links (not followed)'
              : 'symlink pointing outside the local folder (not followed)',
          });
          continue;
        }
        stat = fs.statSync(abs);
        // A link to a folder inside is walked as a folder (`latest -> v3`), unless it leads back up.
        if (stat.isDirectory() && walking.includes(target)) {
          tree.skipped.push({ path: rel, reason: 'symlink to a folder above it, a loop (not followed)' });
          continue;
        }
      }
      if (stat.isDirectory()) {
        tree.dirs.add(rel);
        await walk(abs, rel);
      } else if (stat.isFile()) {
        // Hashing goes on in the background (after uploads started, on a first deploy): a file that cannot
        // be read must stop the deploy here, before any change.
        try {
          fs.accessSync(abs, fs.constants.R_OK);
        } catch (err) {
          throw unreadableFile(abs, err);
        }
        const file: LocalFile = { path: rel, size: stat.size, sha256: '', abs, stamp: stampOf(stat) };
        tree.files.set(rel, file);
        found.push(file);
      } else {
        tree.skipped.push({ path: rel, reason: 'not a regular file' });
      }
      if (sliceDue()) {
        hashing.add(found);
        found = [];
        await letOthersRun();
      }
    }
    walking.pop();
  };
  try {
    await walk(root, '');
  } catch (err) {
    hashing.abort();
    throw err;
  }
  hashing.add(found);
  hashing.close();
  return tree;
}

/** The largest file the main thread hashes beside the worker: a few milliseconds of SHA-256. */
const MAIN_THREAD_MAX = 4 * 1024 * 1024;

/**
 * Hashes a tree's files in the background: on a worker thread, in chunks as they are found, each file's
 * `hashed` settling as its result arrives; the main thread stays free for the connections until a caller
 * with nothing else to do asks it to help (`tree.finishHashing`: it takes files from the end while the
 * worker goes on from the front). If the thread cannot run, the main thread hashes everything. A file that
 * cannot be read, or changed since it was listed, rejects its own promise and the tree's.
 */
class BackgroundHashing {
  private readonly chunks: LocalFile[][] = [];
  private readonly waiting = new Map<LocalFile, { resolve: () => void; reject: (err: unknown) => void }>();
  private readonly thread = new HashThread((chunk, i, result) => this.settle(this.chunks[chunk][i], result));
  private failed: unknown;
  private stopped = false;
  /** The main thread's hashing loop, while it runs (or its last run). */
  private helping?: Promise<void>;
  private helpWanted = false;

  constructor(private readonly tree: LocalTree) {}

  /** Hands a stretch of files to the thread. */
  add(files: LocalFile[]): void {
    if (files.length === 0) return;
    for (const f of files) {
      f.hashed = new Promise<void>((resolve, reject) => this.waiting.set(f, { resolve, reject }));
      f.hashed.catch(() => {}); // awaited by whoever needs it; never an unhandled rejection
    }
    this.chunks.push(files);
    this.thread.add(files.map((f) => ({ abs: f.abs as string, stamp: f.stamp ?? '' })));
  }

  /** Every file was added: sets the tree's `hashed`, `finishHashing` and `stopHashing`. */
  close(): void {
    this.thread.finish();
    const all = this.all();
    all.catch(() => {}); // awaited by deploy(); a failure is reported there
    this.tree.hashed = all;
    let running = false;
    this.tree.finishHashing = async () => {
      this.helpWanted = true;
      if (!running) {
        running = true;
        this.helping = this.help().finally(() => (running = false));
      }
      return all;
    };
    this.tree.pauseHashing = () => (this.helpWanted = false);
    this.tree.stopHashing = () => this.stop();
  }

  /** The walk failed: no hashing at all. */
  abort(): void {
    this.stop();
  }

  private async all(): Promise<void> {
    try {
      this.tree.hashedOn = 'worker thread';
      await this.thread.done;
    } catch (err) {
      if (err instanceof HashingStopped) throw err;
      this.tree.hashedOn = 'main thread';
      for (const chunk of this.chunks)
        for (const f of chunk) if (this.waiting.has(f) && !this.stopped) await this.hashHere(f);
    }
    await this.helping;
    if (this.stopped) throw new HashingStopped('hashing stopped');
    if (this.failed !== undefined) throw this.failed;
  }

  /**
   * The main thread's share: from the end of the list until it meets a file the worker took, or one
   * larger than {@link MAIN_THREAD_MAX} (a pause must not wait for a long hash: a first deploy needs this
   * thread for its uploads), or is told to pause. What it claimed is a tail of the list, and the worker
   * stops where that tail begins.
   */
  private async help(): Promise<void> {
    for (let c = this.chunks.length - 1; c >= 0; c--) {
      for (let i = this.chunks[c].length - 1; i >= 0; i--) {
        const f = this.chunks[c][i];
        if (!this.waiting.has(f)) continue; // hashed here in an earlier run of this loop
        if (this.stopped || !this.helpWanted || f.size > MAIN_THREAD_MAX) return;
        if (!this.thread.claim(c, i)) return;
        await this.hashHere(f);
        this.tree.hashedByMain = (this.tree.hashedByMain ?? 0) + 1;
      }
    }
  }

  private async hashHere(f: LocalFile): Promise<void> {
    await hashFile(f.abs as string, f.stamp).then(
      (h) => this.settle(f, h),
      (err: unknown) => this.settle(f, err as Error),
    );
  }

  private settle(f: LocalFile, result: HashResult | Error): void {
    const d = this.waiting.get(f);
    if (!d) return;
    this.waiting.delete(f);
    if (result instanceof Error || 'error' in result) {
      const err =
        result instanceof Error
          ? result
          : result.code === 'ECHANGED'
            ? changedFile(f.abs as string)
            : unreadableFile(f.abs as string, Object.assign(new Error(result.error), { code: result.code }));
      this.failed ??= err;
      d.reject(err);
    } else {
      f.sha256 = result.sha256;
      f.size = result.size; // the content hashed, even if the file changed since it was listed
      d.resolve();
    }
  }

  private stop(): void {
    this.stopped = true;
    this.thread.stop();
    for (const f of [...this.waiting.keys()]) this.settle(f, new HashingStopped('hashing stopped'));
  }
}

/**
 * The same tree from files the caller lists: in memory (gulp), hashed here, or on disk (the Action's
 * `files`), hashed in the background like a scanned folder's.
 */
export function treeFromFiles(files: SourceFile[], encoding: FtpEncoding = 'utf8'): LocalTree {
  const tree = emptyTree();
  const onDisk: LocalFile[] = [];
  for (const f of files) {
    const rel = f.path.replace(/\\/g, '/').normalize('NFC');
    if (f.skipped !== undefined) {
      tree.skipped.push({ path: rel, reason: f.skipped });
      continue;
    }
    checkSendable(rel, false, encoding);
    checkUnique(tree, rel, f.file ?? f.path);
    if (f.contents) {
      const sha256 = crypto.createHash('sha256').update(f.contents).digest('hex');
      tree.files.set(rel, { path: rel, size: f.contents.length, sha256, contents: f.contents });
    } else if (f.file) {
      let stat: fs.Stats;
      try {
        stat = fs.statSync(f.file);
        fs.accessSync(f.file, fs.constants.R_OK);
      } catch (err) {
        // A path the caller listed that is not there: bad input, as a missing local folder is (exit 2).
        if ((err as NodeJS.ErrnoException).code === 'ENOENT')
          throw new ConfigError(
            `file ${JSON.stringify(f.file)} (for ${JSON.stringify(rel)}) does not exist; list files that exist`,
            { cause: err },
          );
        throw unreadableFile(f.file, err);
      }
      // A pipe would block the hashing for ever (opening one waits for a writer); a folder cannot be sent.
      if (!stat.isFile())
        throw new ConfigError(
          `file ${JSON.stringify(f.file)} (for ${JSON.stringify(rel)}) is not a regular file but a ${kindOf(stat)}; give regular files only`,
        );
      const file: LocalFile = { path: rel, size: stat.size, sha256: '', abs: f.file, stamp: stampOf(stat) };
      tree.files.set(rel, file);
      onDisk.push(file);
    } else {
      throw new ConfigError(`file ${JSON.stringify(f.path)} has neither contents nor a file to read`);
    }
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      // Given as a file too (a list made by hand): the plan would make the folder and write the file over it.
      if (tree.files.has(dir))
        throw new ConfigError(
          `two local files would be ${JSON.stringify(dir)} on the server: ${JSON.stringify(dir)} is given as a file and as the folder of ${JSON.stringify(rel)}; rename one, or leave one out`,
        );
      tree.dirs.add(dir);
    }
  }
  if (onDisk.length > 0) {
    const hashing = new BackgroundHashing(tree);
    hashing.add(onDisk);
    hashing.close();
  }
  return tree;
}

function kindOf(stat: fs.Stats): string {
  if (stat.isDirectory()) return 'folder';
  if (stat.isFIFO()) return 'named pipe (FIFO)';
  if (stat.isSocket()) return 'socket';
  return 'device';
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
/** Time the walk or the hashing may hold the event loop before letting the connections' work run. */
const SLICE_MS = 4;
let sliceStart = performance.now();
const sliceDue = (): boolean => performance.now() - sliceStart > SLICE_MS;

/** Lets the event loop run the work waiting (replies, connects), then starts a new slice. */
async function letOthersRun(): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  sliceStart = performance.now();
}

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
      if (sliceDue()) await letOthersRun();
    }
    // Written while it was read: the hash may mix two versions, and the state must not record it (G4).
    if (stamp !== undefined && stampOf(fs.fstatSync(fd)) !== stamp) throw changedFile(abs);
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

/**
 * A local file listed, then gone when read (a build still running, cleaning its output): not a permission to
 * check, nor a file to exclude.
 */
export function vanishedFile(abs: string, err: unknown): DeployError {
  return new DeployError(
    `local file ${abs} was removed while the deploy was running (after it was listed); rerun once the folder is final`,
    { cause: err },
  );
}

/** A local file whose stamp moved between the listing and a later read. */
export function changedFile(abs: string): DeployError {
  return new DeployError(
    `local file ${abs} changed while the deploy was running (after it was listed); rerun once it is final`,
  );
}

/**
 * A name FTP cannot carry: CR or LF end a command (G7 refuses to send them), NUL ends it on many servers.
 * Stops the deploy before any change, naming the path (quoted: its line break stays on one line).
 */
function safeReadlink(abs: string): string {
  try {
    return fs.readlinkSync(abs);
  } catch {
    return '/';
  }
}

function checkSendable(rel: string, walked = false, encoding: FtpEncoding = 'utf8'): void {
  if (/[\r\n\0]/.test(rel)) {
    // Refused before anything is sent: bad input (exit 2), with the exclude that leaves out exactly this path.
    throw new ConfigError(
      `local path ${JSON.stringify(rel)} has a line break (or NUL) in its name, which FTP cannot send: a line break ends a command. Rename it, or leave it out with ${excludeOption(rel)}`,
    );
  }
  // Readdir never gives such a name; a backslash can make one (a Windows server reads it as a separator),
  // and so can a caller's list of files ('../x', '/x', 'a//b').
  if (!isRecordablePath(rel)) {
    // A name in the folder (`..\x`, `\x`) or in a caller's list of files (`../x`): bad input, refused before
    // any change (exit 2): a rerun cannot fix it.
    throw new ConfigError(
      `local path ${JSON.stringify(rel)} is not a plain path inside the folder (an empty, "." or ".." segment, or a leading slash, counting a backslash as a separator as Windows servers do): rename it, or leave it out with ${walked ? excludeOption(rel) : '--exclude'}`,
    );
  }
  // A character latin1 has no byte for: refused before any change, as a line break is (exit 2).
  const wide = encoding === 'latin1' ? /[^\x00-\xFF]/u.exec(rel)?.[0] : undefined; // eslint-disable-line no-control-regex
  if (wide !== undefined) {
    const code = `U+${wide.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
    throw ConfigError.about(
      'encoding',
      (name) =>
        `local path ${JSON.stringify(rel)} holds ${JSON.stringify(wide)} (${code}), which ${name} latin1 cannot send (only U+0000 to U+00FF): rename it, leave it out with ${walked ? excludeOption(rel) : '--exclude'}, or deploy with the default encoding, utf8, if the server takes UTF-8 names`,
    );
  }
}

/**
 * Two local names that are one name once in NFC (as ftpship sends names: macOS and Linux may hold both
 * forms side by side) would go to one remote file, and one of them would be dropped without a word.
 * `walked` is the entry's name as the folder holds it (absent for a caller's list of files).
 */
function checkUnique(tree: LocalTree, rel: string, where: string, walked?: string): void {
  if (tree.files.has(rel) || tree.dirs.has(rel)) {
    if (walked === undefined)
      throw new ConfigError(
        `two local files would be ${JSON.stringify(rel)} on the server (${where} and another; names count as equal once in Unicode NFC): rename one, or leave one out with --exclude`,
      );
    // In one folder, two names are one only in NFC. An exclude cannot leave out one of them: globs match the
    // name once in NFC, so both or neither.
    const form =
      walked === rel.slice(rel.lastIndexOf('/') + 1)
        ? 'composed (NFC)'
        : 'decomposed (NFD, as macOS writes names)';
    throw new ConfigError(
      `two local files would be ${JSON.stringify(rel)} on the server: ${where}, its name written ${form}, and another ` +
        `entry beside it whose name is the same in Unicode NFC, the form ftpship sends names in; delete or rename one of ` +
        `them (an --exclude would leave out both)`,
    );
  }
  // A Windows server (and ftp-srv) reads a backslash as a folder separator: `a\b.txt` is `a/b.txt` there,
  // one file for two local ones, and the state would record both contents.
  const key = rel.replace(/\\/g, '/');
  let seen = backslashNames.get(tree);
  const other =
    seen?.get(key) ?? (key !== rel && (tree.files.has(key) || tree.dirs.has(key)) ? key : undefined);
  if (other !== undefined) {
    // In the folder or a caller's list: bad input, refused before any change (exit 2), as the NFC twins are.
    throw new ConfigError(
      `two local files would be ${JSON.stringify(key)} on a server that reads a backslash as a folder separator, as Windows servers do: ${JSON.stringify(other)} and ${JSON.stringify(rel)} (${where}); rename one, or leave one out with ${excludeOption(rel)}`,
    );
  }
  if (key !== rel) {
    if (!seen) backslashNames.set(tree, (seen = new Map()));
    seen.set(key, rel);
  }
}

/** Per tree, the names holding a backslash, by the path they are once it counts as a separator. */
const backslashNames = new WeakMap<LocalTree, Map<string, string>>();

/** A permission refused (EACCES, EPERM): no rerun changes it, as for the top folder (exit 2). */
function deniedAccess(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EACCES' || code === 'EPERM';
}

function unreadableFile(abs: string, err: unknown): DeployError | ConfigError {
  if ((err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return vanishedFile(abs, err);
  const Refusal = deniedAccess(err) ? ConfigError : DeployError;
  return new Refusal(
    `cannot read local file ${abs}: ${(err as Error).message}; check its permissions or exclude it with --exclude`,
    { cause: err },
  );
}

/**
 * Local names in one folder that differ only in case (`README.txt` and `readme.txt`, a folder `Docs` and a file
 * `docs`): one name on a case-insensitive (Windows) server, where one is written over the other. Each group once,
 * by its folder; names inside twin folders are not listed again.
 */
export function caseTwins(tree: LocalTree): string[][] {
  const groups = new Map<string, string[]>();
  for (const p of [...tree.dirs, ...tree.files.keys()]) {
    const key = `${parentOf(p)}\0${foldCase(p.slice(p.lastIndexOf('/') + 1))}`;
    const group = groups.get(key);
    if (group) group.push(p);
    else groups.set(key, [p]);
  }
  return [...groups.values()].filter((g) => g.length > 1).map((g) => g.sort());
}
