/**
 * Step 6–7 of a deploy: run the plan on the pool. Folders first (each once, parents before children,
 * uploads into a folder start as soon as it exists), uploads by absolute path, then the commit phase
 * (temporary files renamed over the live ones), then deletes deepest first, then the final state.
 * The state on the server is checkpointed before the first change and every few seconds after (G1, G4).
 */
import crypto from 'node:crypto';
import { forEachLimit, type ConnectionPool } from './pool.js';
import { countPlan, tempPathFor, type Plan, type UploadItem } from './plan.js';
import type { MaintenanceHook } from './hook.js';
import { DEFAULT_STATE_NAME, FDA_STATE_NAME, type Progress, type Reporter } from './options.js';
import {
  ancestorsOf,
  atOrUnder,
  baseName,
  depthOf,
  dotName,
  excludeOption,
  foldCase,
  nameTooLong,
  parentOf,
  remoteJoin,
} from './paths.js';
import {
  deleteFile,
  dirExists,
  dropHeldUpload,
  folderRefused,
  fileThere,
  listedAs,
  remoteSize,
  removedFile,
  makeDir,
  makeDirs,
  renameOver,
  TempGoneError,
  TempHeldError,
  uploadFile,
  writeRemoteFileAtomic,
  type ServerQuirks,
} from './remote.js';
import type { LocalTree } from './select.js';
import type { StateStore } from './state-store.js';
import { leftInDay, probeNames } from './state.js';
import { FtpReplyError, isTransientError, type FtpClient, type FtpReply } from '../ftp/index.js';
import { DeployError, ftpMessage, writeFailed } from './errors.js';
import type { LockRelease } from './lock.js';

export interface ExecContext {
  pool: ConnectionPool;
  /** Absolute remote target folder. */
  root: string;
  store: StateStore;
  reporter: Reporter;
  quirks: ServerQuirks;
  /**
   * A maintenance marker to put up while live files change: for the commit phase, or for the whole run
   * (`whole`, when files are written in place).
   */
  marker?: { path: string; content: string; whole: boolean };
  /**
   * The maintenance hook (`--maintenance-url`), called as the marker goes up (`start`, before it) and comes
   * down (`end`, after it), for the same phase (`whole`: the whole run).
   */
  hook?: { call: MaintenanceHook; whole: boolean };
  /** This run looked for every file the state lists (--verify, or after the spot check): no advice to. */
  checkedAll?: boolean;
  /** The reply timeout (`timeoutMs`): a resumed upload the server does not start in half of it is given up. */
  timeoutMs?: number;
  /** The lock's release, which the final state's write may carry (see LockRelease). */
  release?: LockRelease;
  /** Told when the run failed or was cancelled and its last checkpoint could not be written either. */
  unsaved?: (err: unknown) => void;
}

export interface ExecResult {
  bytesSent: number;
  /** Folders inside the target this run made (MKD answered 2xx): a folder that was there is not counted. */
  dirsMade: number;
  /** Orphan folders that could not be removed (they hold files ftpship did not deploy), and their parents. */
  keptDirs: string[];
  /** Of the paths the plan gives a mode (`chmods`), how many did not get it (refused, or no SITE CHMOD). */
  modesMissed: { files: number; dirs: number };
}

/** Progress is reported as bytes go at most this often (hosts throttle their lines further). */
const BYTES_PROGRESS_MS = 1000;

/** One step of the commit phase: a temp renamed over its target, or an orphan deleted. */
type CommitStep = { rename: UploadItem } | { delete: string };

export async function executePlan(plan: Plan, local: LocalTree, ctx: ExecContext): Promise<ExecResult> {
  const run = new Run(plan, local, ctx);
  return run.execute();
}

class Run {
  private readonly dirReady = new Map<string, Promise<void>>();
  private readonly progress: Progress;
  private bytesSent = 0;
  /** Absolute folders this run made (see {@link ExecResult.dirsMade}). */
  private readonly made = new Set<string>();
  private readonly dirMade = (abs: string): void => void this.made.add(abs);
  /** The planned folders whose MKD has been sent (see makeBatch). */
  private readonly mkdSent = new Set<string>();
  /** When progress was last reported for bytes sent (see addBytes). */
  private reportedAt = Date.now();
  private readonly warned = new Set<string>();
  /** Per last character (a space, a dot): whether the server keeps a name ending in it (see nameKept). */
  private readonly nameProbes = new Map<string, Promise<boolean | undefined>>();
  /** Per last character: the name test's file (relative), once recorded in the state (see probeRecorded). */
  private readonly probeFiles = new Map<string, Promise<string>>();
  /** The server's refusal of the name test's file ending in a backslash or `*` (see testNamesFirst). */
  private readonly refusals = new Map<string, FtpReplyError>();
  /** Name tests' files earlier runs were cut before removing. */
  private readonly staleProbes: string[];
  /** Leftover temps removed before the first checkpoint (see freeStaleTemps). */
  private readonly freed = new Set<string>();
  private readonly fileToDir: Set<string>;
  /** The checkpoint before the first change that needs one (see execute). */
  private begun: Promise<void> = Promise.resolve();
  /** A marker an earlier run left up, and whether this run put its own up. */
  private readonly staleMarker?: string;
  private markerPut = false;
  /** Folders this run made only to hold its marker (relative), and those an earlier run left: removed with it. */
  private markerDirs: string[] = [];
  private readonly staleMarkerDirs: string[];
  /** Folders of {@link Plan.caseTwinDirs} that could not be removed. */
  private twinDirsKept: string[] = [];
  /** Folders kept as they hold another deploy's state (the targets of deploys inside this one). */
  private readonly otherTargets = new Set<string>();
  /** Settles once the folders are made, or their creation stopped (see {@link stopped}). */
  private dirsDone: Promise<void> = Promise.resolve();
  /** The run failed or was cancelled: no folder batch starts after that. */
  private stopped = false;
  /** Nothing deployed before (the state lists no file and no folder). */
  private readonly firstDeploy: boolean;
  /** Everything waits for the first checkpoint, and the marker or the hook's `start` (see execute). */
  private readonly whole: boolean;
  /** The hook is called for the whole run (files are written in place, and some change). */
  private readonly hookWhole: boolean;
  /** The marker goes up for the whole run (--no-atomic, and some path of the site changes). */
  private readonly markerWhole: boolean;

  constructor(
    private readonly plan: Plan,
    private readonly local: LocalTree,
    private readonly ctx: ExecContext,
  ) {
    const bytesTotal = plan.uploads.reduce((n, u) => n + u.file.size, 0);
    this.progress = { filesDone: 0, filesTotal: plan.uploads.length, bytesDone: 0, bytesTotal };
    this.fileToDir = new Set(plan.fileToDir);
    this.staleMarker = ctx.store.recordedMarker;
    this.staleMarkerDirs = ctx.store.recordedMarkerDirs;
    this.staleProbes = ctx.store.recordedProbes;
    const { files, dirs } = ctx.store.state;
    this.firstDeploy = Object.keys(files).length === 0 && dirs.length === 0;
    // Not for a run that changes no path of the site (it only tidies the state): no call, as for a no-op.
    const changes = plan.uploads.length + plan.deletes.length + plan.rmdirs.length + plan.mkdirs.length > 0;
    // Files renamed only in case go before the uploads (see deleteCaseTwins): live files change from the start.
    const twins = plan.caseTwins.length + plan.caseTwinDirs.length > 0;
    this.hookWhole = (ctx.hook?.whole === true || (!!ctx.hook && twins)) && changes;
    // So for the marker (--no-atomic): up for the whole run only when the run changes a path of the site.
    this.markerWhole = (ctx.marker?.whole === true || (!!ctx.marker && twins)) && changes;
    this.whole = this.markerWhole || this.hookWhole;
  }

