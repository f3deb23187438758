/**
 * The FTP client as a library user meets it, on the real servers: README's library example, close() during a
 * transfer, a download from an offset past the end of the file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { expect, it } from '@jest/globals';
import { FtpClient, FtpClosedError, FtpReplyError, type FtpConnectOptions } from '../src/ftp/index.js';
import { realServerSuite, remoteFolders, type RealServer } from './helpers/real-servers.js';
import { bytes, sha256, tmpDir } from './helpers/tmp.js';
import { caught } from './helpers/fake-client.js';

const { env, describe: d } = realServerSuite('ftp-client-library.realservers');
const folder = remoteFolders('h-client3-lib');

/** A folder of this test's own on `server`, made on disk (owned by the FTP user). */
function own(server: RealServer): { dir: string; disk: string } {
  const f = folder(server);
  fs.mkdirSync(f.disk);
  fs.chownSync(f.disk, server.uid, server.gid);
  return f;
}

/** Writes a file into a server's folder on disk, owned by the FTP user (so that it may write over it). */
function put(server: RealServer, file: string, data: Buffer | string): void {
  fs.writeFileSync(file, data);
  fs.chownSync(file, server.uid, server.gid);
}

async function connect(server: RealServer, extra: Partial<FtpConnectOptions> = {}): Promise<FtpClient> {
  return FtpClient.connect({
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    secure: 'explicit',
    tls: { ca: fs.readFileSync(env.ca) },
    // Generous: other test files load the same servers at the same time.
    timeoutMs: 15_000,
    ...extra,
  });
}

