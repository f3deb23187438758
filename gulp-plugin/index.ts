/**
 * `ftpship/gulp`: a gulp plugin over the deploy engine.
 *
 * ```js
 * import gulp from 'gulp';
 * import { deploy } from 'ftpship/gulp';
 * export const publish = () =>
 *   gulp.src('dist/**', { dot: true, encoding: false }).pipe(deploy({ host, user, password, remoteDir: '/site' }));
 * ```
 *
 * The stream collects the vinyl files, passes them through, and deploys once at the end (the plan needs the
 * whole set to find orphans). A failure fails the task with a `PluginError('ftpship', …)`; the stream never
 * throws and never exits the process. It deploys even when nothing reads its output.
 */
import { isUtf8 } from 'node:buffer';
import { lstatSync, readlinkSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import log from 'fancy-log';
import PluginError from 'plugin-error';
import type File from 'vinyl';
import { deploy as deployEngine } from '../src/engine/deploy.js';
import { CancelledError, ConfigError, DeployError, GuardError } from '../src/engine/errors.js';
import { DEFAULT_STATE_NAME, type Progress, type Reporter, type SourceFile } from '../src/engine/options.js';
import { whenAborted } from '../src/engine/when-aborted.js';
import { ignoreGoneOutput } from '../src/gone-output.js';
import {
  formatBytes,
  formatEstimate,
  formatPlan,
  formatSummary,
  printable,
  type DeployReport,
} from '../src/engine/report.js';
import { releaseLockAtExit } from './exit.js';
import { checkOptions, forUser, PLUGIN_NAME, type GulpDeployOptions } from './options.js';
import { hasConsumers, sink } from './sink.js';
import { cancelOnSignals } from './signals.js';
import { Spool } from './spool.js';

export type { GulpDeployOptions } from './options.js';
export type { DeployReport } from '../src/engine/report.js';

/** Milliseconds between two progress lines. */
const PROGRESS_EVERY_MS = 1000;

const NOTHING_CAME =
  'no file reached ftpship: check the gulp.src glob and its cwd, and that the build wrote its files there';

const USED_ONCE =
  'this deploy() stream has run already (one stream deploys once) and takes no more files: call deploy(options) inside the task, ' +
  'once per run (gulp.src(...).pipe(deploy(options))), not once at the top of the gulpfile';

/** The deploys this process is running or about to run: each one's target and end, which later ones wait for. */
const running = new Set<{ target: Target; done: Promise<void> }>();

/** One target, as the server's lock sees it: server and login, and the state file (the lock is beside it). */
interface Target {
  login: string;
  /** The state file's path: absolute, or from the login folder (unknown before login). */
  state: string;
}

function targetOf(o: GulpDeployOptions): Target {
  const port = o.port ?? (o.secure === 'implicit' ? 990 : 21);
  const state = o.statePath ?? DEFAULT_STATE_NAME;
  return {
    login: JSON.stringify([o.host?.toLowerCase(), port, o.user ?? 'anonymous']),
    state: normalPath(state.startsWith('/') ? state : path.posix.join(o.remoteDir ?? '', state)),
  };
}

function normalPath(p: string): string {
  const n = path.posix.normalize(p).replace(/\/+$/, '');
  return n.startsWith('/') ? n || '/' : n.replace(/^(\.\/)+/, '');
}

/**
 * Two targets that may be one: the same login, and state paths that are equal, or one from the login folder that
 * ends the absolute other (`site` and `/site` are one target where the login folder is `/`).
 */
function mayBeOne(a: Target, b: Target): boolean {
  if (a.login !== b.login) return false;
  if (a.state === b.state) return true;
  if (a.state.startsWith('/') === b.state.startsWith('/')) return false;
  const [absolute, relative] = a.state.startsWith('/') ? [a.state, b.state] : [b.state, a.state];
  return !relative.startsWith('../') && absolute.endsWith(`/${relative}`);
}

/** Creates the deploy stream. Throws `PluginError` at once for bad options. */
export function deploy(options: GulpDeployOptions): Transform {
  const { engine, quiet, onReport } = checkOptions(options);
  const files = new Map<string, SourceFile>();
  /** Each path's vinyl file path, to name both when two files map to one path. */
  const origins = new Map<string, string>();
  const bases = new Bases();
  /** Warnings from the stream itself, logged and reported with the engine's. */
  const early: string[] = [];
  /** Streamed contents, each in a temp file until the deploy and the copy passed on are done with it. */
  const spool = new Spool();
  const say = (message: string): void => {
    if (!quiet) log(`${PLUGIN_NAME}: ${printable(message)}`);
  };
  const text = (message: string): string => forUser(message, engine.password);

  const stream = new Transform({
    objectMode: true,
    transform(file: File, _encoding: BufferEncoding, done: TransformCallback): void {
      takeTurn();
      collect(file, files, origins, bases, (w) => early.push(w), spool).then(
        () => done(null, file),
        (err: unknown) =>
          done(
            new PluginError(PLUGIN_NAME, errorMessage(err, engine.password), {
              fileName: err instanceof FileError ? err.fileName : file.path,
            }),
          ),
      );
    },
    flush(done: TransformCallback): void {
      flushing = true;
      // A tick later: a failed plugin's handler that ends its stream (below) runs before this stream hears
      // the error itself.
      process.nextTick(() => {
        // Torn down meanwhile: no deploy (its error would reach no one).
        if (upstreamError || stream.destroyed) return done(upstreamError);
        // Set before run() starts: a teardown from within it (a log line's listener) waits for it too.
        let over = (): void => undefined;
        current = new Promise<void>((resolve) => (over = resolve));
        run()
          .finally(over)
          .then(
            () => done(),
            (err: unknown) =>
              done(
                // Stopped because a step further up failed while it ran: that error, and what the stop left.
                upstreamError && err instanceof CancelledError
                  ? new PluginError(
                      PLUGIN_NAME,
                      upstreamError.message.replace(
                        '; nothing was deployed, as ',
                        `; the deploy was stopped (${errorMessage(err, engine.password)}), as `,
                      ),
                    )
                  : new PluginError(
                      PLUGIN_NAME,
                      errorMessage(err, engine.password),
                      fileNameOf(err, origins),
                    ),
              ),
          );
      });
    },
    destroy(err: Error | null, callback: (error?: Error | null) => void): void {
      // Torn down while its deploy runs (stream.pipeline after a failure further down, the task failing, a
      // destroy() call): the deploy stops as on Ctrl-C, where it would go on unseen and hold the lock.
      if (!stop.signal.aborted) stop.abort(tornDown(err));
      const ended = (): void => {
        // gulp.src (a streamx stream) piped into this one listens to its errors, and neither fails the task nor
        // passes them on: with no other listener (deploy() not last in the task, so gulp's runner does not watch
        // it), a failure would leave a gulp.dest after it waiting for an end that never comes, the task hanging.
        // Told to gulp's runner instead, as a Node stream's error no one listens to is.
        if (err && domain && stream.listenerCount('error') <= streamxSources)
          process.nextTick(() => {
            // No listener (the task is over): emitted, it would be thrown.
            if (domain.listenerCount('error') > 0) domain.emit('error', err);
          });
        callback(err);
      };
      // Closed (its error and 'close' emitted) once the deploy has stopped: a task that waits for this stream
      // fails after the checkpoint and the unlock, not before (the gulp CLI then exits, cutting them off).
      if (deploying && current) void current.then(ended, ended);
      else ended();
    },
  });

  // A plugin piped into this one that fails and still ends its stream (gulp-sass's `logError` emits 'end',
  // gulp-plumber keeps it going) hands on only part of the files: deployed, that part would make the server's
  // copies of the rest orphans, deleted. Its error fails this stream instead, and nothing is deployed.
  let flushing = false;
  /** Settles when the deploy run by the flush has ended. */
  let current: Promise<void> | undefined;
  let upstreamError: PluginError | undefined;
  const upstreamFailed = (err: unknown): void => {
    if (upstreamError || stream.destroyed) return;
    const from = (err as { plugin?: unknown } | null)?.plugin;
    upstreamError = new PluginError(
      PLUGIN_NAME,
      `an earlier step of the pipeline failed (${typeof from === 'string' ? `${from}: ` : ''}${errorMessage(err, engine.password)}${upstreamHint(err)}), ` +
        'so not every file reached ftpship; nothing was deployed, as the files that did would have made the ' +
        "server's copies of the others orphans, deleted. Fix that error and run the task again",
    );
    // Ended already, the flush fails with it; else (the failed stream may never end) it fails this stream now.
    if (!flushing) stream.destroy(upstreamError);
  };
  // A step further up a .pipe chain is not piped into this stream, and its error does not reach it: a
  // gulp-sass logError that ends its stream there hands on part of the files all the same. gulp runs a task in a
  // domain (async-done), where such an error lands (gulp.src, torn down with it, has no error listener): heard
  // there, it fails this stream too, and stops a deploy already under way (its deletions come last).
  const domain = (process as { domain?: NodeJS.EventEmitter | null }).domain ?? undefined;
  // The deploy's signal: the caller's, and this stream's own stop (an error further up, a teardown).
  const stop = new AbortController();
  const given = engine.signal;
  const onAbort = (): void => stop.abort(given?.reason);
  if (given?.aborted) onAbort();
  // One signal may serve a whole watch session, with runs queued behind one another: one listener on it for
  // them all (one each made Node warn of a leak from the 11th), and a stream's part of it goes with the stream.
  else if (given) stream.once('close', whenAborted(given, onAbort));
  if (domain) {
    const onDomainError = (err: unknown): void => {
      upstreamFailed(err);
      if (upstreamError && !stop.signal.aborted) stop.abort();
    };
    domain.on('error', onDomainError);
    stream.once('close', () => domain.removeListener('error', onDomainError));
  }

  /** Streams piped into this one that are streamx streams (gulp 5's gulp.src): each listens to its errors. */
  let streamxSources = 0;
  stream.on('pipe', (source: NodeJS.ReadableStream) => {
    if (typeof (source as { _duplexState?: unknown })._duplexState === 'number') streamxSources++;
    // One stream deploys once: made once at the top of a gulpfile (as vinyl-ftp's `conn`) and piped into
    // again by a second run, it would take no file and never end, and the task would hang.
    if (stream.writableEnded || stream.destroyed) {
      // gulp.src (a streamx stream) is destroyed with this error in turn: heard here, it does not crash a
      // gulp.watch process.
      source.on('error', () => undefined);
      process.nextTick(() => stream.emit('error', new PluginError(PLUGIN_NAME, USED_ONCE)));
      return;
    }
    source.on('error', upstreamFailed);
    takeTurn();
  });
  stream.on('unpipe', (source: NodeJS.ReadableStream) => source.removeListener('error', upstreamFailed));
  // A step after this one in a .pipe chain (gulp.dest) that fails unpipes this stream and fails the task, which
  // does not tear this one down: its deploy would go on unseen (and be cut off where the gulp CLI exits). Torn
  // down instead, as stream.pipeline does.
  const pipe = stream.pipe.bind(stream);
  stream.pipe = <T extends NodeJS.WritableStream>(dest: T, pipeOptions?: { end?: boolean }): T => {
    const onUnpipe = (source: unknown): void => {
      if (source !== stream) return;
      dest.removeListener('unpipe', onUnpipe);
      const gone = dest as { destroyed?: unknown; destroying?: unknown };
      if (stream.readableEnded || stream.destroyed || (gone.destroyed !== true && gone.destroying !== true))
        return;
      stop.abort(tornDown(new Error('a step after ftpship failed')));
      stream.destroy();
    };
    dest.on('unpipe', onUnpipe);
    return pipe(dest, pipeOptions);
  };
  // Failed before its deploy (a file refused, a step further up failed): no deploy needs the temp files now.
  // Torn down during one, the deploy still reads them: its end releases them.
  let deploying = false;
  stream.once('close', () => {
    if (!deploying) spool.release(false);
  });

  // Its place among this process's deploys is taken when its run starts (gulp.src piped into it, or its first
  // file), not when its files have all come: a run started later whose files come sooner (a first build step
  // slow where the next is quick, two watchers firing at once) would deploy first, and this one, holding the
  // older files, would then overwrite the newer run's result on the server.
  let turn: { target: Target; done: Promise<void> } | undefined;
  let endTurn = (): void => undefined;
  let turnTaken = false;
  function takeTurn(): { target: Target; done: Promise<void> } | undefined {
    if (!turnTaken && !engine.dryRun) {
      turnTaken = true;
      let release = (): void => undefined;
      const mine = { target: targetOf(engine), done: new Promise<void>((resolve) => (release = resolve)) };
      turn = mine;
      running.add(mine);
      endTurn = (): void => {
        release();
        running.delete(mine);
      };
    }
    return turn !== undefined && running.has(turn) ? turn : undefined;
  }
  // Failed or torn down before its deploy (or never flushed): later runs do not wait for it.
  stream.once('close', () => {
    if (!deploying) endTurn();
  });

  /**
   * Deploys after any deploy to the same target this process started earlier (gulp.watch firing again, or
   * two watchers, while one runs): run at once, the later one would find the target locked and fail.
   */
  async function run(): Promise<void> {
    deploying = true;
    // The terminal closed under the deploy: what it writes there is lost, the deploy goes on (until the hang-up),
    // and gulp exits with its own code, not Node's abort on the hung-up terminal. Other output errors still throw.
    ignoreGoneOutput('gone');
    // Ctrl-C, SIGTERM or a hang-up while it runs: cancelled, and the process held until it has stopped (then ended by the
    // signal), where Node would end it at once and leave the lock on the server.
    let bySignal = false;
    const ended = cancelOnSignals((sig) => {
      if (stop.signal.aborted) return;
      bySignal = true;
      stop.abort(sig);
    });
    try {
      await runInTurn();
    } catch (err) {
      // The process ends by the signal once this returns, before gulp could print the task's error: said here.
      if (bySignal && err instanceof CancelledError)
        log.warn(`${PLUGIN_NAME}: ${errorMessage(err, engine.password)}`);
      throw err;
    } finally {
      deploying = false;
      // Nothing reads this stream's files (the sink drains it): their copies passed on are never read either.
      spool.release(!hasConsumers(stream));
      ended();
    }
  }

  async function runInTurn(): Promise<void> {
    const where = `${engine.host}${engine.remoteDir ? ` ${engine.remoteDir}` : ''}`;
    if (engine.dryRun) return deployFiles(where);
    const mine = takeTurn();
    if (!mine) throw new Error('the deploy stream ended before its deploy');
    const all = [...running];
    const before = all
      .slice(0, all.indexOf(mine))
      .filter((r) => mayBeOne(r.target, mine.target))
      .map(async (r) => r.done);
    try {
      if (before.length > 0) {
        say(`waiting for the deploy to ${where} this process started before this one`);
        // Torn down while it waits: it stops waiting (the engine then says it was cancelled).
        await Promise.race([Promise.all(before), aborted(stop.signal)]);
      }
      await deployFiles(where);
    } finally {
      endTurn();
    }
  }

  async function deployFiles(where: string): Promise<void> {
    const list = [...files.values()];
    say(
      `${engine.dryRun ? 'planning' : 'deploying'} ${list.length} file${list.length === 1 ? '' : 's'} to ${where}`,
    );
    // Most often a glob that matched nothing. The deploy still runs: on a target with deployed files the
    // engine refuses to empty it (unless maxDelete says so), on a fresh one there is nothing to do.
    if (list.length === 0) early.push(NOTHING_CAME);
    if (!quiet) for (const w of early) log.warn(`${PLUGIN_NAME}: warning: ${printable(w)}`);
    const live = { on: true };
    const lock = releaseLockAtExit(engine, quiet);
    let report: DeployReport;
    try {
      // stream: a plan deleting most of the deployed files is refused (a stream with only part of the build).
      report = await deployEngine(
        { ...engine, files: list, signal: stop.signal },
        reporter(quiet, live, text),
        { stream: true, onLock: lock.onLock, onSnapshot: lock.onSnapshot },
      ).finally(() => {
        live.on = false;
        lock.done();
      });
    } catch (err) {
      // Torn down: the task has failed already, and this stream's error reaches no one; what the stop left is
      // said here (the checkpoint written, the lock released: a rerun sends the rest).
      if (stream.destroyed && !quiet) log.warn(`${PLUGIN_NAME}: ${errorMessage(err, engine.password)}`);
      // A plan refused by a guard (maxDelete), dry run or not, is still shown: it is logged and handed to
      // onReport (its `refused` says why), as the CLI prints it and the Action publishes it; then the task
      // fails with the guard's message.
      if (err instanceof GuardError && err.report) {
        try {
          finish({ ...err.report, refused: errorMessage(err, engine.password) });
        } catch (callbackErr) {
          if (!quiet)
            log.warn(
              `${PLUGIN_NAME}: warning: onReport threw on the refused plan: ${errorMessage(callbackErr, engine.password)}`,
            );
        }
      }
      throw err;
    }
    try {
      finish(report);
    } catch (err) {
      // The deploy is over: a failing callback must not read as a failed deploy (one rerun for nothing).
      const what = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      throw new Error(
        `onReport threw ${what}; the ${report.dryRun ? 'dry run' : 'deploy'} itself was done (${formatSummary(report)})`,
        { cause: err },
      );
    }
  }

  /** Logs a report (the plan too, in a dry run) and hands it to onReport. */
  function finish(report: DeployReport): void {
    report.warnings = [...early, ...report.warnings.map(text)];
    if (report.dryRun || report.refused !== undefined) for (const line of formatPlan(report)) say(line);
    // Torn down as it ended (too late to stop it): done all the same, which the failed task does not say.
    const late = stream.destroyed ? 'the stream was torn down, but the deploy had ended: ' : '';
    say(late + forUser(formatSummary(report), undefined));
    const estimate = formatEstimate(report);
    if (estimate) say(estimate);
    onReport?.(report);
  }

  return sink(stream);
}

/** The reason a torn-down stream gives its deploy's stop, which the cancel message quotes (the password masked there). */
function tornDown(err: unknown): string {
  const why = (err instanceof Error ? err.message : err ? String(err) : '').split('\n')[0];
  return `the gulp stream was torn down${why ? `: ${why}` : ''}`;
}

/** Resolves when `signal` aborts. */
async function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return;
  await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** What to do about an error of a step further up (gulp.src) that Node's message alone does not say. */
function upstreamHint(err: unknown): string {
  return notUtf8Hint(err) || brokenLinkHint(err);
}

/**
 * gulp.src follows symlinks (unless resolveSymlinks: false). One whose target is gone (a build folder cleaned, a
 * link made on another machine) fails it with ENOENT, naming the link (a `*` glob) or only the target as the link
 * holds it (a `**` glob, whose walker follows links); a file removed while gulp.src reads the folder does too.
 */
function brokenLinkHint(err: unknown): string {
  const e = err as { code?: unknown; path?: unknown; syscall?: unknown } | null;
  if (e?.code !== 'ENOENT' || typeof e.path !== 'string' || (e.syscall !== 'stat' && e.syscall !== 'lstat'))
    return '';
  let target: string | undefined;
  try {
    if (lstatSync(e.path).isSymbolicLink()) target = readlinkSync(e.path);
  } catch {
    // Not there at all: the target of a link the walker followed, or a file removed meanwhile.
  }
  if (target !== undefined)
    return (
      `; ${e.path} is a symlink to ${target}, which does not exist, so gulp.src cannot read it: ` +
      "point it at a file that exists, delete it, or leave it out of gulp.src with a '!' glob"
    );
  return (
    `; ${e.path} does not exist: most often a symlink in the folder gulp.src reads points there and its target is ` +
    'gone (`find . -xtype l` there lists such links: point it at a file that exists, delete it, or leave it out of ' +
    "gulp.src with a '!' glob), else a file was removed while gulp.src read the folder (a build or clean step still " +
    'running: run the task again once it is done)'
  );
}

/**
 * gulp.src cannot open a file whose name is not UTF-8 (latin1, from an old archive or a Windows zip): Node reads
 * each such byte as U+FFFD, and the name it then asks for does not exist (ENOENT).
 */
function notUtf8Hint(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown } | null;
  if (e?.code !== 'ENOENT' || typeof e.message !== 'string' || !e.message.includes('\uFFFD')) return '';
  return (
    '; that name is not valid UTF-8 (each byte that is not shows as \uFFFD; latin1, say), so it cannot be opened: ' +
    "rename it in UTF-8 (convmv -f latin1 -t utf8 --notest), or leave it out of gulp.src with a '!' glob"
  );
}