  async execute(): Promise<ExecResult> {
    const { store } = this.ctx;
    // On a first deploy, the first checkpoint is written while new files and folders already go up; on a
    // later one, every change waits for it (see upload and makeLevel).
    const whole = this.markerWhole;
    // The hook's `start` first: refused, the run stops before its first checkpoint and any change.
    this.begun = (this.hookWhole ? this.hookStart() : Promise.resolve())
      .then(async () => this.freeStaleTemps())
      .then(async () => store.beginRun(this.plan, whole ? this.ctx.marker?.path : undefined))
      .then(async () => (whole ? this.putMarker() : undefined));
    this.begun.catch(() => {}); // awaited below
    // A first deploy uploads while its files are still being hashed: this thread is needed for the
    // uploads now; the worker goes on alone until the commit.
    this.local.pauseHashing();
    try {
      await this.ctx.pool.run(
        `create ${this.ctx.root}`,
        async (c) => makeDirs(c, this.ctx.root, this.ctx.quirks.knownDirs),
        true,
      );
      await this.testNamesFirst();
      const stale = Promise.all([this.removeStaleTemps(), this.removeStaleProbes()]);
      stale.catch(() => {}); // awaited below; a failure before that must not crash the process unhandled
      await this.clearMarkerDirsInTheWay();
      await this.deleteCaseTwins();
      await this.createDirsAndUpload();
      await stale;
      await this.begun;
      // Files get their mode before the commit (a temp goes live with it), folders after it (a mode
      // without write permission would stop the renames and deletes inside them).
      const filesMissed = await this.setModes('file', this.plan.chmods.files);
      await this.local.finishHashing(); // the commit records every file with its hash
      const keptDirs = await this.commitAndClean();
      const dirsMissed = await this.setModes('folder', this.plan.chmods.dirs);
      const modesSet = filesMissed === 0 && dirsMissed === 0;
      await this.removeMarkers();
      // The counts of the report: the folders made as the server answered MKD (see ExecResult.dirsMade).
      await this.ctx.hook?.call.end({ ...countPlan(this.plan), mkdir: this.dirsMade() });
      // A kept folder stays in the state only while it holds files the state lists (their deletes failed):
      // one that holds only files ftpship did not deploy can never be removed by it, and is left alone.
      const tracked = keptDirs.filter((d) => store.tracksFilesIn(d));
      await store.finish(
        this.local,
        this.plan,
        tracked,
        modesSet ? this.plan.modes : undefined,
        this.ctx.release,
      );
      return {
        bytesSent: this.bytesSent,
        dirsMade: this.dirsMade(),
        keptDirs,
        modesMissed: { files: filesMissed, dirs: dirsMissed },
      };
    } catch (err) {
      // Record what was confirmed, so a rerun sends only the rest (G1). Best effort: the server may be gone.
      // Folders being made now (priority tasks, not cut by a cancel) are awaited first: one made after this
      // save, unknown to the state, would never be removed, nor replaced by a file of that name.
      this.stopped = true;
      await this.dirsDone.catch(() => undefined);
      await store.save().catch((e: unknown) => this.ctx.unsaved?.(e));
      // After `start`: the hook's owner is told (the marker, if any, stays up: see removeMarkers).
      await this.ctx.hook?.call.failed(this.ctx.pool.cancelReason ?? err);
      throw err;
    }
  }

  /** Folders inside the target this run made (see {@link ExecResult.dirsMade}). */
  private dirsMade(): number {
    const inside = this.ctx.root === '/' ? '/' : `${this.ctx.root}/`;
    return [...this.made].filter((d) => d.startsWith(inside) && d !== inside).length;
  }

  private abs(rel: string): string {
    return remoteJoin(this.ctx.root, rel);
  }

  /** A folder the state lists (or its parent) was not on the server: said once, with what to do. */
  private folderGone(rel: string): void {
    this.ctx.store.filesGoneUnder(rel);
    this.warn(
      `the folder ${rel} was not on the server though ftpship deployed it (removed by hand?): it is made again.` +
        // After this run checked every file, those missing in it are being sent, and --verify would find nothing more.
        (this.ctx.checkedAll
          ? ''
          : ` The files it held that this run does not send are sent by the next deploy. Other files the state lists may be missing too: deploy once with --verify to find and send them`),
    );
  }

  private warn = (message: string): void => {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    this.ctx.reporter.warn?.(message);
  };

  /**
   * Orphans that differ from a path this run writes only by case go first (after the checkpoint that marks
   * them uncertain): on a case-insensitive server, deleting them after the upload would delete the new file.
   */
  private async deleteCaseTwins(): Promise<void> {
    if (this.plan.caseTwins.length + this.plan.caseTwinDirs.length === 0) return;
    await this.begun;
    await this.deleteFiles(this.plan.caseTwins);
    // A folder that holds files ftpship did not deploy stays (said so, and reported as kept): on a
    // case-sensitive server the file goes beside it; on a case-insensitive one its upload fails, naming it.
    this.twinDirsKept = await this.removeDirs(this.plan.caseTwinDirs);
  }

  /**
   * Leftover temps this run will not resume, removed before its first checkpoint: after a run stopped by a
   * full disk or quota, they hold the room that checkpoint needs (was: every rerun, --no-atomic too, failed
   * writing the state, until the user found and deleted them). Not one the server's state marks as committing,
   * nor one left to another server session (see removeStaleTemps). The state records them gone after it.
   */
  private async freeStaleTemps(): Promise<void> {
    const { store } = this.ctx;
    const early = this.plan.staleTemps.filter((t) => {
      const record = store.state.pending?.temps[t];
      return record !== undefined && record.left === undefined && !store.markedCommitting(t);
    });
    await forEachLimit(early, this.ctx.pool.capacity, async (t) => {
      if (await this.ctx.pool.run(`remove ${t}`, async (c) => removedFile(c, this.abs(t)))) this.freed.add(t);
    });
  }

  private async removeStaleTemps(): Promise<void> {
    if (this.plan.staleTemps.length === 0) return;
    // Not before the first checkpoint: the state on the server may still mark a leftover temp as committing
    // (a run cut in its commit phase), and a temp so marked that is gone counts as renamed over its target.
    await this.begun;
    await forEachLimit(this.plan.staleTemps, this.ctx.pool.capacity, async (t) => {
      const record = this.ctx.store.state.pending?.temps[t];
      const left = record?.left;
      const removed = await this.ctx.pool.run(`remove ${t}`, async (c) => {
        if (this.freed.has(t) || (await removedFile(c, this.abs(t)))) return true;
        // Refused, yet there (permissions): the deploy fails naming it, as before.
        if (left === undefined && (await remoteSize(c, this.abs(t))) >= 0) {
          await deleteFile(c, this.abs(t));
          return true;
        }
        return false;
      });
      // Not there: a server session may still hold it and put a part back (see TempGoneError): looked for by
      // each deploy, for a day at most.
      if (removed || (record !== undefined && left !== undefined && !leftInDay(record)))
        this.ctx.store.tempGone(t);
      else if (left === undefined) this.ctx.store.tempMissing(t);
    });
  }

  /** Removes the name tests' files cut runs left, under each name the server may have given them. */
  private async removeStaleProbes(): Promise<void> {
    if (this.staleProbes.length === 0) return;
    await this.begun; // recorded again by it, should this run be cut too
    await forEachLimit(this.staleProbes, this.ctx.pool.capacity, async (p) => {
      await this.ctx.pool.run(`remove ${p}`, async (c) => this.removeProbe(c, p));
    });
  }

  /** Deletes a name test's file under each name it may be stored as; then it leaves the state. */
  private async removeProbe(c: FtpClient, rel: string): Promise<void> {
    for (const n of probeNames(this.abs(rel)))
      // One ending in `*` is a folder (see nameKept).
      await (n.endsWith('*') ? c.rmd(n) : c.delete(n)).catch((err: unknown) => {
        if (!(err instanceof FtpReplyError)) throw err;
      });
    this.ctx.store.probeGone(rel);
  }

  /**
   * The name test's file for names ending as `rel` does, in `rel`'s folder (for the first such path of the
   * run), recorded in the state before it is written (a run cut between its upload and its delete left it for
   * good). Awaited outside any connection's task: the save needs a connection.
   */
  private async probeRecorded(rel: string): Promise<void> {
    const ending = probeEnding(rel);
    let file = this.probeFiles.get(ending);
    if (!file) {
      // A path never ends in a backslash (a Windows server's separator; the state refuses one).
      const name = `ftpship-name-test-${crypto.randomBytes(6).toString('hex')}${ending === '\\' ? '\\_' : ending}`;
      const probe = parentOf(rel) ? `${parentOf(rel)}/${name}` : name;
      file = (async () => {
        await this.begun;
        await this.ctx.store.probeAdded(probe);
        return probe;
      })();
      this.probeFiles.set(ending, file);
    }
    await file;
  }

