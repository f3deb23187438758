import net from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { FtpConnection } from '../src/ftp/connection.js';
import { FtpProtocolError } from '../src/ftp/errors.js';
import {
  isPositiveCompletion,
  isPositiveIntermediate,
  isPreliminary,
  matchesExpect,
  parseReplies,
  type ParsedReplies,
} from '../src/ftp/reply.js';
import { startFakeServer, type FakeServer, type FakeSession } from './helpers/fake-server.js';

const ok: Array<{ title: string; input: string; expected: ParsedReplies }> = [
  {
    title: 'single line',
    input: '220 Ready\r\n',
    expected: { replies: [{ code: 220, message: 'Ready' }], rest: '' },
  },
  {
    title: 'bare LF line ending',
    input: '200 OK\n',
    expected: { replies: [{ code: 200, message: 'OK' }], rest: '' },
  },
  {
    title: 'code only, no text',
    input: '200\r\n',
    expected: { replies: [{ code: 200, message: '' }], rest: '' },
  },
  {
    title: 'a lone CR or a Unicode line separator inside the text is text (a file name in a 550)',
    input: '550 a\rb: no such file\r\n550 c\u2028d\r\n',
    expected: {
      replies: [
        { code: 550, message: 'a\rb: no such file' },
        { code: 550, message: 'c\u2028d' },
      ],
      rest: '',
    },
  },
  { title: 'incomplete line is kept as rest', input: '220 Rea', expected: { replies: [], rest: '220 Rea' } },
  { title: 'nothing', input: '', expected: { replies: [], rest: '' } },
  {
    title: 'multiline, free-text middle lines (RFC 959 form 1)',
    input: '211-Features:\r\n EPSV\r\n MLST type*;size*;\r\n211 End\r\n',
    expected: { replies: [{ code: 211, message: 'Features:\n EPSV\n MLST type*;size*;\nEnd' }], rest: '' },
  },
  {
    title: 'multiline ended by the code alone',
    input: '211-Features:\r\n EPSV\r\n211\r\n200 OK\r\n',
    expected: {
      replies: [
        { code: 211, message: 'Features:\n EPSV\n' },
        { code: 200, message: 'OK' },
      ],
      rest: '',
    },
  },
  {
    title: 'multiline, ddd- middle lines (RFC 959 form 2)',
    input: '230-Welcome\r\n230-to the server\r\n230 Logged in\r\n',
    expected: { replies: [{ code: 230, message: 'Welcome\nto the server\nLogged in' }], rest: '' },
  },
  {
    title: 'multiline, middle lines starting with other digits (RFC 959 example)',
    input:
      '123-First line\r\nSecond line\r\n  234 A line beginning with numbers\r\n234 also not the end\r\n999-nor this\r\n123 The last line\r\n',
    expected: {
      replies: [
        {
          code: 123,
          message:
            'First line\nSecond line\n  234 A line beginning with numbers\n234 also not the end\n999-nor this\nThe last line',
        },
      ],
      rest: '',
    },
  },
  {
    title: 'multiline with an empty middle line',
    input: '220-Hello\r\n\r\n220 Ready\r\n',
    expected: { replies: [{ code: 220, message: 'Hello\n\nReady' }], rest: '' },
  },
  {
    title: 'several replies in one chunk',
    input: '150 Opening\r\n226-Transfer\r\n226 complete\r\n200 OK\r\n',
    expected: {
      replies: [
        { code: 150, message: 'Opening' },
        { code: 226, message: 'Transfer\ncomplete' },
        { code: 200, message: 'OK' },
      ],
      rest: '',
    },
  },
  {
    title: 'complete reply followed by the start of a multiline one',
    input: '200 OK\r\n211-Features:\r\n EPSV\r\n',
    expected: { replies: [{ code: 200, message: 'OK' }], rest: '211-Features:\r\n EPSV\r\n' },
  },
  {
    title: 'multiline end needs the same code',
    input: '211-a\r\n212 b\r\n',
    expected: { replies: [], rest: '211-a\r\n212 b\r\n' },
  },
  {
    title: 'UTF-8 text and a path with quotes',
    input: '257 "/été/""x""" created\r\n',
    expected: { replies: [{ code: 257, message: '"/été/""x""" created' }], rest: '' },
  },
];

const bad: Array<{ title: string; input: string; expected: RegExp }> = [
  { title: 'not a code', input: 'hello\r\n', expected: /malformed reply line/ },
  { title: 'two digits', input: '22 Ready\r\n', expected: /malformed reply line/ },
  { title: 'first digit out of range', input: '620 Ready\r\n', expected: /malformed reply line/ },
  { title: 'code glued to text', input: '220Ready\r\n', expected: /malformed reply line/ },
  { title: 'empty line between replies', input: '200 OK\r\n\r\n', expected: /malformed reply line/ },
  { title: 'binary garbage', input: '\u0000\u0001\u00ff\n', expected: /malformed reply line/ },
  {
    title: 'a single line over the cap',
    input: `200 ${'x'.repeat(200)}\r\n`,
    expected: /longer than 100 bytes/,
  },
  {
    title: 'an unfinished line over the cap',
    input: `200 ${'x'.repeat(200)}`,
    expected: /longer than 100 bytes/,
  },
  {
    title: 'a multiline reply over the cap',
    input: `211-a\r\n${' feature\r\n'.repeat(20)}`,
    expected: /longer than 100 bytes/,
  },
];

