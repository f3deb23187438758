/**
 * Issue 9 item 3: property tests (fast-check) of everything that reads untrusted or user text — the reply
 * parser, PASV/EPSV, the listing parsers (unix, DOS, MLSD), URL parsing and path normalisation: no crash
 * but the documented error class, no hang (each call is timed), no name or path escaping the target dir.
 * Runs are bounded (numRuns 200–500) so the file takes a few seconds.
 */
import crypto from 'node:crypto';
import net from 'node:net';
import path from 'node:path/posix';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { FtpConnection } from '../src/ftp/connection.js';
import { decodeText, type FtpEncoding } from '../src/ftp/encoding.js';
import { FtpProtocolError } from '../src/ftp/errors.js';
import { parseReplies, type FtpReply } from '../src/ftp/reply.js';
import { parseEpsv, parsePasv } from '../src/ftp/pasv.js';
import {
  dosFormat,
  isSafeName,
  mlsdFormat,
  parseListing,
  parseMlsdTime,
  unixFormat,
} from '../src/ftp/list.js';
import { parseTarget } from '../src/url.js';
import { ConfigError } from '../src/engine/errors.js';
import { planChanges, tempPathFor, type PlanOptions } from '../src/engine/plan.js';
import { treeFromFiles, type LocalFile } from '../src/engine/select.js';
import { emptyState } from '../src/engine/state.js';
import {
  byDepthThenName,
  depthOf,
  parentOf,
  isSafeRelPath,
  normalizeRemoteDir,
  remoteJoin,
} from '../src/engine/paths.js';

const RUNS = { numRuns: 300 };

/** Runs `fn`, expecting either a value or an error of class `allowed`; fails on anything else or when slow. */
function bounded<T>(fn: () => T, allowed: new (...a: never[]) => Error, maxMs = 200): T | Error {
  const t = performance.now();
  let out: T | Error;
  try {
    out = fn();
  } catch (err) {
    if (!(err instanceof allowed)) throw err;
    out = err;
  }
  const ms = performance.now() - t;
  if (ms > maxMs) throw new Error(`took ${ms.toFixed(0)} ms (hang?)`);
  return out;
}

/** Text biased towards what parsers care about: digits, spaces, separators, CR/LF, NUL, slashes, dots. */
const protocolChar = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(' ', '\r', '\n', '-', '\t', '0', '1', '2', '5', '9') },
  { weight: 2, arbitrary: fc.constantFrom('/', '\\', '.', '..', '\0', ',', '(', ')', '|', ';', '=', ':') },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
);
const protocolText = (maxLength = 200): fc.Arbitrary<string> =>
  fc.array(protocolChar, { maxLength }).map((a) => a.join(''));

/** Splits `text` at the given (sorted, deduplicated) cut points. */
function chunk(text: string, cuts: number[]): string[] {
  const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
  const out: string[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(text.slice(prev, p));
    prev = p;
  }
  out.push(text.slice(prev));
  return out;
}

/** What a connection does: append each chunk, parse, keep the rest. */
function parseChunked(chunks: string[], max: number): { replies: FtpReply[]; rest: string } {
  const replies: FtpReply[] = [];
  let buffer = '';
  for (const c of chunks) {
    buffer += c;
    const r = parseReplies(buffer, max);
    replies.push(...r.replies);
    buffer = r.rest;
  }
  return { replies, rest: buffer };
}

/** Well-formed replies (single and multiline, RFC 959 both styles), to check chunking on valid streams. */
const replyArb = fc
  .record({
    code: fc.integer({ min: 100, max: 599 }),
    lines: fc.array(
      fc.string({ unit: fc.constantFrom('a', ' ', '-', '1', '2', 'é', '\r', ':'), maxLength: 20 }),
      {
        minLength: 1,
        maxLength: 4,
      },
    ),
    crlf: fc.boolean(),
  })
  .map(({ code, lines, crlf }) => {
    const eol = crlf ? '\r\n' : '\n';
    const clean = lines.map((l) => l.replace(/\r/g, ''));
    if (clean.length === 1) return `${code} ${clean[0]}${eol}`;
    const middle = clean.slice(1, -1).map((l) => (l.startsWith(`${code}`) ? ` ${l}` : l));
    return [`${code}-${clean[0]}`, ...middle, `${code} ${clean[clean.length - 1]}`].join(eol) + eol;
  });