  /**
   * Before any file or folder of the site is written: when the plan makes a name ending in a space or a dot,
   * the name test runs now (its file in the target folder, made already), and a name the server would not
   * keep fails the run here, naming the first such path and its --exclude. Tested later, at the upload or
   * the MKD, the other files had gone up and the state was written by then.
   */
  private async testNamesFirst(): Promise<void> {
    const tested = (rel: string): boolean => probeEndings(rel).length > 0;
    const dirs = this.plan.mkdirs.filter(
      (d) => (tested(d) || baseName(d).includes('*')) && !this.fileToDir.has(d),
    );
    const files = this.plan.uploads.map((u) => u.file.path).filter(tested);
    const first = new Map<string, { rel: string; kind: 'file' | 'folder' }>();
    for (const [rel, kind] of [
      ...dirs.map((d) => [d, 'folder'] as const),
      ...files.map((f) => [f, 'file'] as const),
    ].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const endings = [
        ...probeEndings(rel),
        ...(kind === 'folder' && baseName(rel).includes('*') ? ['*'] : []),
      ];
      for (const ending of endings) if (!first.has(ending)) first.set(ending, { rel, kind });
    }
    for (const [ending, { rel, kind }] of first) {
      // In the target folder (rel's own may not be made yet), under a name ending as the test is for.
      const as = `x${ending}`;
      await this.probeRecorded(as);
      const kept = await this.ctx.pool.run(`test the name ${rel}`, async (c) => this.nameKept(c, as));
      const refusal = this.refusals.get(ending);
      if (kept === false && refusal)
        throw new DeployError(
          ending === '*'
            ? `the server refused the folder name ${JSON.stringify(this.abs(rel))} when tested: a folder whose name held "*" was refused (${refusal.code} ${oneLine(refusal.serverMessage)}; proftpd refuses "*" in folder names); nothing was sent; rename it locally or leave it out with ${excludeOption(rel)}`
            : `the server refused the ${kind} name "${this.abs(rel)}" when tested: a file whose name held a backslash was refused (${refusal.code} ${oneLine(refusal.serverMessage)}; pure-ftpd refuses any name with a backslash, and Windows servers read it as a folder separator); nothing was sent; rename it locally or leave it out with ${excludeOption(rel)}`,
          { path: rel },
        );
      if (kept === false)
        throw ending === ' ' || ending === '.'
          ? renamedByServer(this.abs(rel), rel, kind, undefined, true)
          : renamedByServer(
              this.abs(rel),
              rel,
              kind,
              undefined,
              false,
              ending === '"' ? 'a double quote' : 'a control character',
            );
    }
  }

  /** Resolves once `rel` exists on the server (folders not planned already exist). */
  private async ensureDir(rel: string): Promise<void> {
    await this.dirReady.get(rel);
  }

  /**
   * Creates the planned folders a level at a time (parents before children), each level's MKDs pipelined
   * in batches spread over the connections: one round trip per batch instead of one per folder.
   */
  // eslint-disable-next-line @typescript-eslint/promise-function-async -- the chain of level promises is the point
  private startDirs(): Promise<void> {
    const byDepth = new Map<number, string[]>();
    for (const d of this.plan.mkdirs) byDepth.set(depthOf(d), [...(byDepth.get(depthOf(d)) ?? []), d]);
    let previous: Promise<void> = Promise.resolve();
    for (const depth of [...byDepth.keys()].sort((a, b) => a - b)) {
      const level = byDepth.get(depth) ?? [];
      const ready = previous.then(async () => this.makeLevel(level));
      ready.catch(() => {});
      for (const d of level) this.dirReady.set(d, ready);
      previous = ready;
    }
    return previous;
  }

  private async makeLevel(dirs: string[]): Promise<void> {
    // A file that becomes a folder leaves the state before it is deleted: the checkpoint is awaited here, not
    // in the batch. A batch holding its connection while it waits would starve the checkpoint of one when a
    // cut left no other (the run then stalled with nothing left to wake it, and the CLI exited 0, undone).
    // On a later deploy every folder does (as new files do: see upload), so none made before a kill is unknown.
    if (!this.firstDeploy || dirs.some((d) => this.fileToDir.has(d))) await this.begun;
    for (const d of dirs) if (alteredName(d) && !this.fileToDir.has(d)) await this.probeRecorded(d);
    await this.inBatches(dirs, 'create folders', async (c, batch) => this.makeBatch(c, batch));
  }

  /**
   * Runs `fn` over `items` cut into batches spread over the connections (at most 64 per batch), each
   * batch on one connection: a batch's commands go pipelined, one round trip for the lot.
   */
  private async inBatches<T>(
    items: T[],
    what: string,
    fn: (c: FtpClient, batch: T[]) => Promise<void>,
  ): Promise<void> {
    // Spread over the connections asked for, not those logged in so far (the batch sizes would depend on timing).
    const per = Math.min(64, Math.max(1, Math.ceil(items.length / this.ctx.pool.capacity)));
    const batches: T[][] = [];
    for (let i = 0; i < items.length; i += per) batches.push(items.slice(i, i + per));
    await Promise.all(
      batches.map(async (batch) =>
        this.ctx.pool
          .run(`${what} (${batch.length})`, async (c) => fn(c, batch), true)
          .catch((err: unknown) => {
            // The connection kept failing: the bare socket error said neither the step nor to run again.
            throw isTransientError(err) && !(err instanceof FtpReplyError)
              ? describe(err, `${what} (${batch.length})`)
              : err;
          }),
      ),
    );
  }

  private async makeBatch(c: FtpClient, batch: string[]): Promise<void> {
    // Cancelled or failed: no new folder (the rest of the run is not coming). Not retried (a DeployError).
    if (this.ctx.pool.cancelReason) throw this.ctx.pool.cancelReason;
    if (this.stopped) throw new DeployError('the deploy stopped before these folders were made');
    const swaps = batch.filter((d) => this.fileToDir.has(d)); // after the checkpoint (see makeLevel)
    for (const d of swaps) {
      await deleteFile(c, this.abs(d));
      if (await makeDir(c, this.abs(d))) this.dirMade(this.abs(d));
      this.ctx.store.dirCreated(d, true);
    }
    const plain = batch.filter((d) => !this.fileToDir.has(d));
    for (const d of plain)
      if (alteredName(d) && (await this.nameKept(c, d)) === false)
        throw renamedByServer(this.abs(d), d, 'folder', undefined, true);
    // Sent before, in a batch cut short: a folder there now was most likely made by that MKD, its reply lost.
    const retried = new Set(plain.filter((d) => this.mkdSent.has(d)));
    for (const d of plain) this.mkdSent.add(d);
    const replies = await c.pipeline(plain.map((d) => `MKD ${this.abs(d)}`));
    for (const [i, reply] of replies.entries()) {
      const d = plain[i];
      if (reply.code >= 400 && reply.code < 500)
        throw new FtpReplyError(reply.code, reply.message, `MKD ${this.abs(d)}`);
      // 550 on MKD says nothing about whether the folder exists (ftp-servers.md): look.
      if (reply.code >= 500 && !(await dirExists(c, this.abs(d)))) {
        // Its parent, a folder the state lists, removed by hand: made again (every deploy would fail here).
        const parent = parentOf(d);
        if (parent === '' || (await dirExists(c, this.abs(parent)))) {
          // Refused as there is a folder already, under the name the server gives this one (an earlier run's).
          const made = alteredName(d) ? await this.storedAs(c, d) : undefined;
          if (made !== undefined) throw renamedByServer(this.abs(d), d, 'folder', made);
          if (!(await this.madeAgain(c, d)))
            throw await folderRefused(c, this.abs(d), `${reply.code} ${reply.message}`, undefined, d);
        }
        this.folderGone(parent);
        await makeDirs(c, this.abs(d), undefined, this.dirMade);
      } else if (reply.code < 300 || retried.has(d)) this.dirMade(this.abs(d));
      if (alteredName(d) && !(await dirExists(c, this.abs(d))))
        throw renamedByServer(this.abs(d), d, 'folder', await this.storedAs(c, d));
      if (rewrittenName(d) && (await listedAs(c, this.abs(d), 'dir')) === false) {
        // Made just now under the other name (the server rewrites the name in RMD alike): not left behind.
        if (reply.code < 300) await c.rmd(this.abs(d)).catch(() => undefined);
        throw renamedByServer(this.abs(d), d, 'folder');
      }
      this.ctx.store.dirCreated(d, false);
    }
  }

