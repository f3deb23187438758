/**
 * A site deployed into a shared host's live folder, on the real servers (each runs as its local user, so a
 * test makes the server refuse by changing owners and modes on disk): files the developer did not deploy
 * (uploads, .htaccess, cgi-bin) sit beside the build, and some files or folders are not the FTP user's to
 * change. Through the CLI, in plain FTP. Skipped, with a message, only when test/servers/.env.json is absent.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { realServerSuite, remoteFolders, type RealServer } from './helpers/real-servers.js';
import { cliOn, errors, ok, type CliResult } from './helpers/cli.js';
import { readTree, sha256, tmpDir, writeTree } from './helpers/tmp.js';

const { describe: d, each } = realServerSuite('shared-host.realservers');
const target = remoteFolders('sharedhost');
const STATE = '.ftpship-state.json';
const TEMP = /^\.ftpship-[0-9a-f]{20}\.tmp$/;

const cli = async (server: RealServer, local: string, dir: string, ...args: string[]): Promise<CliResult> =>
  cliOn(server, 'deploy', local, dir, ...args);

/** Every file and folder under `root` (relative), ftpship's temporary files included. */
function names(root: string): string[] {
  return fs.readdirSync(root, { recursive: true, encoding: 'utf8' }).sort();
}

/** Gives `p` (and what is under it) to the server's user again. */
function own(server: RealServer, p: string): void {
  fs.chownSync(p, server.uid, server.gid);
  if (fs.statSync(p).isDirectory()) for (const n of fs.readdirSync(p)) own(server, path.join(p, n));
}