d('the FTP client as a library, on real servers', () => {
  it.each(['pure', 'vsftpd'] as const)(
    "README's library example on %s: a resume from { path, start } with offset gives the whole file",
    async (name) => {
      const server = env[name];
      const { dir, disk } = own(server);
      const data = bytes(300_000, 11);
      put(server, path.join(disk, 'big.iso'), data.subarray(0, 1000)); // the first 1000 bytes are there
      const local = path.join(tmpDir('h-client3-lib-'), 'big.iso');
      fs.writeFileSync(local, data);
      const client = await connect(server);
      await client.upload(`${dir}/big.iso`, { path: local, start: 1000 }, { offset: 1000 });
      await client.quit();
      expect(sha256(fs.readFileSync(path.join(disk, 'big.iso')))).toBe(sha256(data));
    },
  );

  it.each(['pure', 'proftpd'] as const)(
    'a download from an offset past the end of the file on %s: the 554 says to give at most its size; the client usable',
    async (name) => {
      // proftpd said only "554 REST: invalid /…/ten.txt argument", naming neither the offset nor what to do.
      const server = env[name];
      const { dir, disk } = own(server);
      put(server, path.join(disk, 'ten.txt'), '0123456789');
      const client = await connect(server);
      const err = await caught(client.download(`${dir}/ten.txt`, new PassThrough(), { offset: 20 }));
      expect(err).toBeInstanceOf(FtpReplyError);
      expect((err as FtpReplyError).code).toBe(554);
      expect(err.message).toMatch(
        / — the offset 20 may be past the end of the remote file: give at most its size \(size\(\)\)$/,
      );
      expect(await client.size(`${dir}/ten.txt`)).toBe(10);
      await client.quit();
    },
  );

  it.each(['pure', 'vsftpd'] as const)(
    'close() during a download on %s: the call fails with FtpClosedError naming the RETR',
    async (name) => {
      const server = env[name];
      const { dir, disk } = own(server);
      put(server, path.join(disk, 'big.bin'), bytes(4 * 1024 * 1024, 2));
      const client = await connect(server);
      // A stream that takes one chunk and then closes the client: the transfer is in flight.
      const stuck = new Writable({ highWaterMark: 1024, write: () => client.close() });
      const err = await caught(client.download(`${dir}/big.bin`, stuck));
      expect(err).toBeInstanceOf(FtpClosedError);
      expect(err.message).toBe(
        `closed: the client was closed by close() while RETR ${dir}/big.bin waited for its reply; whether the server carried it out is unknown`,
      );
      expect(client.closed).toBe(true);
    },
  );

  it.each(['pure', 'vsftpd', 'proftpd'] as const)(
    'a wrong password on %s: the 530 names the user and says to check it and the password, never the password; the right one then logs in',
    async (name) => {
      // Was "PASS ***: 530 Login incorrect." alone.
      const server = env[name];
      const err = await caught(connect(server, { password: 'wrong-Pa55word' }));
      expect(err).toBeInstanceOf(FtpReplyError);
      expect(err).toMatchObject({ code: 530, command: 'PASS ***' });
      expect(err.message).toMatch(
        new RegExp(`^PASS \\*\\*\\*: 530 .* — check the user name \\("${server.user}"\\) and the password$`),
      );
      expect(`${err.message}${err.stack}`).not.toContain('wrong-Pa55word');
      const client = await connect(server);
      expect(await client.pwd()).toBe('/');
      await client.quit();
    },
  );

  it.each(['pure', 'vsftpd', 'proftpd'] as const)(
    'rmd() of a folder that holds a file, size() and delete() of a folder on %s: 550s that say what to do; the client usable',
    async (name) => {
      // vsftpd said only "Remove directory operation failed.", "Could not get file size." and "Delete operation failed.", pure-ftpd
      // "Invalid argument" to the DELE of a folder.
      const server = env[name];
      const { dir, disk } = own(server);
      fs.mkdirSync(path.join(disk, 'full'));
      fs.chownSync(path.join(disk, 'full'), server.uid, server.gid);
      put(server, path.join(disk, 'full', 'a.txt'), 'a');
      const client = await connect(server);
      const rmd = await caught(client.rmd(`${dir}/full`));
      expect(rmd).toMatchObject({ code: 550, command: `RMD ${dir}/full` });
      expect(rmd.message).toMatch(
        / — the folder is not empty: (delete what it holds first|it holds "a.txt"; delete it first) \(rmd\(\) removes only an empty folder\)$/,
      );
      // vsftpd says the same whatever the cause: the hint names both.
      const size = await caught(client.size(`${dir}/full`));
      expect(size).toMatchObject({ code: 550, command: `SIZE ${dir}/full` });
      expect(size.message).toMatch(
        / — SIZE gives only a file's size: (if it is a folder, list\(\) shows what it holds|it may be missing \(.*\), or a folder \(list\(\) shows what a folder holds\))$/,
      );
      const dele = await caught(client.delete(`${dir}/full`));
      expect(dele).toMatchObject({ code: 550, command: `DELE ${dir}/full` });
      expect(dele.message).toMatch(
        / — DELE deletes only a file: (if it is a folder, remove it with rmd\(\)|it may be missing \(.*\), or a folder \(remove that with rmd\(\)\))$/,
      );
      expect(fs.readFileSync(path.join(disk, 'full', 'a.txt'), 'utf8')).toBe('a');
      await client.delete(`${dir}/full/a.txt`);
      await client.rmd(`${dir}/full`);
      expect(fs.existsSync(path.join(disk, 'full'))).toBe(false);
      await client.quit();
    },
  );

  it.each(['pure', 'vsftpd'] as const)(
    "a download into a stream that fails, an upload from a source that fails on %s: the stream's own error; later calls say why the client closed and how to go on",
    async (name) => {
      // Later calls said only "closed: disk full", as if the server's connection had failed: neither that the
      // client had closed itself nor what to do.
      const server = env[name];
      const { dir, disk } = own(server);
      put(server, path.join(disk, 'big.bin'), bytes(3 * 1024 * 1024, 4));
      const client = await connect(server);
      const full = new Writable({ write: (_c, _e, cb) => cb(new Error('disk full')) });
      const err = await caught(client.download(`${dir}/big.bin`, full));
      expect(err.message).toBe('disk full');
      expect(client.closed).toBe(true);
      const later = await caught(client.pwd());
      expect(later).toBeInstanceOf(FtpClosedError);
      expect(later.message).toBe(
        `closed: RETR ${dir}/big.bin was cut off on this side (disk full), which leaves the session out of step; FtpClient.connect() opens a new session`,
      );

      const again = await connect(server);
      let n = 0;
      const source = new Readable({
        read() {
          if (++n > 2) this.destroy(new Error('source broke'));
          else this.push(Buffer.alloc(65536, 1));
        },
      });
      expect((await caught(again.upload(`${dir}/up.bin`, source))).message).toBe('source broke');
      expect((await caught(again.size(`${dir}/up.bin`))).message).toBe(
        `closed: STOR ${dir}/up.bin was cut off on this side (source broke), which leaves the session out of step; FtpClient.connect() opens a new session`,
      );
    },
  );

  it.each(['pure', 'vsftpd', 'proftpd'] as const)(
    'calls made after quit() or disconnect() without awaiting it on %s: none is sent after QUIT; each says the client was closed',
    async (name) => {
      // A call queued behind quit() went out after the 221 ("> PWD" after "> QUIT"), and failed "while PWD waited
      // for its reply; whether the server carried it out is unknown": an MKD or DELE there may have run or not.
      for (const how of ['quit', 'disconnect'] as const) {
        const sent: string[] = [];
        const client = await connect(env[name], { log: (line) => sent.push(line) });
        const size = caught(client.size('/no-such-file.txt'));
        const bye = client[how]();
        const pwd = caught(client.pwd());
        const mkd = caught(client.mkd('/never-made'));
        expect(await size).toBeInstanceOf(FtpReplyError);
        await bye;
        for (const err of [await pwd, await mkd]) {
          expect(err).toBeInstanceOf(FtpClosedError);
          expect(err.message).toBe(
            `closed: the client was closed by ${how}(); FtpClient.connect() opens a new session`,
          );
        }
        const commands = sent.filter((line) => line.startsWith('> '));
        expect(commands.slice(commands.indexOf('> QUIT'))).toEqual(['> QUIT']);
      }
    },
  );

  it.each(['pure', 'vsftpd', 'proftpd'] as const)(
    'quit() twice on %s is fine; a call after it says quit() closed the client and how to go on',
    async (name) => {
      // Was "closed: the client was closed", whether by quit(), close() or disconnect(), and nothing to do.
      const client = await connect(env[name]);
      await client.quit();
      await client.quit();
      expect(client.closed).toBe(true);
      const err = await caught(client.pwd());
      expect(err).toBeInstanceOf(FtpClosedError);
      expect(err.message).toBe(
        'closed: the client was closed by quit(); FtpClient.connect() opens a new session',
      );
    },
  );
});
