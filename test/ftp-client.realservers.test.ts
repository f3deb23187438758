/**
 * The FTP client against real servers (pure-ftpd, vsftpd, proftpd) started by test/servers/start.sh.
 * Skipped, with a message, only when test/servers/.env.json is absent; CI always starts the servers.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import {
  FtpClient,
  FtpClosedError,
  FtpReplyError,
  FtpTimeoutError,
  FtpTlsError,
  type FtpConnectOptions,
} from '../src/ftp/index.js';
import { realServerSuite, type RealServer } from './helpers/real-servers.js';
import { bytes, sha256, tmpDir } from './helpers/tmp.js';
import { downloadAll } from './helpers/fake-client.js';

const { servers, env, describe: d } = realServerSuite('ftp-client.realservers');
/** A folder of our own in each server's root: other test files use the same servers at the same time. */
const DIR = `ftp-client-${process.pid}`;
const all = (): RealServer[] =>
  [env.pure, env.vsftpd, env.vsftpdImplicit, env.proftpd, env.proftpdResume, env.proftpdImplicit].filter(
    (s): s is RealServer => !!s,
  );

function options(server: RealServer, extra: Partial<FtpConnectOptions> = {}): FtpConnectOptions {
  return {
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    secure: server.implicitTls ? 'implicit' : server.explicitTls ? 'explicit' : false,
    tls: { ca: fs.readFileSync(env.ca) },
    timeoutMs: 10_000,
    ...extra,
  };
}

/** Every client made, closed in afterAll so a failed test leaves no socket open. */
const clients: FtpClient[] = [];

async function connect(server: RealServer, extra: Partial<FtpConnectOptions> = {}): Promise<FtpClient> {
  const client = await FtpClient.connect(options(server, extra));
  clients.push(client);
  // Recreated on each connect: another test file's resetHome() may have emptied the whole FTP root.
  await client.mkd(`/${DIR}`).catch(() => undefined);
  await client.cwd(`/${DIR}`);
  return client;
}

const onDisk = (server: RealServer, name: string): Buffer =>
  fs.readFileSync(path.join(server.home, DIR, name));

/** A source that sends `cut` bytes of `data`, then fails: the upload is cut half way, as by a crash. */
function cutSource(data: Buffer, cut: number): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(data.subarray(0, cut));
        setTimeout(() => this.destroy(new Error('simulated crash')), 300);
      }
    },
  });
}

beforeAll(async () => {
  if (!servers) return;
  for (const server of all()) {
    const client = await FtpClient.connect(options(server));
    await client.mkd(`/${DIR}`).catch(() => undefined);
    await client.quit();
  }
});
afterAll(() => {
  for (const client of clients) client.close();
  if (!servers) return;
  for (const server of all()) fs.rmSync(path.join(server.home, DIR), { recursive: true, force: true });
});

