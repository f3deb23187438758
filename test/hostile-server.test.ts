/**
 * Issue 9 item 4, the cases test/ftp-errors.test.ts and test/ftp-transfer.test.ts did not have yet: a listing
 * with `../` and `/` inside names, a reply dripping one byte a second, a server closing in the middle of an
 * upload, and a 421 on connect at the engine level (deploy() and the CLI). Each ends within its timeout
 * with a clear error, or in the safe behaviour of PRODUCT.md G7.
 *
 * The timeout (`timeoutMs`, `--timeout`) is per reply: a whole reply must arrive within it, counted from
 * when the client starts waiting. A reply that drips steadily but completes in time is accepted; one that
 * is still dripping when the time is up fails at that moment — bytes arriving do not restart the clock, so
 * a server cannot hold a connection forever by sending one byte a second.
 */
import type net from 'node:net';
import tls from 'node:tls';
import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import {
  FtpClient,
  FtpProtocolError,
  FtpReplyError,
  FtpTimeoutError,
  FtpTlsError,
  isTransientError,
  type FtpConnectOptions,
} from '../src/ftp/index.js';
import { ConfigError, deploy, DeployError } from '../src/index.js';
import { sleep, type FakeHandler, type FakeServer, type FakeSession } from './helpers/fake-server.js';
import { selfSignedCert } from './helpers/cert.js';
import { caught, connectFake, useFakeServer, within } from './helpers/fake-client.js';
import { runCli } from './helpers/cli.js';
import { tmpDir, writeTree } from './helpers/tmp.js';

const fake = useFakeServer();

const connect = async (
  srv: FakeServer,
  timeoutMs = 2000,
  extra: Partial<FtpConnectOptions> = {},
): Promise<FtpClient> => connectFake(srv, { timeoutMs, ...extra });

const HOSTILE_NAMES = ['../escape.txt', '../../etc/passwd', 'a/b.txt', '/abs.txt', '..', '.', 'x\\y.txt'];

describe('a listing with ../ and / inside names (G7)', () => {
  it('LIST and MLSD: every such name is dropped, the honest entries are kept', async () => {
    const send = async (s: import('./helpers/fake-server.js').FakeSession, body: string): Promise<void> => {
      s.reply('150 Here it comes');
      const data = await s.dataSocket();
      data.end(body);
      await new Promise((r) => data.once('close', r));
      s.reply('226 Transfer complete');
    };
    const unix = [...HOSTILE_NAMES, 'ok.txt'].map(
      (n) => `-rw-r--r--    1 1000     1000     12 Jan 01  2024 ${n}\r\n`,
    );
    const mlsd = [...HOSTILE_NAMES, 'ok.txt', 'sub'].map(
      (n) => `type=${n === 'sub' ? 'dir' : 'file'};size=12;modify=20240101000000; ${n}\r\n`,
    );
    const list = await fake({ handlers: { LIST: async (_a, s) => send(s, unix.join('')) } });
    const c1 = await connect(list);
    expect((await c1.list('/site')).map((e) => e.name)).toEqual(['ok.txt']);
    await c1.quit();
    await list.close();

    const withMlsd = await fake({
      features: ['EPSV', 'SIZE', 'UTF8', 'MLST type*;size*;modify*;'],
      handlers: { MLSD: async (_a, s) => send(s, mlsd.join('')) },
    });
    const c2 = await connect(withMlsd);
    expect((await c2.list('/site')).map((e) => `${e.type} ${e.name}`)).toEqual(['file ok.txt', 'dir sub']);
    expect(withMlsd.verbs()).toContain('MLSD');
    await c2.quit();
  });
});

describe('a reply dripping one byte a second', () => {
  it('is cut at the per-reply timeout although bytes keep coming; a steady drip that completes in time is accepted', async () => {
    const srv = await fake({
      handlers: {
        SYST: async (_a, s) => s.drip('215 UNIX Type: L8\r\n', 1000), // 19 bytes: 19 s if let through
        STAT: async (_a, s) => s.drip('211 ok\r\n', 60), // 8 bytes in ~0.5 s
      },
    });
    const client = await connect(srv, 1500);
    expect(await client.send('STAT')).toMatchObject({ code: 211, message: 'ok' });
    const started = Date.now();
    const err = await caught(client.send('SYST'));
    const took = Date.now() - started;
    expect(err).toBeInstanceOf(FtpTimeoutError);
    expect(err.message).toBe(
      'no reply to SYST from 127.0.0.1 within 1500 ms; if the server is only slow, raise timeoutMs',
    );
    expect(took).toBeGreaterThanOrEqual(1400);
    expect(took).toBeLessThan(2500); // the bound: timeoutMs per reply, whatever the drip rate
    expect(client.closed).toBe(true);
  });
});

describe('a server that closes in the middle of a transfer', () => {
  it('upload refused after the data connection closed (552 over quota): the reply is the error, the client usable', async () => {
    const srv = await fake({
      handlers: {
        STOR: async (_a, s) => {
          s.reply('150 Ok to send data');
          const data = await s.dataSocket();
          await new Promise((r) => data.once('data', r));
          data.destroy(); // the data connection goes first…
          await sleep(50);
          s.reply('552 Quota exceeded'); // …then the server says why
        },
      },
    });
    const client = await connect(srv, 5000);
    const body = new PassThrough();
    const feeding = feed(body, 200);
    const err = await caught(client.upload('/big.bin', body));
    body.destroy();
    await feeding;
    expect(err).toBeInstanceOf(FtpReplyError);
    expect((err as FtpReplyError).code).toBe(552);
    expect(client.closed).toBe(false);
    expect(await client.pwd()).toBe('/');
  });

  it('upload: fails at once with a transient error (the deploy retries it), the client is closed', async () => {
    const srv = await fake({
      handlers: {
        STOR: async (_a, s) => {
          s.reply('150 Ok to send data');
          const data = await s.dataSocket();
          await new Promise((r) => data.once('data', r)); // some bytes arrived…
          await sleep(20);
          data.destroy(); // …then the server goes away
          s.socket.destroy();
        },
      },
    });
    const client = await connect(srv, 5000);
    const body = new PassThrough();
    const feeding = feed(body, 400);
    const started = Date.now();
    const err = await caught(client.upload('/big.bin', body));
    expect(Date.now() - started).toBeLessThan(3000); // not the 5 s timeout: the hang-up is seen at once
    expect(err).not.toBeInstanceOf(FtpReplyError);
    expect(err.message).toMatch(/closed|reset|hang|EPIPE|ECONNRESET|end/i);
    expect(isTransientError(err)).toBe(true);
    expect(client.closed).toBe(true);
    body.destroy();
    await feeding.catch(() => undefined);
  });
});

