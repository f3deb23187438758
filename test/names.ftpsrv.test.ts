/**
 * Unusual names on ftp-srv, through the CLI: it drops double quotes from every command (a name holding one
 * is stored without it), reads a backslash as a folder separator (as Windows servers do), and answers 451 to
 * a LIST of a folder that is not there. Each checks the server's folder on disk against the local tree.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { useEmbedded } from './helpers/embedded.js';
import { errors, ok, runCli, type CliResult } from './helpers/cli.js';
import { readTree, tmpDir, uniqueName, writeTree } from './helpers/tmp.js';

const server = useEmbedded();
const STATE = '.ftpship-state.json';

async function cli(command: string, local: string, dir: string, ...args: string[]): Promise<CliResult> {
  const srv = server();
  return runCli([command, local, `ftp://${srv.user}@127.0.0.1:${srv.port}/${dir}`, ...args], {
    FTPSHIP_PASSWORD: srv.password,
  });
}

it('a double quote in a name (dropped by the server) fails the deploy naming the file and the --exclude that leaves it out', async () => {
  const local = tmpDir();
  writeTree(local, { 'index.html': 'home', 'say "hi".txt': 'hi' });
  const dir = uniqueName('names');
  const r = await cli('deploy', local, dir);
  // Before: exit 0, with "say hi.txt" on the server and 'say "hi".txt' in the state.
  expect(r.code).toBe(1);
  expect(errors(r)).toEqual([
    `ftpship: error: the server did not keep the file name "/${dir}/say \\"hi\\".txt" when tested: a file whose name held a double quote was stored under another name (pure-ftpd turns a control character such as a tab into "_"; some servers drop a double quote); nothing was sent under it; rename it locally or leave it out with --exclude '/say "hi"\\.txt'`,
  ]);
  // Then (tested after its upload) index.html and "say hi.txt" were on the server; now nothing is sent.
  expect(fs.readdirSync(path.join(server().root, dir))).toEqual([STATE]);
  ok(await cli('deploy', local, dir, '--exclude', '/say "hi"\\.txt'));
  fs.rmSync(path.join(local, 'say "hi".txt'));
  expect(readTree(path.join(server().root, dir), [STATE])).toEqual(readTree(local));
});

it('two local files that are one file where a backslash separates folders are refused before any change (exit 2)', async () => {
  const local = tmpDir();
  writeTree(local, { 'bk/x.txt': 'from the folder', 'bk\\x.txt': 'from the name with a backslash' });
  const dir = uniqueName('names');
  const r = await cli('deploy', local, dir);
  // Before: exit 0, one file on the server and two contents in the state (then exit 1, as a failed deploy).
  expect(r.code).toBe(2);
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

it('a line break in a name is refused before any change (exit 2), naming the path and the --exclude that leaves exactly it out', async () => {
  const local = tmpDir();
  writeTree(local, { 'index.html': 'home', 'sub/fine.txt': 'fine', 'sub/line\nbreak.txt': 'x' });
  const dir = uniqueName('names');
  const r = await cli('deploy', local, dir);
  // Before: exit 1, and "leave it out with --exclude", no glob (one with a line break is hard to write).
  expect(r.code).toBe(2);
  expect(errors(r)).toEqual([
    `ftpship: error: local path "sub/line\\nbreak.txt" has a line break (or NUL) in its name, which FTP cannot send: a line break ends a command. Rename it, or leave it out with --exclude $'/sub/line\\x0abreak\\\\.txt'`,
  ]);
  expect(fs.existsSync(path.join(server().root, dir))).toBe(false);
  // The option as bash reads $'…' leaves out that file, not its neighbours.
  ok(await cli('deploy', local, dir, '--exclude', '/sub/line\nbreak\\.txt'));
  fs.rmSync(path.join(local, 'sub/line\nbreak.txt'));
  expect(readTree(path.join(server().root, dir), [STATE])).toEqual(readTree(local));
});

it('one name twice, composed (NFC) and decomposed (NFD): refused before any change (exit 2), saying an exclude leaves out both', async () => {
  const local = tmpDir();
  const nfc = 'caf\u00e9.txt';
  const nfd = 'cafe\u0301.txt';
  writeTree(local, { 'index.html': 'home', [`m/${nfc}`]: 'composed', [`m/${nfd}`]: 'decomposed' });
  const dir = uniqueName('names');
  const r = await cli('deploy', local, dir);
  // Before: exit 1, "rename one, or leave one out with --exclude": an exclude matches the name in NFC, both.
  expect(r.code).toBe(2);
  expect(errors(r)).toEqual([
    expect.stringMatching(
      new RegExp(
        `^ftpship: error: two local files would be "m/${nfc}" on the server: .*/m/caf(\u00e9\\.txt, its name written composed \\(NFC\\)|e\u0301\\.txt, its name written decomposed \\(NFD, as macOS writes names\\)), and another entry beside it whose name is the same in Unicode NFC, the form ftpship sends names in; delete or rename one of them \\(an --exclude would leave out both\\)$`,
      ),
    ),
  ]);
  expect(fs.existsSync(path.join(server().root, dir))).toBe(false);
  fs.rmSync(path.join(local, 'm', nfd));
  ok(await cli('deploy', local, dir));
  expect(readTree(path.join(server().root, dir), [STATE])).toEqual(readTree(local));
});

it("a local folder named as ftpship's lock (a copy of the server taken during a deploy) is refused (exit 2), naming it and the --exclude", async () => {
  const local = tmpDir();
  writeTree(local, { 'index.html': 'home', '.ftpship-state.json.lock/holder.json': '{}' });
  const dir = uniqueName('names');
  const r = await cli('deploy', local, dir);
  // Before: "the state path … is a folder of the local tree (.ftpship-state.json.lock); give --state a file name".
  expect(r.code).toBe(2);
  expect(errors(r)).toEqual([
    `ftpship: error: the local folder .ftpship-state.json.lock has the name of ftpship's deploy lock on the server (/${dir}/.ftpship-state.json.lock), which a deploy makes and removes itself (a copy of the server taken while a deploy ran holds one): delete it locally, or leave it out with --exclude '/\\.ftpship-state\\.json\\.lock'`,
  ]);
  ok(await cli('deploy', local, dir, '--exclude', '/\\.ftpship-state\\.json\\.lock'));
  expect(readTree(path.join(server().root, dir), [STATE])).toEqual(
    readTree(local, ['.ftpship-state.json.lock']),
  );
});