/**
 * Something other than a vinyl file piped in (a text or byte stream, plain objects): said so, instead of the
 * TypeError its use gave ("file.isDirectory is not a function"). Its value is not shown (it may be anything).
 */
function notVinyl(file: unknown): asserts file is File {
  if (typeof file === 'object' && file !== null && typeof (file as Partial<File>).isDirectory === 'function')
    return;
  const came =
    typeof file === 'string'
      ? 'a string'
      : Buffer.isBuffer(file)
        ? 'a Buffer'
        : file === null || typeof file !== 'object'
          ? `a ${file === null ? 'null' : typeof file}`
          : 'an object';
  throw new Error(
    `deploy() takes vinyl files, as gulp.src() makes them; ${came} came in: pipe gulp.src('dist/**', { encoding: false }) into it, or make each file with new Vinyl({ path, base, contents })`,
  );
}

/**
 * Records one vinyl file; streamed contents go to a temp file as they come (never into memory whole), and are
 * handed on as a fresh stream reading it.
 * Directories and symlinks (gulp.src's `resolveSymlinks: false`) carry no contents and are passed over. Any
 * other file without contents fails the task: left out, it would look deleted, and the deploy would delete
 * the server's copy as an orphan.
 */
async function collect(
  file: File,
  files: Map<string, SourceFile>,
  origins: Map<string, string>,
  bases: Bases,
  warn: (m: string) => void,
  spool: Spool,
): Promise<void> {
  notVinyl(file);
  if (file.isDirectory()) return;
  if (!file.path)
    throw new Error(
      'a file without a path reached ftpship (made by a plugin that set none?): give it a path and a base; its path relative to the base is its path under remoteDir',
    );
  const rel = file.relative.split(path.sep).join('/');
  // A rename plugin, or a base that is not above the file: its relative path leaves the base.
  if (rel === '' || rel === '..' || rel.startsWith('../') || path.isAbsolute(file.relative))
    throw new Error(
      `${file.path} is outside its base ${file.base} (relative path ${JSON.stringify(rel)}), and its path under remoteDir ` +
        "is its relative path: give it a base above it (gulp.src's base option, or the rename that moved it)",
    );
  bases.check(file, rel);
  if (file.isSymbolic()) {
    // Not sent; a copy deployed earlier (with links resolved) would be deleted as an orphan: say so.
    warn(
      `skipped ${rel}: a symlink (gulp.src with resolveSymlinks: false) is not deployed, and a copy deployed earlier is deleted`,
    );
    return;
  }
  let source: SourceFile;
  if (file.isBuffer()) {
    const contents = file.contents;
    // Looked through only when the size differs from the file's stat.
    await refuseTranscoded(file, rel, {
      size: contents.length,
      get replacement() {
        return contents.includes(REPLACEMENT);
      },
      get utf8() {
        return isUtf8(contents);
      },
    });
    source = { path: rel, contents };
  } else if (file.isStream()) {
    // Read to its end already, it would never end again: the task would hang, silent.
    if (readAlready(file.contents))
      throw new Error(
        `${JSON.stringify(rel)} reached ftpship with its streamed contents read already by a step before it ` +
          '(gulp.src with both buffer: false and sourcemaps: true reads them), so there is nothing left to deploy; ' +
          'nothing was deployed. Drop buffer: false or sourcemaps: true from gulp.src, or have that step buffer the file',
      );
    const spooled = await spool.take(file.contents);
    await refuseTranscoded(file, rel, spooled).catch((err: unknown) => {
      spool.drop(spooled.file);
      throw err;
    });
    file.contents = spool.copy(spooled.file);
    source = { path: rel, file: spooled.file };
  } else {
    throw new Error(
      `${JSON.stringify(rel)} reached ftpship without its contents (gulp.src with read: false?); nothing was deployed. ` +
        'Drop read: false from gulp.src, or leave the file out of the stream',
    );
  }
  // A warning (quiet or not, it is in the report): the earlier file is not deployed.
  const earlier = origins.get(rel);
  if (earlier !== undefined)
    warn(
      `two files map to ${rel} under remoteDir; the later one (${file.path}) is deployed, not ${earlier}: ` +
        'give them other paths (gulp.src base, a rename), or leave one out of gulp.src',
    );
  origins.set(rel, file.path);
  files.set(rel, source);
}

