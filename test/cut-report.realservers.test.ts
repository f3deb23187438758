/**
 * What the report says after a cancelled deploy, checked against what the real server holds. The state of a
 * run cut half way lists the files it had queued as uncertain (maybe sent, maybe part-sent, maybe never sent):
 * the rerun sends each through a temp (G2), and its report must not call one the server does not hold a
 * "replace" (the reader takes it that the live site has that file). And a name the server stores in bytes that
 * are not UTF-8 prints as `\xNN`, so two such names never print the same.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { cliOn, ok, startCli } from './helpers/cli.js';
import { realServerSuite, remoteFolders } from './helpers/real-servers.js';
import { readTree, tmpDir, writeTree } from './helpers/tmp.js';

const { describe: d, each, env } = realServerSuite('cut-report.realservers');
const target = remoteFolders('h-report7-cut');
const STATE = '.ftpship-state.json';

interface Report {
  counts: Record<string, number>;
  files: Array<{ path: string; action: string }>;
  warnings: string[];
}

d.each(each('pure', 'vsftpd'))('%s: the rerun of a cancelled first deploy', (_name, server) => {
  it('reports the queued files the server does not hold as uploads, those it holds as replaced, and still sends them through a temp', async () => {
    const local = tmpDir('ftpship-h-report7-');
    const files: Record<string, string> = {};
    for (let i = 0; i < 200; i++) files[`s${i % 5}/f${i}.html`] = `page ${i}`;
    writeTree(local, files);
    const { dir, disk } = target(server);
    const env = { FTPSHIP_PASSWORD: server.password };
    const url = `ftp://${server.user}@${server.host}:${server.port}${dir}`;
    // Cancelled once the state is on the server (its first checkpoint renamed into place): a few files sent.
    const run = startCli(['deploy', local, url, '--parallel', '2', '--verbose'], env);
    const killer = setTimeout(() => run.child.kill('SIGKILL'), 15_000);
    expect(await run.waitForLine(/> RNTO \S*\.ftpship-state\.json$/)).toBeDefined();
    run.child.kill('SIGTERM');
    const cut = await run.done;
    clearTimeout(killer);
    expect(cut.code).toBe(143);
    const state = JSON.parse(fs.readFileSync(path.join(disk, STATE), 'utf8')) as {
      files: Record<string, unknown>;
      pending?: { uncertain: string[] };
    };
    const queued = state.pending?.uncertain ?? [];
    const onServer = (p: string): boolean => fs.existsSync(path.join(disk, p));
    const absent = queued.filter((p) => !onServer(p));
    // The scene: files the cut run queued and never sent (else the test shows nothing).
    expect(absent.length).toBeGreaterThan(100);

    const plan = await cliOn(server, 'deploy', local, dir, '--dry-run', '--json');
    ok(plan);
    const report = JSON.parse(plan.stdout) as Report;
    // Every "replace" names a file the server holds; every "upload" one it does not.
    // Before: each of the queued files was a "replace", the ones never sent with them.
    const wrong = report.files.filter((e) => (e.action === 'replace') !== onServer(e.path));
    expect(wrong).toEqual([]);
    expect(report.counts.upload).toBe(Object.keys(files).filter((p) => !onServer(p)).length);
    expect(report.counts.replace).toBe(queued.length - absent.length);
    expect(report.counts.unchanged).toBe(Object.keys(state.files).length);
    expect(plan.stderr).toContain(`  upload  ${absent[0]} (`);
    expect(plan.stderr).toMatch(/^plan: would upload (\d+), replace (\d+),/m);
    const [, up, rep] = /^plan: would upload (\d+), replace (\d+),/m.exec(plan.stderr) ?? [];
    expect([Number(up), Number(rep)]).toEqual([report.counts.upload, report.counts.replace]);

    // The rerun says the same, and sends those files as before: through a temp, renamed into place (G2).
    const rerun = ok(await cliOn(server, 'deploy', local, dir, '--verbose'));
    expect(rerun.stderr).toContain(
      `deployed: did upload ${report.counts.upload}, replace ${report.counts.replace}, `,
    );
    const p = absent[0];
    expect(rerun.stderr).toMatch(new RegExp(`> RNTO ${dir}/${p.replace(/\./g, '\\.')}$`, 'm'));
    expect(rerun.stderr).not.toMatch(new RegExp(`> STOR ${dir}/${p.replace(/\./g, '\\.')}$`, 'm'));
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
  });
});

d('names the server stores in bytes that are not UTF-8', () => {
  it.each(['pure', 'vsftpd'] as const)(
    '%s: two such names print differently (\\xNN), and the JSON report keeps them exact',
    async (key) => {
      const server = env[key];
      const local = tmpDir('ftpship-h-report7-');
      writeTree(local, { 'index.html': 'home' });
      const { dir, disk } = target(server);
      fs.mkdirSync(disk);
      fs.chownSync(disk, server.uid, server.gid);
      // café.txt and cafè.txt as an old latin1 tool stored them (0xE9, 0xE8).
      fs.writeFileSync(Buffer.from(`${disk}/caf\xe9.txt`, 'latin1'), 'e acute');
      fs.writeFileSync(Buffer.from(`${disk}/caf\xe8.txt`, 'latin1'), 'e grave');
      const r = ok(await cliOn(server, 'deploy', local, dir, '--dry-run', '--json'));
      const warning = r.stderr.split('\n').find((l) => l.includes('already holds')) ?? '';
      // Before: "already holds caf�.txt, caf�.txt": which is which, and what to name in --exclude?
      expect(warning).toContain(`${dir} already holds caf\\xe8.txt, caf\\xe9.txt`);
      expect(warning).not.toContain('\uFFFD');
      // The JSON report has the names as the client reads them (each such byte a lone surrogate).
      const json = (JSON.parse(r.stdout) as Report).warnings.join('\n');
      expect(json).toContain('already holds caf\uDCE8.txt, caf\uDCE9.txt');
    },
  );

  it('pure-ftpd: deployed with --encoding latin1, then planned in utf8: the two old names to delete print differently', async () => {
    const server = env.pure;
    const local = tmpDir('ftpship-h-report7-');
    writeTree(local, { 'café.html': 'e acute', 'cafè.html': 'e grave' });
    const { dir, disk } = target(server);
    ok(await cliOn(server, 'deploy', local, dir, '--encoding', 'latin1'));
    expect(fs.existsSync(Buffer.from(`${disk}/caf\xe9.html`, 'latin1'))).toBe(true);
    const r = ok(await cliOn(server, 'deploy', local, dir, '--dry-run', '--json'));
    // Before: "delete  caf�.html" twice.
    expect(r.stderr).toContain('  delete  caf\\xe8.html');
    expect(r.stderr).toContain('  delete  caf\\xe9.html');
    expect(r.stderr).not.toContain('\uFFFD');
    const files = (JSON.parse(r.stdout) as Report).files;
    expect(files.filter((f) => f.action === 'delete').map((f) => f.path)).toEqual([
      'caf\uDCE8.html',
      'caf\uDCE9.html',
    ]);
  });
});
