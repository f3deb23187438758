/**
 * Bad arguments to the client are refused before anything is sent, with an FtpArgumentError naming the
 * value and what to give instead; the client stays usable. Findings of a hostile test of the client:
 * `secure: true` connected in plain FTP (the password in clear), a NaN offset resumed from 0, a 200 KB
 * MKD made pure-ftpd reset the connection, `upload(path, null)` made an empty file.
 */
import { PassThrough, Readable, Writable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { FtpArgumentError, FtpClient, type FtpConnectOptions } from '../src/ftp/index.js';
import { caught, connectFake, useFakeServer } from './helpers/fake-client.js';
import { sleep, type FakeServer } from './helpers/fake-server.js';

const fake = useFakeServer();

/** connect() with options a TypeScript caller could not write (JavaScript callers, JSON config). */
const connectLoose = async (srv: FakeServer, extra: Record<string, unknown>): Promise<FtpClient> =>
  connectFake(srv, extra as Partial<FtpConnectOptions>);

describe('connect(): settings checked before connecting', () => {
  it.each([true, 'tls', 1, 'Explicit', 'ssl', null])(
    'secure: %p is refused, naming the two TLS modes; nothing reaches the server (no password in clear)',
    async (secure) => {
      const srv = await fake();
      const err = await caught(connectLoose(srv, { secure }));
      expect(err).toBeInstanceOf(FtpArgumentError);
      expect(err.message).toContain(`invalid secure ${JSON.stringify(secure)}`);
      expect(err.message).toMatch(/'explicit'.*'implicit'/);
      if (secure === true) expect(err.message).toContain('true is ambiguous');
      await sleep(50);
      expect(srv.sessions).toHaveLength(0);
      expect(srv.commands).toEqual([]);
    },
  );

  it('false, undefined, and the two modes are accepted (plain FTP for the first two)', async () => {
    const srv = await fake();
    for (const secure of [false, undefined]) {
      const client = await connectLoose(srv, { secure });
      expect(client.connection.isTls).toBe(false);
      await client.quit();
    }
    // 'explicit' is accepted: it sends AUTH TLS, which this plain server refuses (G5: an error, not plain).
    await expect(connectLoose(srv, { secure: 'explicit' })).rejects.toThrow(/AUTH TLS: 502/);
  });

  it.each([
    ['port', 0, /invalid port 0; give a whole number from 1 to 65535/],
    ['port', 65536, /invalid port 65536/],
    ['port', 21.5, /invalid port 21.5/],
    ['port', '21', /invalid port "21"/],
    ['port', NaN, /invalid port NaN/],
    ['timeoutMs', NaN, /invalid timeoutMs NaN; give milliseconds from 1 to 2147483647/],
    ['timeoutMs', -1, /invalid timeoutMs -1/],
    ['timeoutMs', 0, /invalid timeoutMs 0/],
    ['timeoutMs', Infinity, /invalid timeoutMs Infinity/],
    ['timeoutMs', 2 ** 31, /invalid timeoutMs 2147483648/],
    ['timeoutMs', '5000', /invalid timeoutMs "5000"/],
    ['host', '', /invalid host ""; give a host name or IP address/],
    ['host', '  ', /invalid host " {2}"/],
    ['host', undefined, /invalid host undefined/],
    ['host', 42, /invalid host 42/],
    // Were taken: 'false' is truthy (pipelined, passive), and a cap that is not a number capped nothing.
    ['pipelining', 'false', /^invalid pipelining "false"; give a boolean, or leave it out$/],
    ['passive', 'false', /^invalid passive "false"; give a boolean, or leave it out$/],
    ['passive', 0, /^invalid passive 0; give a boolean/],
    [
      'maxListingBytes',
      '1000000',
      /^invalid maxListingBytes "1000000"; give a whole number above 0, or leave it out$/,
    ],
    ['maxListingEntries', 0, /^invalid maxListingEntries 0; give a whole number above 0/],
    ['maxReplyBytes', NaN, /^invalid maxReplyBytes NaN; give a whole number above 0/],
    ['log', true, /^invalid log true; give a function, or leave it out$/],
    [
      'readAtLogin',
      '/state.json',
      /^invalid readAtLogin "\/state.json"; give \{ path: string, max: a whole number of bytes \}/,
    ],
    ['readAtLogin', { path: '/s.json' }, /^invalid readAtLogin an object \(Object\)/],
    // An empty path was taken and sent as a bare `RETR ` with the login; every other call refuses one.
    [
      'readAtLogin',
      { path: '', max: 100 },
      /^invalid readAtLogin.path "", which names nothing; give the remote path of the file to read with the login, or leave readAtLogin out$/,
    ],
    // CR, LF or NUL: refused at connect(), before the login is sent.
    ...['s\r\nDELE x', 's\njson', 's\0.json'].map((path) => [
      'readAtLogin',
      { path, max: 100 },
      /^invalid readAtLogin.path .+ for connect\(\): it holds CR, LF or NUL.*; nothing was sent$/,
    ]),
    ...[-1, NaN, Infinity, -Infinity, 1.5, 2 ** 53, '100'].map((max) => [
      'readAtLogin',
      { path: 's.json', max },
      /^invalid readAtLogin an object \(Object\); give \{ path: string, max: a whole number of bytes \}/,
    ]),
  ] as Array<[string, unknown, RegExp]>)(
    '%s %p is refused before connecting',
    async (key, value, message) => {
      const srv = await fake();
      const err = await caught(connectLoose(srv, { [key]: value }));
      expect(err).toBeInstanceOf(FtpArgumentError);
      expect(err.message).toMatch(message);
      await sleep(30);
      expect(srv.sessions).toHaveLength(0);
    },
  );
});

/** A fake server with one 1000-byte file, and a client logged in to it. */
async function withFile(): Promise<{ srv: FakeServer; client: FtpClient }> {
  const srv = await fake();
  srv.files.set('/f.bin', Buffer.alloc(1000, 7));
  return { srv, client: await connectFake(srv) };
}

/** Commands sent after login (the transcript of the calls under test). */
const after = (srv: FakeServer, login: number): string[] => srv.commands.slice(login);

describe('resume offsets: a non-negative whole number, checked before anything is sent', () => {
  it.each([NaN, -5, 2.5, Infinity, '5\r\nDELE /f.bin', '10', null])(
    'download and upload with offset %p: FtpArgumentError, nothing sent, the client usable',
    async (offset) => {
      const { srv, client } = await withFile();
      const login = srv.commands.length;
      const sink = new PassThrough();
      const opts = { offset } as unknown as { offset: number };
      const down = await caught(client.download('/f.bin', sink, opts));
      expect(down).toBeInstanceOf(FtpArgumentError);
      expect(down.message).toMatch(/^invalid offset .+; give a whole number of bytes, 0 or more$/);
      const up = await caught(client.upload('/f.bin', Buffer.alloc(10), opts));
      expect(up).toBeInstanceOf(FtpArgumentError);
      expect(after(srv, login)).toEqual([]);
      expect(client.closed).toBe(false);
      expect(srv.files.get('/f.bin')).toEqual(Buffer.alloc(1000, 7));
      expect(await client.pwd()).toBe('/');
      await client.quit();
    },
  );

  it('a file source with a bad start is refused the same way', async () => {
    const { srv, client } = await withFile();
    const login = srv.commands.length;
    const err = await caught(client.upload('/g.bin', { path: 'package.json', start: -1 }));
    expect(err).toBeInstanceOf(FtpArgumentError);
    expect(err.message).toBe('invalid start -1; give a whole number of bytes, 0 or more');
    expect(after(srv, login)).toEqual([]);
    await client.quit();
  });

  it('a good offset still resumes (REST then RETR, the bytes from there on)', async () => {
    const { srv, client } = await withFile();
    const chunks: Buffer[] = [];
    const sink = new PassThrough().on('data', (c: Buffer) => chunks.push(c));
    expect(await client.download('/f.bin', sink, { offset: 600 })).toBe(400);
    expect(Buffer.concat(chunks)).toEqual(Buffer.alloc(400, 7));
    expect(srv.commands).toContain('REST 600');
    await client.quit();
  });
});

describe('upload() needs a source', () => {
  it.each([null, undefined, 'local.txt', 42, {}, { path: '' }])(
    'upload(path, %p): FtpArgumentError, no empty remote file made',
    async (source) => {
      const { srv, client } = await withFile();
      const login = srv.commands.length;
      const err = await caught(client.upload('/new.bin', source as unknown as Buffer));
      expect(err).toBeInstanceOf(FtpArgumentError);
      expect(err.message).toMatch(
        /^upload needs a source: a Buffer, a Readable stream or \{ path \} of a local file/,
      );
      if (source === 'local.txt') expect(err.message).toContain('pass { path: "local.txt" }');
      expect(after(srv, login)).toEqual([]);
      expect(srv.files.has('/new.bin')).toBe(false);
      expect(await client.pwd()).toBe('/');
      await client.quit();
    },
  );
});

describe('upload() of a stream with nothing more to give', () => {
  it.each(['ended', 'destroyed', 'failed'])(
    'a source already %s (an upload tried again with the same stream): FtpArgumentError, the remote file untouched',
    async (state) => {
      // It uploaded 0 bytes and "succeeded": the remote file was truncated to nothing (vsftpd, any server).
      const { srv, client } = await withFile();
      const source = Readable.from([Buffer.from('new content')]);
      if (state === 'ended') for await (const chunk of source) expect(chunk).toBeDefined();
      else if (state === 'destroyed') source.destroy();
      else {
        source.on('error', () => {});
        source.destroy(new Error('EIO: i/o error, read'));
      }
      const login = srv.commands.length;
      const err = await caught(client.upload('/f.bin', source));
      expect(err).toBeInstanceOf(FtpArgumentError);
      expect(err.message).toBe(
        `the upload's stream is already ${state}, with nothing more to give (the remote file would be made empty); pass a new stream, a Buffer or { path } of a local file`,
      );
      expect(after(srv, login)).toEqual([]);
      expect(srv.files.get('/f.bin')).toEqual(Buffer.alloc(1000, 7));
      expect(await client.pwd()).toBe('/');
      await client.quit();
    },
  );
});

describe('download() into a stream that can no longer take bytes', () => {
  it.each(['ended', 'destroyed'])(
    'a sink already %s: FtpArgumentError at once (it hung forever)',
    async (state) => {
      const { srv, client } = await withFile();
      const login = srv.commands.length;
      const sink = new Writable({ write: (_c, _e, done) => done() });
      if (state === 'ended') sink.end();
      else sink.destroy();
      const err = await caught(client.download('/f.bin', sink));
      expect(err).toBeInstanceOf(FtpArgumentError);
      expect(err.message).toBe(
        `the download's stream is already ${state}; pass a writable stream that is still open`,
      );
      expect(after(srv, login)).toEqual([]);
      expect(await client.pwd()).toBe('/');
      await client.quit();
    },
  );
});

describe('command lines longer than servers take', () => {
  it('a 200 KB MKD is refused before sending (pure-ftpd reset the connection); the client stays usable', async () => {
    const { srv, client } = await withFile();
    const login = srv.commands.length;
    const err = await caught(client.mkd(`/${'d'.repeat(200_000)}`));
    expect(err).toBeInstanceOf(FtpArgumentError);
    expect(err.message).toBe(
      'refusing to send a MKD command of 200005 bytes: servers take at most 4094 (vsftpd drops the connection, pure-ftpd resets it); shorten the path or name',
    );
    // Counted in UTF-8 bytes: 1400 characters of 3 bytes each are 4200 bytes.
    await expect(client.upload(`/${'日'.repeat(1400)}`, Buffer.from('x'))).rejects.toThrow(
      /STOR command of 4206 bytes/,
    );
    expect(after(srv, login)).toEqual([]);
    // The longest line vsftpd takes still goes out.
    const longest = `/${'a'.repeat(4094 - 'SIZE /'.length)}`;
    await expect(client.size(longest)).rejects.toThrow(/550 No such file/);
    expect(await client.pwd()).toBe('/');
    await client.quit();
  });

  it('a long password is refused without being shown', async () => {
    const srv = await fake();
    const password = `pw-${'s'.repeat(5000)}`;
    const err = await caught(connectFake(srv, { password }));
    expect(err).toBeInstanceOf(FtpArgumentError);
    expect(err.message).toMatch(/^refusing to send a PASS command of 5008 bytes/);
    expect(err.message).not.toContain('sss');
    expect(srv.commands.filter((c) => c.startsWith('PASS'))).toEqual([]);
  });
});

describe('chmod() with a mode that is not octal digits', () => {
  it.each(['999', 'rw-r--r--', '64', 0o644 as unknown as string, 644 as unknown as string])(
    'mode %p: an FtpArgumentError (the client stays usable), nothing sent',
    async (mode) => {
      const srv = await fake();
      const client = await connectFake(srv);
      const err = await caught(client.chmod('a.txt', mode));
      expect(err).toBeInstanceOf(FtpArgumentError);
      expect(err.message).toContain(`invalid mode ${JSON.stringify(mode)}`);
      expect(srv.verbs()).not.toContain('SITE');
      expect(client.closed).toBe(false);
      await client.quit();
    },
  );
});

describe('a remote path that is not a string (JavaScript callers: a missing config value)', () => {
  const calls: Array<[string, (c: FtpClient, p: string) => Promise<unknown>]> = [
    ['delete', async (c, p) => c.delete(p)],
    ['mkd', async (c, p) => c.mkd(p)],
    ['rmd', async (c, p) => c.rmd(p)],
    ['cwd', async (c, p) => c.cwd(p)],
    ['size', async (c, p) => c.size(p)],
    ['mdtm', async (c, p) => c.mdtm(p)],
    ['chmod', async (c, p) => c.chmod(p, '644')],
    ['rename from', async (c, p) => c.rename(p, 'b.txt')],
    ['rename to', async (c, p) => c.rename('a.txt', p)],
    ['upload', async (c, p) => c.upload(p, Buffer.from('x'))],
    ['download', async (c, p) => c.download(p, new PassThrough())],
    ['list', async (c, p) => c.list(p)],
    ['nlst', async (c, p) => c.nlst(p)],
  ];
  it.each(calls)(
    '%s(undefined, null, an object): an FtpArgumentError; no command naming a file "undefined" is sent',
    async (name, call) => {
      const srv = await fake();
      const client = await connectFake(srv);
      const before = srv.commands.length;
      // list() and nlst() without a path (undefined or null) list the current folder.
      const optional = name === 'list' || name === 'nlst';
      for (const bad of (optional ? [{}] : [undefined, null, {}]) as unknown as string[]) {
        const err = await caught(call(client, bad));
        expect(err).toBeInstanceOf(FtpArgumentError);
        expect(err.message).toMatch(/give the remote path as a string/);
      }
      await sleep(20);
      expect(srv.commands.slice(before)).toEqual([]);
      expect(client.closed).toBe(false);
      await client.quit();
    },
  );
});
