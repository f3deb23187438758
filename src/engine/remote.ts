/** Deploy-level remote operations over one client: folders, uploads with resume, renames, deletes, state I/O. */
import fs from 'node:fs';
import { FtpClient, FtpReplyError, type FileSource, type FtpReply, type ListEntry } from '../ftp/index.js';
import { cappedSink } from '../ftp/sink.js';
import { forEachLimit, type ConnectionPool } from './pool.js';
import { excludeOption, nameTooLong, remoteJoin } from './paths.js';
import { DeployError } from './errors.js';
import { changedFile, stampOf, vanishedFile, type LocalFile } from './select.js';

/** Remote quirks learned during a run, shared by every connection. */
export interface ServerQuirks {
  /** REST/APPE refused (proftpd's default): resumes become full uploads. */
  noResume?: boolean;
  /** RNTO over an existing file refused (IIS, some others): delete first. */
  deleteBeforeRename?: boolean;
  /** Why RNTO over a file was refused, until a site file's replacement has warned of the fallback (once). */
  renameOverRefused?: string;
  /** STOR over an existing file refused (proftpd AllowOverwrite off): --no-atomic deletes first (warned once). */
  deleteBeforeOverwrite?: boolean;
  /** --no-atomic: where the server allows no rename at all, ftpship's own files (state, marker) go in place. */
  inPlace?: boolean;
  /** RNFR refused even for a file just written (proftpd <Limit RNFR RNTO> DenyAll): found with `inPlace`. */
  noRename?: boolean;
  /** Absolute folders seen to exist during this run (saves repeated CWD checks). */
  knownDirs?: Set<string>;
}

export type Warn = (message: string) => void;

/**
 * Creates one folder whose parent exists. MKD of an existing folder is fine (real servers answer 550).
 * True when this MKD made it (the server said so), false when it was there.
 */
export async function makeDir(client: FtpClient, abs: string): Promise<boolean> {
  try {
    await client.mkd(abs);
    return true;
  } catch (err) {
    if (!(err instanceof FtpReplyError) || err.code < 500) throw err;
    if (await dirExists(client, abs)) return false;
    throw await folderRefused(client, abs, `${err.code} ${err.serverMessage}`, err);
  }
}

/**
 * Creates a folder and any missing parents (mkdir -p). `known` remembers folders seen to exist this run;
 * `made` hears of each folder this call made.
 */
export async function makeDirs(
  client: FtpClient,
  abs: string,
  known?: Set<string>,
  made?: (abs: string) => void,
): Promise<void> {
  if (abs === '/' || known?.has(abs)) return;
  if (!(await dirExists(client, abs))) {
    const parts = abs.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const dir = `/${parts.slice(0, i).join('/')}`;
      if (await makeDir(client, dir)) made?.(dir);
    }
  }
  known?.add(abs);
}

export async function dirExists(client: FtpClient, abs: string): Promise<boolean> {
  try {
    await client.cwd(abs);
    return true;
  } catch (err) {
    if (err instanceof FtpReplyError) return false;
    throw err;
  }
}

/** pure-ftpd stops a listing at 10 000 entries (its -L default): a name missing from a longer one may be there. */
const LISTING_MAY_BE_CUT = 10_000;

/**
 * Does the listing of its folder show `abs` under that exact name, as a `type`? Undefined when it cannot
 * tell: the folder cannot be listed, or its listing is long enough to have been cut short.
 */
export async function listedAs(
  client: FtpClient,
  abs: string,
  type: 'file' | 'dir',
): Promise<boolean | undefined> {
  const entry = await listedEntry(client, abs, type);
  return entry === undefined ? undefined : entry !== null;
}

