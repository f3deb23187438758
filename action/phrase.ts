/** The engine's messages as the Action prints them: inputs instead of CLI flags, and safe as log lines. */
import type { OptionKey } from '../src/engine/errors.js';
import { Input } from './constants.js';
import { asGiven } from './login.js';
import { showBytes } from '../src/ftp/encoding.js';

const INPUTS = new Set<string>(Object.values(Input));

/** CLI flags whose input has another name, or is a boolean set to false. */
const FLAGS: Record<string, string> = {
  state: Input.StatePath,
  maintenance: Input.MaintenanceFile,
};
/** The library's option names in the engine's messages, as the Action's inputs. */
const LIBRARY_OPTIONS: Record<string, string> = {
  user: Input.Username,
  remoteDir: Input.ServerDir,
  statePath: Input.StatePath,
};
/** The input each option comes from, for an engine error about its value (ConfigError.messageFor). */
export const INPUT_OF: Partial<Record<OptionKey, string>> = {
  exclude: Input.Exclude,
  keep: Input.Keep,
  statePath: Input.StatePath,
  parallel: Input.Parallel,
  maxDelete: Input.MaxDelete,
  timeoutMs: Input.Timeout,
  port: Input.Port,
  fileMode: Input.FileMode,
  dirMode: Input.DirMode,
  maintenance: Input.MaintenanceFile,
  maintenanceUrl: Input.MaintenanceUrl,
  'tls.servername': Input.TlsName,
  encoding: Input.Encoding,
};
const NEGATED: Record<string, string> = {
  'no-delete': Input.Delete,
  'no-replace': Input.Replace,
  'no-atomic': Input.Atomic,
};

/**
 * The engine's exact exclude for one path, `--exclude '<glob>'` (or bash's `$'<glob>'` for a name with a
 * control character), quoted for a shell: in the Action it is a line of the `exclude` input, unquoted, with
 * a control character as `?` (one line of YAML cannot hold it).
 */
const EXCLUDE_OPTION = /--exclude (?:'((?:[^']|'\\'')*)'|\$'((?:[^'\\]|\\.)*)')/g;