describe('a 421 on connect (engine level)', () => {
  const greeting = (s: import('./helpers/fake-server.js').FakeSession): void => {
    s.reply('421 Too many connections (3) from this IP');
    s.close();
  };

  it('deploy() fails with one clear DeployError naming the server and its 421, after its retries', async () => {
    const srv = await fake({ greeting });
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a' });
    const started = Date.now();
    const err = await caught(
      deploy({
        localDir: local,
        host: srv.host,
        port: srv.port,
        user: 'u',
        password: 'secret-pw',
        timeoutMs: 2000,
        retries: 2,
        retryDelayMs: 10,
      }),
    );
    expect(Date.now() - started).toBeLessThan(5000);
    expect(err).toBeInstanceOf(DeployError);
    expect((err as DeployError).exitCode).toBe(1);
    expect(err.message).toContain(`${srv.host}:${srv.port}`);
    expect(err.message).toMatch(/421 Too many connections \(3\) from this IP; asked 3 times/);
    expect(srv.sessions).toHaveLength(3);
    expect(err.message).not.toContain('secret-pw');
    expect(err.message.split('\n')).toHaveLength(1);
    expect(srv.verbs()).not.toContain('STOR');
  });

  it('the CLI: exit 1, one error line after a warning per retry, nothing on stdout', async () => {
    const srv = await fake({ greeting });
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a' });
    const r = await runCli(
      ['deploy', local, `ftp://u@${srv.host}:${srv.port}/site`, '--retries', '1', '--timeout', '2000'],
      { FTPSHIP_PASSWORD: 'secret-pw' },
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^warning: login: \(greeting\): 421 Too many connections .*; retrying \(1\/1\)$/,
    );
    expect(lines[1]).toMatch(/^ftpship: error: .*127\.0\.0\.1:\d+.*421 Too many connections/);
    expect(r.stderr).not.toContain('secret-pw');
  });
});

describe('terminal control characters in a server reply (G6, G7)', () => {
  it('the CLI shows them escaped: a reply cannot erase its error line and print a fake success in its place', async () => {
    const forged = '530 Login incorrect.\r\x1b[2K\x1b[32mdeployed: did upload 3\x1b[0m\x9b2K\x07';
    const srv = await fake({ handlers: { PASS: (_a, s) => s.reply(forged) } });
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a' });
    const r = await runCli(['deploy', local, `ftp://u@${srv.host}:${srv.port}/site`, '--verbose'], {
      FTPSHIP_PASSWORD: 'secret-pw',
    });
    expect(r.code).toBe(2);
    // Only line ends and tabs of its own: no CR, ESC, BEL or C1 control from the server reaches the terminal.
    // eslint-disable-next-line no-control-regex -- control characters are what it looks for
    expect(r.stderr).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
    const error = r.stderr.split('\n').filter((l) => l.startsWith('ftpship: error: '));
    expect(error).toHaveLength(1);
    expect(error[0]).toContain('530 Login incorrect.\\x0d\\x1b[2K\\x1b[32mdeployed: did upload 3');
    expect(r.stderr).not.toContain('secret-pw');
  });
});

describe('a server that greets, then goes silent during the login (a slow password check)', () => {
  it('the error says the server answered and what it was asked, not to check the host and port', async () => {
    // PASS gets no reply: some servers take seconds to check a password (a slow hash, a remote directory).
    const srv = await fake({ handlers: { PASS: async () => new Promise<void>(() => {}) } });
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a' });
    const err = await caught(
      deploy({ localDir: local, host: srv.host, port: srv.port, user: 'u', password: 'pw', timeoutMs: 500 }),
    );
    expect(err).toBeInstanceOf(DeployError);
    // Before: "no answer from …: no reply from 127.0.0.1 within 500 ms; check the host, port and firewall, …
    // (a port that speaks implicit TLS … waits silently for TLS …)".
    expect(err.message).toBe(
      `${srv.host}:${srv.port} answered, then gave no reply to USER and PASS within 500 ms: a slow server ` +
        '(some take seconds to check a password); raise --timeout, or try again later',
    );
  });

  it('a port that never greets still gets the host, port and implicit-TLS advice', async () => {
    const srv = await fake({ greeting: () => undefined });
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a' });
    const err = await caught(
      deploy({ localDir: local, host: srv.host, port: srv.port, user: 'u', password: 'pw', timeoutMs: 500 }),
    );
    expect(err.message).toMatch(/^no answer from .*; check the host, port and firewall, or raise --timeout/);
  });
});

