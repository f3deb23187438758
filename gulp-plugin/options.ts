/** The gulp plugin's options and their up-front check (the engine's own resolver, run on an empty file set). */
import PluginError from 'plugin-error';
import { ConfigError } from '../src/engine/errors.js';
import type { DeployOptions } from '../src/engine/options.js';
import { printable, redactSecret, type DeployReport } from '../src/engine/report.js';
import { resolveOptions } from '../src/engine/resolve.js';
import { checkNames } from './keys.js';
import { phrase } from './phrase.js';

export const PLUGIN_NAME = 'ftpship';

/**
 * The library's `deploy()` options without `localDir`, `files` and the excludes: the vinyl files piped in are
 * the source (select them with gulp.src), and each file's `relative` path is its path on the server under
 * `remoteDir`.
 */
export interface GulpDeployOptions extends Omit<
  DeployOptions,
  'localDir' | 'files' | 'exclude' | 'replaceDefaultExcludes'
> {
  /** Log nothing (no progress, no summary; warnings still go to the report). Default false. */
  quiet?: boolean;
  /**
   * Called once with the deploy report (also in dry-run) before the stream ends; for a dry run refused by a
   * guard (maxDelete), with the refused plan, before the task fails.
   */
  onReport?: (report: DeployReport) => void;
}

/** Throws `PluginError('ftpship', …)` for bad configuration; returns the options for the engine. */
export function checkOptions(options: GulpDeployOptions | undefined): {
  engine: DeployOptions;
  quiet: boolean;
  onReport?: (r: DeployReport) => void;
} {
  if (options === null || typeof options !== 'object') {
    throw new PluginError(
      PLUGIN_NAME,
      'deploy() needs an options object, e.g. deploy({ host: "ftp.example.com", user, password })',
    );
  }
  const wrongName = checkNames(options);
  if (wrongName) throw new PluginError(PLUGIN_NAME, wrongName);
  const { quiet, onReport, ...rest } = options;
  if (onReport !== undefined && typeof onReport !== 'function')
    throw new PluginError(PLUGIN_NAME, 'onReport must be a function');
  // quiet: 'no' would be taken as quiet: false, and 'yes' not as true.
  if (quiet !== undefined && typeof quiet !== 'boolean')
    throw new PluginError(
      PLUGIN_NAME,
      `invalid quiet ${typeof quiet === 'string' ? JSON.stringify(quiet) : String(quiet as unknown)}; use true or false`,
    );
  // gulp.src's `{ encoding: false }` (binary files) given here by mistake: it is not this option.
  if (typeof rest.encoding === 'boolean')
    throw new PluginError(
      PLUGIN_NAME,
      `invalid encoding ${String(rest.encoding)}: here encoding is how names are sent, 'utf8' (the default) or 'latin1'; ` +
        `{ encoding: false }, for binary files, goes to gulp.src('dist/**', { encoding: false })`,
    );
  // Not converted: a number has lost any leading zeros and, past 15 digits, its last ones. The value is
  // never printed: it is the password.
  if (rest.password !== undefined && typeof rest.password !== 'string') {
    throw new PluginError(
      PLUGIN_NAME,
      `password must be a string; quote it, or read it from the environment (password: process.env.FTP_PASSWORD); ` +
        `a ${rest.password === null ? 'null' : typeof rest.password} is not taken`,
    );
  }
  const engine: DeployOptions = { ...rest, files: [] };
  try {
    resolveOptions(engine);
  } catch (err) {
    if (err instanceof ConfigError) throw new PluginError(PLUGIN_NAME, forUser(err, rest.password));
    throw err;
  }
  return { engine, quiet: quiet === true, onReport };
}

/**
 * An engine message as the plugin shows it: in gulp option names, without the password, and with terminal
 * control characters from server replies escaped (fancy-log and gulp print it to a terminal).
 */
export function forUser(message: string | ConfigError, password: string | undefined): string {
  // An error about an option's value names the option as a gulpfile sets it (`statePath`, not `--state`).
  const text =
    typeof message === 'string'
      ? message
      : message.messageFor((o) => (o === 'maintenance' ? 'maintenance.path' : o));
  return printable(redactSecret(phrase(text), password));
}

/** The password masked in a message (the engine's rule, shared with the CLI). */
export const redact = redactSecret;
