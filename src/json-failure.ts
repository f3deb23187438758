/**
 * With --json (deploy or plan, before any `--`), stdout is one JSON document whatever happens (README, "The JSON
 * report"): a failure `main()` did not report itself (a stall, an error thrown out of it, a second Ctrl-C while
 * the CLI starts) too. Only those reach here: `main()` writes its report or error and returns at once, so this
 * never writes a second document. Its own module: bin loads it with signals.js, before anything else.
 */
/** What --json prints for a run that failed without a report: the error line and the exit code. */
export function failureReport(error: string, exitCode: number, dryRun: boolean): object {
  return { version: 1, dryRun, error, exitCode };
}

export function jsonFailure(args: readonly string[] | undefined, error: string, exitCode: number): void {
  if (!args || !['deploy', 'plan'].includes(args[0] ?? '')) return;
  const end = args.indexOf('--');
  const options = end < 0 ? args : args.slice(0, end);
  if (!options.includes('--json')) return;
  const dryRun = args[0] === 'plan' || options.includes('--dry-run');
  process.stdout.write(`${JSON.stringify(failureReport(error, exitCode, dryRun), null, 2)}\n`);
}