describe('a login refused because the connection is plain FTP (FIELD.md #8, "421 cleartext not accepted")', () => {
  const HINT =
    "it requires TLS. Connect with explicit TLS on the same port (CLI: ftpes://; Action: protocol ftps; library: secure 'explicit')";
  /** The CLI prints its own part of that advice only. */
  const CLI_HINT = 'it requires TLS. Connect with explicit TLS on the same port (ftpes://)';
  /** The server's refusal of USER (real servers' words), then, as pure-ftpd after its 421, maybe a hang-up. */
  const refuseUser =
    (lines: string[], hangUp: boolean): FakeHandler =>
    (_a, s) => {
      for (const l of lines) s.reply(l);
      if (hangUp) s.close();
    };
  const cases: Array<{ server: string; lines: string[]; hangUp: boolean }> = [
    {
      server: 'pure-ftpd -Y 2',
      lines: [
        '421-Sorry, cleartext sessions and weak ciphers are not accepted on this server.',
        '421 Please reconnect using TLS security mechanisms.',
      ],
      hangUp: true,
    },
    {
      server: 'vsftpd force_local_logins_ssl',
      lines: ['530 Non-anonymous sessions must use encryption.'],
      hangUp: false,
    },
    { server: 'proftpd TLSRequired', lines: ['550 SSL/TLS required on the control channel'], hangUp: false },
    { server: 'IIS (SSL required)', lines: ['534 Policy requires SSL.'], hangUp: false },
    {
      server: 'FileZilla Server',
      lines: ['530 This server does not allow plain FTP. You have to use FTP over TLS.'],
      hangUp: false,
    },
  ];
  const options = (srv: FakeServer, local: string) => ({
    localDir: local,
    host: srv.host,
    port: srv.port,
    user: 'u',
    password: 'secret-pw',
    timeoutMs: 2000,
    retryDelayMs: 10,
  });

  it('each of them: a ConfigError saying to use ftpes://, from the first connection (the 421 is not retried)', async () => {
    for (const { server, lines, hangUp } of cases) {
      const srv = await fake({ handlers: { USER: refuseUser(lines, hangUp) } });
      const local = tmpDir();
      writeTree(local, { 'a.txt': 'a' });
      const err = await caught(deploy(options(srv, local)));
      const first = lines[0].replace(/^(\d{3})-/, '$1 ');
      expect([server, err]).toEqual([server, expect.any(ConfigError)]);
      expect(err.message).toBe(
        `${srv.host}:${srv.port} refuses a login over plain FTP (USER: ${first}): ${HINT}`,
      );
      expect([server, srv.sessions.length]).toEqual([server, 1]);
      expect(err.message).not.toContain('secret-pw');
      await srv.close();
    }

    // Not so: a wrong password's 530 (or a lock "for security reasons"), and the same words on a connection
    // that is TLS already.
    for (const reply of ['530 Login incorrect.', '530 Account locked for security reasons.']) {
      const wrong = await fake({ handlers: { PASS: (_a, s) => s.reply(reply) } });
      const err = await caught(deploy(options(wrong, tmpDir())));
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message).toBe(
        `login to ${wrong.host}:${wrong.port} as "u" failed: ${reply}; check the user and password`,
      );
      await wrong.close();
    }
    const cert = selfSignedCert();
    const overTls = await fake({
      handlers: {
        ...explicitTls(cert),
        PASS: (_a, s) => s.reply('530 Sorry, secure login failed'),
      },
    });
    const tlsErr = await caught(
      deploy({ ...options(overTls, tmpDir()), secure: 'explicit', tls: { rejectUnauthorized: false } }),
    );
    expect(tlsErr.message).toMatch(
      /^login to .* failed: 530 Sorry, secure login failed; check the user and password$/,
    );
  });

  it('the CLI (pure-ftpd -Y 2): exit 2, one line on stderr naming ftpes://', async () => {
    const srv = await fake({ handlers: { USER: refuseUser(cases[0].lines, true) } });
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a' });
    const r = await runCli(['deploy', local, `ftp://u@${srv.host}:${srv.port}/site`, '--timeout', '2000'], {
      FTPSHIP_PASSWORD: 'secret-pw',
    });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n').filter(Boolean)).toEqual([
      `ftpship: error: ${srv.host}:${srv.port} refuses a login over plain FTP (USER: 421 Sorry, cleartext sessions and weak ciphers are not accepted on this server.): ${CLI_HINT}`,
    ]);
  });
});

describe('a server hashing its own files (HASH, XSHA256): replies read strictly', () => {
  const data = Buffer.from('hello digest\n');
  const hex = '33e29fe050a8654c7c3b42061a455c61171a1e71377e54180aa9b9870fa18e70';

  it('XSHA256 (no HASH): the 64 hex digits of the reply, any case; HASH preferred when both are listed', async () => {
    const srv = await fake({
      features: ['EPSV', 'XSHA256'],
      handlers: { XSHA256: (_a, s) => s.reply(`250 ${hex.toUpperCase()}`) },
    });
    const c = await connect(srv);
    expect(c.sha256Command).toBe('XSHA256');
    expect(await c.sha256('/f')).toBe(hex);
    await c.quit();
    const both = await fake({ features: ['EPSV', 'XSHA256', 'HASH SHA-1*;SHA-256;MD5'] });
    const c2 = await connect(both);
    expect(c2.sha256Command).toBe('HASH');
    await c2.quit();
    const noSha256 = await fake({ features: ['EPSV', 'HASH SHA-1*;MD5', 'XSHA1'] });
    const c3 = await connect(noSha256);
    expect(c3.sha256Command).toBeUndefined();
    await c3.quit();
  });

  it('a HASH reply with no whole-file SHA-256 in it is an error; --adopt then downloads the file and compares it itself', async () => {
    const srv = await fake({
      features: ['EPSV', 'SIZE', 'HASH SHA-256'],
      handlers: {
        OPTS: (a, s) => s.reply(a.startsWith('HASH') ? '200 SHA-256' : '200 OK'),
        HASH: (_a, s) => s.reply(`213 SHA-256 0-5 ${'0'.repeat(63)} /f`), // 63 digits: not a SHA-256
      },
    });
    const c = await connect(srv);
    await expect(c.sha256('/f')).rejects.toThrow(/no SHA-256 in the reply to HASH/);
    await c.quit();

    const local = tmpDir();
    writeTree(local, { 'index.html': data });
    const lines = (entries: Array<[string, number]>): string =>
      entries.map(([n, size]) => `-rw-r--r--    1 1000     1000     ${size} Jan 01  2024 ${n}\r\n`).join('');
    const srv2 = await fake({
      features: ['EPSV', 'SIZE', 'HASH SHA-256'],
      handlers: {
        OPTS: (a, s) => s.reply(a.startsWith('HASH') ? '200 SHA-256' : '200 OK'),
        HASH: (_a, s) => s.reply('213 Computing, then nothing useful'),
        LIST: async (arg, s) => {
          if (!arg.endsWith('/site')) return s.reply('550 No such directory');
          s.reply('150 Here it comes');
          const sock = await s.dataSocket();
          sock.end(lines([['index.html', data.length]]));
          await new Promise((r) => sock.once('close', r));
          s.reply('226 Transfer complete');
        },
      },
    });
    srv2.files.set('/site/index.html', data);
    const report = await deploy({
      host: srv2.host,
      port: srv2.port,
      user: 'u',
      password: 'p',
      localDir: local,
      remoteDir: '/site',
      adopt: true,
      dryRun: true,
      retryDelayMs: 10,
      timeoutMs: 2000,
    });
    expect(report.counts).toMatchObject({ unchanged: 1, upload: 0, replace: 0 });
    expect(srv2.verbs()).toContain('HASH');
    expect(srv2.commands).toContain('RETR /site/index.html');
  });
});