/** The entry of `abs` of that type in its folder's listing; null if it is not there, undefined if that cannot tell. */
async function listedEntry(
  client: FtpClient,
  abs: string,
  type: 'file' | 'dir',
): Promise<ListEntry | null | undefined> {
  const slash = abs.lastIndexOf('/');
  const name = abs.slice(slash + 1);
  let entries: ListEntry[];
  try {
    entries = await client.list(slash <= 0 ? '/' : abs.slice(0, slash));
  } catch (err) {
    if (err instanceof FtpReplyError && !isDataChannelRefusal(err)) return undefined;
    throw err;
  }
  const found = entries.find((e) => e.name === name && (e.type === type || e.type === 'link'));
  if (found) return found;
  return entries.length >= LISTING_MAY_BE_CUT ? undefined : null;
}

/**
 * Is a file at `abs`? SIZE says; a server that offers no SIZE (500, 502: some hosting servers) gets the listing
 * of its folder instead. Undefined when that cannot tell either.
 */
export async function fileThere(client: FtpClient, abs: string): Promise<boolean | undefined> {
  try {
    await client.size(abs);
    return true;
  } catch (err) {
    if (!(err instanceof FtpReplyError) || err.code < 500) throw err;
    return err.code === 500 || err.code === 502 ? listedAs(client, abs, 'file') : false;
  }
}

/**
 * Size of a remote file, or -1 when it is not there. A server that offers no SIZE (500, 502: some hosting
 * servers) gets the size its folder's listing shows: its refusal says nothing of the file. Still -1 when
 * that listing cannot tell either.
 */
export async function remoteSize(client: FtpClient, abs: string): Promise<number> {
  try {
    return await client.size(abs);
  } catch (err) {
    if (!(err instanceof FtpReplyError) || err.code < 500) throw err;
    if (err.code !== 500 && err.code !== 502) return -1;
    const entry = await listedEntry(client, abs, 'file');
    return entry ? entry.size : -1;
  }
}

/**
 * A local file's bytes from `offset` on: the caller's Buffer (gulp), or the file itself, read while sending.
 * A file that changed since it was hashed is refused: its bytes would not match the hash the state records.
 */
