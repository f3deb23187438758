/**
 * The client misused as a library may be (see README, Library): each gives a clear error on the real servers,
 * and the client goes on.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { FtpArgumentError, FtpClient, FtpReplyError } from '../src/ftp/index.js';
import { loadRealServers, remoteFolders, type RealServer, type RealServers } from './helpers/real-servers.js';
import { caught } from './helpers/fake-client.js';

const servers = loadRealServers('ftp-client-misuse.realservers');
const env = servers as RealServers;
const d = servers ? describe : describe.skip;
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

async function connect(server: RealServer): Promise<FtpClient> {
  return FtpClient.connect({
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    timeoutMs: 15_000,
  });
}

function collect(): { sink: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk);
      done();
    },
  });
  return { sink, text: () => Buffer.concat(chunks).toString() };
}

d('the client misused, on real servers', () => {
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
