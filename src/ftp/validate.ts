/**
 * Checks of the caller's arguments, made before anything is sent: each throws FtpArgumentError naming the
 * value and what to give instead, and leaves the client usable.
 */
import { Readable, type Writable } from 'node:stream';
import type { DeployOptions } from '../engine/options.js';
import type { FtpConnectOptions } from './client.js';
import type { FtpTlsOptions } from './connection.js';
import { FtpArgumentError } from './errors.js';
import { fingerprintProblem } from './pin.js';
import type { FileSource } from './transfer.js';

/** setTimeout's limit: a longer delay fires after 1 ms (with a TimeoutOverflowWarning). */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** The connection settings of FtpClient.connect, checked before connecting. */
export function checkConnectOptions(o: {
  host?: unknown;
  port?: unknown;
  secure?: unknown;
  timeoutMs?: unknown;
  tls?: unknown;
  encoding?: unknown;
}): void {
  checkOptionNames(o as Record<string, unknown>);
  if (typeof o.host !== 'string' || o.host.trim() === '')
    throw new FtpArgumentError(`invalid host ${show(o.host)}; give a host name or IP address`);
  checkSecure(o.secure);
  const port = o.port;
  if (port !== undefined && !(Number.isInteger(port) && (port as number) >= 1 && (port as number) <= 65535))
    throw new FtpArgumentError(
      `invalid port ${show(port)}; give a whole number from 1 to 65535, or leave it out`,
    );
  const t = o.timeoutMs;
  if (t !== undefined && !(typeof t === 'number' && t > 0 && t <= MAX_TIMEOUT_MS))
    throw new FtpArgumentError(
      `invalid timeoutMs ${show(t)}; give milliseconds from 1 to ${MAX_TIMEOUT_MS}, or leave it out (30000)`,
    );
  const tls = o.tls as { fingerprint?: unknown; rejectUnauthorized?: unknown } | undefined;
  const pin = fingerprintProblem(tls?.fingerprint, {
    name: 'tls.fingerprint',
    insecure: 'rejectUnauthorized: false',
    secure: !!o.secure,
    rejectUnauthorized: tls?.rejectUnauthorized,
  });
  if (pin) throw new FtpArgumentError(pin);
  checkOptionTypes(o as Record<string, unknown>);
  checkLogin(o as Record<string, unknown>);
  if (tls !== undefined) checkTlsTypes(tls as Record<string, unknown>);
  if (o.encoding !== undefined && o.encoding !== 'utf8' && o.encoding !== 'latin1')
    throw new FtpArgumentError(
      `invalid encoding ${show(o.encoding)}; give 'utf8' (the default) or 'latin1' (a server whose names are ISO 8859-1 bytes)`,
    );
}

/** Every option of FtpClient.connect(), typed: one added there and not here fails `tsc`. */
const CONNECT_KEYS: Record<keyof FtpConnectOptions, true> = {
  host: true,
  port: true,
  user: true,
  password: true,
  account: true,
  secure: true,
  tls: true,
  passive: true,
  pipelining: true,
  readAtLogin: true,
  timeoutMs: true,
  log: true,
  socketFactory: true,
  maxListingBytes: true,
  maxListingEntries: true,
  maxReplyBytes: true,
  encoding: true,
};
const CONNECT_NAMES = Object.keys(CONNECT_KEYS);

/**
 * deploy()'s own options that connect() does not take: passed over, so one settings object may serve both (the
 * names they share mean the same). Typed: an option added to deploy() and not here fails `tsc`.
 */
const DEPLOY_ONLY: Record<Exclude<keyof DeployOptions, keyof FtpConnectOptions>, true> = {
  localDir: true,
  files: true,
  active: true,
  remoteDir: true,
  dryRun: true,
  parallel: true,
  exclude: true,
  replaceDefaultExcludes: true,
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
  retries: true,
  resetState: true,
  verify: true,
  adopt: true,
  uploadOnly: true,
  retryDelayMs: true,
  staleLockMs: true,
  signal: true,
};

/** The keys of `tls`, typed as above (the engine's option check uses them too). */
export const TLS_KEYS: Record<keyof FtpTlsOptions, true> = {
  ca: true,
  rejectUnauthorized: true,
  servername: true,
  maxVersion: true,
  fingerprint: true,
};
export const TLS_NAMES = Object.keys(TLS_KEYS);

/**
 * An unknown option name is refused, never ignored: a misspelt `secrue: 'explicit'` logged in in plain FTP (the
 * password in clear), `pasive: false` stayed passive, `timout` waited 30 s. So inside `tls` (`fingerprnt` pinned
 * nothing). deploy()'s options are passed over (see DEPLOY_ONLY), but `active: true`, deploy()'s name for active
 * mode, is refused unless `passive: false` says the same: connect() would have stayed passive.
 */