  /**
   * A folder whose MKD was refused though its parent is there now: one MKD more. The parent may have been
   * missing when the first went and made since by another connection (an upload that found the folder the
   * state lists gone, see upload; was: "cannot create folder", exit 1). True once the folder is there.
   */
  private async madeAgain(c: FtpClient, d: string): Promise<boolean> {
    if (parentOf(d) === '') return false;
    try {
      await c.mkd(this.abs(d));
      this.dirMade(this.abs(d));
      return true;
    } catch (err) {
      if (!(err instanceof FtpReplyError) || err.code < 500) throw err;
      return dirExists(c, this.abs(d));
    }
  }

  private async createDirsAndUpload(): Promise<void> {
    const dirs = this.startDirs();
    this.dirsDone = dirs;
    // Enough tasks in flight to keep every connection busy while folders are being made.
    await forEachLimit(this.plan.uploads, this.ctx.pool.capacity + 2, async (item) => this.upload(item));
    await dirs;
  }

  private async upload(item: UploadItem): Promise<void> {
    // A temp must be recorded before it is written (so a rerun can resume or remove it), and a file the
    // state lists must leave it before it is overwritten in place: both wait for the first checkpoint.
    // With a maintenance marker for the whole run, everything waits for it (it goes up right after). So does
    // a new file, unless this is a first deploy: sent before the checkpoint that marks it uncertain, then
    // killed, it was unknown to the rerun, and left on the server for good, untracked, once gone locally. (A
    // first deploy keeps the overlap: a rerun of one cut that early is a first deploy again, knowing nothing.)
    if (item.temp || item.action === 'replace' || this.whole || !this.firstDeploy) await this.begun;
    if (item.temp) {
      void item.file.hashed?.then(
        () => this.ctx.store.tempHashed(item),
        () => undefined,
      );
    }
    const target = item.temp ?? item.file.path;
    await this.ensureDir(parentOf(target)).catch((err: unknown) => {
      // Its folder was never made (MKD refused, the deploy stopped first): nothing went to a temp this run
      // named, so it is not kept as pending (was: marked left by the next deploy, and looked for by each for a
      // day). One an earlier run recorded may hold a part, and stays.
      if (item.temp !== undefined && item.mayExist !== true) this.ctx.store.tempGone(item.temp);
      throw err;
    });
    if (!item.temp && alteredName(target)) await this.probeRecorded(target);
    // Only a temp recorded by an earlier run is known to hold a part of these bytes; after a failed attempt
    // in this run, a temp this run wrote to does too. Not one an attempt failed before writing to: it may be
    // what a cut run of other content left (--upload-only names temps after the path alone), and resuming it
    // would splice two files into the live one.
    let resume = item.mayExist === true;
    let sentThisFile = 0;
    // Temps it was to resume, left (see TempHeldError, TempGoneError): each removed (if there) before the file
    // goes whole under a new name; how many so far.
    const left = new Set<string>();
    let renamed = 0;
    const attempt = async (): Promise<void> =>
      this.ctx.pool.run(`upload ${item.file.path}`, async (c) => {
        this.unprogress(sentThisFile);
        sentThisFile = 0;
        const resumeNow = resume;
        const to = item.temp ?? item.file.path;
        for (const t of [...left]) {
          await this.removeLeft(c, t);
          left.delete(t);
        }
        const send = async (): Promise<number> =>
          uploadFile(c, this.abs(to), item.file, {
            resume: resumeNow,
            renameGone: renamed < MAX_TEMP_RENAMES,
            heldMs: renamed < MAX_TEMP_RENAMES ? heldMs(this.ctx.timeoutMs) : undefined,
            inPlace: item.temp === undefined,
            quirks: this.ctx.quirks,
            warn: this.warn,
            onBytes: (n) => {
              sentThisFile += n;
              // Bytes went: the server opened the temp for this upload (STOR truncates, REST continues ours).
              if (n > 0 && item.temp !== undefined) resume = true;
              this.addBytes(n);
            },
          });
        // Sent under a name the server changes, it would land on (and overwrite) another file: not sent.
        if (!item.temp && alteredName(to) && (await this.nameKept(c, to)) === false)
          throw renamedByServer(this.abs(to), to, 'file', undefined, true);
        try {
          await send();
        } catch (err) {
          if (!(err instanceof FtpReplyError) || (err.code !== 550 && err.code !== 553)) throw err;
          // Written in place over a folder the state does not list (one an exclude left, or made by hand).
          if (!item.temp && (await dirExists(c, this.abs(to))))
            throw await folderInTheWay(c, this.abs(to), to);
          // The state said the folder exists but it is gone (changed by hand): make it again, once.
          const parent = parentOf(to);
          if (parent !== '' && !(await dirExists(c, this.abs(parent)))) this.folderGone(parent);
          await makeDirs(c, this.abs(parent), undefined, this.dirMade);
          await send();
        }
        if (!item.temp) await this.confirmName(c, item.file.path, item.file.size);
      });
    const elsewhere = async (err: unknown): Promise<void> => {
      if (!(err instanceof TempHeldError || err instanceof TempGoneError) || item.temp === undefined)
        throw err;
      if (err instanceof TempHeldError)
        this.warn(
          `upload ${item.file.path}: ${err.message}; sending it whole under a new temporary name (the old one removed; the live file is not touched)`,
        );
      // Never the same name again: the session holding it may put its part back there at any time (see
      // TempGoneError). The new name is recorded before a byte goes to it, the old one kept for removal.
      left.add(item.temp);
      renamed++;
      resume = false;
      await this.renameTemp(item);
      return attempt().catch(elsewhere);
    };
    await attempt()
      .catch(elsewhere)
      .catch((err: unknown) => {
        throw describe(err, `upload ${item.file.path}`, item.file.path);
      });
    // The file is whole on the server: the bytes a resume skipped, or the attempt found sent, count too (was:
    // the last progress short of them, "2/2 files, 2 B of 286.1 MiB").
    this.progress.bytesDone += item.file.size - sentThisFile;
    this.progress.filesDone++;
    this.ctx.reporter.progress?.({ ...this.progress });
    // A first deploy uploads files before their hash is in (it is computed beside the uploads, and the
    // bytes read were checked to be the listed file's): the state records a file once both are done.
    if (item.temp) {
      this.ctx.store.tempUploaded();
    } else {
      await item.file.hashed;
      this.ctx.store.fileLive(item.file);
    }
  }

  private addBytes(n: number): void {
    this.bytesSent += n;
    this.progress.bytesDone += n;
    // Also while a file is under way (not only as each ends): a large file on a slow uplink takes minutes,
    // and a progress line that stood still that long looked like a hang.
    const now = Date.now();
    if (now - this.reportedAt < BYTES_PROGRESS_MS) return;
    this.reportedAt = now;
    this.ctx.reporter.progress?.({ ...this.progress });
  }

  private unprogress(n: number): void {
    this.progress.bytesDone -= n;
  }

  /**
   * Gives `item` a temp name of its own no other upload, file, folder or recorded temp has, recorded in the
   * state (saved now, before a byte goes to it; outside any connection's task: the save needs one), the old
   * name kept there as left behind (see StateStore.tempLeft). The mode it gets goes with it.
   */
  private async renameTemp(item: UploadItem): Promise<void> {
    // --upload-only records no temp (each is named after its path): the old name is removed and written again.
    if (!this.ctx.store.persists) return;
    const old = item.temp as string;
    const { state } = this.ctx.store;
    const used = new Set<string>([
      ...this.local.files.keys(),
      ...this.local.dirs,
      ...Object.keys(state.files),
      ...state.dirs,
      ...Object.keys(state.pending?.temps ?? {}),
      ...this.plan.uploads.flatMap((u) => (u.temp ? [u.temp] : [])),
    ]);
    let temp = old;
    for (let salt = 1; used.has(temp); salt++) temp = tempPathFor(item.file, salt, dotName(old));
    item.temp = temp;
    const i = this.plan.chmods.files.indexOf(old);
    if (i >= 0) this.plan.chmods.files[i] = temp;
    await this.ctx.store.tempLeft(item, old);
  }