describe('a server that resets the data connection of a RETR it refuses (FIELD.md §3: "Client is closed")', () => {
  /** Folders and renames on top of the fake server's files, so a whole deploy can run against it. */
  const dirs = new Set<string>(['/']);
  const handlers = {
    MKD: (arg: string, s: FakeSession) => {
      if (dirs.has(arg)) return s.reply('550 File exists');
      dirs.add(arg);
      s.reply(`257 "${arg}" created`);
    },
    CWD: (arg: string, s: FakeSession) => s.reply(dirs.has(arg) ? '250 OK' : '550 No such directory'),
    RMD: (arg: string, s: FakeSession) => s.reply(dirs.delete(arg) ? '250 Removed' : '550 No such directory'),
    RNFR: (arg: string, s: FakeSession) => {
      s.state.from = arg;
      s.reply(s.files.has(arg) ? '350 Ready' : '550 No such file');
    },
    RNTO: (arg: string, s: FakeSession) => {
      const from = s.state.from as string;
      s.files.set(arg, s.files.get(from) as Buffer);
      s.files.delete(from);
      s.reply('250 Renamed');
    },
    // A missing file: the data connection is accepted, then reset, and the refusal follows.
    RETR: async (arg: string, s: FakeSession) => {
      const file = s.files.get(arg);
      const data = await s.dataSocket();
      if (!file) {
        data.resetAndDestroy();
        return s.reply('550 No such file or directory');
      }
      s.reply('150 Opening data connection');
      data.end(file);
      await new Promise((resolve) => data.once('close', resolve));
      s.reply('226 Transfer complete');
    },
  };

  it('the missing state is a first deploy: the run goes on over the same connection, and the next run reads the state it wrote', async () => {
    const srv = await fake({ handlers });
    const local = tmpDir();
    writeTree(local, { 'index.html': 'hi', 'css/site.css': 'body{}' });
    const options = {
      localDir: local,
      host: srv.host,
      port: srv.port,
      user: 'u',
      password: 'p',
      remoteDir: '/site',
      timeoutMs: 2000,
      retryDelayMs: 10,
    };
    const first = await deploy(options);
    expect(first.counts).toMatchObject({ upload: 2 });
    expect(srv.files.get('/site/index.html')?.toString()).toBe('hi');
    expect(srv.files.get('/site/css/site.css')?.toString()).toBe('body{}');
    expect(srv.files.has('/site/.ftpship-state.json')).toBe(true);
    expect(srv.sessions.length).toBeLessThanOrEqual(4); // no reconnect storm: the reset was not a failure
    const again = await deploy(options);
    expect(again.counts).toMatchObject({ upload: 0, replace: 0, unchanged: 2 });
  });

  it("a 421 'No transfer timeout' in the middle of making folders (FIELD.md §3): the folders go on over new connections and the deploy completes", async () => {
    let cut = 0;
    const srv = await fake({
      handlers: {
        ...handlers,
        MKD: (arg: string, s: FakeSession) => {
          // Every session hangs up at its third MKD, as a server whose no-transfer timer ran out would.
          s.state.mkds = Number(s.state.mkds ?? 0) + 1;
          if (s.state.mkds === 3 && cut < 3) {
            cut++;
            s.reply('421 No transfer timeout (300 seconds): closing control connection');
            return s.close();
          }
          handlers.MKD(arg, s);
        },
      },
    });
    const local = tmpDir();
    const files: Record<string, string> = {};
    for (let i = 0; i < 12; i++) files[`d${i}/sub/f.txt`] = `file ${i}`;
    writeTree(local, files);
    const r = await deploy({
      localDir: local,
      host: srv.host,
      port: srv.port,
      user: 'u',
      password: 'p',
      remoteDir: '/deep',
      parallel: 2,
      timeoutMs: 2000,
      retryDelayMs: 10,
      // The first cut comes as the lock is taken (its MKD answered, the holder not yet written): the retry knows
      // the lock is its own (see the next test); a short stale time all the same, should it not.
      staleLockMs: 1000,
    });
    expect(cut).toBe(3);
    expect(r.counts).toMatchObject({ upload: 12, mkdir: 24 });
    for (let i = 0; i < 12; i++) expect(srv.files.get(`/deep/d${i}/sub/f.txt`)?.toString()).toBe(`file ${i}`);
  });

  it.each(['421', 'reset', 'close'] as const)(
    'cut (%s) right after the lock\'s first MKD was answered 257, before the holder is written: the retry names itself in its own lock at once (no wait for a holder, no "stale lock" warning)',
    async (how) => {
      const lock = `/${how}/.ftpship-state.json.lock`;
      let cut = false;
      const srv = await fake({
        handlers: {
          ...handlers,
          MKD: (arg: string, s: FakeSession) => {
            // '421': the lock's first MKD is made (257), then a 421 and the connection goes before the holder is
            // written. 'reset' / 'close': made (257), then the connection goes with no reply to the second MKD
            // of that write, so the pipelined write fails with only that 257 read.
            if (s.state.cut) return; // the second: no reply
            if (arg === lock && !cut) {
              cut = true;
              handlers.MKD(arg, s);
              if (how === '421') {
                s.reply('421 No transfer timeout (300 seconds): closing control connection');
                return s.close();
              }
              s.state.cut = true;
              // Reset once the 257 is written (on loopback it is read before the reset); closed after it.
              if (how === 'close') return s.close();
              s.socket.write('', () => s.socket.resetAndDestroy());
              return;
            }
            handlers.MKD(arg, s);
          },
        },
      });
      const local = tmpDir();
      writeTree(local, { 'index.html': 'hi' });
      const warnings: string[] = [];
      const infos: string[] = [];
      // The default stale time: another deploy would give this lock 15 s to be named before taking it over.
      const r = await deploy(
        {
          localDir: local,
          host: srv.host,
          port: srv.port,
          user: 'u',
          password: 'p',
          remoteDir: `/${how}`,
          timeoutMs: 2000,
          retryDelayMs: 10,
        },
        { warn: (m) => warnings.push(m), info: (m) => infos.push(m) },
      );
      expect(cut).toBe(true);
      expect(r.counts).toMatchObject({ upload: 1 });
      expect(srv.files.get(`/${how}/index.html`)?.toString()).toBe('hi');
      expect(warnings.filter((w) => /stale lock/.test(w))).toEqual([]);
      expect(infos.filter((m) => /names no deploy yet/.test(m))).toEqual([]);
      // The lock's commands, in order: made (257), cut; on the new connection refused (it is there), the holder
      // looked for, then written at once: no polling for a holder (CWD of the lock), no takeover (DELE, RMD, MKD).
      const onLock = srv.commands.filter((c) => c.includes(lock));
      const named = onLock.findIndex((c) => c.startsWith('STOR '));
      expect(named).toBeGreaterThan(0);
      const before = onLock.slice(0, named).map((c) => c.split(' ')[0]);
      expect(before.filter((v) => v !== 'SIZE' && v !== 'RETR')).toEqual(['MKD', 'MKD', 'MKD', 'MKD']);
      expect(onLock.slice(named + 1).map((c) => c.split(' ')[0])).not.toContain('MKD');
      expect(srv.files.has(`${lock}/holder.json`)).toBe(false); // released at the end
    },
  );

  it("cut right after the lock's MKD was answered 257, and a holder naming another deploy there on the retry: that lock is not taken (exit 3), nothing sent", async () => {
    const lock = '/other/.ftpship-state.json.lock';
    const now = new Date().toISOString();
    const theirs = JSON.stringify({
      token: 'theirs',
      holder: 'ftpship on other-host pid 42',
      startedAt: now,
      refreshedAt: now,
    });
    let cut = false;
    const srv = await fake({
      handlers: {
        ...handlers,
        MKD: (arg: string, s: FakeSession) => {
          if (arg === lock && !cut) {
            cut = true;
            handlers.MKD(arg, s);
            // Named by another deploy before the retry comes (as a lock removed by hand and taken again would be).
            s.files.set(`${lock}/holder.json`, Buffer.from(theirs));
            s.reply('421 No transfer timeout (300 seconds): closing control connection');
            return s.close();
          }
          handlers.MKD(arg, s);
        },
      },
    });
    const local = tmpDir();
    writeTree(local, { 'index.html': 'hi' });
    const err = await deploy({
      localDir: local,
      host: srv.host,
      port: srv.port,
      user: 'u',
      password: 'p',
      remoteDir: '/other',
      timeoutMs: 2000,
      retryDelayMs: 10,
    }).then(
      () => undefined,
      (e: unknown) => e as Error & { exitCode?: number },
    );
    expect(cut).toBe(true);
    expect(err?.exitCode).toBe(3);
    expect(err?.message).toMatch(/another deploy holds the lock .*other-host pid 42/);
    expect(srv.files.get(`${lock}/holder.json`)?.toString()).toBe(theirs);
    expect(srv.commands.filter((c) => c.startsWith('STOR '))).toEqual([]);
  });
});

