/**
 * `deploy()`: the one entry point of the engine. Select + hash (while connecting), read state, plan,
 * guard, execute, report. Dry-run stops after the plan with zero side effects.
 */
import fs from 'node:fs';
import {
  certificateNames,
  FtpClient,
  FtpReplyError,
  FtpTimeoutError,
  FtpTlsError,
  LoginStage,
  type SocketFactory,
} from '../ftp/index.js';
import type { FtpReply } from '../ftp/reply.js';
import { defaultSocketFactory, MAX_COMMAND_BYTES } from '../ftp/connection.js';
import {
  certificateOutOfDate,
  CHECK_ADDRESS_HINT,
  IMPLICIT_TLS_PORT_HINT,
  isTransientError,
  RAISE_TIMEOUT_HINT,
} from '../ftp/errors.js';
import { findPinMismatch, fingerprintHowTo, type PinMismatch } from '../ftp/pin.js';
import { CancelledError, ConfigError, DeployError, ftpMessage, GuardError } from './errors.js';
import { executePlan, type ExecResult } from './execute.js';
import { MaintenanceHook } from './hook.js';
import { bracketed, loginOptions, resolveOptions, targetUrl, type ResolvedOptions } from './resolve.js';
import { DEFAULT_STATE_NAME, type DeployOptions, type Reporter } from './options.js';
import {
  ancestorsOf,
  atOrUnder,
  baseName,
  dotName,
  excludeOption,
  insideTarget,
  isSafeRelPath,
  normalizeRemoteDir,
  remoteJoin,
} from './paths.js';
import { emptyPlan, planChanges, withAbsent, withDirsThere, withKeptDirs, type Plan } from './plan.js';
import { ConnectionPool, isConnectionLimit } from './pool.js';
import { whenAborted } from './when-aborted.js';
import { buildReport, type DeployReport } from './report.js';
import {
  caseTwins,
  excludedPath,
  excludeMatcher,
  globMatcherByKind,
  globAdvice,
  scanLocalDir,
  treeFromFiles,
  type LocalFile,
  type LocalTree,
} from './select.js';
import { backupPath, STATE_MAX, StateStore, type StateSnapshot } from './state-store.js';
import {
  leftInDay,
  onlyLeftTemps,
  PROBE_STORED_NAME,
  settingsHash,
  TEMP_NAME,
  type DeployState,
} from './state.js';
import { findDrift, spotCheck } from './verify.js';
import {
  dirExists,
  fileAtTarget,
  fileThere,
  listFolder,
  newerThan,
  remoteSize,
  type ServerQuirks,
} from './remote.js';
import {
  DOT_REFUSED,
  dotlessState,
  releaseAbandonedLock,
  withLock,
  type HeldLock,
  type LockRelease,
  type ReadWithLock,
} from './lock.js';
import { adoptRemote } from './adopt.js';
import { estimateDuration } from './estimate.js';

/** FTP-Deploy-Action's state file in the target (its default `state-name`). */
const FDA_STATE = '.ftp-deploy-sync-state.json';

/** Files at least this large go through a temporary name so a cut upload can resume safely. */
const RESUME_THRESHOLD = 1024 * 1024;

/** How a front end came by its files, for the guards: not an option a user sets. */
export interface DeployContext {
  /**
   * The files came down a stream (the gulp plugin), which may carry only part of the build: a filter for
   * changed files, a watch piping one file, a failed step that ended it early. A plan deleting most of what
   * ftpship deployed is then refused unless `maxDelete` says how many may go (`deleteOnly` too deletes what
   * the stream leaves out, and is refused the same way).
   */
  stream?: boolean;
  /**
   * Told when this deploy has taken its lock on the server (the folder, and the token its holder file names)
   * and when it no longer holds it (released, or lost): the gulp plugin releases a lock still held when the
   * process exits under it (the gulp CLI exits as soon as another task fails).
   */
  onLock?: (lock: HeldLock | undefined) => void;
  /**
   * Given, once the state is being tracked, a way to take the checkpoint this deploy would write at that moment
   * (see StateStore.snapshot): the gulp plugin writes it, under the lock, when the process exits under the deploy.
   */
  onSnapshot?: (take: () => StateSnapshot | undefined) => void;
}

/** Fewer deletions than this never trip the partial-stream guard (a small site losing a few files). */
const PARTIAL_MIN_DELETES = 4;