export async function readSource(file: LocalFile, offset: number): Promise<Buffer | FileSource> {
  if (file.contents) return file.contents.subarray(offset);
  if (!file.abs) throw new Error(`no source for ${file.path}`);
  let fd: number;
  try {
    fd = fs.openSync(file.abs, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw vanishedFile(file.abs, err);
    throw new DeployError(
      `cannot read local file ${file.abs}: ${(err as Error).message}; check it and rerun`,
      { cause: err },
    );
  }
  if (file.stamp !== undefined && stampOf(fs.fstatSync(fd)) !== file.stamp) {
    fs.closeSync(fd);
    throw changedFile(file.abs);
  }
  return { path: file.abs, fd, start: offset };
}

/**
 * Closes what {@link readSource} opened; with `check`, refuses a file whose stamp moved while it was being
 * sent (the server got a mix of two versions: the state must not call it either).
 */
function release(source: Buffer | FileSource, file: LocalFile, check: boolean): void {
  if (Buffer.isBuffer(source) || source.fd === undefined) return;
  const moved = check && file.stamp !== undefined && stampOf(fs.fstatSync(source.fd)) !== file.stamp;
  fs.closeSync(source.fd);
  if (moved) throw changedFile(source.path);
}

/**
 * A temp that a resumed upload could not write to in time: another server session still holds it open (vsftpd
 * locks a file while a session uploads to it, and a session whose client was cut off without the server
 * hearing of it holds it until its own timeout, minutes). The connection was closed; the caller sends the
 * file whole under a new temp name (the old one removed: ftpship's own file, never a live one).
 */
export class TempHeldError extends DeployError {
  override name = 'TempHeldError';
  constructor(
    readonly path: string,
    ms: number,
  ) {
    super(
      `the server did not start the resumed upload to ${path} within ${ms} ms: another session (of a deploy cut off earlier) most likely still holds that temporary file open`,
    );
  }
}

/**
 * A temp an upload expected to resume (an earlier run, or an earlier attempt of this one, wrote to it) is not on
 * the server. It may be held by another server session still: pure-ftpd moves a file it resumes (REST+STOR) to
 * `.pureftpd-upload.*` and moves it back, whatever that session got, when the session ends, even one cut off by
 * the network minutes before. Sent again under the same name, the file would be replaced by that part then,
 * before or after its rename: the caller sends it whole under a new name, the old one recorded for removal.
 */
export class TempGoneError extends DeployError {
  override name = 'TempGoneError';
  constructor(readonly path: string) {
    super(`the temporary file ${path} to resume is not on the server`);
  }
}

/**
 * Uploads a file to `abs`. With `resume`, a partial file already at `abs` (known to hold a prefix of this
 * content: a temp name derived from the content hash) is continued with REST+STOR from the server's size;
 * if the server does not start that within `heldMs`, a {@link TempHeldError}; with `renameGone` too, a temp
 * not there is a {@link TempGoneError} (nothing sent). `inPlace`: `abs` is a live file this upload replaces
 * (--no-atomic). Returns the bytes sent.
 */
export async function uploadFile(
  client: FtpClient,
  abs: string,
  file: LocalFile,
  opts: {
    resume: boolean;
    renameGone?: boolean;
    heldMs?: number;
    inPlace?: boolean;
    quirks: ServerQuirks;
    warn: Warn;
    onBytes: (n: number) => void;
  },
): Promise<number> {
  let offset = 0;
  let have = -1;
  if (opts.resume) {
    have = await remoteSize(client, abs);
    if (have === file.size) return 0;
    if (have < 0 && opts.renameGone && !opts.inPlace) throw new TempGoneError(abs);
    if (have > 0 && have < file.size && !opts.quirks.noResume) offset = have;
    // An empty temp, nothing to resume: removed, so the STOR makes a new file. A killed run whose STOR went out
    // before its data connection leaves a server session waiting for that connection with the file open
    // (vsftpd locks it, lock_upload_files): a STOR over it would wait for that session to give up (a minute).
    if (have === 0 && !opts.inPlace)
      await client.delete(abs).catch((err: unknown) => {
        if (!(err instanceof FtpReplyError)) throw err;
      });
  }
  let last = 0;
  const onProgress = ({ bytes }: { bytes: number }): void => {
    opts.onBytes(bytes - last);
    last = bytes;
  };
  try {
    return offset > 0 && !opts.inPlace && opts.heldMs !== undefined
      ? await sendBounded(client, abs, file, offset, onProgress, opts.heldMs)
      : await sendFrom(client, abs, file, offset, onProgress);
  } catch (err) {
    if (!(err instanceof FtpReplyError) || client.closed) throw err;
    // A file the server will not write over (proftpd AllowOverwrite off: 550 "Overwrite permission denied",
    // to STOR and REST + STOR alike): what a cut run left of a temp (ftpship's own file: a part, an empty
    // one cut before its first byte, or one --upload-only never recorded; no rerun could get past it: G1),
    // or, with `inPlace`, the live file a --no-atomic deploy replaces (missing until it is sent again: in
    // place, a visitor may meet a torn file anyway).
    const refused = err.code === 550 || err.code === 553;
    if (refused && (have >= 0 || (await remoteSize(client, abs)) >= 0)) {
      await client.delete(abs);
      last = 0;
      const sent = await sendFrom(client, abs, file, 0, onProgress);
      // Only now is it known that the file there was what stood in the way: a server short of disk (IIS,
      // ftp-srv) leaves part of a file it fails to write, and the second try fails like the first.
      if (opts.inPlace && !opts.quirks.deleteBeforeOverwrite)
        opts.warn(
          `the server refused to write over an existing file (${err.message}); ` +
            `${opts.quirks.inPlace ? '--no-atomic: each replaced file' : 'each file written under its own name'} is deleted, then sent`,
        );
      if (opts.inPlace) opts.quirks.deleteBeforeOverwrite = true;
      return sent;
    }
    if (offset === 0) throw err;
    // REST or the STOR after it refused (proftpd without AllowStoreRestart: 451): send the whole file.
    if (!opts.quirks.noResume)
      opts.warn(`the server refused to resume (${err.message}); uploading whole files instead`);
    opts.quirks.noResume = true;
    last = 0;
    return sendFrom(client, abs, file, 0, onProgress);
  }
}

/**
 * {@link sendFrom} of a resumed temp, given `ms` for the server to start taking bytes: vsftpd answers the
 * STOR of a file another session holds open only once that session lets go (its lock). Past `ms` the
 * connection is closed (the STOR is pending on it) and a {@link TempHeldError} thrown.
 */
async function sendBounded(
  client: FtpClient,
  abs: string,
  file: LocalFile,
  offset: number,
  onProgress: (p: { bytes: number }) => void,
  ms: number,
): Promise<number> {
  let moving = false;
  let held = false;
  const timer = setTimeout(() => {
    if (moving) return;
    held = true;
    client.close();
  }, ms);
  try {
    return await sendFrom(client, abs, file, offset, (p) => {
      moving = true;
      onProgress(p);
    });
  } catch (err) {
    throw held ? new TempHeldError(abs, ms) : err;
  } finally {
    clearTimeout(timer);
  }
}

async function sendFrom(
  client: FtpClient,
  abs: string,
  file: LocalFile,
  offset: number,
  onProgress: (p: { bytes: number }) => void,
): Promise<number> {
  const source = await readSource(file, offset);
  let sent: number;
  try {
    sent = await client.upload(abs, source, { offset, onProgress });
  } catch (err) {
    release(source, file, false);
    throw err;
  }
  release(source, file, true);
  return sent;
}

/** Renames `from` over `to`; where the server refuses to replace a file, deletes `to` first (warns once). */
export async function renameOver(
  client: FtpClient,
  from: string,
  to: string,
  quirks: ServerQuirks,
  warn: Warn,
  /**
   * One of ftpship's own files (the state): its delete + rename fallback is not worth a warning (nothing of
   * the site is missing for a moment); the first site file replaced that way warns.
   */
  own = false,
): Promise<void> {
  const fallback = (): void => {
    if (own || quirks.renameOverRefused === undefined) return;
    warn(
      `the server refused to rename over an existing file (${quirks.renameOverRefused}); falling back to delete + rename, so each replaced file is missing for a moment`,
    );
    quirks.renameOverRefused = undefined;
  };
  if (quirks.deleteBeforeRename) {
    await deleteThenRename(client, from, to);
    return fallback();
  }
  try {
    await client.rename(from, to);
    return;
  } catch (err) {
    if (!(err instanceof FtpReplyError) || err.code < 450) throw err;
    // Only a refused RNTO says the server will not rename over a file. A refused RNFR says the temp is not
    // there (renamed already, by a batch that is being retried): deleting the target would lose the file.
    if (!err.command.startsWith('RNTO ')) throw err;
    // 553 is "file name not allowed" (pure-ftpd -X to a name starting with a dot): the name, not the file
    // there, is refused; deleting first would not help, and would weaken every later commit of the run.
    // (FileZilla Server's "553 file exists" is a refusal to overwrite.)
    if (err.code === 553 && !/exist/i.test(err.serverMessage)) throw err;
    if ((await fileThere(client, to)) === false || !(await mayBeThere(client, from))) throw err;
    // The file there refused deletion too: it is not the user's to replace (another owner in a sticky
    // folder, a read-only folder), not a server that cannot rename over files; say so, and fall back to nothing.
    await deleteFile(client, to).catch((del: unknown) => {
      if (!(del instanceof FtpReplyError) || del.code < 500) throw del;
      throw notReplaceable(to, err, del);
    });
    quirks.renameOverRefused = err.message;
    quirks.deleteBeforeRename = true;
    await client.rename(from, to);
    return fallback();
  }
  await deleteThenRename(client, from, to);
}

const flat = (m: string): string => m.trim().replace(/\s*\r?\n\s*/g, ' / ');

/** A live file the server will neither rename over nor delete: a permission matter for the user to fix. */
function notReplaceable(abs: string, rnto: FtpReplyError, dele: FtpReplyError): DeployError {
  const folder = abs.slice(0, abs.lastIndexOf('/')) || '/';
  return new DeployError(
    `cannot replace ${abs} on the server: it refused both to rename the new copy over it (${rnto.code} ${flat(rnto.serverMessage)}) ` +
      `and to delete it (${dele.code} ${flat(dele.serverMessage)}). The file there is not the FTP user's to replace ` +
      `(another owner, or a folder that is read-only or sticky for the user): check the permissions of ${abs} and of ` +
      `the folder ${folder} (the host's file manager, or ask the host), then run the deploy again; it finishes the change`,
    { cause: dele },
  );
}

/** Delete + rename, for servers that refuse RNTO over a file: the target goes only if the temp is there. */
async function deleteThenRename(client: FtpClient, from: string, to: string): Promise<void> {
  if (!(await mayBeThere(client, from)))
    throw new FtpReplyError(550, `${from} is not there (nothing to rename)`, `RNFR ${from}`);
  await deleteFile(client, to);
  await client.rename(from, to);
}

/** False only when SIZE says the file is not there (a server without SIZE cannot say: true). */
async function mayBeThere(client: FtpClient, abs: string): Promise<boolean> {
  try {
    await client.size(abs);
    return true;
  } catch (err) {
    if (err instanceof FtpReplyError && err.code === 550) return false;
    if (err instanceof FtpReplyError && err.code >= 500) return true;
    throw err;
  }
}

/** Deletes a file if the server lets it: true if it did, false if it refused (the file not there, or kept). */
export async function removedFile(client: FtpClient, abs: string): Promise<boolean> {
  try {
    await client.delete(abs);
    return true;
  } catch (err) {
    if (!(err instanceof FtpReplyError)) throw err;
    return false;
  }
}

/** Deletes a file; one that is already gone counts as deleted. */
export async function deleteFile(client: FtpClient, abs: string): Promise<void> {
  try {
    await client.delete(abs);
  } catch (err) {
    if (!(err instanceof FtpReplyError) || err.code < 500) throw err;
    // Gone only when SIZE (or, without SIZE, the folder's listing) says so: a refusal is not a delete.
    if ((await fileThere(client, abs)) !== false) throw err;
  }
}

/** Why a folder could not be made: a file of that name is there, or the server said no (permissions, a bad path). */
export async function folderRefused(
  client: FtpClient,
  abs: string,
  reply: string,
  cause?: unknown,
  local?: string,
): Promise<DeployError> {
  const isFile = (await remoteSize(client, abs)) >= 0;
  // A file in the way of a folder of the local tree: one ftpship did not deploy (its own are swapped for the
  // folder), so it stays (G3); the deploy target is right, the advice is about that file.
  if (local && isFile)
    return new DeployError(
      `cannot create folder ${abs} on the server for the local folder ${JSON.stringify(local)}: a file of that name is there (${reply}), which ftpship did not deploy (it deletes only files it deployed). Remove or rename that file on the server, or deploy without the local folder: leave it out with ${excludeOption(local)}`,
      { cause },
    );
  if (isFile) return fileAtTarget(abs, ` (${reply})`, cause);
  // A folder of the local tree may have a name the server will not take (proftpd refuses `*` in MKD, and a
  // file system a name over 255 bytes, which vsftpd answers with only "Create directory operation failed.").
  const long = local ? nameTooLong(local) : '';
  const name = local
    ? `${long && ` ${long[0].toUpperCase()}${long.slice(1)}.`} If the server refuses the name itself, rename the local folder ${JSON.stringify(local)} or leave it out with ${excludeOption(local)}.`
    : '';
  return new DeployError(
    `cannot create folder ${abs} on the server: ${reply.replace(/\.+$/, '')}. Check that the user may write there and that the folder deployed to is right (CLI: the URL's path; Action: server-dir; library and gulp: remoteDir).${name}`,
    { cause },
  );
}

/** A file ftpship reads (the state) is over its size limit: no passing failure, never retried. */
export function tooLargeError(abs: string, max: number): DeployError {
  return new DeployError(
    `${abs} is larger than ${max} bytes: not a file ftpship wrote there; check the path (--state), or remove it and rerun with --reset-state`,
  );
}

/** Downloads a small remote file into memory; undefined when it does not exist (550). */
export async function readRemoteFile(
  client: FtpClient,
  abs: string,
  max = 256 * 1024 * 1024,
  onRefused?: (err: FtpReplyError) => void,
  /** Commands run first, in the same write with pipelining (see FtpClient.download). */
  before?: { commands: string[]; replies: (r: FtpReply[]) => void },
): Promise<Buffer | undefined> {
  const { sink, bytes } = cappedSink(max, () => tooLargeError(abs, max));
  try {
    // A refusal is "missing" here: no look at the path (the first deploy on vsftpd would pay round trips for it).
    await client.download(abs, sink, { ...(before ? { before } : {}), explain: false });
  } catch (err) {
    if (err instanceof FtpReplyError && err.code >= 500 && !isDataChannelRefusal(err)) {
      onRefused?.(err);
      return undefined;
    }
    throw err;
  }
  return bytes();
}

/**
 * Like {@link readRemoteFile}, but tells "missing" from "there but refused" (see {@link filesExist}); when
 * the file is there, `unreadable` builds the error thrown. Undefined only when the file is absent.
 */
export async function readRemoteFileIfPresent(
  client: FtpClient,
  abs: string,
  unreadable: (reason: string) => Error,
  max?: number,
): Promise<Buffer | undefined> {
  let refusal: FtpReplyError | undefined;
  const data = await readRemoteFile(client, abs, max, (err) => (refusal = err));
  if (data || !refusal) return data;
  if ((await filesExist(client, [abs]))[0]) throw unreadable(refusalReason(refusal));
  return undefined;
}

/**
 * A refusal of the data connection's set-up (EPSV, PASV, EPRT, PORT), not of the file or folder it was for: it
 * says nothing about the path (a server that allows no active mode, or refuses the address announced), and
 * every transfer gets it. Taken for "not there", it became "the state file exists but cannot be read … rerun
 * with --reset-state", or a folder that cannot be listed.
 */
export function isDataChannelRefusal(err: unknown): err is FtpReplyError {
  return err instanceof FtpReplyError && /^(EPSV|PASV|EPRT|PORT)\b/.test(err.command);
}

/** A refusal in a few words for an error message: code and first line. */
export function refusalReason(err: FtpReplyError): string {
  return `${err.code} ${err.serverMessage.split('\n')[0]}`;
}

/**
 * Which of `paths` exist, for files a RETR refused (a 5xx to RETR says neither "missing" nor "refused"):
 * SIZE of each, pipelined in one write; for those SIZE did not find, one listing per parent folder (a
 * folder that cannot be listed is taken as absent, and its files with it).
 */
export async function filesExist(
  client: FtpClient,
  paths: string[],
  /** Filled with each folder listed on the way (undefined: it could not be listed), for the caller's use. */
  listings = new Map<string, Promise<Set<string> | undefined>>(),
  /** Filled with the size of each file the server gave one for. */
  sizeOf?: Map<string, number>,
): Promise<boolean[]> {
  const sizes = await client.pipeline(paths.map((p) => `SIZE ${p}`));
  const found = sizes.map((reply) => reply.code === 213);
  for (const [i, reply] of sizes.entries()) {
    const n = reply.code === 213 ? Number(reply.message.trim()) : NaN;
    if (Number.isSafeInteger(n)) sizeOf?.set(paths[i], n);
  }
  const listed = async (parent: string): Promise<Set<string> | undefined> => {
    try {
      return new Set((await client.list(parent)).map((e) => e.name));
    } catch (err) {
      if (!(err instanceof FtpReplyError) || isDataChannelRefusal(err)) throw err;
      return undefined; // the parent cannot be listed (absent): its files are too
    }
  };
  for (const [i, p] of paths.entries()) {
    if (found[i]) continue;
    const slash = p.lastIndexOf('/');
    const parent = slash <= 0 ? '/' : p.slice(0, slash);
    if (!listings.has(parent)) listings.set(parent, listed(parent));
    found[i] = (await listings.get(parent))?.has(p.slice(slash + 1)) ?? false;
  }
  return found;
}

/** Writes a small file atomically: upload to `<abs>.tmp`, then rename over `abs`. */
export async function writeRemoteFileAtomic(
  client: FtpClient,
  abs: string,
  data: Buffer,
  quirks: ServerQuirks,
  warn: Warn,
  /**
   * Commands sent in the same write as the RNFR/RNTO, after them (undefined from `commands`: none now), and
   * their replies, given whether the rename worked or not. Only the fast path takes them: without them sent,
   * `replies` is not called.
   */
  after?: { commands: () => Promise<string[] | undefined>; replies: (r: FtpReply[]) => void },
  /** One of ftpship's own files (the state): see {@link renameOver}. */
  own = false,
  /** Awaited once the bytes are on the server, right before they go in place (before the write, in place). */
  beforeRename?: () => Promise<void>,
): Promise<void> {
  if (quirks.noRename) {
    await beforeRename?.();
    return uploadOver(client, abs, data);
  }
  const tmp = `${abs}.tmp`;
  await uploadOver(client, tmp, data);
  await beforeRename?.();
  // Commands to run right after the rename, in the same write (the unlock after the final state): only where
  // a rename over the file is known to work, and pipelining is on.
  const extra = after && client.pipelining && !quirks.deleteBeforeRename ? await after.commands() : undefined;
  if (extra) {
    const [rnfr, rnto, ...rest] = await client.pipeline([`RNFR ${tmp}`, `RNTO ${abs}`, ...extra]);
    after?.replies(rest);
    if (rnfr.code !== 350) throw new FtpReplyError(rnfr.code, rnfr.message, `RNFR ${tmp}`);
    if (rnto.code >= 300) throw new FtpReplyError(rnto.code, rnto.message, `RNTO ${abs}`);
    return;
  }
  try {
    await renameOver(client, tmp, abs, quirks, warn, own);
  } catch (err) {
    // RNFR of the file just written refused: the server allows no rename at all (proftpd <Limit RNFR RNTO>
    // DenyAll: 550 "Operation not permitted"). Nothing can go live atomically there.
    if (!(err instanceof FtpReplyError) || !err.command.startsWith('RNFR ') || err.code < 500) throw err;
    await client.delete(tmp).catch(() => undefined);
    if (!quirks.inPlace)
      throw new DeployError(
        `the server refuses to rename files (${err.message}): ftpship writes changed files and its state under a temporary name, then renames them into place; ask the host to allow RNFR/RNTO, or deploy with --no-atomic (files and the state are then written in place)`,
        { cause: err },
      );
    warn(`the server refuses to rename files (${err.message}); --no-atomic: the state is written in place`);
    quirks.noRename = true;
    await uploadOver(client, abs, data);
  }
}

/** The folder deployed to (or above a folder of it) is a file on the server: the URL is likely wrong. */
export function fileAtTarget(abs: string, reply = '', cause?: unknown): DeployError {
  return new DeployError(
    `cannot create folder ${abs} on the server: a file of that name is there${reply}. Check that the folder deployed to is right (CLI: the URL's path; Action: server-dir; library and gulp: remoteDir); ftpship replaces only files it deployed itself.`,
    { cause },
  );
}

/**
 * Before the retry of a cut write of one of ftpship's own files under a fixed name (the state's temporary copy,
 * the lock's holder, the maintenance file's copy): the server may never have heard of the cut, and its session
 * of that write waits on for the rest of the data, the file open (minutes: its data timeout). vsftpd
 * (lock_upload_files, its default) locks the file all that time: a STOR of that name waits on the lock, and so
 * does a RETR. Removed, the name is a new file, and that session writes on into the one removed. Not there, or
 * refused: nothing more to do (the write says why, if it fails).
 */
export async function dropHeldUpload(client: FtpClient, path: string): Promise<void> {
  await client.delete(path).catch((err: unknown) => {
    if (!(err instanceof FtpReplyError)) throw err;
  });
}

/**
 * Writes one of ftpship's own small files (a state's temporary copy, the lock holder) where an older copy
 * may be: a server that will not write over a file (proftpd AllowOverwrite off: 550 "Overwrite permission
 * denied") gets the old copy removed first. A copy a killed run left would otherwise stop every later run.
 */
export async function uploadOver(client: FtpClient, path: string, data: Buffer): Promise<void> {
  try {
    await client.upload(path, data);
  } catch (err) {
    if (!(err instanceof FtpReplyError) || (err.code !== 550 && err.code !== 553) || client.closed) throw err;
    if ((await remoteSize(client, path)) < 0) throw err; // nothing there to remove: refused for another reason
    await client.delete(path);
    await client.upload(path, data);
  }
}

/** Files per pipelined batch of server-side hashes. */
const HASH_BATCH = 64;

/**
 * The server's own SHA-256 of each file (relative paths), where it offers one (`HASH`, `XSHA256`): pipelined
 * in batches spread over the connections. A file it refuses or answers unreadably for is left out of the map,
 * as are all when it has no such command: the caller reads those itself.
 */
export async function serverHashes(
  pool: ConnectionPool,
  root: string,
  paths: string[],
): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  if (paths.length === 0) return found;
  if (!(await pool.run('FEAT', async (c) => c.sha256Command !== undefined))) return found;
  const batches: string[][] = [];
  for (let i = 0; i < paths.length; i += HASH_BATCH) batches.push(paths.slice(i, i + HASH_BATCH));
  await forEachLimit(batches, pool.capacity, async (batch) => {
    const hashes = await pool.run(`hash ${batch.length} file(s)`, async (c) =>
      c.sha256All(batch.map((p) => remoteJoin(root, p))),
    );
    for (const [i, h] of hashes.entries()) if (typeof h === 'string') found.set(batch[i], h);
  });
  return found;
}

