/**
 * The working copy of the state during a run, and its saves to the server: a checkpoint before the first
 * change, then every few seconds, then the final state. Saves are atomic (temp + rename) and never overlap.
 * G4: an entry is added only once its file is live with that content; paths in flux sit in `uncertain`.
 */
import crypto from 'node:crypto';
import type { ConnectionPool } from './pool.js';
import type { Plan, UploadItem } from './plan.js';
import {
  readRemoteFile,
  deleteFile,
  dirExists,
  dropHeldUpload,
  fileThere,
  filesExist,
  readRemoteFileIfPresent,
  refusalReason,
  remoteSize,
  tooLargeError,
  writeRemoteFileAtomic,
  makeDirs,
  type ServerQuirks,
  type Warn,
} from './remote.js';
import type { LocalFile, LocalTree } from './select.js';
import { ConfigError, DeployError, GuardError, writeFailed } from './errors.js';
import { formatBytes } from './report.js';
import { DEFAULT_STATE_NAME } from './options.js';
import {
  emptyState,
  fileRecord,
  isDamagedState,
  parseState,
  serializeState,
  type DeployState,
  type Modes,
  type PendingTemp,
} from './state.js';
import { ancestorsOf, atOrUnder, insideTarget, normalizeRemoteDir, parentOf, remoteJoin } from './paths.js';
import {
  FtpProtocolError,
  FtpReplyError,
  isTransientError,
  type FtpClient,
  type FtpReply,
} from '../ftp/index.js';
import type { LockRelease, ReadWithLock } from './lock.js';
import type { FtpEncoding } from '../ftp/encoding.js';

export interface StateStoreOptions {
  pool: ConnectionPool;
  /** Absolute remote path of the state file. */
  path: string;
  /** Absolute remote path of FTP-Deploy-Action's state, read when ftpship's is missing. */
  fdaPath?: string;
  /**
   * Where ftpship keeps its state when --state is not given, when `path` is elsewhere: read when the state
   * is missing at `path` (--state was added after a deploy), and removed once the state is written at `path`.
   */
  formerPath?: string;
  settings: string;
  quirks: ServerQuirks;
  warn: Warn;
  info?: (message: string) => void;
  /** Seconds between checkpoints. */
  intervalMs?: number;
  resetState?: boolean;
  /**
   * false (upload-only): the state lives in memory for the run and is never written; load() only makes sure
   * the server holds no ftpship state, which the run would leave out of date (G4).
   */
  persist?: boolean;
  /** The target folder (absolute): recorded in the state, and checked against a state kept outside it. */
  target?: string;
  /** How this run sends names (the `encoding` option; default 'utf8'): recorded in the state it writes. */
  encoding?: FtpEncoding;
}

export class StateStore {
  state: DeployState;
  /** Working sets, written into `state.pending` / `state.dirs` at each save. */
  private uncertain = new Set<string>();
  /** Temps the state on the server marks as committing that recoverCommits found still there (see markedCommitting). */
  private committingThere = new Set<string>();
  private dirs = new Set<string>();
  /** Folders this run (or a cut one) set out to make, not yet recorded as made or gone: `pending.dirs`. */
  private maybeDirs = new Set<string>();
  private dirMade = false;
  /** The state file's text as {@link load} read it (undefined: there was none). */
  private loadedText?: string;
  private changes = 0;
  private lastSave = Date.now();
  private saving?: Promise<void>;
  private dirty = false;
  /**
   * Where the state was read from: 'ftpship', 'ftp-deploy-action', 'moved' (the former path), 'copy' (its
   * temporary copy, the state itself missing) or 'none'.
   */
  origin: 'ftpship' | 'ftp-deploy-action' | 'moved' | 'copy' | 'none' | 'reset' = 'none';
  /** A state file this one replaces (the former path, read because --state moved it): removed after a write. */
  private superseded?: string;
  /**
   * A state read recorded names sent in the other encoding, some not ASCII: their files are under other bytes
   * now, and a file this run takes for new may be on the server under its name (put there by another tool).
   */
  encodingSwitched = false;
  private readonly switched = (): void => {
    this.encodingSwitched = true;
  };
  /** The state read differs from the file in ways a deploy must write, though its plan may be empty. */
  metaChanged = false;
  /** The state file is on the server (read at load, or written by this run). */
  private stateThere = false;
  /**
   * The state's temporary copy is on the server, left by a deploy killed while writing it: removed before
   * this run's first write. A STOR over it could wait a minute: a run killed after its STOR, before its data
   * connection, leaves a server session waiting for that connection with the file open (vsftpd locks it).
   */
  copyLeft = false;
  /**
   * The state file is not there, and the server refused its name when it was read (553 "Prohibited file
   * name": pure-ftpd -x or -X, for a name starting with a dot): a deploy would stop at the lock, named the same.
   */
  nameRefused?: FtpReplyError;
  /** A write of this run renamed the state's temp over the state file itself (no fallback needed). */
  private renamedOver = false;
  /** The unlock went out with the final state: nothing more is written. */
  private sealed = false;
  /** The final state is being written (see finish). */
  private finishing = false;
  /**
   * Run before each write of the state, on its connection, while the deploy holds the lock: throws when the
   * lock is no longer this deploy's (see LockRelease.ensureHeld), so no state goes over another deploy's.
   */
  lockGuard?: (c: FtpClient) => Promise<void>;
  /** Folders listed while looking for a missing state (names, or undefined: not listable), by absolute path. */
  readonly listed = new Map<string, Promise<Set<string> | undefined>>();

  constructor(private readonly opts: StateStoreOptions) {
    this.state = emptyState(opts.settings);
  }

