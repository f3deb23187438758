/**
 * The CLI given a state file that ftpship did not write as it is (a hand edit, another tool, a hostile
 * server): one case per kind of damage the property tests of the state readers (state-property.test.ts)
 * found getting past them. A damaged state exits 1 naming the file and --reset-state, and changes nothing on
 * the server; FTP-Deploy-Action's state with a size that is not a size is read as "size unknown". Server:
 * ftp-srv in this process, the built CLI as a child process.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { useEmbeddedCli } from './helpers/embedded.js';
import { snapshot, tmpDir, uniqueName, writeTree } from './helpers/tmp.js';

const { srv, url, cli } = useEmbeddedCli();

const STATE = '.ftpship-state.json';
const FDA_STATE = '.ftp-deploy-sync-state.json';

/** A site deployed by the CLI; `edit` then changes its state on the server. */
async function deployedWith(
  edit: (state: Record<string, unknown>) => void,
): Promise<{ local: string; dir: string; disk: string }> {
  const local = tmpDir();
  writeTree(local, { 'index.html': 'home', 'a/b.txt': 'b' });
  const dir = uniqueName('hostile-state');
  expect((await cli(['deploy', local, url(dir)])).code).toBe(0);
  const disk = path.join(srv().root, dir);
  const file = path.join(disk, STATE);
  const state = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  edit(state);
  fs.writeFileSync(file, JSON.stringify(state));
  return { local, dir, disk };
}