describe('reply parser (parseReplies)', () => {
  it('any text, any chunking: only FtpProtocolError, fast, and chunked parsing equals whole parsing', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          protocolText(),
          fc.array(replyArb, { maxLength: 5 }).map((r) => r.join('')),
          fc
            .tuple(fc.array(replyArb, { maxLength: 3 }), protocolText(40))
            .map(([r, junk]) => r.join('') + junk),
        ),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.constantFrom(16, 64, 64 * 1024),
        (text, cuts, max) => {
          const whole = bounded(() => parseReplies(text, max), FtpProtocolError);
          const chunked = bounded(() => parseChunked(chunk(text, cuts), max), FtpProtocolError);
          if (whole instanceof Error) expect(chunked).toBeInstanceOf(FtpProtocolError);
          else {
            expect(chunked).not.toBeInstanceOf(Error);
            expect(chunked).toEqual(whole);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('well-formed replies round-trip: as many replies as were sent, codes in order, nothing left over', () => {
    fc.assert(
      fc.property(fc.array(replyArb, { minLength: 1, maxLength: 6 }), fc.array(fc.nat()), (rs, cuts) => {
        const out = parseChunked(chunk(rs.join(''), cuts), 64 * 1024);
        expect(out.rest).toBe('');
        expect(out.replies.map((r) => r.code)).toEqual(rs.map((r) => Number(r.slice(0, 3))));
      }),
      RUNS,
    );
  });

  it('a reply growing past the cap is refused however it is chunked (bounded memory)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(fc.nat()), (parts, cuts) => {
        const text = `220-${'x'.repeat(100 * parts)}\n${'y'.repeat(100)}`;
        expect(() => parseChunked(chunk(text, cuts), 64)).toThrow(FtpProtocolError);
      }),
      { numRuns: 200 },
    );
  });
});

/**
 * What an FtpConnection reads from `bytes` arriving in the given chunks: its replies, in order, and the error
 * it closed with, if any. The chunks are the socket's own 'data' events (no server, no timing).
 */
async function readFromSocket(
  chunks: Buffer[],
  max: number,
  encoding: FtpEncoding,
): Promise<{ replies: FtpReply[]; error?: Error }> {
  const socket = new net.Socket();
  const conn = new FtpConnection(socket, 'peer', 1000, undefined, max, undefined, encoding);
  for (const c of chunks) socket.emit('data', c);
  const replies: FtpReply[] = [];
  for (;;) {
    // Replies are queued by now; once the queue is empty, a closed connection fails at once.
    if (!conn.closed && (conn as unknown as { queue: FtpReply[] }).queue.length === 0) break;
    try {
      replies.push(await conn.readReply());
    } catch (err) {
      conn.close();
      socket.destroy();
      return { replies, error: (err as { cause?: Error }).cause ?? (err as Error) };
    }
  }
  conn.close();
  socket.destroy();
  return { replies };
}

/** Reply text with multi-byte UTF-8 (2, 3 and 4 bytes), so that chunk cuts fall inside characters. */
const wideReplyArb = fc
  .record({
    code: fc.integer({ min: 100, max: 599 }),
    lines: fc.array(fc.string({ unit: fc.constantFrom('a', ' ', 'é', '日', '😀', '-'), maxLength: 30 }), {
      minLength: 1,
      maxLength: 3,
    }),
    // How middle lines start: free text, `ddd-` (RFC 959), or the code glued to text (not an end).
    middle: fc.constantFrom(' ', '-', 'x', '0', ''),
  })
  .map(({ code, lines, middle }) => {
    const start = middle === '-' || middle === 'x' || middle === '0' ? `${code}${middle}` : middle;
    return lines.length === 1
      ? `${code} ${lines[0]}\r\n`
      : `${code}-${lines.slice(0, -1).join(`\r\n${start}`)}\r\n${code} ${lines[lines.length - 1]}\r\n`;
  });