describe('parseReplies', () => {
  it.each(ok)('$title', ({ input, expected }) => {
    expect(parseReplies(input, 200)).toEqual(expected);
  });

  it.each(bad)('error: $title', ({ input, expected }) => {
    expect(() => parseReplies(input, 100)).toThrow(FtpProtocolError);
    expect(() => parseReplies(input, 100)).toThrow(expected);
  });

  it('gives the same replies when the text arrives byte by byte', () => {
    const input = ok
      .filter((t) => t.expected.rest === '')
      .map((t) => t.input)
      .join('');
    const whole = parseReplies(input).replies;
    let buffer = '';
    const seen = [];
    for (const ch of input) {
      const parsed = parseReplies(buffer + ch);
      seen.push(...parsed.replies);
      buffer = parsed.rest;
    }
    expect(buffer).toBe('');
    expect(seen).toEqual(whole);
    expect(seen.length).toBeGreaterThan(8);
  });
});

describe('matchesExpect (code prefixes)', () => {
  it.each([
    { code: 226, expect: 2, result: true },
    { code: 350, expect: 35, result: true },
    { code: 351, expect: 350, result: false },
    { code: 550, expect: [2, 5], result: true },
    { code: 331, expect: [230, 331], result: true },
    { code: 421, expect: 2, result: false },
  ])('$code against $expect is $result', ({ code, expect: e, result }) => {
    expect(matchesExpect(code, e)).toBe(result);
  });
});

describe('reply classes at their boundaries (1xx, 2xx, 3xx)', () => {
  it.each([
    { code: 199, kind: 'preliminary' },
    { code: 200, kind: 'completion' },
    { code: 299, kind: 'completion' },
    { code: 300, kind: 'intermediate' },
    { code: 399, kind: 'intermediate' },
    { code: 400, kind: 'none' },
  ])('$code is $kind', ({ code, kind }) => {
    expect([isPreliminary(code), isPositiveCompletion(code), isPositiveIntermediate(code)]).toEqual([
      kind === 'preliminary',
      kind === 'completion',
      kind === 'intermediate',
    ]);
  });
});

describe('FtpConnection reading replies from a socket', () => {
  let server: FakeServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function openWith(
    greeting: (s: FakeSession) => Promise<void>,
    maxReplyBytes?: number,
  ): Promise<FtpConnection> {
    server = await startFakeServer({ greeting });
    return FtpConnection.open(server.host, server.port, { timeoutMs: 2000, maxReplyBytes });
  }

  it('assembles a multiline reply dripped byte by byte', async () => {
    const conn = await openWith(async (s) =>
      s.drip('220-Hello\r\n220-there\r\n 123 not the end\r\n220 Ready\r\n', 1),
    );
    expect(await conn.readReply()).toEqual({ code: 220, message: 'Hello\nthere\n 123 not the end\nReady' });
    conn.close();
  });

  it('splits several replies sent in one chunk, and keeps them for later reads', async () => {
    const conn = await openWith(async (s) => s.write('220-a\r\n220 b\r\n200 second\r\n250 third\r\n'));
    expect(await conn.readReply()).toEqual({ code: 220, message: 'a\nb' });
    expect(await conn.readReply()).toEqual({ code: 200, message: 'second' });
    expect(await conn.readReply()).toEqual({ code: 250, message: 'third' });
    conn.close();
  });

  it('decodes a UTF-8 character split across two TCP chunks', async () => {
    const bytes = Buffer.from('257 "/é"\r\n');
    const conn = await openWith(async (s) => s.drip(bytes, 5, 6)); // cuts é (2 bytes) in half
    expect(await conn.readReply()).toEqual({ code: 257, message: '"/é"' });
    conn.close();
  });

  it('closes with a protocol error on a malformed line, and later calls fail with "closed: <cause>"', async () => {
    const conn = await openWith(async (s) => s.write('HTTP/1.1 400 Bad Request\r\n'));
    await expect(conn.readReply()).rejects.toThrow(/malformed reply line/);
    expect(conn.closed).toBe(true);
    await expect(conn.readReply()).rejects.toThrow(/^closed: malformed reply line/);
  });

  it('closes when the server floods replies no command asked for (each under the cap, together unbounded)', async () => {
    // The socket's own 'data' events, no server: the flood is in the buffer before anything is read.
    const socket = new net.Socket();
    const conn = new FtpConnection(socket, 'peer', 1000);
    socket.emit('data', Buffer.from(`220 ready\r\n${'200 x\r\n'.repeat(10_000)}`));
    await expect(conn.readReply()).rejects.toThrow(
      /^closed: peer sent 9 replies that no command asked for; refusing/,
    );
    expect(conn.closed).toBe(true);
    socket.destroy();
  });

  it('closes when a reply outgrows the cap, even without a line ending', async () => {
    const conn = await openWith(async (s) => s.drip(`220 ${'x'.repeat(5000)}`, 0, 1000), 1024);
    await expect(conn.readReply()).rejects.toThrow(/longer than 1024 bytes/);
  });
});