describe('a damaged ftpship state: exit 1, the file and --reset-state named, nothing changed', () => {
  const cases: Array<[string, (s: Record<string, unknown>) => void, string]> = [
    [
      // Was: FtpArgumentError "cannot send … with encoding 'latin1' … connect with encoding 'utf8'" (the run
      // was utf8 already), from translating the names, with no word of the state file.
      'a latin1 state naming a character latin1 cannot hold (read by a utf8 run)',
      (s) => {
        s.encoding = 'latin1';
        (s.files as Record<string, unknown>)['x\u0100.html'] = { size: 1, sha256: 'c'.repeat(64) };
      },
      '"x\u0100.html" has a character',
    ],
    [
      // Was: read, and the deploy went on with a number where the settings hash goes.
      'settings that are not a string',
      (s) => (s.settings = 5),
      'bad settings or updatedAt',
    ],
    [
      // Was: read; a "committing" that is the string "no" counted as true.
      'a temp whose committing flag is not a boolean',
      (s) =>
        (s.pending = {
          temps: {
            ['.ftpship-' + '0'.repeat(20) + '.tmp']: {
              path: 'index.html',
              size: 4,
              sha256: '',
              committing: 'no',
            },
          },
          uncertain: [],
        }),
      'bad temporary file entry',
    ],
    [
      // Was: read, exit 0 (with the folder also gone locally, the file's DELE aims at the folder: "550
      // ENOTEMPTY" part way). ftpship never writes this: a file and a folder leave and enter the state in
      // turn (beginRun, dirCreated, removeDirs then fileLive; recoverCommits after a cut commit).
      'a path listed both as a file and as a folder',
      (s) => ((s.files as Record<string, unknown>).a = { size: 1, sha256: 'c'.repeat(64) }),
      '"a" is listed both as a file and as a folder',
    ],
    [
      // Was: read, exit 0.
      'a file inside a path that is also a file',
      (s) => ((s.files as Record<string, unknown>)['index.html/x'] = { size: 1, sha256: 'c'.repeat(64) }),
      '"index.html/x" is listed inside "index.html", which is listed as a file',
    ],
    [
      'a folder inside a path that is also a file',
      (s) => (s.dirs as string[]).push('index.html/sub'),
      '"index.html/sub" is listed inside "index.html", which is listed as a file',
    ],
    [
      // Was: read, exit 0: a folder a cut run was making that is not wanted locally is removed, and ftp-srv's RMD
      // deletes a file too (index.html unchanged: gone from the server, the state still listing it). ftpship
      // never writes this: a folder leaves pending.dirs as it is removed, before a file is renamed in there.
      'a folder a cut run was making, at a path listed as a file',
      (s) => (s.pending = { temps: {}, uncertain: [], dirs: ['index.html'] }),
      '"index.html" is listed both as a file and as a folder a cut run was making (pending dirs)',
    ],
    [
      // Was: read, exit 0 (an RMD aimed inside a file).
      'a folder a cut run was making, inside a path listed as a file',
      (s) => (s.pending = { temps: {}, uncertain: [], dirs: ['index.html/sub'] }),
      '"index.html/sub" is listed inside "index.html", which is listed as a file',
    ],
  ];
  it.each(cases)('%s', async (_, edit, named) => {
    const { local, dir, disk } = await deployedWith(edit);
    fs.writeFileSync(path.join(local, 'index.html'), 'changed');
    const before = snapshot(disk);
    const r = await cli(['deploy', local, url(dir)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`the state file /${dir}/${STATE} is unreadable`);
    expect(r.stderr).toContain(named);
    expect(r.stderr).toContain('--reset-state');
    expect(r.stderr).not.toContain("connect with encoding 'utf8'");
    expect(snapshot(disk)).toEqual(before);
  });
});

describe("FTP-Deploy-Action's state listing a path as a file and as a folder, or inside a file: refused, nothing changed", () => {
  const sha = (text: string): string => crypto.createHash('sha256').update(text).digest('hex');
  const file = (name: string, text: string): object => ({
    type: 'file',
    name: `./${name}`,
    size: 1,
    hash: sha(text),
  });
  const cases: Array<[string, Record<string, string>, object[], string]> = [
    [
      // Was: read; the folder taken for there was found missing, its MKD failed on the file ("a file of that
      // name is there"), exit 1 part way: a temp left on the server, and ftpship's own state written listing
      // "a" as both, which it then refused.
      'a listed as a file and as a folder (a file on the server, a folder locally)',
      { a: 'a' },
      [file('a', 'a'), { type: 'folder', name: './a/' }],
      '"a" is listed both as a file and as a folder',
    ],
    [
      // Was: read, exit 0 (a/b taken for deployed until the spot check found it missing).
      'a/b listed inside a, listed as a file',
      { a: 'a' },
      [file('a', 'a'), file('a/b', 'b')],
      '"a/b" is listed inside "a", which is listed as a file',
    ],
  ];
  it.each(cases)('%s', async (_, onServer, records, named) => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home', 'a/b': 'b' });
    const dir = uniqueName('hostile-fda-shape');
    const disk = path.join(srv().root, dir);
    const data = [file('index.html', 'home'), ...records];
    writeTree(disk, {
      'index.html': 'home',
      ...onServer,
      [FDA_STATE]: JSON.stringify({ description: 'x', version: '1.0.0', generatedTime: 1, data }),
    });
    const before = snapshot(disk);
    const r = await cli(['deploy', local, url(dir)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`FTP-Deploy-Action's state file /${dir}/${FDA_STATE} is unreadable: ${named}`);
    expect(r.stderr).toContain('--reset-state');
    expect(snapshot(disk)).toEqual(before);
  });
});

describe("FTP-Deploy-Action's state with a size that is not a size", () => {
  it('is read as size unknown: the file is hashed and kept, not sent again, and the state written reads back', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home' });
    const dir = uniqueName('hostile-fda');
    const disk = path.join(srv().root, dir);
    const hash = crypto.createHash('sha256').update('home').digest('hex');
    writeTree(disk, {
      'index.html': 'home',
      [FDA_STATE]: `{"description":"x","version":"1.0.0","generatedTime":1,"data":[{"type":"file","name":"./index.html","size":1e400,"hash":"${hash}"}]}`,
    });
    const r = await cli(['deploy', local, url(dir), '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ counts: { upload: 0, unchanged: 1 } });
    const again = await cli(['deploy', local, url(dir), '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ counts: { upload: 0, unchanged: 1 } });
  });
});