  /**
   * Removes a temp left to another server session (see renameTemp): gone from the state only once removed
   * from the server (the session may put it back later), else a later deploy tries again.
   */
  private async removeLeft(c: FtpClient, rel: string): Promise<void> {
    if (await removedFile(c, this.abs(rel))) this.ctx.store.tempGone(rel);
  }

  /**
   * The commit phase: one checkpoint (temps marked committing, orphans marked uncertain), folders that
   * became files removed, then every temp renamed over its target and the orphans deleted, side by side,
   * in pipelined batches; then the orphan folders, deepest first.
   */
  private async commitAndClean(): Promise<string[]> {
    const staged = this.plan.uploads.filter((u) => u.temp);
    const swapped = staged.filter((u) => u.replacesDir).map((u) => u.file.path);
    const notSwapped = (p: string): boolean => !swapped.some((d) => atOrUnder(p, d));
    const twins = new Set(this.plan.caseTwins); // deleted before the uploads
    const deletes = this.plan.deletes.filter((p) => !twins.has(p));
    const files = deletes.filter(notSwapped);
    const twinDirs = new Set(this.plan.caseTwinDirs); // removed before the uploads
    const dirs = this.plan.rmdirs.filter((d) => notSwapped(d) && !twinDirs.has(d));
    if (staged.length + files.length + dirs.length === 0) return this.twinDirsKept;
    // Only new files to rename into place (no live file changes): no marker and no hook, as for small new files.
    const live = staged.some((u) => !u.newPath) || files.length + dirs.length > 0;
    // One checkpoint for the commit and the deletes (a save costs several round trips); it records the
    // maintenance marker, which then goes up before the first rename.
    const marker = this.ctx.marker && !this.markerWhole ? this.ctx.marker : undefined;
    // The hook's `start` before anything of the commit (a refusal leaves every live file as it was).
    if (live && this.ctx.hook && !this.hookWhole) await this.hookStart();
    if (live && marker) this.ctx.store.markerUp(marker.path);
    await this.ctx.store.beginCommit(staged, deletes);
    if (live && marker) await this.putMarker();
    for (const d of swapped) await this.removeTree(d);
    // Renames and deletes touch different paths: they share the batches (one round trip for most deploys).
    const steps: CommitStep[] = [
      ...staged.map((item) => ({ rename: item })),
      ...files.map((path) => ({ delete: path })),
    ];
    await this.inBatches(steps, 'rename and delete', async (c, batch) => this.commitBatch(c, batch));
    return [...this.twinDirsKept, ...(await this.removeDirs(dirs))];
  }

  /**
   * RNFR+RNTO pairs and DELEs in one write. A step the server refuses goes again alone, with its fallbacks
   * (delete + rename where rename-over is refused; a file already gone counts as deleted).
   */
  private async commitBatch(c: FtpClient, batch: CommitStep[]): Promise<void> {
    const from = (u: UploadItem): string => this.abs(u.temp as string);
    const to = (u: UploadItem): string => this.abs(u.file.path);
    const alone = (st: CommitStep): boolean => 'rename' in st && !!this.ctx.quirks.deleteBeforeRename;
    const commands = batch.flatMap((st) =>
      alone(st)
        ? []
        : 'rename' in st
          ? [`RNFR ${from(st.rename)}`, `RNTO ${to(st.rename)}`]
          : [`DELE ${this.abs(st.delete)}`],
    );
    const replies = commands.length > 0 ? await c.pipeline(commands) : [];
    let r = 0;
    for (const st of batch) {
      if ('rename' in st) {
        const u = st.rename;
        const ok = !alone(st) && replies[r].code === 350 && replies[r + 1].code < 300;
        if (!alone(st)) r += 2;
        if (!ok) {
          await renameOver(c, from(u), to(u), this.ctx.quirks, this.warn).catch(async (err: unknown) => {
            // Renamed already, by this batch's earlier attempt (cut before its replies came back).
            if (await this.renamedAlready(c, u)) return;
            if (err instanceof FtpReplyError && (await dirExists(c, to(u))))
              throw await folderInTheWay(c, to(u), u.file.path);
            throw describe(err, `rename ${u.temp} to ${u.file.path}`, u.file.path);
          });
        }
        await this.confirmName(c, u.file.path, u.file.size);
        this.ctx.store.fileLive(u.file, u.temp);
      } else {
        const reply = replies[r++];
        if (reply.code >= 300) {
          const failed = await deleteFile(c, this.abs(st.delete)).then(
            () => undefined,
            (err: unknown) => err,
          );
          // A folder there (SIZE of one is a 550 on most servers: "gone") is not a file deleted: nothing was.
          if (
            (failed === undefined || failed instanceof FtpReplyError) &&
            (await dirExists(c, this.abs(st.delete)))
          )
            throw folderNotDeleted(this.abs(st.delete), st.delete, reply);
          if (failed !== undefined) throw describe(failed, `delete ${st.delete}`, st.delete, true);
        }
        this.ctx.store.fileGone(st.delete);
      }
    }
  }

  /** The temp is gone and its target has the temp's size: the rename happened (as recoverCommits judges). */
  private async renamedAlready(c: FtpClient, u: UploadItem): Promise<boolean> {
    return (
      (await remoteSize(c, this.abs(u.temp as string))) < 0 &&
      (await remoteSize(c, this.abs(u.file.path))) === u.file.size
    );
  }

  /**
   * `SITE CHMOD` on `paths`: one alone first (a server without the command says so once), then the rest in
   * pipelined batches across the connections. A refusal is a warning, not a failure: the content is
   * deployed; false tells the caller not to record the mode as set, so the next deploy tries again.
   */
  /** Sends SITE CHMOD for each path; returns how many did not get the mode (0: all did). */
  private async setModes(kind: 'file' | 'folder', paths: string[]): Promise<number> {
    const mode = kind === 'file' ? this.plan.modes.file : this.plan.modes.dir;
    if (!mode || paths.length === 0) return 0;
    const flag = kind === 'file' ? '--file-mode' : '--dir-mode';
    const command = (p: string): string => `SITE CHMOD ${mode} ${this.abs(p)}`;
    const refused: Array<{ path: string; reply: FtpReply }> = [];
    const check = (path: string, reply: FtpReply): void => {
      if (reply.code >= 300) refused.push({ path, reply });
    };
    const [first, ...rest] = paths;
    const reply = (
      await this.ctx.pool.run(`set mode of ${first}`, async (c) => c.pipeline([command(first)]))
    )[0];
    if ([500, 502, 504].includes(reply.code)) {
      this.warn(
        `${flag} ${mode} not applied: the server does not support SITE CHMOD (${reply.code} ${reply.message}); ` +
          `${kind}s keep the server's permissions. Ask the host, or drop ${flag}.`,
      );
      return paths.length;
    }
    check(first, reply);
    await this.inBatches(rest, `set ${kind} modes`, async (c, batch) => {
      const replies = await c.pipeline(batch.map(command));
      for (const [i, r] of replies.entries()) check(batch[i], r);
    });
    if (refused.length === 0) return 0;
    const { path, reply: r } = refused[0];
    this.warn(
      `${flag} ${mode}: the server refused SITE CHMOD on ${refused.length} ${kind}(s), first ${this.abs(path)}: ` +
        `${r.code} ${r.message}; they keep their permissions (the next deploy tries again). Check that the user owns them.`,
    );
    return refused.length;
  }

  /** The hook's `start`, with the plan's counts (throws a DeployError when the hook does not answer 2xx). */
  private async hookStart(): Promise<void> {
    await this.ctx.hook?.call.start(countPlan(this.plan));
  }

  /** Puts the maintenance marker up (written atomically: a half-written marker could break the site). */
  private async putMarker(): Promise<void> {
    const m = this.ctx.marker;
    if (!m) return;
    const abs = this.abs(m.path);
    await this.ctx.pool
      .run(`put up ${m.path}`, async (c) => this.findMarkerDirs(c, m.path))
      .catch((err: unknown) => {
        throw describe(err, `put up the maintenance file ${m.path}`);
      });
    // Recorded before they are made: a rerun of a run that fails with the marker up removes them with it.
    await this.ctx.store.markerDirsAdded(this.markerDirs);
    let retry = false;
    await this.ctx.pool
      .run(`put up ${m.path}`, async (c) => {
        await makeDirs(c, parentOf(abs), this.ctx.quirks.knownDirs);
        // Was: every retry after a cut STOR of the copy waited on vsftpd's lock of it, and the deploy failed.
        if (retry && !this.ctx.quirks.noRename) await dropHeldUpload(c, `${abs}.tmp`);
        retry = true;
        await writeRemoteFileAtomic(c, abs, Buffer.from(m.content), this.ctx.quirks, this.warn);
      })
      .catch((err: unknown) => {
        throw describe(err, `put up the maintenance file ${m.path}`);
      });
    this.markerPut = true;
    this.ctx.reporter.info?.(`maintenance file ${m.path} is up`);
  }

