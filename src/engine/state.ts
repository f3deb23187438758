/**
 * The state file on the server: what ftpship deployed (size and SHA-256 per file, the folders), a hash of
 * the settings that change meaning, and — while a deploy runs — a checkpoint of work in flight.
 * G4: the state never lists a file that is not on the server with that content.
 */
import crypto from 'node:crypto';
import { DeployError } from './errors.js';
import { baseName, isRecordablePath, parentOf } from './paths.js';
import { decodeText, encodeText, type FtpEncoding } from '../ftp/encoding.js';

export interface StateFile {
  size: number;
  sha256: string;
}

/**
 * A temporary upload bound for `path`: it holds (a prefix of) the content of that size whose hash is
 * `sha256`, or, while that hash was not known yet (a first deploy hashes while it uploads), of the local
 * file as it was with `stamp` (size, mtime, ctime).
 */
export interface PendingTemp {
  path: string;
  size: number;
  /** '' when the run was cut before the file's hash was known. */
  sha256: string;
  stamp?: string;
  /** Set just before the commit phase: if the temp is gone on a rerun, the rename happened. */
  committing?: boolean;
  /**
   * When a run left this temp, found missing (or held) where it was to resume it, to the server session that
   * may hold it still and put a part back (pure-ftpd): never used again, removed by each deploy until found
   * and removed, or a day has passed (see StateStore.tempLeft).
   */
  left?: string;
}

/** Work a run had started when it last checkpointed; a rerun resumes or cleans it up. */
export interface Pending {
  /** Temporary uploads: temp path (relative) → what it holds (a prefix of) and where it goes. */
  temps: Record<string, PendingTemp>;
  /** Paths ftpship may have written or begun deleting, content unknown: orphans if gone locally. */
  uncertain: string[];
  /** A maintenance marker this run put up, or is about to (relative): removed when a deploy completes. */
  maintenance?: string;
  /** Folders a run made only to hold its marker (relative): removed with it, when empty. */
  markerDirs?: string[];
  /**
   * Folders the run set out to make and had not recorded as made: a rerun takes each as possibly there
   * (removed if no longer wanted, replaced if a file now goes there).
   */
  dirs?: string[];
  /**
   * The empty test files a run writes for a moment to see whether the server keeps a name ending in a space
   * or a dot (relative, named as sent: {@link PROBE_NAME}), recorded before each is written: a run cut before
   * its delete left it, and the rerun removes it (under each name the server may have given it).
   */
  probes?: string[];
}

/**
 * The last segment of a name test's file, as sent: `ftpship-name-test-<12 hex>` and a space, a dot, a tab
 * (for names holding a control character), a double quote, `\_` (for a backslash: a path never ends in
 * one), or `*` (a folder: for folder names holding one).
 */