/**
 * Of `paths` (relative to `root`), those whose time on the server (MDTM) is later than `since` (MDTM's
 * `YYYYMMDDHHMMSS`, UTC, as the same server gave it): written after that moment. One pipelined write per
 * batch; a file the server gives no time for (missing, or MDTM not offered) is not among them.
 */
export async function newerThan(
  pool: ConnectionPool,
  root: string,
  paths: string[],
  since: string,
): Promise<string[]> {
  const newer: string[] = [];
  const batches: string[][] = [];
  for (let i = 0; i < paths.length; i += HASH_BATCH) batches.push(paths.slice(i, i + HASH_BATCH));
  await forEachLimit(batches, pool.capacity, async (batch) => {
    const replies = await pool.run(`look at the times of ${batch.length} file(s)`, async (c) =>
      c.pipeline(batch.map((p) => `MDTM ${remoteJoin(root, p)}`)),
    );
    for (const [i, r] of replies.entries()) {
      const time = r.code === 213 ? /^\d{14}/.exec(r.message.trim())?.[0] : undefined;
      if (time !== undefined && time > since.slice(0, 14)) newer.push(batch[i]);
    }
  });
  return newer.sort();
}

/**
 * A folder's entries, or undefined when the server refuses to list it (no such folder, or no right to)
 * with a reply code from 450 up on a live connection: ftp-srv answers a folder removed by hand with 451, and
 * retrying that would only wait (about 15 s with the default backoff) for the same answer. Lower codes throw.
 */
export async function listFolder(pool: ConnectionPool, abs: string): Promise<ListEntry[] | undefined> {
  return pool.run(`list ${abs}`, async (c) =>
    c.list(abs).catch((err: unknown) => {
      if (err instanceof FtpReplyError && err.code >= 450 && !c.closed && !isDataChannelRefusal(err))
        return undefined;
      throw err;
    }),
  );
}
