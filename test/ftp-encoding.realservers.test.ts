/**
 * Names that are not UTF-8 on the real servers (a file uploaded by an old latin1 tool: `caf\xE9.txt`), and the
 * client's `encoding` option (ftplib's `encoding`). The files are made on disk, with the very bytes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { FtpArgumentError, FtpClient } from '../src/ftp/index.js';
import { deploy } from '../src/index.js';
import { realServerSuite, plainClient, remoteFolders, type RealServer } from './helpers/real-servers.js';
import { readTree, tmpDir, writeTree } from './helpers/tmp.js';
import { caught, collect } from './helpers/fake-client.js';

const { describe: d, env, opts } = realServerSuite('ftp-encoding.realservers');
const folder = remoteFolders('h-client4-enc');

/** `café.txt` in latin1 (0xE9), and a name that really holds U+FFFD (its UTF-8 bytes EF BF BD). */
const LATIN1 = Buffer.from('caf\xe9.txt', 'latin1');
const REPLACEMENT = Buffer.from('caf\uFFFD.txt', 'utf8');

/** A folder of this test's own holding both names, made on disk (owned by the FTP user). */
function scene(server: RealServer): { dir: string; disk: string } {
  const f = folder(server);
  fs.mkdirSync(f.disk);
  for (const [name, data] of [
    [LATIN1, 'latin1 name'],
    [REPLACEMENT, 'a name with U+FFFD'],
  ] as const) {
    const file = Buffer.concat([Buffer.from(`${f.disk}/`), name]);
    fs.writeFileSync(file, data);
    fs.chownSync(file, server.uid, server.gid);
  }
  fs.chownSync(f.disk, server.uid, server.gid);
  return f;
}

/** The names on disk, as bytes in hex (a name that is not UTF-8 cannot be compared as a string). */
function onDisk(disk: string): string[] {
  return fs
    .readdirSync(disk, { encoding: 'buffer' })
    .map((n) => n.toString('hex'))
    .sort();
}

/** The test user's plain FTP client (see plainClient). */
const connect = plainClient;

async function read(client: FtpClient, remote: string): Promise<string> {
  const { sink, text } = collect();
  await client.download(remote, sink);
  return text();
}

d('names that are not UTF-8, on real servers', () => {
  it.each(['pure', 'vsftpd', 'proftpd'] as const)(
    'on %s, a listed latin1 name names its own file: RETR and DELE of it never reach the file named with U+FFFD',
    async (name) => {
      const server = env[name];
      const { dir, disk } = scene(server);
      const client = await connect(server);
      try {
        const names = (await client.list(dir)).map((e) => e.name).sort();
        // Before: both came back as `caf\uFFFD.txt`, and the DELE of the first deleted the second.
        expect(names).toEqual(['caf\uDCE9.txt', 'caf\uFFFD.txt']);
        expect((await client.nlst(dir)).sort()).toEqual(names);
        expect(await read(client, `${dir}/caf\uDCE9.txt`)).toBe('latin1 name');
        await client.delete(`${dir}/caf\uDCE9.txt`);
        expect(onDisk(disk)).toEqual([REPLACEMENT.toString('hex')]);
      } finally {
        await client.quit();
      }
    },
  );

  it("with encoding 'latin1' (pure-ftpd), names read and go as ISO 8859-1: list, download, upload, rename", async () => {
    const server = env.pure;
    const { dir, disk } = scene(server);
    const client = await connect(server, { encoding: 'latin1' });
    try {
      expect(client.encoding).toBe('latin1');
      const names = (await client.list(dir)).map((e) => e.name).sort();
      // The UTF-8 name's three bytes are three latin1 characters.
      expect(names).toEqual(['café.txt', 'caf\xef\xbf\xbd.txt']);
      expect(await read(client, `${dir}/café.txt`)).toBe('latin1 name');
      await client.upload(`${dir}/naïve.txt`, Buffer.from('up'));
      await client.rename(`${dir}/naïve.txt`, `${dir}/déjà.txt`);
      expect(
        fs
          .readFileSync(Buffer.concat([Buffer.from(`${disk}/`), Buffer.from('déjà.txt', 'latin1')]))
          .toString(),
      ).toBe('up');
      // A character latin1 does not have: refused before anything is sent, and the client goes on.
      const err = await caught(client.upload(`${dir}/€.txt`, Buffer.from('x')));
      expect(err).toBeInstanceOf(FtpArgumentError);
      expect(err.message).toMatch(/cannot send "€" \(U\+20AC\) .*with encoding 'latin1'.*encoding 'utf8'/);
      const renamed = await caught(client.rename(`${dir}/déjà.txt`, `${dir}/€.txt`));
      expect(renamed).toBeInstanceOf(FtpArgumentError);
      expect((await client.nlst(dir)).sort()).toEqual(['café.txt', 'caf\xef\xbf\xbd.txt', 'déjà.txt']);
    } finally {
      await client.quit();
    }
  });

  it("with encoding 'latin1', a password it cannot send is refused without showing any of it; a readAtLogin path it cannot send is read later", async () => {
    const server = env.pure;
    const err = await caught(connect(server, { encoding: 'latin1', password: 'sécret€pw' }));
    expect(err).toBeInstanceOf(FtpArgumentError);
    expect(err.message).toBe(
      `cannot send "PASS ***" with encoding 'latin1', which has only U+0000 to U+00FF: connect with encoding 'utf8' for such names`,
    );
    const client = await connect(server, { encoding: 'latin1', readAtLogin: { path: '/€.json', max: 100 } });
    try {
      expect(client.takeReadAtLogin()).toBeUndefined();
      expect(await client.pwd()).toBe('/');
    } finally {
      await client.quit();
    }
  });

  it('an encoding other than utf8 or latin1 is refused before connecting', async () => {
    const err = await caught(connect(env.pure, { encoding: 'cp1252' as never }));
    expect(err).toBeInstanceOf(FtpArgumentError);
    expect(err.message).toBe(
      `invalid encoding "cp1252"; give 'utf8' (the default) or 'latin1' (a server whose names are ISO 8859-1 bytes)`,
    );
  });

  it('a deploy leaves a latin1-named file alone: its folder, gone locally, is kept with a warning naming it (pure-ftpd)', async () => {
    const server = env.pure;
    const { dir, disk } = folder(server);
    const local = tmpDir('h-client4-enc-');
    writeTree(local, { 'index.html': 'home', 'docs/a.html': 'a' });
    await deploy(opts(server, local, dir));
    const foreign = Buffer.concat([Buffer.from(`${disk}/docs/`), LATIN1]);
    fs.writeFileSync(foreign, 'by hand');
    fs.chownSync(foreign, server.uid, server.gid);
    fs.rmSync(path.join(local, 'docs'), { recursive: true });
    const warnings: string[] = [];
    const report = await deploy(opts(server, local, dir, { verify: true }), {
      warn: (m) => warnings.push(m),
    });
    expect(report.counts).toMatchObject({ delete: 1, rmdir: 0 });
    expect(warnings).toEqual([
      expect.stringMatching(/^kept folder docs: 550 .*it holds files ftpship did not deploy/),
    ]);
    expect(fs.readFileSync(foreign, 'utf8')).toBe('by hand');
    expect(readTree(disk, ['.ftpship-state.json', 'docs'])).toEqual(readTree(local));
  });
});
