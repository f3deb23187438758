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
import { deploy } from '../src/index.js';
import { realServerSuite, remoteFolders, type RealServer } from './helpers/real-servers.js';
import { readTree, tmpDir, writeTree } from './helpers/tmp.js';

const { describe: d, each, env, opts } = realServerSuite('cut-report.realservers');
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

/**
 * A first deploy of 200 pages in 15 folders, killed outright (SIGKILL: no way out, no checkpoint after) at
 * its first upload of a page: the folders are made by then, and its state knows them only in `pending.dirs`.
 */
async function killedAfterFolders(server: RealServer): Promise<{
  local: string;
  dir: string;
  disk: string;
  folders: string[];
  made: string[];
}> {
  const local = tmpDir('ftpship-h-report9-');
  const files: Record<string, string> = {};
  for (let i = 0; i < 200; i++) files[`s${i % 5}/t${i % 2}/f${i}.html`] = `page ${i}`;
  writeTree(local, files);
  const { dir, disk } = target(server);
  const url = `ftp://${server.user}@${server.host}:${server.port}${dir}`;
  const run = startCli(['deploy', local, url, '--parallel', '2', '--verbose'], {
    FTPSHIP_PASSWORD: server.password,
  });
  const killer = setTimeout(() => run.child.kill('SIGKILL'), 15_000);
  expect(await run.waitForLine(/> STOR \S*\/s\d\/t\d\/f\d+\.html$/)).toBeDefined();
  run.child.kill('SIGKILL');
  await run.done;
  clearTimeout(killer);
  const folders = ['s0', 's1', 's2', 's3', 's4'].flatMap((s) => [s, `${s}/t0`, `${s}/t1`]);
  const made = folders.filter((f) => fs.existsSync(path.join(disk, f)));
  const state = JSON.parse(fs.readFileSync(path.join(disk, STATE), 'utf8')) as {
    dirs: string[];
    pending?: { dirs?: string[] };
  };
  // The scene: folders the killed run made, known to its state only as folders it set out to make.
  expect(made.filter((f) => state.pending?.dirs?.includes(f) && !state.dirs.includes(f))).not.toEqual([]);
  return { local, dir, disk, folders, made };
}

d.each(each('pure', 'vsftpd'))('%s: the plan after a killed first deploy', (_name, server) => {
  it('counts no mkdir for the folders a killed run made (was: each counted as made again); the plan changes nothing', async () => {
    const { local, dir, disk, folders, made } = await killedAfterFolders(server);
    // The state and the lock the killed run left (its pages: a server session of that run may still be writing one).
    const ours = (): Record<string, string> =>
      Object.fromEntries(Object.entries(readTree(disk)).filter(([p]) => p.startsWith(STATE)));
    const before = ours();
    const log: string[] = [];
    const plan = await deploy(
      { ...opts(server, local, dir), dryRun: true },
      { protocol: (l) => log.push(l), warn: () => undefined },
    );
    const mkdirs = plan.files.filter((e) => e.action === 'mkdir').map((e) => e.path);
    expect(mkdirs.sort()).toEqual(folders.filter((f) => !made.includes(f)).sort());
    expect(plan.counts.mkdir).toBe(folders.length - made.length);
    // Read-only: nothing made, written, renamed or deleted, no lock.
    expect(log.filter((l) => /^> (STOR|APPE|DELE|RNFR|RMD|MKD|SITE) /.test(l))).toEqual([]);
    expect(ours()).toEqual(before);
  });
});