  /** Reads the state from the server. Missing → empty (first deploy); unreadable → DeployError. */
  async load(): Promise<DeployState> {
    if (this.opts.persist === false) {
      await this.refuseExistingState();
      return this.state;
    }
    if (this.opts.resetState) {
      this.origin = 'reset';
      await this.refuseFolder(); // the state would be written over it, after every file went up
      return this.state;
    }
    const { path, fdaPath, formerPath } = this.opts;
    for (let attempt = 1; ; attempt++) {
      let refusal: FtpReplyError | undefined;
      const text = await this.opts.pool.run(`read state ${path}`, async (c) => {
        // Read already, with the login (see FtpConnectOptions.readAtLogin), if that was this very file.
        const at = c.takeReadAtLogin();
        const from = at && !at.path.startsWith('/') ? c.loginDir : '/';
        const first =
          at && from !== undefined && normalizeRemoteDir(at.path, from) === path ? at.read : undefined;
        if (!first) return readRemoteFile(c, path, STATE_MAX, (err) => (refusal = err));
        return first.catch((err: unknown) => {
          // Over the size limit (the client's own words, which name no way out): said at once, not retried.
          if (
            err instanceof FtpProtocolError &&
            err.message === `${at?.path} is larger than ${STATE_MAX} bytes`
          )
            throw tooLargeError(path, STATE_MAX);
          if (!(err instanceof FtpReplyError) || err.code < 500) throw err;
          refusal = err;
          return undefined;
        });
      });
      this.loadedText = text?.toString('utf8');
      this.stateThere = text !== undefined;
      if (text) {
        this.opts.quirks.knownDirs?.add(parentOf(path) || '/'); // it holds the state: it exists
        try {
          this.state = parseState(
            text.toString('utf8'),
            path,
            this.opts.settings,
            this.opts.encoding,
            this.switched,
          );
        } catch (err) {
          throw await this.backupNamed(err);
        }
        this.origin = 'ftpship';
        this.checkTarget();
        await this.checkTargetThere();
        await this.checkFdaSince();
        return this.state;
      }
      // Refused: missing (a first deploy), or there but unreadable. One look answers for FTP-Deploy-Action's
      // state file too, and for the state where ftpship kept it before --state moved it (SIZE of each in one
      // write, then one listing of each folder if needed).
      const copy = `${path}.tmp`;
      const others = [copy, fdaPath, formerPath].filter((p): p is string => p !== undefined && p !== path);
      const sizes = new Map<string, number>();
      const [ours, ...found] = await this.opts.pool.run(`look for state ${path}`, async (c) =>
        filesExist(c, [path, ...others], this.listed, sizes),
      );
      // There now: unreadable, or written between the two looks by a deploy that just finished. Read again.
      if (ours && attempt === 1) continue;
      if (ours) {
        await this.refuseFolder();
        throw unreadable(path)(refusal ? refusalReason(refusal) : 'refused');
      }
      if (refusal?.code === 553) this.nameRefused = refusal;
      const there = new Set(others.filter((_, i) => found[i]));
      if (there.has(copy)) this.copyLeft = true;
      // An empty copy holds no state, and is not read: a deploy killed after its STOR, before its data
      // connection, leaves a server session waiting for that connection with the file open (vsftpd locks
      // it, and a RETR waits for that session to give up: a minute).
      if (there.has(copy) && sizes.get(copy) !== 0 && (await this.readCopy(copy))) return this.state;
      if (formerPath && there.has(formerPath)) {
        const former = await this.readOther(formerPath);
        if (former) {
          this.state = parseState(former, formerPath, this.opts.settings, this.opts.encoding, this.switched);
          this.origin = 'moved';
          this.superseded = formerPath;
          this.opts.info?.(
            `the state file is now ${path} (--state), and there is none there yet: read the one ftpship kept at ` +
              `${formerPath}, so nothing is uploaded again; that file is removed once the state is written at ${path}`,
          );
          this.checkTarget();
          await this.checkFdaSince();
          return this.state;
        }
      }
      if (fdaPath && there.has(fdaPath)) {
        const fda = await this.readOther(fdaPath);
        if (fda && ownFormat(fda)) {
          // ftpship's own state under FTP-Deploy-Action's file name (an earlier --state or state-name named
          // that file): not FTP-Deploy-Action's. Moved to the state path like the former default, and removed.
          this.state = parseState(fda, fdaPath, this.opts.settings, this.opts.encoding, this.switched);
          this.origin = 'moved';
          this.superseded = fdaPath;
          this.opts.info?.(
            `read ftpship's own state from ${fdaPath} (FTP-Deploy-Action's file name, kept there by an earlier ` +
              `--state or state-name), so nothing is uploaded again; the state is now kept at ${path}, and that ` +
              `file is removed once the state is written there`,
          );
        } else if (fda) {
          this.state = parseState(fda, fdaPath, this.opts.settings, this.opts.encoding, this.switched, true);
          const stamp = await this.opts.pool.run(`look at ${fdaPath}`, async (c) => stampOf(c, fdaPath));
          this.state.ftpDeployAction = {
            sha256: fingerprint(fda),
            ...(stamp !== undefined ? { stamp } : {}),
          };
          this.origin = 'ftp-deploy-action';
        } else if (fda === '') {
          // That tool writes its state last, in place: empty, its run was cut there (it then sends every file).
          this.opts.warn(
            `FTP-Deploy-Action's state file ${fdaPath} is empty (that tool's last run cut while writing it?): it ` +
              `says nothing of what is deployed, so this is a first deploy for ftpship`,
          );
        }
      }
      return this.state;
    }
  }

  /**
   * The state was read at `path` (--state), and ftpship's default state file (`formerPath`) is there too: a
   * deploy without --state ran since (a first deploy there, as it knew nothing of this state), or it is a
   * leftover. The newer one (by the time each records) is the state: trusting an older state at
   * `path` would take files that deploy changed for unchanged (G4); the other is removed once the state is
   * written at `path`, where it can mislead no later deploy. True when the state is now the former one
   * (plan again).
   */
  async preferNewer(): Promise<boolean> {
    const { formerPath, path } = this.opts;
    if (formerPath === undefined || formerPath === path || this.origin !== 'ftpship') return false;
    const text = await this.readOther(formerPath);
    let former: DeployState;
    try {
      if (text === undefined) return false;
      former = parseState(text, formerPath, this.opts.settings, this.opts.encoding, this.switched);
    } catch {
      return false; // not a state ftpship can read: left alone, as before
    }
    // Not the files' times on the server: a copy made by hand (to move the state) is newer there.
    const newer = former.updatedAt > this.state.updatedAt;
    this.superseded = formerPath;
    this.origin = 'moved'; // written (and the other removed) even by a deploy with nothing else to do
    if (!newer) {
      this.opts.info?.(
        `the state file ${formerPath} is older than the one at ${path} (--state): a leftover, removed once the state is written`,
      );
      return false;
    }
    this.state = former;
    this.opts.warn(
      `the state file ${formerPath} (kept there without --state) is newer than ${path}: a deploy without --state ran since; ` +
        `read it, so what that deploy changed is not taken for unchanged; it is removed once the state is written at ${path}`,
    );
    this.checkTarget();
    await this.checkFdaSince();
    return true;
  }

