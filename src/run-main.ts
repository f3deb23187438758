/**
 * Runs the command's `main()` as the process's whole job. Node exits with code 0, silently, when its event
 * loop drains while a promise is still pending: a step of the deploy awaiting something that can never come
 * (a bug) would otherwise look like a deploy that succeeded. Caught on 'beforeExit' while `main()` is pending.
 */

import { ignoreGoneOutput } from './gone-output.js';
import { jsonFailure } from './json-failure.js';
import { releaseSignals } from './signals.js';

/** EX_SOFTWARE (sysexits.h): an internal software error. */
export const STALLED_EXIT_CODE = 70;

export const STALLED_MESSAGE =
  'internal error: the deploy stopped without finishing (a step waited for something that never came): ' +
  'it is not done; run the same command again, it resumes where this one stopped (please report this bug)';

/**
 * Calls `onStall` once if the event loop drains before the returned `settled()` is called. `onStall` should
 * report the failure and set a non-zero exit code; it must not start new work.
 */
export function guardStall(onStall: (message: string) => void): { settled(): void } {
  let done = false;
  const check = (): void => {
    process.off('beforeExit', check);
    if (!done) onStall(STALLED_MESSAGE);
  };
  process.on('beforeExit', check);
  return {
    settled() {
      done = true;
      process.off('beforeExit', check);
    },
  };
}

/**
 * bin/ftpship.js: run `main`, exit with its code; an error thrown is one line and exit 1; a stall is exit 70.
 * `args`, the command line: with --json, those two failures are JSON on stdout too.
 */
export function runMain(main: () => Promise<number>, args?: readonly string[]): void {
  // A reader of the output that went away (`| head`, or `| tee log` ended by the same Ctrl-C) made the next line
  // written an uncaught EPIPE: the deploy ended half way, exit 1, its lock left. What is left to print is dropped
  // instead; the deploy goes on, and a signal still cancels it cleanly.
  ignoreGoneOutput('all');
  const guard = guardStall((message) => {
    process.stderr.write(`ftpship: ${message}\n`);
    jsonFailure(args, message, STALLED_EXIT_CODE);
    process.exitCode = STALLED_EXIT_CODE;
  });
  main().then(
    (code) => {
      guard.settled();
      process.exitCode = code;
      releaseSignals();
    },
    (err: unknown) => {
      guard.settled();
      releaseSignals();
      const e = err as { message?: unknown } | undefined;
      const message = e && e.message ? String(e.message) : String(err);
      process.stderr.write(`ftpship: error: ${message}\n`);
      jsonFailure(args, message, 1);
      process.exitCode = 1;
    },
  );
}
