/**
 * Pure parser for FTP control replies (RFC 959 section 4.2).
 *
 * A reply is one line `ddd text`, or several lines: the first `ddd-text`, the last `ddd text` with the same
 * code. Lines in between may be free text or start with `ddd-` (both forms are in RFC 959).
 */
import { FtpProtocolError } from './errors.js';

/** One complete control reply. */
export interface FtpReply {
  /** Three-digit reply code. */
  code: number;
  /** Reply text without the code; lines of a multiline reply joined with `\n`. */
  message: string;
}

/** What {@link parseReplies} returns. */
export interface ParsedReplies {
  /** The complete replies found, in order. */
  replies: FtpReply[];
  /** Unconsumed text: the start of a reply still incomplete. */
  rest: string;
}

/** basic-ftp 5.3 caps a reply at 64 KiB; a hostile server could otherwise grow our buffer forever. */
export const DEFAULT_MAX_REPLY_BYTES = 64 * 1024;

/** A reply's first line: a code whose first digit is 1–5 (RFC 959 4.2), then space, hyphen or nothing. */
const FIRST_LINE = /^([1-5]\d{2})(?:([ -])(.*))?$/s;

/**
 * Splits buffered control-connection text into complete replies and the unconsumed rest.
 * Throws FtpProtocolError on a line that is not a reply, and when one reply (complete or not) exceeds
 * `maxReplyBytes` characters.
 */
export function parseReplies(text: string, maxReplyBytes = DEFAULT_MAX_REPLY_BYTES): ParsedReplies {
  const replies: FtpReply[] = [];
  let start = 0;
  let pos = 0;
  let code: string | undefined;
  let lines: string[] = [];
  for (;;) {
    const nl = text.indexOf('\n', pos);
    if (nl === -1) break;
    const line = text.slice(pos, nl).replace(/\r$/, '');
    pos = nl + 1;
    if (pos - start > maxReplyBytes) throw tooLong(maxReplyBytes);
    if (code === undefined) {
      const m = FIRST_LINE.exec(line);
      if (!m)
        throw new FtpProtocolError(`malformed reply line from server: ${JSON.stringify(line.slice(0, 80))}`);
      if (m[2] === '-') {
        code = m[1];
        lines = [m[3] ?? ''];
        continue;
      }
      replies.push({ code: Number(m[1]), message: m[3] ?? '' });
      start = pos;
      continue;
    }
    if (line === code || line.startsWith(`${code} `)) {
      lines.push(line.slice(4));
      replies.push({ code: Number(code), message: lines.join('\n') });
      code = undefined;
      start = pos;
      continue;
    }
    lines.push(line.startsWith(`${code}-`) ? line.slice(4) : line);
  }
  const rest = text.slice(start);
  if (rest.length > maxReplyBytes) throw tooLong(maxReplyBytes);
  return { replies, rest };
}

function tooLong(max: number): FtpProtocolError {
  return new FtpProtocolError(`server reply longer than ${max} bytes; refusing to buffer more`);
}

/** Named reply codes used by the client (RFC 959 4.2.2, RFC 2428, RFC 4217). */
export const ReplyCode = {
  RestartMarker: 110,
  DataConnectionOpen: 125,
  AboutToOpenData: 150,
  Ok: 200,
  FileStatus: 213,
  Ready: 220,
  ClosingData: 226,
  EnteringPassive: 227,
  EnteringExtendedPassive: 229,
  LoggedIn: 230,
  AuthOk: 234,
  FileActionOk: 250,
  PathCreated: 257,
  NeedPassword: 331,
  NeedAccount: 332,
  PendingFurtherInfo: 350,
  ServiceNotAvailable: 421,
  CannotOpenData: 425,
  TransferAborted: 426,
  NotLoggedIn: 530,
  FileUnavailable: 550,
} as const;

/** 1xx: the command was accepted and another reply will follow. */
export const isPreliminary = (code: number): boolean => code >= 100 && code < 200;
/** 2xx: the command succeeded. */
export const isPositiveCompletion = (code: number): boolean => code >= 200 && code < 300;
/** 3xx: the command was accepted and the server waits for the next one (PASS, RNTO, STOR after REST). */
export const isPositiveIntermediate = (code: number): boolean => code >= 300 && code < 400;

/** Does `code` match the expectation prefix? 2 = any 2xx, 35 = 350–359, 350 = exactly 350 (STYLE practice 2). */
export function matchesExpect(code: number, expect: number | readonly number[]): boolean {
  const list = typeof expect === 'number' ? [expect] : expect;
  const text = String(code);
  return list.some((e) => text.startsWith(String(e)));
}
