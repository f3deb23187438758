/** The options of `deploy()`, their defaults, and the reporter port the wrappers adapt. */
import type { FtpEncoding, FtpTlsOptions } from '../ftp/index.js';

/** One local file to deploy when the caller supplies the files itself (the gulp plugin, the Action's `files`). */
export interface SourceFile {
  /** Relative POSIX path, as it will be on the server under `remoteDir`. */
  path: string;
  /** The content, in memory. */
  contents?: Buffer;
  /** Or a file on disk (absolute), hashed and sent from there: nothing is held in memory. */
  file?: string;
  /**
   * Or neither: the path is skipped locally, for this reason (a link that leads out of the folder). As in a
   * folder's walk, what a deploy sent there before stays on the server and in the state, not deleted.
   */
  skipped?: string;
}

export interface DeployOptions {
  /** The folder to publish. Required unless `files` is given; never with it (a ConfigError). */
  localDir?: string;
  /**
   * Files given directly instead of a folder (the gulp plugin's vinyl files): exactly the set to publish. Not
   * with `localDir` (a ConfigError: the folder would not be read).
   */
  files?: SourceFile[];
  host: string;
  /** Default 21, or 990 for implicit TLS. */
  port?: number;
  user?: string;
  password?: string;
  /** false (plain FTP), 'explicit' (AUTH TLS) or 'implicit' (TLS from the first byte). Default false. */
  secure?: false | 'explicit' | 'implicit';
  tls?: FtpTlsOptions;
  /** Active mode (the server connects back). Default false: passive. */
  active?: boolean;
  /**
   * How names go to the server as bytes (Python ftplib's `encoding`): 'utf8' (the default; RFC 2640) or
   * 'latin1', for a server that keeps names as ISO 8859-1 bytes (vsftpd without `utf8_filesystem`, old
   * Windows hosts): `café.html` is then sent as `caf\xE9.html`, and OPTS UTF8 ON is not sent. With 'latin1', a
   * local name holding a character above U+00FF (`日本.html`) is refused before any change (ConfigError).
   * The state records the encoding; a deploy with the other one sends its non-ASCII names anew under their
   * new bytes and deletes them under their old ones (see README).
   */
  encoding?: FtpEncoding;
  /** The target folder on the server; relative paths start at the login folder. Default '/'... of the login. */
  remoteDir?: string;
  /** Plan only: zero side effects. */
  dryRun?: boolean;
  /** Connections sharing one queue. Default 4. */
  parallel?: number;
  /** Globs (relative to localDir) left out of the upload. Defaults: `.git/**`, `** /.DS_Store`, `node_modules/**`. */
  exclude?: string[];
  /** Replace the default excludes instead of adding to them. */
  replaceDefaultExcludes?: boolean;
  /** Globs of remote paths never deleted or replaced by a type swap. */
  keep?: string[];
  /** Delete orphans (files ftpship deployed earlier that are gone locally). Default true. */
  delete?: boolean;
  /**
   * Replace changed files already on the server. Default true. false: they are left as they are (new files
   * still go up, orphans are still deleted), and so is a file that became a folder or the reverse; the state
   * keeps recording what is on the server, so a later deploy without it replaces them.
   */
  replace?: boolean;
  /**
   * Only delete: the orphans (files and folders ftpship deployed that are gone locally; never a `keep` match)
   * are deleted, and nothing is uploaded, replaced or made. `maxDelete` still applies. Not with `delete:
   * false` nor `uploadOnly`.
   */
  deleteOnly?: boolean;
  /** Refuse (GuardError, exit 3) when the plan deletes more files than this. */
  maxDelete?: number;
  /** Where the state lives: absolute, or relative to remoteDir. Default `.ftpship-state.json`. */
  statePath?: string;
  /** Upload changed files to temporary names and rename them over the old ones at the end. Default true. */
  atomic?: boolean;
  /**
   * Permissions for deployed files, as octal digits (`'644'`), set with `SITE CHMOD`: on every file this
   * deploy uploads (a replaced file on its temporary name, so it goes live with them), and on every other
   * deployed file whenever the mode differs from the one the last deploy set. Default: the server's.
   */
  fileMode?: string;
  /** The same for the folders ftpship creates or deployed (`'755'`). Default: the server's. */
  dirMode?: string;
  /**
   * A maintenance marker (e.g. WordPress's `.maintenance`, or a flag an `.htaccess` rule tests): a file put
   * on the server, relative to `remoteDir`, while live files change — the commit phase in atomic mode,
   * the whole run with `atomic: false` — and removed once the deploy has finished. A deploy that fails
   * with it up leaves it there (the state records it; the next deploy removes it).
   */
  maintenance?: { path: string; content?: string };
  /**
   * A maintenance hook: an http(s) URL POSTed JSON when live files are about to change (`{"event":"start",
   * "target", "counts"}`, at the moment the marker would go up, before it), when they are done (`"end"`, after
   * the marker comes down), and when the deploy fails in between (`"failed"`, with `"error"`). No call when
   * nothing live changes, nor in a dry run. A `start` not answered 2xx stops the deploy before any live file
   * changes. The URL may carry a token: messages show scheme://host/path only.
   */
  maintenanceUrl?: string;
  /** Timeout per reply and per idle data connection, in ms. Default 30 000. */
  timeoutMs?: number;
  /** Retries of a transient failure (421, 425, 426, resets, timeouts). Default 5. */
  retries?: number;
  /** Start again from an empty state when the state on the server is unreadable (re-seed). */
  resetState?: boolean;
  /**
   * Check the size of every file the state lists on the server (and its SHA-256, where the server computes
   * it: `HASH`, `XSHA256`), and upload again what drifted.
   */
  verify?: boolean;
  /**
   * A first deploy (no state) onto a server that already holds the site: local files found there with the
   * same size are compared by SHA-256 (the server's own, where it offers `HASH` or `XSHA256`, else downloaded and
   * hashed here), and identical ones are recorded instead of uploaded.
   */
  adopt?: boolean;
  /**
   * Upload every selected file and keep no state on the server: nothing is compared, nothing deleted, no
   * state file read or written (for a folder other uploads share, or a server where no state can be kept).
   * Files still go through a temporary name (unless `atomic: false`): the server may hold an older copy.
   * Refused where ftpship keeps a state, which this run would leave out of date.
   */
  uploadOnly?: boolean;
  /** Backoff base between retries in ms (tests shorten it). Default 500. */
  retryDelayMs?: number;
  /**
   * Send commands in batches, each batch in one write (the login, EPSV with its transfer, a level's MKDs,
   * the commit's renames and deletes). Default true; false for a server that mishandles batches.
   */
  pipelining?: boolean;
  /** Take over a deploy lock not refreshed for this long, in ms (a live deploy refreshes it every 30 s). Default 2 minutes. */
  staleLockMs?: number;
  /**
   * Cancels the deploy (the CLI and the Action abort it on SIGINT and SIGTERM): no new transfer starts, those
   * running are cut, what was confirmed is saved to the state, the lock is released, and `deploy()` rejects
   * with a {@link CancelledError}. A rerun sends only the rest, as after any failure.
   */
  signal?: AbortSignal;
}

/** Progress of the execute phase. */
export interface Progress {
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

/** How the engine talks to its host (CLI, Action, gulp). Every method is optional. */
export interface Reporter {
  info?(message: string): void;
  warn?(message: string): void;
  debug?(message: string): void;
  /**
   * The FTP dialogue, one line per command or reply, PASS redacted; `connection` numbers the connection
   * it went over (1, 2, … in the order they were opened).
   */
  protocol?(line: string, connection: number): void;
  progress?(progress: Progress): void;
}

export const DEFAULT_EXCLUDES = [
  '.git/**',
  '**/.git/**',
  '**/.DS_Store',
  'node_modules/**',
  '**/node_modules/**',
];
export const DEFAULT_STATE_NAME = '.ftpship-state.json';
/** The state file FTP-Deploy-Action (SamKirkland/ftp-deploy) keeps in the server dir. */
export const FDA_STATE_NAME = '.ftp-deploy-sync-state.json';
export const DEFAULT_PARALLEL = 4;