function excludeLine(_all: string, quoted?: string, ansi?: string): string {
  const glob =
    quoted !== undefined
      ? quoted.replace(/'\\''/g, "'")
      : (ansi as string).replace(/\\(x[0-9a-f]{2}|.)/g, (_e, c: string) =>
          c === '\\' || c === "'" ? c : '?',
        );
  // A line of the input is trimmed, and ` #` starts a comment there: a space at the end goes in brackets, a
  // `#` after a space gets a backslash.
  const line = glob
    .replace(/(\s)#/g, '$1\\#')
    .replace(/\s+$/, (spaces) => [...spaces].map((c) => `[${c}]`).join(''));
  return `the line ${line} in the \`exclude\` input (which replaces the default excludes)`;
}

/**
 * The Action's part of a hint the engine words for every front end: `protocol ftps` → `protocol: ftps`,
 * `server-dir` → the `server-dir` input; anything else as it is.
 */
function actionPart(hint: string): string {
  const set = /^([a-z-]+) (\S+)$/.exec(hint);
  if (set && INPUTS.has(set[1])) return `\`${set[1]}: ${set[2]}\``;
  return INPUTS.has(hint) ? `the \`${hint}\` input` : hint;
}

/** Rewrites `--flag` as "the `flag` input" where the Action has an input for it. */
export function phrase(message: string): string {
  return (
    message
      // Hints for each front end ("CLI: ftpes://; Action: protocol ftps; library: secure 'explicit'"): the
      // Action's log gives the Action's part alone.
      .replace(
        /\((?:(?:ftpship )?CLI: [^;()]*|ftpes:\/\/ or ftps:\/\/); Action: ([^;()]*)(?:; library[^;()]*: [^()]*)?\)/g,
        (_all, hint: string) => `(${actionPart(hint)})`,
      )
      .replace(
        /; CLI: [^,()]*, Action: ([^,()]*), library: [^()]*\)/g,
        (_all, hint: string) => `: ${actionPart(hint)})`,
      )
      .replace(
        /--state (\S+) \(Action: state-path; ([^()]*)\)/g,
        (_all, state: string, rest: string) => `\`state-path: ${state}\` (${rest})`,
      )
      .replace(
        /\(--active; deploy\(\) and gulp: active: true; FtpClient: passive: false\)/g,
        '(`active: true`)',
      )
      .replace(/\(leave out --active or active: true; FtpClient: passive: true\)/g, '(`active: false`)')
      // The engine names these by the library's options (`remoteDir "a\nb" holds CR…`): the Action's inputs.
      .replace(
        /^(user|remoteDir|statePath) (".*" holds CR, LF or NUL); remove them/,
        (_all, option: string, rest: string) =>
          `the \`${LIBRARY_OPTIONS[option]}\` input ${rest}, which FTP cannot send (a line break ends a command); ` +
          'remove them (a secret or variable saved with a second line?)',
      )
      // The CLI's URL scheme: the Action sets `protocol`.
      .replace(
        /\bUse ftp:\/\/ only if you accept an unencrypted connection\b/,
        'Set `protocol: ftp` only if you accept an unencrypted connection',
      )
      // Connection and login failures: the inputs that hold the host, port, user and password.
      .replace(/; check the server name\b/g, '; check the `server` input')
      .replace(/; check the host and port\b/g, '; check the `server` and `port` inputs')
      .replace(
        /; check the host, port and firewall\b/g,
        '; check the `server` and `port` inputs and the firewall',
      )
      .replace(/\bcheck the user and password\b/g, 'check the `username` and `password` inputs')
      // Two runs of a workflow at once: the Action's way to queue them (README, Concurrency).
      .replace(
        /(another deploy holds the lock .*; wait for it to finish, or remove the folder if that deploy is dead \(stale after \d+ s[^)]*\))/,
        '$1. To queue deploys of one target instead, give every workflow that deploys there the same ' +
          '`concurrency:` group (with `cancel-in-progress: false`)',
      )
      // The CLI's exit code: in the Action, the step fails.
      .replace(/\bwould be refused \(exit 3\)/g, 'would be refused (the step fails)')
      .replace(EXCLUDE_OPTION, excludeLine)
      // The local folder is the `local-dir` input (the engine names it by its path, resolved in the workspace).
      .replace(
        /^the local folder (.+?) has no file to publish/,
        'the `local-dir` input ($1) has no file to publish',
      )
      .replace(/\bCheck the local folder and excludes\b/, 'Check `local-dir` and `exclude`')
      // The Action always replaces the engine's default excludes: by its own, or by the `exclude` input.
      .replace(
        /replaceDefaultExcludes is set, so the default excludes \(\.git\/, node_modules\/\) do not apply; add .* to exclude to leave them out/,
        'setting the `exclude` input replaces its defaults (as in FTP-Deploy-Action); add `**/.git*`, `**/.git*/**` ' +
          'and `**/node_modules/**` to `exclude` to leave them out',
      )
      // "more than --max-delete 1" read "more than the `max-delete` input 1": the number is the input's value.
      .replace(/more than --max-delete (\d+)/g, 'more than `max-delete` ($1) allows')
      .replace(/pass --max-delete (\d+)/g, 'set `max-delete: $1`')
      // "check the certificate against one with the `tls-name` input x" reads badly: say how to set it.
      .replace(
        /\bcheck the certificate against one with --tls-name ([A-Za-z0-9.:*-]*[A-Za-z0-9*])/g,
        'set the `tls-name` input to $1',
      )
      // "pin it with the `tls-fingerprint` input AB:…" the same.
      .replace(
        /\bwith --tls-fingerprint ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})/g,
        'by setting the `tls-fingerprint` input to $1',
      )
      // "give each target its own --state" read "its own the `state-path` input"
      .replace(/\bits own --([a-z][a-z-]*)/g, (all, name: string) => {
        const input = FLAGS[name] ?? name;
        return INPUTS.has(input) ? `its own \`${input}\` input` : all;
      })
      // "invalid --tls-name x" reads as the Action's own "invalid tls-name x"
      .replace(/\binvalid --([a-z][a-z-]*)/g, (flag, name: string) => {
        const input = FLAGS[name] ?? name;
        return INPUTS.has(input) ? `invalid ${input}` : flag;
      })
      // Not inside a word: a file name such as `a--verify.txt` in a message is left as it is.
      .replace(/(?<![\w-])--([a-z][a-z-]*)(?: (?:FILE|NAME|PATH)\b)?/g, (flag, name: string) => {
        if (NEGATED[name]) return `\`${NEGATED[name]}: false\``;
        const input = FLAGS[name] ?? name;
        return INPUTS.has(input) ? `the \`${input}\` input` : flag;
      })
  );
}

/**
 * Server text (replies, names) inside a log line must not become a workflow command. The runner reads
 * `::command::` at the start of any line, after leading whitespace as .NET's TrimStart() sees it (which is
 * `\s` and also U+0085, NEXT LINE; U+180E too in older Unicode), and the legacy `##[command]` anywhere in a
 * line (actions/runner ActionCommand.cs); CR, LF and CRLF each end a line. So continuation lines are
 * indented (for the reader), a `::` that opens a line gets a backslash before it, and `##[` becomes `##[\`
 * (as the runner itself does for its own markers). The login inputs appear as written (see `asGiven`), so
 * that the runner's mask of a secret finds them. A byte of a name that is not UTF-8 shows as `\xNN` (showBytes).
 */
export function logSafe(text: string): string {
  return showBytes(asGiven(text))
    .split(/\r\n|\r|\n/)
    .map(
      (line, i) =>
        (i > 0 ? '  ' : '') + line.replace(/##\[/g, '##[\\').replace(/^([\s\u0085\u180e]*)::/, '$1\\::'),
    )
    .join('\n');
}