  /**
   * The state is missing but its temporary copy is there: a deploy was cut while it wrote the state on a
   * server that will not rename over a file (the state is deleted, then the copy renamed in; the copy was
   * complete before the delete). Read, it is the newest state; without it, the rerun was a first deploy,
   * sending every file again and losing track of the orphans. A copy that is not an ftpship state (a part a
   * first deploy's cut write left) is ignored, as before.
   */
  private async readCopy(copy: string): Promise<boolean> {
    const text = await this.readOther(copy);
    let state: DeployState;
    try {
      if (text === undefined || (JSON.parse(text) as { generator?: unknown })?.generator !== 'ftpship')
        return false;
      state = parseState(text, copy, this.opts.settings, this.opts.encoding, this.switched);
    } catch {
      return false;
    }
    this.state = state;
    this.origin = 'copy';
    this.opts.warn(
      `the state file ${this.opts.path} is missing, but its temporary copy ${copy} is there (a deploy was cut while ` +
        `writing the state): read it, so only what changed is sent; the state is written again at ${this.opts.path}`,
    );
    this.checkTarget();
    await this.checkTargetThere();
    await this.checkFdaSince();
    return true;
  }

  /** `--state /private` where /private is a folder: say so, rather than "unreadable, try --reset-state". */
  private async refuseFolder(): Promise<void> {
    const { path } = this.opts;
    if (await this.opts.pool.run(`look at state ${path}`, async (c) => dirExists(c, path)))
      throw new ConfigError(
        `the state path ${path} is a folder on the server, not a file; give --state a file name, such as ${path}/${DEFAULT_STATE_NAME}`,
      );
  }

  private async readOther(abs: string): Promise<string | undefined> {
    const data = await this.opts.pool.run(`read state ${abs}`, async (c) =>
      readRemoteFileIfPresent(c, abs, unreadable(abs), STATE_MAX),
    );
    return data?.toString('utf8');
  }

  /**
   * FTP-Deploy-Action's state, read when ftpship took the site over, is read again on each deploy while it is
   * on the server: if it changed, that tool deployed here since (a switch back, for a while), and files
   * ftpship's state lists may hold other content now. A file both states record with the same content is
   * still that (whichever tool wrote it last wrote that); any other path either lists is uncertain: sent
   * again if it is local, deleted if not. Without this, a file ftpship deployed, then FTP-Deploy-Action
   * changed, then reverted locally was taken for unchanged and never sent back (G4).
   */
  private async checkFdaSince(): Promise<void> {
    const { fdaPath, path } = this.opts;
    const seen = this.state.ftpDeployAction;
    if (!fdaPath || fdaPath === path || seen === undefined) return;
    // Its size and time first (one round trip): the file, which can be large, is read only when they changed.
    const stamp = await this.opts.pool.run(`look at ${fdaPath}`, async (c) => stampOf(c, fdaPath));
    if (stamp !== undefined && stamp === seen.stamp) return;
    const data = await this.opts.pool.run(`read state ${fdaPath}`, async (c) =>
      readRemoteFile(c, fdaPath, STATE_MAX),
    );
    if (!data) {
      // Deleted (as the README says to do after the switch): no more looks for it.
      delete this.state.ftpDeployAction;
      this.metaChanged = true;
      return;
    }
    const text = data.toString('utf8');
    const record = { sha256: fingerprint(text), ...(stamp !== undefined ? { stamp } : {}) };
    if (record.sha256 === seen.sha256) {
      // Written again with the same text (or a server that gives no time): only the look is new.
      if (record.stamp !== seen.stamp) {
        this.state.ftpDeployAction = record;
        this.metaChanged = true;
      }
      return;
    }
    const theirs = parseState(text, fdaPath, this.opts.settings, this.opts.encoding, this.switched, true);
    const ours = this.state;
    const files = fileRecord();
    const uncertain = new Set(ours.pending?.uncertain ?? []);
    for (const p of new Set([...Object.keys(ours.files), ...Object.keys(theirs.files)])) {
      const a = ours.files[p];
      const b = theirs.files[p];
      if (a && b && a.sha256 === b.sha256) files[p] = a;
      else uncertain.add(p);
    }
    // A folder ftpship deployed where that tool now lists a file (at it or above it): it replaced the folder, and
    // the path is uncertain. Left listed, the folder was taken for there, and its MKD met the file on every
    // later deploy ("a file of that name is there").
    const replaced = (d: string): boolean =>
      Object.hasOwn(theirs.files, d) || ancestorsOf(d).some((a) => Object.hasOwn(theirs.files, a));
    this.state = {
      ...ours,
      files,
      dirs: [...new Set([...ours.dirs.filter((d) => !replaced(d)), ...theirs.dirs])].sort(),
      pending: { temps: ours.pending?.temps ?? {}, ...ours.pending, uncertain: [...uncertain].sort() },
      ftpDeployAction: record,
    };
    delete this.state.modes; // what that tool uploaded has the server's default permissions
    this.metaChanged = true;
    const changed = uncertain.size - (ours.pending?.uncertain.length ?? 0);
    this.opts.warn(
      `FTP-Deploy-Action has deployed to this folder since ftpship last did (its state file ${fdaPath} changed): ` +
        `${changed} file(s) that either tool changed since are sent again (or deleted, if gone locally)`,
    );
  }

