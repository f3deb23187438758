import { PassThrough } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import {
  FtpArgumentError,
  FtpClient,
  FtpClosedError,
  FtpProtocolError,
  FtpReplyError,
  FtpTimeoutError,
  FtpTlsError,
  isTransientError,
  type FtpConnectOptions,
} from '../src/ftp/index.js';
import { isConnectionLimit } from '../src/engine/pool.js';
import { sleep, type FakeServer, type FakeSession } from './helpers/fake-server.js';
import { caught, connectFake, useFakeServer } from './helpers/fake-client.js';

const fake = useFakeServer();

const connect = async (srv: FakeServer, extra: Partial<FtpConnectOptions> = {}): Promise<FtpClient> =>
  connectFake(srv, { timeoutMs: 2000, ...extra });

describe('refusals: FtpReplyError, client stays usable', () => {
  it('carries code, command and the server text', async () => {
    const srv = await fake({ handlers: { MKD: (a, s) => s.reply(`550 ${a}: Permission denied`) } });
    const client = await connect(srv);
    const err = await caught(client.mkd('/site/new'));
    expect(err).toBeInstanceOf(FtpReplyError);
    expect(err).toMatchObject({
      code: 550,
      command: 'MKD /site/new',
      serverMessage: '/site/new: Permission denied',
    });
    expect(err.message).toBe('MKD /site/new: 550 /site/new: Permission denied');
    expect(await client.pwd()).toBe('/');
    await client.quit();
  });

  it('a wrong password is a 530 whose error shows PASS *** and never the password', async () => {
    const secret = 'hunter2-Secret!';
    const log: string[] = [];
    const srv = await fake({ handlers: { PASS: (_a, s) => s.reply('530 Login incorrect.') } });
    const err = await caught(connect(srv, { password: secret, log: (l) => log.push(l) }));
    expect(err).toBeInstanceOf(FtpReplyError);
    expect(err).toMatchObject({ code: 530, command: 'PASS ***' });
    const everything = [
      err.message,
      err.stack,
      JSON.stringify(err),
      (err as FtpReplyError).command,
      log.join('\n'),
    ].join('\n');
    expect(everything).not.toContain(secret);
    expect(log).toContain('> PASS ***');
    expect(srv.commands).toContain(`PASS ${secret}`); // it did reach the server
  });

  it('USER answered 230 (no password needed): the pipelined PASS is answered and skipped, the session in step', async () => {
    const handlers = {
      USER: (_a: string, s: FakeSession) => s.reply('230 Logged in, no password needed'),
      PASS: (_a: string, s: FakeSession) => s.reply('503 Already logged in'),
    };
    const srv = await fake({ handlers });
    const client = await connect(srv);
    expect(srv.commands.slice(0, 3)).toEqual(['USER u', 'PASS p', 'FEAT']);
    expect(await client.pwd()).toBe('/');
    await client.upload('a.txt', Buffer.from('ok'));
    expect(srv.files.get('a.txt')?.toString()).toBe('ok');
    // Without pipelining, PASS goes only when asked (331).
    const plain = await fake({ handlers });
    const quiet = await connect(plain, { pipelining: false });
    expect(await quiet.pwd()).toBe('/');
    expect(plain.commands.some((c) => c.startsWith('PASS'))).toBe(false);
    await Promise.all([client.quit(), quiet.quit()]);
  });

  it('a 421 greeting (too many connections) is a refusal at connect', async () => {
    const srv = await fake({
      greeting: (s) => {
        s.reply('421 Too many connections (3) from this IP');
        s.close();
      },
    });
    const err = await caught(connect(srv));
    expect(err).toBeInstanceOf(FtpReplyError);
    expect(err).toMatchObject({ code: 421, command: '(greeting)' });
    expect(err.message).toMatch(/421 Too many connections/);
    expect(srv.commands).toEqual([]);
  });

  it('waits through a 120 greeting for the 220', async () => {
    const srv = await fake({
      greeting: async (s) => {
        s.reply('120 Service ready in 1 minute');
        await sleep(50);
        s.reply('220 Ready now');
      },
    });
    const client = await connect(srv);
    expect(await client.pwd()).toBe('/');
    await client.quit();
  });

  it('waits through two 120 replies for the 220; the session stays in step', async () => {
    const srv = await fake({
      greeting: (s) => {
        s.reply('120 Service ready in 2 minutes');
        s.reply('120 Service ready in 1 minute');
        s.reply('220 Ready now');
      },
    });
    const client = await connect(srv);
    expect(await client.pwd()).toBe('/');
    await client.quit();
  });

  it('up to 20 1xx replies in a row are passed over; the 21st is a protocol error that closes the client', async () => {
    const srv = await fake({
      handlers: {
        // One at a time, as a slow server would send them: all at once, they are a flood (a different check).
        MKD: async (a, s) => {
          for (let i = 0; i < 20; i++) {
            s.reply('150 Working on it');
            await sleep(5);
          }
          s.reply(`257 "${a}" created`);
        },
        RMD: async (a, s) => {
          for (let i = 0; i < 21; i++) {
            s.reply('150 Working on it');
            await sleep(5);
          }
          s.reply(`250 "${a}" removed`);
        },
      },
    });
    const client = await connect(srv);
    await client.mkd('/new');
    const err = await caught(client.rmd('/new'));
    expect(err).toBeInstanceOf(FtpProtocolError);
    expect(err.message).toMatch(/20 preliminary \(1xx\) replies in a row and no final one/);
    expect(client.closed).toBe(true);
  });

  it('list() of a path whose MLSD is refused: a 4xx to the MLST that looks at it is that error, not "nothing there"', async () => {
    const srv = await fake({
      features: ['EPSV', 'MLST type*;size*;modify*;'],
      handlers: {
        MLSD: (a, s) => s.reply(`550 ${a}: Not a directory`),
        MLST: (_a, s) => s.reply('450 Try again later'),
      },
    });
    const client = await connect(srv);
    const err = await caught(client.list('/f'));
    expect(err).toBeInstanceOf(FtpReplyError);
    expect(err).toMatchObject({ code: 450, command: 'MLST /f' });
    expect(client.closed).toBe(false);
    await client.quit();
  });

  it.each([true, false])(
    'a 332 (account needed) after PASS and no account given (pipelining %s): a refusal of PASS, no ACCT sent',
    async (pipelining) => {
      const srv = await fake({ handlers: { PASS: (_a, s) => s.reply('332 Need account for login') } });
      const err = await caught(connect(srv, { pipelining }));
      expect(err).toBeInstanceOf(FtpReplyError);
      expect(err).toMatchObject({ code: 332, command: 'PASS ***' });
      expect(srv.verbs()).not.toContain('ACCT');
    },
  );

  it('a 1xx to a command that has no such step is passed over: the final reply answers it, the next command gets its own', async () => {
    // It was taken as MKD's answer (FtpReplyError 150), and the 257 after it answered the PWD that followed.
    const srv = await fake({
      handlers: {
        MKD: async (a, s) => {
          s.reply('150 Working on it');
          await sleep(30);
          s.reply(`257 "${a}" created`);
        },
        SIZE: (_a, s) => s.reply('150 Counting'), // and then nothing
      },
    });
    const log: string[] = [];
    const client = await connect(srv, { timeoutMs: 500, log: (l) => log.push(l) });
    await client.mkd('/new');
    expect(await client.pwd()).toBe('/');
    expect(log).toContain('! 150 is no final reply; waiting for the one that follows it');
    // A 1xx and then silence: the reply timeout, as for no reply at all, not an answer.
    const err = await caught(client.size('/f'));
    expect(err).toBeInstanceOf(FtpTimeoutError);
    expect(client.closed).toBe(true);
  });

  it('send(): a 1xx is passed over too, so the next call gets its own reply', async () => {
    // send() returned the 150, and the 200 after it answered the PWD that followed (it threw on "200 done").
    const srv = await fake({
      handlers: {
        SITE: async (_a, s) => {
          s.reply('150 Working on it');
          await sleep(30);
          s.reply('200 done');
        },
      },
    });
    const client = await connect(srv, { timeoutMs: 2000 });
    expect(await client.send('SITE SLOW')).toEqual({ code: 200, message: 'done' });
    expect(await client.pwd()).toBe('/');
    await client.quit();
  });

  it('CR, LF or NUL in an argument is refused before anything is sent', async () => {
    const srv = await fake();
    const client = await connect(srv);
    const before = srv.commands.length;
    for (const bad of ['a\r\nDELE b', 'a\nb', 'a\0b']) {
      const err = await caught(client.delete(bad));
      expect(err).toBeInstanceOf(FtpArgumentError);
    }
    await expect(client.upload('x\ry', Buffer.from('1'))).rejects.toThrow(FtpArgumentError);
    await expect(client.rename('a', 'b\nDELE c')).rejects.toThrow(FtpArgumentError);
    await sleep(20);
    expect(srv.commands.slice(before)).toEqual([]);
    expect(await client.pwd()).toBe('/');
    await client.quit();
  });
});

