/** Validates `deploy()` options and fills in defaults. Every error names the value and what to try. */
import fs from 'node:fs';
import path from 'node:path';
import type { FtpConnectOptions } from '../ftp/index.js';
import { fingerprintProblem } from '../ftp/pin.js';
import { ConfigError, type OptionKey } from './errors.js';
import { checkHookUrl } from './hook.js';
import { checkShape } from './option-shape.js';
import { FTP_ENCODINGS, type FtpEncoding } from '../ftp/encoding.js';
import { atOrUnder, isRecordablePath } from './paths.js';
import { globParts } from './select.js';
import { OCTAL_MODE } from './state.js';
import {
  DEFAULT_EXCLUDES,
  DEFAULT_PARALLEL,
  DEFAULT_STATE_NAME,
  FDA_STATE_NAME,
  type DeployOptions,
} from './options.js';

export interface ResolvedOptions extends DeployOptions {
  port: number;
  user: string;
  secure: false | 'explicit' | 'implicit';
  remoteDir: string;
  dryRun: boolean;
  parallel: number;
  exclude: string[];
  keep: string[];
  delete: boolean;
  replace: boolean;
  statePath: string;
  atomic: boolean;
  timeoutMs: number;
  retries: number;
  retryDelayMs: number;
  staleLockMs: number;
  encoding: FtpEncoding;
  /** The state path given, when it named FTP-Deploy-Action's state file (taken as none). */
  fdaStateNamed?: string;
}

const CONTROL = /[\r\n\0]/;

/** The client's login settings of a deploy: every connection it opens, and the gulp plugin's lock release at exit. */
export function loginOptions(
  o: ResolvedOptions,
): Pick<
  FtpConnectOptions,
  'host' | 'port' | 'user' | 'password' | 'secure' | 'tls' | 'passive' | 'timeoutMs' | 'encoding'
> {
  const { host, port, user, password, secure, tls, timeoutMs, encoding } = o;
  return { host, port, user, password, secure, tls, passive: !o.active, timeoutMs, encoding };
}

