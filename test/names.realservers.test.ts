/**
 * Unusual file and folder names on real servers, through the CLI; each checks the server's folder on disk
 * against the local tree, byte for byte. Folders named like glob patterns are listed without LIST globbing
 * them (vsftpd).
 * Skipped, with a message, only when test/servers/.env.json is absent.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { FtpClient, FtpReplyError } from '../src/index.js';
import { realServerSuite, remoteFolders, type RealServer } from './helpers/real-servers.js';
import { runCli, type CliResult } from './helpers/cli.js';
import { readTree, tmpDir, writeTree } from './helpers/tmp.js';

const { describe: d, env } = realServerSuite('names.realservers');
const target = remoteFolders('names');
const STATE = '.ftpship-state.json';

/** The CLI against `server` in plain FTP, its folder `dir`. */
async function cli(server: RealServer, command: string, local: string, dir: string, ...args: string[]) {
  return runCli([command, local, `ftp://${server.user}@127.0.0.1:${server.port}${dir}`, ...args], {
    FTPSHIP_PASSWORD: server.password,
  });
}

function ok(r: CliResult): void {
  if (r.code !== 0) console.log(r.stderr);
  expect(r.code).toBe(0);
}

d('folders named like glob patterns (vsftpd: LIST only, and LIST globs)', () => {
  it('--verify sees a folder named *, ?, [x] or {x,y} removed by hand, though its parent holds a file of that name and size', async () => {
    const server = env.vsftpd;
    const local = tmpDir();
    const globbed = ['*', '?', '[x]', '{x,y}'];
    writeTree(local, {
      'g/x.txt': 'same',
      'g/x/x.txt': 'same',
      'g/y/x.txt': 'same',
      ...Object.fromEntries(globbed.map((n) => [`g/${n}/x.txt`, 'same'])),
    });
    const { dir, disk } = target(server);
    ok(await cli(server, 'deploy', local, dir));
    expect(readTree(disk, [STATE])).toEqual(readTree(local));

    for (const n of globbed) fs.rmSync(path.join(disk, 'g', n), { recursive: true });
    const r = await cli(server, 'deploy', local, dir, '--verify');
    ok(r);
    // Before: `LIST -a /…/g/*` of the missing folder listed g itself, whose x.txt passed for g/*/x.txt.
    for (const n of globbed) expect(r.stderr).toContain(`drift: g/${n}/x.txt is missing on the server`);
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
  });

  it('the client lists such a folder, not its parent, refuses one that is not there, and stays in its folder', async () => {
    const server = env.vsftpd;
    const { dir, disk } = target(server);
    const c = await FtpClient.connect({
      host: server.host,
      port: server.port,
      user: server.user,
      password: server.password,
      secure: false,
    });
    try {
      await c.mkd(dir);
      await c.mkd(`${dir}/*`);
      await c.upload(`${dir}/parent.txt`, Buffer.from('p'));
      await c.upload(`${dir}/*/inside.txt`, Buffer.from('i'));
      await c.cwd(dir);
      expect((await c.list(`${dir}/*`)).map((e) => e.name)).toEqual(['inside.txt']);
      expect(await c.nlst(`${dir}/*`)).toEqual(['inside.txt']);
      expect(await c.pwd()).toBe(dir);

      fs.rmSync(path.join(disk, '*'), { recursive: true });
      // Before: both answered with the parent's entries (parent.txt), as if they were the folder's.
      await expect(c.list(`${dir}/*`)).rejects.toBeInstanceOf(FtpReplyError);
      await expect(c.nlst(`${dir}/*`)).rejects.toBeInstanceOf(FtpReplyError);
      expect(await c.pwd()).toBe(dir);
      expect((await c.list(dir)).map((e) => e.name)).toEqual(['parent.txt']);
    } finally {
      await c.quit();
    }
  });
});
