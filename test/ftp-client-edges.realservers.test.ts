/**
 * ftplib's calls at the edges a user hits, on the real servers: each refusal says why by the server's own reason
 * and what to do. Were: the same hint whatever the reason ("No such file or directory — RMD removes only an empty
 * folder: if it holds anything, delete that first", "Not a directory — RMD removes only an empty folder…", "No
 * such file or directory — DELE deletes only a file: if it is a folder, remove it with rmd()"), vsftpd's rmd() of
 * a full folder never said it was full, and list()/nlst() of a missing path failed as a CWD the user never made.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { FtpArgumentError, FtpClient, FtpReplyError } from '../src/ftp/index.js';
import {
  loadRealServers,
  plainClient,
  remoteFolders,
  type RealServer,
  type RealServers,
} from './helpers/real-servers.js';
import { caught, collect } from './helpers/fake-client.js';

const servers = loadRealServers('ftp-client-edges.realservers');
const env = servers as RealServers;
const d = servers ? describe : describe.skip;
const folder = remoteFolders('h-client6-edges');

/** A folder of this test's own on `server` holding `full/` (with `x.txt` and `.hidden`) and `f.txt`. */
function scene(server: RealServer): { dir: string; disk: string } {
  const f = folder(server);
  const own = (p: string): void => fs.chownSync(p, server.uid, server.gid);
  fs.mkdirSync(path.join(f.disk, 'full'), { recursive: true });
  for (const p of [f.disk, path.join(f.disk, 'full')]) own(p);
  for (const p of ['full/x.txt', 'full/.hidden', 'f.txt']) {
    fs.writeFileSync(path.join(f.disk, p), 'x');
    own(path.join(f.disk, p));
  }
  return f;
}

async function connect(server: RealServer): Promise<FtpClient> {
  return FtpClient.connect({
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    secure: 'explicit',
    tls: { ca: fs.readFileSync(env.ca) },
    timeoutMs: 15_000,
  });
}

/** A plain FTP client and the commands it sends (`> …` lines), in order. */
async function loggedClient(server: RealServer): Promise<{ client: FtpClient; sent: string[] }> {
  const sent: string[] = [];
  const client = await plainClient(server, {
    log: (l) => {
      if (l.startsWith('> ')) sent.push(l);
    },
  });
  return { client, sent };
}

const NOTHING = / — nothing is at that path: check it \(nlst\(\) of its folder lists what is there\)$/;