export const PROBE_NAME = /^ftpship-name-test-[0-9a-f]{12}(?:[ .\t"*]|\\_)$/;

/**
 * A name test's file under any name a server stores it as (pure-ftpd turns the trailing space or tab into
 * `_`; Windows servers drop the trailing space or dot, ftp-srv a double quote): ftpship's own, never part of
 * a site.
 */
export const PROBE_STORED_NAME = /^ftpship-name-test-[0-9a-f]{12}(?:[ ._\t"*]|\\_)?$/;

/** The names a name test's file `abs` (as sent) may be stored under: as sent, with `_`, without its last character. */
export function probeNames(abs: string): string[] {
  return [...new Set([abs, abs.replace(/[ \t]$/, '_'), abs.slice(0, -1)])];
}

export interface DeployState {
  version: 1;
  generator: 'ftpship';
  /** Hash of the settings that change which files are ours (excludes, keeps). */
  settings: string;
  updatedAt: string;
  /**
   * The folder deployed to (absolute on the server). Recorded so that a state kept outside the target,
   * shared by mistake between two targets, is refused instead of mixing their files.
   */
  target?: string;
  files: Record<string, StateFile>;
  dirs: string[];
  /**
   * The permissions the last complete deploy set (`SITE CHMOD`) on every file and folder listed here;
   * absent: none, or not on all of them (a run clears it when it starts and sets it when it ends).
   */
  modes?: Modes;
  /**
   * FTP-Deploy-Action's state file as ftpship last read it (the site came from that tool): a fingerprint of
   * its text, and its size and time on the server. When the file changes, that tool has deployed since, and
   * the files the two states disagree on are sent again.
   */
  ftpDeployAction?: { sha256: string; stamp?: string };
  /**
   * How the paths here were sent as bytes (the `encoding` option): absent for 'utf8', the default and all a
   * state written before the option could hold. A state read under another encoding is translated (see
   * {@link inEncoding}).
   */
  encoding?: 'latin1';
  pending?: Pending;
}

/**
 * How long a temp left to another server session (see {@link PendingTemp.left}) is looked for and removed by
 * each deploy: no server holds a session cut off by the network for longer (pure-ftpd's idle timeout is 15
 * minutes by default).
 */
export const LEFT_TEMP_MS = 24 * 60 * 60 * 1000;

/** A temp left to another server session, still looked for (within its day; an unreadable time is past it). */
export function leftInDay(t: PendingTemp, now = Date.now()): boolean {
  return t.left !== undefined && now - Date.parse(t.left) < LEFT_TEMP_MS;
}

/**
 * The pending work is only temps left to other server sessions (one at least): the run that left them
 * finished the rest, so no file is in flux.
 */
export function onlyLeftTemps(p: Pending): boolean {
  const { temps, uncertain, ...rest } = p;
  const all = Object.values(temps);
  return (
    uncertain.length === 0 &&
    all.length > 0 &&
    all.every((t) => t.left !== undefined) &&
    Object.values(rest).every((v) => v === undefined || (Array.isArray(v) && v.length === 0))
  );
}

/** A permission mode as `SITE CHMOD` takes it: three or four octal digits. */
export const OCTAL_MODE = /^[0-7]{3,4}$/;

export interface Modes {
  file?: string;
  dir?: string;
}

/**
 * An empty record of files by path, with no prototype: a file named `__proto__` is recorded like any other
 * (on a plain object that name sets the prototype, and the state never listed it), and one named
 * `constructor` or `toString` is not taken for a deployed file.
 */
export function fileRecord(from: Record<string, StateFile> = {}): Record<string, StateFile> {
  return Object.assign(Object.create(null) as Record<string, StateFile>, from);
}

export function emptyState(settings: string): DeployState {
  return {
    version: 1,
    generator: 'ftpship',
    settings,
    updatedAt: new Date(0).toISOString(),
    files: fileRecord(),
    dirs: [],
  };
}

export function settingsHash(parts: { exclude: string[]; keep: string[] }): string {
  return crypto.createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Parses state text. Reads ftpship's format and FTP-Deploy-Action's `.ftp-deploy-sync-state.json`
 * (`{data: [{type: 'file'|'folder', name, size, hash}]}`), so a site switching tools is not re-uploaded.
 */
export function parseState(
  text: string,
  where: string,
  settings: string,
  encoding: FtpEncoding = 'utf8',
  /** Called when the state recorded names in the other encoding, and some of them are not ASCII. */
  onSwitch?: () => void,
  /** `where` is FTP-Deploy-Action's own state file (read while ftpship's is missing): errors name it so. */
  theirs = false,
): DeployState {
  if (!theirs) return inEncoding(parseAny(text, where, settings), encoding, onSwitch);
  try {
    return inEncoding(parseAny(text, where, settings), encoding, onSwitch);
  } catch (err) {
    if (!(err instanceof UnreadableState)) throw err;
    throw new DeployError(
      `FTP-Deploy-Action's state file ${where} is unreadable: ${err.reason}. Nothing was changed. ftpship reads ` +
        `that file while its own state is missing, to know what that tool deployed. Delete it (the next deploy ` +
        `then sends every file once, as FTP-Deploy-Action would, and deletes nothing there; with --adopt, the ` +
        `files already there with the same content are kept), or rerun with --reset-state.`,
    );
  }
}

/** The error of a state file that was read but does not read as a state (not JSON, a bad entry…). */
export function isDamagedState(err: unknown): boolean {
  return err instanceof UnreadableState;
}

/** A state file that does not read as one; `reason` says why (for a message naming whose file it is). */
class UnreadableState extends DeployError {
  constructor(
    message: string,
    readonly reason: string,
  ) {
    super(message);
  }
}

function parseAny(text: string, where: string, settings: string): DeployState {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    // Not a damaged state, most often, but --state naming a page of the site: re-seeding would replace it.
    throw new UnreadableState(
      `the state file ${where} is not JSON (${(err as Error).message}), so ftpship did not write it. Nothing was ` +
        `changed. If it is a file of the site, give --state another path; if it is a damaged state, delete it or ` +
        `rerun with --reset-state (ftpship then treats the server as empty and uploads every file once; with --adopt too, the files already there with the same content are kept).`,
      `not JSON (${(err as Error).message})`,
    );
  }
  if (isObject(raw) && raw.generator === 'ftpship') return checkOwn(raw, where);
  if (isObject(raw) && Array.isArray(raw.data)) return fromFtpDeployAction(raw.data, where, settings);
  throw corrupt(where, 'neither an ftpship nor an FTP-Deploy-Action state');
}

function checkOwn(raw: Record<string, unknown>, where: string): DeployState {
  if (typeof raw.version === 'number' && raw.version > 1) {
    throw new DeployError(
      `the state file ${where} was written by a newer ftpship (state version ${raw.version}); nothing was changed. ` +
        `Upgrade ftpship to deploy to this target.`,
    );
  }
  if (raw.version !== 1) throw corrupt(where, `unknown version ${JSON.stringify(raw.version)}`);
  if (raw.encoding !== undefined && raw.encoding !== 'latin1') throw corrupt(where, 'bad encoding');
  if (typeof raw.settings !== 'string' || typeof raw.updatedAt !== 'string')
    throw corrupt(where, 'bad settings or updatedAt');
  if (!isObject(raw.files) || !Array.isArray(raw.dirs)) throw corrupt(where, 'missing files or dirs');
  // Every path here is deleted, replaced or removed by some run: one that leaves the target (`..`, a leading
  // slash) or is not a path at all would make a doctored or damaged state reach outside it (G3).
  for (const [p, f] of Object.entries(raw.files)) {
    checkPath(p, where);
    if (!isObject(f) || !isSize(f.size) || typeof f.sha256 !== 'string' || !HEX64.test(f.sha256)) {
      throw corrupt(where, `bad entry for ${JSON.stringify(p)}`);
    }
  }
  for (const d of raw.dirs) checkPath(d, where);
  const state = raw as unknown as DeployState;
  Object.setPrototypeOf(state.files, null); // as fileRecord() makes them (in place: a large state is not copied)
  if (state.target !== undefined && typeof state.target !== 'string') throw corrupt(where, 'bad target');
  const modes: unknown = state.modes;
  if (
    modes !== undefined &&
    (!isObject(modes) || Object.values(modes).some((m) => typeof m !== 'string' || !OCTAL_MODE.test(m)))
  ) {
    throw corrupt(where, 'bad modes section');
  }
  if (state.pending !== undefined) checkPending(state.pending as unknown, where);
  checkShape(state.files, state.dirs, where, state.pending?.dirs);
  // Names sent as latin1 hold no character above U+00FF: one here was not sent by ftpship, and reading it
  // would fail later, at its first command, with a message about the connection rather than this file.
  if (state.encoding === 'latin1') {
    const wide = pathsOf(state).find((p) => /[^\x00-\xFF]/.test(p)); // eslint-disable-line no-control-regex
    if (wide !== undefined)
      throw corrupt(
        where,
        `${JSON.stringify(wide)} has a character encoding 'latin1' (which it records) cannot hold`,
      );
  }
  const fda: unknown = state.ftpDeployAction;
  if (
    fda !== undefined &&
    (!isObject(fda) ||
      typeof fda.sha256 !== 'string' ||
      !/^[0-9a-f]{16}$/.test(fda.sha256) ||
      !['undefined', 'string'].includes(typeof fda.stamp))
  )
    throw corrupt(where, 'bad ftpDeployAction section');
  return state;
}

/** Every path a state names (files, folders, target, pending work). */
function pathsOf(state: DeployState): string[] {
  const p = state.pending;
  return [
    ...Object.keys(state.files),
    ...state.dirs,
    ...(state.target !== undefined ? [state.target] : []),
    ...(p
      ? [
          ...p.uncertain,
          ...(p.dirs ?? []),
          ...(p.markerDirs ?? []),
          ...(p.probes ?? []),
          ...(p.maintenance !== undefined ? [p.maintenance] : []),
          ...Object.entries(p.temps).flatMap(([name, t]) => [name, t.path]),
        ]
      : []),
  ];
}

function checkPending(pending: unknown, where: string): void {
  if (
    !isObject(pending) ||
    !isObject(pending.temps) ||
    !Array.isArray(pending.uncertain) ||
    !['undefined', 'string'].includes(typeof pending.maintenance) ||
    (pending.dirs !== undefined && !Array.isArray(pending.dirs)) ||
    (pending.markerDirs !== undefined && !Array.isArray(pending.markerDirs)) ||
    (pending.probes !== undefined && !Array.isArray(pending.probes))
  ) {
    throw corrupt(where, 'bad pending section');
  }
  for (const p of pending.uncertain) checkPath(p, where);
  for (const d of (pending.dirs as unknown[] | undefined) ?? []) checkPath(d, where);
  for (const d of (pending.markerDirs as unknown[] | undefined) ?? []) checkPath(d, where);
  if (pending.maintenance !== undefined) checkPath(pending.maintenance, where);
  // Removed by the rerun: only a name ftpship gives its name tests.
  for (const p of (pending.probes as unknown[] | undefined) ?? []) {
    checkPath(p, where);
    if (!PROBE_NAME.test((p as string).slice((p as string).lastIndexOf('/') + 1)))
      throw corrupt(where, `bad name test entry ${JSON.stringify(p)}`);
  }
  for (const [name, t] of Object.entries(pending.temps)) {
    // A temp is removed when no upload reuses it: only a name ftpship gives its temps, beside the file.
    checkPath(name, where);
    if (
      !isObject(t) ||
      typeof t.path !== 'string' ||
      !isRecordablePath(t.path) ||
      !isSize(t.size) ||
      typeof t.sha256 !== 'string' ||
      (t.sha256 !== '' && !HEX64.test(t.sha256)) ||
      !['undefined', 'string'].includes(typeof t.left) ||
      !['undefined', 'string'].includes(typeof t.stamp) ||
      !['undefined', 'boolean'].includes(typeof t.committing) ||
      !TEMP_NAME.test(name.slice(name.lastIndexOf('/') + 1)) ||
      parentOf(name) !== parentOf(t.path)
    ) {
      throw corrupt(where, `bad temporary file entry ${JSON.stringify(name)}`);
    }
  }
}

/** The last segment of a temp's path, as tempPathFor names it (with a dot, or without for a dotless state). */
export const TEMP_NAME = /^\.?ftpship-[0-9a-f]{20}\.tmp$/;

function checkPath(p: unknown, where: string): void {
  if (typeof p !== 'string' || !isRecordablePath(p)) {
    throw corrupt(where, `${JSON.stringify(p)} is not a path inside the target`);
  }
}

/** A file size as recorded: a whole number of bytes, or -1 (unknown: imported from FTP-Deploy-Action). */
function isSize(n: unknown): boolean {
  return Number.isSafeInteger(n) && (n as number) >= -1;
}

function fromFtpDeployAction(data: unknown[], where: string, settings: string): DeployState {
  const state = emptyState(settings);
  for (const rec of data) {
    if (!isObject(rec) || typeof rec.name !== 'string') throw corrupt(where, 'bad record in data');
    const name = rec.name.replace(/^\.?\//, '').replace(/\/+$/, '');
    if (name === '') continue; // the target itself
    // Its own file: that tool sends a copy of its state left in its local folder (a run cut after writing it
    // there, a copy committed) as a file of the site, and lists it. Not a file of the site: taken as one, a
    // deploy without that local copy deleted that tool's state (which ftpship reads, and leaves).
    if (name === baseName(where)) continue;
    checkPath(name, where);
    if (rec.type === 'folder') state.dirs.push(name);
    else if (rec.type === 'file' && typeof rec.hash === 'string' && HEX64.test(rec.hash)) {
      // A size that is not a whole number of bytes (negative, fractional, 1e400 read as Infinity, which the
      // state would write as null and then refuse) is unknown, as a missing one is: the file is hashed.
      state.files[name] = {
        size: isSize(rec.size) ? (rec.size as number) : -1,
        sha256: rec.hash,
      };
    }
  }
  checkShape(state.files, state.dirs, where);
  return state;
}

/**
 * The state with its paths as this run's `encoding` names the same files: a path recorded under the other
 * encoding stands for the bytes it was sent as, and those bytes read in this one are another name (`café.html`
 * sent as UTF-8 is `cafÃ©.html` in latin1; sent as latin1, it is `caf\uDCE9.html` in UTF-8, its byte 0xE9
 * kept as in Python's surrogateescape). So a deploy switching encoding sees the files it sent before under
 * their old bytes as orphans (deleted, unless kept) and its non-ASCII names as new; ASCII names are the same.
 */
export function inEncoding(state: DeployState, encoding: FtpEncoding, onSwitch?: () => void): DeployState {
  const from: FtpEncoding = state.encoding ?? 'utf8';
  if (encoding === 'latin1') state.encoding = 'latin1';
  else delete state.encoding;
  if (from === encoding) return state;
  const ascii = /^[\x00-\x7F]*$/; // eslint-disable-line no-control-regex
  let switched = false;
  const t = (p: string): string => {
    if (ascii.test(p)) return p;
    switched = true;
    return decodeText(encodeText(p, from), encoding);
  };
  const files = fileRecord();
  for (const [p, f] of Object.entries(state.files)) files[t(p)] = f;
  state.files = files;
  state.dirs = state.dirs.map(t);
  if (state.target !== undefined) state.target = t(state.target);
  const pending = state.pending;
  if (pending) {
    pending.uncertain = pending.uncertain.map(t);
    if (pending.dirs) pending.dirs = pending.dirs.map(t);
    if (pending.markerDirs) pending.markerDirs = pending.markerDirs.map(t);
    if (pending.maintenance !== undefined) pending.maintenance = t(pending.maintenance);
    if (pending.probes) pending.probes = pending.probes.map(t);
    const temps: Record<string, PendingTemp> = {};
    for (const [name, temp] of Object.entries(pending.temps))
      temps[t(name)] = { ...temp, path: t(temp.path) };
    pending.temps = temps;
  }
  if (switched) onSwitch?.();
  return state;
}

export function serializeState(state: DeployState): string {
  return `${JSON.stringify({ ...state, updatedAt: new Date().toISOString() }, null, 1)}\n`;
}

/**
 * No path is both a file and a folder, and nothing is inside a file. ftpship never records either (a path
 * leaves `files` before its folder is made, and `dirs` before a file is renamed in): read, such a state made
 * the deploy delete the orphans, then fail at the file's DELE aimed at the folder. The folders a cut run was
 * making (`pendingDirs`) too, which a folder leaves as it is removed, before a file is renamed in: read, the
 * deploy sent an RMD at the file, which ftp-srv's RMD deletes (the state still listing it). And
 * FTP-Deploy-Action's state, which that tool never writes so: read, the deploy failed part way (its MKD met
 * the file), leaving a temp and a state of ftpship's with the same fault.
 */
function checkShape(
  files: Record<string, StateFile>,
  dirs: string[],
  where: string,
  pendingDirs: string[] = [],
): void {
  const fileSet = new Set(Object.keys(files));
  for (const d of dirs)
    if (fileSet.has(d)) throw corrupt(where, `${JSON.stringify(d)} is listed both as a file and as a folder`);
  for (const d of pendingDirs)
    if (fileSet.has(d))
      throw corrupt(
        where,
        `${JSON.stringify(d)} is listed both as a file and as a folder a cut run was making (pending dirs)`,
      );
  for (const p of [...fileSet, ...dirs, ...pendingDirs]) {
    for (let a = parentOf(p); a !== ''; a = parentOf(a)) {
      if (fileSet.has(a))
        throw corrupt(
          where,
          `${JSON.stringify(p)} is listed inside ${JSON.stringify(a)}, which is listed as a file`,
        );
    }
  }
}

function corrupt(where: string, why: string): DeployError {
  return new UnreadableState(
    `the state file ${where} is unreadable: ${why}. Nothing was changed. Fix or delete it, or rerun with ` +
      `--reset-state to re-seed it (ftpship then treats the server as empty and uploads every file once; with --adopt too, the files already there with the same content are kept).`,
    why,
  );
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