  /**
   * A state kept outside the target (an absolute `--state`) that records another target: two deploys share
   * it by mistake (staging and production copied from one workflow). Going on would delete one site's files
   * as orphans of the other and record one's content for the other (G3, G4). A state inside its target
   * moves with the folder, so it is not checked.
   */
  private checkTarget(): void {
    const { target, path } = this.opts;
    const recorded = this.state.target;
    if (!target || !recorded || recorded === target) return;
    if (insideTarget(target, path) !== undefined) {
      // Inside this target, yet inside the folder below it that it records: it never moved, it is the state of
      // the deploy to that folder (/site/blog's, given to /site by --state). Read as this one's, it would be
      // written over (G3), and its files taken for this deploy's.
      if (insideTarget(target, recorded) === undefined || insideTarget(recorded, path) === undefined) return;
      throw new GuardError(
        `the state file ${path} is the state of the deploy to ${recorded} (it records that folder, and lies in it), ` +
          `not of this one to ${target}: sharing it would delete and overwrite each other's files. Nothing was changed. ` +
          `Give this deploy its own --state (or none: it then keeps ${remoteJoin(target, DEFAULT_STATE_NAME)}).`,
      );
    }
    throw new GuardError(
      `the state file ${path} records deploys to ${recorded}, not to ${target}: two targets sharing one state ` +
        `would delete each other's files. Nothing was changed. Give each target its own --state; if the site ` +
        `moved to ${target}, rerun with --reset-state and --adopt (files already there with the same content are kept, ` +
        `the others uploaded).`,
    );
  }

  /**
   * A state kept outside the target says nothing about the target being there: a folder removed by hand
   * (or by a host's file manager) left a state listing files that are gone, and the deploy found nothing
   * to do. One CWD when such a state lists anything; a missing target is deployed to from scratch (G4).
   */
  private async checkTargetThere(): Promise<void> {
    const { target, path } = this.opts;
    if (!target || insideTarget(target, path) !== undefined) return;
    const s = this.state;
    const listed = Object.keys(s.files).length;
    if (listed === 0 && s.dirs.length === 0 && s.pending === undefined) return;
    if (await this.opts.pool.run(`look for ${target}`, async (c) => dirExists(c, target))) return;
    this.opts.warn(
      `the target folder ${target} is not on the server, yet the state file ${path} lists ${listed} file(s) deployed there ` +
        `(was the folder removed by hand?): every file is uploaded again`,
    );
    this.state = emptyState(this.opts.settings);
  }

  private async refuseExistingState(): Promise<void> {
    const { path } = this.opts;
    const [there] = await this.opts.pool.run(`look for state ${path}`, async (c) => filesExist(c, [path]));
    if (there) {
      throw new GuardError(
        `--upload-only keeps no state, but ftpship deploys this folder with the state file ${path}, which this run ` +
          `would leave out of date. Nothing was changed. Deploy without --upload-only, or delete ${path} to stop ` +
          `ftpship tracking the folder.`,
      );
    }
  }

  /**
   * True when the state on the server is no longer the one {@link load} read: another deploy finished
   * between this one's plan and its lock. (A reset state is never compared: it was discarded on purpose.)
   */
  async changedSinceLoad(read?: ReadWithLock): Promise<boolean> {
    if (this.opts.persist === false) {
      await this.refuseExistingState(); // a deploy with a state may have finished since
      return false;
    }
    if (this.opts.resetState) return false;
    // Read in the lock's write: a refusal says "not there" only when it was not there at load either.
    if (read && !(read.refused && this.loadedText !== undefined))
      return read.data?.toString('utf8') !== this.loadedText;
    const text = await this.opts.pool.run(`read state ${this.opts.path}`, async (c) =>
      // Missing at load: a state there now is a change; a refusal (absent, as load proved) is not.
      this.loadedText === undefined
        ? readRemoteFile(c, this.opts.path, STATE_MAX)
        : readRemoteFileIfPresent(c, this.opts.path, unreadable(this.opts.path), STATE_MAX),
    );
    return text?.toString('utf8') !== this.loadedText;
  }

  /**
   * After an interrupted commit phase: a temp marked committing that is gone was renamed over its target,
   * which therefore holds that content now. One SIZE per such temp, only after an interrupted run.
   */
  async recoverCommits(root: string): Promise<void> {
    const temps = this.state.pending?.temps ?? {};
    const uncertain = new Set(this.state.pending?.uncertain ?? []);
    for (const [temp, t] of Object.entries(temps)) {
      if (!t.committing) continue;
      // Without SIZE (some hosting servers), the folder's listing; when neither can tell, taken for still there
      // (sent again): taken for gone, its old target was recorded with the new content, and stayed stale.
      const there = await this.opts.pool.run(`SIZE ${temp}`, async (c) =>
        fileThere(c, remoteJoin(root, temp)),
      );
      if (there !== false) {
        // Still there: its rename did not happen. Left marked, it would be taken for renamed by a later run
        // once this one removed it as a leftover (its record saved before the delete, the mark gone with it).
        delete t.committing;
        this.committingThere.add(temp);
        continue;
      }
      this.state.files[t.path] = { size: t.size, sha256: t.sha256 };
      uncertain.delete(t.path);
      delete temps[temp];
      // A file renamed in where a folder was (one that became a file): the folder went first, perhaps after
      // the last checkpoint, which still lists it. Listed as both, a folder wanted there again was taken for
      // there (no MKD), and every rerun failed making it inside the upload ("a file of that name is there").
      const gone = (d: string): boolean => atOrUnder(d, t.path);
      this.state.dirs = this.state.dirs.filter((d) => !gone(d));
      if (this.state.pending?.dirs) this.state.pending.dirs = this.state.pending.dirs.filter((d) => !gone(d));
    }
    if (this.state.pending) this.state.pending.uncertain = [...uncertain];
  }

  /**
   * Whether the state on the server marks `temp` as committing: removed before this run's first checkpoint
   * clears the mark, it would be taken for renamed over its target by a rerun of a run cut meanwhile.
   */
  markedCommitting(temp: string): boolean {
    return this.committingThere.has(temp) || this.state.pending?.temps[temp]?.committing === true;
  }

  /** The state file to read in the lock's write (see withLock), when {@link changedSinceLoad} reads it. */
  get readWithLock(): { path: string; max: number } | undefined {
    if (this.opts.persist === false || this.opts.resetState) return undefined;
    return { path: this.opts.path, max: STATE_MAX };
  }

  /** The maintenance marker an earlier run left up (it failed or was killed while the site changed). */
  get recordedMarker(): string | undefined {
    return this.state.pending?.maintenance;
  }

  /** Folders earlier runs made only to hold their marker, not yet removed. */
  get recordedMarkerDirs(): string[] {
    return this.state.pending?.markerDirs ?? [];
  }

  /** Name tests' files earlier runs were cut before removing (see Pending.probes). */
  get recordedProbes(): string[] {
    return this.state.pending?.probes ?? [];
  }