function checkOptionNames(o: Record<string, unknown>): void {
  if (o === null || typeof o !== 'object')
    throw new FtpArgumentError(`invalid options ${show(o)}; give an object such as { host, user, password }`);
  for (const key of Object.keys(o)) {
    if (Object.hasOwn(CONNECT_KEYS, key)) continue;
    if (Object.hasOwn(DEPLOY_ONLY, key)) {
      if (key === 'active' && o.active === true && o.passive !== false)
        throw new FtpArgumentError(
          'active: true is the name deploy() takes; connect() takes passive: false for active mode (EPRT/PORT)',
        );
      continue;
    }
    throw new FtpArgumentError(unknownName(key, CONNECT_NAMES, ''));
  }
  const tls = o.tls;
  if (tls === undefined) return;
  if (tls === null || typeof tls !== 'object' || Array.isArray(tls))
    throw new FtpArgumentError(`invalid tls ${show(tls)}; give an object such as { ca, servername }`);
  const wrong = Object.keys(tls).find((k) => !Object.hasOwn(TLS_KEYS, k));
  if (wrong === 'minVersion')
    throw new FtpArgumentError(
      "unknown option tls.minVersion; the client takes no minimum TLS version (Node's default, TLSv1.2, applies): remove it",
    );
  if (wrong !== undefined) throw new FtpArgumentError(unknownName(wrong, TLS_NAMES, 'tls.'));
  // TLS settings with no word of TLS: plain FTP would be taken, the password in clear. `secure: false` says so.
  if (o.secure === undefined && Object.values(tls).some((v) => v !== undefined))
    throw new FtpArgumentError(
      "tls is given but secure is not, so the login would be plain FTP (the password in clear): add secure: 'explicit' (AUTH TLS, usually port 21) or 'implicit' (usually port 990), or secure: false for plain FTP",
    );
}

/** "unknown option X; did you mean Y?", or the list of the options when none is close. */
function unknownName(key: string, known: string[], prefix: string): string {
  const near = closest(key, known);
  const what = `unknown option ${prefix}${/^[\w$]+$/.test(key) ? key : JSON.stringify(key)}`;
  return near
    ? `${what}; did you mean ${prefix}${near}?`
    : `${what}; connect() takes ${known.map((k) => prefix + k).join(', ')}`;
}

/** Other tools' names (folded) for connect()'s options. */
const ALIASES: Record<string, string> = {
  server: 'host',
  hostname: 'host',
  username: 'user',
  login: 'user',
  pass: 'password',
  protocol: 'secure',
  ssl: 'secure',
  ftps: 'secure',
  timeout: 'timeoutMs',
  conntimeout: 'timeoutMs',
  secureoptions: 'tls',
  rejectunauthorised: 'rejectUnauthorized',
};

/** The known name `key` most likely meant: a few typos away, case, dashes and underscores aside; or its start. */
function closest(key: string, known: string[]): string | undefined {
  const fold = (s: string): string => s.toLowerCase().replace(/[-_\s]/g, '');
  const k = fold(key);
  if (Object.hasOwn(ALIASES, k) && known.includes(ALIASES[k])) return ALIASES[k];
  let best: { name: string; d: number } | undefined;
  for (const name of known) {
    const n = fold(name);
    // `timeout` (or `timout`) for timeoutMs: the name without its unit.
    const d = Math.min(
      editDistance(k, n),
      k.length >= 4 && n.startsWith(k) ? 1 : Infinity,
      editDistance(k, n.replace(/ms$/, '')),
    );
    if (d <= (k.length <= 4 ? 1 : k.length <= 8 ? 2 : 3) && (!best || d < best.d)) best = { name, d };
  }
  return best?.name;
}

/**
 * Edits (insert, delete, substitute, swap two neighbours) that turn `a` into `b`: optimal string alignment. For
 * the "did you mean" of misspelt names, here and in the engine's option check.
 */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.length][b.length];
}

/**
 * What some options of FtpClient.connect() must be; the others are checked apart, or anything goes (user and
 * password are sent as text, a number too).
 */
const OPTION_KINDS: Record<string, 'boolean' | 'function' | 'count'> = {
  passive: 'boolean',
  pipelining: 'boolean',
  log: 'function',
  socketFactory: 'function',
  maxListingBytes: 'count',
  maxListingEntries: 'count',
  maxReplyBytes: 'count',
};

/**
 * A mistyped option (`pipelining: 'false'`, `passive: 'false'`, `maxListingBytes: '1e6'`) did the opposite of what
 * was asked, or nothing: refused, by name.
 */
