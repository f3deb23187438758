/**
 * /work/shared/FIELD.md items that ftp-srv cannot prove (its RMD is recursive, its listings are its own), on
 * pure-ftpd, vsftpd (no MLSD) and proftpd: the field.ftpsrv.test.ts cases whose outcome depends on how the
 * server lists and removes folders. Skipped, with a message, only when test/servers/.env.json is absent.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { deploy } from '../src/index.js';
import { realServerSuite, remoteFolders } from './helpers/real-servers.js';
import { recorder } from './helpers/protocol.js';
import { readTree, sha256, tmpDir, writeTree } from './helpers/tmp.js';

const { describe: d, opts, each } = realServerSuite('field.realservers');
const STATE = '.ftpship-state.json';
const target = remoteFolders('h-field');

d.each(each('pure', 'vsftpd', 'proftpd'))('%s', (_name, server) => {
  it('FIELD.md §3 prefix bug (folder x and file x-y both removed): both go, with a non-recursive RMD', async () => {
    const local = tmpDir();
    writeTree(local, { 'x/a.html': 'a', 'x/sub/b.html': 'b', 'x-y.html': 'xy', 'x.html': 'x' });
    const { dir, disk } = target(server);
    await deploy(opts(server, local, dir));
    fs.rmSync(path.join(local, 'x'), { recursive: true });
    fs.rmSync(path.join(local, 'x-y.html'));
    const r = await deploy(opts(server, local, dir));
    expect(r.files.map((f) => `${f.action} ${f.path}`).sort()).toEqual([
      'delete x-y.html',
      'delete x/a.html',
      'delete x/sub/b.html',
      'rmdir x',
      'rmdir x/sub',
    ]);
    expect(readTree(disk, [STATE])).toEqual({ 'x.html': sha256('x') });
    expect(fs.existsSync(path.join(disk, 'x'))).toBe(false);
  });

  it('FIELD.md §3 state removed by hand (#128, #441): the warning names what the folder holds (dot-files too), --adopt and --state', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'i', '.htaccess': 'h', 'css/site.css': 'c' });
    const { dir, disk } = target(server);
    await deploy(opts(server, local, dir));
    fs.rmSync(path.join(disk, STATE));
    const rec = recorder();
    const r = await deploy(opts(server, local, dir), rec);
    expect(r.counts).toMatchObject({ upload: 3, delete: 0 });
    expect(rec.warnings).toEqual([
      expect.stringMatching(
        new RegExp(
          `^no state file at ${dir}/\\.ftpship-state\\.json, but ${dir} already holds \\.htaccess, css, index\\.html: ` +
            'this deploy sends every file again and deletes nothing there.*--adopt.*--state',
        ),
      ),
    ]);
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
  });
});