  /** A name test's file about to be written: recorded (saved now), so a rerun removes it if this run is cut. */
  async probeAdded(rel: string): Promise<void> {
    if (!this.state.pending) return;
    this.state.pending.probes = [...new Set([...(this.state.pending.probes ?? []), rel])].sort();
    await this.save();
  }

  /** A name test's file is gone (removed under each name it may have). */
  probeGone(rel: string): void {
    const pending = this.state.pending;
    if (!pending?.probes) return;
    pending.probes = pending.probes.filter((p) => p !== rel);
    if (pending.probes.length === 0) delete pending.probes;
    this.touch();
  }

  /** Folders about to be made only to hold the marker: recorded now, so a rerun removes them if this run fails. */
  async markerDirsAdded(dirs: string[]): Promise<void> {
    if (!this.state.pending || dirs.length === 0) return;
    this.state.pending.markerDirs = [...new Set([...(this.state.pending.markerDirs ?? []), ...dirs])].sort();
    await this.save();
  }

  /**
   * Checkpoint before the first change: everything this run may leave half-done is recorded as pending,
   * including `marker`, a maintenance marker about to go up (an earlier run's stays recorded until removed).
   */
  async beginRun(plan: Plan, marker?: string): Promise<void> {
    const s = this.state;
    const temps = { ...(s.pending?.temps ?? {}) };
    this.earlierTemps = new Set(Object.keys(temps));
    this.uncertain = new Set(s.pending?.uncertain ?? []);
    this.dirs = new Set(s.dirs);
    // Recorded before they are made: a folder made by a run killed before its next checkpoint is still known
    // to the rerun (else a file of that name could never replace it, nor would it be removed).
    this.maybeDirs = new Set([...(s.pending?.dirs ?? []), ...plan.mkdirs]);
    for (const u of plan.uploads) {
      if (u.temp) temps[u.temp] = tempRecord(u);
      else {
        this.uncertain.add(u.file.path);
        delete s.files[u.file.path];
      }
    }
    for (const d of [...plan.fileToDir, ...plan.caseTwins]) {
      this.uncertain.add(d);
      delete s.files[d];
    }
    const up = marker ?? s.pending?.maintenance;
    const markerDirs = s.pending?.markerDirs;
    const probes = s.pending?.probes;
    s.pending = {
      temps,
      uncertain: [],
      ...(up !== undefined ? { maintenance: up } : {}),
      ...(markerDirs?.length ? { markerDirs } : {}),
      ...(probes?.length ? { probes } : {}),
    };
    // Not by --delete-only, which sends nothing: new files the old excludes left out (perhaps live, untracked
    // on the server) must still go through a temp on the next run that sends them (G2).
    if (plan.held.by !== 'delete-only') s.settings = this.opts.settings;
    delete s.modes; // set again by finish(), once this run has set them everywhere
    await this.save();
  }

  dirCreated(rel: string, replacedFile: boolean): void {
    if (replacedFile) this.uncertain.delete(rel);
    this.dirs.add(rel);
    this.maybeDirs.delete(rel);
    this.touch();
  }

  /** A temporary upload is complete (its record was written by beginRun); it only awaits the commit. */
  tempUploaded(): void {
    this.touch();
  }

  /**
   * The hash of a file going up through a temp before it was hashed (a first deploy): its record gets it,
   * saved soon, so a rerun on another checkout (other stamps, same bytes) can still resume the temp.
   */
  tempHashed(item: UploadItem): void {
    const t = this.state.pending?.temps[item.temp as string];
    if (!t || t.sha256) return;
    t.sha256 = item.file.sha256;
    this.dirty = true;
    // Soon, not at once: at most one such save every half second, however many temps get their hash.
    if (!this.saving && Date.now() - this.lastSave >= 500) this.enqueue().catch(() => undefined);
  }

  /** The state is written to the server (not --upload-only's, kept in memory). */
  get persists(): boolean {
    return this.opts.persist !== false;
  }

  /**
   * `item` goes whole under a new temp name (`item.temp`) instead of `old`, one it was to resume, which another
   * server session may hold and put a part back at later (see TempGoneError): the new name is recorded, and
   * `old` marked left (with the time), so no upload uses it again and each deploy removes it, until it is
   * found there and removed, or a day has passed. Saved now, before a byte goes to the new name.
   */
  async tempLeft(item: UploadItem, old: string): Promise<void> {
    const temps = this.state.pending?.temps;
    if (!temps) return;
    const t = temps[old];
    if (t) t.left ??= new Date().toISOString();
    temps[item.temp as string] = tempRecord(item);
    await this.save();
  }

  /** A leftover temp not on the server: marked left (see tempLeft), as a session may still put it back. */
  tempMissing(temp: string): void {
    const t = this.state.pending?.temps[temp];
    if (!t) return;
    t.left ??= new Date().toISOString();
    this.touch();
  }

  tempGone(temp: string): void {
    delete this.state.pending?.temps[temp];
    this.touch();
  }

  /** A file is live with this content (uploaded directly, or renamed from `temp`). */
  fileLive(file: LocalFile, temp?: string): void {
    this.state.files[file.path] = { size: file.size, sha256: file.sha256 };
    this.uncertain.delete(file.path);
    if (temp) delete this.state.pending?.temps[temp];
    this.touch();
  }

  /**
   * One checkpoint before the commit phase and the deletes: each target leaves `files` for `uncertain` (for
   * a moment it may hold old or new content) and its temp is marked committing, so a rerun can tell a done
   * rename (temp gone); each orphan leaves `files` for `uncertain` too (a rerun still knows it is ours).
   */
  async beginCommit(items: UploadItem[], deletes: string[]): Promise<void> {
    const temps = this.state.pending?.temps ?? {};
    for (const u of items) {
      const t = temps[u.temp as string];
      if (t) Object.assign(t, tempRecord(u), { committing: true }); // every hash is known by now
    }
    for (const p of [...items.map((u) => u.file.path), ...deletes]) {
      delete this.state.files[p];
      this.uncertain.add(p);
    }
    await this.save();
  }

  /** A maintenance marker is about to go up: recorded by the next save, so a rerun removes it. */
  markerUp(rel: string): void {
    if (this.state.pending) this.state.pending.maintenance = rel;
  }

