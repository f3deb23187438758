/**
 * Interop on the three real servers (pure-ftpd, vsftpd, proftpd), through the CLI, each checked on the
 * server's disk: a server folder the FTP user may not write (chmod 555, done here as root or the owner).
 * Skipped, with a message, only when test/servers/.env.json is absent.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { realServerSuite, remoteFolders, type RealServer } from './helpers/real-servers.js';
import { cliOn, errors, ok, type CliResult } from './helpers/cli.js';
import { readTree, sha256, tmpDir, writeTree } from './helpers/tmp.js';

const { describe: d, env } = realServerSuite('interop.realservers');
const target = remoteFolders('h-interop3');
const STATE = '.ftpship-state.json';

const cli = async (server: RealServer, local: string, dir: string, ...args: string[]): Promise<CliResult> =>
  cliOn(server, 'deploy', local, dir, ...args);

/** G4: every file the state lists is on the server with that content. */
function expectStateTrue(disk: string): void {
  const state = JSON.parse(fs.readFileSync(path.join(disk, STATE), 'utf8')) as {
    files: Record<string, { sha256: string }>;
  };
  for (const [p, f] of Object.entries(state.files))
    expect([p, sha256(fs.readFileSync(path.join(disk, p)))]).toEqual([p, f.sha256]);
}

d('a server folder the user may not write (chmod 555)', () => {
  it.each(['pure', 'vsftpd', 'proftpd'] as const)(
    '%s: the error names the folder, live files stay whole, the state true; once writable, the rerun converges',
    async (key) => {
      const server = env[key];
      const local = tmpDir();
      writeTree(local, { 'a.txt': 'a1', 'blog/x.txt': 'x1', 'blog/y.txt': 'y1' });
      const { dir, disk } = target(server);
      ok(await cli(server, local, dir));
      const blog = path.join(disk, 'blog');
      try {
        fs.chmodSync(blog, 0o555);
        writeTree(local, { 'a.txt': 'a2', 'blog/x.txt': 'x2, longer', 'blog/new.txt': 'new' });
        const r = await cli(server, local, dir);
        expect(r.code).toBe(1);
        // Before: "(check the path, the name and the user's permissions)": not which folder. (vsftpd's 553
        // "Could not create file." may also be a name it refuses: a new file's --exclude is given too.)
        expect(errors(r)).toEqual([
          expect.stringMatching(
            new RegExp(
              `^ftpship: error: upload blog/(new|x)\\.txt failed: 55[03] .* \\(check the path, the name and the user's permissions on the server folder ${dir}/blog(; if the server does not allow this name, .*)?\\)$`,
            ),
          ),
        ]);
        expect(fs.readFileSync(path.join(blog, 'x.txt'), 'utf8')).toBe('x1');
        expectStateTrue(disk);

        fs.chmodSync(blog, 0o755);
        ok(await cli(server, local, dir));
        expect(readTree(disk, [STATE])).toEqual(readTree(local));

        // A delete there: the same.
        fs.chmodSync(blog, 0o555);
        fs.rmSync(path.join(local, 'blog', 'y.txt'));
        const del = await cli(server, local, dir);
        expect(del.code).toBe(1);
        expect(errors(del)).toEqual([
          expect.stringMatching(
            new RegExp(
              `^ftpship: error: delete blog/y\\.txt failed: 550 .* \\(check the path, the name and the user's permissions on the server folder ${dir}/blog\\)$`,
            ),
          ),
        ]);
        expectStateTrue(disk);
        fs.chmodSync(blog, 0o755);
        ok(await cli(server, local, dir));
        expect(readTree(disk, [STATE])).toEqual(readTree(local));
        const again = await cli(server, local, dir, '--json');
        ok(again);
        expect((JSON.parse(again.stdout) as { files: unknown[] }).files).toEqual([]);
      } finally {
        fs.chmodSync(blog, 0o755);
      }
    },
  );
});
