/**
 * A URL whose path names a file on the server, not a folder (`…/public_html/index.html`, the page's address
 * pasted). The server lists a file's path as that file's own entry, which read as a folder holding it: the dry
 * run (`ftpship plan`, the Action's pull-request preview) warned that the folder "already holds index.html"
 * and planned a deploy (exit 0) that the deploy then could not do (exit 1, "cannot create folder … a file of
 * that name is there"). PRODUCT.md: plan is the same as deploy --dry-run. Through the CLI, in plain FTP.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { realServerSuite, remoteFolders, type RealServer } from './helpers/real-servers.js';
import { cliOn, errors, ok } from './helpers/cli.js';
import { readTree, tmpDir, writeTree } from './helpers/tmp.js';

const { describe: d, each } = realServerSuite('file-target.realservers');
const target = remoteFolders('h-filetarget');

/** A site deployed to a new folder, its tree on the server, and the error a URL through its index.html gets. */
async function deployedSite(server: RealServer) {
  const local = tmpDir();
  writeTree(local, { 'index.html': 'home', 'css/site.css': 'body{}' });
  const { dir, disk } = target(server);
  ok(await cliOn(server, 'deploy', local, dir));
  const message = `ftpship: error: cannot create folder ${dir}/index.html on the server: a file of that name is there`;
  return { local, dir, disk, before: readTree(disk), message };
}

d.each(each('pure', 'vsftpd', 'proftpd'))('%s: the URL names a file', (_label, server) => {
  it('plan and deploy both stop naming it (exit 1), nothing changed; a folder holding one file of its own name still deploys', async () => {
    const { local, dir, disk, before, message } = await deployedSite(server);
    for (const [command, ...flags] of [
      ['plan'],
      ['deploy'],
      ['plan', '--adopt'],
      ['deploy', '--adopt'],
      // --upload-only, plan: was "would upload 2" (exit 0).
      ['plan', '--upload-only'],
      ['deploy', '--upload-only'],
    ]) {
      const r = await cliOn(server, command, local, `${dir}/index.html`, ...flags);
      // --adopt was: "RETR …/index.html/index.html: 550 … — it is a folder, not a file: download() takes a file".
      expect({ command, flags, code: r.code }).toEqual({ command, flags, code: 1 });
      // Was, for plan: "warning: … already holds index.html …", then "plan: would upload 2, … mkdir 1" (exit 0).
      expect(r.stderr).not.toMatch(/already holds|would upload/);
      expect(errors(r)).toEqual([expect.stringContaining(message)]);
      expect(errors(r)[0]).toContain("Check that the folder deployed to is right (the URL's path)");
      expect(readTree(disk)).toEqual(before);
    }

    // A folder whose only file has the folder's own name is a folder: planned and deployed into.
    fs.mkdirSync(path.join(disk, 'x'));
    fs.writeFileSync(path.join(disk, 'x', 'x'), 'there');
    fs.chownSync(path.join(disk, 'x'), server.uid, server.gid);
    fs.chownSync(path.join(disk, 'x', 'x'), server.uid, server.gid);
    const plan = ok(await cliOn(server, 'plan', local, `${dir}/x`));
    expect(plan.stderr).toContain(`already holds x:`);
    ok(await cliOn(server, 'deploy', local, `${dir}/x`));
    expect(readTree(path.join(disk, 'x'), ['.ftpship-state.json', 'x'])).toEqual(readTree(local));
    expect(fs.readFileSync(path.join(disk, 'x', 'x'), 'utf8')).toBe('there');
  });

  it('a file on the path above the target (…/index.html/sub): plan and deploy both stop naming that file (exit 1)', async () => {
    const { local, dir, disk, before, message } = await deployedSite(server);
    for (const sub of ['index.html/sub', 'index.html/sub/deeper'])
      for (const [command, ...flags] of [
        ['plan'],
        ['deploy'],
        ['plan', '--upload-only'],
        ['deploy', '--upload-only'],
      ]) {
        const r = await cliOn(server, command, local, `${dir}/${sub}`, ...flags);
        // Was, for plan: "plan: would upload 2, … mkdir 1" (exit 0); the deploy then failed on MKD.
        expect({ command, flags, sub, code: r.code }).toEqual({ command, flags, sub, code: 1 });
        expect(r.stderr).not.toMatch(/would upload/);
        expect(errors(r)).toEqual([expect.stringContaining(message)]);
        expect(readTree(disk)).toEqual(before);
      }
    // A new folder below a folder is still planned.
    const plan = ok(await cliOn(server, 'plan', local, `${dir}/css/new/sub`));
    expect(plan.stderr).toContain('would upload 2');
  });
});

d.each(each('pure', 'vsftpd', 'proftpd'))(
  '%s: a file ftpship did not deploy where a local folder goes',
  (_label, server) => {
    it('the error names the local folder, the file and what to do, not "check the folder deployed to"; nothing of the file is lost', async () => {
      const local = tmpDir();
      writeTree(local, { 'index.html': 'home' });
      const { dir, disk } = target(server);
      ok(await cliOn(server, 'deploy', local, dir));
      fs.writeFileSync(path.join(disk, 'docs'), 'put there by hand');
      fs.chownSync(path.join(disk, 'docs'), server.uid, server.gid);
      writeTree(local, { 'docs/intro.html': 'intro' });

      const r = await cliOn(server, 'deploy', local, dir);
      expect(r.code).toBe(1);
      // Was: "… a file of that name is there (550 …). Check that the folder deployed to is right (the URL's
      // path); …", though the URL was right: the file is in the way of the local folder docs.
      expect(errors(r)).toEqual([
        expect.stringMatching(
          new RegExp(
            `^ftpship: error: cannot create folder ${dir}/docs on the server for the local folder "docs": a file of that name is there \\(550 [^)]*\\), which ftpship did not deploy \\(it deletes only files it deployed\\)\\. Remove or rename that file on the server, or deploy without the local folder: leave it out with --exclude '/docs'$`,
          ),
        ),
      ]);
      expect(fs.readFileSync(path.join(disk, 'docs'), 'utf8')).toBe('put there by hand');
    });
  },
);