d('TLS on real servers', () => {
  it.each(['pure', 'vsftpd', 'proftpd'] as const)(
    'explicit TLS on %s: AUTH TLS, PBSZ 0, PROT P, data moves',
    async (name) => {
      const server = env[name];
      const log: string[] = [];
      const client = await connect(server, { secure: 'explicit', log: (l) => log.push(l) });
      const data = bytes(300_000, 5);
      await client.upload('tls.bin', data);
      expect(sha256(await downloadAll(client, 'tls.bin'))).toBe(sha256(data));
      await client.quit();
      expect(log.filter((l) => /^> (AUTH|PBSZ|PROT)/.test(l))).toEqual([
        '> AUTH TLS',
        '> PBSZ 0',
        '> PROT P',
      ]);
      expect(log.filter((l) => l.startsWith('! data connection TLS'))).toHaveLength(2);
    },
  );

  it.each(['vsftpdImplicit', 'proftpdImplicit'] as const)('implicit TLS on %s', async (name) => {
    const server = env[name];
    if (!server) return; // proftpd's implicit TLS is optional in start.sh
    const log: string[] = [];
    const client = await connect(server, { log: (l) => log.push(l) });
    await client.upload('implicit.txt', Buffer.from('implicit'));
    expect((await downloadAll(client, 'implicit.txt')).toString()).toBe('implicit');
    await client.quit();
    expect(log).not.toContain('> AUTH TLS');
    expect(log).toContain('> PROT P');
  });

  it.each([
    { name: 'vsftpd', maxVersion: undefined },
    { name: 'vsftpd', maxVersion: 'TLSv1.2' as const },
    { name: 'proftpd', maxVersion: undefined },
  ] as const)(
    '$name (session reuse required) accepts 25 data connections in a row, TLS max $maxVersion',
    async ({ name, maxVersion }) => {
      const server = env[name];
      const log: string[] = [];
      const client = await connect(server, {
        log: (l) => log.push(l),
        tls: { ca: fs.readFileSync(env.ca), maxVersion },
      });
      for (let i = 0; i < 12; i++) await client.upload(`r${i}.txt`, Buffer.from(`n${i}`));
      for (let i = 0; i < 12; i++) expect((await downloadAll(client, `r${i}.txt`)).toString()).toBe(`n${i}`);
      expect((await client.list()).filter((e) => /^r\d+\.txt$/.test(e.name))).toHaveLength(12);
      await client.quit();
      const data = log.filter((l) => l.startsWith('! data connection TLS'));
      expect(data).toHaveLength(25);
      expect(data.every((l) => l.endsWith('session reused'))).toBe(true);
      if (maxVersion) expect(data.every((l) => l.includes('TLSv1.2'))).toBe(true);
      expect(log.join('\n')).not.toMatch(/< 522|< 425/);
    },
  );

  it.each(['proftpdResume', 'vsftpd', 'pure'] as const)(
    '%s: 40 zero-byte TLS uploads in a row (the close_notify must not overtake the handshake)',
    async (name) => {
      const client = await connect(env[name]);
      for (let i = 0; i < 40; i++) await client.upload(`zero${i % 2}.bin`, Buffer.alloc(0));
      expect(await client.size('zero0.bin')).toBe(0);
      await client.quit();
    },
  );

  it('an untrusted certificate fails on a real server, before USER', async () => {
    const log: string[] = [];
    const err = await FtpClient.connect(options(env.vsftpd, { tls: {}, log: (l) => log.push(l) })).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(FtpTlsError);
    expect(log.some((l) => l.startsWith('> USER'))).toBe(false);
  });

  it.each(['vsftpd', 'pure', 'proftpd'] as const)(
    'implicit TLS to %s port that greets in plain FTP: says to use explicit TLS, without OpenSSL internals',
    async (name) => {
      // Was "failed: 807C…:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/
      // openssl/ssl/record/ssl3_record.c:350:\n", and nothing on what to do (deploy() said it, FtpClient not).
      const err = await FtpClient.connect(options(env[name], { secure: 'implicit' })).catch(
        (e: unknown) => e as Error,
      );
      expect(err).toBeInstanceOf(FtpTlsError);
      expect((err as Error).message).toBe(
        `TLS handshake with 127.0.0.1:${env[name].port} failed: wrong version number — the server answered in plain text, not TLS: this port speaks plain FTP first; use explicit TLS on it (\`secure: 'explicit'\`, ftpes://), or the implicit-TLS port (usually 990)`,
      );
    },
  );

  it.each(['vsftpdImplicit', 'proftpdImplicit'] as const)(
    'explicit TLS to the implicit-TLS port of %s: the timeout says the port may want implicit TLS',
    async (name) => {
      const server = env[name];
      if (!server) return; // proftpd's implicit TLS is optional in start.sh
      // Was "no reply from 127.0.0.1 within 500 ms" and nothing more; the reverse mistake was explained.
      const err = (await FtpClient.connect(options(server, { secure: 'explicit', timeoutMs: 500 })).catch(
        (e: unknown) => e,
      )) as Error;
      expect(err).toBeInstanceOf(FtpTimeoutError);
      expect(err.message).toBe(
        'no reply from 127.0.0.1 within 500 ms, not even a greeting; a port that speaks implicit TLS (usually 990) stays silent until the client starts TLS: connect to it with implicit TLS',
      );
    },
  );

  it('active mode with TLS (EPRT) on vsftpd and pure-ftpd', async () => {
    for (const server of [env.vsftpd, env.pure]) {
      const log: string[] = [];
      const client = await connect(server, { passive: false, log: (l) => log.push(l) });
      const data = bytes(200_000, 9);
      await client.upload('active.bin', data);
      expect(sha256(await downloadAll(client, 'active.bin'))).toBe(sha256(data));
      await client.quit();
      expect(log.filter((l) => l.startsWith('> EPRT'))).toHaveLength(2);
    }
  });
});

/**
 * A TCP relay to `server` that counts, per connection, the ClientHello records the client sends once TLS
 * starts: two mean the server asked again (HelloRetryRequest), a round trip lost on every handshake.
 */
async function helloCounter(
  server: RealServer,
): Promise<{ port: number; hellos: number[]; close: () => Promise<void> }> {
  const hellos: number[] = [];
  const sockets = new Set<net.Socket>();
  const relay = net.createServer((client) => {
    const i = hellos.push(0) - 1;
    const upstream = net.connect(server.port, server.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => (client.destroy(), upstream.destroy()));
    }
    upstream.pipe(client);
    let tls = false;
    let pending = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      // Plain FTP until a chunk opens with a TLS handshake record (after AUTH TLS's 234), then record by record.
      if (!tls && chunk[0] === 0x16 && chunk[1] === 0x03) tls = true;
      if (!tls) return;
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 5 && pending.length >= 5 + pending.readUInt16BE(3)) {
        if (pending[0] === 0x16 && pending[5] === 0x01) hellos[i]++;
        pending = pending.subarray(5 + pending.readUInt16BE(3));
      }
    });
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', () => r()));
  return {
    port: (relay.address() as net.AddressInfo).port,
    hellos,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => relay.close(() => r()));
    },
  };
}

