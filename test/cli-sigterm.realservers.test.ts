/**
 * SIGTERM (a CI runner cancelling the job, before its SIGKILL) on `ftpship deploy` mid-upload, the server
 * answering: it stops as on Ctrl-C, with 143 and the cancel message; the lock is released, what was sent is in
 * the state, and the rerun sends only the rest.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { startCli } from './helpers/cli.js';
import { realServerSuite, remoteFolders } from './helpers/real-servers.js';
import { readTree, tmpDir, writeTree } from './helpers/tmp.js';

const { describe: d, each } = realServerSuite('cli-sigterm.realservers');
const target = remoteFolders('h-cli6-sigterm');

d.each(each('pure', 'vsftpd'))('%s: SIGTERM during the uploads', (_name, server) => {
  it('exit 143 with the cancel message, the lock released, the state saved; the rerun sends only the rest', async () => {
    const local = tmpDir('ftpship-h-cli6-');
    const files: Record<string, string> = {};
    for (let i = 0; i < 60; i++) files[`p/f${i}.txt`] = `page ${i}`;
    writeTree(local, files);
    const { dir, disk } = target(server);
    const env = { FTPSHIP_PASSWORD: server.password };
    const url = `ftp://${server.user}@${server.host}:${server.port}${dir}`;
    const run = startCli(['deploy', local, url, '--parallel', '2', '--verbose'], env);
    const killer = setTimeout(() => run.child.kill('SIGKILL'), 15_000);
    expect(await run.waitForLine(/> STOR /, 10)).toBeDefined();
    run.child.kill('SIGTERM');
    const r = await run.done;
    clearTimeout(killer);
    expect(r.signal).toBeNull();
    expect(r.code).toBe(143);
    expect(r.stderr).toMatch(
      /^ftpship: error: deploy cancelled \(SIGTERM\): no new transfer was started, what was done is recorded in the state and the lock released; rerun/m,
    );
    expect(fs.existsSync(path.join(disk, '.ftpship-state.json.lock'))).toBe(false);
    const state = JSON.parse(fs.readFileSync(path.join(disk, '.ftpship-state.json'), 'utf8')) as {
      files: Record<string, unknown>;
    };
    const saved = Object.keys(state.files).length;
    expect(saved).toBeGreaterThan(0);
    expect(saved).toBeLessThan(60);
    expect(r.stderr + r.stdout).not.toContain(server.password);
    const rerun = await startCli(['deploy', local, url], env).done;
    expect(rerun.code).toBe(0);
    expect(rerun.stderr).toContain(`; ${saved} unchanged;`);
    expect(readTree(disk, ['.ftpship-state.json'])).toEqual(readTree(local));
  });
});