it('a folder named with a % typed as it is in the URL: exit 2, naming the URL that means it (%25), which deploys there', async () => {
  const local = tmpDir();
  writeTree(local, { 'index.html': 'home' });
  const dir = uniqueName('names');
  const r = await cli('deploy', local, `${dir}/100%/x`);
  const url = `ftp://${server().user}@127.0.0.1:${server().port}/${dir}/100%/x`;
  // Before: "check its %-escapes", with no word of what to write.
  expect(r.code).toBe(2);
  expect(errors(r)).toEqual([
    `ftpship: error: malformed path in URL "${url}"; check its %-escapes: a % in a folder name is written %25 (${url.replace('100%', '100%25')})`,
  ]);
  ok(await cli('deploy', local, `${dir}/100%25/x`));
  expect(readTree(path.join(server().root, dir, '100%', 'x'), [STATE])).toEqual(readTree(local));
});

it('names that differ only in case (a file and a folder, two files) are sent as they are, with one warning naming them', async () => {
  const local = tmpDir();
  writeTree(local, { 'README.txt': 'upper', 'readme.txt': 'lower', 'Docs/a.html': 'a', docs: 'a file' });
  const dir = uniqueName('names');
  const r = await cli('deploy', local, dir);
  ok(r);
  // Before: no word of it; on a case-insensitive server one of each pair is written over the other.
  expect(r.stderr.split('\n').filter((l) => l.startsWith('warning:'))).toEqual([
    'warning: local names that differ only in case: Docs and docs, README.txt and readme.txt; on a case-insensitive server (Windows, IIS) each is one name, where one is written over the other and the state would list both: rename one of each if the server is one',
  ]);
  expect(readTree(path.join(server().root, dir), [STATE])).toEqual(readTree(local));
  const again = await cli('deploy', local, dir, '--json');
  ok(again);
  expect((JSON.parse(again.stdout) as { files: unknown[] }).files).toEqual([]);
});