  fileGone(rel: string): void {
    delete this.state.files[rel];
    this.uncertain.delete(rel);
    this.touch();
  }

  /** The state lists a file (or an uncertain one) inside folder `rel`. */
  tracksFilesIn(rel: string): boolean {
    const inside = (p: string): boolean => p.startsWith(`${rel}/`);
    return Object.keys(this.state.files).some(inside) || [...this.uncertain].some(inside);
  }

  /**
   * Folder `rel`, which the state lists, was not on the server: neither is any file it held. They leave the state
   * (G4), so the next deploy sends them; a file this run sends into the folder made again is recorded as it goes.
   */
  filesGoneUnder(rel: string): void {
    for (const p of Object.keys(this.state.files)) if (p.startsWith(`${rel}/`)) delete this.state.files[p];
    this.touch();
  }

  dirGone(rel: string): void {
    this.dirs.delete(rel);
    this.maybeDirs.delete(rel);
    this.touch();
  }

  /**
   * The final state: exactly the local tree, plus orphans left in place; no pending work; `modes`, the
   * permissions now set on every file and folder of the tree (omitted when some could not be set).
   */
  async finish(
    local: LocalTree,
    plan: Plan,
    keptDirs: string[],
    modes?: Modes,
    /** The lock's release, sent in the same write as the final state's rename where that is safe. */
    release?: LockRelease,
  ): Promise<void> {
    const files = fileRecord();
    for (const f of local.files.values()) {
      if (this.state.files[f.path]?.sha256 === f.sha256) files[f.path] = { size: f.size, sha256: f.sha256 };
    }
    for (const p of plan.keptOrphans.files) if (this.state.files[p]) files[p] = this.state.files[p];
    // Held by --no-replace or --delete-only: the state records what is on the server, so a later run sends them.
    const { held } = plan;
    const heldAt = (p: string): boolean => held.swap.some((s) => atOrUnder(p, s));
    for (const p of [...held.replace, ...Object.keys(this.state.files).filter(heldAt)])
      if (this.state.files[p]) files[p] = this.state.files[p];
    const notMade = new Set([...held.mkdir, ...held.swap]);
    this.dirs = new Set([
      ...[...local.dirs].filter((d) => !notMade.has(d)),
      ...[...this.dirs].filter(heldAt),
      ...plan.keptOrphans.dirs,
      ...keptDirs,
    ]);
    // A file a cut run was sending that --delete-only did not send: still unknown on the server.
    const unsure = [...held.replace, ...held.upload].filter((p) => this.uncertain.has(p) && !files[p]);
    // A name test's file whose removal did not go through: the next run removes it.
    const probes = this.state.pending?.probes;
    // So for a temp left to another server session, which may put it back (see tempLeft).
    const left = Object.entries(this.state.pending?.temps ?? {}).filter(([, t]) => t.left !== undefined);
    const pending =
      unsure.length > 0 || probes?.length || left.length > 0
        ? { temps: Object.fromEntries(left), uncertain: unsure, ...(probes?.length ? { probes } : {}) }
        : undefined;
    this.state = { ...this.state, files, pending, modes };
    if (!modes?.file && !modes?.dir) delete this.state.modes;
    this.uncertain = new Set(unsure);
    this.maybeDirs.clear();
    this.finishing = true;
    await this.enqueue(release);
  }

  /** Marks a change and checkpoints when the last save is old enough (in the background). */
  private touch(): void {
    this.dirty = true;
    this.changes++;
    // Every 3 s, or every 500 changes on a fast link (a save costs a few round trips and a JSON of the state).
    const due = Date.now() - this.lastSave >= (this.opts.intervalMs ?? 3000) || this.changes >= 500;
    if (this.saving || !due) return;
    this.enqueue().catch((err: unknown) => {
      // The lock was lost: the run stops with that error (no deploy goes on).
      if (err !== this.opts.pool.cancelReason)
        this.opts.warn(`checkpoint failed (the deploy goes on): ${(err as Error).message}`);
    });
  }

  /** Saves now, after any save in flight. */
  async save(): Promise<void> {
    await this.enqueue();
  }

  /** One save after the one in flight: two never overlap (they share the temp name). */
  private async enqueue(release?: LockRelease): Promise<void> {
    const previous = this.saving;
    const run = (async () => {
      await previous?.catch(() => undefined);
      await this.write(release);
    })();
    this.saving = run;
    run
      .finally(() => {
        if (this.saving === run) this.saving = undefined;
      })
      .catch(() => {});
    return run;
  }

