/**
 * A folder the state lists, removed by hand on a real server (which, unlike ftp-srv, makes no missing
 * parent for MKD or STOR): the next deploy that adds a folder or changes a file inside it makes it again and
 * says to run --verify, instead of failing on every deploy from then on ("cannot create folder"). Through the
 * CLI, in plain FTP. Skipped, with a message, only when test/servers/.env.json is absent.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { realServerSuite, remoteFolders, type RealServer } from './helpers/real-servers.js';
import { cliOn, ok, type CliResult } from './helpers/cli.js';
import { linesProxy } from './helpers/faults.js';
import { readTree, tmpDir, writeTree } from './helpers/tmp.js';

const { describe: d, each } = realServerSuite('day-two.realservers');
const target = remoteFolders('daytwo');
const STATE = '.ftpship-state.json';

const cli = async (server: RealServer, local: string, dir: string, ...args: string[]): Promise<CliResult> =>
  cliOn(server, 'deploy', local, dir, ...args);

const GONE =
  'warning: the folder a was not on the server though ftpship deployed it (removed by hand?): it is made again.';

d.each(each('pure', 'vsftpd', 'proftpd'))('%s: a deployed folder removed by hand', (_label, server) => {
  it('a new folder inside it: made with its parent, a warning naming --verify; --verify then sends the rest', async () => {
    const local = tmpDir();
    // Sixteen files sorting before a/x.txt: the spot check's eight (every second one) miss it, so this deploy
    // does not check every file itself.
    const others = Object.fromEntries(
      Array.from({ length: 16 }, (_, i) => [`${String(i).padStart(2, '0')}.txt`, `f${i}`]),
    );
    writeTree(local, { ...others, 'index.html': 'home', 'a/x.txt': 'x' });
    const { dir, disk } = target(server);
    ok(await cli(server, local, dir));
    fs.rmSync(path.join(disk, 'a'), { recursive: true });
    writeTree(local, { 'a/new/n.txt': 'n' });

    // Before: "cannot create folder …/a/new on the server: 550 …", exit 1, on this and every later deploy.
    const r = ok(await cli(server, local, dir));
    expect(r.stderr).toContain(GONE);
    expect(r.stderr).toContain('deploy once with --verify');
    // The report counts the folders made: a/new and a again (was: the plan's 1, a/new alone).
    expect(r.stderr).toMatch(/^deployed: did upload 1, replace 0, delete 0, mkdir 2, /m);
    expect(fs.readFileSync(path.join(disk, 'a/new/n.txt'), 'utf8')).toBe('n');
    ok(await cli(server, local, dir, '--verify'));
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
  });

  it('the spot check finds its file gone, so every file is checked: no advice to deploy with --verify (was: told to, and --verify then found nothing)', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home', 'a/x.txt': 'x' });
    const { dir, disk } = target(server);
    ok(await cli(server, local, dir));
    fs.rmSync(path.join(disk, 'a'), { recursive: true });
    writeTree(local, { 'a/new/n.txt': 'n' });

    const r = ok(await cli(server, local, dir));
    expect(r.stderr).toContain('every file is checked, as with --verify');
    expect(r.stderr).toContain(`${GONE}\n`);
    expect(r.stderr).not.toContain('deploy once with --verify');
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
  });

  it('the spot check finds a file of another size (edited by hand, not removed): every file is checked, that one sent again', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home', 'a/x.txt': 'x' });
    const { dir, disk } = target(server);
    ok(await cli(server, local, dir));
    fs.writeFileSync(path.join(disk, 'a/x.txt'), 'edited by hand');

    const r = ok(await cli(server, local, dir));
    // Was (with the size it answered not compared): nothing to do, the edited file left as it was.
    expect(r.stderr).toContain('every file is checked, as with --verify');
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
  });

  it('the spot check asks files from all over the site: a folder late in the order, removed by hand, is found (every file checked, its files sent again)', async () => {
    const local = tmpDir();
    const files: Record<string, string> = {};
    for (let i = 0; i < 24; i++) {
      files[`a/${String(i).padStart(2, '0')}.txt`] = `a${i}`;
      files[`z/${String(i).padStart(2, '0')}.txt`] = `z${i}`;
    }
    writeTree(local, files);
    const { dir, disk } = target(server);
    ok(await cli(server, local, dir));
    fs.rmSync(path.join(disk, 'z'), { recursive: true });

    const r = ok(await cli(server, local, dir));
    // Was (had it asked the first few files in order alone): all in a/, "nothing to do", z/ missing for good.
    expect(r.stderr).toContain('every file is checked, as with --verify');
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
  });

  it('its parent made again by another connection between the refused MKD and the look that follows: the MKD goes once more (was: "cannot create folder …/a/new", exit 1)', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home', 'a/x.txt': 'x' });
    const { dir, disk } = target(server);
    ok(await cli(server, local, dir));
    fs.rmSync(path.join(disk, 'a'), { recursive: true });
    fs.rmSync(path.join(local, 'a/x.txt'));
    writeTree(local, { 'a/new/n.txt': 'n' });
    // In CI, the upload of a/x.txt (sent again: found gone) made `a` again on one connection while a/new's
    // MKD, on another, was refused for want of it. Staged: `a` made on the server as soon as that MKD's
    // connection sends its next command, after the refusal.
    const refusedOn = new Set<number>();
    let staged = false;
    const proxy = await linesProxy(server.port, (line, connection) => {
      if (line === `MKD ${dir}/a/new`) refusedOn.add(connection);
      else if (!staged && refusedOn.has(connection)) {
        staged = true;
        fs.mkdirSync(path.join(disk, 'a'));
        fs.chownSync(path.join(disk, 'a'), server.uid, server.gid);
      }
      return 'pass';
    });
    try {
      ok(await cli({ ...server, port: proxy.port }, local, dir));
    } finally {
      await proxy.close();
    }
    expect(staged).toBe(true);
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
  });

  it('a changed file inside it: sent, with the same warning (the upload made the folder again before, silently)', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home', 'a/x.txt': 'x', 'a/y.txt': 'y' });
    const { dir, disk } = target(server);
    ok(await cli(server, local, dir));
    fs.rmSync(path.join(disk, 'a'), { recursive: true });
    fs.writeFileSync(path.join(local, 'a/x.txt'), 'x2');

    const r = ok(await cli(server, local, dir));
    expect(r.stderr).toContain(GONE);
    // The folder made again is counted (was: mkdir 0, the plan had none).
    expect(r.stderr).toMatch(/, mkdir 1, rmdir 0; /);
    ok(await cli(server, local, dir, '--verify'));
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
  });

  it('the files it held leave the state: the next plain deploy sends them (G4; was: listed, missing until --verify)', async () => {
    const local = tmpDir();
    // As above: the spot check's eight miss the files in a/ and b/, so no deploy here checks every file.
    const others = Object.fromEntries(
      Array.from({ length: 16 }, (_, i) => [`${String(i).padStart(2, '0')}.txt`, `f${i}`]),
    );
    writeTree(local, { ...others, 'a/x.txt': 'x', 'b/y.txt': 'y', 'b/z.txt': 'z' });
    const { dir, disk } = target(server);
    ok(await cli(server, local, dir));
    fs.rmSync(path.join(disk, 'a'), { recursive: true });
    fs.rmSync(path.join(disk, 'b'), { recursive: true });
    // a made again by a new folder's MKD, b by a changed file's upload.
    writeTree(local, { 'a/new/n.txt': 'n', 'b/y.txt': 'y2' });
    const r = ok(await cli(server, local, dir));
    expect(r.stderr).toContain('that this run does not send are sent by the next deploy');
    const state = JSON.parse(fs.readFileSync(path.join(disk, STATE), 'utf8')) as {
      files: Record<string, unknown>;
    };
    expect(Object.keys(state.files)).not.toEqual(expect.arrayContaining(['a/x.txt']));
    expect(Object.keys(state.files)).not.toEqual(expect.arrayContaining(['b/z.txt']));
    const next = ok(await cli(server, local, dir));
    expect(next.stderr).toMatch(/^deployed: did upload 2, replace 0, delete 0, /m);
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
  });
});

d.each(each('pure', 'vsftpd', 'proftpd'))('%s: an exclude removed', (_label, server) => {
  it("the files it kept out are renamed over the server's own live copies, never written over them in place (G2)", async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home', 'uploads/photo.jpg': 'local photo' });
    const { dir, disk } = target(server);
    ok(await cli(server, local, dir, '--exclude', 'uploads/'));
    // The site's CMS keeps its own uploads there, owned by the FTP user.
    writeTree(disk, { 'uploads/photo.jpg': 'the CMS copy, live' });
    for (const p of ['uploads', 'uploads/photo.jpg'])
      fs.chownSync(path.join(disk, p), server.uid, server.gid);

    const r = ok(await cli(server, local, dir, '--verbose'));
    expect(r.stderr).not.toContain(`> STOR ${dir}/uploads/photo.jpg`);
    expect(r.stderr).toContain(`> RNTO ${dir}/uploads/photo.jpg`);
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
  });
});
