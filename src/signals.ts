/**
 * Ctrl-C in a shell, a cancelled workflow (the runner sends SIGINT, then SIGTERM), the terminal or SSH session
 * closed (SIGHUP): the first signal aborts the deploy, which stops cleanly (what was done recorded in the state,
 * the lock released, so the next deploy, from any machine, need not wait for the lock to go stale); a second
 * SIGINT or SIGTERM exits at once.
 */
import fs from 'node:fs';

export interface SignalCancel {
  signal: AbortSignal;
  /** The exit code for a deploy cancelled by the signal received: 128 + its number. */
  readonly exitCode: number;
  /**
   * The deploy has stopped after the signal: exit with `code` in a moment even if something still holds the
   * process (a login still under way when the signal came keeps its socket until its timeout).
   */
  exitSoon(code: number): void;
  /** Stops listening (the default handling comes back). */
  dispose(): void;
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
type Sig = (typeof SIGNALS)[number];
const NUMBER: Record<Sig, number> = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 };

/**
 * A hang-up never quits at once, even after another signal: a closed terminal sends more than one (the shell
 * passes its SIGHUP on to its jobs, then the kernel sends one to the foreground job as the shell exits), and
 * a session stopped by systemd gets SIGTERM then SIGHUP. Nobody is there to mean "now".
 */
export const quitsAtOnce = (sig: string): boolean => sig !== 'SIGHUP';

/** What quits at once after `sig` (said in the first signal's message): the same again, or after a hang-up another. */
export function quitAtOnce(sig: string): string {
  return sig === 'SIGHUP' ? 'SIGINT or SIGTERM to quit at once' : 'again to quit at once';
}

/**
 * `nohup ftpship deploy … &` asks for the deploy to go on when the terminal closes. nohup sets SIGHUP to
 * "ignored", which a program inherits, but Node resets every inherited ignored signal to the default (killed)
 * before any JavaScript runs (src/node.cc, ResetSignalHandlers): a nohup'd ftpship used to be killed by the
 * hang-up all the same, its lock left. So the start under nohup is recognised by what nohup leaves behind:
 * - bash and zsh pass the path of the command they run in `_` (`_=/usr/bin/nohup`);
 * - GNU nohup given a terminal as stdin (`nohup … &` typed in a shell) reopens it as /dev/null, write-only.
 * (/proc/self/status cannot tell: its SigIgn shows the disposition after Node's reset, never SIGHUP.) Such a
 * start keeps ignoring SIGHUP (a listener that does nothing: Node has no other way); any other start cancels
 * the deploy on it, cleanly, exit 129 (a start that ignores SIGHUP otherwise, `trap '' HUP; exec ftpship …`,
 * leaves no trace: it cancels too). Decided once, before anything listens for SIGHUP, and kept on `globalThis`
 * (bin's copy of this module and the bundled CLI's are not the same module).
 */
const HUP_IGNORED = Symbol.for('ftpship.hangupIgnored');
const hup = globalThis as { [HUP_IGNORED]?: boolean };

/** Whether this process was started with SIGHUP ignored, as far as can be told (see {@link HUP_IGNORED}). */
export function startedIgnoringHangup(env: NodeJS.ProcessEnv = process.env, stdinFd = 0): boolean {
  if (/(^|\/)nohup$/.test(env._ ?? '')) return true;
  if (process.platform === 'win32') return false;
  try {
    const st = fs.fstatSync(stdinFd);
    if (st.isCharacterDevice() && st.rdev === fs.statSync('/dev/null').rdev) {
      try {
        fs.readSync(stdinFd, Buffer.alloc(1), 0, 1, null);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EBADF') return true; // open for writing only
      }
    }
  } catch {
    // no stdin to look at
  }
  return false;
}

const ignore = (): void => undefined;

/**
 * The signals that cancel: SIGHUP too unless the process was started ignoring it (then it stays ignored). The
 * gulp plugin asks too: a gulp process started under nohup keeps ignoring the hang-up, any other cancels on it.
 */
