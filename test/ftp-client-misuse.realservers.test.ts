/**
 * The client misused as a library may be (see README, Library): each gives a clear error on the real servers,
 * and the client goes on.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, expect, it } from '@jest/globals';
import { FtpArgumentError, FtpClient, FtpReplyError } from '../src/ftp/index.js';
import { plainClient, realServerSuite, remoteFolders, type RealServer } from './helpers/real-servers.js';
import { caught, collect } from './helpers/fake-client.js';
import { tmpDir } from './helpers/tmp.js';

const { env, describe: d } = realServerSuite('ftp-client-misuse.realservers');
const folder = remoteFolders('h-client4-misuse');

/** A folder of this test's own holding `f.txt`, made on disk (owned by the FTP user). */
function scene(server: RealServer, content: string): { dir: string; file: string } {
  const f = folder(server);
  fs.mkdirSync(f.disk);
  const file = path.join(f.disk, 'f.txt');
  fs.writeFileSync(file, content);
  for (const p of [f.disk, file]) fs.chownSync(p, server.uid, server.gid);
  return { dir: f.dir, file };
}

/** The test user's plain FTP client (see plainClient). */
const connect = plainClient;

/**
 * A stand-in for NAT: takes connections on `listen` and opens the server's from `from`, so that the server sees
 * the client at another address than the one its socket has (and announces in EPRT/PORT).
 */