d('refusals say why, by the server', () => {
  it('vsftpd: rmd() of a folder this user may not open, and upload() into it, name permissions as a cause (was: "there is no folder of that name")', async () => {
    const server = env.vsftpd;
    const { dir, disk } = scene(server);
    fs.mkdirSync(path.join(disk, 'locked', 'inside'), { recursive: true });
    fs.chmodSync(path.join(disk, 'locked'), 0o700); // owned by root: the FTP user may not enter it
    const client = await connect(server);
    const calls = [
      async () => client.rmd(`${dir}/locked`),
      async () => client.upload(`${dir}/locked/x.txt`, Buffer.from('x')),
    ];
    for (const call of calls)
      expect((await caught(call())).message).toMatch(
        / — .* be entered: .*, or be a folder this user may not open \(check its permissions\)$/,
      );
    expect(fs.readdirSync(path.join(disk, 'locked'))).toEqual(['inside']);
    await client.quit();
    fs.rmSync(path.join(disk, 'locked'), { recursive: true }); // root's: no later clean-up as the FTP user could remove it
  });

  it('vsftpd: rmd() of a folder that holds files names them (vsftpd says only "failed"); of a missing folder or a file, that there is no folder there; the working folder stays', async () => {
    const server = env.vsftpd;
    const { dir, disk } = scene(server);
    const client = await connect(server);
    await client.cwd(dir);
    const full = await caught(client.rmd('full'));
    expect(full).toBeInstanceOf(FtpReplyError);
    // Both names, in the server's order.
    expect(full.message).toMatch(
      /^RMD full: 550 Remove directory operation failed\. — the folder is not empty: it holds ("\.hidden", "x\.txt"|"x\.txt", "\.hidden"); delete those first \(rmd\(\) removes only an empty folder\)$/,
    );
    for (const p of ['missing', 'f.txt'])
      expect((await caught(client.rmd(p))).message).toBe(
        `RMD ${p}: 550 Remove directory operation failed. — no folder of that name can be entered: it may be missing, be a file (delete() removes a file), or be a folder this user may not open (check its permissions)`,
      );
    expect(await client.pwd()).toBe(dir);
    expect(fs.readdirSync(path.join(disk, 'full')).sort()).toEqual(['.hidden', 'x.txt']);
    await client.quit();
  });

  it.each(['proftpd', 'pure'] as const)(
    '%s: rmd(), delete() and size() of a missing path say nothing is there; rmd() of a file says to delete() it; of a full folder, that it is not empty',
    async (name) => {
      const server = env[name];
      const { dir } = scene(server);
      const client = await connect(server);
      for (const call of [
        client.rmd(`${dir}/nope`),
        client.delete(`${dir}/nope`),
        client.size(`${dir}/nope`),
      ]) {
        const err = await caught(call);
        expect(err).toMatchObject({ code: 550 });
        expect(err.message).toMatch(NOTHING);
      }
      expect((await caught(client.rmd(`${dir}/f.txt`))).message).toMatch(
        /: Not a directory — it is a file, not a folder: delete\(\) removes a file$/,
      );
      expect((await caught(client.rmd(`${dir}/full`))).message).toMatch(
        /Directory not empty — the folder is not empty: delete what it holds first \(rmd\(\) removes only an empty folder\)$/,
      );
      await client.quit();
    },
  );

  it.each(['vsftpd', 'proftpd', 'pure'] as const)(
    '%s: list() and nlst() of a missing path say so, naming the path; of an empty folder, []',
    async (name) => {
      const server = env[name];
      const { dir, disk } = scene(server);
      fs.mkdirSync(path.join(disk, 'empty'));
      fs.chownSync(path.join(disk, 'empty'), server.uid, server.gid);
      const client = await connect(server);
      for (const call of ['list', 'nlst'] as const) {
        const err = await caught(client[call](`${dir}/nope`));
        expect(err).toBeInstanceOf(FtpReplyError);
        expect(err.message).toContain(`${dir}/nope: 550 `);
        expect(err.message).toMatch(
          new RegExp(
            ` — ${call}\\(\\) found nothing at that path: no folder to list, and no file of that name$`,
          ),
        );
        expect(await client[call](`${dir}/empty`)).toEqual([]);
      }
      await client.quit();
    },
  );

  it.each(['vsftpd', 'proftpd', 'pure'] as const)(
    '%s: upload() into a folder that is not there names that folder (vsftpd said only "553 Could not create file."); onto a folder\'s name, no such hint',
    async (name) => {
      const server = env[name];
      const { dir } = scene(server);
      const client = await connect(server);
      await client.cwd(dir);
      for (const [target, folder] of [
        [`${dir}/nodir/sub/x.txt`, `${dir}/nodir/sub`],
        ['nodir/x.txt', 'nodir'],
      ]) {
        const err = await caught(client.upload(target, Buffer.from('x')));
        expect(err).toBeInstanceOf(FtpReplyError);
        expect(err.message).toMatch(
          new RegExp(
            `^STOR ${target}: 55[03] .* — its folder "${folder}" cannot be entered: it may be missing \\(make it first: mkd\\(\\) makes one folder at a time\\), be a file, or be a folder this user may not open \\(check its permissions\\)$`,
          ),
        );
      }
      expect(await client.pwd()).toBe(dir);
      // Its folder is there: the server's own reason alone.
      const onFolder = await caught(client.upload(`${dir}/full`, Buffer.from('x')));
      expect(onFolder).toBeInstanceOf(FtpReplyError);
      expect(onFolder.message).not.toContain('cannot be entered');
      await client.quit();
    },
  );
});

const mine = remoteFolders('h-client7-edges');

/** A folder of this test's own on `server` holding `full/x.txt`, `f.txt` and `locked.txt` (mode 000). */
function lockedScene(server: RealServer): { dir: string; disk: string } {
  const f = mine(server);
  fs.mkdirSync(path.join(f.disk, 'full'), { recursive: true });
  for (const p of ['full/x.txt', 'f.txt', 'locked.txt']) fs.writeFileSync(path.join(f.disk, p), 'x');
  for (const p of ['.', 'full', 'full/x.txt', 'f.txt', 'locked.txt'])
    fs.chownSync(path.join(f.disk, p), server.uid, server.gid);
  fs.chmodSync(path.join(f.disk, 'locked.txt'), 0);
  return f;
}

d('download() refusals say which', () => {
  // vsftpd says "550 Failed to open file." for all three; proftpd and pure-ftpd give their reason.
  it.each([
    [
      'vsftpd',
      /Failed to open file\. — a file is there, but the server would not open it: this user may not be allowed to read it \(check its permissions\)$/,
    ],
    ['proftpd', /: Permission denied$/],
    ['pure', /: Permission denied$/],
  ] as const)(
    '%s: download() of a missing path, of a folder, of a file this user may not read says which (the path in the message); the sink gets nothing, the working folder stays',
    async (name, locked) => {
      const server = env[name];
      const { dir } = lockedScene(server);
      const client = await connect(server);
      await client.cwd(dir);
      const cases: [string, RegExp][] = [
        [`${dir}/nope`, NOTHING],
        ['nope', NOTHING],
        [
          `${dir}/full`,
          / — it is a folder, not a file: download\(\) takes a file \(list\(\) shows what the folder holds\)$/,
        ],
        ['locked.txt', locked],
      ];
      for (const [p, says] of cases) {
        const { sink, text } = collect();
        const err = await caught(client.download(p, sink));
        expect(err).toBeInstanceOf(FtpReplyError);
        expect(err).toMatchObject({ code: 550, command: `RETR ${p}` });
        expect(err.message).toMatch(new RegExp(`^RETR ${p}: 550 `));
        expect(err.message).toMatch(says);
        expect(text()).toBe('');
        expect(sink.writableEnded).toBe(false);
      }
      expect(await client.pwd()).toBe(dir);
      // Still usable: a readable file downloads.
      const { sink, text } = collect();
      expect(await client.download('f.txt', sink)).toBe(1);
      expect(text()).toBe('x');
      await client.quit();
    },
  );
});