  private async write(release?: LockRelease): Promise<void> {
    this.dirty = false;
    this.changes = 0;
    this.lastSave = Date.now();
    if (this.opts.persist === false) return;
    // The unlock went out with the final state: no write after it (the lock may be another deploy's now).
    if (this.sealed) return;
    const data = this.serialize();
    const dir = parentOf(this.opts.path) || '/';
    // The unlock goes in the rename's write only where a rename over the state file has worked in this run
    // (a server that refuses it needs the fallback, under the lock), and no former state is left to remove.
    const unlocking = release && this.renamedOver && this.superseded === undefined ? release : undefined;
    let sent = false;
    /** An attempt of this write went out already (and failed: this one is its retry). */
    let retry = false;
    const there = this.stateThere;
    // The final state's copy (see keepCopy): on a connection doing nothing, beside the state's own upload (no
    // round trip added); with none free, or after a lost connection there, on the state's, right before the
    // state goes in place.
    const beside = this.finishing
      ? this.opts.pool.runIfIdle(async (c) => {
          await this.lockGuard?.(c);
          await this.keepCopy(c, data);
        })
      : undefined;
    const besideDone = beside?.then(
      () => true,
      () => false,
    );
    let copied = !this.finishing;
    const copyFirst = async (c: FtpClient): Promise<void> => {
      if (copied) return;
      if (!(await besideDone)) await this.keepCopy(c, data);
      copied = true;
    };
    await this.opts.pool
      .run(
        `write state ${this.opts.path}`,
        async (c) => {
          // Cut after the unlock went out, and its DELE ran (the holder is gone): so did the rename before it, and
          // the lock may be another deploy's by now. Nothing is written again: the state is in place if its
          // temp is gone (the lock is then released as after any deploy), else the deploy fails.
          if (sent && unlocking && !(await unlocking.stillOurs(c))) {
            if ((await remoteSize(c, `${this.opts.path}.tmp`)) < 0) return;
            throw new DeployError(
              `the connection was lost while the final state ${this.opts.path} was put in place and the lock released, ` +
                `and its temporary copy is still there: the state on the server is the last checkpoint; run the deploy again (it sends only what was not confirmed)`,
            );
          }
          await this.lockGuard?.(c);
          if (!this.dirMade) await makeDirs(c, dir, this.opts.quirks.knownDirs);
          this.dirMade = true;
          // The retry of an attempt that may have been cut in its STOR (see dropHeldUpload). Was: every retry
          // waited on vsftpd's lock of the cut STOR's temp, and the deploy failed.
          if (retry) await dropHeldUpload(c, `${this.opts.path}.tmp`);
          retry = true;
          if (this.copyLeft) {
            await c.delete(`${this.opts.path}.tmp`).catch((err: unknown) => {
              if (!(err instanceof FtpReplyError)) throw err; // gone meanwhile: nothing to remove
            });
            this.copyLeft = false;
          }
          let replies: FtpReply[] | undefined;
          await writeRemoteFileAtomic(
            c,
            this.opts.path,
            data,
            this.opts.quirks,
            this.opts.warn,
            unlocking && {
              commands: async () => {
                const commands = await unlocking.commands();
                if (commands) sent = this.sealed = true;
                return commands;
              },
              replies: (r) => {
                replies = r;
                unlocking.settle(r);
              },
            },
            true,
            async () => copyFirst(c),
          ).catch((err: unknown) => {
            // The rename was refused, the unlock (after it) went: the deploy fails, the lock is not held.
            if (replies && err instanceof FtpReplyError)
              throw new DeployError(
                `cannot put the final state in place (${err.command}: ${err.code} ${err.serverMessage.replace(/\s*\n\s*/g, ' ')}); ` +
                  `${(replies[replies.length - 1]?.code ?? 500) < 300 ? 'the lock was released' : 'the lock could not be released either'}. The files are deployed, ` +
                  `but the state on the server is the last checkpoint: run the deploy again to record them (it sends only what was not confirmed)`,
                { cause: err },
              );
            throw err;
          });
        },
        true,
      )
      .catch((err: unknown) => {
        throw unwritable(this.opts.path, err, this.finishing, this.keptTemps());
      });
    this.stateThere = true;
    if (there && !this.opts.quirks.deleteBeforeRename && !this.opts.quirks.noRename) this.renamedOver = true;
    const former = this.superseded;
    if (former === undefined) return;
    this.superseded = undefined;
    // Left there, it would go out of date with this deploy, and be read again if --state were dropped. Its
    // backup copy too: --state may have moved the state out of the site's folder so as not to publish it.
    await this.opts.pool
      .run(
        `remove ${former}`,
        async (c) => {
          await deleteFile(c, former);
          await deleteFile(c, backupPath(former));
        },
        true,
      )
      .catch((err: unknown) =>
        this.opts.warn(
          `the former state file ${former} (or its copy ${backupPath(former)}) could not be removed (${(err as Error).message}): delete it by hand, it is out of date`,
        ),
      );
  }

  /**
   * FIELD 4.4: the final state of each deploy that writes the state (one that changes nothing writes neither) is
   * kept beside it too, as `<state>.bak`. Should the state file be damaged later (edited by hand, written over
   * by another tool), the error that stops the next deploy names this copy and how to go back to it (see
   * {@link backupNamed}). Written under the lock, before the state itself goes in place (see write): cut in
   * between, the copy is the newer one (the state a checkpoint before it), never an older one. The name
   * is removed first, in the same write (a cut run's server session may still hold it open: see
   * dropHeldUpload), so a copy refused leaves no older one behind (it would take the files this deploy changed
   * for what they replaced). A refusal is a warning, and the deploy goes on.
   */
  private async keepCopy(c: FtpClient, data: Buffer): Promise<void> {
    const bak = backupPath(this.opts.path);
    try {
      // Removed in the same write as the STOR (one round trip less than a DELE before it).
      await c.upload(bak, data, { before: { commands: [`DELE ${bak}`], replies: () => undefined } });
    } catch (err) {
      if (!(err instanceof FtpReplyError) || c.closed) throw err;
      this.opts.warn(
        `could not keep a copy of the state at ${bak} (${err.code} ${err.serverMessage.replace(/\s*\n\s*/g, ' ')}); the deploy goes on, and the state itself is written as always`,
      );
    }
  }

  /**
   * The state file was read but is damaged: when its backup copy (see {@link keepCopy}) reads as a state,
   * the error says so, and how to go back to it; else it is left as it was.
   */
  private async backupNamed(err: unknown): Promise<unknown> {
    if (!isDamagedState(err)) return err;
    const { path } = this.opts;
    const bak = backupPath(path);
    const text = await this.opts.pool
      .run(`read ${bak}`, async (c) => readRemoteFile(c, bak, STATE_MAX))
      .catch(() => undefined);
    if (text === undefined) return err;
    let copy: DeployState;
    try {
      copy = parseState(text.toString('utf8'), bak, this.opts.settings, this.opts.encoding);
    } catch {
      return err;
    }
    return new DeployError(
      `${(err as Error).message} ftpship keeps a copy of the state as the last deploy that finished wrote it, and ` +
        `it reads as a state: ${bak} (${Object.keys(copy.files).length} file(s), written ${copy.updatedAt}). To go ` +
        `back to it, rename it to ${path} on the server (with any FTP client), then deploy again.`,
      { cause: err },
    );
  }

  get isDirty(): boolean {
    return this.dirty;
  }

  /** The state as a checkpoint writes it now: the working sets written into it, then serialised. */
  private serialize(): Buffer {
    this.state.dirs = [...this.dirs].sort();
    if (this.opts.target) this.state.target = this.opts.target;
    // The paths are this run's names (read states were translated): a state begun empty records it too.
    if (this.opts.encoding === 'latin1') this.state.encoding = 'latin1';
    else delete this.state.encoding;
    if (this.state.pending) {
      this.state.pending.uncertain = [...this.uncertain].sort();
      if (this.maybeDirs.size > 0) this.state.pending.dirs = [...this.maybeDirs].sort();
      else delete this.state.pending.dirs;
    }
    return Buffer.from(serializeState(this.state));
  }