describe('FtpConnection reading a reply stream split into chunks at any byte', () => {
  it('reads the same replies, or refuses the same over-long one, however the bytes are chunked', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.array(wideReplyArb, { minLength: 1, maxLength: 4 }).map((r) => Buffer.from(r.join(''))),
          // Hostile: any bytes (bad UTF-8 too) around well-formed replies.
          fc
            .tuple(fc.array(wideReplyArb, { maxLength: 2 }), fc.uint8Array({ maxLength: 40 }))
            .map(([r, junk]) => Buffer.concat([Buffer.from(r.join('')), Buffer.from(junk)])),
        ),
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.constantFrom(32, 64, 100, 64 * 1024),
        fc.constantFrom<FtpEncoding>('utf8', 'latin1'),
        async (bytes, cuts, max, encoding) => {
          const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          const chunks = [0, ...points].map((p, i, all) => bytes.subarray(p, all[i + 1] ?? bytes.length));
          const whole = await readFromSocket([bytes], max, encoding);
          const split = await readFromSocket(chunks, max, encoding);
          expect(split.replies).toEqual(whole.replies);
          expect(split.error?.constructor).toBe(whole.error?.constructor);
          if (whole.error) expect(split.error).toBeInstanceOf(FtpProtocolError);
          // What the connection reads is what the parser reads in the whole text.
          const text = decodeText(bytes, encoding);
          const parsed = bounded(() => parseReplies(text, max), FtpProtocolError);
          if (!(parsed instanceof Error)) expect(whole.replies).toEqual(parsed.replies);
        },
      ),
      { numRuns: 300, seed: 8 },
    );
  });

  it('a stream cut in two at every byte, and dripped a byte at a time, reads as it does whole', async () => {
    const bytes = Buffer.concat([
      Buffer.from('220-héllo 日本\r\n220-x\r\n 220 not the end\r\n220 ready 😀\r\n257 "/é""x" is it\r\n'),
      Buffer.from([0x32, 0x30, 0x30, 0x20, 0xe9, 0xff, 0xc3, 0x0d, 0x0a]), // `200 ` then bytes that are no UTF-8
      Buffer.from(`211-${'é'.repeat(40)}\r\n211 end\r\n`), // 55 characters, 95 bytes
    ]);
    for (const max of [64 * 1024, 60, 40]) {
      const whole = await readFromSocket([bytes], max, 'utf8');
      if (max >= 60) expect(whole.replies).toHaveLength(4);
      else expect(whole.error?.message).toMatch(/longer than 40 bytes/);
      for (let k = 0; k <= bytes.length; k++)
        expect(await readFromSocket([bytes.subarray(0, k), bytes.subarray(k)], max, 'utf8')).toEqual(whole);
      const drip = [...bytes].map((b) => Buffer.from([b]));
      expect(await readFromSocket(drip, max, 'utf8')).toEqual(whole);
    }
  });

  it('a long multiline reply sent a line at a time is read in linear time, and refused past the cap', async () => {
    const lines = [' a\r\n', ' é日\r\n', '211-x\r\n', ' 211x\r\n', '\r\n'];
    for (const max of [64 * 1024, 30_000]) {
      const socket = new net.Socket();
      const conn = new FtpConnection(socket, 'peer', 1000, undefined, max);
      const chunks = ['211-Features\r\n'];
      for (let n = 0; n < 60_000;) {
        const line = lines[chunks.length % lines.length];
        chunks.push(line);
        n += line.length;
      }
      chunks.push('211 End\r\n');
      // Was O(n²): each line parsed the whole reply again, 6 s of a blocked process here.
      bounded(() => chunks.forEach((c) => socket.emit('data', Buffer.from(c))), Error, 1000);
      if (max > 60_000) {
        // The same reply as the whole text parsed at once.
        expect(await conn.readReply()).toEqual(parseReplies(chunks.join(''), max).replies[0]);
      } else await expect(conn.readReply()).rejects.toThrow(/longer than 30000 bytes/);
      conn.close();
      socket.destroy();
    }
  });
});

