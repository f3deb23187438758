/** Step 8: the deploy report, in the JSON schema of PRODUCT.md (also the Action's plan file). */
import { showBytes } from '../ftp/encoding.js';
import type { Estimate } from './estimate.js';
import { countPlan, type Plan, type PlanEntry } from './plan.js';

export interface DeployReport {
  version: 1;
  dryRun: boolean;
  /** The target as a URL, never with a password. */
  target: string;
  counts: {
    mkdir: number;
    upload: number;
    replace: number;
    delete: number;
    rmdir: number;
    unchanged: number;
  };
  bytes: { planned: number; sent: number };
  /** Every planned change (unchanged files are only counted). */
  files: PlanEntry[];
  /** Local entries left out (symlinks out of the folder…), with why. */
  skipped: Array<{ path: string; reason: string }>;
  /**
   * Paths ftpship deployed that are gone locally but left on the server: --no-delete, a keep glob, an
   * exclude that matches them now (no longer tracked), or a folder holding files ftpship did not deploy.
   */
  kept: string[];
  /**
   * Only with `fileMode`/`dirMode`: how many files (an upload through a temp counts once) and folders got
   * their mode with `SITE CHMOD` (a dry run: would get it); those the server refused, or every one when it
   * has no SITE CHMOD (a warning says so), are not counted.
   */
  chmod?: { files: number; dirs: number };
  /**
   * Only when --no-replace (`replace: false`) or --delete-only (`deleteOnly`) left something as it is: the
   * paths not sent (not in `counts` nor `files`). `replace`: changed files whose deployed content stays;
   * `upload`, `mkdir`: new files and folders not sent (--delete-only); `swap`: paths that changed between file
   * and folder, left as they are. The state records what is on the server: a run without the option sends them.
   */
  held?: {
    replace: string[];
    upload: string[];
    mkdir: string[];
    swap: string[];
    by?: 'no-replace' | 'delete-only';
  };
  /**
   * Dry runs only: how long the deploy would take in logins and round trips, measured on the dry run's
   * connection (sending `bytes.planned` comes on top: a dry run cannot measure the bandwidth).
   */
  estimate?: Estimate;
  warnings: string[];
  durationMs: number;
  /**
   * Only on the report of a run a guard refused (`GuardError.report`: max-delete, an empty local folder, the
   * lock, ...): why, in the guard's words (the wrappers' own). Nothing of the plan was done (`bytes.sent` 0).
   */
  refused?: string;
}

export function buildReport(args: {
  plan: Plan;
  dryRun: boolean;
  target: string;
  bytesSent: number;
  /** A deploy's folders made (counted as the server answered MKD); a dry run counts the plan's. */
  dirsMade?: number;
  /** Of the paths given a mode, how many did not get it (the server refused, or has no SITE CHMOD). */
  modesMissed?: { files: number; dirs: number };
  skipped: Array<{ path: string; reason: string }>;
  warnings: string[];
  startedAt: number;
  estimate?: Estimate;
}): DeployReport {
  const { plan } = args;
  return {
    version: 1,
    dryRun: args.dryRun,
    target: args.target,
    counts: { ...countPlan(plan), ...(args.dirsMade !== undefined ? { mkdir: args.dirsMade } : {}) },
    bytes: { planned: plan.uploads.reduce((n, u) => n + u.file.size, 0), sent: args.bytesSent },
    files: plan.entries,
    skipped: args.skipped,
    kept: [
      ...plan.keptOrphans.files,
      ...plan.excluded.files,
      ...plan.otherDeploys.files,
      ...plan.keptOrphans.dirs,
      ...plan.excluded.dirs,
      ...plan.otherDeploys.dirs,
    ],
    ...(plan.modes.file || plan.modes.dir
      ? {
          chmod: {
            files: plan.chmods.files.length - (args.modesMissed?.files ?? 0),
            dirs: plan.chmods.dirs.length - (args.modesMissed?.dirs ?? 0),
          },
        }
      : {}),
    ...(heldCount(plan.held) > 0 ? { held: plan.held } : {}),
    ...(args.estimate ? { estimate: args.estimate } : {}),
    warnings: args.warnings,
    durationMs: Date.now() - args.startedAt,
  };
}

/** One line per change, deletions first, for humans. */
export function formatPlan(report: DeployReport, limit = 200): string[] {
  const order = ['delete', 'rmdir', 'mkdir', 'upload', 'replace'];
  const sorted = [...report.files].sort((a, b) => order.indexOf(a.action) - order.indexOf(b.action));
  const lines = sorted
    .slice(0, limit)
    .map((e) => `  ${e.action.padEnd(7)} ${e.path}${e.size ? ` (${formatBytes(e.size)})` : ''}`);
  if (sorted.length > limit) lines.push(`  … and ${sorted.length - limit} more`);
  // Changed paths --no-replace or --delete-only leaves as they are (new files not sent are only counted).
  const h = report.held;
  if (h) {
    const left = [...h.swap, ...h.replace];
    for (const p of left.slice(0, limit)) lines.push(`  left    ${p} (--${h.by ?? 'no-replace'})`);
    if (left.length > limit) lines.push(`  … and ${left.length - limit} more left`);
  }
  return lines;
}

