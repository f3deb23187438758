import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { deploy, type DeployOptions } from '../src/index.js';
import { realServerSuite, remoteFolders } from './helpers/real-servers.js';
import { readDirs, readTree, tmpDir, writeTree } from './helpers/tmp.js';

const { describe: d, opts: realOpts, each } = realServerSuite('scratch');
const STATE = '.ftpship-state.json';
const target = remoteFolders('scratch');

d.each(each('pure', 'vsftpd'))('%s: explore', (_name, srv) => {
  const opts = (local: string, dir: string, extra?: Partial<DeployOptions>): DeployOptions =>
    realOpts(srv, local, dir, extra);
  for (const atomic of [true, false]) {
    it(`swaps both ways nested, atomic ${atomic}`, async () => {
      const local = tmpDir();
      writeTree(local, {
        'a/b/c.txt': 'c', 'a/b/d.txt': 'd', 'x': 'x file', 'y/z': 'z file', 'p/q/r': 'r', 'e/f': 'f',
        'sp ace/#hash file.txt': 'h', '-dash/-lead.txt': 'l', 'zero.txt': '', 'empty/.keep': '',
      });
      fs.mkdirSync(path.join(local, 'emptydir'));
      const { dir, disk } = target(srv);
      await deploy(opts(local, dir, { atomic }));
      expect(readTree(disk, [STATE])).toEqual(readTree(local));
      // swaps
      fs.rmSync(path.join(local, 'a'), { recursive: true });
      writeTree(local, { a: 'a is a file now' });
      fs.rmSync(path.join(local, 'x'));
      writeTree(local, { 'x/x/x.txt': 'deep x' });
      fs.rmSync(path.join(local, 'y/z'));
      writeTree(local, { 'y/z/w.txt': 'w' });
      fs.rmSync(path.join(local, 'p/q'), { recursive: true });
      writeTree(local, { 'p/q': 'q file' });
      fs.rmSync(path.join(local, 'emptydir'), { recursive: true });
      writeTree(local, { emptydir: 'file' });
      fs.rmSync(path.join(local, 'zero.txt'));
      fs.mkdirSync(path.join(local, 'zero.txt'));
      const r = await deploy(opts(local, dir, { atomic }));
      expect(readTree(disk, [STATE])).toEqual(readTree(local));
      expect(readDirs(disk)).toEqual(readDirs(local));
      const again = await deploy(opts(local, dir, { atomic }));
      expect(again.files).toEqual([]);
      // back
      const local2 = tmpDir();
      writeTree(local2, { 'a/b/c.txt': 'c2', x: 'x', 'y/z': 'zz', 'p/q/r': 'r2', emptydir: 'file' });
      const r2 = await deploy(opts(local2, dir, { atomic }));
      expect(readTree(disk, [STATE])).toEqual(readTree(local2));
      expect(readDirs(disk)).toEqual(readDirs(local2));
      expect((await deploy(opts(local2, dir, { atomic }))).files).toEqual([]);
      void r; void r2;
    });
  }
});