  /**
   * Notes the folders the marker goes in that are not on the server: made for the marker alone (unless the
   * site has them), they go with it, so nothing is left behind that the state does not track.
   */
  private async findMarkerDirs(c: FtpClient, rel: string): Promise<void> {
    const parent = parentOf(rel);
    const known = this.ctx.quirks.knownDirs;
    if (parent === '' || known?.has(this.abs(parent)) || (await dirExists(c, this.abs(parent)))) return;
    let missing = false;
    for (const d of ancestorsOf(rel)) {
      missing ||= !(await dirExists(c, this.abs(d)));
      if (missing && !this.markerDirs.includes(d)) this.markerDirs.push(d);
    }
  }

  /**
   * Removes the folders made for a marker (this run's, and those an earlier run left with its marker),
   * deepest first, once the marker is down: not one the site deploys (the state tracks it), nor one that
   * is not empty (best effort: a folder that stays is harmless). Nor a path that is now a file of the site
   * (an earlier run's, recorded, then the folder removed and a file sent there by a run cut before its end):
   * ftp-srv's RMD deletes a file too, and the file went, the state still listing it.
   */
  private async removeMarkerDirs(): Promise<void> {
    const { dirs: deployedDirs, files } = this.ctx.store.state;
    const deployed = new Set(deployedDirs);
    const dirs = [...new Set([...this.markerDirs, ...this.staleMarkerDirs])].sort(
      (a, b) => depthOf(b) - depthOf(a) || (a < b ? -1 : 1),
    );
    for (const d of dirs) {
      if (this.local.dirs.has(d) || deployed.has(d) || this.local.files.has(d) || Object.hasOwn(files, d))
        continue;
      await this.ctx.pool
        .run(`remove folder ${d}`, async (c) => c.rmd(this.abs(d)))
        .then(() => this.ctx.quirks.knownDirs?.delete(this.abs(d)))
        .catch(() => undefined);
    }
  }

  /**
   * A folder an earlier run made for its marker (recorded, then the run cut before it removed it) where the
   * site now has a file: it goes before the uploads, with the earlier run's marker (and its temporary copy) if
   * they are in it, so the file can be sent there. One that holds anything else stays, with an error saying so.
   */
  private async clearMarkerDirsInTheWay(): Promise<void> {
    const inTheWay = this.staleMarkerDirs.filter((d) => this.local.files.has(d));
    if (inTheWay.length === 0) return;
    const stale = this.staleMarker;
    const within = (p: string): boolean => inTheWay.some((d) => atOrUnder(p, d));
    if (stale !== undefined && within(stale)) {
      for (const p of [stale, `${stale}.tmp`]) {
        await this.ctx.pool
          .run(`take down ${p}`, async (c) => deleteFile(c, this.abs(p)))
          .catch((err: unknown) => {
            throw describe(err, `remove the maintenance file ${p}`);
          });
      }
    }
    // Deepest first: the marker's folders inside one in the way go before it.
    const dirs = this.staleMarkerDirs
      .filter(within)
      .sort((a, b) => depthOf(b) - depthOf(a) || (a < b ? -1 : 1));
    for (const d of dirs) {
      await this.ctx.pool.run(`remove folder ${d}`, async (c) => {
        // Only a folder: ftp-srv's RMD deletes a file too.
        if (!(await dirExists(c, this.abs(d)))) return;
        await c.rmd(this.abs(d)).catch(async (err: unknown) => {
          if (!(await dirExists(c, this.abs(d)))) return;
          throw new DeployError(
            `cannot upload ${d}: the server has a folder there (${this.abs(d)}), made by an earlier deploy for its ` +
              `maintenance file, that is not empty now (${err instanceof Error ? err.message : String(err)}); ` +
              `remove or rename that folder on the server, rename the local file, or leave it out with ${excludeOption(d)}`,
          );
        });
        this.ctx.quirks.knownDirs?.delete(this.abs(d));
      });
    }
  }

  /** Takes down this run's marker, and one an earlier run left up; a marker already gone is fine. */
  private async removeMarkers(): Promise<void> {
    const paths = new Set([
      ...(this.markerPut && this.ctx.marker ? [this.ctx.marker.path] : []),
      // An earlier run's marker, unless a file of that name is now deployed (the option changed meanwhile).
      ...(this.staleMarker !== undefined && !this.local.files.has(this.staleMarker)
        ? [this.staleMarker]
        : []),
    ]);
    for (const p of paths) {
      await this.ctx.pool
        .run(`take down ${p}`, async (c) => deleteFile(c, this.abs(p)))
        .catch((err: unknown) => {
          throw describe(err, `remove the maintenance file ${p}`);
        });
      this.ctx.reporter.info?.(`maintenance file ${p} removed`);
    }
    // A run killed while writing its marker may have left the marker's temporary copy (best effort).
    if (this.staleMarker !== undefined) {
      const tmp = this.abs(`${this.staleMarker}.tmp`);
      await this.ctx.pool.run(`remove ${tmp}`, async (c) => deleteFile(c, tmp)).catch(() => undefined);
    }
    await this.removeMarkerDirs();
  }

  /** Removes a deployed folder tree (a folder that became a file): its orphan files, then its folders. */
  private async removeTree(dir: string): Promise<void> {
    const inside = (p: string): boolean => atOrUnder(p, dir);
    await this.deleteFiles(this.plan.deletes.filter(inside));
    const kept = await this.removeDirs(this.plan.rmdirs.filter(inside), true);
    const other = kept.find((d) => this.otherTargets.has(d));
    if (other !== undefined) {
      throw new DeployError(
        `cannot replace folder ${this.abs(dir)} with a file: ${other === dir ? 'it is' : `it holds ${this.abs(other)},`} the ` +
          `target of another ftpship deploy (its state ${other}/${DEFAULT_STATE_NAME} is there), which ftpship never removes; ` +
          `rename the local file, or leave it out with ${excludeOption(dir)}`,
      );
    }
    if (kept.length > 0) {
      throw new DeployError(
        `cannot replace folder ${this.abs(dir)} with a file: it holds files ftpship did not deploy; remove them or rename the file`,
      );
    }
  }

  /** DELE in pipelined batches, as in the commit phase. */
  private async deleteFiles(files: string[]): Promise<void> {
    const steps: CommitStep[] = files.map((path) => ({ delete: path }));
    await this.inBatches(steps, 'delete', async (c, batch) => this.commitBatch(c, batch));
  }

  /**
   * A name ending in a space or a dot is one some servers store under another name (pure-ftpd turns a
   * trailing space into `_`; Windows servers drop trailing spaces and dots): look for the exact name
   * before the state records it (G4). One SIZE, for such names only (without SIZE, the folder's listing).
   */
  private async confirmName(c: FtpClient, rel: string, size: number): Promise<void> {
    if (alteredName(rel) && (await fileThere(c, this.abs(rel))) !== true)
      throw renamedByServer(this.abs(rel), rel, 'file', await this.storedAs(c, rel, size));
    // SIZE cannot tell here: the server rewrites the name in every command alike, SIZE's too.
    if (rewrittenName(rel) && (await listedAs(c, this.abs(rel), 'file')) === false) {
      // The copy just stored under the other name goes (the server rewrites the name in DELE alike): an
      // exclude that then leaves this path alone would leave it behind for good.
      await c.delete(this.abs(rel)).catch(() => undefined);
      throw renamedByServer(this.abs(rel), rel, 'file');
    }
  }

