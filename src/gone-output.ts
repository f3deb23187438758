/**
 * Output whose reader is gone: the terminal closed (every write fails with EIO until the hang-up, if one comes),
 * or a pipe's reader ended (`| head`, `| tee log` stopped by the same Ctrl-C: EPIPE). Shared by the CLI and the
 * gulp plugin, whose deploys should go on (or be cancelled by the signal) rather than end half way on a write.
 */

import fs from 'node:fs';
import tty from 'node:tty';

const GONE = new Set(['EIO', 'EPIPE']);

let closing = false;

/**
 * Node 20, on its way out, puts back the terminal settings of a stdin/stdout/stderr that was a terminal when it
 * started, and aborts (SIGABRT, exit 134, maybe a core dump) when that fails because the terminal has hung up
 * (EIO: node::ResetStdio). A deploy cancelled by SIGHUP, or one that finished after its terminal closed
 * (`setsid`, `disown`), ended so, its exit code lost. Such a descriptor is closed first: Node then skips it.
 * Once per process.
 */
export function closeHungUpTerminalsAtExit(): void {
  if (closing) return;
  closing = true;
  const terminals = [0, 1, 2].filter((fd) => tty.isatty(fd));
  if (terminals.length === 0) return;
  process.on('exit', () => {
    for (const fd of terminals) {
      if (tty.isatty(fd)) continue; // still there
      try {
        fs.closeSync(fd);
      } catch {
        // already closed
      }
    }
  });
}

let ignoring: 'gone' | 'all' | undefined;

/**
 * From now on a failed write to stdout or stderr loses that output and nothing else, where it was an 'error' no
 * one listened to: an uncaught exception that ended the deploy half way, its lock left. `which`: 'gone' ignores
 * only EIO and EPIPE, and throws any other error as before unless something else listens to it (the gulp plugin,
 * a guest in someone else's process); 'all' ignores every error (the CLI, whose process it is). Also closes
 * hung-up terminals at exit (above). Once per process (the first call's `which` holds).
 */
export function ignoreGoneOutput(which: 'gone' | 'all'): void {
  closeHungUpTerminalsAtExit();
  if (ignoring !== undefined) return;
  ignoring = which;
  for (const stream of [process.stdout, process.stderr]) {
    const onError = (err: NodeJS.ErrnoException): void => {
      if (which === 'all' || (err.code !== undefined && GONE.has(err.code))) return;
      if (stream.listenerCount('error') === 1) throw err;
    };
    stream.on('error', onError);
  }
}