describe('session-ending errors: later calls fail with "closed: <cause>"', () => {
  it('a reply that never ends times out with a clear error', async () => {
    const srv = await fake({
      handlers: {
        SYST: async (_a, s) => {
          s.write('257-"/" is\r\n'); // multiline, never finished (SYST: PWD is part of the login)
          await s.drip('still going', 100);
        },
      },
    });
    const client = await connect(srv, { timeoutMs: 500 });
    const started = Date.now();
    const err = await caught(client.send('SYST'));
    expect(err).toBeInstanceOf(FtpTimeoutError);
    expect(err.message).toBe(
      'no reply to SYST from 127.0.0.1 within 500 ms; if the server is only slow, raise timeoutMs',
    );
    expect(Date.now() - started).toBeLessThan(1500);
    expect(client.closed).toBe(true);
    const later = await caught(client.size('x'));
    expect(later).toBeInstanceOf(FtpClosedError);
    expect(later.message).toBe(
      'closed: no reply to SYST from 127.0.0.1 within 500 ms; if the server is only slow, raise timeoutMs',
    );
    expect(later.cause).toBe(err);
  });

  it("a server that says 421 and hangs up while the client is idle: the next call's error gives its reason", async () => {
    // An idle timeout (vsftpd: "421 Timeout.", pure-ftpd, proftpd alike), or a shutdown. The reason was lost:
    // "closed: connection to 127.0.0.1 closed by the server".
    const srv = await fake();
    const client = await connect(srv);
    const [session] = srv.sessions;
    session.reply('421 Idle timeout (300 seconds): closing control connection');
    session.socket.end();
    await new Promise((resolve) => session.socket.once('close', resolve));
    await sleep(50);
    const err = await caught(client.pwd());
    expect(err).toBeInstanceOf(FtpClosedError);
    expect(err.message).toBe(
      'closed: connection to 127.0.0.1 closed by the server while the session was idle (it said: 421 Idle timeout (300 seconds): closing control connection); ' +
        'servers end a session left idle for a while: FtpClient.connect() opens a new session',
    );
    expect(isTransientError(err)).toBe(true);
  });

  it('a 10 MB reply line is an error with bounded memory', async () => {
    const srv = await fake({
      handlers: {
        SYST: async (_a, s) => {
          const chunk = Buffer.alloc(64 * 1024, 'x');
          s.write('257 "');
          for (let i = 0; i < 160 && !s.socket.destroyed; i++) {
            s.write(chunk);
            await sleep(0);
          }
          s.write('"\r\n');
        },
      },
    });
    const client = await connect(srv);
    const heapBefore = process.memoryUsage().heapUsed;
    const err = await caught(client.send('SYST'));
    expect(err).toBeInstanceOf(FtpProtocolError);
    expect(err.message).toMatch(/server reply longer than 65536 bytes/);
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(8 * 1024 * 1024);
    await expect(client.send('SYST')).rejects.toThrow(/^closed: server reply longer than 65536 bytes/);
  });

  it('garbage instead of a reply closes the client', async () => {
    const srv = await fake({ handlers: { SYST: (_a, s) => s.write('SSH-2.0-OpenSSH_9.2\r\n') } });
    const client = await connect(srv);
    await expect(client.send('SYST')).rejects.toThrow(
      /malformed reply line from server: "SSH-2.0-OpenSSH_9.2"/,
    );
    await expect(client.send('SYST')).rejects.toThrow(FtpClosedError);
  });

  it('the server hanging up mid-download fails the download and closes the client', async () => {
    const srv = await fake({
      handlers: {
        RETR: async (_a, s) => {
          s.reply('150 Here it comes');
          const data = await s.dataSocket();
          data.write(Buffer.alloc(1000));
          await sleep(50);
          data.destroy();
          s.socket.destroy();
        },
      },
    });
    const client = await connect(srv);
    const sink = new PassThrough();
    sink.resume();
    const err = await caught(client.download('x', sink));
    expect(err).not.toBeInstanceOf(FtpReplyError);
    expect(client.closed).toBe(true);
    const later = await caught(client.send('SYST'));
    expect(later.message).toMatch(/^closed: /);
    // Cut while a call ran: not said to be an idle timeout.
    expect(later.message).not.toMatch(/idle/);
  });

  it('a data connection that goes silent times out and closes the client', async () => {
    const srv = await fake({
      handlers: {
        RETR: async (_a, s) => {
          s.reply('150 Here it comes');
          (await s.dataSocket()).write('a little, then nothing');
        },
      },
    });
    const client = await connect(srv, { timeoutMs: 400 });
    const sink = new PassThrough();
    sink.resume();
    const err = await caught(client.download('x', sink));
    expect(err).toBeInstanceOf(FtpTimeoutError);
    expect(err.message).toMatch(/data connection idle for 400 ms/);
    await expect(client.send('SYST')).rejects.toThrow(
      'closed: RETR x: data connection idle for 400 ms; if the server is only slow, raise timeoutMs',
    );
  });

  it("an EPSV port that cannot be read, pipelined with the RETR: the client closes, never reads the RETR reply as the next command's", async () => {
    let epsv = 0;
    const srv = await fake({
      handlers: {
        EPSV: async (_a, s) => {
          if (++epsv === 2) return s.reply('229 Entering Extended Passive Mode (|||0|)');
          s.reply(`229 Entering Extended Passive Mode (|||${await s.listenPassive()}|)`);
        },
      },
    });
    srv.files.set('a', Buffer.from('one'));
    srv.files.set('b', Buffer.from('two'));
    const client = await connect(srv);
    const sink = new PassThrough();
    sink.resume();
    await client.download('a', sink); // EPSV works: the next one goes in one write with its RETR
    const err = await caught(client.download('a', sink));
    expect(err).toBeInstanceOf(FtpProtocolError);
    expect(err.message).toMatch(/cannot read a port from the EPSV reply/);
    expect(srv.commands.slice(-2)).toEqual(['EPSV', 'RETR a']);
    // The RETR's own reply (425) is still on its way: a later SIZE must not take it for its answer.
    await expect(client.size('b')).rejects.toThrow(/^closed: cannot read a port from the EPSV reply/);
    expect(client.closed).toBe(true);
  });

  it('nlst(folder), listed from inside: a data connection gone silent is the timeout itself, not the CWD back that follows', async () => {
    const srv = await fake({
      handlers: {
        CWD: (_a, s) => s.reply('250 OK'),
        NLST: async (_a, s) => {
          s.reply('150 Here it comes');
          (await s.dataSocket()).write('a.txt\r\n');
        },
      },
    });
    const client = await connect(srv, { timeoutMs: 400 });
    const err = await caught(client.nlst('site'));
    expect(err).toBeInstanceOf(FtpTimeoutError);
    expect(err.message).toMatch(/data connection idle for 400 ms/);
    expect(client.closed).toBe(true);
  });

  it('calls queued behind a failing one fail too, with the cause', async () => {
    const srv = await fake({ handlers: { SYST: () => {} } });
    const client = await connect(srv, { timeoutMs: 300 });
    const results = await Promise.allSettled([client.send('SYST'), client.size('a'), client.mkd('b')]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    const reasons = results.map((r) => String((r as PromiseRejectedResult).reason.message));
    expect(reasons[0]).toMatch(/^no reply/);
    expect(reasons[1]).toMatch(/^closed: no reply/);
    expect(srv.verbs()).not.toContain('SIZE');
  });
});

describe('TLS asked for, server refuses (G5)', () => {
  it.each(['500 AUTH not understood', '502 Command not implemented', '534 Policy requires plaintext'])(
    'AUTH TLS answered %j is an error, and no USER or PASS is ever sent',
    async (answer) => {
      const srv = await fake({ handlers: { AUTH: (_a, s) => s.reply(answer) } });
      const err = await caught(connect(srv, { secure: 'explicit' }));
      expect(err).toBeInstanceOf(FtpReplyError);
      expect((err as FtpReplyError).command).toBe('AUTH TLS');
      expect(err.message).toContain(answer);
      await sleep(20);
      expect(srv.verbs()).toEqual(['AUTH']);
    },
  );

  it('a 234 followed by plaintext (no TLS handshake) fails, never falls back', async () => {
    const srv = await fake({
      handlers: {
        AUTH: (_a, s) => {
          s.reply('234 Sure');
          s.reply('220 just kidding, still plaintext');
        },
      },
    });
    const err = await caught(connect(srv, { secure: 'explicit', timeoutMs: 1000 }));
    expect(err).toBeInstanceOf(FtpTlsError);
    await sleep(20);
    // What follows AUTH is our TLS ClientHello (binary), never a USER or PASS in the clear.
    expect(srv.verbs()).not.toContain('USER');
    expect(srv.commands.some((c) => c.includes('PASS'))).toBe(false);
  });
});

describe('isTransientError (what the deploy pool retries)', () => {
  it('a server hanging up at the greeting is transient; a TLS or protocol failure is not', async () => {
    const hangUp = await fake({ greeting: (s) => void s.socket.destroy() });
    const hung = await caught(connect(hangUp));
    expect(hung.message).toMatch(/closed by the server/);
    expect(isTransientError(hung)).toBe(true);
    await hangUp.close();
    const garbage = await fake({ greeting: (s) => s.write('SSH-2.0-OpenSSH\r\n') });
    expect(isTransientError(await caught(connect(garbage)))).toBe(false);
    expect(isTransientError(new FtpReplyError(421, 'Too many', '(greeting)'))).toBe(true);
    expect(isTransientError(new FtpReplyError(530, 'Login incorrect', 'PASS ***'))).toBe(false);
  });
});

describe('isConnectionLimit (a login refused for the server limit, asked again; never a wrong password)', () => {
  it.each([
    [530, 'Sorry, the maximum number of clients (2) for this user are already connected.', true],
    [530, 'Sorry, the maximum number of clients (3) from your host are already connected.', true],
    [421, 'Too many connections (2) from this IP', true],
    [421, 'There are too many connections from your internet address.', true],
    [421, 'Too many users logged in for this account. Try again later.', true],
    [530, 'Login incorrect.', false],
    [530, 'Too many failed login attempts, try again later', false],
    [421, 'Temporarily banned for too many failed login attempts', false],
    [550, 'Too many files open', false],
    [421, 'Service not available, closing control connection.', false],
  ])('%i %s -> %s', (code, text, limit) => {
    expect(isConnectionLimit(new FtpReplyError(code, text, 'PASS ***'))).toBe(limit);
  });
});
