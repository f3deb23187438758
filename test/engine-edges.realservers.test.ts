/**
 * Deploy-engine edge cases found by adversarial scenarios, each proven on a real server (ftp-srv's RMD and
 * MKD are recursive, which hides them). Skipped, with a message, only when test/servers/.env.json is absent.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { deploy, type DeployOptions } from '../src/index.js';
import { realServerSuite, remoteFolders } from './helpers/real-servers.js';
import { readDirs, readTree, tmpDir, writeTree } from './helpers/tmp.js';

const { describe: d, opts: realOpts, each } = realServerSuite('engine-edges.realservers');
const STATE = '.ftpship-state.json';
const target = remoteFolders('edges');

d.each(each('pure', 'vsftpd'))('%s: deploy engine edges', (_name, srv) => {
  const opts = (local: string, dir: string, extra?: Partial<DeployOptions>): DeployOptions =>
    realOpts(srv, local, dir, extra);

  it('--no-delete: a folder holding a subfolder that became a file is replaced by the file (was: "holds files ftpship did not deploy")', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home', 'docs/sub/page.html': 'page', 'docs/top.html': 'top' });
    const { dir, disk } = target(srv);
    await deploy(opts(local, dir));
    fs.rmSync(path.join(local, 'docs'), { recursive: true });
    writeTree(local, { docs: 'now a file' });
    await deploy(opts(local, dir, { delete: false }));
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
    expect(readDirs(disk)).toEqual([]);
    const again = await deploy(opts(local, dir, { delete: false }));
    expect(again.counts).toMatchObject({ upload: 0, replace: 0, delete: 0, rmdir: 0 });
  });
});