d('download() without the look', () => {
  it('vsftpd: explain: false gives the refusal as the server said it, with no command after the RETR (the deploy reads a missing state so)', async () => {
    const server = env.vsftpd;
    const { dir } = scene(server);
    const { client, sent } = await loggedClient(server);
    const before = sent.length;
    const err = await caught(client.download(`${dir}/nope`, collect().sink, { explain: false }));
    expect(err).toBeInstanceOf(FtpReplyError);
    expect(err.message).toBe(`RETR ${dir}/nope: 550 Failed to open file.`);
    expect(sent.slice(before).filter((l) => !/^> (EPSV|PASV|TYPE)/.test(l))).toEqual([`> RETR ${dir}/nope`]);
    // Without it, the same refusal is looked into (the hint needs SIZE at least).
    const looked = await caught(client.download(`${dir}/nope`, collect().sink));
    expect(looked.message).toMatch(NOTHING);
    await client.quit();
  });
});

d('paths that name nothing, or hold a line break, are refused before anything is sent', () => {
  /** Every call that takes a path, with `p` as its path (rename: as either). */
  const calls = (c: FtpClient, p: string): [string, () => Promise<unknown>][] => [
    ['cwd()', async () => c.cwd(p)],
    ['mkd()', async () => c.mkd(p)],
    ['rmd()', async () => c.rmd(p)],
    ['delete()', async () => c.delete(p)],
    ['chmod()', async () => c.chmod(p, '644')],
    ['size()', async () => c.size(p)],
    ['mdtm()', async () => c.mdtm(p)],
    ['rename()', async () => c.rename(p, 'x.txt')],
    ['rename()', async () => c.rename('f.txt', p)],
    ['upload()', async () => c.upload(p, Buffer.from('y'))],
    ['download()', async () => c.download(p, collect().sink)],
  ];

  it.each(['vsftpd', 'proftpd', 'pure'] as const)(
    '%s: an empty path is refused by each call, naming it and what to give; nothing is sent, the folder and its files stay',
    async (name) => {
      const server = env[name];
      const { dir, disk } = lockedScene(server);
      const { client, sent } = await loggedClient(server);
      await client.cwd(dir);
      const before = sent.length;
      for (const [call, run] of calls(client, '')) {
        const err = await caught(run());
        expect(err).toBeInstanceOf(FtpArgumentError);
        expect(err.message).toMatch(
          new RegExp(
            `^${call.replace(/[()]/g, '\\$&')} was given an empty (path|from|to|remotePath), which names nothing; give \\S`,
          ),
        );
      }
      expect(sent.slice(before)).toEqual([]);
      expect(await client.pwd()).toBe(dir);
      expect(fs.readdirSync(disk).sort()).toEqual(['f.txt', 'full', 'locked.txt']);
      // list() and nlst() with '' list the current folder, as with no path.
      expect((await client.list('')).map((e) => e.name).sort()).toEqual(['f.txt', 'full', 'locked.txt']);
      expect((await client.nlst('')).sort()).toEqual(['f.txt', 'full', 'locked.txt']);
      await client.quit();
    },
  );

  it('CR, LF or NUL in a path is refused by every call that takes one, naming the call; nothing is sent (not even a PWD)', async () => {
    const server = env.pure;
    const { dir } = lockedScene(server);
    const { client, sent } = await loggedClient(server);
    await client.cwd(dir);
    const before = sent.length;
    for (const bad of ['f.txt\r\nDELE f.txt', 'full\nRMD full', 'f.txt\0']) {
      const all: [string, () => Promise<unknown>][] = [
        ...calls(client, bad),
        ['list()', async () => client.list(bad)],
        ['nlst()', async () => client.nlst(bad)],
      ];
      for (const [call, run] of all) {
        const err = await caught(run());
        expect(err).toBeInstanceOf(FtpArgumentError);
        expect(err.message).toContain(` for ${call}: it holds CR, LF or NUL`);
      }
    }
    expect(sent.slice(before)).toEqual([]);
    expect((await client.nlst()).sort()).toEqual(['f.txt', 'full', 'locked.txt']);
    await client.quit();
  });
});