d('TLS handshakes in one round trip', () => {
  // pure-ftpd and vsftpd take only P-256 for the key exchange; Node offers an X25519 key share first by
  // default, and both then ask again: one more round trip on the control connection and on every data one.
  it.each(['pure', 'vsftpd', 'proftpd'] as const)(
    '%s: one ClientHello, no HelloRetryRequest',
    async (name) => {
      const relay = await helloCounter(env[name]);
      try {
        const client = await FtpClient.connect(options(env[name], { port: relay.port, secure: 'explicit' }));
        await client.pwd();
        await client.quit();
        expect(relay.hellos).toEqual([1]);
      } finally {
        await relay.close();
      }
    },
  );
});

d('plain FTP on real servers', () => {
  it.each(['pure', 'vsftpd', 'proftpdResume'] as const)(
    '%s without TLS: resume, append, download, list, rename, delete',
    async (name) => {
      const server = env[name];
      const client = await connect(server, { secure: false });
      expect(client.connection.isTls).toBe(false);
      const data = bytes(1_500_000, 3);
      await client.upload('plain.bin', data.subarray(0, 700_000));
      await client.upload('plain.bin', data.subarray(700_000, 1_000_000), { offset: 700_000 });
      await client.upload('plain.bin', data.subarray(1_000_000), { append: true });
      expect(sha256(await downloadAll(client, 'plain.bin'))).toBe(sha256(data));
      expect(sha256(await downloadAll(client, 'plain.bin', 1_234_567))).toBe(
        sha256(data.subarray(1_234_567)),
      );
      await client.rename('plain.bin', 'renamed.bin');
      expect((await client.list()).find((e) => e.name === 'renamed.bin')).toMatchObject({
        size: data.length,
      });
      await client.delete('renamed.bin');
      await client.quit();
    },
  );
});

d('append ignores an offset (UploadOptions.append)', () => {
  it('vsftpd: append with an offset sends no REST, and the bytes go at the end', async () => {
    const sent: string[] = [];
    const client = await connect(env.vsftpd, { secure: false, log: (line) => sent.push(line) });
    await client.upload('appe-offset.bin', Buffer.from('abcdef'));
    await client.upload('appe-offset.bin', Buffer.from('XY'), { append: true, offset: 2 });
    expect(sent.filter((l) => /^> (REST|APPE)\b/.test(l))).toEqual(['> APPE appe-offset.bin']);
    expect(await downloadAll(client, 'appe-offset.bin')).toEqual(Buffer.from('abcdefXY'));
    await client.delete('appe-offset.bin');
    await client.quit();
  });
});

const SIZES = [0, 1, 3 * 1024 * 1024 + 17];

