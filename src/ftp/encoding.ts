/**
 * How names travel between strings and bytes, on the control connection and in listings (ftplib's `encoding`).
 * FTP sends paths as bytes; a server's names need not be UTF-8 (a file uploaded from an old Windows tool holds
 * latin1 bytes such as 0xE9 for é).
 * - 'utf8' (the default, RFC 2640): a byte that is not part of valid UTF-8 becomes a lone surrogate U+DC80–U+DCFF
 *   (Python's `surrogateescape`) when read, and that byte again when sent. So a name from a listing names the
 *   very file it was read from: with U+FFFD instead, `caf\xE9.txt` came back as `caf�.txt`, and a DELE of it
 *   named another file (one whose name holds the three bytes of U+FFFD), or none.
 * - 'latin1': one byte is one character U+0000–U+00FF, both ways; a character above U+00FF cannot be sent.
 */
import { isUtf8 } from 'node:buffer';
import { FtpArgumentError } from './errors.js';

export type FtpEncoding = 'utf8' | 'latin1';

export const FTP_ENCODINGS: readonly FtpEncoding[] = ['utf8', 'latin1'];

/** A lone low surrogate that stands for one byte (not one half of a pair). */
const ESCAPED_BYTE = /(?<![\uD800-\uDBFF])[\uDC80-\uDCFF]/;

/**
 * Characters that reorder or hide the text around them (bidirectional controls and marks, zero-width space,
 * byte order mark): `invoice\u202Etxt.exe` reads as `invoiceexe.txt`, so a name in a pull request's dry run
 * could pass for another. Zero-width joiners (emoji sequences, Persian script) stay.
 */
const HIDING = /[\u061C\u200B\u200E\u200F\u202A-\u202E\u2066-\u2069\uFEFF]/;

/**
 * Text for a person to read: each lone surrogate that stands for a byte ({@link decodeText}) as `\xNN`, that
 * byte. Written out as UTF-8 it would be U+FFFD `�`, and `caf\xE9.txt`, `caf\xE8.txt` and a name that really
 * holds U+FFFD would all show as `caf�.txt`. Each character that reorders or hides text ({@link HIDING}) as
 * `\uNNNN`. (Machine output, such as JSON, keeps the text as it is.)
 */
export function showBytes(text: string): string {
  let out = text;
  if (ESCAPED_BYTE.test(out))
    out = out.replace(
      new RegExp(ESCAPED_BYTE.source, 'g'),
      (c) => `\\x${(c.charCodeAt(0) - 0xdc00).toString(16)}`,
    );
  if (HIDING.test(out))
    out = out.replace(
      new RegExp(HIDING.source, 'g'),
      (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`,
    );
  return out;
}

/** Bytes read from the server as text. */
export function decodeText(bytes: Buffer, encoding: FtpEncoding = 'utf8'): string {
  if (encoding === 'latin1') return bytes.toString('latin1');
  if (isUtf8(bytes)) return bytes.toString('utf8');
  let out = '';
  let start = 0; // of the valid run not yet added
  let i = 0;
  while (i < bytes.length) {
    const n = utf8SequenceLength(bytes, i);
    if (n > 0) {
      i += n;
      continue;
    }
    out += bytes.toString('utf8', start, i) + String.fromCharCode(0xdc00 + bytes[i]);
    start = ++i;
  }
  return out + bytes.toString('utf8', start, i);
}

/**
 * Text as the bytes sent to the server. 'utf8': a lone U+DC80–U+DCFF is the byte it was read from. 'latin1': a
 * character above U+00FF is an FtpArgumentError (nothing is sent) naming it, and `shown` (what to call the
 * text; a command with a password is `PASS ***`, and then the character is not named either).
 */
export function encodeText(text: string, encoding: FtpEncoding = 'utf8', shown = text): Buffer {
  if (encoding === 'latin1') {
    const wide = /[^\x00-\xFF]/.exec(text); // eslint-disable-line no-control-regex
    if (wide) {
      const code = `U+${wide[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
      const which = shown === text ? `${JSON.stringify(wide[0])} (${code}) in ` : '';
      throw new FtpArgumentError(
        `cannot send ${which}${JSON.stringify(shown.slice(0, 200))} with encoding 'latin1', which has only U+0000 ` +
          `to U+00FF: connect with encoding 'utf8' for such names`,
      );
    }
    return Buffer.from(text, 'latin1');
  }
  if (!ESCAPED_BYTE.test(text)) return Buffer.from(text, 'utf8');
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const prev = i > 0 ? text.charCodeAt(i - 1) : 0;
    if (c >= 0xdc80 && c <= 0xdcff && !(prev >= 0xd800 && prev <= 0xdbff)) {
      parts.push(Buffer.from(text.slice(start, i), 'utf8'), Buffer.from([c - 0xdc00]));
      start = i + 1;
    }
  }
  parts.push(Buffer.from(text.slice(start), 'utf8'));
  return Buffer.concat(parts);
}

/** The length of the valid UTF-8 sequence at `i` (RFC 3629: no overlong form, no surrogate), or 0. */
function utf8SequenceLength(b: Buffer, i: number): number {
  const c = b[i];
  if (c < 0x80) return 1;
  const cont = (k: number): boolean => i + k < b.length && (b[i + k] & 0xc0) === 0x80;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    if (!cont(1) || !cont(2)) return 0;
    const c1 = b[i + 1];
    if ((c === 0xe0 && c1 < 0xa0) || (c === 0xed && c1 >= 0xa0)) return 0;
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    const c1 = b[i + 1];
    if ((c === 0xf0 && c1 < 0x90) || (c === 0xf4 && c1 >= 0x90)) return 0;
    return 4;
  }
  return 0;
}
