/**
 * `keep: ['d/']` and `keep: ['d/**']` name the folder d (as in .gitignore), never a file d: on pure-ftpd and
 * vsftpd (DELE and RMD as a real server does them, RMD not recursive) and on ftp-srv, through deploy() (which
 * the CLI, the Action and the gulp plugin hand their keep globs to). The server's folder on disk after each run.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { deploy } from '../src/index.js';
import { realServerSuite } from './helpers/real-servers.js';
import { deployTargets } from './helpers/targets.js';
import { readTree, tmpDir, writeTree } from './helpers/tmp.js';

const suite = realServerSuite('keep-folders.realservers');
const { rows: targets } = deployTargets(suite, 'keep-folders', 'pure', 'vsftpd');
const STATE = '.ftpship-state.json';
const quiet = { warn: () => undefined };

describe.each(targets)('%s: a keep glob naming a folder', (_name, make) => {
  const onServer = (disk: string): string[] => Object.keys(readTree(disk, [STATE])).sort();

  it.each(['/', '/**'])(
    '`d%s`: a deployed file d gone locally is deleted (it used to stay, kept); a deployed folder e stays whole',
    async (suffix) => {
      const { dir, disk, opts } = make();
      const local = tmpDir();
      const keep = [`d${suffix}`, `e${suffix}`];
      writeTree(local, { d: 'a file', 'e/x.txt': 'x', 'index.html': 'hi' });
      await deploy(opts(local, dir, { keep }), quiet);
      fs.rmSync(path.join(local, 'd'));
      fs.rmSync(path.join(local, 'e'), { recursive: true });
      const r = await deploy(opts(local, dir, { keep }), quiet);
      expect(r.files.filter((f) => f.action === 'delete').map((f) => f.path)).toEqual(['d']);
      expect(onServer(disk)).toEqual(['e/x.txt', 'index.html']);
      expect(fs.statSync(path.join(disk, 'e')).isDirectory()).toBe(true);
    },
  );

  it('`d/`: a deployed file d that is a folder locally now is replaced by it (it used to be refused as kept)', async () => {
    const { dir, disk, opts } = make();
    const local = tmpDir();
    writeTree(local, { d: 'a file', 'index.html': 'hi' });
    await deploy(opts(local, dir, { keep: ['d/'] }), quiet);
    fs.rmSync(path.join(local, 'd'));
    writeTree(local, { 'd/inside.txt': 'now a folder' });
    await deploy(opts(local, dir, { keep: ['d/'] }), quiet);
    expect(onServer(disk)).toEqual(['d/inside.txt', 'index.html']);
  });
});