describe('PASV / EPSV parsers', () => {
  it('any text: a valid host and port, or FtpProtocolError; fast', () => {
    fc.assert(
      fc.property(fc.oneof(protocolText(), fc.string({ unit: 'binary' })), (text) => {
        const pasv = bounded(() => parsePasv(text), FtpProtocolError);
        if (!(pasv instanceof Error)) {
          expect(pasv.host).toMatch(/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/);
          expect(pasv.host.split('.').every((n) => Number(n) <= 255)).toBe(true);
          expect(pasv.port).toBeGreaterThanOrEqual(1);
          expect(pasv.port).toBeLessThanOrEqual(65535);
        }
        const epsv = bounded(() => parseEpsv(text), FtpProtocolError);
        if (!(epsv instanceof Error)) {
          expect(Number.isInteger(epsv)).toBe(true);
          expect(epsv).toBeGreaterThanOrEqual(1);
          expect(epsv).toBeLessThanOrEqual(65535);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('reads back every well-formed reply (with junk around it)', () => {
    const octet = fc.integer({ min: 0, max: 255 });
    fc.assert(
      fc.property(
        fc.tuple(octet, octet, octet, octet),
        fc.integer({ min: 1, max: 65535 }),
        fc.constantFrom('|', '!', '#'),
        fc.string({ unit: fc.constantFrom('a', ' ', '=', '.'), maxLength: 10 }),
        (ip, port, delim, junk) => {
          const msg = `Entering Passive Mode ${junk}(${ip.join(',')},${port >> 8},${port & 255})${junk}`;
          expect(parsePasv(msg)).toEqual({ host: ip.join('.'), port });
          expect(parseEpsv(`Entering Extended Passive Mode ${junk}(${delim.repeat(3)}${port}${delim})`)).toBe(
            port,
          );
        },
      ),
      RUNS,
    );
  });
});

/** Names a hostile listing might carry. */
const hostileName = fc.oneof(
  fc.constantFrom('.', '..', '../x', '../../etc/passwd', 'a/b', '/abs', 'a\\b', '..\\x', 'x\r', 'x\0y', ' '),
  protocolText(30),
);
const unixLine = fc
  .tuple(fc.constantFrom('-', 'd', 'l'), fc.nat({ max: 1e9 }), hostileName)
  .map(([k, size, name]) => `${k}rw-r--r--    1 user  group ${size} Jan  5 12:00 ${name}`);
const dosLine = fc
  .tuple(fc.boolean(), fc.nat({ max: 1e9 }), hostileName)
  .map(([dir, size, name]) => `01-05-24  09:13AM       ${dir ? '<DIR>         ' : size} ${name}`);
const mlsdLine = fc
  .tuple(fc.constantFrom('file', 'dir', 'cdir', 'pdir', 'OS.unix=slink:/x'), fc.nat(), hostileName)
  .map(([type, size, name]) => `type=${type};size=${size};modify=20240105120000; ${name}`);

/** What must never come out of a listing: a name that is not one plain path segment. */
function expectSafe(entries: Array<{ name: string }>): void {
  for (const e of entries) {
    expect(e.name).not.toMatch(/[/\\\r\n\0]/);
    expect(['', '.', '..']).not.toContain(e.name);
    expect(isSafeName(e.name)).toBe(true);
    // Joined onto the folder it was listed in, it names a direct child.
    expect(path.dirname(path.normalize(remoteJoin('/site/dir', e.name)))).toBe('/site/dir');
  }
}

describe('listing parsers (unix, DOS, MLSD)', () => {
  it('any text, as LIST or MLSD: no throw, fast, no entry named . or .. or holding / \\ CR LF NUL', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(unixLine, dosLine, mlsdLine, protocolText(80)), { maxLength: 8 }),
        fc.constantFrom('\r\n', '\n', '\r'),
        (lines, eol) => {
          const text = lines.join(eol);
          const asList = bounded(() => parseListing(text), Error as never, 100);
          const asMlsd = bounded(() => parseListing(text, true), Error as never, 100);
          expect(asList).not.toBeInstanceOf(Error);
          expect(asMlsd).not.toBeInstanceOf(Error);
          expectSafe(asList as Array<{ name: string }>);
          expectSafe(asMlsd as Array<{ name: string }>);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('well-formed lines with a safe name are read back exactly; an unsafe name is dropped', () => {
    const name = fc.string({
      unit: fc.constantFrom('a', 'b', ' ', '.', '-', 'é', '日', '/', '\\'),
      minLength: 1,
    });
    fc.assert(
      fc.property(name, fc.nat({ max: 1e9 }), (n, size) => {
        const lines = [
          `-rw-r--r--    1 user  group ${size} Jan  5 12:00 ${n}`,
          `01-05-24  09:13AM       ${size} ${n}`,
        ];
        for (const line of lines) {
          const got = parseListing(line);
          if (isSafeName(n) && n.trim() === n)
            expect(got).toEqual([expect.objectContaining({ name: n, size })]);
          if (!isSafeName(n)) expect(got).toEqual([]);
        }
        const mlsd = parseListing(`type=file;size=${size}; ${n}`, true);
        if (isSafeName(n)) expect(mlsd).toEqual([expect.objectContaining({ name: n, size })]);
        else expect(mlsd).toEqual([]);
      }),
      RUNS,
    );
  });

  it('a size is a whole number of bytes JavaScript holds exactly, however odd the size field or fact', () => {
    const oddSize = fc.oneof(
      fc.constantFrom('-1', '1.5', '0x10', 'Infinity', '1e400', '1e3', ' 12', '', '+5', '9'.repeat(30)),
      fc.bigInt({ min: 0n, max: 10n ** 25n }).map(String),
      protocolText(12),
    );
    fc.assert(
      fc.property(oddSize, fc.constantFrom('size', 'SIZE', 'sizd'), (size, fact) => {
        const lines = [
          [`type=file;${fact}=${size}; name`, true],
          [`-rw-r--r--    1 user  group ${size} Jan  5 12:00 name`, false],
          [`01-05-24  09:13AM       ${size} name`, false],
        ] as const;
        for (const [line, mlsd] of lines)
          for (const e of parseListing(line, mlsd)) {
            expect(Number.isSafeInteger(e.size)).toBe(true);
            expect(e.size).toBeGreaterThanOrEqual(0);
            // Digits it holds exactly are read as they are.
            if (/^\d+$/.test(size) && Number.isSafeInteger(Number(size))) expect(e.size).toBe(Number(size));
          }
      }),
      { ...RUNS, seed: 8 },
    );
  });

  it('a time (MLSD modify, MDTM, LIST, DOS) is the very one written, or none: never a rolled-over date', () => {
    const two = (n: number): string => String(n).padStart(2, '0');
    const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
    fc.assert(
      fc.property(
        fc.integer({ min: 1970, max: 2099 }),
        fc.integer({ min: 0, max: 19 }), // 13-19: no such month
        fc.integer({ min: 0, max: 39 }),
        fc.integer({ min: 0, max: 29 }),
        fc.integer({ min: 0, max: 99 }),
        fc.integer({ min: 0, max: 59 }),
        (y, mo, d, h, mi, s) => {
          /** The date, or undefined, and if a date then with exactly these fields. */
          const check = (date: Date | undefined, time = [h, mi, s]): void => {
            if (!date) return;
            expect([
              date.getUTCFullYear(),
              date.getUTCMonth() + 1,
              date.getUTCDate(),
              date.getUTCHours(),
              date.getUTCMinutes(),
              date.getUTCSeconds(),
            ]).toEqual([y, mo, d, ...time]);
          };
          const valid =
            mo >= 1 &&
            mo <= 12 &&
            d >= 1 &&
            h <= 23 &&
            mi <= 59 &&
            d <= new Date(Date.UTC(y, mo, 0)).getUTCDate();
          const mlsd = parseMlsdTime(`${y}${two(mo)}${two(d)}${two(h)}${two(mi)}${two(s)}`);
          check(mlsd);
          if (valid) expect(mlsd).toBeDefined();
          const [entry] = parseListing(
            `type=file;modify=${y}${two(mo)}${two(d)}${two(h)}${two(mi)}${two(s)}; n`,
            true,
          );
          check(entry.modifiedAt);
          const dos = parseListing(`${two(mo)}-${two(d)}-${y}  ${two(h)}:${two(mi)}       5 n`)[0];
          check(dos?.modifiedAt, [h, mi, 0]);
          if (valid) expect(dos?.modifiedAt).toBeDefined();
          if (mo >= 1 && mo <= 12) {
            const unix = parseListing(`-rw-r--r-- 1 u g 5 ${months[mo - 1]} ${d} ${y} n`)[0];
            check(unix.modifiedAt, [0, 0, 0]);
            expect(unix.modifiedAt === undefined).toBe(
              !(d >= 1 && d <= new Date(Date.UTC(y, mo, 0)).getUTCDate()),
            );
          }
        },
      ),
      { ...RUNS, seed: 8 },
    );
  });

  it('long hostile lines parse in linear time (a regex that backtracks would take seconds here)', () => {
    const long = [
      `-rw-r--r-- 1 ${' '.repeat(50_000)}x`, // was cubic: 2 KB of spaces took 1.4 s
      `-rw-r--r-- 1 ${'1 Jan 1 2020 '.repeat(5_000)}\r`,
      `01-01-20 1:00${' '.repeat(50_000)}`, // was quadratic
      `01-01-20 1:00 1${' '.repeat(50_000)}\rx`,
      `type=file;${'a=b;'.repeat(20_000)}`,
      `${'1,'.repeat(50_000)}`,
    ];
    for (const line of long) {
      for (const f of [unixFormat, dosFormat]) bounded(() => f.test(line) && f.parse(line), Error, 200);
      bounded(() => mlsdFormat.parse(line), Error, 200);
      bounded(() => parseListing(line), Error, 200);
      bounded(() => parseListing(line, true), Error, 200);
      bounded(() => parsePasv(line), FtpProtocolError, 200);
      bounded(() => parseEpsv(line), FtpProtocolError, 200);
    }
  });
});

describe('URL parsing (parseTarget)', () => {
  const urlChar = fc.oneof(
    fc.constantFrom(':', '@', '/', '//', '%', '%2', '%zz', '%40', '?', '#', '[', ']', '.', ' ', '\\', '\n'),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    fc.constantFrom('a', 'h', '1', '9'),
  );
  const urlPart = (max: number): fc.Arbitrary<string> =>
    fc.array(urlChar, { maxLength: max }).map((a) => a.join(''));
  const scheme = fc.constantFrom('ftp://', 'ftpes://', 'ftps://', 'http://', 'ftp:/', '', 'FTP://');

  it('never throws anything but ConfigError, and never shows the password in the message', () => {
    fc.assert(
      fc.property(
        scheme,
        urlPart(8),
        urlPart(12),
        urlPart(10),
        urlPart(10),
        (s, user, pwTail, host, rest) => {
          const password = `Pw9${pwTail}`; // recognisable: a 1-character password would "leak" by chance
          const text = `${s}${user}:${password}@${host}${rest}`;
          const out = bounded(() => parseTarget(text), ConfigError);
          if (out instanceof Error) {
            expect(out.message).not.toContain(password);
            let decoded = password;
            try {
              decoded = decodeURIComponent(password);
            } catch {
              // not decodable: the raw form is what matters
            }
            expect(out.message).not.toContain(decoded);
          } else {
            expect(out.port).toBeGreaterThanOrEqual(0);
            expect(out.port).toBeLessThanOrEqual(65535);
            expect(out.host).not.toBe('');
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('regressions the properties found: a one-slash scheme and a bad %-escape in the password', () => {
    // Was: parsed as ftp:// with the whole text, password included, as the remote folder; errors showed it.
    for (const text of ['ftp:/u:Pw9secret@host/x', 'ftp:u:Pw9secret@host', 'u:Pw9secret@host']) {
      const err = bounded(() => parseTarget(text), ConfigError);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).not.toContain('Pw9secret');
    }
    // Was: URIError (exit 1, "URI malformed"), not a ConfigError naming the problem.
    expect(() => parseTarget('ftp://u:Pw9%zz@host/p')).toThrow(/malformed user or password .*%-escapes/);
    // Was: the folder shown whole, where a raw / in the password had put the rest of it.
    expect(() => parseTarget('ftp://a/:Pw9@\n:')).toThrow(/^(?!.*Pw9)/);
    expect(() => parseTarget('ftp://u:Pw9%zz@host/p')).toThrow(ConfigError);
  });

  it('any text at all: a Target or a ConfigError', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary' }),
          fc.tuple(scheme, urlPart(30)).map(([a, b]) => a + b),
        ),
        (t) => {
          bounded(() => parseTarget(t), ConfigError);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('path normalisation', () => {
  const segment = fc.oneof(
    fc.constantFrom('.', '..', '', 'a', 'b c', 'ü', '...', '.x'),
    fc.string({ unit: fc.constantFrom('a', '.', '-', ' ', 'é'), minLength: 1, maxLength: 6 }),
  );
  const relPath = fc.array(segment, { maxLength: 6 }).map((s) => s.join('/'));
  const anyPath = fc
    .tuple(fc.constantFrom('', '/', '//'), relPath, fc.constantFrom('', '/', '//'))
    .map((p) => p.join(''));

  it('normalizeRemoteDir: absolute, no ., .. or empty segments, no trailing slash, idempotent', () => {
    fc.assert(
      fc.property(anyPath, fc.constantFrom('/', '/home/u', '/a/b/'), (dir, home) => {
        const out = normalizeRemoteDir(dir, home);
        expect(out.startsWith('/')).toBe(true);
        if (out !== '/') {
          expect(out.endsWith('/')).toBe(false);
          expect(
            out
              .slice(1)
              .split('/')
              .every((s) => s !== '' && s !== '.' && s !== '..'),
          ).toBe(true);
        }
        expect(normalizeRemoteDir(out, home)).toBe(out);
        // A relative dir without '..' stays inside the login folder.
        if (!dir.startsWith('/') && !dir.split('/').includes('..')) {
          const h = normalizeRemoteDir(home);
          expect(out === h || out.startsWith(h === '/' ? '/' : `${h}/`)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('depthOf counts segments, and byDepthThenName puts every parent before its children', () => {
    fc.assert(
      fc.property(fc.array(relPath, { maxLength: 12 }), (paths) => {
        for (const p of paths) expect(depthOf(p)).toBe(p === '' ? 0 : p.split('/').length);
        const sorted = [...paths].sort(byDepthThenName);
        for (let i = 1; i < sorted.length; i++)
          expect(depthOf(sorted[i - 1])).toBeLessThanOrEqual(depthOf(sorted[i]));
      }),
      RUNS,
    );
  });

  it('isSafeRelPath + remoteJoin: a path accepted as safe always lands strictly inside the target', () => {
    fc.assert(
      fc.property(
        fc.oneof(relPath, protocolText(30)),
        fc.constantFrom('/', '/site', '/a/b c/d'),
        (rel, root) => {
          const safe = bounded(() => isSafeRelPath(rel), Error as never);
          if (safe !== true) return;
          const joined = remoteJoin(root, rel);
          const prefix = root === '/' ? '/' : `${root}/`;
          expect(joined.startsWith(prefix)).toBe(true);
          expect(path.normalize(joined)).toBe(joined); // nothing left to resolve: no escape by ..
          expect(joined.length).toBeGreaterThan(prefix.length);
          expect(joined).not.toMatch(/[\r\n\0\\]/);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('isSafeRelPath refuses every path holding a .. segment, a leading /, CR, LF, NUL or a backslash', () => {
    fc.assert(
      fc.property(relPath, fc.constantFrom('..', '/', '\r', '\n', '\0', '\\'), fc.nat(), (rel, bad, at) => {
        const cut = at % (rel.length + 1);
        const text =
          bad === '..'
            ? `${rel}${rel ? '/' : ''}..`
            : bad === '/'
              ? `/${rel}`
              : rel.slice(0, cut) + bad + rel.slice(cut);
        expect(isSafeRelPath(text)).toBe(false);
      }),
      RUNS,
    );
  });
});

/** A relative `.txt` path of one to three segments drawn from `segment`. */
const txtPath = (segment: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => `${s.join('/')}.txt`);

/** planChanges options: delete on, atomic, nothing kept or reserved; `extra` overrides. */
const planOptions = (extra: Partial<PlanOptions> = {}): PlanOptions => ({
  delete: true,
  atomic: true,
  isKept: () => false,
  reserved: new Set<string>(),
  resumeThreshold: 1 << 20,
  ...extra,
});

describe('the plan of permissions (fileMode, dirMode)', () => {
  const filePath = txtPath(fc.constantFrom('a', 'b', 'c', 'd'));
  const mode = fc.constantFrom(undefined, '644', '600');

  it('every upload (on its temp, if any) and every new folder get the mode; the unchanged ones exactly when the state records another', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(filePath, fc.constantFrom('x', 'yy')), {
          selector: (t) => t[0],
          maxLength: 8,
        }),
        fc.array(fc.constantFrom('same', 'edited', 'absent'), { minLength: 8, maxLength: 8 }),
        fc.record({ file: mode, dir: mode }),
        fc.record({ file: mode, dir: mode }),
        fc.boolean(),
        (files, fates, had, asked, atomic) => {
          const local = treeFromFiles(files.map(([p, c]) => ({ path: p, contents: Buffer.from(c) })));
          const state = emptyState('s');
          files.forEach(([p], i) => {
            const f = local.files.get(p) as LocalFile;
            if (fates[i] === 'same') state.files[p] = { size: f.size, sha256: f.sha256 };
            if (fates[i] === 'edited') state.files[p] = { size: f.size, sha256: 'f'.repeat(64) };
          });
          state.dirs = [...local.dirs].filter((_d, i) => fates[i] !== 'absent');
          const modes = Object.fromEntries(Object.entries(had).filter(([, v]) => v !== undefined));
          if (Object.keys(modes).length > 0) state.modes = modes;
          const plan = planChanges(
            local,
            state,
            planOptions({ atomic, fileMode: asked.file, dirMode: asked.dir }),
          );
          expect(plan.modesChanged).toBe(had.file !== asked.file || had.dir !== asked.dir);
          const targets = plan.uploads.map((u) => u.temp ?? u.file.path);
          const expectFiles = !asked.file
            ? []
            : [...targets, ...(had.file !== asked.file ? plan.unchanged : [])];
          expect([...plan.chmods.files].sort()).toEqual(expectFiles.sort());
          const expectDirs = !asked.dir ? [] : had.dir !== asked.dir ? [...local.dirs] : plan.mkdirs;
          expect([...plan.chmods.dirs].sort()).toEqual([...expectDirs].sort());
          // A replaced file is never chmodded on its live name in atomic mode: it goes live with its mode.
          if (atomic && asked.file)
            for (const u of plan.uploads.filter((x) => x.action === 'replace'))
              expect(plan.chmods.files).not.toContain(u.file.path);
        },
      ),
      RUNS,
    );
  });
});

describe('the plan of an upload-only deploy', () => {
  const filePath = txtPath(fc.constantFrom('a', 'b', 'c', 'd'));

  it('uploads every local file, deletes nothing, makes every folder; in atomic mode each through a temp named after its path alone', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(filePath, fc.string({ maxLength: 20 })), {
          selector: (t) => t[0],
          maxLength: 10,
        }),
        fc.boolean(),
        fc.string({ maxLength: 20 }),
        (files, atomic, other) => {
          const local = treeFromFiles(files.map(([p, c]) => ({ path: p, contents: Buffer.from(c) })));
          const opts = planOptions({ atomic, uploadOnly: true });
          const plan = planChanges(local, emptyState('s'), opts);
          expect(plan.uploads.map((u) => u.file.path).sort()).toEqual([...local.files.keys()].sort());
          expect(plan.uploads.every((u) => u.action === 'upload')).toBe(true);
          expect([plan.deletes, plan.rmdirs, plan.unchanged, plan.staleTemps]).toEqual([[], [], [], []]);
          expect([...plan.mkdirs].sort()).toEqual([...local.dirs].sort());
          for (const u of plan.uploads) {
            if (!atomic) expect(u.temp).toBeUndefined();
            else
              expect(u.temp).toMatch(
                new RegExp(
                  `^${u.file.path.includes('/') ? `${parentOf(u.file.path)}/` : ''}\\.ftpship-[0-9a-f]{20}\\.tmp$`,
                ),
              );
          }
          // Other content at the same paths: the same temps (a killed run's temp is written again, not left).
          const changed = treeFromFiles(
            files.map(([p, c]) => ({ path: p, contents: Buffer.from(c + other + 'x') })),
          );
          const again = planChanges(changed, emptyState('s'), opts);
          expect(again.uploads.map((u) => [u.file.path, u.temp])).toEqual(
            plan.uploads.map((u) => [u.file.path, u.temp]),
          );
        },
      ),
      RUNS,
    );
  });
});

describe('case twins (names that differ only by case)', () => {
  const filePath = txtPath(fc.constantFrom('a', 'A', 'b', 'B'));

  it('an orphan is deleted before the uploads exactly when a file or folder of this run has its name but for case; no unchanged file shares a name with a deleted orphan', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(filePath, { maxLength: 6 }),
        fc.uniqueArray(filePath, { maxLength: 6 }),
        fc.boolean(),
        (before, after, del) => {
          const local = treeFromFiles(after.map((p) => ({ path: p, contents: Buffer.from('x') })));
          const state = emptyState('s');
          for (const p of before)
            state.files[p] = { size: 1, sha256: crypto.createHash('sha256').update('x').digest('hex') };
          state.dirs = [
            ...new Set(
              before.flatMap((p) =>
                p
                  .split('/')
                  .slice(0, -1)
                  .map((_s, i, a) => a.slice(0, i + 1).join('/')),
              ),
            ),
          ];
          const plan = planChanges(local, state, planOptions({ delete: del }));
          const fold = (p: string): string => p.toLowerCase(); // the test's own, not the engine's
          const written = new Set([...plan.uploads.map((u) => u.file.path), ...plan.mkdirs].map(fold));
          expect(plan.caseTwins.every((t) => plan.deletes.includes(t))).toBe(true);
          const inTwinDir = (d: string): boolean => plan.caseTwinDirs.some((t) => d.startsWith(`${t}/`));
          expect([...plan.caseTwins].sort()).toEqual(
            plan.deletes.filter((d) => written.has(fold(d)) || inTwinDir(d)).sort(),
          );
          const deleted = new Set(plan.deletes.map(fold));
          for (const u of plan.unchanged) expect(deleted.has(fold(u))).toBe(false);
        },
      ),
      RUNS,
    );
  });

  it('an orphan folder is removed before the uploads, with what it holds, exactly when a file this run writes has its name but for case', () => {
    const barePath = fc
      .array(fc.constantFrom('a', 'A', 'b'), { minLength: 1, maxLength: 3 })
      .map((s) => s.join('/'));
    // No path both a file and the folder of another (a local tree, or a state, cannot have that).
    const tree = fc
      .uniqueArray(barePath, { maxLength: 6 })
      .filter((ps) => !ps.some((p) => ps.some((q) => q.startsWith(`${p}/`))));
    const dirsOf = (ps: string[]): string[] => [
      ...new Set(
        ps.flatMap((p) =>
          p
            .split('/')
            .slice(0, -1)
            .map((_s, i, a) => a.slice(0, i + 1).join('/')),
        ),
      ),
    ];
    fc.assert(
      fc.property(tree, tree, fc.boolean(), (before, after, del) => {
        const local = treeFromFiles(after.map((p) => ({ path: p, contents: Buffer.from('x') })));
        const state = emptyState('s');
        for (const p of before)
          state.files[p] = { size: 1, sha256: crypto.createHash('sha256').update('x').digest('hex') };
        state.dirs = dirsOf(before);
        const plan = planChanges(local, state, planOptions({ delete: del }));
        const fold = (p: string): string => p.toLowerCase();
        const files = new Set(plan.uploads.map((u) => u.file.path));
        const foldedFiles = new Set([...files].map(fold));
        const twins = plan.rmdirs.filter((d) => !files.has(d) && foldedFiles.has(fold(d)));
        const inside = (p: string): boolean => twins.some((t) => p.startsWith(`${t}/`));
        expect([...plan.caseTwinDirs].sort()).toEqual(
          plan.rmdirs.filter((d) => twins.includes(d) || inside(d)).sort(),
        );
        for (const d of plan.deletes.filter(inside)) expect(plan.caseTwins).toContain(d);
        expect(plan.caseTwins.every((t) => plan.deletes.includes(t))).toBe(true);
      }),
      RUNS,
    );
  });
});

describe('a temp left to a server session that may put it back (pending.temps[…].left)', () => {
  it('is never resumed nor named again for the same content, and is removed as a leftover', () => {
    const local = treeFromFiles([{ path: 'big.bin', contents: Buffer.from('new content') }]);
    const file = local.files.get('big.bin') as LocalFile;
    const state = emptyState('s');
    state.files['big.bin'] = { size: 3, sha256: 'f'.repeat(64) };
    const left = tempPathFor(file);
    state.pending = {
      temps: {
        [left]: { path: 'big.bin', size: file.size, sha256: file.sha256, left: '2026-11-27T12:00:00Z' },
      },
      uncertain: [],
    };
    const plan = planChanges(local, state, planOptions());
    expect(plan.uploads.map((u) => [u.file.path, u.temp === left, u.mayExist])).toEqual([
      ['big.bin', false, false],
    ]);
    expect(plan.staleTemps).toEqual([left]);
  });
});
