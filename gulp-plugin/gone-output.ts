/**
 * The terminal gone (closed, the SSH session dropped): until the hang-up comes (a shell passes it on a moment
 * later, if at all), every write to it fails with EIO (EPIPE where gulp's output goes through a pipe whose reader
 * is gone, `gulp publish | tee log`). fancy-log, the plugin's output, writes each line's timestamp with a bare
 * `process.stdout.write` (`process.stderr.write` for warnings): that failure was emitted as an 'error' no one
 * listened to, an uncaught exception, and the gulp CLI exited at once, cutting the deploy off (and Node, exiting
 * on a hung-up terminal, then crashes in its exit handler: SIGSEGV or SIGABRT instead of an exit code). Once a
 * deploy has run in this process, such failures of stdout and stderr are ignored: what was written is lost, the
 * deploy goes on, and a hang-up cancels it as usual (./signals.ts). Any other error of these streams is thrown as
 * before, unless something else listens to it.
 */
const GONE = new Set(['EIO', 'EPIPE']);

let ignoring = false;

export function ignoreGoneOutput(): void {
  if (ignoring) return;
  ignoring = true;
  for (const stream of [process.stdout, process.stderr]) {
    const onError = (err: NodeJS.ErrnoException): void => {
      if (err.code !== undefined && GONE.has(err.code)) return;
      if (stream.listenerCount('error') === 1) throw err;
    };
    stream.on('error', onError);
  }
}