/** Writes `chunks` 64 KiB chunks into `body` (a large upload's source), stopping once it is destroyed. */
async function feed(body: PassThrough, chunks: number): Promise<void> {
  for (let i = 0; i < chunks && !body.destroyed; i++) {
    if (!body.write(Buffer.alloc(64 * 1024, i))) await new Promise((r) => body.once('drain', r));
    await sleep(1);
  }
  body.end();
}

/** A fake server's answers to explicit TLS: AUTH TLS (then the handshake with `cert`), PBSZ and PROT. */
function explicitTls(cert: ReturnType<typeof selfSignedCert>): Record<string, FakeHandler> {
  return {
    AUTH: async (_a, s) => {
      s.reply('234 AUTH TLS OK');
      await s.startTls(cert);
    },
    PBSZ: (_a, s) => s.reply('200 PBSZ=0'),
    PROT: (_a, s) => s.reply('200 Protection level set to P'),
  };
}

describe('a TLS data connection whose handshake the server never answers', () => {
  it('the download fails with FtpTimeoutError after timeoutMs, the client closed, instead of waiting on the server', async () => {
    const cert = selfSignedCert();
    const srv = await fake({
      handlers: {
        ...explicitTls(cert),
        // 150, the data connection accepted, then nothing: no TLS on it, no reply.
        RETR: async (_a, s) => {
          s.reply('150 Here it comes');
          await s.dataSocket();
        },
      },
    });
    const client = await connectFake(srv, { secure: 'explicit', tls: { ca: cert.cert }, timeoutMs: 500 });
    const sink = new PassThrough();
    sink.resume();
    const err = await within(caught(client.download('f', sink)), 10_000);
    expect(err).toBeInstanceOf(FtpTimeoutError);
    expect(client.closed).toBe(true);
  });
});

