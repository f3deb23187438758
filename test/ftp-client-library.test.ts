/**
 * The FTP client as a library user (of Python's ftplib, say) meets it: close() during a call, a PWD reply
 * that is not RFC 959's, timeouts that say what timed out and what to do. Replies no real server sends (or
 * sends only when broken) come from the scripted fake server.
 */
import net from 'node:net';
import util from 'node:util';
import { Writable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import {
  FtpClient,
  FtpClosedError,
  FtpProtocolError,
  FtpTimeoutError,
  FtpTlsError,
  repliesBeforeFailure,
  type FtpConnectOptions,
} from '../src/ftp/index.js';
import { sleep, type FakeServer, type FakeSession } from './helpers/fake-server.js';
import { caught, connectFake, useFakeServer } from './helpers/fake-client.js';
import { unusedPort } from './helpers/ports.js';

const fake = useFakeServer();

const connect = async (srv: FakeServer, extra: Partial<FtpConnectOptions> = {}): Promise<FtpClient> =>
  connectFake(srv, { timeoutMs: 2000, ...extra });

/** A handler that never answers (a server busy elsewhere, or hung). */
const silent = (): void => {};

describe('close() while a call is in flight', () => {
  it('the call fails with FtpClosedError naming the command cut off; later calls say the client was closed', async () => {
    // Was a plain Error "the client was closed", naming nothing and of no FtpError kind.
    const srv = await fake({ handlers: { MKD: silent } });
    const client = await connect(srv);
    const inFlight = caught(client.mkd('/site/new'));
    while (!srv.commands.includes('MKD /site/new')) await sleep(5);
    client.close();
    const err = await inFlight;
    expect(err).toBeInstanceOf(FtpClosedError);
    expect(err.message).toBe(
      'closed: the client was closed by close() while MKD /site/new waited for its reply; whether the server carried it out is unknown',
    );
    expect((err as FtpClosedError).command).toBe('MKD /site/new');
    const later = await caught(client.pwd());
    expect(later).toBeInstanceOf(FtpClosedError);
    expect(later.message).toBe(
      'closed: the client was closed by close(); FtpClient.connect() opens a new session',
    );
    expect((later as FtpClosedError).command).toBeUndefined();
  });
});

describe('a write of several commands cut before its last reply', () => {
  /** MKD answered 257, then the connection reset (or closed) with the next command unanswered. */
  const cutAfterFirst = (how: 'reset' | 'close') => ({
    MKD: (arg: string, s: FakeSession) => {
      if (s.state.cut) return;
      s.state.cut = true;
      s.reply(`257 "${arg}" created`);
      if (how === 'close') return s.close();
      s.socket.write('', () => s.socket.resetAndDestroy());
    },
  });

  it.each(['reset', 'close'] as const)(
    'pipeline() (%s): rejects, and the replies read before go with the error (repliesBeforeFailure)',
    async (how) => {
      // Were lost: a caller could not tell that its first MKD had made the folder.
      const srv = await fake({ handlers: cutAfterFirst(how) });
      const client = await connect(srv);
      const err = await caught(client.pipeline(['MKD /a', 'MKD /b', 'NOOP']));
      expect(repliesBeforeFailure(err).map((r) => r.code)).toEqual([257]);
      expect(repliesBeforeFailure(new Error('other'))).toEqual([]);
    },
  );

  it.each(['reset', 'close'] as const)(
    "download()'s `before` commands (%s): the replies read before go with the error, `replies` is not called",
    async (how) => {
      const srv = await fake({ handlers: cutAfterFirst(how) });
      const client = await connect(srv);
      let called = false;
      const sink = new Writable({ write: (_c, _e, done) => done() });
      const err = await caught(
        client.download('/f', sink, {
          before: { commands: ['MKD /a', 'MKD /a'], replies: () => (called = true) },
        }),
      );
      expect(called).toBe(false);
      expect(repliesBeforeFailure(err).map((r) => r.code)).toEqual([257]);
    },
  );
});

describe('a client printed or serialised', () => {
  // console.log(client), util.inspect() in a debug log, or JSON.stringify() of an object holding the client
  // showed the connect() options whole: `password: '…'` in the log.
  it('never shows the password or the account, and still logs in with them', async () => {
    // A server that asks for an account after the password (332), so that both are sent.
    const srv = await fake({
      handlers: {
        PASS: (_a, s) => s.reply('332 Need account for login'),
        ACCT: (_a, s) => s.reply('230 In'),
      },
    });
    const client = await connectFake(srv, { password: 'Pw-not-shown-1', account: 'Acct-not-shown-2' });
    const shown = [
      util.inspect(client, { depth: Infinity, showHidden: true }),
      JSON.stringify(client, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v)),
    ].join('\n');
    expect(shown).toContain('"u"'); // the options are there
    expect(shown).not.toContain('Pw-not-shown-1');
    expect(shown).not.toContain('Acct-not-shown-2');
    expect(srv.commands).toEqual(expect.arrayContaining(['PASS Pw-not-shown-1', 'ACCT Acct-not-shown-2']));
    await client.quit();
  });
});