export function cancelling(): readonly Sig[] {
  if (hup[HUP_IGNORED] === undefined) {
    hup[HUP_IGNORED] = startedIgnoringHangup();
    if (hup[HUP_IGNORED]) process.on('SIGHUP', ignore);
  }
  return hup[HUP_IGNORED] ? SIGNALS.filter((s) => s !== 'SIGHUP') : SIGNALS;
}

/**
 * A signal that came while the CLI was still starting (loading its modules, reading its options: a few hundred
 * milliseconds before the deploy listens) used to end the process at once, by the signal, with no message.
 * `holdSignals()` (bin/ftpship.js, first thing) keeps the first one for the deploy's {@link cancelOnSignals},
 * which acts on it as soon as it starts: the same message and exit code (130/143/129) as later, nothing left on
 * the server. A second SIGINT or SIGTERM exits at once, as ever. Kept on `globalThis`: bin's copy of this module
 * and the bundled CLI's are not the same module.
 */
interface Held {
  signal?: Sig;
  signals: readonly Sig[];
  handler: (sig: Sig) => void;
}
const HELD = Symbol.for('ftpship.heldSignals');
const holder = globalThis as { [HELD]?: Held };

export function holdSignals(onQuit?: (signal: NodeJS.Signals, exitCode: number) => void): void {
  if (holder[HELD]) return;
  const held: Held = {
    signals: cancelling(),
    handler: (sig) => {
      if (!held.signal) held.signal = sig;
      else if (quitsAtOnce(sig))
        try {
          onQuit?.(sig, 128 + NUMBER[sig]);
        } finally {
          process.exit(128 + NUMBER[sig]);
        }
    },
  };
  holder[HELD] = held;
  for (const s of held.signals) process.on(s, held.handler);
}

/** Stops holding signals; the one held, if any, is returned (it has not been acted on). */
function takeHeld(): Sig | undefined {
  const held = holder[HELD];
  if (!held) return undefined;
  delete holder[HELD];
  for (const s of held.signals) process.off(s, held.handler);
  return held.signal;
}

/**
 * Nothing will cancel on a held signal (--help, a usage error, the command's end): the default
 * handling comes back, and a signal held meanwhile ends the process now, by that signal, as it would have.
 */
export function releaseSignals(): void {
  const sig = takeHeld();
  if (sig) process.kill(process.pid, sig);
}

/**
 * `onQuit`, called on a second SIGINT or SIGTERM just before the process exits at once: its last word (what was
 * left undone; with --json, the error on stdout), written synchronously.
 */
export function cancelOnSignals(
  onFirst?: (signal: NodeJS.Signals) => void,
  onQuit?: (signal: NodeJS.Signals, exitCode: number) => void,
): SignalCancel {
  const controller = new AbortController();
  let received: Sig | undefined;
  const handler = (sig: Sig): void => {
    if (received) {
      if (!quitsAtOnce(sig)) return;
      try {
        onQuit?.(sig, 128 + NUMBER[sig]);
      } finally {
        process.exit(128 + NUMBER[sig]);
      }
    }
    received = sig;
    // The process ends soon: a later hang-up (the kernel's, once the shell is gone) must not kill it first.
    if (!hup[HUP_IGNORED]) process.on('SIGHUP', ignore);
    onFirst?.(sig);
    controller.abort(sig);
  };
  const signals = cancelling();
  for (const s of signals) process.on(s, handler);
  // Listening from here on: a signal that came earlier (while the CLI started) cancels now.
  const early = takeHeld();
  if (early) handler(early);
  return {
    signal: controller.signal,
    exitSoon(code: number) {
      setTimeout(() => process.exit(code), 200).unref();
    },
    get exitCode() {
      return 128 + NUMBER[received ?? 'SIGINT'];
    },
    dispose() {
      for (const s of signals) process.off(s, handler);
    },
  };
}