function checkOptionTypes(o: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(o)) {
    // Other names are checked apart (checkOptionNames), deploy()'s passed over.
    if (value === undefined || !Object.hasOwn(OPTION_KINDS, key)) continue;
    const kind = OPTION_KINDS[key];
    const shown = show(value);
    if (kind === 'count' ? !(Number.isSafeInteger(value) && (value as number) > 0) : typeof value !== kind)
      throw new FtpArgumentError(
        `invalid ${key} ${shown}; give ${kind === 'count' ? 'a whole number above 0' : `a ${kind}`}, or leave it out`,
      );
  }
  const first = o.readAtLogin as { path?: unknown; max?: unknown } | undefined;
  if (
    first !== undefined &&
    (typeof first !== 'object' ||
      first === null ||
      typeof first.path !== 'string' ||
      !(Number.isSafeInteger(first.max) && (first.max as number) >= 0))
  )
    throw new FtpArgumentError(
      `invalid readAtLogin ${show(first)}; give { path: string, max: a whole number of bytes }, or leave it out`,
    );
  // An empty path went out as a bare `RETR ` with the login (every other call refuses one); CR, LF or NUL in
  // it were only found when the read came, after the login had been sent.
  if (first?.path === '')
    throw new FtpArgumentError(
      'invalid readAtLogin.path "", which names nothing; give the remote path of the file to read with the login, or leave readAtLogin out',
    );
  if (first !== undefined) checkLineBreaks(first.path as string, 'connect()', 'readAtLogin.path');
}

/**
 * The login's words are strings. Another kind hung the login until the timeout ("gave no reply to USER and
 * PASS": the command could not be written), saying nothing of the value. The password and the account are named
 * by their kind alone, never shown.
 */
function checkLogin(o: Record<string, unknown>): void {
  if (o.user !== undefined && typeof o.user !== 'string')
    throw new FtpArgumentError(
      `invalid user ${show(o.user)}; give the user name as a string, or leave it out (anonymous)`,
    );
  for (const key of ['password', 'account']) {
    const value = o[key];
    if (value === undefined || typeof value === 'string') continue;
    const kind = Buffer.isBuffer(value) ? 'a Buffer' : value === null ? 'null' : typeof value;
    throw new FtpArgumentError(`invalid ${key} (${kind}); give it as a string, or leave it out`);
  }
}

const TLS_VERSIONS = ['TLSv1.3', 'TLSv1.2', 'TLSv1.1', 'TLSv1'];

/**
 * The `tls` settings of the wrong kind: Node's own TypeError ('The "options.ca" property must be …') named
 * neither the option nor what to give, and `rejectUnauthorized: 'false'` still verified the certificate.
 */
function checkTlsTypes(t: Record<string, unknown>): void {
  const pem = (v: unknown): boolean => typeof v === 'string' || Buffer.isBuffer(v);
  if (t.ca !== undefined && !(pem(t.ca) || (Array.isArray(t.ca) && t.ca.every(pem))))
    throw new FtpArgumentError(
      `invalid tls.ca ${show(t.ca)}; give the CA certificate's PEM text (a string or a Buffer, or a list of them), or leave it out`,
    );
  if (t.servername !== undefined && (typeof t.servername !== 'string' || t.servername === ''))
    throw new FtpArgumentError(
      `invalid tls.servername ${show(t.servername)}; give the name on the certificate as a string, or leave it out (the host)`,
    );
  if (t.maxVersion !== undefined && !TLS_VERSIONS.includes(t.maxVersion as string))
    throw new FtpArgumentError(
      `invalid tls.maxVersion ${show(t.maxVersion)}; give 'TLSv1.3', 'TLSv1.2', 'TLSv1.1' or 'TLSv1', or leave it out`,
    );
  if (t.rejectUnauthorized !== undefined && typeof t.rejectUnauthorized !== 'boolean')
    throw new FtpArgumentError(
      `invalid tls.rejectUnauthorized ${show(t.rejectUnauthorized)}; give true or false${typeof t.rejectUnauthorized === 'string' ? ' (a string such as "false" would count as true)' : ''}, or leave it out`,
    );
}

/** Only false/undefined mean plain FTP: anything else that is not a TLS mode must not connect in clear (G5). */
function checkSecure(secure: unknown): void {
  if (secure === undefined || secure === false || secure === 'explicit' || secure === 'implicit') return;
  const why = secure === true ? ': true is ambiguous' : '';
  throw new FtpArgumentError(
    `invalid secure ${show(secure)}${why}; use 'explicit' (AUTH TLS on the FTP port, usually 21) or 'implicit' (TLS from the first byte, usually port 990), or false for plain FTP`,
  );
}

/**
 * A remote path: a string. From JavaScript, `undefined` (a missing setting) would otherwise be sent as a file
 * named "undefined" (`DELE undefined`). `optional`: undefined and null mean none (list, nlst).
 */
