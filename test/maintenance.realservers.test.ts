/**
 * The maintenance marker on a real server (ftp-srv's MKD and RMD are not a real server's): a marker in a
 * folder the server does not have and the site does not deploy goes up in a folder made for it, and that
 * folder goes with it, so the run leaves nothing behind that the state does not track (G3). Through the
 * CLI, as a user runs it. Skipped, with a message, only when test/servers/.env.json is absent.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { deploy } from '../src/index.js';
import { realServerSuite, remoteFolders } from './helpers/real-servers.js';
import { runCli } from './helpers/cli.js';
import { readDirs, readTree, tmpDir, writeTree } from './helpers/tmp.js';

const { describe: d, opts, each } = realServerSuite('maintenance.realservers');
const STATE = '.ftpship-state.json';
const target = remoteFolders('h-left2-mnt');

d.each(each('pure'))('%s', (_name, server) => {
  /** A site deployed once, then changed (so the next deploy has a commit phase, and puts the marker up). */
  async function changedSite(dir: string): Promise<string> {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'v1', 'css/site.css': 'c' });
    await deploy(opts(server, local, dir));
    writeTree(local, { 'index.html': 'v2' });
    return local;
  }
  const cli = async (local: string, dir: string, marker: string, ...extra: string[]): Promise<string> => {
    const url = `ftp://${server.user}@${server.host}:${server.port}${dir}`;
    const r = await runCli(['deploy', local, url, '--maintenance', marker, '--verbose', ...extra], {
      FTPSHIP_PASSWORD: server.password,
    });
    expect([r.code, r.stderr]).toEqual([0, expect.stringContaining(`maintenance file ${marker} removed`)]);
    return r.stderr;
  };

  it('--maintenance sub/deeper/.m in folders the server lacks: they are made for the marker and removed with it (was: empty folders left, untracked)', async () => {
    const { dir, disk } = target(server);
    const local = await changedSite(dir);
    await cli(local, dir, 'sub/deeper/.m');
    expect(readDirs(disk)).toEqual(['css']);
    // With --no-atomic the marker is up for the whole run: the same.
    writeTree(local, { 'index.html': 'v3' });
    await cli(local, dir, 'sub/deeper/.m', '--no-atomic');
    expect(readDirs(disk)).toEqual(['css']);
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
  });

  it('a deploy that fails with the marker up leaves it and its folder; the next deploy takes both down (was: the folder left for good)', async () => {
    const { dir, disk } = target(server);
    const local = await changedSite(dir);
    // pure-ftpd refuses a name with a backslash (553): with --no-atomic the marker is up by then.
    writeTree(local, { 'bad\\name.txt': 'x' });
    const url = `ftp://${server.user}@${server.host}:${server.port}${dir}`;
    const failed = await runCli(
      ['deploy', local, url, '--maintenance', 'sub/.m', '--no-atomic', '--retries', '0'],
      {
        FTPSHIP_PASSWORD: server.password,
      },
    );
    expect([failed.code, failed.stderr]).toEqual([1, expect.stringContaining('bad\\name.txt')]);
    expect(fs.existsSync(path.join(disk, 'sub/.m'))).toBe(true);
    fs.rmSync(path.join(local, 'bad\\name.txt'));
    const r = await runCli(['deploy', local, url], { FTPSHIP_PASSWORD: server.password });
    expect(r.code).toBe(0);
    expect(readDirs(disk)).toEqual(['css']);
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
  });

  it('--maintenance in a folder already on the server (made by hand) or deployed: the folder stays', async () => {
    const { dir, disk } = target(server);
    const local = await changedSite(dir);
    fs.mkdirSync(path.join(disk, 'flags'));
    fs.chownSync(path.join(disk, 'flags'), server.uid, server.gid);
    await cli(local, dir, 'flags/.m');
    writeTree(local, { 'index.html': 'v3' });
    await cli(local, dir, 'css/.m');
    expect(readDirs(disk).sort()).toEqual(['css', 'flags']);
    expect(fs.readdirSync(path.join(disk, 'flags'))).toEqual([]);
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
  });
});