  /**
   * Whether the server keeps a name ending as `rel` does (in a space or a dot) as sent, found once a run for
   * each ending with an empty test file of a name of ftpship's own in `rel`'s folder, removed after: pure-ftpd
   * stores "a " as "a_" (STOR, RNTO and MKD alike), Windows servers drop trailing spaces and dots. Sent
   * under its own name, such a file would land on, and overwrite, the site's "a_" (or "a"), and leave a copy
   * no deploy removes. Undefined when the test file could not be written (the upload then says why).
   */
  private async nameKept(c: FtpClient, rel: string): Promise<boolean | undefined> {
    const ending = probeEnding(rel);
    let probe = this.nameProbes.get(ending);
    if (!probe) {
      probe = (async () => {
        // Recorded in the state before this task (see probeRecorded).
        const file = await this.probeFiles.get(ending);
        if (file === undefined) throw new Error(`internal: no name test recorded for ${rel}`);
        const abs = this.abs(file);
        try {
          // A folder for `*` (proftpd refuses it in MKD, not in STOR).
          if (ending === '*') await c.mkd(abs);
          else await c.upload(abs, Buffer.alloc(0));
        } catch (err) {
          if (!(err instanceof FtpReplyError)) throw err;
          await this.removeProbe(c, file); // whatever the refusal left
          // "553 Prohibited file name" (pure-ftpd): a backslash refused in any name.
          if (ending === '\\' && err.code === 553) this.refusals.set(ending, err);
          // "550 …: Invalid directory name" (proftpd): the folder is not there after it.
          if (ending === '*' && err.code >= 550 && !(await dirExists(c, abs))) this.refusals.set(ending, err);
          return this.refusals.has(ending) ? false : undefined;
        }
        // Not found under its name, but under another: not kept (a server without SIZE cannot tell). A
        // server that rewrites a tab or a quote does so in SIZE too: only the folder's listing tells.
        const others = probeNames(abs).filter((n) => n !== abs);
        let kept: boolean | undefined;
        // A backslash: only whether the server refuses it is tested (a Windows server, or ftp-srv, reads it
        // as a separator; the clash that makes is refused before any change, see deploy).
        if (ending === '\\' || ending === '*') kept = true;
        else if (ending === '\t' || ending === '"') kept = await listedAs(c, abs, 'file');
        else {
          // A Windows server (IIS, FileZilla Server) drops the trailing spaces and dots in every command
          // alike: SIZE of "x " finds the "x" it stored. Only the folder's listing shows which name is there.
          kept = await listedAs(c, abs, 'file');
          if (kept === undefined) kept = (await remoteSize(c, abs)) >= 0 ? true : undefined;
          for (const other of kept ? [] : others) if ((await remoteSize(c, other)) >= 0) kept = false;
        }
        // The test file under each name the server may have given it (every one of them ftpship's own).
        await this.removeProbe(c, file);
        return kept;
      })();
      this.nameProbes.set(ending, probe);
      // Cut by a connection failure: the retry tests again.
      probe.catch(() => this.nameProbes.delete(ending));
    }
    return probe;
  }

  /**
   * Where the server most likely stored a file whose name ends in a space or a dot, for the error to name it (it
   * is not removed: a file of that name may be the site's own): pure-ftpd turns trailing spaces into `_`,
   * Windows servers drop trailing spaces and dots. The first such name holding a file of this size (or, with
   * no size, a folder).
   */
  private async storedAs(c: FtpClient, rel: string, size?: number): Promise<string | undefined> {
    const dir = parentOf(rel);
    const name = baseName(rel);
    const guesses = [name.replace(/ +$/, (m) => '_'.repeat(m.length)), name.replace(/[ .]+$/, '')];
    for (const guess of new Set(guesses.filter((g) => g !== '' && g !== name))) {
      const abs = this.abs(dir ? `${dir}/${guess}` : guess);
      const found =
        size === undefined
          ? await dirExists(c, abs).catch(() => false)
          : (await remoteSize(c, abs).catch(() => -1)) === size;
      if (found) return abs;
    }
    return undefined;
  }

  /** A local folder has this name but for case (on a case-insensitive server, the same folder). */
  private sameFolderOnServer(rel: string): boolean {
    const folded = foldCase(rel);
    for (const d of this.local.dirs) if (foldCase(d) === folded) return true;
    return false;
  }

  /**
   * Removes folders deepest first, a level at a time; returns those that are not empty. `swap`: they make way
   * for a file, whose error says why one stays (no warning that later deploys leave it alone: they try again).
   */
  private async removeDirs(dirs: string[], swap = false): Promise<string[]> {
    const kept: string[] = [];
    const depths = [...new Set(dirs.map(depthOf))].sort((a, b) => b - a);
    for (const depth of depths) {
      const level = dirs.filter((d) => depthOf(d) === depth);
      for (const d of level.filter((x) => kept.some((k) => ancestorsOf(k).includes(x)))) kept.push(d);
      await forEachLimit(
        level.filter((d) => !kept.includes(d)),
        this.ctx.pool.capacity,
        async (d) => {
          try {
            await this.ctx.pool.run(`remove folder ${d}`, async (c) => c.rmd(this.abs(d)));
            this.ctx.store.dirGone(d);
          } catch (err) {
            if (!(err instanceof FtpReplyError)) throw describe(err, `remove folder ${d}`);
            if (this.sameFolderOnServer(d)) {
              // A folder renamed only in case (Img/ -> img/) on a case-insensitive server: it is the
              // local folder, full of this run's files. Not an orphan any more.
              this.ctx.store.dirGone(d);
              return;
            }
            // Not a folder any more: removed by a run cut before its state said so (a folder that became a
            // file: the rerun must still rename the file in), or the new file already stands there.
            if (!(await this.ctx.pool.run(`look at ${d}`, async (c) => dirExists(c, this.abs(d))))) {
              this.ctx.store.dirGone(d);
              return;
            }
            // The target of another deploy, inside this one's (/site/blog beside /site): its own, never to go.
            const other = `${d}/${DEFAULT_STATE_NAME}`;
            if (
              !this.ctx.store.tracksFilesIn(d) &&
              (await this.ctx.pool.run(`look at ${other}`, async (c) => remoteSize(c, this.abs(other)))) >= 0
            ) {
              this.warn(
                `kept folder ${d}: it holds ${other}, the state of another ftpship deploy (to ${this.abs(d)}); left to that deploy`,
              );
              kept.push(d);
              this.otherTargets.add(d);
              return;
            }
            if (!swap)
              this.warn(
                this.ctx.store.tracksFilesIn(d)
                  ? `kept folder ${d}: ${err.code} ${err.serverMessage} (it may hold files ftpship did not deploy)`
                  : `kept folder ${d}: ${err.code} ${err.serverMessage} (it holds files ftpship did not deploy, or the server will not remove it); later deploys leave it alone: remove it by hand if it should go`,
              );
            kept.push(d);
          }
        },
      );
    }
    return kept;
  }
}

/** The last character of the name test's file for `rel` (see {@link probeEndings}). */
function probeEnding(rel: string): string {
  // Called for a name ending in a space or a dot, or (testNamesFirst) one ending as the test is for.
  return rel.slice(-1);
}

/**
 * What a name test must try for `rel`'s last segment: a space or a dot at its end (servers may alter these
 * when they create it), a tab for a control character in it, a double quote (servers may rewrite those in
 * every command).
 */
function probeEndings(rel: string): string[] {
  const endings: string[] = [];
  if (rel.endsWith(' ')) endings.push(' ');
  else if (rel.endsWith('.')) endings.push('.');
  if (rewrittenName(rel)) {
    const name = rel.slice(rel.lastIndexOf('/') + 1);
    if ([...name].some((ch) => ch < ' ' || ch === '\x7f')) endings.push('\t');
    if (name.includes('"')) endings.push('"');
  }
  if (baseName(rel).includes('\\')) endings.push('\\');
  return endings;
}

/** The last segment ends in a space or a dot: a name servers may alter when they create it. */
function alteredName(rel: string): boolean {
  return /[ .]$/.test(rel);
}

/**
 * The last segment holds a character some servers rewrite in every command that names a path: pure-ftpd
 * turns control characters (a tab) into `_`, ftp-srv drops double quotes. SIZE of the name then finds the
 * rewritten file; only a listing of the folder shows which name was stored. (A name with a backslash is
 * left out: listings drop such names.)
 */
function rewrittenName(rel: string): boolean {
  const name = rel.slice(rel.lastIndexOf('/') + 1);
  if (name.includes('\\')) return false;
  for (const ch of name) if (ch < ' ' || ch === '\x7f' || ch === '"') return true;
  return false;
}

