/**
 * Ctrl-C in a shell, a cancelled workflow (the runner sends SIGINT, then SIGTERM): the first signal aborts
 * the deploy, which stops cleanly (what was done recorded in the state, the lock released, so the next
 * deploy, from any machine, need not wait for the lock to go stale); a second one exits at once.
 */
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

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
const NUMBER: Record<(typeof SIGNALS)[number], number> = { SIGINT: 2, SIGTERM: 15 };

/**
 * A signal that came while the CLI was still starting (loading its modules, reading its options: a few hundred
 * milliseconds before the deploy listens) used to end the process at once, by the signal, with no message.
 * `holdSignals()` (bin/ftpship.js, first thing) keeps the first one for the deploy's {@link cancelOnSignals},
 * which acts on it as soon as it starts: the same message and exit code (130/143) as later, nothing left on the
 * server. A second one exits at once, as ever. Kept on `globalThis`: bin's copy of this module and the bundled
 * CLI's are not the same module.
 */
interface Held {
  signal?: (typeof SIGNALS)[number];
  handler: (sig: (typeof SIGNALS)[number]) => void;
}
const HELD = Symbol.for('ftpship.heldSignals');
const holder = globalThis as { [HELD]?: Held };

export function holdSignals(): void {
  if (holder[HELD]) return;
  const held: Held = {
    handler: (sig) => {
      if (held.signal) process.exit(128 + NUMBER[sig]);
      held.signal = sig;
    },
  };
  holder[HELD] = held;
  for (const s of SIGNALS) process.on(s, held.handler);
}

/** Stops holding signals; the one held, if any, is returned (it has not been acted on). */
function takeHeld(): (typeof SIGNALS)[number] | undefined {
  const held = holder[HELD];
  if (!held) return undefined;
  delete holder[HELD];
  for (const s of SIGNALS) process.off(s, held.handler);
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

export function cancelOnSignals(onFirst?: (signal: NodeJS.Signals) => void): SignalCancel {
  const controller = new AbortController();
  let received: (typeof SIGNALS)[number] | undefined;
  const handler = (sig: (typeof SIGNALS)[number]): void => {
    if (received) process.exit(128 + NUMBER[sig]);
    received = sig;
    onFirst?.(sig);
    controller.abort(sig);
  };
  for (const s of SIGNALS) process.on(s, handler);
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
      for (const s of SIGNALS) process.off(s, handler);
    },
  };
}
