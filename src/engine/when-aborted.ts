/**
 * A caller's AbortSignal listened to once, however many deploys (deploy() calls, gulp plugin streams) run under it
 * at the same time.
 */

/** Each caller's signal that deploys run under: its one listener, and what each running deploy does on its abort. */
const underSignal = new WeakMap<AbortSignal, { listener: () => void; runs: Set<() => void> }>();

/**
 * Calls `run` when `signal` aborts, until the returned function is called. One listener on the signal however many
 * deploys run under it: a script deploying 20 sites at once under its one AbortController (its Ctrl-C) added one
 * each, and Node warned of a leak from the 11th (MaxListenersExceededWarning), in the caller's program.
 */
export function whenAborted(signal: AbortSignal, run: () => void): () => void {
  let under = underSignal.get(signal);
  if (!under) {
    const runs = new Set<() => void>();
    const listener = (): void => {
      underSignal.delete(signal);
      for (const r of [...runs]) r();
    };
    under = { listener, runs };
    underSignal.set(signal, under);
    signal.addEventListener('abort', listener, { once: true });
  }
  const { listener, runs } = under;
  runs.add(run);
  return () => {
    if (!runs.delete(run) || runs.size > 0 || underSignal.get(signal)?.runs !== runs) return;
    underSignal.delete(signal);
    signal.removeEventListener('abort', listener);
  };
}
