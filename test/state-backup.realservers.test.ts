/**
 * FIELD.md §4.4, the state's backup copy (`<state>.bak`) on the three Debian servers, through the CLI: written
 * with the final state (over the last one: vsftpd and pure-ftpd take a STOR over a file, and the copy's name is
 * removed first), named by the error of a damaged state, and put back by an FTP client's rename, as that error
 * says, after which the deploy converges. Skipped, with a message, only when test/servers/.env.json is absent.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { plainClient, realServerSuite, remoteFolders, type RealServer } from './helpers/real-servers.js';
import { cliOn, errors, ok, type CliResult } from './helpers/cli.js';
import { readTree, snapshot, tmpDir, writeTree } from './helpers/tmp.js';

const { describe: d, each } = realServerSuite('state-backup.realservers');
const target = remoteFolders('stbak');
const STATE = '.ftpship-state.json';
const BAK = `${STATE}.bak`;

const cli = async (server: RealServer, local: string, dir: string, ...args: string[]): Promise<CliResult> =>
  cliOn(server, 'deploy', local, dir, ...args);

d.each(each('pure', 'vsftpd', 'proftpd'))('%s: the state’s backup copy', (_label, server) => {
  it('kept with each final state; a damaged state names it; renamed back over the state, the deploy converges', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'v1', 'a/b.txt': 'b', 'gone.txt': 'g' });
    const { dir, disk } = target(server);
    const read = (rel: string): string => fs.readFileSync(path.join(disk, rel), 'utf8');
    ok(await cli(server, local, dir));
    expect(read(BAK)).toBe(read(STATE));

    writeTree(local, { 'index.html': 'v2, longer' });
    fs.rmSync(path.join(local, 'gone.txt'));
    ok(await cli(server, local, dir));
    const second = read(STATE);
    expect(read(BAK)).toBe(second); // written over the first one
    expect(JSON.parse(second).files['gone.txt']).toBeUndefined();

    fs.writeFileSync(path.join(disk, STATE), second.slice(0, second.length / 2)); // cut short
    writeTree(local, { 'index.html': 'v3', 'd/new.txt': 'new' });
    const before = snapshot(disk);
    const r = await cli(server, local, dir);
    expect(r.code).toBe(1);
    const [error] = errors(r);
    expect(error).toContain(`the state file ${dir}/${STATE} is not JSON`);
    expect(error).toContain(
      `ftpship keeps a copy of the state as the last deploy that finished wrote it, and it reads as a state: ${dir}/${BAK} (2 file(s), written ${JSON.parse(second).updatedAt}). To go back to it, rename it to ${dir}/${STATE} on the server`,
    );
    expect(snapshot(disk)).toEqual(before);

    // As the error says, with an FTP client: the rename over the damaged file is the server's own.
    const c = await plainClient(server);
    try {
      await c.delete(`${dir}/${STATE}`);
      await c.rename(`${dir}/${BAK}`, `${dir}/${STATE}`);
    } finally {
      await c.quit();
    }
    const again = ok(await cli(server, local, dir));
    expect(again.stderr).toMatch(/^deployed: did upload 1, replace 1, delete 0, mkdir 1, /m);
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
    expect(read(BAK)).toBe(read(STATE));
    expect(ok(await cli(server, local, dir)).stderr).toMatch(
      /^deployed: did upload 0, replace 0, delete 0, mkdir 0, rmdir 0; 3 unchanged/m,
    );
  });
});
