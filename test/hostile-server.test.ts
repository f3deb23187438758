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
import { PassThrough } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { FtpClient, FtpTimeoutError, FtpReplyError, isTransientError } from '../src/ftp/index.js';
import { deploy, DeployError } from '../src/index.js';
import { sleep, type FakeServer } from './helpers/fake-server.js';
import { caught, connectFake, useFakeServer } from './helpers/fake-client.js';
import { runCli } from './helpers/cli.js';
import { tmpDir, writeTree } from './helpers/tmp.js';

const fake = useFakeServer();

const connect = async (srv: FakeServer, timeoutMs = 2000): Promise<FtpClient> =>
  connectFake(srv, { timeoutMs });

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
    expect(err.message).toBe('no reply from 127.0.0.1 within 1500 ms');
    expect(took).toBeGreaterThanOrEqual(1400);
    expect(took).toBeLessThan(2500); // the bound: timeoutMs per reply, whatever the drip rate
    expect(client.closed).toBe(true);
  });
});

describe('a server that closes in the middle of a transfer', () => {
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
    const feeding = (async () => {
      for (let i = 0; i < 400 && !body.destroyed; i++) {
        if (!body.write(Buffer.alloc(64 * 1024, i))) await new Promise((r) => body.once('drain', r));
        await sleep(1);
      }
      body.end();
    })();
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
    expect(err.message).toMatch(/421 Too many connections/);
    expect(err.message).not.toContain('secret-pw');
    expect(err.message.split('\n')).toHaveLength(1);
    expect(srv.verbs()).not.toContain('STOR');
  });

  it('the CLI: exit 1, one line on stderr, nothing on stdout', async () => {
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
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^ftpship: error: .*127\.0\.0\.1:\d+.*421 Too many connections/);
    expect(r.stderr).not.toContain('secret-pw');
  });
});