/** Deploys a folder (or a set of files) to an FTP/FTPS server. Throws ConfigError, GuardError or DeployError. */
export async function deploy(
  options: DeployOptions,
  reporter: Reporter = {},
  context: DeployContext = {},
): Promise<DeployReport> {
  const startedAt = Date.now();
  const o = resolveOptions(options);
  // Cancelled before it began (a Ctrl-C while the CLI started): not a connection opened, nothing changed.
  if (options.signal?.aborted) throw cancelledError(options.signal, true);
  if (o.maintenance && globMatcherByKind(o.keep)(o.maintenance.path, false))
    throw new ConfigError(
      `the maintenance file ${o.maintenance.path} matches --keep, yet it is deleted after the deploy; name another path, such as ${otherThan(o.maintenance.path, '.maintenance', '.maintenance-flag')}`,
    );
  const warnings: string[] = [];
  const safe = guarded(reporter ?? {}, warnings);
  const rep: Reporter = {
    ...safe,
    warn: (m) => {
      warnings.push(m);
      safe.warn?.(m);
    },
  };
  let connections = 0;
  const atLogin = stateAtLogin(o);
  // When the server last answered (a reply on any connection): a cancelled deploy's way out stops waiting for
  // a server that went silent (see WAY_OUT_SILENCE_MS).
  let heardAt = Date.now();
  const heard = (): void => {
    heardAt = Date.now();
  };
  const pool = new ConnectionPool(
    async (over) => connectClient(o, rep, ++connections, over, atLogin, heard),
    {
      size: o.dryRun ? 1 : o.parallel,
      retries: o.retries,
      retryDelayMs: o.retryDelayMs,
      reporter: rep,
    },
  );
  // The first connection goes out before the local folder is walked (the walk holds the thread): the
  // server's greeting and the login round trips overlap it.
  const connectStart = Date.now();
  let loginMs = 0;
  const starting = pool.start().then(() => {
    loginMs = Date.now() - connectStart;
  });
  starting.catch(() => undefined);
  const scanning = new Promise<void>((resolve) => setImmediate(resolve))
    .then(async () => scan(o))
    .then((tree) => {
      // Until the server has answered, this thread has nothing else to do: it hashes beside the worker
      // (the plan needs every hash, unless this is a first deploy; executePlan pauses it for uploads).
      tree.finishHashing().catch(() => undefined);
      return tree;
    });
  scanning.catch(() => undefined);
  // Cancelled: no new task starts, running ones are cut, hashing stops; the checkpoint and the unlock (priority
  // tasks) still run on the way out, and the error says the deploy was cancelled, whatever else broke.
  // The caller's signal is listened to once for all the deploys it runs under (see whenAborted); the deploy's
  // own parts (the lock's waits, the hook, the way out) listen to this deploy's own signal, which follows it.
  const own = options.signal ? new AbortController() : undefined;
  const signal = own?.signal;
  const unlisten =
    options.signal && own ? whenAborted(options.signal, () => own.abort(options.signal?.reason)) : undefined;
  let changing = false; // the lock is taken: from here on, a cancel may leave work half done (and recorded)
  /** On the way out of a cancelled deploy: what could not be done (the server gone too). */
  const wayOut: WayOut = {};
  const cancelled = (): CancelledError =>
    cancelledError(signal as AbortSignal, o.dryRun || !changing, wayOut);
  // Rejects when the signal aborts: what waits on the network outside the pool (the first login) races it.
  let rejectAbort: (err: Error) => void = () => undefined;
  const abort = new Promise<never>((_, reject) => (rejectAbort = reject));
  abort.catch(() => undefined);
  // The way out (the checkpoint, the unlock) runs on after a cancel; a server that stopped answering (the network
  // gone) would hold it for every timeout and retry, minutes: given up once the server is silent that long.
  let wayOutTimer: NodeJS.Timeout | undefined;
  const silence = (): number => Math.max(WAY_OUT_SILENCE_MS, loginMs);
  const watchWayOut = (): void => {
    const left = heardAt + silence() - Date.now();
    if (left > 0) {
      wayOutTimer = setTimeout(watchWayOut, left);
      return;
    }
    wayOut.silentMs = silence();
    pool.abandon(new DeployError(`the server gave no answer for ${silence()} ms`));
  };
  const onAbort = (): void => {
    heard();
    wayOutTimer = setTimeout(watchWayOut, silence());
    rejectAbort(cancelled());
    pool.cancel(cancelled());
    void scanning.then(
      (t) => t.stopHashing?.(),
      () => undefined,
    );
  };
  if (signal?.aborted) onAbort();
  signal?.addEventListener('abort', onAbort, { once: true });
  // For the report of a deploy a guard refuses: its target, once known, and the latest plan made.
  let reportTarget: string | undefined;
  let lastPlan: { plan: Plan; skipped: DeployReport['skipped'] } | undefined;
  try {
    await Promise.race([
      starting.catch((err: unknown) => {
        throw connectError(err, o);
      }),
      abort,
    ]);
    // `~/site`: FTP servers do not expand `~` (it would be a folder named ~); the login folder is home.
    const remoteDir = o.remoteDir === '~' ? '' : o.remoteDir.replace(/^~\//, '');
    if (remoteDir.includes('\\'))
      rep.warn?.(
        `the server folder ${JSON.stringify(remoteDir)} holds a backslash, which FTP servers take as part of a name (a folder named with it is created): FTP paths use /`,
      );
    // The login folder: a relative target starts there, and the report names the target relative to it.
    const loginDir = remoteDir.startsWith('/')
      ? await pool.run('PWD', async (c) => c.loginDir) // read at login: no round trip, none needed
      : await pool.run('PWD', async (c) => c.loginDir ?? c.pwd());
    const root = remoteDir.startsWith('/')
      ? normalizeRemoteDir(remoteDir)
      : normalizeRemoteDir(remoteDir, loginDir);
    reportTarget = targetUrl(o, root, loginDir);
    // Normalised, so that `../private/state.json` counts as outside the target (its target is then checked).
    const statePath = normalizeRemoteDir(
      o.statePath.startsWith('/') ? o.statePath : remoteJoin(root, o.statePath),
    );
    // `.`, `..`, `../site`: the target folder itself or one above it, which the state (its temp renamed over
    // that path) would be written over, and its temp beside it, outside the target.
    if (statePath === '/' || atOrUnder(root, statePath))
      throw new ConfigError(
        `the state path ${JSON.stringify(o.statePath)} names the folder ${statePath} (the target folder or one above it), not a file; give --state a file name, such as .ftpship-state.json`,
      );
    // FTP-Deploy-Action's file by another spelling (absolute, `x/../`): refused, as written over in ftpship's
    // format that tool could no longer read it (the plain name counts as none, resolveOptions).
    if (statePath === remoteJoin(root, FDA_STATE))
      throw new ConfigError(
        `the state path ${JSON.stringify(o.statePath)} is FTP-Deploy-Action's state file ${statePath}; leave --state ` +
          `out: ftpship then reads that file and keeps its own state at ${remoteJoin(root, DEFAULT_STATE_NAME)}`,
      );
    const lockPath = `${statePath}.lock`;
    const reserved = reservedPaths(root, statePath);
    if (o.maintenance && reserved.has(o.maintenance.path)) {
      // The marker would be written over the state (or its temp or lock), then deleted with it.
      throw new ConfigError(
        `the maintenance file ${o.maintenance.path} is where ftpship keeps its state (${statePath}); name another path, such as .maintenance`,
      );
    }
    if (o.maintenance) reserved.add(o.maintenance.path);
    const quirks: ServerQuirks = { knownDirs: new Set(), inPlace: !o.atomic };
    const settings = settingsHash({ exclude: o.exclude, keep: o.keep });
    const formerPath = remoteJoin(root, DEFAULT_STATE_NAME);
    const store = new StateStore({
      pool,
      path: statePath,
      fdaPath: remoteJoin(root, FDA_STATE),
      formerPath,
      settings,
      quirks,
      warn: rep.warn as (m: string) => void,
      info: (m) => rep.info?.(m),
      resetState: o.resetState,
      persist: !o.uploadOnly,
      target: root,
      encoding: o.encoding,
    });
    context.onSnapshot?.(() => store.snapshot());
    const loading = store.load();
    loading.catch(() => undefined); // awaited below, after the local checks (their errors come first)
    const local = await scanning;
    for (const s of local.skipped) rep.warn?.(`skipped ${s.path}: ${s.reason}`);
    // What a deploy sent there before (a file now a link out of the folder, a broken link, a FIFO) is not
    // gone: it stays on the server and in the state, as a --keep match does, never deleted as an orphan.
    const isSkipped = (p: string): boolean => local.skipped.some((s) => atOrUnder(p, s.path));
    const keptByGlob = globMatcherByKind(o.keep);
    const twins = caseTwins(local);
    if (twins.length > 0)
      rep.warn?.(
        `local names that differ only in case: ${firstFew(twins.map((g) => g.join(' and ')))}; on a case-insensitive ` +
          `server (Windows, IIS) each is one name, where one is written over the other and the state would list both: ` +
          `rename one of each if the server is one`,
      );
    if (local.files.size === 0 && o.localDir)
      rep.warn?.(
        `the local folder ${o.localDir} has no file to publish: check the build output and --exclude`,
      );
    for (const advice of globAdvice(o)) rep.warn?.(advice);
    if (o.replaceDefaultExcludes) {
      const exposed = defaultsReplacedWarning(local.files.keys());
      if (exposed) rep.warn?.(exposed);
    }
    if (o.maintenance && (local.files.has(o.maintenance.path) || local.dirs.has(o.maintenance.path))) {
      throw new ConfigError(
        `the maintenance file ${o.maintenance.path} is also in the local folder; name another path, or leave the local one out with ${excludeOption(o.maintenance.path)}`,
      );
    }
    // A local file where the state (its lock, its temp) or the maintenance file needs a folder: the server
    // cannot hold both, and the deploy would fail half way, the file or that folder in the way (was: the
    // files uploaded, then "a folder ftpship did not deploy", exit 1, on every run).
    for (const p of reserved) {
      const file = ancestorsOf(p).find((a) => local.files.has(a));
      if (file === undefined) continue;
      throw new ConfigError(
        p === o.maintenance?.path
          ? `the maintenance file ${p} is inside ${file}, a file of the local folder, which the server cannot hold as a folder too; name another path, such as .maintenance, or leave the local file out with ${excludeOption(file)}`
          : `the state path ${statePath} is inside ${file}, a file of the local folder, which the server cannot hold as a folder too; give --state another path, such as .ftpship-state.json, or leave the local file out with ${excludeOption(file)}`,
      );
    }
    // A local file where ftpship keeps its state (often a copy of the state, downloaded with the site) is
    // never sent over it: say so rather than leave it out silently.
    for (const p of reserved) {
      if (p !== o.maintenance?.path && local.dirs.has(p)) {
        if (p === insideTarget(root, statePath))
          throw new ConfigError(
            `the state path ${statePath} is a folder of the local tree (${p}); give --state a file name, such as .ftpship-state.json`,
          );
        // The lock (or the state's temp): most often a copy of the server taken while a deploy held it.
        throw new ConfigError(
          p.endsWith('.bak')
            ? `the local folder ${p} has the name of ftpship's copy of its state on the server (${remoteJoin(root, p)}), which each deploy writes there: delete it locally, or leave it out with ${excludeOption(p)}`
            : `the local folder ${p} has the name of ftpship's ${p.endsWith('.lock') ? 'deploy lock' : "state's temporary copy"} on the server (${remoteJoin(root, p)}), which a deploy makes and removes itself (a copy of the server taken while a deploy ran holds one): delete it locally, or leave it out with ${excludeOption(p)}`,
        );
      }
      const file = p !== o.maintenance?.path ? local.files.get(p) : undefined;
      // The state would be written over that file on the server: fine for a copy of a state (downloaded
      // with the site), not for a page of the site.
      if (file && p === insideTarget(root, statePath) && !looksLikeState(file))
        throw new ConfigError(
          `the state path ${statePath} is the local file ${p}, which the state would replace on the server; give --state another path, such as ${otherThan(p, '.ftpship-state.json', '.ftpship/state.json')}`,
        );
      const use =
        p === insideTarget(root, statePath)
          ? 'keeps its state'
          : p.endsWith('.lock')
            ? 'takes its deploy lock'
            : p.endsWith('.bak')
              ? "keeps its state's backup copy"
              : "writes the state's temporary copy";
      if (file)
        rep.warn?.(
          `the local file ${p} is not uploaded: ftpship ${use} at that path on the server; move the state with --state to publish the file`,
        );
    }
    // FTP-Deploy-Action writes a copy of its state into the folder it deploys: sent, it would replace that
    // tool's state on the server with an older copy, which the next deploy would take for that tool's work.
    const fdaCopy = reserved.has(FDA_STATE) ? undefined : local.files.get(FDA_STATE);
    if (fdaCopy && looksLikeState(fdaCopy)) {
      reserved.add(FDA_STATE);
      rep.warn?.(
        `the local file ${FDA_STATE} is not uploaded: it is a copy of FTP-Deploy-Action's state (that tool writes one ` +
          `into the folder it deploys), and would replace the state on the server with an older copy`,
      );
    }
    // A name test's file (a copy of the server taken while a deploy ran, or one a cut run left there): ftpship's
    // own, for a moment; sent, it would be a page of the site no deploy could tell from its own leftover.
    for (const p of local.files.keys()) {
      if (reserved.has(p) || !PROBE_STORED_NAME.test(p.slice(p.lastIndexOf('/') + 1))) continue;
      reserved.add(p);
      rep.warn?.(
        `the local file ${p} is not uploaded: ftpship gives that name to the empty test file it writes for a moment (a copy of the server taken while a deploy ran may hold one); delete it locally`,
      );
    }
    // A copy of the state of a deploy to a folder inside this one (`blog/.ftpship-state.json`, downloaded with the
    // site): sent, it would replace that deploy's state with an older one (G3, and G4 for that deploy).
    for (const [p, file] of local.files) {
      if (reserved.has(p) || !p.endsWith(`/${DEFAULT_STATE_NAME}`) || !looksLikeState(file)) continue;
      reserved.add(p);
      rep.warn?.(
        `the local file ${p} is not uploaded: it is a copy of an ftpship state, and would replace the state of the ` +
          `deploy to ${remoteJoin(root, p.slice(0, -DEFAULT_STATE_NAME.length - 1))} on the server with it`,
      );
    }
    let state = await loading.catch((err: unknown) => {
      // The state could not be downloaded through every retry (reset, timeout, 426): a network matter, not a
      // missing state, and nothing has been changed yet. The bare RETR reply said neither.
      if (!isTransientError(err) || err instanceof DeployError) throw err;
      throw new DeployError(
        `cannot read the state file ${statePath}: ${ftpMessage(err)} (the connection kept failing through ` +
          `the retries: check the network, then run the deploy again; nothing was changed)`,
        { cause: err },
      );
    });
    // A server that refuses the state's name refuses its lock's too (the same start): the deploy stops there
    // (see lockRefusedHint). The preview says so, rather than a plan that deploy cannot carry out.
    if (o.dryRun && store.nameRefused && dotName(statePath))
      rep.warn?.(stateNameRefused(statePath, store.nameRefused));
    // A deploy cut while its marker was up left the site on its maintenance page: the preview says so (the
    // deploy itself takes the marker down, and says it did). One SIZE, only after such a cut.
    const leftUp = store.recordedMarker;
    if (o.dryRun && leftUp !== undefined && !local.files.has(leftUp)) {
      const abs = remoteJoin(root, leftUp);
      if ((await pool.run(`SIZE ${abs}`, async (c) => remoteSize(c, abs))) >= 0)
        rep.warn?.(
          `the maintenance file ${leftUp} is on the server, left up by a deploy that did not finish: the site may be ` +
            `showing its maintenance page; the deploy takes it down`,
        );
    }
    if (o.maintenance) await checkMarkerFree(pool, root, o.maintenance.path, store.recordedMarker, lockPath);
    void local.hashed.then(
      () =>
        rep.debug?.(
          local.hashedOn === 'worker thread'
            ? `hashed ${local.files.size} files: ${local.files.size - (local.hashedByMain ?? 0)} on the worker thread, ${local.hashedByMain ?? 0} on the main thread beside it`
            : `hashed ${local.files.size} files on the main thread`,
        ),
      () => undefined,
    );
    if (o.uploadOnly)
      rep.info?.('upload-only: every file goes up; no state is read or kept, nothing is deleted');
    if (o.fdaStateNamed !== undefined)
      rep.info?.(
        `the state path ${JSON.stringify(o.fdaStateNamed)} is FTP-Deploy-Action's state file: taken as none, as in ` +
          `the Action. ftpship reads that file when it has no state of its own, and keeps its state at ${statePath}, ` +
          `so FTP-Deploy-Action can still read its file; leave --state out`,
      );
    if (store.origin === 'ftp-deploy-action')
      rep.info?.(
        `read the state left by FTP-Deploy-Action: unchanged files will not be uploaded again. ftpship does not keep ` +
          `that file (${remoteJoin(root, FDA_STATE)}) up to date: delete it once ftpship has deployed (FTP-Deploy-Action, ` +
          `run again with it there, would skip files ftpship changed; without it, it uploads every file once)`,
      );
    // The names at the top of the target, ftpship's own files aside: listed once, when a first deploy needs them.
    let topListing: Promise<string[]> | undefined;
    const namesAtTop = async (): Promise<string[]> =>
      (topListing ??= (async () => {
        // Listed already when the state was looked for beside it (the default): no second listing.
        const all = store.listed.has(root)
          ? ((await store.listed.get(root)) ?? new Set<string>())
          : new Set((await listFolder(pool, root))?.map((e) => e.name) ?? []);
        return [...all].filter((n) => !reserved.has(n)).sort();
      })());
    // The target a file, not a folder (see refuseFileTarget); --adopt too, which compared the files "inside"
    // it (a download of index.html/index.html). --upload-only in a dry run only: its deploy, which lists nothing
    // there, meets the file in its MKD (the same words) at no round trip more.
    if (store.origin === 'none' && !o.deleteOnly && (!o.uploadOnly || o.dryRun))
      await refuseFileTarget(pool, root, await namesAtTop(), o.dryRun);
    // No state anywhere, yet the target holds files: a deployed site whose state was removed (or is kept
    // elsewhere), or a site another tool put there. Every file goes again and nothing there is deleted: say
    // so, with the ways out, rather than re-upload silently (FTP-Deploy-Action's behaviour, FIELD.md §3).
    if (store.origin === 'none' && o.deleteOnly)
      rep.info?.(
        `delete-only: no state file at ${statePath}: ftpship has deployed nothing here, so there is nothing to delete (nothing was changed)`,
      );
    else if (store.origin === 'none' && !o.uploadOnly && !o.adopt) {
      // A cut run's temps are not a site.
      const there = (await namesAtTop()).filter((n) => !TEMP_NAME.test(n));
      if (there.length > 0)
        rep.warn?.(
          `no state file at ${statePath}, but ${root} already holds ${there.slice(0, 3).join(', ')}` +
            `${there.length > 3 ? ` and ${there.length - 3} more` : ''}: this deploy sends every file again and ` +
            `deletes nothing there (files an earlier deploy left stay, on later deploys too: ftpship deletes only ` +
            `what it deployed); later deploys send only what changed. To keep the files already there with the ` +
            `same content, deploy with --adopt; if the state is kept elsewhere, name it with --state`,
        );
    }
    // A first deploy onto a folder that already holds files (a site another tool or a person put there):
    // those files are live, and a "new" file written over one in place could be seen part-written (G2). The
    // names at the top of the target say which uploads may land on one; those go through a temp too.
    const occupiedTop = async (st: DeployState): Promise<Set<string> | undefined> => {
      if (o.dryRun || o.uploadOnly || !o.atomic || !isEmptyState(st)) return undefined;
      const names = await namesAtTop();
      return names.length > 0 ? new Set(names) : undefined;
    };
    let plan: Plan = emptyPlan();
    /** The lock, taken while the files are hashed when the sizes already show an upload (see prepare). */
    let early: Promise<ExecResult | undefined> | undefined;
    /** Before that lock: the looks for other deploys' states that did not fit in the spot check (see lookFurther). */
    let furtherLooking: Promise<unknown> | undefined;
    const lockOptions = {
      ...o,
      knownDirs: quirks.knownDirs,
      signal,
      readWithLock: store.readWithLock,
      lockLeft: (err: unknown) => (wayOut.lockLeft = { path: lockPath, err, staleMs: o.staleLockMs }),
      onLock: context.onLock,
    };
    /**
     * Temps a cut run left to another server session (see StateStore.tempLeft), within their day, that the spot
     * check found gone: nothing to remove, and the state keeps them as they are (no lock, no state write).
     */
    let leftGone = new Set<string>();
    /** The pending work is only such temps: nothing to do for it now. */
    const onlyLeftGone = (): boolean => {
      const pending = store.state.pending;
      return (
        pending !== undefined &&
        onlyLeftTemps(pending) &&
        Object.keys(pending.temps).every((t) => leftGone.has(t))
      );
    };
    /** Whether the plan has anything to do on the server (a deploy with nothing to do takes no lock). */
    const hasWork = (p: Plan): boolean =>
      // --delete-only with no state: nothing to delete, and no state written (nothing was deployed).
      !(o.deleteOnly && store.origin === 'none') &&
      (p.entries.length > 0 ||
        p.staleTemps.some((t) => !leftGone.has(t)) ||
        (store.state.pending !== undefined && !onlyLeftGone()) ||
        p.excluded.files.length + p.excluded.dirs.length > 0 ||
        p.otherDeploys.files.length + p.otherDeploys.dirs.length > 0 ||
        store.origin !== 'ftpship' ||
        store.metaChanged ||
        p.modesChanged);
    /** The plan made, with the lock held: the deploy itself. */
    const underLock = async (release: LockRelease, read?: ReadWithLock): Promise<ExecResult> => {
      changing = true;
      store.lockGuard = release.ensureHeld;
      // Another deploy may have finished while this one was planning: plan again from the state it left,
      // or this run would record old hashes for files that deploy changed (G4).
      if (await store.changedSinceLoad(read)) {
        rep.info?.(
          'the state changed on the server while planning (another deploy finished): planning again',
        );
        state = await store.load();
        plan = await prepare(state);
        state = store.state;
      }
      const marker = o.maintenance
        ? {
            path: o.maintenance.path,
            content: o.maintenance.content ?? 'ftpship: deploy in progress\n',
            whole: !o.atomic,
          }
        : undefined;
      const hook = o.maintenanceUrl
        ? {
            call: new MaintenanceHook(o.maintenanceUrl, {
              target: targetUrl(o, root, loginDir),
              timeoutMs: o.timeoutMs,
              retries: o.retries,
              retryDelayMs: o.retryDelayMs,
              signal,
              info: (m) => rep.info?.(m),
              warn: (m) => rep.warn?.(m),
            }),
            whole: !o.atomic,
          }
        : undefined;
      return executePlan(plan, local, {
        pool,
        root,
        store,
        reporter: rep,
        quirks,
        marker,
        hook,
        checkedAll,
        timeoutMs: o.timeoutMs,
        release,
        unsaved: (err) => (wayOut.unsaved = err),
      });
    };
    /** Whether the lock is on the server, as the spot check saw it (undefined: not looked at). */
    let lockThere: boolean | undefined;
    /** Every file the state lists was looked for on the server (--verify, or the spot check found some off). */
    let checkedAll = false;
    /** Folders holding another deploy's state, with that file's name (see otherDeploysIn). */
    let otherStates = new Map<string, string>();
    /** Whether another deploy's state is at each path looked at (absolute). */
    const stateSeen = new Map<string, boolean>();
    /** Files the plan replaces that the state does not vouch for, and those of them the server does not hold. */
    let unvouched: string[] = [];
    let absent: string[] = [];
    /** Files the look at the server (--verify, or the spot check) found missing or changed there: sent again. */
    const drifted = new Set<string>();
    /** This run's state was seeded by --adopt: the files it lists as unsure are the ones it found differing. */
    let adoptedNow = false;
    /** FTP-Deploy-Action's state was looked at against the files' times (once), and the files written since. */
    let fdaChecked = false;
    let fdaNewer: string[] = [];
    const prepare = async (st: DeployState): Promise<Plan> => {
      const occupied = await occupiedTop(st);
      // The local files that go up: ftpship's own names (a state copy, FTP-Deploy-Action's) never do.
      const publishable = new Map([...local.files].filter(([p]) => !reserved.has(p)));
      /** What the guards see (PLAN_GUARDS): before the plan, whether one may refuse it; after, whether one does. */
      const guardView: GuardView = {
        o,
        root,
        paths: [...publishable.keys()],
        stream: context.stream
          ? { carried: local.files.size, deployed: Object.keys(st.files).length }
          : undefined,
      };
      // The excludes or keeps changed since the last deploy: a path the old excludes kept out was left on the
      // server, untracked and live (removing `--exclude uploads/` makes the CMS's uploads "new"). Every new
      // file goes through a temp this once, so none is written over a live one in place (G2).
      const settingsChanged = !isEmptyState(st) && st.settings !== settings;
      // The plan compares hashes with the state. A first deploy has nothing to compare with: its files are
      // hashed while they go up (the state records each once its hash is in). Dry runs and later deploys
      // wait for every hash (and help with it: there is nothing else to do meanwhile).
      if (store.origin === 'ftp-deploy-action' && !fdaChecked) {
        fdaChecked = true;
        fdaNewer = await writtenSinceFda(pool, root, local, st, rep, o.dryRun);
      }
      if (o.adopt && isEmptyState(st)) {
        await adopt(pool, root, local, st, rep, o.replace === false, reserved);
        adoptedNow = true;
      }
      // The spot check's round trip goes out now, while the files are hashed.
      // With it, the lock a deploy with nothing to do looks for (releaseAbandonedLock), in the same write; a dry
      // run looks too (it takes no lock): a lock held there is worth a warning (PRODUCT.md step 5). And the
      // state's temporary copy a deploy killed before its rename left (removed if there and no lock is; not
      // by a dry run, which changes nothing).
      const lockProbe = store.origin === 'ftpship' ? lockPath : undefined;
      const leftover = o.dryRun ? undefined : `${statePath}.tmp`;
      // A state read at --state's path: is ftpship's default state file there too (see preferNewer)?
      // (Not when that path is a local file, published like any other.)
      const twoStates =
        store.origin === 'ftpship' && statePath !== formerPath && !local.files.has(DEFAULT_STATE_NAME)
          ? [`SIZE ${formerPath}`]
          : [];
      // A file new or resized is an upload for sure: the lock may be taken while the files are hashed (below).
      // Not with two state files to choose from (the plan may start again from the other one), nor when a guard
      // may refuse the plan: a refused plan changes nothing on the server (no lock either).
      const lockEarly =
        !early &&
        !o.dryRun &&
        !isEmptyState(st) &&
        twoStates.length === 0 &&
        !mayRefuse(guardView) &&
        uploadsCertain(publishable, st, o);
      // The folders this plan will likely delete from, looked at for another deploy's state in the same write
      // (see otherDeploysIn, which asks only what this did not answer); with the lock taken early, the folders
      // it may send into too, as far as they fit.
      const { looks: stateLooks, rest: furtherLooks } =
        !o.verify && !isEmptyState(st)
          ? earlyStateLooks(st, local, root, statePath, o, lockEarly)
          : { looks: [], rest: [] };
      // The temps a cut run left to another server session, within their day (see StateStore.tempLeft): looked
      // for in the same write, so a deploy with nothing else to do takes the lock only to remove one that is there.
      leftGone = new Set();
      const leftLooks = o.dryRun
        ? []
        : Object.entries(st.pending?.temps ?? {})
            .filter(([t, rec]) => leftInDay(rec) && askable(remoteJoin(root, t)))
            .map(([t]) => t)
            .slice(0, EARLY_LOOKS);
      const spot =
        !o.verify && !isEmptyState(st)
          ? spotCheck(pool, root, st, local.files, lockProbe, leftover, [
              ...twoStates,
              ...stateLooks.map((abs) => `SIZE ${abs}`),
              ...leftLooks.map((t) => `SIZE ${remoteJoin(root, t)}`),
            ])
          : undefined;
      spot?.catch(() => undefined); // awaited below; a failure meanwhile must not go unhandled
      // Work already certain from the sizes alone (a file new, gone or resized): the other connections log in
      // while the files are hashed, not after (each login is several round trips, with TLS a handshake too).
      if (!o.dryRun && !isEmptyState(st) && sizesDiffer(publishable, st)) {
        pool.expand();
        // The lock is taken meanwhile too (its round trips and the state read in its write), after the spot
        // check, which looks for a lock and must not see this one.
        if (lockEarly) {
          // (A spot check that failed fails the plan too: no lock is taken then.)
          // Another deploy's state where this one sends or deletes: the plan may be refused, and a refused
          // plan changes nothing on the server (no lock either). A site of more folders than fit in that write:
          // the others are looked at now, still before the lock (was: the lock taken, then the plan refused).
          const waitForPlan = (spot ?? Promise.resolve()).then(async (seen) => {
            const other = seen?.also
              .slice(twoStates.length, twoStates.length + stateLooks.length)
              .some((r) => r.code === 213);
            return other || (await lookFurther(pool, furtherLooks, stateSeen));
          });
          furtherLooking = waitForPlan.catch(() => undefined);
          early = waitForPlan.then(async (wait) => {
            if (wait) await planning;
            return withLock(pool, lockPath, lockOptions, rep, async (release, read) => {
              plan = await planning;
              state = store.state;
              return hasWork(plan) ? underLock(release, read) : undefined;
            });
          });
          early.catch(() => undefined); // awaited after the plan (its errors come first)
        }
      }
      if (o.dryRun || !isEmptyState(st)) await local.finishHashing();
      // Read-only (a SIZE per temp a cut commit phase marked), so a dry run does it too: a file renamed in
      // before the cut is unchanged, in the preview as in the deploy.
      await store.recoverCommits(root);
      if (o.verify) {
        const there =
          twoStates.length > 0 &&
          (await pool.run(`SIZE ${formerPath}`, async (c) => remoteSize(c, formerPath))) >= 0;
        if (there && (await store.preferNewer())) return prepare(store.state);
        for (const f of await repairDrift(pool, root, st, rep, local.files)) drifted.add(f);
        checkedAll = true;
      } else if (spot) {
        const { off, probed, also, leftoverKept } = await spot;
        for (const [i, abs] of stateLooks.entries()) {
          const code = also[twoStates.length + i]?.code;
          if (code === 213) stateSeen.set(abs, true);
          else if (code === 550 || code === 450) stateSeen.set(abs, false);
        }
        const leftAt = twoStates.length + stateLooks.length;
        leftGone = new Set(leftLooks.filter((_, i) => [550, 450].includes(also[leftAt + i]?.code ?? 0)));
        lockThere = probed;
        if (leftoverKept && !o.dryRun) store.copyLeft = true;
        if (also[0]?.code === 213 && (await store.preferNewer())) return prepare(store.state);
        if (o.dryRun && probed)
          rep.warn?.(
            `another deploy holds the lock ${lockPath} (or one that was killed left it): a deploy now would be refused (exit 3); this plan may be out of date once that deploy has finished`,
          );
        if (off > 0) {
          rep.warn?.(
            `${off} of a few files the state lists, looked at before trusting it, are missing or changed on the server ` +
              `(deleted by hand, with the state file left?): every file is checked, as with --verify`,
          );
          for (const f of await repairDrift(pool, root, st, rep, local.files)) drifted.add(f);
          checkedAll = true;
        }
      }
      // One the state lists (sent by an earlier version) is that deploy's state now: never deleted as an orphan.
      for (const f of Object.keys(st.files)) if (f.endsWith(`/${DEFAULT_STATE_NAME}`)) reserved.add(f);
      const planOptions: Parameters<typeof planChanges>[2] = {
        delete: o.delete && !o.uploadOnly,
        atomic: o.atomic,
        uploadOnly: o.uploadOnly,
        replace: o.replace,
        deleteOnly: o.deleteOnly,
        isKept: (p, isDir) => keptByGlob(p, isDir) || isSkipped(p),
        // The excludes that picked the local files; with a list of files, those the caller gave (the Action
        // applies its `exclude` to its `files` globs itself).
        // A path under an excluded folder is excluded too, as the walk left it out (`d` then `!d/x`: d/x).
        isExcluded: !o.files || options.exclude?.length ? excludedPath(o.exclude) : undefined,
        reserved,
        resumeThreshold: RESUME_THRESHOLD,
        // So too after a switch of encoding: the new names' bytes may be live, uploaded by a tool that used them.
        mayBeOnServer:
          settingsChanged || store.encodingSwitched
            ? () => true
            : occupied && ((rel) => occupied.has(rel.split('/')[0])),
        fileMode: o.fileMode,
        dirMode: o.dirMode,
        // A state named without a leading dot (for a server refusing such names): the temps go without too.
        dotlessTemps: !dotName(statePath),
      };
      let p = planChanges(local, st, planOptions);
      // A folder this plan would delete from (or remove) may hold the state of another deploy, to a folder
      // inside this one (/site/blog beside /site): what is there is that deploy's now (G3). One pipelined
      // look for the lot, only when the plan deletes something.
      // And a folder this plan uploads into (a site built with a blog/ folder while blog is deployed by its own
      // job): refused below. On a first deploy, only where the target's listing (read looking for the state)
      // has the folder's top: an empty or absent target holds no other deploy.
      const top = isEmptyState(st) && store.listed.has(root) ? await store.listed.get(root) : null;
      const mayHold = top === null ? () => true : (d: string) => top?.has(d.split('/')[0]) ?? false;
      await furtherLooking; // its answers are the plan's too (not asked twice)
      otherStates = await otherDeploysIn(
        pool,
        root,
        statePath,
        p,
        stateSeen,
        mayHold,
        (f) => !Object.hasOwn(st.files, f),
      );
      if (otherStates.size > 0)
        p = planChanges(local, st, { ...planOptions, otherDeploys: [...otherStates.keys()] });
      // Files replaced only because the state does not vouch for them (a cut run was sending them): those not
      // on the server are reported as uploads (sent all the same, through a temp).
      unvouched = unvouchedReplaces(p, st);
      absent = await notOnServer(pool, root, unvouched);
      p = withAbsent(p, absent);
      // A rerun after a cut run: the folders it set out to make, not recorded as made, may be there. Looked for
      // (read-only, one pipelined CWD each), by the dry run and the deploy alike: those there are neither made
      // again nor reported as made, so both report the same. Never on a deploy after one that finished.
      if (st.pending?.dirs?.length) {
        const maybe = new Set(st.pending.dirs);
        const swaps = new Set(p.fileToDir);
        p = withDirsThere(
          p,
          await dirsThere(
            pool,
            root,
            p.mkdirs.filter((d) => maybe.has(d) && !swaps.has(d)),
          ),
        );
      } else if (isEmptyState(st) && p.mkdirs.length > 0) {
        // A first deploy onto a folder that already holds some of the local folders: the server refuses their
        // MKD and the report counts none made, yet the plan listed each as `mkdir` (the dry run too). Looked
        // for the same way, under the names the target's listing shows: those there are not announced.
        // --reset-state reads no state, so the target was not listed with it: listed here (was: "mkdir a"
        // reported beside the count "mkdir 0").
        const atTop = top ?? (o.resetState ? new Set(await namesAtTop()) : undefined);
        const swaps = new Set(p.fileToDir);
        if (atTop?.size)
          p = withDirsThere(
            p,
            await dirsThere(
              pool,
              root,
              p.mkdirs.filter((d) => atTop.has(d.split('/')[0]) && !swaps.has(d)),
            ),
          );
      }
      // A guard's refusal gets the report of this plan (see the catch below).
      lastPlan = { plan: p, skipped: local.skipped };
      refuseSwapsOverOthers(p, root, otherStates);
      guard(p, guardView);
      return p;
    };
    /** The first plan, under way (the lock taken early waits for it). */
    const planning = prepare(state);
    plan = await planning.catch(async (err: unknown) => {
      await early?.catch(() => undefined); // the lock taken meanwhile is released first
      throw err;
    });
    state = store.state; // the newer of two state files, where there were two
    let bytesSent = 0;
    let dirsMade = 0; // a deploy with nothing to do makes none
    let modesMissed: { files: number; dirs: number } | undefined;
    if (!o.dryRun && (early || hasWork(plan))) {
      pool.expand();
      const result = await (early ?? withLock(pool, lockPath, lockOptions, rep, underLock));
      if (result) {
        bytesSent = result.bytesSent;
        dirsMade = result.dirsMade;
        modesMissed = result.modesMissed;
        plan = withKeptDirs(plan, result.keptDirs);
      }
    } else if (!o.dryRun && store.origin === 'ftpship' && lockThere !== false) {
      // Nothing to do, and no lock taken: one a deploy killed before its unlock left is released all the same
      // (unless the spot check saw no lock: the usual case costs no round trip).
      await releaseAbandonedLock(pool, lockPath, { ...o, knownDirs: quirks.knownDirs, signal }, rep);
    }
    const unsure = new Set(plan.excluded.unsure);
    const excludedFiles = plan.excluded.files.filter((p) => !unsure.has(p));
    if (excludedFiles.length > 0) {
      const some = firstFew(excludedFiles);
      rep.info?.(
        `${excludedFiles.length} file(s) deployed earlier now match --exclude (${some}): ${o.dryRun ? 'they would be left' : 'left'} on the server and no longer tracked; delete them by hand if they should go`,
      );
    }
    // Known only as uncertain: an earlier run was sending them when it stopped, or the server refused them (a
    // name the host does not allow, excluded as the error said): perhaps never on the server.
    if (unsure.size > 0) {
      rep.info?.(
        `${unsure.size} file(s) an earlier run did not finish sending now match --exclude (${firstFew([...unsure])}): no longer tracked; any of them on the server is left there`,
      );
    }
    otherDeploysInfo(plan, root, otherStates, o.dryRun, rep);
    if (unvouched.length > 0) {
      const there = unvouched.length - absent.length;
      const sinceFda = new Set(fdaNewer);
      rep.info?.(
        unvouched.every((p) => sinceFda.has(p))
          ? `${unvouched.length} file(s) written on the server after FTP-Deploy-Action's last deploy ` +
              `${o.dryRun ? 'would go' : 'went'} up again through a temporary name: ${absent.length} not on the ` +
              `server (counted as uploads), ${there} there (counted as replaced)`
          : adoptedNow
            ? `${unvouched.length} file(s) --adopt found with other content on the server (or could not compare) ` +
              `${o.dryRun ? 'would go' : 'went'} up through a temporary name: ${absent.length} not on the server ` +
              `(counted as uploads), ${there} there (counted as replaced)`
            : unvouchedInfo(unvouched, absent, drifted, o.dryRun),
      );
    }
    // Orphans left by --no-delete or a --keep glob stay in the state: a deploy without the option deletes them.
    const skippedKept = plan.keptOrphans.files.filter(isSkipped);
    if (skippedKept.length > 0)
      rep.info?.(
        `${skippedKept.length} file(s) deployed earlier ${o.dryRun ? 'would stay' : 'stay'} on the server and in the state (${firstFew(skippedKept)}): ` +
          `skipped locally (see above), not deleted`,
      );
    const keptFiles = plan.keptOrphans.files.filter((p) => !isSkipped(p));
    if (keptFiles.length > 0) {
      const some = firstFew(keptFiles);
      const why = o.delete ? 'they match --keep' : '--no-delete';
      rep.info?.(
        `${keptFiles.length} file(s) deployed earlier and gone from the local files ${o.dryRun ? 'would stay' : 'stay'} on the server (${some}): ${why}. ` +
          `They stay in the state, and a deploy without ${o.delete ? 'that --keep' : '--no-delete'} deletes them`,
      );
    }
    heldInfo(plan, o, rep, store.origin !== 'none');
    const target = targetUrl(o, root, loginDir);
    // A dry run says how long the deploy would take in round trips, measured on its connection (best
    // effort: a connection lost now costs the estimate, not the plan).
    const rttMs = o.dryRun ? await roundTrip(pool).catch(() => undefined) : undefined;
    const estimate =
      rttMs !== undefined
        ? estimateDuration(plan, { rttMs, loginMs, connections: o.parallel, tls: o.secure !== false })
        : undefined;
    return buildReport({
      estimate,
      plan,
      dryRun: o.dryRun,
      target,
      bytesSent,
      dirsMade: o.dryRun ? undefined : dirsMade,
      modesMissed,
      skipped: local.skipped,
      warnings,
      startedAt,
    });
  } catch (err) {
    if (signal?.aborted) throw cancelled();
    // A dry run is the preview: the plan a guard refused is what its reader needs to see. So is a deploy's
    // (the job summary lists the deletions that tripped it); nothing was sent. A refusal before any plan
    // (the state's target, the marker's path) reports an empty one. `refused` says why.
    if (err instanceof GuardError && reportTarget !== undefined) {
      const report = buildReport({
        plan: lastPlan?.plan ?? emptyPlan(),
        dryRun: o.dryRun,
        target: reportTarget,
        bytesSent: 0,
        skipped: lastPlan?.skipped ?? [],
        warnings,
        startedAt,
      });
      err.report = { ...report, refused: err.message };
    }
    throw dataPinRefused(err, o) ?? connectionLost(err);
  } finally {
    clearTimeout(wayOutTimer);
    signal?.removeEventListener('abort', onAbort);
    unlisten?.();
    void scanning.then(
      (t) => t.stopHashing?.(),
      () => undefined,
    ); // a failed deploy stops hashing at once
    await pool.close();
  }
}

/** A dry run's word on a state whose name (starting with a dot) the server refused (553): the deploy would stop at the lock. */
function stateNameRefused(statePath: string, err: FtpReplyError): string {
  return (
    `the server refused the name of the state file ${statePath} (${err.code} ${err.serverMessage}): a deploy would ` +
    `stop at its lock (${statePath}.lock), refused the same way. If ${DOT_REFUSED}, ${dotlessState(statePath)}`
  );
}

/**
 * The maintenance marker is written over whatever is at its path and deleted after the deploy: a file there
 * that ftpship did not put up (an `.htaccess`, a page) would be lost. Refused before any change.
 */
async function checkMarkerFree(
  pool: ConnectionPool,
  root: string,
  rel: string,
  ours: string | undefined,
  lockPath: string,
): Promise<void> {
  if (ours === rel) return; // left up by a deploy that was cut: this one takes it down
  const abs = remoteJoin(root, rel);
  const [there, locked] = await pool.run(`look for ${abs}`, async (c) => {
    // Without SIZE (some hosting servers), the folder's listing: a 500 to SIZE is no "not there".
    const found = (await fileThere(c, abs)) === true || (await dirExists(c, abs));
    return [found, found && (await dirExists(c, lockPath))];
  });
  // Put up by a deploy running now (it recorded the marker after this one read the state).
  if (locked)
    throw new GuardError(
      `the maintenance file ${rel} is on the server and another deploy holds the lock ${lockPath}: it is most likely that deploy's. Nothing was changed; try again when it has finished.`,
    );
  if (there)
    throw new GuardError(
      `the maintenance file ${rel} is already on the server (${abs}), and ftpship did not put it there: it would be ` +
        `overwritten, then deleted. Nothing was changed. Name another path, such as ${otherThan(rel, '.maintenance', '.maintenance-flag')}, or remove that file if it is a leftover.`,
    );
}

/** An example path for a message: `usual`, unless that is the very path refused. */
function otherThan(refused: string, usual: string, instead: string): string {
  return refused === usual ? instead : usual;
}

/** Does this local file look like a copy of a state file (ftpship's or FTP-Deploy-Action's)? */
function looksLikeState(file: LocalFile): boolean {
  let head: string;
  try {
    head = file.contents
      ? file.contents.subarray(0, 4096).toString('utf8')
      : readHead(file.abs as string, 4096);
  } catch {
    return false;
  }
  return /"generator"\s*:\s*"ftpship"/.test(head) || /"data"\s*:\s*\[/.test(head);
}

function readHead(abs: string, n: number): string {
  const fd = fs.openSync(abs, 'r');
  try {
    const buf = Buffer.alloc(n);
    return buf.subarray(0, fs.readSync(fd, buf, 0, n, 0)).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The caller's reporter with each callback made harmless: one that throws (the protocol log runs inside a
 * socket's data handler) would otherwise crash the process or fail a deploy half way. Its failure becomes a
 * warning in the report, once per callback.
 */
function guarded(reporter: Reporter, warnings: string[]): Reporter {
  const out: Reporter = {};
  for (const key of ['info', 'warn', 'debug', 'protocol', 'progress'] as const) {
    const fn = reporter[key] as ((...args: unknown[]) => void) | undefined;
    if (typeof fn !== 'function') continue;
    let failed = false;
    (out as Record<string, unknown>)[key] = (...args: unknown[]): void => {
      try {
        fn.apply(reporter, args);
      } catch (err) {
        if (!failed)
          warnings.push(`the reporter's ${key}() threw: ${(err as Error)?.message ?? String(err)}`);
        failed = true;
      }
    };
  }
  return out;
}

/** The state files that mark a folder as another deploy's target: ftpship's, and FTP-Deploy-Action's. */
const OTHER_STATES = [DEFAULT_STATE_NAME, FDA_STATE];

/** Another deploy's state in words ("the state of another ftpship deploy"), from its file's name. */
const whoseState = (name: string): string =>
  name === FDA_STATE ? 'the state of an FTP-Deploy-Action deploy' : 'the state of another ftpship deploy';

/**
 * The folders among those this plan deletes from or removes (and the folders above them) that hold the state
 * of another deploy at its default name (see {@link OTHER_STATES}), each with that file's name: SIZE of each,
 * pipelined on one connection (one round trip, or a few over TLS). This deploy's own state is not another's.
 * A server without SIZE gets a listing of each such folder instead.
 */
async function otherDeploysIn(
  pool: ConnectionPool,
  root: string,
  statePath: string,
  plan: Plan,
  /** Answers already had (the spot check's write): not asked again. */
  seen: Map<string, boolean>,
  /** Whether a folder an upload goes into may be on the server already (false: not asked). */
  mayHold: (dir: string) => boolean,
  /** Whether the state knows a file only as uncertain (no deployed copy of it). */
  unsure: (path: string) => boolean,
): Promise<Map<string, string>> {
  const folders = new Set<string>();
  for (const p of [...plan.deletes, ...plan.fileToDir]) for (const d of ancestorsOf(p)) folders.add(d);
  // A file the state knows only as uncertain may be a folder on the server, another deploy's target (its upload
  // was refused for that folder): the path itself too (was: planned, and reported, as deleted).
  for (const p of plan.deletes) if (unsure(p)) folders.add(p);
  for (const d of plan.rmdirs) for (const x of [...ancestorsOf(d), d]) folders.add(x);
  for (const u of plan.uploads) for (const d of ancestorsOf(u.file.path)) if (mayHold(d)) folders.add(d);
  const looks = [...folders]
    .sort()
    .flatMap((dir) => OTHER_STATES.map((name) => ({ dir, name, abs: remoteJoin(root, `${dir}/${name}`) })))
    .filter((l) => l.abs !== statePath && askable(l.abs));
  const found = new Map<string, string>();
  const ask = looks.filter((l) => !seen.has(l.abs));
  const replies =
    ask.length === 0
      ? []
      : await pool.run('look for the states of other deploys', async (c) =>
          c.pipeline(ask.map((l) => `SIZE ${l.abs}`)),
        );
  const codes = new Map<string, number>(ask.map((l, i) => [l.abs, replies[i].code]));
  const listed = new Map<string, Promise<Set<string>>>();
  for (const { dir, name, abs } of looks) {
    if (found.has(dir)) continue;
    const code = seen.has(abs) ? (seen.get(abs) ? 213 : 550) : (codes.get(abs) ?? 550);
    if (code === 213) found.set(dir, name);
    else if (code !== 550 && code !== 450) {
      // SIZE not offered (500, 502): the folder's listing says.
      if (!listed.has(dir))
        listed.set(
          dir,
          listFolder(pool, remoteJoin(root, dir)).then(
            (entries) => new Set((entries ?? []).filter((e) => e.type !== 'dir').map((e) => e.name)),
          ),
        );
      if ((await listed.get(dir))?.has(name)) found.set(dir, name);
    }
  }
  return found;
}

/**
 * Why files the state does not vouch for are sent again, and how many of them the server holds: those the look
 * at the server found missing or changed (drift, warned of above), and those an earlier run left uncertain
 * (it had queued them when it stopped), each said as it is.
 */
function unvouchedInfo(unvouched: string[], absent: string[], drifted: Set<string>, dryRun: boolean): string {
  const gone = new Set(absent);
  const went = dryRun ? 'would go' : 'went';
  const part = (list: string[], why: string, thereAs: string): string => {
    const missing = list.filter((p) => gone.has(p)).length;
    return (
      `${list.length} file(s) ${why} ${went} up again through a temporary name: ${missing} not on the server ` +
      `(counted as uploads), ${list.length - missing} there${thereAs} (counted as replaced)`
    );
  };
  const found = unvouched.filter((p) => drifted.has(p));
  const left = unvouched.filter((p) => !drifted.has(p));
  return [
    found.length > 0 &&
      part(found, 'found missing or changed on the server (drift, above)', ' with other content'),
    left.length > 0 &&
      part(
        left,
        'an earlier run had queued when it stopped (or that the state does not vouch for)',
        ', perhaps part-written or not looked at',
      ),
  ]
    .filter(Boolean)
    .join('; ');
}

/**
 * The files a plan replaces only because the state knows them as uncertain (an earlier run was sending them when
 * it stopped, or `--verify` / `--adopt` found them off): the state has no deployed copy of them, nor a folder there.
 */
function unvouchedReplaces(plan: Plan, state: DeployState): string[] {
  return plan.uploads
    .filter((u) => u.action === 'replace' && !u.replacesDir && !Object.hasOwn(state.files, u.file.path))
    .map((u) => u.file.path);
}

/** The most commands {@link askEach} puts in one pipelined write. */
const ASK_WRITE = 1000;

/**
 * The replies to `commands` (read-only looks), in order: pipelined on one pooled connection, in writes of at
 * most {@link ASK_WRITE} commands (there may be tens of thousands). `what` names the task for errors.
 */
async function askEach(pool: ConnectionPool, what: string, commands: string[]): Promise<FtpReply[]> {
  return pool.run(what, async (c) => {
    const all: FtpReply[] = [];
    for (let i = 0; i < commands.length; i += ASK_WRITE)
      all.push(...(await c.pipeline(commands.slice(i, i + ASK_WRITE))));
    return all;
  });
}

/**
 * Of `paths` (relative), those the server holds no file at: SIZE of each, pipelined on one connection (one
 * round trip, or a few over TLS). For the report only: what is sent does not depend on it. A path the server
 * does not answer 550 (or 450) for (213, or no SIZE) is not among them; nor one that cannot be asked.
 */
async function notOnServer(pool: ConnectionPool, root: string, paths: string[]): Promise<string[]> {
  const ask = paths.filter((p) => askable(remoteJoin(root, p)) && !/[\r\n\0]/.test(p));
  if (ask.length === 0) return [];
  // A cut run of a large site may have queued tens of thousands.
  const replies = await askEach(
    pool,
    'look for files a cut run had queued',
    ask.map((p) => `SIZE ${remoteJoin(root, p)}`),
  );
  return ask.filter((_, i) => [550, 450].includes(replies[i]?.code ?? 0));
}

/**
 * Of `dirs` (relative), those the server holds as folders: CWD to each, pipelined on one connection (read-only:
 * the engine names every path in full). A name a server may alter (a last segment ending in a space or a dot,
 * a control character, a quote, a backslash) is not looked for: CWD could find the altered one. One it cannot
 * tell about is not among them (made as planned: MKD of a folder there is harmless).
 */
async function dirsThere(pool: ConnectionPool, root: string, dirs: string[]): Promise<string[]> {
  const ask = dirs.filter(
    (d) =>
      Buffer.byteLength(`CWD ${remoteJoin(root, d)}`) <= MAX_COMMAND_BYTES &&
      // eslint-disable-next-line no-control-regex -- control characters are what it looks for
      !/[ .](\/|$)|[\x00-\x1f\x7f"\\]/.test(d),
  );
  if (ask.length === 0) return [];
  const replies = await askEach(
    pool,
    'look for folders a cut run made',
    ask.map((d) => `CWD ${remoteJoin(root, d)}`),
  );
  return ask.filter((_, i) => (replies[i]?.code ?? 0) >= 200 && (replies[i]?.code ?? 0) < 300);
}

/**
 * A SIZE of `abs` fits in a command (no state can be there otherwise: it could not have been written). One
 * that did not would stop the whole pipelined write, the deploy with it.
 */
const askable = (abs: string): boolean => Buffer.byteLength(`SIZE ${abs}`) <= MAX_COMMAND_BYTES;

/** At most this many folders are looked at in the spot check's write (more: after planning, see otherDeploysIn). */
const EARLY_LOOKS = 32;

/**
 * Before planning (paths alone, no hash needed): the folders holding a file or folder the state lists that is
 * gone locally, or a file that became a folder, and those above them; each with every name of
 * {@link OTHER_STATES}, as absolute paths. None with --no-delete or --upload-only (nothing is deleted but
 * files that became folders), and none when there are more than {@link EARLY_LOOKS}. Then up to as many
 * deployed folders a file surely uploaded goes into.
 * `every` (the lock is to be taken before the plan): within that limit, the folders of every file that may be
 * sent too (a same-size edit, a new folder), so that a plan refused for another deploy's state there is refused
 * before the lock is taken.
 */
function earlyStateLooks(
  st: DeployState,
  local: LocalTree,
  root: string,
  statePath: string,
  o: ResolvedOptions,
  every = false,
): { looks: string[]; rest: string[] } {
  const candidates = new Set<string>();
  const deleting = o.delete && !o.uploadOnly;
  for (const d of local.dirs) {
    if (!Object.hasOwn(st.files, d)) continue;
    for (const a of ancestorsOf(d)) candidates.add(a);
  }
  if (deleting) {
    for (const p of [...Object.keys(st.files), ...(st.pending?.uncertain ?? [])]) {
      if (local.files.has(p) || local.dirs.has(p)) continue;
      for (const a of ancestorsOf(p)) candidates.add(a);
    }
    for (const d of [...st.dirs, ...(st.pending?.dirs ?? [])]) {
      if (local.dirs.has(d)) continue;
      for (const a of [...ancestorsOf(d), d]) candidates.add(a);
    }
  }
  const folders = candidates.size <= EARLY_LOOKS ? new Set(candidates) : new Set<string>();
  // The deployed folders a file surely sent goes into (new, or of another size): an upload there would write
  // over another deploy's files (refused). Up to EARLY_LOOKS more; the rest (same-size edits, folders this
  // plan makes: those too with `every`, as they fit) is asked after planning.
  const uploading = new Set<string>();
  const addUploading = (a: string): void => {
    candidates.add(a);
    if (!folders.has(a) && uploading.size < EARLY_LOOKS) uploading.add(a);
  };
  if (!o.deleteOnly) {
    const deployed = new Set(st.dirs);
    for (const f of local.files.values()) {
      const was = st.files[f.path];
      if (was !== undefined && (was.size === f.size || o.replace === false)) continue;
      for (const a of ancestorsOf(f.path)) if (deployed.has(a)) addUploading(a);
    }
    if (every) for (const f of local.files.values()) for (const a of ancestorsOf(f.path)) addUploading(a);
  }
  const absolute = (dirs: Iterable<string>): string[] =>
    [...dirs]
      .sort()
      .flatMap((d) => OTHER_STATES.map((name) => remoteJoin(root, `${d}/${name}`)))
      .filter((abs) => abs !== statePath && askable(abs));
  // `every`: the folders that did not fit, looked at before the lock all the same (see lookFurther).
  const rest = every ? [...candidates].filter((d) => !folders.has(d) && !uploading.has(d)) : [];
  return { looks: absolute([...folders, ...uploading]), rest: absolute(rest) };
}

/** At most this many looks for another deploy's state (SIZE) go out before a lock taken early (see lookFurther). */
const MAX_FURTHER_LOOKS = 4000;

/**
 * The looks for another deploy's state that did not fit in the spot check's write (a site of more than
 * {@link EARLY_LOOKS} folders), asked before a lock taken while the files are hashed: a plan refused for one
 * is refused before any lock. Pipelined in writes of 1000; each answer goes into `seen` (the plan asks none
 * again). True when the lock should wait for the plan: a state is there, a server gave no clear answer
 * (no SIZE), or there are more than {@link MAX_FURTHER_LOOKS}.
 */
async function lookFurther(
  pool: ConnectionPool,
  looks: string[],
  seen: Map<string, boolean>,
): Promise<boolean> {
  if (looks.length === 0) return false;
  if (looks.length > MAX_FURTHER_LOOKS) return true;
  const replies = await askEach(
    pool,
    'look for the states of other deploys',
    looks.map((abs) => `SIZE ${abs}`),
  );
  let wait = false;
  for (const [i, abs] of looks.entries()) {
    const code = replies[i]?.code ?? 0;
    if (code === 213) seen.set(abs, true);
    else if (code === 550 || code === 450) seen.set(abs, false);
    if (code !== 550 && code !== 450) wait = true;
  }
  return wait;
}

/**
 * A local file where a deployed folder is that is, or holds, another deploy's target: the folder cannot go
 * (G3), so the deploy is refused before anything changes (its files would otherwise be deleted first). So is
 * an upload into such a target.
 */
function refuseSwapsOverOthers(plan: Plan, root: string, states: Map<string, string>): void {
  const who = (t: string): string =>
    states.get(t) === FDA_STATE ? 'an FTP-Deploy-Action deploy' : 'another ftpship deploy';
  // A local folder where this deploy once sent a file inside another deploy's folder: that file is the other's.
  for (const f of plan.fileToDir) {
    const other = plan.otherDeploys.targets.find((t) => atOrUnder(f, t) && f !== t);
    if (other === undefined) continue;
    throw new GuardError(
      `cannot replace file ${remoteJoin(root, f)} with a folder: it is in ${remoteJoin(root, other)}, the target of ` +
        `${who(other)} (its state ${other}/${states.get(other) ?? DEFAULT_STATE_NAME} is there), whose files ftpship never ` +
        `deletes; rename the local folder, or leave it out with ${excludeOption(f)}; nothing was changed`,
    );
  }
  for (const u of plan.uploads) {
    if (!u.replacesDir) continue;
    const dir = u.file.path;
    const other = plan.otherDeploys.targets.find((t) => atOrUnder(t, dir) || atOrUnder(dir, t));
    if (other === undefined) continue;
    const name = states.get(other) ?? DEFAULT_STATE_NAME;
    const where =
      other === dir
        ? 'it is'
        : atOrUnder(other, dir)
          ? `it holds ${remoteJoin(root, other)},`
          : `it is in ${remoteJoin(root, other)},`;
    throw new GuardError(
      `cannot replace folder ${remoteJoin(root, dir)} with a file: ${where} the ` +
        `target of ${who(other)} (its state ${other}/${name} is there), ${atOrUnder(other, dir) ? 'which ftpship never removes' : 'whose files ftpship never deletes'}; ` +
        `rename the local file, or leave it out with ${excludeOption(dir)}; nothing was changed`,
    );
  }
  // A file sent into another deploy's folder would go over that deploy's own (or beside them, as its): that
  // deploy's state would name content no longer there, and its next run, seeing nothing changed, would never
  // put its own back.
  for (const t of plan.otherDeploys.targets) {
    const into = plan.uploads.map((u) => u.file.path).filter((f) => atOrUnder(f, t) && f !== t);
    if (into.length === 0) continue;
    const name = states.get(t) ?? DEFAULT_STATE_NAME;
    throw new GuardError(
      `cannot upload ${into.length} file(s) into ${remoteJoin(root, t)} (${firstFew(into)}): that folder is the ` +
        `target of ${who(t)} (its state ${t}/${name} is there), whose files ftpship never writes over; leave the ` +
        `folder out of this deploy with ${excludeOption(t)}, or deploy ${remoteJoin(root, t)} from one job only ` +
        `(if no job deploys there any more, delete ${remoteJoin(root, `${t}/${name}`)}); nothing was changed`,
    );
  }
}

/** Orphans left to another deploy (see {@link otherDeploysIn}): said once per folder, with what to do. */
function otherDeploysInfo(
  plan: Plan,
  root: string,
  states: Map<string, string>,
  dryRun: boolean,
  rep: Reporter,
): void {
  const { targets, files, dirs } = plan.otherDeploys;
  for (const t of targets) {
    // A file only ever uncertain where that deploy has its folder (its upload was refused): never this deploy's.
    const mine = files.filter((p) => atOrUnder(p, t) && p !== t);
    const folders = dirs.filter((d) => atOrUnder(d, t));
    if (mine.length + folders.length === 0) continue;
    const what = [
      ...(mine.length > 0 ? [`${mine.length} file(s) (${firstFew(mine)})`] : []),
      ...(folders.length > 0 ? [`${folders.length} folder(s) (${firstFew(folders)})`] : []),
    ].join(' and ');
    const name = states.get(t) ?? DEFAULT_STATE_NAME;
    rep.warn?.(
      `${what} deployed earlier and gone from the local files ${dryRun ? 'would be' : 'were'} left on the server and ` +
        `dropped from this deploy's state: the folder ${t} holds ${t}/${name}, ${whoseState(name)} ` +
        `(to ${remoteJoin(root, t)}), so what is there is that deploy's. To remove them, deploy to ` +
        `${remoteJoin(root, t)} without them, or delete them by hand`,
    );
  }
}

/** What --no-replace or --delete-only left as it is, in words: the state records it, a later run sends it. */
function heldInfo(plan: Plan, o: ResolvedOptions, rep: Reporter, hasState: boolean): void {
  const { held } = plan;
  const flag = o.deleteOnly ? '--delete-only' : '--no-replace';
  const would = o.dryRun ? 'would not be' : 'were not';
  const parts: string[] = [];
  if (held.replace.length > 0)
    parts.push(`${held.replace.length} changed file(s) left as they are (${firstFew(held.replace)})`);
  if (held.upload.length > 0)
    parts.push(`${held.upload.length} new file(s) not uploaded (${firstFew(held.upload)})`);
  if (held.mkdir.length > 0) parts.push(`${held.mkdir.length} folder(s) not made`);
  if (held.swap.length > 0)
    parts.push(
      `${held.swap.length} path(s) that changed between file and folder left as they are (${firstFew(held.swap)})`,
    );
  if (parts.length === 0) return;
  rep.info?.(
    `${flag}: ${parts.join('; ')}: they ${would} sent; ` +
      // With no state (nothing deployed here yet), there is no record to speak of.
      (hasState ? 'the state records what is on the server, so ' : '') +
      `a deploy without ${flag} sends them`,
  );
}

/** The first three paths of a list, and an ellipsis when there are more (for one line of a message). */
function firstFew(paths: string[]): string {
  return paths.slice(0, 3).join(', ') + (paths.length > 3 ? ', …' : '');
}

/**
 * After a cancel, the way out is given up once no reply came for this long (or the first login's time, if
 * longer: a slow link): Ctrl-C on a deploy whose server went away quits in about a second.
 */
const WAY_OUT_SILENCE_MS = 1000;

/** What a cancelled deploy could not do on its way out (the server unreachable too). */
interface WayOut {
  /** Given up: the server gave no answer for this long after the cancel. */
  silentMs?: number;
  /** The last checkpoint failed: why. */
  unsaved?: unknown;
  /** The lock stayed on the server. */
  lockLeft?: { path: string; err: unknown; staleMs: number };
}

function cancelledError(signal: AbortSignal, unchanged: boolean, wayOut: WayOut = {}): CancelledError {
  const err = cancelledMessage(signal, unchanged, wayOut);
  // An Error given as the reason (abort(new Error(…)), AbortSignal.timeout()'s TimeoutError) is the cause.
  const reason = givenReason(signal.reason);
  return reason ? new CancelledError(err.message, { cause: reason }) : err;
}

/**
 * The reason given to abort() when it is an Error (by its shape: a DOMException, as AbortSignal.timeout()'s
 * TimeoutError, may come from another realm); none for abort()'s own AbortError.
 */
function givenReason(reason: unknown): Error | undefined {
  const e = reason as { name?: unknown; message?: unknown } | null;
  if (typeof e !== 'object' || e === null || typeof e.message !== 'string' || typeof e.name !== 'string')
    return undefined;
  return e.name === 'AbortError' ? undefined : (e as Error);
}

/** The reason as the message shows it: a string as it is, an Error by its message; abort()'s own none. */
function shownReason(reason: unknown): string {
  if (typeof reason === 'string') return ` (${reason})`;
  const given = givenReason(reason);
  return given?.message ? ` (${given.message})` : '';
}

function cancelledMessage(signal: AbortSignal, unchanged: boolean, wayOut: WayOut): CancelledError {
  const why = shownReason(signal.reason);
  if (unchanged) return new CancelledError(`cancelled${why}: nothing was changed`);
  const { unsaved, lockLeft, silentMs } = wayOut;
  if (unsaved === undefined && !lockLeft)
    return new CancelledError(
      `deploy cancelled${why}: no new transfer was started, what was done is recorded in the state and the lock released; rerun to finish the deploy (it sends only what was not confirmed)`,
    );
  // The server could not be reached on the way out either: say what that left, not that all went well.
  let failed = (unsaved ?? lockLeft?.err) as Error | undefined;
  while (failed?.cause instanceof Error) failed = failed.cause; // the socket's word, not our wrapping of it
  const left = [
    unsaved !== undefined
      ? 'the last steps are not recorded in the state (the next deploy sends them again)'
      : 'what was done is recorded in the state',
    lockLeft
      ? `the lock ${lockLeft.path} is still there: the next deploy takes it over once it is stale (at once on this machine, ` +
        `from another machine ${Math.round(lockLeft.staleMs / 1000)} s after this deploy last refreshed it), or remove that folder by hand`
      : 'the lock released',
  ];
  const cause =
    silentMs !== undefined
      ? `it gave no answer for ${silentMs} ms, so ftpship stopped waiting`
      : (failed?.message ?? String(failed));
  return new CancelledError(
    `deploy cancelled${why}: no new transfer was started, but the server could not be reached on the way out (${cause}): ${left.join('; ')}; rerun to finish the deploy`,
  );
}

/** A file new, gone or of another size than the state says: the deploy will change something (hashes aside). */
function sizesDiffer(files: ReadonlyMap<string, { size: number }>, st: DeployState): boolean {
  let listed = 0;
  for (const [p, f] of files) {
    const was = st.files[p];
    if (was === undefined || was.size !== f.size) return true;
    listed++;
  }
  return listed !== Object.keys(st.files).length;
}

/** The fastest of three NOOP round trips on one connection, in ms. */
async function roundTrip(pool: ConnectionPool): Promise<number> {
  return pool.run('NOOP', async (c) => {
    let best = Infinity;
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      await c.send('NOOP');
      best = Math.min(best, performance.now() - t);
    }
    return best;
  });
}

/**
 * FTP-Deploy-Action's state, read because ftpship's own is missing, vouches only for what that tool last
 * wrote: it writes its state file after its files. A file the server shows written later (by ftpship, before
 * its own state was deleted by hand; by a person) may hold other content, of the same size too: trusted, the
 * deploy took a local file of FTP-Deploy-Action's content for unchanged, and the server kept the other (G4).
 * Such files, of those the plan would otherwise leave, are sent again through a temp; the rest is trusted.
 */
async function writtenSinceFda(
  pool: ConnectionPool,
  root: string,
  local: LocalTree,
  state: DeployState,
  rep: Reporter,
  dryRun: boolean,
): Promise<string[]> {
  const since = state.ftpDeployAction?.stamp?.split(' ')[1];
  if (since === undefined || !/^\d{14}/.test(since)) return []; // the server gave no time for that file
  // Only a file the plan could take for unchanged matters: a local one of the recorded size (or unknown).
  const candidates = Object.keys(state.files).filter((p) => {
    const f = local.files.get(p);
    return f !== undefined && (state.files[p].size < 0 || state.files[p].size === f.size);
  });
  if (candidates.length > 64) pool.expand(); // several batches: spread over the connections
  const newer = await newerThan(pool, root, candidates, since);
  if (newer.length === 0) return [];
  for (const p of newer) delete state.files[p];
  const pending = (state.pending ??= { temps: {}, uncertain: [] });
  pending.uncertain = [...new Set([...pending.uncertain, ...newer])].sort();
  rep.warn?.(
    `${newer.length} file(s) on the server were written after FTP-Deploy-Action's state file (${firstFew(newer)}): ` +
      `its state does not say what they hold (ftpship deployed since, and its own state was deleted?), so they ` +
      `${dryRun ? 'would be' : 'are'} sent again`,
  );
  return newer;
}

/**
 * The folder deployed to is a file on the server (a page's address pasted as the URL: `…/public_html/index.html`).
 * Servers list a file's path as that file's own entry, which read as a folder holding it: a dry run warned
 * that it "already holds index.html" and planned a deploy that then failed making the folder. Stopped here,
 * dry run or not, with the deploy's own words. Only when the top holds its own name alone: then one listing
 * of the folder above says whether that is a file (a folder `x` holding a file `x` is a folder).
 */
async function refuseFileTarget(
  pool: ConnectionPool,
  root: string,
  names: string[],
  dryRun: boolean,
): Promise<void> {
  const name = baseName(root);
  if (name && names.length === 1 && names[0] === name) {
    const above = await listFolder(pool, root.slice(0, -name.length - 1) || '/');
    if (above?.find((e) => e.name === name)?.type === 'file') throw fileAtTarget(root);
    return;
  }
  if (names.length > 0 || !dryRun) return;
  // Nothing at the target (not there yet, or empty): a file may stand on its path (`…/index.html/sub`). A deploy
  // meets it in its MKD (folderRefused, the same words), so only a dry run, which makes no folder, looks: the
  // folders above, nearest first, until one holds the next name. A file there is refused as above; a folder, or
  // the top, ends the walk. A deploy, or a target that holds files, costs no round trip more.
  for (let path = root; path !== '/' && path !== '';) {
    const child = baseName(path);
    const up = path.slice(0, -child.length - 1) || '/';
    const entry = (await listFolder(pool, up))?.find((e) => e.name === child);
    if (entry?.type === 'file') throw fileAtTarget(path);
    if (entry) return;
    path = up;
  }
}

/** `--adopt` on a first deploy: the state starts from what the server already holds, compared byte for byte. */
async function adopt(
  pool: ConnectionPool,
  root: string,
  local: LocalTree,
  state: DeployState,
  rep: Reporter,
  noReplace: boolean,
  /** ftpship's own files in the target (state, its copy, the lock): not the site's. */
  reserved: ReadonlySet<string>,
): Promise<void> {
  pool.expand();
  const a = await adoptRemote(pool, root, local, state);
  // --no-replace would keep them, but a state cannot say what they hold (G4: it lists only what was checked)
  // and a later run, not knowing them, would write over them as new files. Refused before anything is sent.
  const differ = state.pending?.uncertain ?? [];
  if (noReplace && differ.length > 0)
    throw new ConfigError(
      `--adopt found ${differ.length} file(s) on the server that differ from the local ones (or could not be ` +
        `compared): ${firstFew(differ)}. --no-replace would keep them, but the state could not then say what ` +
        `they hold; nothing was changed. Deploy once without --no-replace (they are replaced through a temporary ` +
        `name), or leave them out with --exclude`,
    );
  rep.info?.(
    `adopt: ${a.adopted} file(s) already on the server with the same content are kept as they are; ` +
      `${a.differing} that differ (or may) are replaced`,
  );
  // What only the server holds stays for good: say so once, now, as a tool that mirrored with deletion
  // (lftp `mirror --delete`) would have removed it, and no later deploy will.
  const foreign = a.remoteOnly.filter((p) => {
    const name = baseName(p.replace(/\/$/, ''));
    return !reserved.has(p.replace(/\/$/, '')) && !TEMP_NAME.test(name) && !OTHER_STATES.includes(name);
  });
  if (foreign.length > 0)
    rep.info?.(
      `adopt: ${foreign.length} file(s) or folder(s) on the server are not in the local folder (${firstFew(foreign)}): ` +
        `they stay, on this deploy and every later one (ftpship deletes only what it deployed); delete them by hand if they should go`,
    );
}

/** Drops drifted files from the state so the plan uploads them again (G4: the state must not lie). */
async function repairDrift(
  pool: ConnectionPool,
  root: string,
  state: DeployState,
  rep: Reporter,
  /** The local files: a drifted file no longer among them is not sent (it is an orphan). */
  local: { has(path: string): boolean },
): Promise<string[]> {
  pool.expand();
  const { drift, hashed } = await findDrift(pool, root, state);
  for (const d of drift) {
    const then = local.has(d.path) ? 'it will be uploaded again' : 'it is gone locally too: not sent again';
    rep.warn?.(
      d.otherContent
        ? `drift: ${d.path} has other content on the server than was deployed (its SHA-256, same size); ${then}`
        : `drift: ${d.path} is ${d.actual < 0 ? 'missing on the server' : `${d.actual} bytes on the server`}, the state says ${d.expected}; ${then}`,
    );
    delete state.files[d.path];
    const pending = (state.pending ??= { temps: {}, uncertain: [] });
    pending.uncertain.push(d.path);
  }
  if (drift.length === 0)
    rep.info?.(
      `verify: every file the state lists is on the server with its size${hashed ? ' and SHA-256 (the server hashed each)' : ''}`,
    );
  return drift.map((d) => d.path);
}

async function scan(o: ResolvedOptions): Promise<LocalTree> {
  if (o.files) return treeFromFiles(o.files, o.encoding);
  return scanLocalDir(o.localDir as string, excludeMatcher(o.exclude), o.encoding);
}

/** Files under a folder the default excludes leave out: a `.git` (its config may hold a token) or `node_modules`. */
const DEFAULT_EXCLUDED_DIR = /(?:^|\/)(?:\.git|node_modules)\//;

/**
 * With replaceDefaultExcludes (the Action always sets it), nothing keeps `.git/` and `node_modules/` off the
 * server but the caller's own excludes: one warning naming the first such file, if any is in the deploy.
 */
function defaultsReplacedWarning(paths: Iterable<string>): string | undefined {
  let first: string | undefined;
  let count = 0;
  for (const p of paths) {
    if (!DEFAULT_EXCLUDED_DIR.test(p)) continue;
    count++;
    if (first === undefined || p < first) first = p;
  }
  if (first === undefined) return undefined;
  const more =
    count > 1 ? ` and ${count - 1} more file${count > 2 ? 's' : ''} under .git/ or node_modules/` : '';
  return (
    `the local file ${first}${more} will be on the server: replaceDefaultExcludes is set, so the default ` +
    `excludes (.git/, node_modules/) do not apply; add '**/.git/**' and '**/node_modules/**' to exclude to leave them out`
  );
}

/**
 * The state file's path as it can be named before login (absolute, or from the login folder, which the
 * server resolves it from): its EPSV and RETR then go in the login's write, one round trip less before the
 * plan. Not when ftpship reads no state, nor for a relative path with `.` or `..` (the server may resolve
 * those otherwise than ftpship does from PWD).
 */
function stateAtLogin(o: ResolvedOptions): { path: string; max: number } | undefined {
  if (o.uploadOnly || o.resetState) return undefined;
  const remoteDir = o.remoteDir === '~' ? '' : o.remoteDir.replace(/^~\//, '');
  const max = STATE_MAX;
  if (o.statePath.startsWith('/')) return { path: normalizeRemoteDir(o.statePath), max };
  if (remoteDir.startsWith('/'))
    return { path: normalizeRemoteDir(remoteJoin(normalizeRemoteDir(remoteDir), o.statePath)), max };
  const rel = remoteDir ? `${remoteDir.replace(/\/+$/, '')}/${o.statePath}` : o.statePath;
  return isSafeRelPath(rel) ? { path: rel, max } : undefined;
}

/** Nothing deployed yet and nothing pending: every local file is a plain upload. */
function isEmptyState(state: DeployState): boolean {
  return Object.keys(state.files).length === 0 && state.dirs.length === 0 && state.pending === undefined;
}

async function connectClient(
  o: ResolvedOptions,
  rep: Reporter,
  id: number,
  over: AbortSignal,
  /** The state, read with the first connection's login (see stateAtLogin). */
  atLogin?: { path: string; max: number },
  /** Called on every reply the server sends. */
  heard?: () => void,
): Promise<FtpClient> {
  // The deploy over while this one is still opening (a server over its limit may take it and never greet):
  // its socket is cut, rather than kept until the timeout, which kept the process alive that long.
  let opening = true;
  const cuts = new Set<() => void>();
  const socketFactory: SocketFactory = (host, port) => {
    const socket = defaultSocketFactory(host, port);
    if (!opening) return socket;
    const cut = (): void => {
      socket.destroy(new Error('the deploy is over'));
    };
    if (over.aborted) cut();
    else {
      over.addEventListener('abort', cut, { once: true });
      cuts.add(cut);
    }
    return socket;
  };
  const connecting = FtpClient.connect({
    ...loginOptions(o),
    socketFactory,
    log:
      rep.protocol || heard
        ? (line) => {
            if (line.startsWith('<')) heard?.();
            rep.protocol?.(line, id);
          }
        : undefined,
    pipelining: o.pipelining,
    readAtLogin: id === 1 ? atLogin : undefined,
  });
  // Said here, not in connectError: a refusal of cleartext is final, where a 421 alone is retried.
  return connecting
    .catch((err: unknown) => {
      throw cleartextRefused(err, o) ?? err;
    })
    .finally(() => {
      opening = false;
      for (const cut of cuts) over.removeEventListener('abort', cut);
    });
}

/**
 * Words of a login refused because the connection is not encrypted: pure-ftpd -Y 2 "421 Sorry, cleartext
 * sessions … Please reconnect using TLS", vsftpd force_local_logins_ssl "530 Non-anonymous sessions must use
 * encryption.", proftpd TLSRequired "550 SSL/TLS required on the control channel", IIS "534 Policy requires
 * SSL.", FileZilla Server "… does not allow plain FTP. You have to use FTP over TLS." A wrong password's
 * reply ("530 Login incorrect.", "530 Login authentication failed") holds none of them; "security" alone is
 * left out, as an account locked "for security reasons" is no question of TLS.
 */
const NEEDS_TLS =
  /\b(?:TLS|SSL|FTPS|(?:un)?encrypt\w*|(?:in)?secure|clear[\s-]?text|plain[\s-]?(?:text|FTP))\b/i;

/** A reply's code and first line, as a message quotes it. */
const said = (e: FtpReplyError): string => `${e.code} ${e.serverMessage.split('\n')[0]}`;

/** A plain connection's USER or PASS refused with a reply saying TLS is required: what to use instead. */
function cleartextRefused(err: unknown, o: ResolvedOptions): ConfigError | undefined {
  if (o.secure !== false || !(err instanceof FtpReplyError)) return undefined;
  if (!/^(?:USER|PASS)\b/.test(err.command) || !NEEDS_TLS.test(err.serverMessage)) return undefined;
  return new ConfigError(
    `${bracketed(o.host)}:${o.port} refuses a login over plain FTP (${err.command.split(' ')[0]}: ${said(err)}): ` +
      `it requires TLS. Connect with explicit TLS on the same port ` +
      `(CLI: ftpes://; Action: protocol ftps; library: secure 'explicit')`,
  );
}

/** ftpship's own files inside the target, relative to it: never uploaded over, never deleted. */
function reservedPaths(root: string, statePath: string): Set<string> {
  const rel = insideTarget(root, statePath);
  return new Set(rel ? [rel, `${rel}.tmp`, `${rel}.lock`, backupPath(rel)] : []);
}

/**
 * A path that makes an FTP command longer than servers take (the client refuses to send it), found before any
 * change rather than when its turn comes: the file, by how much, and what to do. A path that fits alone, but
 * not with the temporary name it is replaced through (`.ftpship-….tmp`, longer than a short name), can go in
 * place with --no-atomic.
 */
function checkCommandLengths(plan: Plan, root: string): void {
  const over = (rel: string): number => {
    const command = `STOR ${remoteJoin(root, rel)}`;
    return command.length * 3 <= MAX_COMMAND_BYTES ? 0 : Buffer.byteLength(command) - MAX_COMMAND_BYTES;
  };
  for (const u of plan.uploads) {
    const rel = u.file.path;
    const byPath = over(rel);
    const byTemp = u.temp === undefined ? 0 : over(u.temp);
    if (byPath <= 0 && byTemp <= 0) continue;
    const limit = `FTP servers take command lines of at most ${MAX_COMMAND_BYTES} bytes`;
    throw new ConfigError(
      byPath > 0
        ? `the local path ${JSON.stringify(rel)} is too long for FTP: ${limit}, and "STOR ${remoteJoin(root, rel)}" is ${byPath} bytes over; shorten its name or folders (or the server folder) by ${byPath} bytes, or leave it out with ${excludeOption(rel)}`
        : `the local path ${JSON.stringify(rel)} is too long for FTP once replaced through its temporary name ${JSON.stringify(baseName(u.temp as string))}: ${limit}, and that is ${byTemp} bytes over; shorten its name or folders by ${byTemp} bytes, deploy with --no-atomic (the file is then written in place), or leave it out with ${excludeOption(rel)}`,
    );
  }
}

/** What the guards see of a deploy: its options, target, and the files it carried (a stream's, see guard). */
interface GuardView {
  o: ResolvedOptions;
  root: string;
  /** The local files to publish (ftpship's own names, which are never sent, left out). */
  paths: string[];
  /** For files that came down a stream: how many it carried, and how many files the state lists. */
  stream?: { carried: number; deployed: number };
}

/**
 * The guards a plan passes before anything changes on the server, in the order they are checked: `check`
 * refuses the plan (throws); `may` says beforehand, from the options and the local paths alone, whether it can
 * refuse at all. Where none may, a deploy takes its lock while the files are hashed (see deploy); else the lock
 * waits for the plan, as a refused plan changes nothing on the server (no lock either). Another deploy's state
 * in a folder the plan touches (refuseSwapsOverOthers) is looked for in the spot check's write instead.
 */
const PLAN_GUARDS: ReadonlyArray<{ may(v: GuardView): boolean; check(plan: Plan, v: GuardView): void }> = [
  { may: (v) => v.o.keep.length > 0, check: refuseKeptSwaps },
  { may: (v) => v.o.maxDelete === undefined && v.paths.length === 0, check: refuseEmptying },
  { may: (v) => v.stream !== undefined, check: refusePartialStream },
  { may: (v) => v.o.maxDelete !== undefined, check: refuseOverMaxDelete },
  {
    // A path too long for a command line (see checkCommandLengths; 64 covers `STOR /` and a temp name).
    may: (v) => v.paths.some((p) => (v.root.length + p.length + 64) * 3 > MAX_COMMAND_BYTES),
    check: (plan, v) => checkCommandLengths(plan, v.root),
  },
];

/** Whether a guard may refuse the plan of this deploy (see PLAN_GUARDS). */
function mayRefuse(v: GuardView): boolean {
  return PLAN_GUARDS.some((g) => g.may(v));
}

/** Each guard in turn: the first that refuses the plan throws. */
function guard(plan: Plan, v: GuardView): void {
  for (const g of PLAN_GUARDS) g.check(plan, v);
}

/** A folder swapped for a file, or a file for a folder, where --keep protects a path. */
function refuseKeptSwaps(plan: Plan): void {
  if (plan.keptInSwaps.length > 0) {
    const kept = plan.keptInSwaps;
    const folders = [...new Set(plan.uploads.filter((u) => u.replacesDir).map((u) => u.file.path))].filter(
      (d) => kept.some((p) => atOrUnder(p, d)),
    );
    const many = folders.length > 1;
    const files = kept.filter((p) => !folders.includes(p));
    const what =
      files.length === 0
        ? `that --keep protects, which would be removed to make ${many ? 'them' : 'it'}; nothing was changed. ` +
          `Rename the local file${many ? 's' : ''}, or narrow --keep, then deploy again.`
        : `holding ${files.length} path(s) --keep protects (${firstFew(files)}), which would go with the folder; nothing was changed. ` +
          `Move them out of that folder on the server, or narrow --keep, then deploy again.`;
    throw new GuardError(
      `the local file${many ? 's' : ''} ${folders.join(', ')} replace${many ? '' : 's'} ${many ? 'folders' : 'a folder'} on the server ${what}`,
    );
  }
  if (plan.keptReplacedByDirs.length > 0) {
    const kept = plan.keptReplacedByDirs;
    const many = kept.length > 1;
    throw new GuardError(
      `the local folder${many ? 's' : ''} ${firstFew(kept)} replace${many ? '' : 's'} ${many ? 'files' : 'a file'} of the same name on the server ` +
        `that --keep protects, which would be deleted to make ${many ? 'them' : 'it'}; nothing was changed. ` +
        `Rename the local folder${many ? 's' : ''}, or narrow --keep, then deploy again.`,
    );
  }
}

/** Nothing to publish but files to delete. */
function refuseEmptying(plan: Plan, { o }: GuardView): void {
  const deletes = plan.entries.filter((e) => e.action === 'delete').length;
  // Nothing to publish but files to delete: most often a failed build or a wrong folder or exclude, and
  // obeying would empty the live site. Only an explicit --max-delete lets it through.
  const held = plan.held.replace.length + plan.held.upload.length + plan.held.swap.length;
  if (o.maxDelete === undefined && deletes > 0 && plan.uploads.length + plan.unchanged.length + held === 0) {
    const what = o.localDir ? `the local folder ${o.localDir}` : 'the set of files given';
    throw new GuardError(
      `${what} has no file to publish${o.localDir && o.exclude.length > 0 ? ' (after excludes)' : ''}, so the plan would delete ` +
        `${deletes === 1 ? 'the one file' : `all ${deletes} files`} ftpship deployed; nothing was changed. Check the build output and --exclude, or ` +
        `pass --max-delete ${deletes} to empty the server folder on purpose.`,
    );
  }
}

/** A stream carrying part of the build. */
function refusePartialStream(plan: Plan, { o, stream }: GuardView): void {
  const deletes = plan.entries.filter((e) => e.action === 'delete').length;
  // A stream carrying fewer than half of the files deployed, whose plan deletes more than half of them: most
  // often only the changed files (gulp.src with since, gulp-changed, a watch piping one file) or a stream a
  // swallowed error ended early, not a build that shrank. A full build with every file renamed (hashed asset
  // names) carries as many files as before, and goes through.
  if (
    stream &&
    o.maxDelete === undefined &&
    deletes >= PARTIAL_MIN_DELETES &&
    deletes * 2 > stream.deployed &&
    stream.carried * 2 < stream.deployed
  ) {
    throw new GuardError(
      `only ${stream.carried} file${stream.carried === 1 ? '' : 's'} reached ftpship, of the ${stream.deployed} it deployed to this target, so the plan ` +
        `would delete ${deletes} of them; nothing was changed. A stream carrying part of the build (gulp.src with since: gulp.lastRun(), ` +
        `gulp-changed, gulp-newer, a watch piping the changed file, or an error kept by gulp-plumber that ended it early) makes every file it ` +
        `leaves out an orphan. Pipe in the whole build (ftpship sends only what changed)` +
        (o.deleteOnly
          ? `, or pass maxDelete: ${deletes} to delete them on purpose.`
          : `, pass maxDelete: ${deletes} to delete them on purpose, or delete: false to upload these files and delete nothing.`),
    );
  }
}

function refuseOverMaxDelete(plan: Plan, { o }: GuardView): void {
  const deletes = plan.entries.filter((e) => e.action === 'delete').length;
  if (o.maxDelete !== undefined && deletes > o.maxDelete) {
    throw new GuardError(
      `the plan deletes ${deletes} file${deletes === 1 ? '' : 's'}, more than --max-delete ${o.maxDelete}; nothing was changed. ` +
        `Check the local folder and excludes, or raise --max-delete.`,
    );
  }
}

const tried = (o: ResolvedOptions): string => (o.retries > 0 ? `; asked ${o.retries + 1} times` : '');

/** An error and its causes, outermost first. */
function* causesOf(err: unknown): Generator<object> {
  for (let e = err as { cause?: unknown } | undefined; e && typeof e === 'object'; e = e.cause as typeof e)
    yield e;
}

/** The fingerprint of the certificate a TLS error (or its cause) was about, if the server presented one. */
function presentedFingerprintOf(err: unknown): string | undefined {
  for (const e of causesOf(err)) if (e instanceof FtpTlsError && e.fingerprint) return e.fingerprint;
  return undefined;
}

/** "its SHA-256 fingerprint is X, the pin is Y" (or "the pins are Y, Z"). */
function presentedAndPins(m: PinMismatch): string {
  const got = m.presented ? `its SHA-256 fingerprint is ${m.presented}` : 'it presented no certificate';
  return `${got}, the pin${m.pins.length === 1 ? ' is' : 's are'} ${m.pins.join(', ')}`;
}

/** A certificate that matches no --tls-fingerprint: nothing was sent to that server (exit 1). */
function pinRefused(o: ResolvedOptions, m: PinMismatch): DeployError {
  const howTo = fingerprintHowTo(o.host, o.port, o.secure === 'implicit');
  return new DeployError(
    `the TLS certificate of ${bracketed(o.host)}:${o.port} is not the one pinned with --tls-fingerprint: ` +
      `${presentedAndPins(m)}. ` +
      'Nothing was sent (no user name, no password) and nothing was changed. ' +
      `Check the pin against the server's certificate (${howTo}): ` +
      `if the certificate was replaced, pin the new one (any of several pins matches, to accept both while it changes); ` +
      `if not, someone may be intercepting the connection`,
    { cause: m },
  );
}

/**
 * A data connection whose certificate matches no pin, after the control connection's did: the client's
 * message, behind "upload X failed:", did not say what it means or what to do.
 */
/**
 * A connection that kept failing through the retries, in a step that did not say which (the lock, a batch of
 * folders or renames): the bare socket error named neither the step nor what to do. The state records what
 * was confirmed, so a rerun goes on from there.
 */
function connectionLost(err: unknown): unknown {
  if (!isTransientError(err) || err instanceof DeployError || err instanceof FtpReplyError) return err;
  return new DeployError(
    `${ftpMessage(err)} (the connection kept failing through the retries: check the network, then run ` +
      `the deploy again; it sends only what was not confirmed)`,
    { cause: err },
  );
}

function dataPinRefused(err: unknown, o: ResolvedOptions): DeployError | undefined {
  let tlsErr: FtpTlsError | undefined;
  for (const e of causesOf(err)) if (e instanceof FtpTlsError && e.data) tlsErr = e;
  const m = tlsErr && findPinMismatch(tlsErr);
  if (!m) return undefined;
  const at = /^(.+?) failed: TLS handshake of a data connection/.exec((err as Error).message ?? '')?.[1];
  return new DeployError(
    `a data connection to ${bracketed(o.host)}${at ? ` (to ${at})` : ''} presented another TLS ` +
      `certificate than the pinned one of the control connection: ${presentedAndPins(m)}. ftpship checks the pins on every ` +
      `connection, data connections included, and sent nothing over this one. Something on the path may be ` +
      `intercepting data connections, or a load balancer or proxy in front of the server presents another ` +
      `certificate on them: ask the host. ` +
      (m.presented
        ? `If that certificate is theirs, add its fingerprint (${m.presented}) to --tls-fingerprint, beside the pin; `
        : '') +
      `if not, do not deploy over this network`,
    { cause: err },
  );
}

/** Turns a failure to connect or log in into one clear line naming the value and what to try. */
function connectError(err: unknown, o: ResolvedOptions): Error {
  if (err instanceof ConfigError) return err; // said already (a login refused for want of TLS)
  const where = `${bracketed(o.host)}:${o.port}`;
  const mismatch = findPinMismatch(err);
  if (mismatch) return pinRefused(o, mismatch);
  if (isConnectionLimit(err)) {
    const e = err as FtpReplyError;
    return new DeployError(
      `${where} takes no more connections ${e.code === 530 ? `for ${JSON.stringify(o.user)} ` : ''}now (${said(e)}${tried(o)}): ` +
        `other sessions hold them (another FTP client, ` +
        `or a deploy that was cut off: servers can keep its sessions for minutes); wait and run again, or ask the host to raise the limit`,
    );
  }
  if (err instanceof FtpReplyError && err.code === 421)
    return new DeployError(
      `${where} is not taking connections now (${said(err)}${tried(o)}); wait and run again`,
    );
  if (err instanceof FtpReplyError && err.code === 530) {
    return new ConfigError(
      `login to ${where} as ${JSON.stringify(o.user)} failed: ${said(err)}; check the user and password`,
    );
  }
  if (err instanceof FtpReplyError && err.command === 'AUTH TLS') {
    return new ConfigError(
      `${where} refused TLS (AUTH TLS: ${err.code} ${err.serverMessage}); ftpship never falls back to plain FTP. Use ftp:// only if you accept an unencrypted connection.`,
    );
  }
  const msg = (err as Error).message ?? String(err);
  const code =
    (err as NodeJS.ErrnoException).code ?? ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code;
  // The DNS answered that the name does not exist (ENOTFOUND): a typo, most often, which no rerun fixes (exit 2).
  if (code === 'ENOTFOUND')
    return new ConfigError(`host ${JSON.stringify(o.host)} not found; check the server name`, { cause: err });
  // The lookup itself failed for now (EAI_AGAIN: the DNS server did not answer): a rerun may well work (exit 1).
  if (code === 'EAI_AGAIN')
    return new DeployError(
      `cannot look up host ${JSON.stringify(o.host)}: the DNS lookup failed for now (EAI_AGAIN); check the network and its DNS, then run the deploy again`,
      { cause: err },
    );
  if (code === 'ECONNREFUSED')
    return new DeployError(`cannot connect to ${where}: connection refused; check the host and port`);
  const names = certificateNames(err);
  // The certificate's fingerprint, to pin it once the user has checked it is their server's.
  const fp = presentedFingerprintOf(err);
  const pinIt = (what: string): string =>
    fp
      ? `; or, if you have checked that ${what} (SHA-256 fingerprint ${fp}) is your server's, pin it with --tls-fingerprint ${fp}`
      : '';
  if (names) {
    return new ConfigError(
      `the TLS certificate of ${where} is for ${names.join(', ')}, not ${o.tls?.servername ?? o.host}: connect to one of those names, ` +
        `or check the certificate against one with --tls-name ${names[0]}${pinIt('the certificate')}`,
    );
  }
  const dated = certificateOutOfDate(err);
  if (dated) {
    return new ConfigError(
      `the TLS certificate of ${where} ${dated}: the server needs a current certificate (or this machine's clock is wrong); ` +
        `--ca cannot fix that, --insecure skips every check of the certificate`,
    );
  }
  if (/certificate|self.signed|altname|CERT_/i.test(msg)) {
    const cause =
      err instanceof FtpTlsError
        ? String((err.cause as { message?: unknown } | undefined)?.message ?? msg)
        : msg;
    // A CA given that does not vouch for it: "pass its CA with --ca FILE" read as if none had been given.
    const caGiven = [o.tls?.ca ?? []].flat().length > 0;
    const what = caGiven
      ? 'the CA given does not vouch for it: pass the CA that signed it (with any intermediate certificates) with --ca FILE'
      : 'pass its CA with --ca FILE';
    return new ConfigError(
      `TLS certificate of ${where} not trusted: ${cause}; ${what} (or --insecure to skip the check)${pinIt('this certificate')}`,
    );
  }
  // Implicit TLS to a port that speaks plain FTP first: the server's greeting is no TLS record.
  if (o.secure === 'implicit' && /wrong version number|packet length too long|unknown protocol/i.test(msg))
    return new ConfigError(
      `${where} does not speak TLS from the first byte (implicit TLS): it greets in plain FTP. Use explicit TLS on this port, usually 21 (CLI: ftpes://; Action: protocol ftps; library: secure 'explicit')`,
    );
  if (err instanceof FtpTimeoutError && err.afterGreeting)
    return new DeployError(
      `${where} answered, then gave no reply to ${err.afterGreeting} within ${o.timeoutMs} ms: a slow server` +
        `${err.afterGreeting === LoginStage.Login ? ' (some take seconds to check a password)' : ''}; raise --timeout, or try again later`,
    );
  if (/within \d+ ms/.test(msg))
    return new DeployError(
      `no answer from ${where}: ${msg.replace(IMPLICIT_TLS_PORT_HINT, '').replace(CHECK_ADDRESS_HINT, '').replace(RAISE_TIMEOUT_HINT, '')}; check the host, port and firewall, or raise --timeout` +
        (o.secure === 'implicit'
          ? ''
          : ` (a port that speaks implicit TLS, usually 990, waits silently for TLS: use implicit TLS there; CLI: ftps://, Action: protocol ftps-legacy, library: secure 'implicit')`),
    );
  // A connection closed or reset at once (the network, a server restarting), at the start or mid-deploy.
  const retry = isTransientError(err)
    ? '; check the host, the port and the network, then run the deploy again'
    : '';
  // The client's own "cannot connect to host:port: …" and its advice are not said twice.
  const shown = msg.replace(/^cannot connect to \S+: /, '').replace(retry ? CHECK_ADDRESS_HINT : '', '');
  return new DeployError(`cannot connect to ${where}: ${shown}${retry}`, { cause: err });
}

/**
 * A local file new or of another size than the state says, which this deploy sends whatever the hashes say:
 * there is work, and the lock can be taken before the plan is made.
 */
function uploadsCertain(
  files: ReadonlyMap<string, { size: number }>,
  st: DeployState,
  o: { deleteOnly?: boolean; replace?: boolean },
): boolean {
  if (o.deleteOnly || o.replace === false) return false;
  for (const [p, f] of files) {
    const was = st.files[p];
    if (was === undefined || was.size !== f.size) return true;
  }
  return false;
}