/**
 * A local file goes where the server has a folder ftpship did not deploy (the state does not list it: an
 * exclude left it there, or it was made by hand, or by another deploy to it): it is never removed, so the file
 * cannot go there. A folder holding another deploy's state is that deploy's target: said so, and not to remove
 * it (was: "remove or rename that folder on the server", which would take that deploy's site down).
 */
async function folderInTheWay(c: FtpClient, abs: string, rel: string): Promise<DeployError> {
  for (const name of [DEFAULT_STATE_NAME, FDA_STATE_NAME]) {
    if ((await fileThere(c, `${abs}/${name}`).catch(() => undefined)) !== true) continue;
    const who = name === FDA_STATE_NAME ? 'an FTP-Deploy-Action deploy' : 'another ftpship deploy';
    return new DeployError(
      `cannot upload ${rel}: the server has a folder there (${abs}), the target of ${who} (its state ${rel}/${name} is there), which ftpship never removes; rename the local file, or leave it out with ${excludeOption(rel)}`,
    );
  }
  return new DeployError(
    `cannot upload ${rel}: the server has a folder there (${abs}) that ftpship did not deploy, and it never removes one; remove or rename that folder on the server, rename the local file, or leave it out with ${excludeOption(rel)}`,
    { path: rel },
  );
}

/**
 * A file the plan deletes (one the state lists, or knows only as uncertain: its upload failed) is a folder on the
 * server: the DELE was refused and nothing was deleted (was: counted as a file already gone, and reported deleted).
 */
function folderNotDeleted(abs: string, rel: string, dele: FtpReply): DeployError {
  return new DeployError(
    `cannot delete file ${rel}: the server has a folder there (${abs}; DELE: ${dele.code} ${dele.message.replace(/\.+$/, '')}), which ftpship did not deploy and never removes; nothing was deleted there. Remove or rename that folder on the server, or leave the path out with ${excludeOption(rel)}`,
    { path: rel },
  );
}

function renamedByServer(
  abs: string,
  rel: string,
  kind: 'file' | 'folder',
  storedAs?: string,
  tested = false,
  held?: string,
): DeployError {
  if (held !== undefined)
    return new DeployError(
      `the server did not keep the ${kind} name ${JSON.stringify(abs)} when tested: a file whose name held ${held} was stored under another name (pure-ftpd turns a control character such as a tab into "_"; some servers drop a double quote); nothing was sent under it; rename it locally or leave it out with ${excludeOption(rel)}`,
      { path: rel },
    );
  if (tested)
    return new DeployError(
      `the server did not keep the ${kind} name ${JSON.stringify(abs)} when tested: a file whose name ended in ${abs.endsWith(' ') ? 'a space' : 'a dot'} was stored under another name (pure-ftpd turns a trailing space into "_"; Windows servers drop trailing spaces and dots), where it would land on a file or folder of that name; nothing was sent under it; rename it locally or leave it out with ${excludeOption(rel)}`,
      { path: rel },
    );
  const left =
    storedAs === undefined
      ? ''
      : kind === 'file'
        ? `; the copy sent is most likely ${JSON.stringify(storedAs)} (a file of its size is there): remove that by hand unless the site has a file of that name`
        : `; the folder made is most likely ${JSON.stringify(storedAs)} (a folder of that name is there): remove that by hand unless the site has a folder of that name`;
  return new DeployError(
    `the server did not keep the ${kind} name ${JSON.stringify(abs)} (it stored it under another name, as some servers do with a trailing space or dot, a control character such as a tab, or a double quote); rename it locally or leave it out with ${excludeOption(rel)}${left}`,
    { path: rel },
  );
}

/** What to do about a server out of room, and why a temp needs more of it. */
function noRoom(err: FtpReplyError): string {
  return `free space on the server or ask the host for more, then run again${TEMP_COMMAND.test(err.command) ? '; until the commit, a file replaced through a temporary name takes room twice (--no-atomic writes in place)' : ''}`;
}

/** What the FTP client added to a refusal's message after the server's text (what to try); '' for nothing. */
function clientAdvice(err: FtpReplyError): string {
  const bare = `${err.command ? `${err.command}: ` : ''}${err.code} ${err.serverMessage}`;
  return err.message.startsWith(bare) ? err.message.slice(bare.length) : '';
}

/** Wraps an error so its message names the path and what to try. */
export function describe(err: unknown, what: string, local?: string, deleting = false): Error {
  if (err instanceof DeployError) return err;
  if (err instanceof FtpReplyError) {
    const nameRefused =
      local !== undefined &&
      // 553: "file name not allowed" (pure-ftpd refuses a backslash so); vsftpd says it for permissions too.
      // proftpd's PathDenyFilter (hosts list .htaccess there) answers 550 "Forbidden filename"; vsftpd's
      // deny_file (.user.ini, .ftpaccess) a bare 550 "Permission denied.", as for permissions.
      // Not a name the user chose (a temporary file's), nor one refused for the folder's permissions.
      (dotName(local) || !(TEMP_COMMAND.test(err.command) || /permission denied/i.test(err.serverMessage))) &&
      (err.code === 553 ||
        (err.code === 550 &&
          (/forbidden file ?name|prohibited file ?name/i.test(err.serverMessage) || dotName(local))));
    // A file written, renamed or deleted: the folder it is in is what the user must be allowed to write.
    const arg = /^(?:STOR|APPE|DELE|RNTO) (.*\/)[^/]*$/.exec(err.command)?.[1];
    const folder = arg === undefined ? '' : ` on the server folder ${arg === '/' ? arg : arg.slice(0, -1)}`;
    const check = `check the path, the name and the user's permissions${folder}`;
    const long = local === undefined ? '' : nameTooLong(local);
    const hint =
      err.code === 530
        ? 'check the user and password'
        : err.code === 552 || err.code === 452
          ? // 552 "exceeded storage allocation", 452 "insufficient storage": a quota or a full disk
            `the server has no room for it: the account's disk quota or the disk is full; ${noRoom(err)}`
          : writeFailed(err)
            ? `the server could not write it, most often because its disk or the account's disk quota is full; ${noRoom(err)}`
            : nameRefused
              ? `${check}; ${long && `${long}; `}if the server does not allow this name${local.split('/').some((n) => n.startsWith('.')) ? ' (some hosts refuse names starting with a dot)' : ''}, ${deleting ? "delete it another way (the host's file manager) or leave it on the server, no longer tracked, with" : 'rename it locally or leave it out with'} ${excludeOption(local)}`
              : err.code >= 550
                ? check
                : 'try again later';
    // The client's own advice on the refusal (a 425: the data connection could not be made, so try the other
    // mode), which "try again later" replaced once the retries were spent.
    const advice = hint === 'try again later' ? clientAdvice(err) : '';
    if (advice)
      return new DeployError(`${what} failed: ${err.code} ${oneLine(err.serverMessage)}${oneLine(advice)}`, {
        cause: err,
      });
    return new DeployError(`${what} failed: ${err.code} ${oneLine(err.serverMessage)} (${hint})`, {
      cause: err,
      ...(nameRefused ? { path: local } : {}),
    });
  }
  // The connection kept failing (reset, timeout, unreachable) through every retry: a network matter, and the
  // state records what was confirmed.
  const rerun = isTransientError(err)
    ? ' (the connection kept failing through the retries: check the network, then run the deploy again; it sends only what was not confirmed)'
    : '';
  return new DeployError(`${what} failed: ${ftpMessage(err)}${rerun}`, { cause: err });
}

/**
 * How long a resumed temp's STOR may go unanswered before the temp counts as held by another session: half
 * the reply timeout, at most 5 s (the server answers it at once otherwise; vsftpd's lock waits for minutes).
 */
function heldMs(timeoutMs = 30_000): number {
  return Math.min(5000, Math.floor(timeoutMs / 2));
}

/** At most so many new temp names for one file in a run (each after an attempt that sent bytes, then failed). */
const MAX_TEMP_RENAMES = 3;

/** A command on one of ftpship's temporary files (STOR, APPE). */
const TEMP_COMMAND = /\/\.?ftpship-[0-9a-f]{20}\.tmp$/;

/** A multi-line reply (pure-ftpd's 552 gives the quota figures on lines of their own) on one line. */
function oneLine(message: string): string {
  return message
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' / ');
}
