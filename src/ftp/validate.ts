/**
 * Checks of the caller's arguments, made before anything is sent: each throws FtpArgumentError naming the
 * value and what to give instead, and leaves the client usable.
 */
import { Readable, type Writable } from 'node:stream';
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
  if (o.encoding !== undefined && o.encoding !== 'utf8' && o.encoding !== 'latin1')
    throw new FtpArgumentError(
      `invalid encoding ${show(o.encoding)}; give 'utf8' (the default) or 'latin1' (a server whose names are ISO 8859-1 bytes)`,
    );
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
    // Other keys are left alone: a deploy()'s options (localDir, remoteDir…) may be passed as they are.
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