describe('PWD replies that are not in quotes', () => {
  it('a path without quotes (257 /home/user is …) is read, at login and by pwd()', async () => {
    const srv = await fake({
      handlers: { PWD: (_a, s) => s.reply('257 /home/user is the current directory') },
    });
    const client = await connect(srv);
    expect(client.loginDir).toBe('/home/user');
    expect(await client.pwd()).toBe('/home/user');
    await client.quit();
  });

  it('a reply naming no folder (an unclosed quote) is an FtpProtocolError saying what to do; the client stays usable', async () => {
    const srv = await fake({
      handlers: { PWD: (_a, s) => s.reply('257 "/home/user is the current directory') },
    });
    const client = await connect(srv);
    expect(client.loginDir).toBeUndefined();
    const err = await caught(client.pwd());
    expect(err).toBeInstanceOf(FtpProtocolError);
    expect(err.message).toBe(
      `the server's reply to PWD names no folder that can be read (RFC 959 puts it in double quotes): ` +
        `"257 \\"/home/user is the current directory"; the client is still usable: give absolute paths ` +
        `(starting with /), which do not depend on the current folder`,
    );
    expect(client.closed).toBe(false);
    srv.files.set('/home/user/a.txt', Buffer.from('abc'));
    expect(await client.size('/home/user/a.txt')).toBe(3);
    await client.quit();
  });
});

describe('timeouts name the command, the time and what to do', () => {
  it('no reply to a command: its name, timeoutMs, and "raise timeoutMs"; later calls carry the same cause', async () => {
    // Was "no reply from 127.0.0.1 within 300 ms": which call, and what to change, were left out.
    const srv = await fake({ handlers: { SIZE: silent } });
    const client = await connect(srv, { timeoutMs: 300 });
    const err = await caught(client.size('/site/big.iso'));
    expect(err).toBeInstanceOf(FtpTimeoutError);
    expect(err.message).toBe(
      'no reply to SIZE /site/big.iso from 127.0.0.1 within 300 ms; if the server is only slow, raise timeoutMs',
    );
    expect(err).toMatchObject({ command: 'SIZE /site/big.iso', timeoutMs: 300 });
    const later = await caught(client.pwd());
    expect(later).toBeInstanceOf(FtpClosedError);
    expect(later.cause).toBe(err);
  });

  it('a connection not made in time names the address, the time, and what to check and raise', async () => {
    // A socket that never connects (a firewall dropping the SYN): only the timeout ends it.
    const err = await caught(
      FtpClient.connect({
        host: '192.0.2.1',
        port: 2121,
        timeoutMs: 200,
        socketFactory: () => new net.Socket(),
      }),
    );
    expect(err).toBeInstanceOf(FtpTimeoutError);
    expect(err.message).toBe(
      'could not connect to 192.0.2.1:2121 within 200 ms; check the host, the port and the firewall; if the server is only slow, raise timeoutMs',
    );
    expect(err).toMatchObject({ timeoutMs: 200 });
  });

  // Were Node's own errors, "connect ECONNREFUSED 127.0.0.1:20001" and "getaddrinfo ENOTFOUND …" (saying nothing to
  // try), and with implicit TLS an FtpTlsError "TLS handshake … failed" with no code, though no TLS had begun.
  it.each([false, 'implicit'] as const)(
    "a connection refused (secure: %p) names the address and what to check, keeping Node's code",
    async (secure) => {
      const port = await unusedPort();
      const err = await caught(FtpClient.connect({ host: '127.0.0.1', port, secure, timeoutMs: 5000 }));
      expect(err).not.toBeInstanceOf(FtpTlsError);
      expect(err.message).toBe(
        `cannot connect to 127.0.0.1:${port}: connection refused (ECONNREFUSED); check the host and the port, and that the FTP server is running`,
      );
      expect(err).toMatchObject({ code: 'ECONNREFUSED', cause: { code: 'ECONNREFUSED' } });
    },
  );

  it.each([false, 'implicit'] as const)(
    "a host name that does not exist (secure: %p) says so and to check the name, keeping Node's code",
    async (secure) => {
      const err = await caught(
        FtpClient.connect({ host: 'no-such-host.invalid', port: 2121, secure, timeoutMs: 5000 }),
      );
      expect(err).not.toBeInstanceOf(FtpTlsError);
      expect(err.message).toBe(
        'cannot connect to no-such-host.invalid:2121: host "no-such-host.invalid" not found (ENOTFOUND); check the server name',
      );
      expect(err).toMatchObject({ code: 'ENOTFOUND' });
    },
  );

  it("another failure to connect (no route to the host) names the address and keeps Node's error and code", async () => {
    const unreachable = (): net.Socket => {
      const socket = new net.Socket();
      setImmediate(() =>
        socket.destroy(
          Object.assign(new Error('connect EHOSTUNREACH 192.0.2.1:2121'), {
            code: 'EHOSTUNREACH',
            syscall: 'connect',
          }),
        ),
      );
      return socket;
    };
    const err = await caught(
      FtpClient.connect({ host: '192.0.2.1', port: 2121, timeoutMs: 5000, socketFactory: unreachable }),
    );
    expect(err.message).toBe(
      'cannot connect to 192.0.2.1:2121: connect EHOSTUNREACH 192.0.2.1:2121; check the host, the port and the firewall',
    );
    expect(err).toMatchObject({ code: 'EHOSTUNREACH' });
  });

  it('an IPv6 address is named in brackets before its port: [2001:db8::1]:2121, not 2001:db8::1:2121', async () => {
    const err = await caught(
      FtpClient.connect({
        host: '2001:db8::1',
        port: 2121,
        timeoutMs: 200,
        socketFactory: () => new net.Socket(),
      }),
    );
    expect(err).toBeInstanceOf(FtpTimeoutError);
    // Was "could not connect to 2001:db8::1:2121": which part is the port? (RFC 3986 puts the address in brackets.)
    expect(err.message).toBe(
      'could not connect to [2001:db8::1]:2121 within 200 ms; check the host, the port and the firewall; if the server is only slow, raise timeoutMs',
    );
  });

  it('a download whose data connection goes quiet: RETR and its path, the idle time, and "raise timeoutMs"', async () => {
    const srv = await fake({
      handlers: {
        RETR: async (_a, s: FakeSession) => {
          s.reply('150 Here it comes');
          const data = await s.dataSocket();
          data.write('first bytes, then nothing');
        },
      },
    });
    const client = await connect(srv, { timeoutMs: 300 });
    const sink = new Writable({ write: (_c, _e, done) => done() });
    const err = await caught(client.download('/site/page.html', sink));
    expect(err).toBeInstanceOf(FtpTimeoutError);
    expect(err.message).toBe(
      'RETR /site/page.html: data connection idle for 300 ms; if the server is only slow, raise timeoutMs',
    );
    expect(err).toMatchObject({ command: 'RETR /site/page.html', timeoutMs: 300 });
  });
});

