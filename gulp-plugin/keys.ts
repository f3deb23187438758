/**
 * The option names the plugin takes, in one place. An unknown name is refused, never ignored: a misspelt
 * `dryrun: true` used to run a real deploy. Both lists are typed against the engine's `DeployOptions`, so an
 * option added there and not sorted into one of them fails `tsc`.
 */
import type { DeployOptions } from '../src/engine/options.js';
import { unknownNames } from '../src/engine/option-shape.js';
import type { GulpDeployOptions } from './options.js';

const TAKEN: Record<keyof GulpDeployOptions, true> = {
  host: true,
  port: true,
  user: true,
  password: true,
  secure: true,
  tls: true,
  active: true,
  encoding: true,
  remoteDir: true,
  dryRun: true,
  parallel: true,
  keep: true,
  delete: true,
  replace: true,
  deleteOnly: true,
  maxDelete: true,
  statePath: true,
  atomic: true,
  fileMode: true,
  dirMode: true,
  maintenance: true,
  maintenanceUrl: true,
  timeoutMs: true,
  retries: true,
  resetState: true,
  verify: true,
  adopt: true,
  uploadOnly: true,
  retryDelayMs: true,
  staleLockMs: true,
  pipelining: true,
  signal: true,
  quiet: true,
  onReport: true,
};

const FROM_STREAM = 'the gulp plugin takes its files from the stream; remove';
const NO_EXCLUDE = 'does not apply to piped files: leave them out of gulp.src (e.g. "!dist/**/*.map")';

/** The engine's options that make no sense on a stream, and what to do instead. */
const REFUSED: Record<Exclude<keyof DeployOptions, keyof GulpDeployOptions>, string> = {
  localDir: `${FROM_STREAM} localDir and pipe gulp.src(...) into deploy()`,
  files: `${FROM_STREAM} files and pipe gulp.src(...) into deploy()`,
  exclude: `exclude ${NO_EXCLUDE}`,
  replaceDefaultExcludes: `replaceDefaultExcludes ${NO_EXCLUDE}`,
};

const OPTION_NAMES = Object.keys(TAKEN);

/**
 * vinyl-ftp's options (and node-ftp's, which it passes on) that have no like here, kept by a gulpfile switching
 * from it (`log: gutil.log` is in its examples), and what to do instead. Its `parallel` and `maxConnections`
 * (parallel), `pass` (password) and `secureOptions` (tls) are hinted as misspellings are.
 */
const VINYL: Record<string, string> = {
  log: 'log is not an option: ftpship logs to the gulp log (fancy-log) already; remove log (quiet: true logs nothing)',
  debug: 'debug is not an option: ftpship logs to the gulp log (fancy-log) already; remove debug',
  timeOffset:
    "timeOffset is not needed: ftpship compares files by content (SHA-256), not by the server's times; remove timeOffset",
  reload:
    'reload is not needed: ftpship reads what the server holds (its state file) at the start of every deploy; remove reload',
  idleTimeout:
    'idleTimeout is not needed: ftpship closes its connections when the deploy ends; remove idleTimeout (timeoutMs is the time allowed for each reply)',
  keepalive:
    'keepalive is not needed: ftpship opens its connections for one deploy and closes them at its end; remove keepalive',
  connTimeout:
    'connTimeout is not an option: use timeoutMs (milliseconds allowed to connect and for each reply; default 30000)',
  pasvTimeout:
    'pasvTimeout is not an option: use timeoutMs (milliseconds allowed to connect and for each reply; default 30000)',
};

/** Why `options` cannot be taken as they are (a refused or unknown name), or undefined when they can. */
export function checkNames(options: object): string | undefined {
  const names = Object.keys(options);
  const refused = names.find(
    (n): n is keyof typeof REFUSED =>
      Object.hasOwn(REFUSED, n) && (options as Record<string, unknown>)[n] !== undefined,
  );
  if (refused) return REFUSED[refused];
  const vinyl = names.find(
    (n) => Object.hasOwn(VINYL, n) && (options as Record<string, unknown>)[n] !== undefined,
  );
  if (vinyl) return VINYL[vinyl];
  return unknownNames(
    names.filter((n) => !Object.hasOwn(REFUSED, n)),
    OPTION_NAMES,
  );
}