d.each(each('pure', 'vsftpd', 'proftpd'))('%s: a live folder on a shared host', (_label, server) => {
  it("the first deploy into a folder holding the host's files: same names replaced through temporary files, the rest kept, and never deleted as the local tree shrinks", async () => {
    const { dir, disk } = target(server);
    const theirs = {
      '.htaccess': 'RewriteEngine On',
      'uploads/2024/photo.jpg': 'jpeg',
      'cgi-bin/form.cgi': '#!/bin/sh',
      'css/theirs.css': 'theirs',
    };
    writeTree(disk, { ...theirs, 'index.html': 'old home', 'same.txt': 'same', 'css/site.css': 'old css' });
    own(server, disk);
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home', 'same.txt': 'same', 'css/site.css': 'css', 'js/app.js': 'js' });

    const first = ok(await cli(server, local, dir, '--verbose'));
    expect(first.stderr).toContain(`warning: no state file at ${dir}/${STATE}, but ${dir} already holds`);
    // Files already there are written under a temporary name and renamed over, never truncated in place.
    expect(first.stderr).not.toMatch(/> STOR \S*\/(index\.html|same\.txt|site\.css)$/m);
    expect(first.stderr).toMatch(/> RNTO \S*\/index\.html$/m);
    expect(readTree(disk, [STATE])).toEqual({ ...readTree(local), ...hashes(theirs) });

    fs.rmSync(path.join(local, 'css'), { recursive: true });
    fs.rmSync(path.join(local, 'js'), { recursive: true });
    ok(await cli(server, local, dir));
    fs.rmSync(path.join(local, 'same.txt'));
    ok(await cli(server, local, dir));
    expect(readTree(disk, [STATE])).toEqual({ ...readTree(local), ...hashes(theirs) });
    expect(names(disk).filter((n) => TEMP.test(path.basename(n)))).toEqual([]);
  });

  it('a changed file in a sticky folder, owned by another user: one error naming it, its folder, both refusals and the permissions (was: a delete + rename fallback announced, then "rename … failed: 550 Delete …"); fixed, the rerun converges with no temporary file left', async () => {
    const { dir, disk } = target(server);
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home', 'shared/c.txt': 'c', 'shared/z.txt': 'z' });
    ok(await cli(server, local, dir));
    const shared = path.join(disk, 'shared');
    fs.chownSync(shared, 0, 0);
    fs.chmodSync(shared, 0o1777); // anyone may add files, only a file's owner may rename over or delete it
    fs.chownSync(path.join(shared, 'c.txt'), 0, 0);
    writeTree(local, { 'index.html': 'home 2', 'shared/c.txt': 'c 2', 'shared/z.txt': 'z 2' });
    try {
      const r = await cli(server, local, dir);
      expect(r.code).toBe(1);
      expect(r.stderr).not.toContain('falling back');
      expect(errors(r)).toHaveLength(1);
      expect(errors(r)[0]).toMatch(
        new RegExp(
          `^ftpship: error: cannot replace ${dir}/shared/c\\.txt on the server: it refused both to rename the new ` +
            'copy over it \\(\\d{3} .*\\) and to delete it \\(550 .*\\)\\. .*check the permissions of ' +
            `${dir}/shared/c\\.txt and of the folder ${dir}/shared .*then run the deploy again`,
        ),
      );
      expect(fs.readFileSync(path.join(shared, 'c.txt'), 'utf8')).toBe('c');
    } finally {
      fs.chmodSync(shared, 0o755);
      own(server, shared);
    }
    const again = ok(await cli(server, local, dir));
    expect(again.stderr).not.toContain('falling back');
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
    expect(names(disk).filter((n) => TEMP.test(path.basename(n)))).toEqual([]);
  });

  it("a folder read-only for the FTP user (another owner): a new folder in it, then an orphan in it, each one error naming the path and the permissions (vsftpd's reply was followed by a second period); given back, the reruns converge", async () => {
    const { dir, disk } = target(server);
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home', 'cgi/old.txt': 'old', 'cgi/keep.txt': 'keep' });
    ok(await cli(server, local, dir));
    const cgi = path.join(disk, 'cgi');
    writeTree(local, { 'cgi/new/n.txt': 'n' });
    fs.chownSync(cgi, 0, 0);
    try {
      const r = await cli(server, local, dir);
      expect(r.code).toBe(1);
      expect(errors(r)).toEqual([
        expect.stringMatching(
          new RegExp(
            `^ftpship: error: cannot create folder ${dir}/cgi/new on the server: 550 [^\\n]*[^.]\\. Check that the user may write there`,
          ),
        ),
      ]);
      fs.chownSync(cgi, server.uid, server.gid);
      ok(await cli(server, local, dir));
      fs.rmSync(path.join(local, 'cgi/old.txt'));
      fs.chownSync(cgi, 0, 0);
      const del = await cli(server, local, dir);
      expect(del.code).toBe(1);
      expect(errors(del)).toEqual([
        expect.stringMatching(
          new RegExp(
            `^ftpship: error: delete cgi/old\\.txt failed: 550 .*\\(check the path, the name and the user's permissions on the server folder ${dir}/cgi\\)$`,
          ),
        ),
      ]);
      expect(fs.existsSync(path.join(cgi, 'old.txt'))).toBe(true);
    } finally {
      own(server, cgi);
    }
    ok(await cli(server, local, dir));
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
    expect(names(disk).filter((n) => TEMP.test(path.basename(n)))).toEqual([]);
  });

  it("a first deploy whose new folder inside the host's read-only one is refused: the temporary copy planned there is not kept pending (was: marked left, looked for by every deploy for a day)", async () => {
    const { dir, disk } = target(server);
    writeTree(disk, { 'index.html': 'old home' });
    own(server, disk);
    const cgi = path.join(disk, 'cgi');
    fs.mkdirSync(cgi);
    fs.chownSync(cgi, 0, 0); // the host's, read-only for the FTP user
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home', 'cgi/new/n.txt': 'n' });
    type Pending = { temps?: Record<string, { left?: string }> } | undefined;
    const pending = (): Pending =>
      (JSON.parse(fs.readFileSync(path.join(disk, STATE), 'utf8')) as { pending?: Pending }).pending;
    try {
      const r = await cli(server, local, dir);
      expect(r.code).toBe(1);
      expect(errors(r)).toEqual([
        expect.stringMatching(new RegExp(`cannot create folder ${dir}/cgi/new on the server`)),
      ]);
      // cgi/new/n.txt was to go through a temp (cgi is in the folder already): never written, not recorded.
      expect(Object.keys(pending()?.temps ?? {}).filter((t) => t.startsWith('cgi/'))).toEqual([]);
      // Left out locally, the next deploy finishes with nothing pending.
      fs.rmSync(path.join(local, 'cgi'), { recursive: true });
      ok(await cli(server, local, dir));
      expect(pending()).toBeUndefined();
    } finally {
      own(server, cgi);
    }
  });

  // A disk that fills up part way, as a shared host's does: a small tmpfs mounted on the target (root only).
  (process.getuid?.() === 0 ? it : it.skip)(
    'the disk full while changed files go up through temporary copies: the error names the refusal and --no-atomic; --no-atomic then converges with no more room (was: every rerun failed writing the state, the leftover copies holding the room)',
    async () => {
      const { dir, disk } = target(server);
      fs.mkdirSync(disk);
      const mount = (options: string): void => {
        execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', disk]);
      };
      mount(`size=4m,mode=0755,uid=${server.uid},gid=${server.gid}`);
      try {
        const local = tmpDir();
        const files = (): Record<string, Buffer> =>
          Object.fromEntries(
            Array.from({ length: 10 }, (_, i) => [`a/f${i}.bin`, crypto.randomBytes(32_768)]),
          );
        writeTree(local, { ...files(), 'index.html': 'home' });
        ok(await cli(server, local, dir, '--parallel', '2'));
        // Room for three or four of the ten temporary copies.
        const { blocks, bfree, bsize } = fs.statfsSync(disk);
        const used = (blocks - bfree) * bsize;
        execFileSync('mount', ['-o', `remount,size=${Math.ceil((used + 120 * 1024) / 4096) * 4}k`, disk]);
        writeTree(local, files());

        const r = await cli(server, local, dir, '--parallel', '2', '--retries', '1');
        expect(r.code).toBe(1);
        expect(errors(r)).toEqual([
          expect.stringMatching(
            /^ftpship: error: upload a\/f\d\.bin failed: 45[12] .*free space on the server or ask the host for more, then run again; until the commit, a file replaced through a temporary name takes room twice \(--no-atomic writes in place\)\)$/,
          ),
        ]);
        expect(names(disk).filter((n) => TEMP.test(path.basename(n))).length).toBeGreaterThan(0);

        // The room is not freed: the copies the failed run left are what takes it.
        ok(await cli(server, local, dir, '--parallel', '2', '--no-atomic'));
        expect(readTree(disk, [STATE])).toEqual(readTree(local));
        expect(names(disk).filter((n) => /\.tmp$/.test(n))).toEqual([]);
        const again = ok(await cli(server, local, dir));
        expect(again.stderr).toMatch(
          /^deployed: did upload 0, replace 0, delete 0, mkdir 0, rmdir 0; 11 unchanged/m,
        );
      } finally {
        execFileSync('umount', [disk]);
      }
    },
  );
});

/** `files` as readTree gives them: path -> SHA-256 of the content. */
function hashes(files: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(files).map(([p, text]) => [p, sha256(text)]));
}
