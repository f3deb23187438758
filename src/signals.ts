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