/**
 * gulp.src gives each glob its own base, the folder before its first wildcard: `gulp.src(['dist/*.html',
 * 'dist/css/*.css'])` sends `dist/css/a.css` as `a.css`, to the top of remoteDir, and the deploy deletes
 * `css/a.css` as an orphan. Refused, before anything is sent: files whose base lies inside the base of files that
 * come from a whole tree (some in its subfolders, as a `**` glob sends), all read from disk. A single file beside
 * a tree (`gulp.src(['dist/**', 'robots.txt'])`: bases `dist` and `.`) is not such a case, and goes.
 */
class Bases {
  /** Each base, one file that came with it, and whether any came from a subfolder of it. */
  private readonly seen = new Map<string, { file: string; deep: boolean }>();

  check(file: File, rel: string): void {
    // Files made in the pipeline (no stat) have whatever base their plugin gave, the cwd most often: not counted.
    if (!file.stat) return;
    const base = path.resolve(file.base);
    const known = this.seen.get(base);
    const deep = rel.includes('/');
    if (known && (known.deep || !deep)) return;
    this.seen.set(base, { file: known?.file ?? file.path, deep });
    for (const [outer, o] of this.seen) {
      if (!o.deep) continue;
      for (const [inner, i] of this.seen) {
        const r = path.relative(outer, inner);
        if (r === '' || r.startsWith('..') || path.isAbsolute(r)) continue;
        const as = path.relative(inner, i.file).split(path.sep).join('/');
        const meant = path.relative(outer, i.file).split(path.sep).join('/');
        const shown = path.relative(file.cwd, outer).split(path.sep).join('/') || '.';
        throw new FileError(
          i.file,
          `${i.file} comes with base ${inner}, inside the base ${outer} of the other files (such as ${o.file}), so it ` +
            `would go to ${JSON.stringify(as)} under remoteDir, not ${JSON.stringify(meant)}: gulp.src gives each glob ` +
            `its own base, the folder before its first wildcard. Nothing was deployed; give the globs one base ` +
            `(gulp.src([...], { base: '${shown}' }))`,
        );
      }
    }
  }
}