async function natProxy(
  server: RealServer,
  listen = '127.0.0.1',
  from: string | undefined = '127.0.0.3',
): Promise<net.Server> {
  const proxy = net.createServer((client) => {
    const up = net.connect({ host: server.host, port: server.port, localAddress: from });
    client.pipe(up).pipe(client);
    up.on('error', () => client.destroy());
    client.on('error', () => up.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, listen, resolve));
  return proxy;
}

d('the client misused, on real servers', () => {
  const proxies: net.Server[] = [];
  afterEach(() => {
    for (const p of proxies.splice(0)) p.close();
  });

  it.each(['pure', 'vsftpd', 'proftpd'] as const)(
    '%s: active mode behind NAT (the server sees another address): the refused PORT says to use passive mode; the client goes on',
    async (name) => {
      const server = env[name];
      const proxy = await natProxy(server);
      proxies.push(proxy);
      const sent: string[] = [];
      const client = await FtpClient.connect({
        host: '127.0.0.1',
        port: (proxy.address() as net.AddressInfo).port,
        user: server.user,
        password: server.password,
        passive: false,
        timeoutMs: 15_000,
        log: (line) => {
          if (/^> (PORT|EPRT|LIST|MLSD)/.test(line)) sent.push(line.split(' ')[1]);
        },
      });
      try {
        const err = await caught(client.list('/'));
        expect(err).toBeInstanceOf(FtpReplyError);
        expect((err as FtpReplyError).code).toBe(500);
        // Was the server's text alone ("500 Illegal PORT command"); and vsftpd's LIST -a was asked again, bare,
        // as if the flag had been refused.
        expect(err.message).toMatch(
          /^PORT 127,0,0,1,\d+,\d+: 500 .+ — the server refused active mode to 127\.0\.0\.1, the address this machine announced: .* use passive mode \(FtpClient: passive: true; deploy\(\) and gulp: leave out active: true; CLI: leave out --active\)$/,
        );
        expect(sent).toEqual(['EPRT', 'PORT']);
        expect(await client.pwd()).toBe('/');
      } finally {
        client.close();
      }
    },
  );

  it.each(['pure', 'proftpd'] as const)(
    '%s (MLSD): list() of a folder not there, in active mode behind NAT: the refused PORT is the error, not "found nothing at that path"',
    async (name) => {
      const server = env[name];
      const proxy = await natProxy(server);
      proxies.push(proxy);
      const client = await FtpClient.connect({
        host: '127.0.0.1',
        port: (proxy.address() as net.AddressInfo).port,
        user: server.user,
        password: server.password,
        passive: false,
        timeoutMs: 15_000,
      });
      try {
        const err = await caught(client.list(`${folder(server).dir}/missing`));
        expect(err).toBeInstanceOf(FtpReplyError);
        // Was "PORT 127,0,0,1,…: 500 … — list() found nothing at that path: …": MLST was asked about the path
        // after a refusal that was not of MLSD, and its answer replaced the advice to use passive mode.
        expect(err.message).toMatch(
          /^PORT 127,0,0,1,\d+,\d+: 500 .+ — the server refused active mode to 127\.0\.0\.1, the address this machine announced: .* use passive mode \(FtpClient: passive: true; .*\)$/,
        );
        expect(await client.pwd()).toBe('/');
      } finally {
        client.close();
      }
    },
  );

  it.each(['pure', 'vsftpd', 'proftpdResume'] as const)(
    "%s: a resume after send('TYPE A') is refused before anything is sent, naming the mode; after send('TYPE I') it works",
    async (name) => {
      const server = env[name];
      const { dir, file } = scene(server, 'line1\nline2\n');
      const client = await connect(server);
      try {
        expect((await client.send('TYPE A')).code).toBe(200);
        // Before: vsftpd appended in ASCII mode, pure-ftpd answered "503 ASCII resume is unsafe", proftpd
        // "501 REST: Resuming transfers not allowed in ASCII mode" with a hint about AllowStoreRestart.
        const up = await caught(client.upload(`${dir}/f.txt`, Buffer.from('line3\n'), { offset: 12 }));
        expect(up).toBeInstanceOf(FtpArgumentError);
        expect(up.message).toBe(
          `cannot resume at offset 12: the session is not in binary mode since "TYPE A", and an offset counts ` +
            `bytes of the file only in binary mode; send('TYPE I') first (the mode connect() sets)`,
        );
        const down = await caught(client.download(`${dir}/f.txt`, collect().sink, { offset: 6 }));
        expect(down).toBeInstanceOf(FtpArgumentError);
        expect(down.message).toMatch(
          /^cannot resume at offset 6: the session is not in binary mode since "TYPE A"/,
        );
        expect(fs.readFileSync(file, 'utf8')).toBe('line1\nline2\n');
        // Set through pipeline() too.
        expect((await client.pipeline(['TYPE I', 'NOOP']))[0].code).toBe(200);
        await client.upload(`${dir}/f.txt`, Buffer.from('line3\n'), { offset: 12 });
        const { sink, text } = collect();
        await client.download(`${dir}/f.txt`, sink, { offset: 6 });
        expect(text()).toBe('line2\nline3\n');
      } finally {
        await client.quit();
      }
    },
  );

  it.each(['pure', 'vsftpd', 'proftpd'] as const)(
    '%s: active mode over IPv6 to a server that refuses that address: the EPRT refusal says PORT cannot carry it; the client goes on',
    async (name) => {
      const server = env[name];
      // The client on ::1, the server reached over IPv4: it refuses EPRT |2|::1|…| (500, or proftpd's 522).
      const proxy = await natProxy(server, '::1', undefined);
      proxies.push(proxy);
      const client = await FtpClient.connect({
        host: '::1',
        port: (proxy.address() as net.AddressInfo).port,
        user: server.user,
        password: server.password,
        passive: false,
        timeoutMs: 15_000,
      });
      try {
        // Was FtpProtocolError "PORT needs an IPv4 address, got ::1", and the client closed.
        const err = await caught(client.list('/'));
        expect(err).toBeInstanceOf(FtpReplyError);
        expect(err.message).toMatch(
          /^EPRT \|2\|::1\|\d+\|: 5\d\d .+ — the server refused active mode to ::1, the IPv6 address this machine announced, and PORT \(the other way to announce one\) carries only IPv4 addresses: use passive mode \(FtpClient: passive: true; .*\), or connect to the server over IPv4$/,
        );
        expect(await client.pwd()).toBe('/');
      } finally {
        client.close();
      }
    },
  );

  it.each(['pure', 'vsftpd'] as const)(
    '%s: a resume from { path } without start is refused, the remote part left as it was; with start it completes the file',
    async (name) => {
      const server = env[name];
      const data = Buffer.from('0123456789abcdefghij');
      const { dir, file } = scene(server, '0123456789');
      const local = path.join(tmpDir('h-client4-misuse-'), 'f.txt');
      fs.writeFileSync(local, data);
      const client = await connect(server);
      try {
        // Before: the whole file went from offset 10: "01234567890123456789abcdefghij" on the server.
        const err = await caught(client.upload(`${dir}/f.txt`, { path: local }, { offset: 10 }));
        expect(err).toBeInstanceOf(FtpArgumentError);
        expect(err.message).toBe(
          `upload with offset 10 from { path: ${JSON.stringify(local)} } and no start would send the file from its ` +
            `first byte; give start: 10 to send the bytes from there on (or start: 0 if the whole file is to go at that offset)`,
        );
        expect(fs.readFileSync(file, 'utf8')).toBe('0123456789');
        await client.upload(`${dir}/f.txt`, { path: local, start: 10 }, { offset: 10 });
        expect(fs.readFileSync(file)).toEqual(data);
      } finally {
        await client.quit();
      }
    },
  );

  it.each(['pure', 'vsftpd', 'proftpd'] as const)(
    '%s: mkd of a folder that is there, or under one that is not: a 550 without a reason (vsftpd) names both causes, "No such file" says to make the parent',
    async (name) => {
      const server = env[name];
      const { dir } = scene(server, 'x');
      const client = await connect(server);
      try {
        for (const p of [dir, `${dir}/missing/sub`]) {
          const err = await caught(client.mkd(p));
          expect(err).toBeInstanceOf(FtpReplyError);
          expect((err as FtpReplyError).code).toBe(550);
          // pure-ftpd and proftpd say why: "File exists" is left as it is; "No such file or directory" (the parent
          // is missing) says to make that first (before: no hint, while vsftpd's vague refusal had one).
          if (name !== 'vsftpd' && p === dir) expect(err.message).toMatch(/: File exists$/);
          else if (name !== 'vsftpd')
            expect(err.message).toMatch(
              new RegExp(
                `^MKD ${p}: 550 .*No such file or directory — its parent folder is missing: make that first \\(MKD makes one folder, not the folders above it\\)$`,
              ),
            );
          else
            expect(err.message).toMatch(
              new RegExp(
                `^MKD ${p}: 550 Create directory operation failed\\. — MKD makes one folder: it may be there already \\(list\\(\\) its parent\\), or its parent may be missing \\(make that first\\)$`,
              ),
            );
        }
        await client.mkd(`${dir}/missing`);
        await client.mkd(`${dir}/missing/sub`);
      } finally {
        await client.quit();
      }
    },
  );

  it('proftpd: SIZE refused in ASCII mode says to send TYPE I, not that the path may be a folder', async () => {
    const server = env.proftpd;
    const { dir } = scene(server, 'abc');
    const client = await connect(server);
    try {
      await client.send('type a');
      const err = await caught(client.size(`${dir}/f.txt`));
      expect(err).toBeInstanceOf(FtpReplyError);
      expect(err.message).toBe(
        `SIZE ${dir}/f.txt: 550 SIZE not allowed in ASCII mode — the session is not in binary mode since "type a": send('TYPE I') first (the mode connect() sets)`,
      );
      await client.send('TYPE L 8');
      expect(await client.size(`${dir}/f.txt`)).toBe(3);
    } finally {
      await client.quit();
    }
  });
});
