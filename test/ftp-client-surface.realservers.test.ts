/**
 * The client's documented methods and options that no other file tries on a real server: features(), chmod(),
 * mdtm(), loginDir, readAtLogin, onProgress, pipelining: false, maxListingEntries.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { FtpClosedError, FtpReplyError } from '../src/ftp/index.js';
import { plainClient, realServerSuite, remoteFolders, type RealServer } from './helpers/real-servers.js';
import { caught, collect } from './helpers/fake-client.js';

const { env, describe: d } = realServerSuite('ftp-client-surface.realservers');
const folder = remoteFolders('h-client4-surface');

function scene(server: RealServer, files: Record<string, string>): { dir: string; disk: string } {
  const f = folder(server);
  fs.mkdirSync(f.disk);
  fs.chownSync(f.disk, server.uid, server.gid);
  for (const [name, content] of Object.entries(files)) {
    const p = path.join(f.disk, name);
    fs.writeFileSync(p, content);
    fs.chownSync(p, server.uid, server.gid);
  }
  return f;
}

/** The test user's plain FTP client (see plainClient). */
const connect = plainClient;

d('the documented client surface, on real servers', () => {
  it.each(['pure', 'vsftpd', 'proftpd'] as const)('%s: features, loginDir, mdtm, chmod', async (name) => {
    const server = env[name];
    const { dir, disk } = scene(server, { 'a.txt': 'abc' });
    const when = new Date(Date.UTC(2020, 4, 6, 7, 8, 9));
    fs.utimesSync(path.join(disk, 'a.txt'), when, when);
    const client = await connect(server);
    try {
      const feats = await client.features();
      expect(feats.has('SIZE')).toBe(true);
      expect(feats.has('MLST')).toBe(server.mlsd);
      expect(client.loginDir).toBe('/');
      expect((await client.mdtm(`${dir}/a.txt`)).toISOString()).toBe(when.toISOString());
      await client.chmod(`${dir}/a.txt`, '604');
      expect(fs.statSync(path.join(disk, 'a.txt')).mode & 0o777).toBe(0o604);
      const err = await caught(client.mdtm(`${dir}/missing.txt`));
      expect(err).toBeInstanceOf(FtpReplyError);
      expect((err as FtpReplyError).code).toBe(550);
      expect(err.message).toMatch(new RegExp(`^MDTM ${dir}/missing\\.txt: 550 `));
    } finally {
      await client.quit();
    }
  });

  it.each(['pure', 'vsftpd', 'proftpd'] as const)(
    '%s: readAtLogin gives the file read with the login, once; a missing one is an FtpReplyError',
    async (name) => {
      const server = env[name];
      const { dir } = scene(server, { 'state.json': '{"v":1}' });
      const client = await connect(server, { readAtLogin: { path: `${dir}/state.json`, max: 1000 } });
      try {
        const first = client.takeReadAtLogin();
        expect(first?.path).toBe(`${dir}/state.json`);
        expect((await first!.read).toString()).toBe('{"v":1}');
        expect(client.takeReadAtLogin()).toBeUndefined();
      } finally {
        await client.quit();
      }
      const other = await connect(server, { readAtLogin: { path: `${dir}/none.json`, max: 1000 } });
      try {
        const err = await caught(other.takeReadAtLogin()!.read);
        expect(err).toBeInstanceOf(FtpReplyError);
        expect(err.message).toMatch(new RegExp(`^RETR ${dir}/none\\.json: 550 `));
        expect(await other.size(`${dir}/state.json`)).toBe(7);
      } finally {
        await other.quit();
      }
    },
  );

  it.each(['pure', 'vsftpd', 'proftpd'] as const)(
    '%s: with pipelining: false, onProgress counts every byte of an upload and a download; rename and list work',
    async (name) => {
      const server = env[name];
      const { dir, disk } = scene(server, {});
      const client = await connect(server, { pipelining: false });
      try {
        expect(client.pipelining).toBe(false);
        const data = Buffer.alloc(300_000, 7);
        const up: number[] = [];
        expect(await client.upload(`${dir}/p.bin`, data, { onProgress: (p) => up.push(p.bytes) })).toBe(
          data.length,
        );
        expect(up.at(-1)).toBe(data.length);
        expect(up).toEqual([...up].sort((a, b) => a - b));
        const down: number[] = [];
        const { sink } = collect();
        await client.download(`${dir}/p.bin`, sink, {
          offset: 100_000,
          onProgress: (p) => down.push(p.bytes),
        });
        expect(down.at(-1)).toBe(200_000);
        await client.rename(`${dir}/p.bin`, `${dir}/q.bin`);
        expect((await client.list(dir)).map((e) => [e.name, e.size])).toEqual([['q.bin', data.length]]);
        expect(fs.readdirSync(disk)).toEqual(['q.bin']);
      } finally {
        await client.quit();
      }
    },
  );

  it.each(['pure', 'vsftpd', 'proftpd'] as const)(
    '%s: a listing over maxListingEntries closes the client, saying which option to raise',
    async (name) => {
      const server = env[name];
      const files: Record<string, string> = {};
      for (let i = 0; i < 30; i++) files[`f${i}.txt`] = 'x';
      const { dir } = scene(server, files);
      const client = await connect(server, { maxListingEntries: 10 });
      const err = await caught(client.list(dir));
      expect(err.message).toMatch(
        /^listing of more than 10 entries \(.*\); refusing to buffer more — raise maxListingEntries/,
      );
      expect(client.closed).toBe(true);
      expect(await caught(client.pwd())).toBeInstanceOf(FtpClosedError);
    },
  );
});
