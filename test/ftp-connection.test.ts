/**
 * The control connection's own duties, as a library user meets them: replies read whole however TCP cuts
 * them, the cap on a reply counted in characters, unasked replies told from owed ones, the command a reply
 * answers named in its error, a socket handed over connected, and the host name sent for the certificate
 * (SNI). Replies no real server sends come from the scripted fake server.
 */
import net from 'node:net';
import tls from 'node:tls';
import { describe, expect, it } from '@jest/globals';
import { FtpProtocolError, type FtpConnectOptions, type FtpClient } from '../src/ftp/index.js';
import { sleep, type FakeServer, type FakeSession } from './helpers/fake-server.js';
import { caught, connectFake, useFakeServer } from './helpers/fake-client.js';
import { selfSignedCert } from './helpers/cert.js';

const fake = useFakeServer();

const connect = async (srv: FakeServer, extra: Partial<FtpConnectOptions> = {}): Promise<FtpClient> =>
  connectFake(srv, { timeoutMs: 2000, ...extra });

describe('replies as TCP cuts them', () => {
  it('a multi-line reply whose last line is its code alone ("211"), a line per write: read whole', async () => {
    const lines = ['211-Features:', ' EPSV', ' SIZE', '211'];
    const srv = await fake({
      handlers: {
        STAT: async (_a, s) => {
          s.socket.setNoDelay(true);
          for (const l of lines) {
            s.write(`${l}\r\n`);
            await sleep(5); // a TCP segment per line
          }
        },
      },
    });
    const client = await connect(srv);
    expect(await client.send('STAT')).toEqual({ code: 211, message: 'Features:\n EPSV\n SIZE\n' });
    expect(await client.pwd()).toBe('/');
    await client.quit();
  });

  it('a reply of 3-byte characters under maxReplyBytes in characters, over it in bytes, cut before its line end: read whole', async () => {
    const text = '€'.repeat(15_000); // 15 000 characters, 45 000 bytes of UTF-8
    const bytes = Buffer.from(`200 ${text}\r\n`);
    const srv = await fake({
      handlers: {
        STAT: async (_a, s) => {
          s.socket.setNoDelay(true);
          s.write(bytes.subarray(0, 40_001)); // more bytes than the cap, no line end yet, a character cut
          await sleep(20);
          s.write(bytes.subarray(40_001));
        },
      },
    });
    const client = await connect(srv, { maxReplyBytes: 32 * 1024 });
    expect(await client.send('STAT')).toEqual({ code: 200, message: text });
    expect(client.closed).toBe(false);
    await client.quit();
  });

  it('ten pipelined commands, each answered with a 1xx and its final reply, all in one write: every reply read (two owed per command)', async () => {
    const srv = await fake({
      handlers: {
        SITE: (arg, s) => {
          const seen = ((s.state.seen as string[] | undefined) ?? []).concat(arg);
          s.state.seen = seen;
          if (seen.length === 10)
            s.write(seen.map((a) => `150 working on ${a}\r\n200 done ${a}\r\n`).join(''));
        },
      },
    });
    const client = await connect(srv);
    const commands = Array.from({ length: 10 }, (_, i) => `SITE job${i}`);
    expect(await client.pipeline(commands)).toEqual(
      commands.map((c) => ({ code: 200, message: `done ${c.slice(5)}` })),
    );
    expect(await client.pwd()).toBe('/');
    await client.quit();
  });

  it('ten pipelined commands, each answered with a 1xx and its final reply, in two writes of five: every reply read (a 1xx pays for no command)', async () => {
    const pairs = (args: string[]): string =>
      args.map((a) => `150 working on ${a}\r\n200 done ${a}\r\n`).join('');
    const srv = await fake({
      handlers: {
        SITE: async (arg, s) => {
          const seen = ((s.state.seen as string[] | undefined) ?? []).concat(arg);
          s.state.seen = seen;
          if (seen.length === 5) s.write(pairs(seen));
          if (seen.length < 10) return;
          await sleep(50); // the first five read meanwhile
          s.write(pairs(seen.slice(5)));
        },
      },
    });
    const client = await connect(srv);
    const commands = Array.from({ length: 10 }, (_, i) => `SITE job${i}`);
    const replies = await client.pipeline(commands);
    expect(replies).toEqual(commands.map((c) => ({ code: 200, message: `done ${c.slice(5)}` })));
    expect(await client.pwd()).toBe('/');
    await client.quit();
  });

  it('a reply that cannot be read, after a 150: the error names the command it answered', async () => {
    const srv = await fake({
      handlers: {
        SITE: async (_a, s) => {
          s.reply('150 working');
          await sleep(20); // read on its own
          s.reply('this is no reply');
        },
      },
    });
    const client = await connect(srv);
    const err = await caught(client.send('SITE SLOW'));
    expect(err).toBeInstanceOf(FtpProtocolError);
    expect(err.message).toBe(
      'malformed reply line from server: "this is no reply" (the reply to SITE SLOW from 127.0.0.1)',
    );
  });
});

describe('the socket and the TLS name', () => {
  it('a socketFactory handing over a socket connected already (a tunnel opened beforehand): the session starts, no wait for a connect that came before', async () => {
    const srv = await fake();
    const early = net.connect({ host: srv.host, port: srv.port });
    await new Promise<void>((resolve, reject) => {
      early.once('connect', resolve);
      early.once('error', reject);
    });
    let handed = false;
    const client = await connect(srv, {
      timeoutMs: 1500,
      socketFactory: (host, port) => {
        if (handed) return net.connect({ host, port }); // the data connections
        handed = true;
        return early;
      },
    });
    expect(handed).toBe(true);
    await client.upload('a.txt', Buffer.from('through the tunnel'));
    expect(srv.files.get('a.txt')?.toString()).toBe('through the tunnel');
    await client.quit();
  });

  it('a host name is sent as the TLS server name (SNI: a shared host picks the certificate by it); an address is not', async () => {
    const cert = selfSignedCert();
    const names: Array<string | false | null> = [];
    const srv = await fake({
      handlers: {
        AUTH: async (_a, s: FakeSession) => {
          s.reply('234 AUTH TLS OK');
          await s.startTls(cert);
          names.push((s.socket as tls.TLSSocket).servername);
        },
        PBSZ: (_a, s) => s.reply('200 PBSZ=0'),
        PROT: (_a, s) => s.reply('200 Protection level set to P'),
      },
    });
    for (const host of ['localhost', '127.0.0.1']) {
      const client = await connect(srv, { host, secure: 'explicit', tls: { ca: cert.cert } });
      await client.quit();
    }
    expect(names).toEqual(['localhost', false]);
  });
});