/** The file gulp gave for the path an engine error is about (a name the server changed or refused), if any. */
function fileNameOf(err: unknown, origins: Map<string, string>): { fileName?: string } {
  const fileName = err instanceof DeployError && err.path !== undefined ? origins.get(err.path) : undefined;
  return fileName === undefined ? {} : { fileName };
}

/** A refusal about another file than the one at hand (the PluginError's fileName, which gulp prints, names it). */
class FileError extends Error {
  constructor(
    readonly fileName: string,
    message: string,
  ) {
    super(message);
  }
}

const REPLACEMENT = Buffer.from('\uFFFD');

/** A contents stream that has ended or been torn down (Node's and streamx's streams both say so). */
function readAlready(contents: NodeJS.ReadableStream): boolean {
  const s = contents as { destroyed?: unknown; readableEnded?: unknown };
  return s.destroyed === true || s.readableEnded === true;
}

/**
 * gulp 5 reads files as UTF-8 text unless `gulp.src(..., { encoding: false })`: every byte sequence that is not
 * UTF-8 (all through an image or a font) becomes U+FFFD, and the file grows. Deployed, that would replace the
 * server's good copy. Suspected when the contents differ in size from the file's stat, are UTF-8 and hold U+FFFD;
 * confirmed when the file on disk (of its stat's size) is not UTF-8. A plugin's binary output (an optimised image,
 * which may hold those three bytes by chance) is not UTF-8 as a whole, and is never refused.
 */