export function resolveOptions(o: DeployOptions): ResolvedOptions {
  checkShape(o);
  // `user@host` or `user:password@host`: the host alone is shown, when it is one (the rest may hold the password).
  const at = typeof o.host === 'string' ? o.host.lastIndexOf('@') : -1;
  const afterAt = at >= 0 ? hostAfterUser(o.host as string) : '';
  if (at >= 0 && looksLikeHostName(afterAt)) {
    throw new ConfigError(
      `invalid host: it holds a user${(o.host as string).slice(0, at).includes(':') ? ' and a password' : ''} before ${afterAt}; ` +
        `give the server name alone (host: '${afterAt}'), the user name in user and the password in password`,
    );
  }
  // A URL as the host (`ftp://ftp.example.com/www`, or mistyped `ftp:/…`, `ftp:…`, `ftps//…`), with no user or
  // password in it (above): shown, with the host alone to write, not taken for a password.
  const url = typeof o.host === 'string' ? /^s?ftpe?s?(?::\/*|\/\/)([^@\s]*)$/i.exec(o.host) : null;
  const urlHost = url?.[1].split(/[:/]/)[0] ?? '';
  if (looksLikeHostName(urlHost)) {
    throw new ConfigError(
      `invalid host ${JSON.stringify(o.host)}: a URL; give the server name alone (host: '${urlHost}'), and the port, ` +
        `folder and TLS in port, remoteDir and secure`,
    );
  }
  // A value with characters no server name has (`!`, `@`, a space) is shown only when it holds a host name
  // (`ftp.example.com/site`): else it may be the password, given in its place.
  if (
    typeof o.host === 'string' &&
    o.host.trim() !== '' &&
    !hostSyntax(o.host) &&
    (at >= 0 || !holdsHostName(o.host))
  ) {
    throw new ConfigError(
      'invalid host (not shown: it is no server name or address, and may be a password); give a server name or address such as ftp.example.com',
    );
  }
  if (!o.host || typeof o.host !== 'string' || /[\s/]/.test(o.host)) {
    throw new ConfigError(
      `invalid host ${JSON.stringify(o.host)}; give a server name or address such as ftp.example.com`,
    );
  }
  // `[::1]`, an IPv6 literal as a URL writes it: the socket wants it bare (the name lookup failed on the brackets:
  // 'host "[::1]" not found'), and the report's target would have had two pairs.
  const v6 = /^\[([0-9a-f:.]*:[0-9a-f:.]*)\](?::(\d+))?$/i.exec(o.host);
  // host:port, as a URL writes it: the port goes in its own option, or the name lookup fails (user@host: above).
  const withPort = v6?.[2] ? v6 : /^([^:]+):(\d+)$/.exec(o.host);
  if (withPort) {
    throw new ConfigError(
      `invalid host ${JSON.stringify(o.host)}; give the port apart (port: ${withPort[2]}) and the host alone (${withPort[1]})`,
    );
  }
  // A URL pasted as the folder would become folders named `ftp:` and the host on the server.
  const asUrl = urlAsFolder(o.remoteDir ?? '');
  if (asUrl) {
    throw new ConfigError(
      `invalid remoteDir "${asUrl.shown}": a URL, where the folder on the server goes; give the folder alone (remoteDir: '${asUrl.folder || '.'}'), and the host, port and secure apart`,
    );
  }
  if (o.user === '') {
    throw new ConfigError(
      'invalid user "": give the user name to log in as (a secret or variable that is not set reads as empty), or leave user out to log in as anonymous',
    );
  }
  checkLocal(o);
  const secure = o.secure ?? false;
  if (secure !== false && secure !== 'explicit' && secure !== 'implicit') {
    throw new ConfigError(
      `invalid secure ${JSON.stringify(secure)}; use false, 'explicit' or 'implicit'` +
        // vinyl-ftp (node-ftp) and basic-ftp read true as explicit TLS: say so rather than guess.
        (secure === true ? " (secure: true in vinyl-ftp and basic-ftp is 'explicit' here: AUTH TLS)" : ''),
    );
  }
  checkTlsName(o.tls?.servername, secure);
  const pin = fingerprintProblem(o.tls?.fingerprint, {
    name: '--tls-fingerprint',
    insecure: '--insecure',
    secure: secure !== false,
    rejectUnauthorized: o.tls?.rejectUnauthorized,
  });
  if (pin) throw new ConfigError(pin);
  const port = o.port ?? (secure === 'implicit' ? 990 : 21);
  integer('port', port, 1, 65535);
  const user = o.user ?? 'anonymous';
  if (user !== 'anonymous' && (o.password === undefined || o.password === '')) {
    throw new ConfigError(
      `no password for user ${JSON.stringify(user)}; give one (ftpship CLI: FTPSHIP_PASSWORD or --password-stdin; Action: the password input; library: the password option)`,
    );
  }
  if (typeof o.password === 'string' && CONTROL.test(o.password)) {
    // Never printed: say what is wrong with it, not what it is.
    throw new ConfigError(
      'the password holds a line break (CR or LF) or NUL, which FTP cannot send (a line break ends a command); check the secret for a stray newline inside it',
    );
  }
  for (const [name, value] of Object.entries({
    user,
    remoteDir: o.remoteDir ?? '',
    statePath: o.statePath ?? '',
  })) {
    if (CONTROL.test(value))
      throw new ConfigError(`${name} ${JSON.stringify(value)} holds CR, LF or NUL; remove them`);
  }
  checkSpacedFolder(o.remoteDir ?? '');
  const parallel = o.parallel ?? DEFAULT_PARALLEL;
  integer('parallel', parallel, 1, 64);
  if (o.maxDelete !== undefined) integer('maxDelete', o.maxDelete, 0, Number.MAX_SAFE_INTEGER);
  const timeoutMs = o.timeoutMs ?? 30_000;
  checkTimeout(timeoutMs);
  const retries = o.retries ?? 5;
  integer('retries', retries, 0, 100);
  // Not the CLI's or the Action's (the library's and the gulp plugin's): -1 or 0 would take over any
  // deploy's lock as stale at once, and two deploys would run on one target.
  if (o.staleLockMs !== undefined) milliseconds('staleLockMs', o.staleLockMs, 1000, 7 * 24 * 3_600_000);
  if (o.retryDelayMs !== undefined) milliseconds('retryDelayMs', o.retryDelayMs, 0, 600_000);
  checkMaintenance(o.maintenance);
  const maintenanceUrl = checkHookUrl(o.maintenanceUrl);
  checkUploadOnly(o);
  checkDeleteOnly(o);
  checkGlobs('exclude', o.exclude);
  checkGlobs('keep', o.keep);
  checkAbsoluteExcludes(o);
  const encoding = checkEncoding(o, user);
  const fileMode = mode('fileMode', o.fileMode);
  const dirMode = mode('dirMode', o.dirMode);
  // FTP-Deploy-Action's state file, named as the state (FIELD.md: copied from a workflow): as in the Action, the
  // same as none. ftpship still reads that file once, and keeps its own state apart, not in that file in its own
  // format (which FTP-Deploy-Action could no longer read, and which "delete it after the switch" would delete).
  const statePath =
    o.statePath === undefined || o.statePath.replace(/^\.\/+/, '') === FDA_STATE_NAME
      ? DEFAULT_STATE_NAME
      : o.statePath;
  if (statePath === '' || statePath.endsWith('/'))
    throw ConfigError.about(
      'statePath',
      (name) => `invalid ${name} ${JSON.stringify(statePath)}; name a file, e.g. .ftpship-state.json`,
    );
  return {
    ...o,
    host: v6 ? v6[1] : o.host,
    port,
    user,
    secure,
    remoteDir: o.remoteDir ?? '',
    dryRun: o.dryRun ?? false,
    parallel,
    // Local paths are matched in NFC (select.ts): a glob typed in NFD (tab-completed on macOS, whose names are
    // often decomposed) would match nothing, and a --keep that matches nothing lets its files be deleted.
    exclude: [...(o.replaceDefaultExcludes ? [] : DEFAULT_EXCLUDES), ...(o.exclude ?? []).map(nfc)],
    keep: (o.keep ?? []).map(nfc),
    delete: o.delete ?? true,
    replace: o.replace ?? true,
    statePath,
    ...(o.statePath !== undefined && statePath !== o.statePath ? { fdaStateNamed: o.statePath } : {}),
    atomic: o.atomic ?? true,
    fileMode,
    dirMode,
    timeoutMs,
    retries,
    retryDelayMs: o.retryDelayMs ?? 500,
    staleLockMs: o.staleLockMs ?? 2 * 60_000,
    maintenanceUrl,
    encoding,
  };
}

function checkLocal(o: DeployOptions): void {
  // Both: the folder was silently not read, and a deploy after one of the folder deleted its files as gone.
  if (o.files && o.localDir)
    throw new ConfigError(
      `localDir (${JSON.stringify(o.localDir)}) and files are both given, but files replaces the folder, which would not be read: ` +
        'keep localDir alone to publish the folder, or files alone to publish exactly the files listed ' +
        "(to publish the folder's files and more, list them all in files)",
    );
  if (o.files) return;
  if (!o.localDir) throw new ConfigError('no local folder given; name the folder to publish, e.g. ./dist');
  let stat: fs.Stats;
  try {
    stat = fs.statSync(o.localDir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // A folder above it that this user may not enter (EACCES), a loop of links (ELOOP): it may well exist.
    if (code !== 'ENOENT' && code !== 'ENOTDIR')
      throw new ConfigError(
        `local folder ${JSON.stringify(o.localDir)} cannot be reached (${code ?? (err as Error).message}); check its permissions and those of the folders above it for the user running ftpship`,
      );
    throw new ConfigError(
      `local folder ${JSON.stringify(o.localDir)} does not exist; check the path (relative to ${process.cwd()})`,
    );
  }
  if (!stat.isDirectory())
    throw new ConfigError(
      `local path ${JSON.stringify(o.localDir)} is not a folder; name the folder to publish`,
    );
  try {
    fs.accessSync(o.localDir, fs.constants.R_OK | fs.constants.X_OK);
  } catch (err) {
    throw new ConfigError(
      `local folder ${JSON.stringify(o.localDir)} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); check its permissions for the user running ftpship`,
    );
  }
}

/**
 * The timeout is in milliseconds; `30` or `60` is almost always meant as seconds (FIELD.md), so the error says
 * the unit and, for such a value, what to write instead.
 */
function checkTimeout(value: number): void {
  if (Number.isInteger(value) && value >= 100 && value <= 3_600_000) return;
  const shown = typeof value === 'number' ? String(value) : JSON.stringify(value);
  const seconds =
    Number.isInteger(value) && value >= 1 && value < 100
      ? `; ${value} is ${value} ms: for ${value} s write ${value * 1000}`
      : '';
  throw ConfigError.about(
    'timeoutMs',
    (name) =>
      `invalid ${name} ${shown}; use a whole number of milliseconds from 100 to 3600000 (30000 is 30 s)${seconds}`,
  );
}

function milliseconds(option: OptionKey, value: number, min: number, max: number): void {
  if (Number.isInteger(value) && value >= min && value <= max) return;
  const shown = typeof value === 'number' ? String(value) : JSON.stringify(value);
  throw ConfigError.about(
    option,
    (name) =>
      `invalid ${name} ${shown}; use a whole number of milliseconds from ${min} to ${max} (60000 is a minute)`,
  );
}

function integer(option: OptionKey, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    // String(), not JSON: NaN and Infinity would read as null.
    const shown = typeof value === 'number' ? String(value) : JSON.stringify(value);
    throw ConfigError.about(
      option,
      (name) => `invalid ${name} ${shown}; use a whole number from ${min} to ${max}`,
    );
  }
}

/**
 * A server folder whose name starts or ends with a space (`public_html /`, `'site '`) is a typo far more
 * often than a name, and servers do not agree on it: pure-ftpd makes `site_` of `site ` and then cannot find
 * `site /x`, vsftpd and proftpd create it as typed. Refused before anything is sent, as is a control character.
 */
function checkSpacedFolder(remoteDir: string): void {
  // A tab or another control character (%09 in a URL, a value pasted from a table): pure-ftpd makes it `_`,
  // and the deploy went to `site_x` while the report said `site%09x`.
  const control = [...remoteDir].find((ch) => ch < ' ' || ch === '\x7f');
  if (control !== undefined)
    throw new ConfigError(
      `the server folder ${JSON.stringify(remoteDir)} holds a control character (${JSON.stringify(control)}, U+${control.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}), which FTP servers keep, change or refuse, each their own way; remove it`,
    );
  const names = remoteDir.split('/');
  const spaced = names.find((n) => n !== n.trim());
  if (spaced === undefined) return;
  const trimmed = names.map((n) => n.trim()).join('/');
  throw new ConfigError(
    `the server folder ${JSON.stringify(remoteDir)} has a name that starts or ends with a space (${JSON.stringify(spaced)}), ` +
      `which FTP servers keep, change or refuse, each their own way; remove the space (${JSON.stringify(trimmed)})`,
  );
}

/** The name the certificate is checked against: a host name, and only where there is TLS. */
function checkTlsName(name: unknown, secure: DeployOptions['secure']): void {
  if (name === undefined) return;
  if (typeof name !== 'string' || !/^[A-Za-z0-9.:*-]+$/.test(name)) {
    throw ConfigError.about(
      'tls.servername',
      (flag) =>
        `invalid ${flag} ${JSON.stringify(name)}; give a host name the certificate holds, such as server123.hosting.example`,
    );
  }
  if (!secure) {
    throw new ConfigError(
      `--tls-name ${name} checks a TLS certificate, but this connection is plain FTP; ask for FTPS (ftpes:// or ftps://; Action: protocol ftps) or drop --tls-name`,
    );
  }
}

/** --upload-only keeps no state: the options that read or re-seed one cannot go with it. */
function checkUploadOnly(o: DeployOptions): void {
  if (!o.uploadOnly) return;
  const clash = (
    [
      ['--adopt', o.adopt, '--adopt starts a state from what the server holds'],
      ['--verify', o.verify, '--verify checks the files a state lists'],
      ['--reset-state', o.resetState, '--reset-state re-seeds a state'],
      [
        '--no-replace',
        o.replace === false,
        '--no-replace needs a state to tell which files are on the server',
      ],
    ] as const
  ).find(([, on]) => on);
  if (clash) {
    throw new ConfigError(
      `--upload-only keeps no state, and ${clash[2]}: drop one of --upload-only and ${clash[0]}`,
    );
  }
}

/** --delete-only does the deletions alone: --no-delete leaves it nothing, --upload-only is the opposite. */
function checkDeleteOnly(o: DeployOptions): void {
  if (!o.deleteOnly) return;
  if (o.delete === false)
    throw new ConfigError(
      '--delete-only does only the deletions, and --no-delete turns them off: the run would do nothing; drop one of --delete-only and --no-delete',
    );
  if (o.uploadOnly)
    throw new ConfigError(
      '--delete-only only deletes, and --upload-only only uploads (and never deletes): drop one of --delete-only and --upload-only',
    );
  // The state says what to delete; re-seeded, it would list nothing: nothing deleted, and every file forgotten.
  if (o.resetState)
    throw new ConfigError(
      '--delete-only deletes the files the state lists, and --reset-state forgets them (the server is treated as empty): the run would delete nothing and leave a state listing no file; drop one of --delete-only and --reset-state',
    );
}

/** Each glob must name something: '' (or '/', '!') names nothing, '.' the whole folder. */
function checkGlobs(option: 'exclude' | 'keep', globs: unknown): void {
  if (globs === undefined) return;
  if (!Array.isArray(globs)) throw new ConfigError(`${option} must be a list of globs`);
  for (const g of globs as unknown[]) {
    const body = typeof g === 'string' ? globParts(g).body : '';
    if (typeof g === 'string' && /^!\s/.test(g))
      throw ConfigError.about(
        option,
        (name) =>
          `invalid ${name} glob ${JSON.stringify(g)}: a space after ! is part of the pattern, so it matches nothing; write ${JSON.stringify(`!${g.slice(1).trim()}`)}`,
      );
    // Paths are relative to the local folder (or the server folder): `../x` or `a/../b` names none of them.
    if (typeof g === 'string' && body.split(/[/\\]/).includes('..'))
      throw ConfigError.about(
        option,
        (name) =>
          `invalid ${name} glob ${JSON.stringify(g)}: globs are read inside the folder deployed, where no path holds "..", so it matches nothing; write it from the top of that folder, without ".."`,
      );
    if (body === '' || body === '.') {
      throw ConfigError.about(
        option,
        (name) =>
          `invalid ${name} glob ${JSON.stringify(g)}: it names no path, or the whole folder; give a path or a pattern such as dist/** or *.map`,
      );
    }
  }
}

/**
 * An exclude written as the file's absolute path (`/home/me/site/dist/secret.txt` for the local folder
 * `/home/me/site/dist`): a leading `/` anchors a glob at the top of the local folder, which holds no such path,
 * so it matches nothing and the file would go up.
 */
export function checkAbsoluteExcludes(o: DeployOptions): void {
  if (!o.localDir || !Array.isArray(o.exclude)) return;
  const roots = [path.resolve(o.localDir)];
  try {
    roots.push(fs.realpathSync(o.localDir));
  } catch {
    // checkLocal said why
  }
  for (const g of o.exclude as unknown[]) {
    if (typeof g !== 'string') continue;
    const { negate, body } = globParts(g);
    const abs = `/${body}`;
    const root = roots.find((r) => abs.startsWith(`${r}/`) && r !== '/');
    if (!g.replace(/^!/, '').startsWith('/') || !root || fs.existsSync(path.join(o.localDir, body))) continue;
    const meant = `${negate ? '!' : ''}/${abs.slice(root.length + 1)}`;
    throw ConfigError.about(
      'exclude',
      (name) =>
        `invalid ${name} glob ${JSON.stringify(g)}: the local folder's absolute path, but globs are read inside it (a leading / is its top), so it matches nothing; write ${JSON.stringify(meant)}`,
    );
  }
}

/** Spellings of the two encodings (folded: lower case, no `-`, `_` or space) that are not their names here. */
const ENCODING_SPELLINGS: Record<string, FtpEncoding> = {
  utf8: 'utf8',
  latin1: 'latin1',
  iso88591: 'latin1',
  iso885915: 'latin1',
  l1: 'latin1',
  cp1252: 'latin1',
  windows1252: 'latin1',
  ansi: 'latin1',
};

/**
 * 'utf8' or 'latin1'; with 'latin1', the names ftpship sends from the options themselves (user, password,
 * server folder, state path, maintenance file) must be ISO 8859-1 text: refused here, before any connection.
 */
function checkEncoding(o: DeployOptions, user: string): FtpEncoding {
  const given: unknown = o.encoding;
  if (given === undefined) return 'utf8';
  if (!FTP_ENCODINGS.includes(given as FtpEncoding)) {
    const meant =
      typeof given === 'string' ? ENCODING_SPELLINGS[given.toLowerCase().replace(/[-_\s]/g, '')] : undefined;
    const none = ` (ftpship has no ${JSON.stringify(given)}; 'latin1' is the nearest, the same bytes but for`;
    const hint =
      meant === undefined
        ? ''
        : /1252|ansi/i.test(given as string)
          ? `${none} € and the other characters cp1252 puts at 0x80-0x9F)`
          : /15$/.test(given as string)
            ? `${none} €, Š, š, Ž, ž, Œ, œ and Ÿ)`
            : ` (did you mean '${meant}'?)`;
    throw ConfigError.about(
      'encoding',
      (name) =>
        `invalid ${name} ${JSON.stringify(given)}; use 'utf8' (the default: UTF-8 names) or 'latin1' (a server that keeps names as ISO 8859-1 bytes)${hint}`,
    );
  }
  const encoding = given as FtpEncoding;
  if (encoding !== 'latin1') return encoding;
  const wide = (text: string): string | undefined => /[^\x00-\xFF]/u.exec(text)?.[0]; // eslint-disable-line no-control-regex
  const code = (ch: string): string => `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
  if (typeof o.password === 'string' && wide(o.password) !== undefined)
    // Never shown, nor the character: say what is wrong with it.
    throw ConfigError.about(
      'encoding',
      (name) =>
        `the password holds a character that ${name} latin1 cannot send (only U+0000 to U+00FF); use the default encoding, utf8, or a password in ISO 8859-1 characters`,
    );
  const sent: Array<[string, string | undefined]> = [
    ['user', user],
    ['server folder', o.remoteDir],
    ['state path', o.statePath],
    ['maintenance file', o.maintenance?.path],
  ];
  for (const [what, value] of sent) {
    const ch = value === undefined ? undefined : wide(value);
    if (ch === undefined) continue;
    throw ConfigError.about(
      'encoding',
      (name) =>
        `the ${what} ${JSON.stringify(value)} holds ${JSON.stringify(ch)} (${code(ch)}), which ${name} latin1 cannot send (only U+0000 to U+00FF): use a name in ISO 8859-1 characters, or the default encoding, utf8`,
    );
  }
  return encoding;
}

/** The maintenance marker's path: a file name inside the target folder (relative, no `..`, no control characters). */
function checkMaintenance(m: DeployOptions['maintenance']): void {
  if (m === undefined) return;
  // A path alone, as the CLI's --maintenance takes it, is the likely mistake: name it and the shape.
  const given: unknown = m; // from JavaScript, anything
  if (given === null || typeof given !== 'object' || Array.isArray(given)) {
    const shown = typeof given === 'string' ? JSON.stringify(given) : String(given);
    const example =
      typeof given === 'string' && isRecordablePath(given) && !given.includes("'") ? given : '.maintenance';
    throw new ConfigError(
      `invalid maintenance ${shown}; give an object: maintenance: { path: '${example}', content } (content is optional)`,
    );
  }
  const p = (m as { path?: unknown }).path;
  // The same rule as every path a state records (it records this one while the marker is up).
  if (typeof p !== 'string' || !isRecordablePath(p)) {
    throw ConfigError.about(
      'maintenance',
      (name) =>
        `invalid ${name} ${JSON.stringify(p)}; give a file path relative to the server folder, such as .maintenance`,
    );
  }
  if (m.content !== undefined && typeof m.content !== 'string')
    throw new ConfigError('the maintenance content must be text');
}

/**
 * A permission mode as `SITE CHMOD` takes it: three or four octal digits, returned without a leading 0
 * (`'0644'` → `'644'`). A number is refused: 644 and 0o644 are different modes, and either could be meant.
 */
function mode(option: 'fileMode' | 'dirMode', value: unknown): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string' || !OCTAL_MODE.test(value)) {
    throw ConfigError.about(
      option,
      (name) =>
        `invalid ${name} ${JSON.stringify(value)}; give the mode as a string of octal digits, such as '644' for files or '755' for folders`,
    );
  }
  const bits = parseInt(value, 8);
  // A folder its owner cannot write to or enter: the next deploy could not upload, rename or delete in it
  // (its mode is set again only after those steps), so the target could never be deployed to again.
  if (option === 'dirMode' && (bits & 0o300) !== 0o300) {
    throw ConfigError.about(
      option,
      (name) =>
        `invalid ${name} ${JSON.stringify(value)}: folders the deploy user cannot write to and enter (owner write and execute, 0300) could not be deployed to again; use e.g. 755`,
    );
  }
  return bits.toString(8).padStart(3, '0');
}

/**
 * The target as a URL for reports: scheme, user, host, port, folder — never the password. Written as the CLI
 * reads a URL, so that it names the same folder when given back: the folder relative to the login folder
 * (`ftp://u@host/public_html`), or absolute after `//` when it is outside the login folder or that is unknown.
 */
export function targetUrl(o: ResolvedOptions, root: string, loginDir?: string): string {
  const scheme = o.secure === 'implicit' ? 'ftps' : o.secure === 'explicit' ? 'ftpes' : 'ftp';
  const defaultPort = o.secure === 'implicit' ? 990 : 21;
  const port = o.port === defaultPort ? '' : `:${o.port}`;
  const user = o.user === 'anonymous' ? '' : `${encodeURIComponent(o.user)}@`;
  const login = loginDir?.replace(/\/+$/, '');
  let folder: string;
  if (login !== undefined && (login === '' || login.startsWith('/')) && atOrUnder(root, login))
    folder = root.slice(login.length).replace(/^\/?/, '/');
  else folder = root === '/' ? '//' : `/${root}`;
  return `${scheme}://${user}${bracketed(o.host)}${port}${encodeURI(folder).replace(/[#?]/g, encodeURIComponent)}`;
}

/** A host as it goes before `:port` in a URL or a message: an IPv6 literal in brackets (RFC 3986). */
export function bracketed(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * Does `host` hold only what a server name or address holds: letters (an IDN's too), digits, `.`, `-`, `_`,
 * and an IPv6 literal's `:`, brackets and zone `%`?
 */
export function hostSyntax(host: string): boolean {
  return (
    /^[\p{L}\p{N}._-]+$/u.test(host) ||
    /^\[?[0-9a-f:.]*:[0-9a-f:.]*(?:%[\w.-]+)?\]?$/i.test(host) ||
    /^\[[0-9a-f:.]*:[0-9a-f:.]*\]:\d+$/i.test(host) // with a port, as a URL writes it: said to give that apart
  );
}

/**
 * Does `host` look like a server's address as people write one: localhost, an IPv4 address, or a dotted
 * name ending in letters (ftp.example.com)? A value that does not may be a password typed in its place:
 * messages then leave it out.
 */
export function looksLikeHostName(host: string): boolean {
  return /^(?:localhost|\d{1,3}(?:\.\d{1,3}){3}|(?:[\p{L}\p{N}](?:[\p{L}\p{N}_-]*[\p{L}\p{N}])?\.)+\p{L}{2,}\.?)$/iu.test(
    host,
  );
}

/** `user@host:port/folder` (any part but the host left out) around a host name: a value safe to show. */
export function holdsHostName(text: string): boolean {
  const m = /^(?:[^\s@/]+@)?([^\s@/:]+)(?::\d*)?(?:\/\S*)?$/u.exec(text.trim());
  return m !== null && looksLikeHostName(m[1]);
}

/** The host of `user@host:port/folder` (after the last `@`, up to a port or folder): a password may hold `@`. */
export function hostAfterUser(text: string): string {
  return text.slice(text.lastIndexOf('@') + 1).split(/[:/]/)[0];
}

/**
 * A URL given where a folder on the server goes: shown without its user, password and host (`ftp://…/site`),
 * and the folder meant, read as the CLI reads a URL's path (relative to the login folder; '' for that folder).
 */
export function urlAsFolder(value: string): { shown: string; folder: string } | undefined {
  const m = /^([a-z][a-z0-9+.-]*):\/\/(?:.*@)?[^/@]*(.*)$/i.exec(value);
  return m ? { shown: `${m[1]}://…${m[2]}`, folder: m[2].replace(/^\//, '') } : undefined;
}

/** A glob in Unicode NFC, the form local and state paths are matched in. */
const nfc = (glob: string): string => glob.normalize('NFC');