describe('a TLS data connection presenting a certificate the control connection did not', () => {
  it('is refused (never used), and the error names the data connection, its host and port, and what to try', async () => {
    // The error was Node's bare "self-signed certificate": no host, no hint that the data connection, not the
    // login, was the one refused. The control connection's certificate was trusted; the data port's is not.
    const cert = selfSignedCert();
    const other = selfSignedCert(['elsewhere.test']);
    let dataPort = 0;
    const srv = await fake({
      handlers: {
        ...explicitTls(cert),
        RETR: async (_a, s) => {
          s.reply('150 Here it comes');
          const data = await s.dataSocket();
          dataPort = data.localPort ?? 0;
          const secure = new tls.TLSSocket(data, { isServer: true, ...other });
          secure.on('error', () => {});
        },
      },
    });
    const client = await connectFake(srv, { secure: 'explicit', tls: { ca: cert.cert }, timeoutMs: 500 });
    const sink = new PassThrough();
    const got: Buffer[] = [];
    sink.on('data', (c: Buffer) => got.push(c));
    const err = await within(caught(client.download('f', sink)), 10_000);
    expect(err).toBeInstanceOf(FtpTlsError);
    expect(err.message).toBe(
      `TLS handshake of a data connection with 127.0.0.1:${dataPort} failed: self-signed certificate — trust the server's CA with the \`ca\` option (--ca FILE), or opt out with rejectUnauthorized: false (--insecure)`,
    );
    expect(got).toEqual([]);
    expect(client.closed).toBe(true);
  });
});

describe('a TLS data connection the server resets, without close_notify, once the transfer is done (IIS)', () => {
  /** Takes an upload over a TLS data connection, then resets it: before its 226 or after it. */
  async function resetting(
    cert: ReturnType<typeof selfSignedCert>,
    order: 'reset, 226' | '226, reset',
    keep = (got: Buffer): Buffer => got,
  ) {
    const finish = async (s: FakeSession, raw: net.Socket, reply: string): Promise<void> => {
      if (order === '226, reset') {
        s.reply(reply);
        await sleep(20);
        raw.resetAndDestroy();
      } else {
        raw.resetAndDestroy();
        await sleep(20);
        s.reply(reply);
      }
    };
    return fake({
      handlers: {
        ...explicitTls(cert),
        STOR: async (arg, s) => {
          s.reply('150 Ok to send data');
          const raw = await s.dataSocket();
          const secure = new tls.TLSSocket(raw, { isServer: true, ...cert });
          secure.on('error', () => {});
          const got: Buffer[] = [];
          secure.on('data', (c: Buffer) => got.push(c));
          await new Promise((r) => secure.once('end', r)); // the client's close_notify: every byte is in
          s.files.set(arg, keep(Buffer.concat(got)));
          await finish(s, raw, '226 Transfer complete');
        },
      },
    });
  }

  it.each(['reset, 226', '226, reset'] as const)(
    "an upload sent whole: the server's 226 decides, the client stays usable (%s)",
    async (order) => {
      // The upload failed with "read ECONNRESET" and closed the client, though the server had the file and said
      // so; a deploy retried it on a new connection, where it failed the same way.
      const cert = selfSignedCert();
      const srv = await resetting(cert, order);
      const client = await connectFake(srv, { secure: 'explicit', tls: { ca: cert.cert } });
      const data = Buffer.alloc(300_000, 3);
      expect(await client.upload('f.bin', data)).toBe(data.length);
      expect(srv.files.get('f.bin')?.equals(data)).toBe(true);
      expect(client.closed).toBe(false);
      expect(await client.pwd()).toBe('/');
      await client.quit();
    },
  );

  it.each(['reset, 226', '226, reset'] as const)(
    'a server that confirms what it got before the reset, short of the whole: the upload fails, transient (%s)',
    async (order) => {
      // Taking the 226 on its word after a reset would have recorded a file the server holds half of (G4).
      const cert = selfSignedCert();
      const srv = await resetting(cert, order, (got) => got.subarray(0, 100_000));
      const client = await connectFake(srv, { secure: 'explicit', tls: { ca: cert.cert } });
      const err = await caught(client.upload('f.bin', Buffer.alloc(300_000, 3)));
      expect(err.message).toMatch(
        /^read ECONNRESET — the data connection was reset after the upload was sent, and the server, though it confirmed the upload, holds 100000 of its 300000 bytes: the rest was lost on the way; send it again$/,
      );
      expect(isTransientError(err)).toBe(true);
      expect(await client.pwd()).toBe('/');
      await client.quit();
    },
  );
});