  /**
   * The checkpoint this run would write now, for a process exiting under it (the gulp plugin's exit hook writes
   * it from a child process, under the lock, before the unlock): what was confirmed since the last save is then
   * recorded too. The working copy is honest at every moment (G4: a path leaves `files` before its file is
   * touched, and enters it only once live), as the background checkpoints rely on. None when there is nothing
   * new, or when a write of this run may still be under way on the server (a save in flight, the final state,
   * the unlock sent with it), which a second write could cross; nor while a leftover copy or a former state
   * still needs the engine's own handling.
   */
  /** The temps an earlier run recorded, as this run began (see keptTemps). */
  private earlierTemps = new Set<string>();

  /**
   * The temporary copies an earlier run left that this run keeps (to resume them) and has not removed: how
   * many, and at most how many bytes they hold (each a prefix of its file). They take room on the server.
   */
  private keptTemps(): { count: number; bytes: number } {
    const kept = Object.entries(this.state.pending?.temps ?? {}).filter(
      ([t, r]) => this.earlierTemps.has(t) && r.left === undefined,
    );
    return { count: kept.length, bytes: kept.reduce((n, [, r]) => n + r.size, 0) };
  }

  snapshot(): StateSnapshot | undefined {
    if (this.opts.persist === false || !this.lockGuard || this.sealed || this.finishing) return undefined;
    if (this.saving || !this.dirty || !this.stateThere || this.copyLeft || this.superseded !== undefined)
      return undefined;
    const { noRename, deleteBeforeRename } = this.opts.quirks;
    return { path: this.opts.path, data: this.serialize(), quirks: { noRename, deleteBeforeRename } };
  }
}

/** A checkpoint taken at once (see StateStore.snapshot): where it goes, its text, how the server takes a rename. */
export interface StateSnapshot {
  path: string;
  data: Buffer;
  quirks: Pick<ServerQuirks, 'noRename' | 'deleteBeforeRename'>;
}

/**
 * The largest state read: about 400 000 files' worth (a 20 000-file site's is 3 MB). A larger one is not a
 * state ftpship wrote, and holding it (parsed) would take several times its size in memory.
 */
export const STATE_MAX = 64 * 1024 * 1024;

/** The state could not be written: the bare STOR reply said neither which file it was nor what to try. */
function unwritable(
  path: string,
  err: unknown,
  final = false,
  kept: { count: number; bytes: number } = { count: 0, bytes: 0 },
): unknown {
  if (err instanceof DeployError) return err;
  // The run's files went up, but the last checkpoint knows them only as unconfirmed: the rerun sends them
  // again, each through a temporary copy beside the live file. Room for the state alone was not enough.
  // Or, before that, the copies an earlier run stopped by a full disk left (kept to resume) hold the room:
  // they are ftpship's own, and --no-atomic removes them before it writes anything.
  const rerun = final
    ? '. The files are deployed, but the state on the server is the last checkpoint, so a rerun sends again each file it does not list, through a temporary copy that takes room beside the live file: free that much too, or rerun with --no-atomic (files written in place)'
    : kept.count > 0
      ? `; the temporary copies (.ftpship-….tmp) ftpship's earlier run left, kept to resume them (${kept.count} recorded, up to ${formatBytes(kept.bytes)}), hold room there: rerun with --no-atomic, which removes them first and writes the files in place (no copies), or free that much, then run again`
      : '';
  const why =
    err instanceof FtpReplyError
      ? `${err.code} ${err.serverMessage.replace(/\s*\n\s*/g, ' ')}`
      : (err as Error | undefined)?.message;
  const hint = !(err instanceof FtpReplyError)
    ? isTransientError(err)
      ? 'the connection kept failing through the retries: check the network, then run the deploy again'
      : undefined
    : err.code === 552 || err.code === 452
      ? `the server has no room for it: free space on the server or ask the host for more${rerun}`
      : writeFailed(err)
        ? `the server could not write it, most often because its disk or the account's disk quota is full: free space on the server or ask the host for more${rerun}`
        : err.code >= 500
          ? 'check that the user may write there, or keep the state elsewhere with --state'
          : 'refused through the retries: run the deploy again later';
  if (hint === undefined) return err;
  return new DeployError(`cannot write the state file ${path}: ${why} (${hint})`, { cause: err });
}

/** Where the state file's backup copy is kept (see StateStore.keepCopy). */
export function backupPath(statePath: string): string {
  return `${statePath}.bak`;
}

/** A state file that is there but cannot be read (permissions, a folder of that name): never a silent re-upload. */
function unreadable(path: string): (reason: string) => DeployError {
  return (reason) =>
    new DeployError(
      `the state file ${path} exists but cannot be read (${reason}). Nothing was changed. Check its permissions, ` +
        `or rerun with --reset-state to re-seed it (ftpship then treats the server as empty and uploads every file once; with --adopt too, the files already there with the same content are kept).`,
    );
}

/** A file's size and modification time, as the server gives them ("123 2026-…Z"); undefined if it gives neither. */
async function stampOf(c: FtpClient, abs: string): Promise<string | undefined> {
  const [size, mdtm] = await c.pipeline([`SIZE ${abs}`, `MDTM ${abs}`]);
  if (size.code !== 213 || mdtm.code !== 213) return undefined;
  return `${size.message.trim()} ${mdtm.message.trim()}`;
}

/** A short fingerprint of a state file's text: it tells a changed file from the one read before. */
function fingerprint(text: string): string {
  return crypto.createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** What a temp holds, as far as this run knows it: the hash once known, and the file's stamp. */
function tempRecord(u: UploadItem): PendingTemp {
  const t: PendingTemp = { path: u.file.path, size: u.file.size, sha256: u.file.sha256 };
  if (u.file.stamp !== undefined) t.stamp = u.file.stamp;
  return t;
}

/** Does this state text hold ftpship's format (not FTP-Deploy-Action's)? */
function ownFormat(text: string): boolean {
  try {
    const raw: unknown = JSON.parse(text);
    return (
      typeof raw === 'object' && raw !== null && (raw as { generator?: unknown }).generator === 'ftpship'
    );
  } catch {
    return false;
  }
}