it("local files named as the state's temp and as the lock are not sent, each warning saying what ftpship uses that path for", async () => {
  const local = tmpDir();
  writeTree(local, {
    'index.html': 'home',
    '.ftpship-state.json.tmp': 'a copy',
    '.ftpship-state.json.lock': 'x',
  });
  const dir = uniqueName('names');
  const r = await cli('deploy', local, dir);
  ok(r);
  // Before: both said "ftpship keeps its state at that path on the server".
  expect(r.stderr.split('\n').filter((l) => l.startsWith('warning:'))).toEqual([
    "warning: the local file .ftpship-state.json.tmp is not uploaded: ftpship writes the state's temporary copy at that path on the server; move the state with --state to publish the file",
    'warning: the local file .ftpship-state.json.lock is not uploaded: ftpship takes its deploy lock at that path on the server; move the state with --state to publish the file',
  ]);
  expect(readTree(path.join(server().root, dir), [STATE])).toEqual(
    readTree(local, ['.ftpship-state.json.tmp', '.ftpship-state.json.lock']),
  );
});

it('a name that climbs out where a backslash separates folders (..\\up.txt) is refused before any change (exit 2), with the --exclude that leaves exactly it out', async () => {
  const local = tmpDir();
  writeTree(local, { 'index.html': 'home', 'sub/..\\up.txt': 'x' });
  const dir = uniqueName('names');
  const r = await cli('deploy', local, dir);
  // Before: exit 1, and "leave it out with --exclude", no glob.
  expect(r.code).toBe(2);
  expect(errors(r)).toEqual([
    `ftpship: error: local path "sub/..\\\\up.txt" is not a plain path inside the folder (an empty, "." or ".." segment, or a leading slash, counting a backslash as a separator as Windows servers do): rename it, or leave it out with --exclude '/sub/\\.\\.\\\\up\\.txt'`,
  ]);
  expect(fs.existsSync(path.join(server().root, dir))).toBe(false);
  ok(await cli('deploy', local, dir, '--exclude', '/sub/\\.\\.\\\\up\\.txt'));
  fs.rmSync(path.join(local, 'sub/..\\up.txt'));
  expect(readTree(path.join(server().root, dir), [STATE])).toEqual(readTree(local));
});

it('a local file at the --maintenance path is refused (exit 2), naming the --exclude that leaves exactly it out', async () => {
  const local = tmpDir();
  writeTree(local, { 'index.html': 'home', 'maint [1].html': 'a page of the site' });
  const dir = uniqueName('names');
  const r = await cli('deploy', local, dir, '--maintenance', 'maint [1].html');
  // Before: "or exclude the local one", no glob (this name holds glob characters).
  expect(r.code).toBe(2);
  expect(errors(r)).toEqual([
    "ftpship: error: the maintenance file maint [1].html is also in the local folder; name another path, or leave the local one out with --exclude '/maint \\[1\\]\\.html'",
  ]);
  ok(
    await cli('deploy', local, dir, '--maintenance', 'maint [1].html', '--exclude', '/maint \\[1\\]\\.html'),
  );
  expect(readTree(path.join(server().root, dir), [STATE])).toEqual(readTree(local, ['maint [1].html']));
});

it('a path longer than servers take in a command (4094 bytes) is refused before any change (exit 2), saying by how much', async () => {
  const local = tmpDir();
  const rel = `${'a'.repeat(240)}/${'b'.repeat(240)}/c.txt`;
  writeTree(local, { 'index.html': 'home', [rel]: 'deep' });
  const dir = uniqueName('names');
  const folder = `${dir}/${Array.from({ length: 15 }, () => 'z'.repeat(240)).join('/')}`;
  const r = await cli('deploy', local, folder);
  const over = `STOR /${folder}/${rel}`.length - 4094;
  // Before: exit 1 when its turn came, after index.html was sent.
  expect(r.code).toBe(2);
  expect(errors(r)).toEqual([
    `ftpship: error: the local path "${rel}" is too long for FTP: FTP servers take command lines of at most 4094 bytes, and "STOR /${folder}/${rel}" is ${over} bytes over; shorten its name or folders (or the server folder) by ${over} bytes, or leave it out with --exclude '/${rel.replace('.', '\\.')}'`,
  ]);
  expect(fs.existsSync(path.join(server().root, dir))).toBe(false);
});