async function refuseTranscoded(
  file: File,
  rel: string,
  contents: { size: number; replacement: boolean; utf8: boolean },
): Promise<void> {
  const size = file.stat?.size;
  if (typeof size !== 'number' || size === contents.size) return;
  if (!contents.replacement || !contents.utf8) return;
  const disk = await fs.readFile(file.path).catch(() => undefined);
  if (!disk || disk.length !== size || isUtf8(disk)) return;
  throw new Error(
    `${rel} was changed on its way in (${disk.length} bytes on disk, ${contents.size} in the stream, bytes that are ` +
      'not UTF-8 replaced by U+FFFD): gulp 5 reads files as UTF-8 text by default, which mangles images and fonts. ' +
      "Nothing was deployed; give gulp.src the option encoding: false (gulp.src('dist/**', { encoding: false }))",
  );
}

/**
 * The engine's reporter, speaking through fancy-log: progress at most once a second. Silent once the deploy
 * has returned (a connection still opening then may report its failure; the task is over by that time).
 */
function reporter(quiet: boolean, live: { on: boolean }, text: (m: string) => string): Reporter {
  if (quiet) return {};
  let last = 0;
  return {
    info: (m) => live.on && log.info(`${PLUGIN_NAME}: ${text(m)}`),
    warn: (m) => live.on && log.warn(`${PLUGIN_NAME}: warning: ${text(m)}`),
    progress: (p: Progress) => {
      const now = Date.now();
      if (!live.on || (p.filesDone < p.filesTotal && now - last < PROGRESS_EVERY_MS)) return;
      last = now;
      log(
        `${PLUGIN_NAME}: ${p.filesDone}/${p.filesTotal} files, ${formatBytes(p.bytesDone)} of ${formatBytes(p.bytesTotal)}`,
      );
    },
  };
}

function errorMessage(err: unknown, password: string | undefined): string {
  return forUser(
    err instanceof ConfigError ? err : err instanceof Error ? err.message : String(err),
    password,
  );
}
