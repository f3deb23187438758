/**
 * Odd local trees on real servers (case-sensitive, byte-exact names): an empty file, names starting with `-`
 * or a space, a path of 250+ bytes; the same site built again on macOS (names decomposed, NFD) over a
 * server that holds the composed (NFC) names of an earlier deploy; a case-only rename. Each converges with
 * exactly the local names on the server and a state that lists exactly them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { deploy } from '../src/index.js';
import { realServerSuite, remoteFolders } from './helpers/real-servers.js';
import { readDirs, readTree, tmpDir, writeTree } from './helpers/tmp.js';

const { describe: d, opts, each } = realServerSuite('odd-trees.realservers');
const STATE = '.ftpship-state.json';
const folder = remoteFolders('h-engine4-odd');
const LONG = `${'a'.repeat(60)}/${'b'.repeat(60)}/${'c'.repeat(60)}/${'d'.repeat(200)}.txt`;

const stateFiles = (disk: string): string[] =>
  Object.keys(
    (JSON.parse(fs.readFileSync(path.join(disk, STATE), 'utf8')) as { files: object }).files,
  ).sort();

d.each(each('pure', 'vsftpd'))('%s: odd local trees', (_name, srv) => {
  it('an empty file, -rf, -la/x, " lead.txt" and a 380-byte path go up as they are; rebuilt on macOS (NFD) only the edited file is replaced, no NFD twin; a case-only rename leaves one name', async () => {
    const { dir, disk } = folder(srv);
    const linux = tmpDir();
    const site = {
      'empty.txt': '',
      '-rf': 'dash',
      '-la/x': 'x',
      ' lead.txt': 'lead',
      [LONG]: 'long',
      'café/résumé.txt': 'v1',
      'crème.html': 'same',
      'README.md': 'read me',
    };
    writeTree(linux, site);
    await deploy(opts(srv, linux, dir));
    expect(readTree(disk, [STATE])).toEqual(readTree(linux));
    expect(Buffer.byteLength(LONG)).toBeGreaterThan(250);

    // The same site built on macOS: every accented name decomposed, one file edited.
    const mac = tmpDir();
    const nfd = Object.fromEntries(Object.entries(site).map(([p, c]) => [p.normalize('NFD'), c]));
    writeTree(mac, { ...nfd, ['café/résumé.txt'.normalize('NFD')]: 'v2' });
    expect(fs.readdirSync(mac)).toContain('crème.html'.normalize('NFD'));
    const r = await deploy(opts(srv, mac, dir));
    expect(r.files).toEqual([{ path: 'café/résumé.txt', action: 'replace', size: 2 }]);
    const names = Object.keys(readTree(disk, [STATE]));
    expect(names.filter((n) => n !== n.normalize('NFC'))).toEqual([]);
    expect(readDirs(disk).filter((n) => n !== n.normalize('NFC'))).toEqual([]);
    expect(stateFiles(disk)).toEqual(Object.keys(site).sort());

    // A case-only rename, and the empty file gone.
    fs.renameSync(path.join(mac, 'README.md'), path.join(mac, 'readme.md'));
    fs.rmSync(path.join(mac, 'empty.txt'));
    const renamed = await deploy(opts(srv, mac, dir));
    expect(renamed.files.map((f) => `${f.action} ${f.path}`).sort()).toEqual([
      'delete README.md',
      'delete empty.txt',
      'upload readme.md',
    ]);
    const after = Object.keys(readTree(disk, [STATE])).sort();
    expect(after).toContain('readme.md');
    expect(after).not.toContain('README.md');
    expect(stateFiles(disk)).toEqual(after);
    expect((await deploy(opts(srv, mac, dir))).files).toEqual([]);
  });
});
