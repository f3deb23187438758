import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { deploy, type DeployOptions } from '../src/index.js';
import { realServerSuite, remoteFolders } from './helpers/real-servers.js';
import { readTree, tmpDir, writeTree } from './helpers/tmp.js';

const { describe: d, opts: realOpts, each } = realServerSuite('nested-probe');
const target = remoteFolders('h-engine3-nest');
const STATE = '.ftpship-state.json';
const show = (disk: string) => JSON.stringify(readTree(disk));

d.each(each('pure', 'vsftpd'))('%s', (_n, srv) => {
  const opts = (local: string, dir: string, extra?: Partial<DeployOptions>): DeployOptions => realOpts(srv, local, dir, extra);
  it('outer deployed blog/ first, then blog split out to its own deploy, then outer drops blog/', async () => {
    const outer = tmpDir();
    writeTree(outer, { 'index.html': 'home', 'blog/index.html': 'placeholder', 'blog/old.html': 'old' });
    const { dir, disk } = target(srv);
    await deploy(opts(outer, dir));
    const inner = tmpDir();
    writeTree(inner, { 'index.html': 'real blog', 'post/1.html': 'p1' });
    const ri = await deploy(opts(inner, `${dir}/blog`));
    console.log('inner1', JSON.stringify(ri.counts), show(disk));
    fs.rmSync(path.join(outer, 'blog'), { recursive: true });
    const w: string[] = [];
    let r;
    try { r = await deploy(opts(outer, dir), { warn: (m) => w.push(m) }); console.log('outer2', JSON.stringify(r.counts), r.files, w); }
    catch (e) { console.log('outer2 ERR', (e as Error).message, w); }
    console.log('after outer2', show(disk), fs.readdirSync(path.join(disk, 'blog')));
    const r3 = await deploy(opts(inner, `${dir}/blog`), { warn: (m) => w.push(m) }).catch((e: Error) => e);
    console.log('inner2', r3 instanceof Error ? r3.message : JSON.stringify(r3.counts), show(disk));
    // outer gets a file named blog
    writeTree(outer, { blog: 'a file' });
    const r4 = await deploy(opts(outer, dir)).catch((e: Error) => e);
    console.log('outer3', r4 instanceof Error ? r4.message : JSON.stringify(r4.counts), show(disk));
    expect(1).toBe(1);
  });
  it('swaps file<->folder', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home', 'x/a.html': 'a', 'x/y/b.html': 'b', f: 'file f' });
    const { dir, disk } = target(srv);
    await deploy(opts(local, dir));
    fs.rmSync(path.join(local, 'x'), { recursive: true });
    fs.rmSync(path.join(local, 'f'));
    writeTree(local, { x: 'x is a file', 'f/inside.html': 'f is a folder' });
    const r = await deploy(opts(local, dir));
    console.log('swap', JSON.stringify(r.counts), show(disk));
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
    const r2 = await deploy(opts(local, dir));
    expect(r2.files).toEqual([]);
    fs.rmSync(path.join(local, 'x'));
    fs.rmSync(path.join(local, 'f'), { recursive: true });
    writeTree(local, { 'x/again.html': 'x folder again', f: 'f file again' });
    await deploy(opts(local, dir));
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
    expect((await deploy(opts(local, dir))).files).toEqual([]);
  });
});