function heldCount(h: NonNullable<DeployReport['held']>): number {
  return h.replace.length + h.upload.length + h.mkdir.length + h.swap.length;
}

/** What --no-replace or --delete-only left as it is, for the summary line: '' when nothing. */
export function formatHeld(report: DeployReport): string {
  const h = report.held;
  if (!h) return '';
  const parts = [
    h.replace.length ? `${h.replace.length} changed file(s)` : '',
    h.upload.length ? `${h.upload.length} new file(s)` : '',
    h.mkdir.length ? `${h.mkdir.length} folder(s)` : '',
    h.swap.length ? `${h.swap.length} file/folder swap(s)` : '',
  ].filter(Boolean);
  return parts.length ? `${parts.join(', ')} left as they are (--${h.by ?? 'no-replace'})` : '';
}

export function formatSummary(report: DeployReport): string {
  const c = report.counts;
  const verb = report.dryRun || report.refused !== undefined ? 'would' : 'did';
  const title = report.dryRun
    ? 'plan'
    : report.refused !== undefined
      ? 'refused, nothing was changed'
      : 'deployed';
  return (
    `${title}: ${verb} upload ${c.upload}, replace ${c.replace}, delete ${c.delete}, ` +
    `mkdir ${c.mkdir}, rmdir ${c.rmdir}; ${c.unchanged} unchanged; ` +
    (report.held ? `${formatHeld(report)}; ` : '') +
    (report.chmod ? `mode set on ${report.chmod.files} files, ${report.chmod.dirs} folders; ` : '') +
    (report.dryRun || report.refused !== undefined
      ? `${formatBytes(report.bytes.planned)} to send (planned in ${(report.durationMs / 1000).toFixed(1)} s)`
      : `${formatBytes(report.bytes.sent)} sent in ${(report.durationMs / 1000).toFixed(1)} s`)
  );
}

/** The dry run's estimate in words, or undefined when there is none. */
export function formatEstimate(report: DeployReport): string | undefined {
  const e = report.estimate;
  if (!e) return undefined;
  if (e.seconds === 0 && report.files.length === 0) return 'estimate: nothing to do';
  const bytes =
    report.bytes.planned > 0 ? `, plus the time to send ${formatBytes(report.bytes.planned)}` : '';
  return (
    `estimate: about ${e.seconds.toFixed(1)} s of logins and round trips ` +
    `(${e.rttMs} ms per round trip, ${e.connections} connection${e.connections === 1 ? '' : 's'})${bytes}`
  );
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/**
 * Text for the terminal: control characters other than line end and tab (CR, ESC, BEL, the C1 range with
 * its one-byte CSI) as `\xNN`. Server replies and names reach these lines, and a hostile server could
 * otherwise move the cursor, erase its own error and print a success in its place (G7). A byte of a name
 * that is not UTF-8 (read from a server's listing) as `\xNN` too: as `�`, two names could print the same.
 */
export function printable(text: string): string {
  return showBytes(text).replace(
    // eslint-disable-next-line no-control-regex -- control characters are what it looks for
    /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g,
    (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

/**
 * A password this long is masked wherever it appears: a chance match inside other words is unlikely. A
 * shorter one (`p`, `1234`) is masked where it stands alone, not glued to letters or digits, so it does not
 * garble "ftp.example.com" — and give itself away by the gaps it leaves.
 */
const MASK_ANYWHERE = 8;

/**
 * Removes the password from a message, however the engine or a server phrased it: as is, URL-encoded (a
 * URL's user:password@) or JSON-escaped. The engine never puts it in a message: this is defence in depth
 * against a server that echoes it back. The CLI and the gulp plugin mask their output with it.
 */
export function redactSecret(message: string, password: string | undefined): string {
  if (typeof password !== 'string' || password === '') return message;
  const forms = new Set([password, encodeURIComponent(password), JSON.stringify(password).slice(1, -1)]);
  let out = message;
  for (const form of forms) out = out.replace(occurrences(form, password.length >= MASK_ANYWHERE), '***');
  return out;
}

const WORD = /[\p{L}\p{N}]/u;

/**
 * Where `form` stands alone: no letter or digit glued to it on a side where it starts or ends with one
 * (a letter that ends a %XX escape does not count: `user%3Ap` holds `p`).
 */
function occurrences(form: string, anywhere: boolean): RegExp {
  const body = form.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
  if (anywhere) return new RegExp(body, 'gu');
  const before = WORD.test(form[0]) ? '(?:(?<![\\p{L}\\p{N}])|(?<=%[0-9A-Fa-f]{2}))' : '';
  const after = WORD.test(form[form.length - 1]) ? '(?![\\p{L}\\p{N}])' : '';
  return new RegExp(`${before}${body}${after}`, 'gu');
}
