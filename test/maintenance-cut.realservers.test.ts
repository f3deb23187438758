/**
 * A deploy cut (every connection dropped for good) after it made a folder for its maintenance marker, and
 * the next deploy's site has a FILE where that folder is: the rerun must converge (the folder, made by
 * ftpship for the marker alone, goes before the file is sent there), on real servers (ftp-srv's MKD and RMD
 * are not a real server's).
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { deploy, type DeployOptions } from '../src/index.js';
import { realServerSuite, remoteFolders } from './helpers/real-servers.js';
import { deployCutAt } from './helpers/chaos.js';
import { readDirs, readTree, sha256, tmpDir, writeTree } from './helpers/tmp.js';

const { describe: d, opts, each } = realServerSuite('maintenance-cut.realservers');
const target = remoteFolders('maintenance-cut');
const STATE = '.ftpship-state.json';

/** A deploy with `--maintenance m/.maintenance` cut for good at the first command matching `at`. */
async function cutMarkerRun(
  server: Parameters<typeof opts>[0],
  local: string,
  dir: string,
  at: RegExp,
): Promise<[boolean, number | null]> {
  const args = ['--maintenance', 'm/.maintenance', '--no-atomic', '--retries', '0'];
  const { dropped, cut } = await deployCutAt(server, local, dir, at, args);
  return [dropped, cut.code];
}

d.each(each('pure', 'vsftpd'))('%s', (_name, server) => {
  it.each([
    // [when the run is cut, the command at which the connections drop, what the marker's folder then holds]
    ['after MKD m, before the marker is written', /^STOR .*\/m\/\.maintenance/, []],
    ['with the marker up', /^STOR .*\/index\.html/, ['.maintenance']],
  ])(
    'cut %s; the site then has a file m: the rerun replaces the folder with it (and a third run is a no-op)',
    async (_when, at, held) => {
      const local = tmpDir('ftpship-maintenance-cut-');
      const { dir, disk } = target(server);
      const o = (extra: Partial<DeployOptions> = {}): DeployOptions =>
        opts(server, local, dir, { staleLockMs: 1000, ...extra });
      writeTree(local, { 'index.html': 'v1', 'css/site.css': 'c' });
      await deploy(o());
      writeTree(local, { 'index.html': 'v2' });
      expect(await cutMarkerRun(server, local, dir, at)).toEqual([true, 1]);
      expect(fs.readdirSync(path.join(disk, 'm'))).toEqual(held);
      // The site now has a file where the marker's folder is.
      writeTree(local, { m: 'a file now' });
      await deploy(o());
      expect((await deploy(o())).files).toEqual([]);
      expect(readTree(disk, [STATE])).toEqual({
        'index.html': sha256('v2'),
        'css/site.css': sha256('c'),
        m: sha256('a file now'),
      });
      expect(readDirs(disk)).toEqual(['css']);
    },
    20_000,
  );

  it("the marker's folder holds a file put there by hand: the rerun stops with an error naming the folder and what to do, and converges once it is removed", async () => {
    const local = tmpDir('ftpship-maintenance-cut-');
    const { dir, disk } = target(server);
    const o = (): DeployOptions => opts(server, local, dir, { staleLockMs: 1000 });
    writeTree(local, { 'index.html': 'v1' });
    await deploy(o());
    writeTree(local, { 'index.html': 'v2' });
    expect(await cutMarkerRun(server, local, dir, /^STOR .*\/m\/\.maintenance/)).toEqual([true, 1]);
    fs.writeFileSync(path.join(disk, 'm/user.txt'), 'mine');
    fs.chownSync(path.join(disk, 'm/user.txt'), server.uid, server.gid);
    writeTree(local, { m: 'a file now' });
    await expect(deploy(o())).rejects.toThrow(
      new RegExp(
        `cannot upload m: the server has a folder there \\(${dir}/m\\).*not empty.*remove or rename that folder`,
      ),
    );
    expect(fs.readFileSync(path.join(disk, 'm/user.txt'), 'utf8')).toBe('mine');
    fs.rmSync(path.join(disk, 'm/user.txt'));
    await deploy(o());
    expect(readTree(disk, [STATE])).toEqual({ 'index.html': sha256('v2'), m: sha256('a file now') });
    expect(readDirs(disk)).toEqual([]);
  }, 20_000);
});