describe('STARTTLS reply injection (CVE-2011-0411): plaintext after the 234 is never used', () => {
  let cert: { key: string; cert: string } | undefined;
  const tlsOptions = (): FtpConnectOptions['tls'] => ({ ca: cert?.cert });
  /** A server that sends `extra` in the same packet as its 234, then starts TLS or reads nothing more. */
  const injecting = async (extra: string, then: 'tls' | 'silence'): Promise<FakeServer> => {
    cert ??= selfSignedCert();
    const key = cert;
    return fake({
      handlers: {
        AUTH: (_a, s) => {
          s.write(`234 AUTH TLS ok\r\n${extra}`);
          if (then === 'tls') void s.startTls(key);
          else s.socket.removeAllListeners('data');
        },
        PBSZ: (_a, s) => s.reply('200 PBSZ=0'),
        PROT: (_a, s) => s.reply('200 Protection level set to P'),
      },
    });
  };
  // Replies for everything the client sends after the handshake, ending with an attacker's login folder.
  const forged = ['331 x', '230 x', '211 x', '200 x', '200 x', '200 x', '200 x', '257 "/attacker-chosen-dir"']
    .map((l) => `${l}\r\n`)
    .join('');

  it('whole replies queued with the 234: FtpTlsError, nothing sent over TLS (connect resolved with the forged folder)', async () => {
    const srv = await injecting(forged, 'tls');
    const started = Date.now();
    const err = await caught(connectFake(srv, { secure: 'explicit', tls: tlsOptions() }));
    expect(err).toBeInstanceOf(FtpTlsError);
    expect(err.message).toMatch(
      /^TLS handshake with 127\.0\.0\.1:\d+ failed: the server sent data before the TLS handshake, right after its 234 to AUTH TLS \("331 x\\n230 x/,
    );
    expect(Date.now() - started).toBeLessThan(1000);
    expect(srv.verbs()).toEqual(['AUTH']);
  });

  it('a partial line after the 234: the same error (it was glued to the first reply over TLS)', async () => {
    const srv = await injecting('257 "/attack', 'tls');
    const err = await caught(connectFake(srv, { secure: 'explicit', tls: tlsOptions() }));
    expect(err).toBeInstanceOf(FtpTlsError);
    expect(err.message).toContain('the server sent data before the TLS handshake');
    expect(srv.verbs()).toEqual(['AUTH']);
  });

  it('234 then plaintext and no TLS: a fast FtpTlsError, not "could not connect … within" after the timeout', async () => {
    const srv = await injecting('220 still plain\r\n', 'silence');
    const started = Date.now();
    const err = await caught(connectFake(srv, { secure: 'explicit', tls: tlsOptions(), timeoutMs: 3000 }));
    expect(err).toBeInstanceOf(FtpTlsError);
    expect(err.message).toContain('the server sent data before the TLS handshake');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('an honest server (nothing after the 234) still connects over TLS', async () => {
    const srv = await injecting('', 'tls');
    const client = await connectFake(srv, { secure: 'explicit', tls: tlsOptions() });
    expect(client.connection.isTls).toBe(true);
    expect(client.loginDir).toBe('/');
    await client.quit();
  });
});

/** A handler sending `body` over the data connection, as LIST, NLST or RETR does. */
const sendBody =
  (body: string | Buffer): FakeHandler =>
  async (_a, s) => {
    s.reply('150 Here it comes');
    const data = await s.dataSocket();
    data.end(body);
    await new Promise((r) => data.once('close', r));
    s.reply('226 Transfer complete');
  };

describe('NLST names are checked as list() checks them (G7)', () => {
  it('names with .., CR, NUL or a backslash are dropped, never cut down to their last part; dir/name is name', async () => {
    const lines = [
      'site/ok.txt',
      'site//also-ok.txt',
      'plain.txt',
      '../../etc/passwd',
      'site/../../up',
      '/abs/path',
      'other/x.txt',
      '..\\..\\win',
      'cr\rname',
      'nul\0name',
      '..',
      '.',
      'site/..',
    ];
    const srv = await fake({ handlers: { NLST: sendBody(lines.map((l) => `${l}\r\n`).join('')) } });
    const client = await connect(srv);
    expect(await client.nlst('site')).toEqual(['ok.txt', 'also-ok.txt', 'plain.txt']);
    expect(await client.nlst('site/')).toEqual(['ok.txt', 'also-ok.txt', 'plain.txt']);
    // Without a folder, only bare names (and ./name).
    expect(await client.nlst()).toEqual(['plain.txt']);
    await client.quit();
  });
});

describe('a listing of too many entries (memory: 8 million NLST names took 880 MB)', () => {
  it('more than 200 000 lines by default, or maxListingEntries: FtpProtocolError, the client closed', async () => {
    const srv = await fake({
      handlers: {
        NLST: async (arg, s) => sendBody(arg.includes('big') ? 'a\r\n'.repeat(200_001) : 'a\nb\nc\n')(arg, s),
      },
    });
    const client = await connect(srv);
    const err = await caught(client.nlst('big'));
    expect(err).toBeInstanceOf(FtpProtocolError);
    expect(err.message).toBe(
      'listing of more than 200000 entries (NLST -a big); refusing to buffer more — raise maxListingEntries if one folder really holds that many',
    );
    expect(client.closed).toBe(true);

    const capped = await connect(srv, undefined, { maxListingEntries: 3 });
    expect(await capped.nlst('small')).toEqual(['a', 'b', 'c']);
    await capped.quit();
    const tooMany = await connect(srv, undefined, { maxListingEntries: 2 });
    await expect(tooMany.nlst('small')).rejects.toThrow(/^listing of more than 2 entries/);
  });
});

describe('a download whose stream fails, an upload whose source stalls', () => {
  const big = Buffer.alloc(4 * 1024 * 1024, 1);

  it('a sink that errors part way fails the download with its error (it hung forever)', async () => {
    const srv = await fake({ handlers: { RETR: sendBody(big) } });
    const client = await connect(srv);
    let writes = 0;
    // Its write() returns true until the error, which comes between two writes (no 'drain' awaited then).
    const sink = new Writable({
      highWaterMark: 64 * 1024 * 1024,
      write(_c, _e, done) {
        if (++writes === 3) setImmediate(() => done(new Error('ENOSPC: no space left on device')));
        else done();
      },
    });
    const err = await caught(within(client.download('/f', sink), 3000));
    expect(err.message).toBe('ENOSPC: no space left on device');
    expect(client.closed).toBe(true);
  });

  it('a sink that fails after taking the last bytes (its write callback errs a moment later, as a file stream on a full disk does): the download fails with its error, not a success', async () => {
    const srv = await fake({
      handlers: {
        RETR: async (_a, s) => {
          s.reply('150 Here it comes');
          const data = await s.dataSocket();
          data.write('the whole file, in one piece');
          await sleep(100); // the sink fails meanwhile
          data.end();
          await new Promise((r) => data.once('close', r));
          s.reply('226 Transfer complete');
        },
      },
    });
    const client = await connect(srv);
    const sink = new Writable({
      highWaterMark: 1024 * 1024, // write() says "go on": no 'drain' is awaited
      write: (_c, _e, done) => setImmediate(() => done(new Error('ENOSPC: no space left on device'))),
    });
    sink.on('error', () => {});
    const err = await caught(within(client.download('/f', sink), 3000));
    expect(err.message).toBe('ENOSPC: no space left on device');
  });

  it("an upload's source that fails part way (a stream that errors): the upload fails with the source's error, not the server's answer to the cut data connection", async () => {
    const srv = await fake({
      handlers: {
        STOR: async (_a, s) => {
          s.reply('150 Ok to send data');
          const data = await s.dataSocket();
          await s.readAll(data);
          data.end();
          s.reply('426 Failure reading network stream.'); // vsftpd's answer to a data connection cut short
        },
      },
    });
    const client = await connect(srv);
    const source = new PassThrough();
    source.write(Buffer.alloc(1000, 3));
    setTimeout(() => source.destroy(new Error('EIO: i/o error, read')), 50);
    const err = await caught(within(client.upload('/cut.bin', source), 3000));
    expect(err.message).toBe('EIO: i/o error, read');
    expect(client.closed).toBe(true);
  });

  it('a sink destroyed part way fails the download', async () => {
    const srv = await fake({ handlers: { RETR: sendBody(big) } });
    const client = await connect(srv);
    const sink = new Writable({
      highWaterMark: 1024,
      write: (_c, _e, done) => setTimeout(done, 1),
    });
    setTimeout(() => sink.destroy(), 50);
    const err = await caught(within(client.download('/f', sink), 3000));
    expect(err.message).toBe('the stream given to download() closed before the download ended');
  });

  it('a source that stops giving bytes and never ends: FtpTimeoutError after timeoutMs, the client closed, not busy forever', async () => {
    const srv = await fake();
    const client = await connect(srv, 1000);
    const source = new PassThrough();
    source.write(Buffer.alloc(1000, 2));
    const started = Date.now();
    const err = await caught(within(client.upload('/stalled.bin', source), 4000));
    expect(err).toBeInstanceOf(FtpTimeoutError);
    expect(err.message).toBe(
      "STOR /stalled.bin: the upload's source gave no bytes for 1000 ms (a stream that never ends?)",
    );
    expect(Date.now() - started).toBeLessThan(2500);
    expect(client.closed).toBe(true);
    await expect(within(client.pwd(), 500)).rejects.toThrow(
      /^closed: STOR \/stalled.bin: the upload's source gave no bytes/,
    );
  });

  it('a slow source that keeps giving bytes within timeoutMs is uploaded whole', async () => {
    const srv = await fake();
    const client = await connect(srv, 1000);
    const source = new PassThrough();
    const feeding = (async () => {
      for (let i = 0; i < 4; i++) {
        source.write(Buffer.alloc(100, i));
        await sleep(400);
      }
      source.end();
    })();
    expect(await client.upload('/slow.bin', source)).toBe(400);
    await feeding;
    expect(srv.files.get('/slow.bin')?.length).toBe(400);
    await client.quit();
  });
});

describe('a full disk (not a quota): pure-ftpd and vsftpd answer the STOR with 451, not 552', () => {
  // Seen on a real pure-ftpd whose folder was a full tmpfs: "451-Error during write to file" then "451 Transfer
  // aborted"; vsftpd says "451 Failure writing to local file.". No test server can be made full, so scripted.
  /** A server whose STOR of a path `full` matches reads the bytes, then answers with `lines`. */
  const fullDisk = async (lines: string[], full: (path: string) => boolean): Promise<FakeServer> =>
    fake({
      handlers: {
        MKD: (a, s) => s.reply(`257 "${a}" created`),
        CWD: (_a, s) => s.reply('250 OK'),
        STOR: async (a, s) => {
          if (!s.hasDataChannel()) return s.reply('425 Use PORT or PASV first');
          s.reply('150 Ok to send data');
          const socket = await s.dataSocket();
          const data = await s.readAll(socket);
          socket.end();
          if (!full(a)) {
            s.files.set(a, data);
            return s.reply('226 Transfer complete');
          }
          s.reply(lines.join('\r\n'));
        },
      },
    });
  const run = async (srv: FakeServer): Promise<Error> => {
    const local = tmpDir();
    writeTree(local, { 'page.html': 'new page' });
    const o = { host: srv.host, port: srv.port, user: 'u', password: 'pw', timeoutMs: 2000, retries: 0 };
    return caught(deploy({ ...o, localDir: local, remoteDir: '/site' }));
  };

  it.each([
    ['pure-ftpd', ['451-Error during write to file', '451 Transfer aborted']],
    ['vsftpd', ['451 Failure writing to local file.']],
  ])(
    '%s: the error names the file, the reply and free space, not "try again later"',
    async (_name, lines) => {
      const err = await run(await fullDisk(lines, () => true));
      expect(err).toBeInstanceOf(DeployError);
      // Before: "upload page.html failed: 451 Error during write to file / Transfer aborted (try again later)".
      expect(err.message).toMatch(
        /^upload page\.html failed: 451 .*\(the server could not write it, most often because its disk or the account's disk quota is full; free space on the server or ask the host for more, then run again\)$/,
      );
    },
  );

  it('is not retried: each STOR is sent once, however many retries are allowed', async () => {
    for (const statePath of [false, true]) {
      const srv = await fullDisk(['451 Failure writing to local file.'], (p) =>
        statePath ? p.includes('.ftpship-state') : p.endsWith('page.html'),
      );
      const local = tmpDir();
      writeTree(local, { 'page.html': 'new page' });
      const o = { host: srv.host, port: srv.port, user: 'u', password: 'pw', timeoutMs: 2000 };
      const err = await caught(
        deploy({ ...o, retries: 3, retryDelayMs: 1, localDir: local, remoteDir: '/site' }),
      );
      expect(err).toBeInstanceOf(DeployError);
      const stors = srv.commands.filter((c) =>
        statePath ? /^STOR .*\.ftpship-state\.json\.tmp$/.test(c) : /^STOR .*page\.html$/.test(c),
      );
      // The state: the checkpoint before the upload (its failure is not fatal) and the final write, once each.
      // Before: 4 of the file, 8 of the state (the first try and 3 retries, each after a backoff).
      expect(stors).toHaveLength(statePath ? 2 : 1);
    }
  });

  it('the state file cannot be written (vsftpd): the error names it, the reply and free space', async () => {
    const err = await run(
      await fullDisk(['451 Failure writing to local file.'], (p) => p.includes('.ftpship-state')),
    );
    expect(err).toBeInstanceOf(DeployError);
    // Before: "… 451 Failure writing to local file. (refused through the retries: run the deploy again later)".
    expect(err.message).toMatch(
      /^cannot write the state file \/site\/\.ftpship-state\.json: 451 Failure writing to local file\. \(the server could not write it, most often because its disk or the account's disk quota is full: free space on the server or ask the host for more\)$/,
    );
  });
});
