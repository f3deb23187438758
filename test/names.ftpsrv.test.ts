/**
 * Unusual names on ftp-srv, through the CLI: it drops double quotes from every command (a name holding one
 * is stored without it), reads a backslash as a folder separator (as Windows servers do), and answers 451 to
 * a LIST of a folder that is not there. Each checks the server's folder on disk against the local tree.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { useEmbedded } from './helpers/embedded.js';
import { runCli, type CliResult } from './helpers/cli.js';
import { readTree, tmpDir, uniqueName, writeTree } from './helpers/tmp.js';

const server = useEmbedded();
const STATE = '.ftpship-state.json';

async function cli(command: string, local: string, dir: string, ...args: string[]): Promise<CliResult> {
  const srv = server();
  return runCli([command, local, `ftp://${srv.user}@127.0.0.1:${srv.port}/${dir}`, ...args], {
    FTPSHIP_PASSWORD: srv.password,
  });
}

function ok(r: CliResult): void {
  if (r.code !== 0) console.log(r.stderr);
  expect(r.code).toBe(0);
}

const errors = (r: CliResult): string[] => r.stderr.split('\n').filter((l) => l.startsWith('ftpship:'));

it('a double quote in a name (dropped by the server) fails the deploy naming the file and the --exclude that leaves it out', async () => {
  const local = tmpDir();
  writeTree(local, { 'index.html': 'home', 'say "hi".txt': 'hi' });
  const dir = uniqueName('names');
  const r = await cli('deploy', local, dir);
  // Before: exit 0, with "say hi.txt" on the server and 'say "hi".txt' in the state.
  expect(r.code).toBe(1);
  expect(errors(r)).toEqual([
    `ftpship: error: the server did not keep the file name "/${dir}/say \\"hi\\".txt" (it stored it under another name, as some servers do with a trailing space or dot, a control character such as a tab, or a double quote); rename it locally or leave it out with --exclude '/say "hi"\\.txt'`,
  ]);
  ok(await cli('deploy', local, dir, '--exclude', '/say "hi"\\.txt'));
  fs.rmSync(path.join(local, 'say "hi".txt'));
  expect(readTree(path.join(server().root, dir), [STATE])).toEqual(readTree(local));
});

it('two local files that are one file where a backslash separates folders are refused before any change', async () => {
  const local = tmpDir();
  writeTree(local, { 'bk/x.txt': 'from the folder', 'bk\\x.txt': 'from the name with a backslash' });
  const dir = uniqueName('names');
  const r = await cli('deploy', local, dir);
  // Before: exit 0, one file on the server and two contents in the state.
  expect(r.code).toBe(1);
  expect(errors(r)).toEqual([
    expect.stringMatching(
      /^ftpship: error: two local files would be "bk\/x\.txt" on a server that reads a backslash as a folder separator, as Windows servers do: "bk\/x\.txt" and "bk\\\\x\.txt" \(.*\); rename one, or leave one out with --exclude '\/bk\\\\x\\\.txt'$/,
    ),
  ]);
  expect(fs.existsSync(path.join(server().root, dir))).toBe(false);
  ok(await cli('deploy', local, dir, '--exclude', '/bk\\\\x\\.txt'));
});

it('--verify after a folder was removed by hand (ftp-srv answers its LIST with 451) uploads its files again', async () => {
  const local = tmpDir();
  writeTree(local, { 'index.html': 'home', 'sub/a.txt': 'a', 'sub/deeper/b.txt': 'b' });
  const dir = uniqueName('names');
  ok(await cli('deploy', local, dir));
  const disk = path.join(server().root, dir);
  fs.rmSync(path.join(disk, 'sub'), { recursive: true });
  const r = await cli('deploy', local, dir, '--verify');
  // Before: the 451 was retried 5 times (about 15 s of backoff), then failed the deploy.
  ok(r);
  expect(r.stderr).toContain('drift: sub/deeper/b.txt is missing on the server');
  expect(r.stderr).not.toMatch(/list .*retrying/);
  expect(readTree(disk, [STATE])).toEqual(readTree(local));
});