describe('replies: long, multi-line, split anywhere, or not FTP at all', () => {
  const multi = [
    '211-Status of fake FTP:',
    '    Connected to 127.0.0.1',
    '211-a line in the "ddd-" form',
    ' 211 not the end: it starts with a space',
    '211 End of status',
  ];

  it('a multi-line reply split in two TCP writes at every byte gives the same reply', async () => {
    const text = Buffer.from(multi.map((l) => `${l}\r\n`).join(''));
    const srv = await fake({
      handlers: {
        STAT: async (arg, s) => {
          s.socket.setNoDelay(true);
          const at = Number(arg);
          s.write(text.subarray(0, at));
          await sleep(1); // two TCP segments, not one
          s.write(text.subarray(at));
        },
      },
    });
    const client = await connect(srv);
    const expected = {
      code: 211,
      message: [
        'Status of fake FTP:',
        '    Connected to 127.0.0.1',
        'a line in the "ddd-" form',
        ' 211 not the end: it starts with a space',
        'End of status',
      ].join('\n'),
    };
    for (let at = 0; at <= text.length; at++) expect(await client.send(`STAT ${at}`)).toEqual(expected);
    expect(await client.pwd()).toBe('/');
    await client.quit();
  });

  it('a 1500-line reply (54 KB) dripped in 7-byte writes is read whole; one over maxReplyBytes names the command and the option', async () => {
    const lines = Array.from(
      { length: 1500 },
      (_, i) => ` line ${String(i).padStart(5, '0')} of a long HELP`,
    );
    const text = ['214-The following commands are recognized:', ...lines, '214 Help OK.']
      .map((l) => `${l}\r\n`)
      .join('');
    const srv = await fake({
      handlers: {
        HELP: async (_a, s) => {
          for (let i = 0; i < text.length; i += 7) s.write(text.slice(i, i + 7));
        },
      },
    });
    const client = await connect(srv);
    const reply = await client.send('HELP');
    expect(reply.code).toBe(214);
    expect(reply.message.split('\n')).toHaveLength(1502);
    expect(reply.message.split('\n')[1500]).toBe(lines[1499]);
    await client.quit();

    const small = await connect(srv, { maxReplyBytes: 32 * 1024 });
    const err = await caught(small.send('HELP'));
    expect(err).toBeInstanceOf(FtpProtocolError);
    expect(err.message).toBe(
      `server reply longer than 32768 bytes; refusing to buffer more (the reply to HELP from 127.0.0.1): raise maxReplyBytes if this server's replies are really that long`,
    );
    expect(small.closed).toBe(true);
  });

  it('a greeting that is not FTP (an SSH server on the port) says to check the host and port', async () => {
    // Was "malformed reply line from server: \"SSH-2.0-OpenSSH_9.2\"" alone.
    const srv = await fake({ greeting: (s) => s.write('SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n') });
    const err = await caught(connect(srv));
    expect(err).toBeInstanceOf(FtpProtocolError);
    expect(err.message).toBe(
      'malformed reply line from server: "SSH-2.0-OpenSSH_9.2p1 Debian-2" (the greeting from 127.0.0.1): is this an ' +
        'FTP server? Check the host and port (SFTP, usually on port 22, is another protocol)',
    );
  });
});