it('files named __proto__ and constructor are uploaded, recorded in the state, left alone when unchanged, and deleted when gone locally', async () => {
  const local = tmpDir();
  // (A computed key: `{ '__proto__': … }` would set the object's prototype, not name a file.)
  writeTree(local, { ['__proto__']: 'p', constructor: 'c', 'a/toString': 't', 'index.html': 'home' });
  const dir = uniqueName('names');
  const first = await cli('deploy', local, dir, '--json');
  ok(first);
  // Before: `constructor` was planned as a replace on a first deploy, and `__proto__` never entered the state.
  const counts = (r: CliResult): unknown => (JSON.parse(r.stdout) as { counts: unknown }).counts;
  expect(counts(first)).toMatchObject({ upload: 4, replace: 0 });
  const state = JSON.parse(fs.readFileSync(path.join(server().root, dir, STATE), 'utf8')) as {
    files: Record<string, unknown>;
  };
  expect(Object.keys(state.files).sort()).toEqual(['__proto__', 'a/toString', 'constructor', 'index.html']);
  const again = await cli('deploy', local, dir, '--json');
  ok(again);
  expect(counts(again)).toMatchObject({ upload: 0, replace: 0, unchanged: 4 });
  fs.rmSync(path.join(local, '__proto__'));
  fs.rmSync(path.join(local, 'constructor'));
  ok(await cli('deploy', local, dir));
  expect(readTree(path.join(server().root, dir), [STATE])).toEqual(readTree(local));
});

it('a local name with a backslash (a\\b.txt) renamed to the path it is on a server that reads one as a separator (a/b.txt): the file stays on the server (was: uploaded, then deleted as the old name, with the state listing it)', async () => {
  const local = tmpDir();
  writeTree(local, { 'index.html': 'home', 'a/x.txt': 'x', 'a\\b.txt': 'b, first' });
  const dir = uniqueName('names');
  ok(await cli('deploy', local, dir));
  fs.rmSync(path.join(local, 'a\\b.txt'));
  writeTree(local, { 'a/b.txt': 'b, now in its folder' });
  ok(await cli('deploy', local, dir));
  expect(readTree(path.join(server().root, dir), [STATE])).toEqual(readTree(local));
  const again = await cli('deploy', local, dir, '--json');
  ok(again);
  expect((JSON.parse(again.stdout) as { files: unknown[] }).files).toEqual([]);
});

it("a local copy of ftpship's name test file (from a copy of the server taken while a deploy ran) is not uploaded, with a warning (was: sent as a page of the site)", async () => {
  const local = tmpDir();
  const probe = 'blog/ftpship-name-test-0123456789ab_';
  writeTree(local, { 'index.html': 'home', 'blog/a.html': 'a', [probe]: '' });
  const dir = uniqueName('h-fail4-names');
  const r = await cli('deploy', local, dir);
  ok(r);
  expect(r.stderr.split('\n').filter((l) => l.startsWith('warning:'))).toEqual([
    `warning: the local file ${probe} is not uploaded: ftpship gives that name to the empty test file it writes for a moment (a copy of the server taken while a deploy ran may hold one); delete it locally`,
  ]);
  fs.rmSync(path.join(local, probe));
  expect(readTree(path.join(server().root, dir), [STATE])).toEqual(readTree(local));
});

it('names ending in a dot or a space go up: the empty file that tests them is sized though ftp-srv answers its SIZE with "213 File status" (was: "bad SIZE reply")', async () => {
  const local = tmpDir();
  writeTree(local, { 'index.html': 'home', 'v1.': 'dot', 'sub/note ': 'space', 'empty.txt': '' });
  const dir = uniqueName('h-scale16-names');
  // Before: exit 1, "ftpship: error: bad SIZE reply: File status", at the first name tested.
  ok(await cli('deploy', local, dir));
  expect(readTree(path.join(server().root, dir), [STATE])).toEqual(readTree(local));
  const again = await cli('deploy', local, dir, '--verify');
  ok(again);
  expect(again.stderr).not.toMatch(/warning/);
});