export function checkPath(path: unknown, name = 'path', optional = false): void {
  if (typeof path === 'string' || (optional && (path === undefined || path === null))) return;
  throw new FtpArgumentError(`invalid ${name} ${show(path)}; give the remote path as a string`);
}

/**
 * A remote path a call acts on: a string (see {@link checkPath}) that names something. Empty, it went out as a
 * bare command (`RMD `, `DELE `, `CWD `): vsftpd answered "550 Remove directory operation failed.", proftpd "501
 * Invalid number of parameters" (RETR, STOR: "500 'RETR' not understood"), and pure-ftpd's `CWD ` went to the
 * home folder (250), where later relative paths then acted. Refused, naming the call (`call`, such as 'rmd()')
 * and what to give (`give`).
 * CR, LF or NUL in it (a line break ends one command and starts another) are refused here too, naming the call.
 */
export function checkTargetPath(path: unknown, call: string, give: string, name = 'path'): void {
  checkPath(path, name);
  if (path === '')
    throw new FtpArgumentError(`${call} was given an empty ${name}, which names nothing; give ${give}`);
  checkLineBreaks(path as string, call, name);
}

/**
 * CR, LF or NUL in a path given to `call`: refused before anything is sent (G7: `delete('a\r\nDELE b')` would be
 * two commands). The connection refuses such a command too, but only when its turn comes, naming the command
 * (a call that looks first, such as nlst(), had sent its PWD by then).
 */
export function checkLineBreaks(path: string | undefined | null, call: string, name = 'path'): void {
  if (typeof path !== 'string' || !/[\r\n\0]/.test(path)) return;
  throw new FtpArgumentError(
    `invalid ${name} ${show(path)} for ${call}: it holds CR, LF or NUL, which a path cannot (a line break ends an FTP command and starts another); nothing was sent`,
  );
}

/** A resume offset: a whole number of bytes, 0 or more (NaN, -5 or 2.5 must never reach REST). */
export function checkOffset(offset: unknown, name = 'offset'): void {
  if (offset === undefined) return;
  if (!Number.isSafeInteger(offset) || (offset as number) < 0)
    throw new FtpArgumentError(`invalid ${name} ${show(offset)}; give a whole number of bytes, 0 or more`);
}

/** What upload() sends: a Buffer, a Readable (or any async iterable of Buffers), or a FileSource. */
export function checkSource(source: unknown): asserts source is Readable | Buffer | FileSource {
  if (Buffer.isBuffer(source)) return;
  if (source instanceof Readable) {
    // Its bytes were read already (an upload tried again with the same stream): it would upload nothing,
    // and the STOR would truncate the remote file to 0 bytes.
    const state = source.errored
      ? 'failed'
      : source.readableEnded
        ? 'ended'
        : source.destroyed
          ? 'destroyed'
          : undefined;
    if (state)
      throw new FtpArgumentError(
        `the upload's stream is already ${state}, with nothing more to give (the remote file would be made empty); pass a new stream, a Buffer or { path } of a local file`,
      );
    return;
  }
  if (source !== null && typeof source === 'object') {
    if (Symbol.asyncIterator in source) return;
    const file = source as Partial<FileSource>;
    if (typeof file.path === 'string' && file.path !== '') {
      checkOffset(file.start, 'start');
      if (file.fd !== undefined && !(Number.isInteger(file.fd) && file.fd >= 0))
        throw new FtpArgumentError(
          `invalid fd ${show(file.fd)}; give an open file descriptor, or leave it out`,
        );
      return;
    }
  }
  const hint =
    typeof source === 'string'
      ? `; to send the local file ${show(source)}, pass { path: ${show(source)} }`
      : '';
  throw new FtpArgumentError(
    `upload needs a source: a Buffer, a Readable stream or { path } of a local file, not ${show(source)}${hint}`,
  );
}

/** A download's sink must still take bytes: an ended or destroyed one never drains, and the download would hang. */
export function checkSink(sink: unknown): asserts sink is Writable {
  const w = sink as Partial<Writable> | null | undefined;
  if (!w || typeof w.write !== 'function' || typeof w.on !== 'function')
    throw new FtpArgumentError(`download needs a writable stream to write into, not ${show(sink)}`);
  if (w.destroyed || w.writableEnded)
    throw new FtpArgumentError(
      `the download's stream is already ${w.destroyed ? 'destroyed' : 'ended'}; pass a writable stream that is still open`,
    );
}

/** A value for an error message: strings quoted, objects by their kind, never more than 60 characters. */
function show(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (Buffer.isBuffer(value)) return 'a Buffer';
  if (typeof value === 'function') return 'a function';
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? 'an array' : `an object (${value.constructor?.name ?? 'no prototype'})`;
}