d.each(each('pure', 'vsftpd'))('%s: the deploy after a killed first deploy', (_name, server) => {
  it('reports what its dry run did: no mkdir for the folders a killed run made (was: reported as made again); the state lists them, so a later removal deletes them', async () => {
    const { local, dir, disk, folders, made } = await killedAfterFolders(server);
    const plan = await deploy({ ...opts(server, local, dir), dryRun: true }, { warn: () => undefined });
    const sent: string[] = [];
    const done = await deploy(opts(server, local, dir), {
      protocol: (l) => sent.push(l),
      warn: () => undefined,
    });
    // Not made again: no MKD for a folder there.
    expect(sent.filter((l) => l.startsWith('> MKD ') && made.some((f) => l.endsWith(`/${f}`)))).toEqual([]);
    const mkdirs = done.files.filter((e) => e.action === 'mkdir').map((e) => e.path);
    expect(mkdirs.sort()).toEqual(folders.filter((f) => !made.includes(f)).sort());
    expect(done.counts.mkdir).toBe(folders.length - made.length);
    expect(done.files).toEqual(plan.files);
    expect(done.counts).toEqual(plan.counts);
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
    // Every folder deployed is in the state's dirs, none left pending.
    const state = JSON.parse(fs.readFileSync(path.join(disk, STATE), 'utf8')) as {
      dirs: string[];
      pending?: unknown;
    };
    expect(state.dirs).toEqual(expect.arrayContaining(folders));
    expect(state.pending).toBeUndefined();
    // A folder the killed run made, removed locally: the next deploy removes it from the server.
    const gone = made.find((f) => f.includes('/')) ?? made[0];
    fs.rmSync(path.join(local, gone), { recursive: true });
    const log: string[] = [];
    const after = await deploy(opts(server, local, dir), {
      protocol: (l) => log.push(l),
      warn: () => undefined,
    });
    // A deploy after one that finished (nothing pending) does not look for folders.
    expect(log.filter((l) => l.startsWith('> CWD ') && folders.some((f) => l.endsWith(`/${f}`)))).toEqual([]);
    expect(after.files.filter((e) => e.action === 'rmdir').map((e) => e.path)).toContain(gone);
    expect(fs.existsSync(path.join(disk, gone))).toBe(false);
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
  });
});

d.each(each('pure', 'vsftpd', 'proftpd'))(
  '%s: a first deploy onto a folder that holds some of the local folders',
  (_name, server) => {
    it('the plan, its dry run and the deploy list no mkdir for a folder already there (was: listed, while the counts said 0 made)', async () => {
      const local = tmpDir('ftpship-h-leftover16-');
      writeTree(local, { 'index.html': 'x', 'css/a.css': 'a', 'css/sub/b.css': 'b', 'js/c.js': 'c' });
      const { dir, disk } = target(server);
      // Put there by another tool (no state): css and css/sub, and a page.
      fs.mkdirSync(path.join(disk, 'css', 'sub'), { recursive: true });
      fs.writeFileSync(path.join(disk, 'old.html'), 'old');
      for (const p of [
        disk,
        path.join(disk, 'css'),
        path.join(disk, 'css', 'sub'),
        path.join(disk, 'old.html'),
      ])
        fs.chownSync(p, server.uid, server.gid);
      const mkdirs = (r: Report): string[] => r.files.filter((e) => e.action === 'mkdir').map((e) => e.path);

      const dry = ok(await cliOn(server, 'deploy', local, dir, '--dry-run', '--json'));
      const preview = JSON.parse(dry.stdout) as Report;
      expect(mkdirs(preview)).toEqual(['js']);
      expect(preview.counts.mkdir).toBe(1);
      const run = ok(await cliOn(server, 'deploy', local, dir));
      // The plan lines printed: one mkdir, of the folder made.
      expect(run.stderr.split('\n').filter((l) => /\bmkdir\b/.test(l) && !/mkdir \d/.test(l))).toEqual([
        expect.stringMatching(/mkdir +js$/),
      ]);
      expect(run.stderr).toMatch(/mkdir 1,/);
      expect(readTree(disk, [STATE, 'old.html'])).toEqual(readTree(local));
      // The state knows every local folder (a later removal deletes it, as for one it made).
      const state = JSON.parse(fs.readFileSync(path.join(disk, STATE), 'utf8')) as { dirs: string[] };
      expect([...state.dirs].sort()).toEqual(['css', 'css/sub', 'js']);
    });
  },
);
