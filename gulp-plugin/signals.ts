/**
 * Ctrl-C (SIGINT), SIGTERM, or SIGHUP (the terminal or SSH session closed under `gulp watch`) while a deploy
 * runs under the gulp CLI. Node's default for these ends the process
 * at once, cutting the deploy off: the lock stays on the server (a rerun waits for it to go stale) and the last
 * steps go unrecorded. While any deploy of this process runs, the first signal cancels them all, as the ftpship
 * CLI does (no new transfer, the checkpoint written, the lock released); the process is held open only by that
 * pending way out, and once every deploy has stopped the signal is raised again, so the process (gulp, a
 * gulp.watch session) ends as the signal would have ended it. A second SIGINT or SIGTERM ends it at once; a
 * hang-up never does (a closed terminal sends more than one). A process started under nohup keeps ignoring
 * SIGHUP: the CLI's own rules decide (src/signals.ts). No `process.exit`: where the gulpfile listens to the
 * signal itself, ending the process is left to it.
 */
import { cancelling, quitsAtOnce } from '../src/signals.js';

type Sig = ReturnType<typeof cancelling>[number];
/** The signals listened to while deploys run (decided at the first). */
let signals: readonly Sig[] = [];

/**
 * Under `nohup gulp watch`, a hang-up before the first deploy (while gulp.watch waits for a change) must be ignored
 * too: Node has reset the SIGHUP nohup ignored to its default. So a process started ignoring it ignores it from
 * the import of the plugin on (cancelling() installs that listener, only in that case); any other start is left
 * as it was until a deploy runs.
 */
cancelling();

/** The deploys running, each with its cancel. */
const running = new Set<(signal: Sig) => void>();
let received: Sig | undefined;

function onSignal(sig: Sig): void {
  if (received) {
    // The second one: at once, whatever is still on its way out; not a hang-up (see quitsAtOnce).
    if (quitsAtOnce(sig)) endBySignal(sig);
    return;
  }
  received = sig;
  for (const cancel of [...running]) cancel(sig);
  if (running.size === 0) endBySignal(sig);
}

function listen(): void {
  signals = cancelling();
  for (const s of signals) process.on(s, onSignal);
}

function stopListening(): void {
  for (const s of signals) process.removeListener(s, onSignal);
}

/** Node's own handling back, then the signal again: it ends the process unless the gulpfile listens to it. */
function endBySignal(sig: Sig): void {
  stopListening();
  running.clear();
  received = undefined;
  if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
}

/**
 * Registers a deploy about to run: a signal while it runs calls `cancel` (and holds the process). Returns its
 * end, to call once the deploy has stopped (after its way out): the last to end re-raises a signal received.
 */
export function cancelOnSignals(cancel: (signal: Sig) => void): () => void {
  if (received) {
    // Stopping already: this one does not start.
    cancel(received);
    return () => undefined;
  }
  if (running.size === 0) listen();
  running.add(cancel);
  return () => {
    if (!running.delete(cancel) || running.size > 0) return;
    if (received) endBySignal(received);
    else stopListening();
  };
}

/** Whether a signal is being acted on (the deploys it cancelled are on their way out). */
export function signalReceived(): Sig | undefined {
  return received;
}
