/**
 * The engine's messages name CLI flags (`--max-delete 3`, `--ca FILE`); in a gulpfile they are options
 * (`maxDelete: 3`, `tls: { ca }`). The Action does the same for its inputs (action/phrase.ts).
 */

/** What each flag is in a gulpfile, as a name to set or drop. */
const OPTION: Record<string, string> = {
  'max-delete': 'maxDelete',
  state: 'statePath',
  'reset-state': 'resetState',
  'file-mode': 'fileMode',
  'dir-mode': 'dirMode',
  keep: 'keep',
  'no-delete': 'delete: false',
  'no-replace': 'replace: false',
  'delete-only': 'deleteOnly',
  parallel: 'parallel',
  timeout: 'timeoutMs',
  retries: 'retries',
  maintenance: 'maintenance',
  'maintenance-url': 'maintenanceUrl',
  adopt: 'adopt',
  verify: 'verify',
  'upload-only': 'uploadOnly',
  'no-atomic': 'atomic: false',
  active: 'active: true',
  'dry-run': 'dryRun',
  insecure: 'tls: { rejectUnauthorized: false }',
  'tls-name': 'tls.servername',
  'tls-fingerprint': 'tls.fingerprint',
  ca: 'tls.ca',
};

/** Switches a message tells the user to turn on ("rerun with --reset-state"). */
const SWITCH = new Set(['reset-state', 'adopt', 'verify', 'upload-only', 'delete-only', 'dry-run']);

/** Names the engine's option check prints ("invalid file-mode 644"). */
const CHECKED: Record<string, string> = {
  'max-delete': 'maxDelete',
  timeout: 'timeoutMs',
  'file-mode': 'fileMode',
  'dir-mode': 'dirMode',
  'state path': 'statePath',
};

// Not inside a word: a file name such as `a--verify.txt` in a message is left as it is.
const FLAG = /(?<![\w-])--([a-z][a-z-]*)(?![\w-])/g;

/** Rewrites the CLI flags and CLI-only advice in an engine message as gulp options. */
export function phrase(message: string): string {
  return (
    message
      // Where the engine names the library option already, the flag in brackets is only for the CLI.
      .replace(/ \(--(?:ca FILE|insecure|tls-name NAME|tls-fingerprint [0-9A-F:]+)\)/g, '')
      .replace(/\(tls\.ca, --ca\)/g, '(tls.ca)')
      .replace(
        /\(ftpship CLI: FTPSHIP_PASSWORD or --password-stdin; Action: the password input(?:; library: [^()]*)?\)/g,
        '(the password option, e.g. password: process.env.FTP_PASSWORD)',
      )
      .replace(/\(ftpes:\/\/ or ftps:\/\/; Action: protocol ftps\)/g, "(secure: 'explicit' or 'implicit')")
      // Advice given for every way in at once: in a gulpfile, only the option counts.
      .replace(
        /\(CLI: ftpes:\/\/; Action: protocol ftps; library: secure 'explicit'\)/g,
        "(secure: 'explicit')",
      )
      .replace(
        /; CLI: ftps:\/\/, Action: protocol ftps-legacy, library: secure 'implicit'\)/g,
        " with secure: 'implicit')",
      )
      .replace(/\(CLI: the URL's path; Action: server-dir; library and gulp: remoteDir\)/g, '(remoteDir)')
      .replace(/--state (.+?) \(Action: state-path; /g, "statePath: '$1' (")
      // The stream has no folder and no excludes: what reaches the plugin is what gulp.src picked.
      .replace(
        /the set of files given has no file to publish(?: \(after excludes\))?/g,
        'no file reached ftpship',
      )
      .replace(/the local folder and excludes/g, 'the files piped in')
      // The exact --exclude the engine quotes for a shell: in a gulpfile, a `!` glob in gulp.src.
      .replace(
        /(?:exclude it|leave it out) with --exclude (?:'(?:[^']|'\\'')*'|\$'(?:[^'\\]|\\.)*')/g,
        "leave it out of gulp.src (add a '!' glob that matches it)",
      )
      .replace(/(?:exclude it|leave it out) with --exclude(?![\w-])/g, 'leave it out of gulp.src')
      .replace(/(?<![\w-])--exclude(?![\w-])/g, 'the gulp.src glob')
      .replace(
        /^invalid (?:--)?(max-delete|timeout|file-mode|dir-mode|state path) /,
        (_, name: string) => `invalid ${CHECKED[name]} `,
      )
      .replace(/--max-delete (\d+)/g, 'maxDelete: $1')
      .replace(/--(file|dir)-mode ([0-7]{3,4})\b/g, "$1Mode '$2'")
      .replace(/--ca FILE/g, 'tls: { ca }')
      .replace(/--tls-name NAME/g, 'tls: { servername }')
      .replace(/with --tls-name ([A-Za-z0-9.:*-]*[A-Za-z0-9*])/g, "with tls: { servername: '$1' }")
      .replace(/with --tls-fingerprint ([0-9A-F:]+)/g, "with tls: { fingerprint: '$1' }")
      .replace(
        /with --([a-z][a-z-]*)(?![\w-])(?: and --([a-z][a-z-]*)(?![\w-]))?/g,
        (flag, a: string, b?: string) =>
          SWITCH.has(a) && (b === undefined || SWITCH.has(b))
            ? `with ${OPTION[a]}: true${b ? ` and ${OPTION[b]}: true` : ''}`
            : flag,
      )
      .replace(FLAG, (flag, name: string) => OPTION[name] ?? flag)
  );
}
