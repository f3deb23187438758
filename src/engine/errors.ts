/** Engine errors, each mapped to an exit code by the CLI and phrased for users by the wrappers. */
import type { FtpReplyError } from '../ftp/index.js';
import {
  FtpClosedError,
  FtpTimeoutError,
  IMPLICIT_TLS_PORT_HINT,
  RAISE_TIMEOUT_HINT,
} from '../ftp/errors.js';
import type { DeployOptions } from './options.js';
import type { DeployReport } from './report.js';

/**
 * An option an error can be about, by its `deploy()` name (`tls.servername` for the one inside `tls`): each
 * front end names it its own way (CLI `--state`, Action `state-path`, gulp `statePath`).
 */
export type OptionKey = keyof DeployOptions | 'tls.servername';

/** The CLI's flag for each option that has one: how an engine message names it by default (README, Errors). */
const CLI_FLAGS: Partial<Record<OptionKey, string>> = {
  exclude: '--exclude',
  keep: '--keep',
  statePath: '--state',
  parallel: '--parallel',
  maxDelete: '--max-delete',
  timeoutMs: '--timeout',
  retries: '--retries',
  fileMode: '--file-mode',
  dirMode: '--dir-mode',
  maintenance: '--maintenance',
  maintenanceUrl: '--maintenance-url',
  'tls.servername': '--tls-name',
  encoding: '--encoding',
};

/** Bad options or input: a usage or configuration error (exit 2). Nothing was changed. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly exitCode = 2;
  /** The option whose value is wrong, when the message names one (see {@link ConfigError.about}). */
  declare option?: OptionKey;
  /** The message with the option named some other way. */
  #words?: (name: string) => string;

  /**
   * The message, naming the option as `names` does (a front end's own names; see {@link OptionKey}). The
   * message itself names it by its CLI flag, or by its `deploy()` name where the CLI has no flag.
   */
  messageFor(names: (option: OptionKey) => string | undefined): string {
    const name = this.option && this.#words ? names(this.option) : undefined;
    return name !== undefined && this.#words ? this.#words(name) : this.message;
  }

  /** A ConfigError about one option's value; `words` puts the option's name where it belongs. */
  static about(option: OptionKey, words: (name: string) => string): ConfigError {
    const err = new ConfigError(words(CLI_FLAGS[option] ?? option));
    err.option = option;
    err.#words = words;
    return err;
  }
}

/** The deploy failed (exit 1). The server and the state are as they were or converging (G1, G4). */
export class DeployError extends Error {
  override name = 'DeployError';
  readonly exitCode = 1;
  /**
   * The local path (relative, `/`-separated) the error is about, when it is about one: a name the server
   * changed or refused (the gulp plugin names that file as the PluginError's `fileName`).
   */
  readonly path?: string;
  constructor(message: string, options?: { cause?: unknown; path?: string }) {
    super(message, options && 'cause' in options ? { cause: options.cause } : undefined);
    if (options?.path !== undefined) this.path = options.path;
  }
}

/** The deploy was cancelled through its `signal` (exit 1, or 130/143 from the CLI on SIGINT/SIGTERM). */
export class CancelledError extends DeployError {
  override name = 'CancelledError';
}

/** A guard refused the deploy (exit 3): too many deletions, or another deploy holds the lock. */
export class GuardError extends Error {
  override name = 'GuardError';
  readonly exitCode = 3;
  /**
   * The plan a guard refused (max-delete, the empty local folder), dry run or not: the preview, or the job
   * summary of a refused deploy, still shows what tripped it. Nothing of it was done (`bytes.sent` is 0).
   */
  report?: DeployReport;
  /**
   * Refused because another deploy holds the lock: the lock folder, the file in it naming the holder, and when
   * the lock goes stale (an ISO time; the next deploy takes it over from then), if the holder says.
   */
  lock?: { path: string; holderPath: string; staleAt?: string };
}

/** The exit code for any error: 2 for config, 3 for guards, 1 for everything else. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof ConfigError || err instanceof GuardError || err instanceof DeployError)
    return err.exitCode;
  return 1;
}

/**
 * A transient refusal of an upload that says the server could not write the bytes: what a full disk (not a
 * quota) gets, as 451 "Error during write to file" (pure-ftpd), 451 "Failure writing to local file." (vsftpd),
 * or words naming the space.
 */
export function writeFailed(err: FtpReplyError): boolean {
  return (
    err.code >= 400 &&
    err.code < 500 &&
    /^(STOR|APPE) /.test(err.command) &&
    /no space|disk full|quota|(error|failure) (during )?writ/i.test(err.serverMessage)
  );
}

/**
 * An FTP client error's message for a deploy's output: the client's advice names its own option
 * (`timeoutMs`), a deploy's names the CLI flag (`--timeout`; the wrappers phrase it as their own option).
 */
export function ftpMessage(err: unknown): string {
  let message = (err as Error | undefined)?.message ?? String(err);
  // A transfer's timeout starts with its command (`STOR /site/.ftpship-….tmp: `): the deploy names the step.
  const timeout = err instanceof FtpClosedError ? err.cause : err;
  if (timeout instanceof FtpTimeoutError && timeout.command !== undefined)
    message = message.replace(`${timeout.command}: `, '');
  // A step's error comes after the deploy's first login on this same port: a reconnect that got no greeting is
  // a busy or stalled server, not a port that speaks implicit TLS (which that login would have met first).
  return message
    .replace(IMPLICIT_TLS_PORT_HINT, '')
    .replaceAll(RAISE_TIMEOUT_HINT, '; if the server is only slow, raise --timeout');
}