d('resume on real servers: the resumed file is byte-identical', () => {
  const resumers = (): Array<[string, RealServer]> => [
    ['pure-ftpd', env.pure],
    ['vsftpd', env.vsftpd],
    ['proftpd AllowStoreRestart', env.proftpdResume],
  ];

  it.each(SIZES)('upload with REST+STOR and with APPE, %i bytes', async (size) => {
    const data = bytes(size, size + 1);
    const half = Math.floor(size / 2);
    for (const [, server] of resumers()) {
      const client = await connect(server);
      await client.upload(`rest-${size}.bin`, data.subarray(0, half));
      await client.upload(`rest-${size}.bin`, data.subarray(half), { offset: half });
      await client.upload(`appe-${size}.bin`, data.subarray(0, half));
      await client.upload(`appe-${size}.bin`, data.subarray(half), { append: true });
      for (const name of [`rest-${size}.bin`, `appe-${size}.bin`]) {
        expect(await client.size(name)).toBe(size);
        expect(sha256(onDisk(server, name))).toBe(sha256(data));
        expect(sha256(await downloadAll(client, name))).toBe(sha256(data));
      }
      await client.quit();
    }
  });

  it.each(SIZES)('download with REST+RETR at every interesting offset, %i bytes', async (size) => {
    const data = bytes(size, size + 2);
    for (const [, server] of resumers()) {
      const client = await connect(server);
      await client.upload(`dl-${size}.bin`, data);
      for (const offset of new Set([0, Math.floor(size / 2), size])) {
        const rest = await downloadAll(client, `dl-${size}.bin`, offset);
        expect(sha256(Buffer.concat([data.subarray(0, offset), rest]))).toBe(sha256(data));
      }
      await client.quit();
    }
  });

  it('a multi-megabyte upload cut half way by a crash resumes from the server size to an identical file', async () => {
    const size = SIZES[2];
    const data = bytes(size, 77);
    for (const [label, server] of resumers()) {
      const first = await connect(server);
      const cut = await first
        .upload('cut.bin', cutSource(data, Math.floor(size / 2)))
        .catch((e: unknown) => e as Error);
      expect(cut).toBeInstanceOf(Error);
      expect(first.closed).toBe(true);
      const client = await connect(server);
      // The server may still be writing what it received; wait until the size settles.
      let have = -1;
      for (let i = 0; i < 50; i++) {
        const now = await client.size('cut.bin');
        if (now === have) break;
        have = now;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(have).toBeGreaterThan(0);
      expect(have).toBeLessThan(size);
      expect(sha256(onDisk(server, 'cut.bin'))).toBe(sha256(data.subarray(0, have)));
      await client.upload('cut.bin', data.subarray(have), { offset: have });
      expect(sha256(onDisk(server, 'cut.bin'))).toBe(sha256(data));
      expect(`${label}: ${sha256(await downloadAll(client, 'cut.bin'))}`).toBe(`${label}: ${sha256(data)}`);
      await client.quit();
    }
  });

  it('a multi-megabyte download cut half way resumes with REST to an identical file', async () => {
    const size = SIZES[2];
    const data = bytes(size, 78);
    for (const [, server] of resumers()) {
      const client = await connect(server);
      await client.upload('dl-cut.bin', data);
      const got: Buffer[] = [];
      let total = 0;
      const failing = new Writable({
        write(chunk: Buffer, _e, done) {
          if (total >= size / 2) return done(new Error('disk full (simulated)'));
          got.push(chunk);
          total += chunk.length;
          done();
        },
      });
      await expect(client.download('dl-cut.bin', failing)).rejects.toThrow();
      const again = await connect(server);
      const rest = await downloadAll(again, 'dl-cut.bin', total);
      expect(sha256(Buffer.concat([...got, rest]))).toBe(sha256(data));
      await again.quit();
    }
  });

  it('proftpd by default refuses REST+STOR and APPE with 451: a refusal, the client stays usable', async () => {
    const client = await connect(env.proftpd);
    await client.upload('p.bin', Buffer.from('abc'));
    const rest = await client.upload('p.bin', Buffer.from('def'), { offset: 3 }).catch((e: unknown) => e);
    expect(rest).toBeInstanceOf(FtpReplyError);
    // proftpd accepts REST (350) and refuses the STOR that follows.
    expect(rest).toMatchObject({ code: 451, command: 'STOR p.bin' });
    const appe = await client.upload('p.bin', Buffer.from('def'), { append: true }).catch((e: unknown) => e);
    expect(appe).toBeInstanceOf(FtpReplyError);
    expect(appe).toMatchObject({ code: 451, command: 'APPE p.bin' });
    expect(onDisk(env.proftpd, 'p.bin').toString()).toBe('abc');
    expect((await downloadAll(client, 'p.bin')).toString()).toBe('abc');
    await client.quit();
  });

  it('a refused resume says what to try, not only proftpd\'s "try again"; an offset past the end says so', async () => {
    // proftpd's 451 ends "Append/Restart not permitted, try again": trying again gets the same 451.
    const client = await connect(env.proftpd);
    await client.upload('hc-p.bin', Buffer.from('abc'));
    const rest = await client.upload('hc-p.bin', Buffer.from('d'), { offset: 3 }).catch((e: unknown) => e);
    expect(rest).toMatchObject({ code: 451, command: 'STOR hc-p.bin' });
    expect((rest as Error).message).toMatch(/hc-p\.bin.*: upload the whole file instead \(no offset\)$/);
    const appe = await client.upload('hc-p.bin', Buffer.from('d'), { append: true }).catch((e: unknown) => e);
    expect((appe as Error).message).toMatch(
      /^APPE hc-p\.bin: 451 .*upload the whole file instead \(no append\)$/,
    );
    // A refusal of another kind keeps the server's words alone.
    const missing = await client
      .upload('hc-nodir/x', Buffer.from('d'), { offset: 1 })
      .catch((e: unknown) => e);
    expect((missing as Error).message).not.toMatch(/whole file|past the end/);
    await client.quit();
    // Resume allowed, past the end: proftpd answers the STOR with "554 REST: invalid hc-p.bin argument".
    const resume = await connect(env.proftpdResume);
    await resume.upload('hc-p.bin', Buffer.from('abc'));
    const past = await resume.upload('hc-p.bin', Buffer.from('d'), { offset: 9 }).catch((e: unknown) => e);
    expect(past).toMatchObject({ code: 554 });
    expect((past as Error).message).toMatch(/the offset 9 may be past the end of the remote file/);
    expect(await resume.size('hc-p.bin')).toBe(3);
    await resume.quit();
  });

  it('sha256(): proftpd with mod_digest hashes its own file (HASH, SHA-256 selected); without it, a clear refusal', async () => {
    const data = bytes(2_000_003, 9);
    const client = await connect(env.proftpdResume);
    expect(client.sha256Command).toBe('HASH');
    await client.upload('h.bin', data);
    expect(await client.sha256('h.bin')).toBe(sha256(data));
    expect(await client.sha256('h.bin')).toBe(sha256(data)); // OPTS HASH went once; still SHA-256
    const missing = await client.sha256('nope.bin').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(FtpReplyError);
    expect(missing).toMatchObject({ code: 550 });
    expect(await client.sha256('h.bin')).toBe(sha256(data)); // usable after a refusal
    await client.upload('h2.bin', Buffer.from('two'));
    const all = await client.sha256All(['h.bin', 'nope.bin', 'h2.bin']);
    expect(all[0]).toBe(sha256(data));
    expect(all[1]).toBeInstanceOf(FtpReplyError);
    expect(all[2]).toBe(sha256(Buffer.from('two')));
    await client.quit();

    const plain = await connect(env.proftpd);
    expect(plain.sha256Command).toBeUndefined();
    await expect(plain.sha256('h.bin')).rejects.toThrow(/offers no SHA-256 of its files/);
    await plain.quit();
  });
});

// No control characters: pure-ftpd stores 'tab\there' as 'tab_here' (a server rule, not a client bug).
const NAMES = [
  'a b.txt',
  'été 日本.txt',
  '#1 100%.txt',
  '.hidden',
  '.htaccess',
  'x%2Fy',
  'semi;colon=eq',
  '-dash',
  "it's (1) [x] {y}",
];

d('listings on real servers', () => {
  it.each([
    ['pure', true],
    ['vsftpd', false],
    ['proftpd', true],
  ] as const)('%s: MLSD when offered (%s), else LIST; odd names round-trip', async (name, mlsd) => {
    const server = env[name];
    const log: string[] = [];
    const client = await connect(server, { log: (l) => log.push(l) });
    await client.mkd('names');
    await client.cwd('names');
    for (const n of NAMES) await client.upload(n, Buffer.from(n));
    await client.mkd('a dir');
    fs.symlinkSync('a b.txt', path.join(server.home, DIR, 'names', 'my link'));
    const entries = await client.list();
    expect(log.some((l) => l.startsWith(mlsd ? '> MLSD' : '> LIST'))).toBe(true);
    expect(log.some((l) => l.startsWith(mlsd ? '> LIST' : '> MLSD'))).toBe(false);
    const byName = new Map(entries.map((e) => [e.name, e]));
    expect([...byName.keys()].sort()).toEqual([...NAMES, 'a dir', 'my link'].sort());
    for (const n of NAMES) {
      expect(byName.get(n)).toMatchObject({ type: 'file', size: Buffer.byteLength(n) });
      expect((await downloadAll(client, n)).toString()).toBe(n);
    }
    expect(byName.get('a dir')?.type).toBe('dir');
    if (!mlsd) expect(byName.get('my link')).toMatchObject({ type: 'link', target: 'a b.txt' });
    expect((await client.nlst()).sort()).toEqual([...NAMES, 'a dir', 'my link'].sort());
    // NLST of a folder answers `folder/name` on some servers: the same names, none dropped.
    await client.cwd('..');
    const want = [...NAMES, 'a dir', 'my link'].sort();
    expect((await client.nlst('names')).sort()).toEqual(want);
    expect((await client.nlst(`/${DIR}/names/`)).sort()).toEqual(want);
    await client.quit();
  });
});

d('list() and nlst() of a file: that file alone, on every server', () => {
  // pure-ftpd refused `NLST <file>` and `MLSD <file>` (550 "Can't check for file existence"); proftpd refused
  // `MLSD <file>` (550 "is not a directory") and read `NLST -a -dash.txt` as flags (450); vsftpd read
  // `f*.txt` as a pattern (the CWD into it was the error). Only vsftpd's LIST of a plain name worked.
  // pure-ftpd answers each refused CWD (nlst() tries the path as a folder first) 100 ms slower than the last.
  const FILES = ['-dash.txt', 'f*.txt', 'f[1].txt'];
  it.each(['pure', 'vsftpd', 'proftpd'] as const)('%s: the entry and the name of the file', async (name) => {
    const client = await connect(env[name]);
    await client.mkd('one');
    for (const f of [...FILES, 'f1.txt']) await client.upload(`one/${f}`, Buffer.from(f));
    await client.cwd('one');
    for (const f of FILES) {
      expect((await client.list(f)).map((e) => [e.name, e.type, e.size])).toEqual([
        [f, 'file', Buffer.byteLength(f)],
      ]);
      expect(await client.nlst(f)).toEqual([f]);
    }
    expect(await client.nlst(`/${DIR}/one/-dash.txt`)).toEqual(['-dash.txt']);
    // Nothing of that name (only names the pattern matches): a refusal, as for a folder that is not there.
    await expect(client.nlst('f?.txt')).rejects.toBeInstanceOf(FtpReplyError);
    await expect(client.list('f?.txt')).rejects.toBeInstanceOf(FtpReplyError);
    expect(await client.pwd()).toBe(`/${DIR}/one`);
    await client.quit();
  });
});

d("a server's idle timeout (proftpd TimeoutIdle 2: 421, then it hangs up)", () => {
  // A client kept open in a long-lived process (a dev server, a watch) for longer than the server's idle timeout.
  const idleClosed = async (secure: false | 'explicit'): Promise<FtpClient> => {
    const client = await FtpClient.connect(options(env.proftpdHost, { secure }));
    clients.push(client);
    for (let waited = 0; !client.closed && waited < 10_000; waited += 100)
      await new Promise((resolve) => setTimeout(resolve, 100));
    return client;
  };
  it("the next call's error gives the server's reason and how to go on, not only that it closed", async () => {
    // Was "closed: connection to 127.0.0.1 closed by the server (it said: 421 …)": nothing on what to do.
    const client = await idleClosed(false);
    await expect(client.pwd()).rejects.toThrow(
      'closed: connection to 127.0.0.1 closed by the server while the session was idle (it said: 421 Idle timeout (2 seconds): closing control connection); ' +
        'servers end a session left idle for a while: FtpClient.connect() opens a new session',
    );
  });
  it('over TLS (proftpd hangs up without the 421): the error still says the session was idle, and how to go on', async () => {
    // Was "closed: connection to 127.0.0.1 closed by the server", the same as a crash or a cut network.
    const client = await idleClosed('explicit');
    await expect(client.list('/')).rejects.toThrow(
      'closed: connection to 127.0.0.1 closed by the server while the session was idle; ' +
        'servers end a session left idle for a while: FtpClient.connect() opens a new session',
    );
  });
  it('a connection cut during the login (after the 234 to AUTH TLS) is not said to have been idle', async () => {
    // The login's own steps wait on no reply there (the TLS handshake): the cut read as an idle timeout, and a
    // deploy's error told the CLI's user that FtpClient.connect() opens a new session.
    const socketFactory = (host: string, port: number): net.Socket => {
      const raw = net.connect({ host, port });
      raw.on('data', (chunk: Buffer) => {
        if (chunk.toString('latin1').startsWith('234 ')) setImmediate(() => raw.destroy());
      });
      return raw;
    };
    const err = await FtpClient.connect(options(env.proftpdHost, { secure: 'explicit', socketFactory })).then(
      (c) => {
        clients.push(c);
        return new Error('connected');
      },
      (e: unknown) => e as Error,
    );
    expect(err.message).toMatch(/closed by the server/);
    expect(err.message).not.toMatch(/idle|FtpClient\.connect/);
  });
});

d('a download whose own stream fails or stops taking bytes', () => {
  // The server's answer to the cut data connection (vsftpd "426 Failure writing network stream.", proftpd
  // "426 Transfer aborted") was the error: a full local disk read as a network failure. Our side's failure
  // is the error, and closes the client.
  const data = bytes(4 * 1024 * 1024, 21);
  it.each(['vsftpd', 'proftpdResume', 'pure'] as const)(
    "%s: the stream's error, not the server's 426",
    async (name) => {
      const client = await connect(env[name], { secure: false });
      await client.upload('dl.bin', data);
      let taken = 0;
      const full = new Writable({
        write(chunk: Buffer, _enc, done) {
          taken += chunk.length;
          done(taken > 200_000 ? new Error('ENOSPC: no space left on device, write') : undefined);
        },
      });
      full.on('error', () => {});
      await expect(client.download('dl.bin', full)).rejects.toThrow(
        /^ENOSPC: no space left on device, write$/,
      );
      expect(client.closed).toBe(true);
    },
  );

  it('vsftpd: a stream that stops taking bytes fails after timeoutMs, naming the stream', async () => {
    const client = await connect(env.vsftpd, { secure: false, timeoutMs: 1000 });
    await client.upload('dl.bin', data);
    const stuck = new Writable({ highWaterMark: 16 * 1024, write: () => {} }); // never calls back
    await expect(client.download('dl.bin', stuck)).rejects.toThrow(
      "the download's stream took no bytes for 1000 ms (a stream that nothing reads?)",
    );
  });

  it.each(['vsftpd', 'pure', 'proftpd'] as const)(
    '%s: a small file whose every byte has come (226, data connection closed) into a stream that stops: fails after timeoutMs too',
    async (name) => {
      // The idle timer was the data connection's: once the server had sent the whole file and closed it, the
      // call waited for the stream's 'drain' for ever, and the client with it (close() did not end it either).
      const client = await connect(env[name], { timeoutMs: 1000 });
      await client.upload('small.bin', bytes(2000, 5)); // one read: all of it is taken before the stream stops
      const stuck = new Writable({ highWaterMark: 1024, write: () => {} }); // never calls back
      await expect(client.download('small.bin', stuck)).rejects.toThrow(
        "the download's stream took no bytes for 1000 ms (a stream that nothing reads?)",
      );
      expect(client.closed).toBe(true);
    },
  );

  it.each(['vsftpd', 'pure', 'proftpd'] as const)(
    '%s: close() while the small file (226 in) waits on a stream that stopped: FtpClosedError at once, not the timeout',
    async (name) => {
      // close() failed an upload in flight at once, but a download whose 226 had come (nothing left to wait on
      // but the stream) went on until timeoutMs, then failed with the stream's timeout, not FtpClosedError.
      let answered = false;
      let stuckNow = false;
      let closing = false;
      const closeOnceBoth = (): void => {
        if (!answered || !stuckNow || closing) return;
        closing = true;
        setImmediate(() => client.close()); // after the 226 has been taken as RETR's answer
      };
      const client = await connect(env[name], {
        timeoutMs: 600_000, // far past the test's own timeout: only close() can end the download in time
        log: (line) => {
          if (!line.startsWith('< 226')) return;
          answered = true;
          closeOnceBoth();
        },
      });
      await client.upload('small-close.bin', bytes(2000, 6));
      answered = false; // the upload's own 226
      const stuck = new Writable({
        highWaterMark: 1024,
        write: () => {
          stuckNow = true; // never calls back
          closeOnceBoth();
        },
      });
      const err = await client.download('small-close.bin', stuck).then(
        () => new Error('the download resolved'),
        (e: unknown) => e as Error,
      );
      expect(closing).toBe(true);
      expect(err).toBeInstanceOf(FtpClosedError);
      expect(err.message).toBe(
        'closed: the client was closed by close() while RETR small-close.bin was writing into the stream given to ' +
          "download(), after the server's 226 (it had sent the whole file); the stream may not have taken all of it",
      );
      expect(client.closed).toBe(true);
    },
  );
});

d('upload({ path }) of a local file that cannot be read', () => {
  it.each(['vsftpd', 'pure'] as const)(
    '%s: FtpArgumentError before STOR; the remote file keeps its content (it was truncated to 0 bytes)',
    async (name) => {
      const client = await connect(env[name], { secure: false });
      await client.upload('keep.txt', Buffer.from('precious'));
      const missing = path.join(tmpDir(), 'gone.txt');
      await expect(client.upload('keep.txt', { path: missing })).rejects.toThrow(
        `cannot read the local file ${JSON.stringify(missing)} (ENOENT: no such file or directory, open '${missing}'); nothing was sent`,
      );
      const folder = tmpDir();
      await expect(client.upload('keep.txt', { path: folder })).rejects.toThrow(
        `the local path ${JSON.stringify(folder)} is a folder, not a file; nothing was sent`,
      );
      expect(onDisk(env[name], 'keep.txt').toString()).toBe('precious');
      expect(await client.size('keep.txt')).toBe(8); // still usable
    },
  );
});

d('calls made while a listing runs wait for all of its steps', () => {
  // A listing may take several exchanges (CWD into the path, then MLST or NLST of a file; NLST -a, then the
  // bare NLST when refused), each was queued on its own: a rename or upload called meanwhile ran between
  // them, and the listing missed a file that was there when it was called, or showed one added after.
  it.each(['pure', 'vsftpd', 'proftpd'] as const)(
    '%s: nlst and list of a file, nlst of a folder',
    async (name) => {
      const client = await connect(env[name]);
      await client.mkd('queue');
      await client.cwd('queue');
      await client.upload('f.txt', Buffer.from('f'));
      await client.upload('h[1].txt', Buffer.from('h'));
      const names = client.nlst('f.txt');
      const moved = client.rename('f.txt', 'f2.txt');
      const entries = client.list('h[1].txt');
      const gone = client.delete('h[1].txt');
      expect(await names).toEqual(['f.txt']);
      expect((await entries).map((e) => e.name)).toEqual(['h[1].txt']);
      await moved;
      await gone;
      // pure-ftpd refuses `NLST -a` in a folder with files (550): the bare NLST follows.
      const all = client.nlst();
      const added = client.upload('late.txt', Buffer.from('l'));
      expect(await all).toEqual(['f2.txt']);
      await added;
      await client.quit();
    },
  );
});

d('NLST of a folder by its path, first on its connection (NLST -a)', () => {
  it.each(['pure', 'vsftpd', 'proftpd'] as const)(
    '%s: the names in that folder, dot-files too (pure-ftpd misreads `NLST -a <path>`)',
    async (name) => {
      const setup = await connect(env[name]);
      const only = `only-in-nl-${process.pid}.txt`;
      await setup.mkd('nl');
      await setup.mkd('nl/sub');
      for (const f of [only, '.hidden', 'sub/b.txt']) await setup.upload(`nl/${f}`, Buffer.from(f));
      await setup.quit();
      // Fresh connections in the login folder (`/`): no earlier listing has switched them to the bare verb.
      const fresh = async (): Promise<FtpClient> => {
        const c = await FtpClient.connect(options(env[name]));
        clients.push(c);
        return c;
      };
      const atRoot = await fresh();
      // pure-ftpd answered `NLST -a /<dir>/nl` with `<dir>/nl/…` lines: none was taken, the folder looked empty.
      expect((await atRoot.nlst(`/${DIR}/nl`)).sort()).toEqual(['.hidden', 'sub', only].sort());
      expect(await atRoot.nlst(`/${DIR}/nl/sub/`)).toEqual(['b.txt']);
      await atRoot.quit();
      const inside = await fresh();
      await inside.cwd(`/${DIR}/nl`);
      // pure-ftpd answered `NLST -a /` from /<dir>/nl with that folder's names.
      const root = await inside.nlst('/');
      expect(root).toContain(DIR);
      expect(root).not.toContain(only);
      expect(await inside.nlst('sub')).toEqual(['b.txt']);
      expect(await inside.pwd()).toBe(`/${DIR}/nl`);
      await inside.quit();
    },
  );
});

d('command lines longer than the servers take', () => {
  it.each(['pure', 'vsftpd', 'proftpd'] as const)(
    '%s: a 200 KB MKD is refused before sending (pure-ftpd reset the connection); the longest line still works',
    async (name) => {
      const client = await connect(env[name]);
      await expect(client.mkd(`x${'d'.repeat(200_000)}`)).rejects.toThrow(/^refusing to send a MKD command/);
      // 4094 bytes, the most vsftpd takes: a refusal (name too long), not a dropped connection.
      await expect(client.size(`/${'a'.repeat(4094 - 'SIZE /'.length)}`)).rejects.toBeInstanceOf(
        FtpReplyError,
      );
      expect(await client.pwd()).toBe(`/${DIR}`);
      await client.quit();
    },
  );
});

d('a folder whose name holds a double quote', () => {
  it.each(['pure', 'vsftpd', 'proftpd'] as const)(
    '%s: pwd() gives it whole, and nlst() of a subfolder comes back to it',
    async (name) => {
      // pure-ftpd does not double the `"` in its 257 (`"/a" x"y" is your current location`): pwd() gave `/a`, and
      // nlst(<subfolder>), which goes in and back, failed on `CWD /a` and left the session in the subfolder.
      const client = await connect(env[name]);
      const quoted = `hc-q" x"y-${name}`;
      await client.mkd(quoted);
      await client.cwd(quoted);
      expect(await client.pwd()).toBe(`/${DIR}/${quoted}`);
      await client.mkd('sub');
      await client.upload('sub/a.txt', Buffer.from('a'));
      expect(await client.nlst('sub')).toEqual(['a.txt']);
      expect(await client.pwd()).toBe(`/${DIR}/${quoted}`);
      await client.quit();
    },
  );

  it.each(['pure', 'vsftpd', 'proftpd'] as const)(
    '%s: a name holding "" (two quotes in a row) is given whole by pwd()',
    async (name) => {
      // pure-ftpd answers `"/d/a""b" is your current location`, quotes not doubled: read the RFC way, that
      // is `/d/a"b`, a folder that is not there.
      const client = await connect(env[name]);
      const quoted = `hc-q a""b""-${name}`;
      await client.mkd(quoted);
      await client.cwd(quoted);
      expect(await client.pwd()).toBe(`/${DIR}/${quoted}`);
      await client.cwd('..');
      expect(await client.pwd()).toBe(`/${DIR}`);
      await client.quit();
    },
  );
});

d('nlst() of a path that is not there', () => {
  it.each(['pure', 'vsftpd', 'proftpd'] as const)(
    '%s: a 5xx refusal naming the path, not an empty list nor a transient 450',
    async (name) => {
      // vsftpd listed it as empty (226); proftpd answered `NLST -a hc-missing` with "450 -a hc-missing: No such
      // file or directory", a code isTransientError() takes for "try again".
      const client = await connect(env[name]);
      const err = await client.nlst('hc-missing').then(
        (names) => names,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(FtpReplyError);
      expect((err as FtpReplyError).code).toBe(550);
      expect((err as FtpReplyError).message).toContain('hc-missing');
      expect((err as FtpReplyError).message).not.toContain('-a ');
      await client.quit();
    },
  );
});

d('list() of a path that is not there', () => {
  it.each(['pure', 'vsftpd', 'proftpd'] as const)(
    '%s: a 550 refusal naming the path; an empty folder is still []',
    async (name) => {
      // vsftpd (LIST, no MLSD) answered `LIST -a hc-missing` with an empty listing and 226: list() gave [].
      const client = await connect(env[name]);
      const err = await client.list('hc-missing').then(
        (entries) => entries,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(FtpReplyError);
      expect((err as FtpReplyError).code).toBe(550);
      expect((err as FtpReplyError).message).toContain('hc-missing');
      await client.mkd('hc-empty');
      expect(await client.list('hc-empty')).toEqual([]);
      expect(await client.pwd()).toBe(`/${DIR}`);
      await client.quit();
    },
  );
});

d('list() of a folder this user may not enter', () => {
  it.each(['pure', 'vsftpd', 'proftpd'] as const)(
    '%s: list() and nlst() give a 550 refusal naming the path, not the folder as its own content; a folder holding one of its name still lists it',
    async (name) => {
      // vsftpd (LIST, no MLSD) lists a folder it cannot open as `ls -ld` would, the folder's own line: list()
      // gave [{ name: 'locked', type: 'dir' }], a folder inside it of the same name, which --adopt then named as
      // "locked/locked/" on the server.
      const server = env[name];
      const client = await connect(server);
      const locked = path.join(server.home, DIR, 'hc-locked');
      fs.mkdirSync(path.join(locked, 'inside'), { recursive: true });
      fs.chmodSync(locked, 0o700); // owned by root: the FTP user may neither enter nor read it
      const err = await client.list('hc-locked').then(
        (entries) => entries,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(FtpReplyError);
      expect((err as FtpReplyError).code).toBe(550);
      expect((err as FtpReplyError).message).toContain('hc-locked');
      // nlst() the same: vsftpd's NLST named the folder as a file of that name.
      const named = await client.nlst('hc-locked').then(
        (names) => names,
        (e: unknown) => e,
      );
      expect(named).toBeInstanceOf(FtpReplyError);
      expect((named as FtpReplyError).message).toContain('hc-locked');
      await client.upload('hc-file.txt', Buffer.from('x'));
      expect(await client.nlst('hc-file.txt')).toEqual(['hc-file.txt']);
      await client.mkd('hc-same');
      await client.mkd('hc-same/hc-same');
      expect((await client.list('hc-same')).map((e) => [e.name, e.type])).toEqual([['hc-same', 'dir']]);
      expect(await client.pwd()).toBe(`/${DIR}`);
      await client.quit();
      fs.rmSync(locked, { recursive: true }); // root's: no later clean-up as the FTP user could remove it
    },
  );
});
