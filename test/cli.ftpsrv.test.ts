/**
 * Issue 4, items 3–6, 8, 9 and 10 through the `ftpship` command, spawned as a user runs it
 * (`node bin/ftpship.js`, built by `npm test`), against ftp-srv running in this jest process.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { EmbeddedServer } from '../src/embedded-server.js';
import { CliOutput } from '../src/cli-output.js';
import { embedded } from './helpers/embedded.js';
import { assertBuilt, BIN, spawnCli, type SpawnResult } from './helpers/cli-spawn.js';
import { readTree, snapshot, tmpDir, uniqueName, writeTree } from './helpers/tmp.js';
import { unusedPort } from './helpers/ports.js';

let srv: EmbeddedServer;
beforeAll(async () => {
  assertBuilt();
  srv = await embedded();
});
afterAll(async () => {
  await srv?.close();
});

const STATE = '.ftpship-state.json';

/** ftp://demo@127.0.0.1:<port>/<dir> (a folder relative to the login folder). */
function url(dir: string, userinfo = srv.user): string {
  return `ftp://${userinfo}@${srv.host}:${srv.port}/${dir}`;
}

/** Runs the CLI in an empty working folder with FTPSHIP_PASSWORD set; checks the folder stays empty. */
async function cli(
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<SpawnResult & { cwdAfter: string[] }> {
  const cwd = tmpDir('ftpship-cwd-');
  const r = await spawnCli(args, { cwd, env: { FTPSHIP_PASSWORD: srv.password, HOME: cwd, ...env } });
  return { ...r, cwdAfter: fs.readdirSync(cwd) };
}

function site(
  files: Record<string, string> = { 'index.html': '<h1>hi</h1>', 'css/site.css': 'body{}', 'a/b/c.txt': 'c' },
): string {
  const local = tmpDir();
  writeTree(local, files);
  return local;
}

const lines = (text: string): string[] => text.split('\n').filter((l) => l.trim() !== '');

/** A CliOutput writing to a fake terminal `columns` wide; `written()` is all it drew. */
async function onTty(columns: number): Promise<{ out: CliOutput; written: () => string }> {
  const err = Object.assign(new PassThrough(), {
    isTTY: true,
    columns,
    cursorTo: () => true,
    clearLine: () => true,
    moveCursor: () => true,
  });
  let written = '';
  err.on('data', (c: Buffer) => (written += c.toString()));
  const out = new CliOutput({
    quiet: false,
    verbose: false,
    secrets: [],
    stderr: err as unknown as NodeJS.WriteStream,
    ci: false,
  });
  await out.ready();
  return { out, written: () => written };
}

describe('item 6: output', () => {
  it('deploy: plain progress lines and the summary on stderr (not a TTY), nothing on stdout', async () => {
    const local = site();
    const dir = uniqueName();
    const r = await cli(['deploy', local, url(dir)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^\d+\/3 files, .* of .*, .*\/s(, ETA \S+)?$/m);
    expect(r.stderr).toMatch(/^3\/3 files/m);
    expect(r.stderr).toMatch(
      /^deployed: did upload 3, replace 0, delete 0, mkdir 3, rmdir 0; 0 unchanged; .* sent in [\d.]+ s$/m,
    );
    expect(r.stderr.includes('\u001b[') || r.stderr.includes('\r')).toBe(false); // no terminal control sequences in a pipe
    expect(readTree(path.join(srv.root, dir), [STATE])).toEqual(readTree(local));
    expect(r.cwdAfter).toEqual([]);
  });

  it('deploy: the text report lists every path it changed (PRODUCT.md step 8), deletions first, then the summary', async () => {
    const local = site({ 'a.txt': 'a', 'b.txt': 'b', 'd/c.txt': 'c' });
    const dir = uniqueName();
    expect((await cli(['deploy', local, url(dir)])).code).toBe(0);
    fs.rmSync(path.join(local, 'a.txt'));
    writeTree(local, { 'b.txt': 'B', 'e/n.txt': 'new' });
    const r = await cli(['deploy', local, url(dir)]);
    expect(r.code).toBe(0);
    expect(lines(r.stderr).filter((l) => !/^\d+\/\d+ files, /.test(l))).toEqual([
      '  delete  a.txt (1 B)',
      '  mkdir   e',
      '  upload  e/n.txt (3 B)',
      '  replace b.txt (1 B)',
      expect.stringMatching(/^deployed: did upload 1, replace 1, delete 1, mkdir 1, rmdir 0; 1 unchanged;/),
    ]);
  });

  it('--json prints the report on stdout in the schema of PRODUCT.md; plan --json has dryRun true', async () => {
    const local = site();
    const dir = uniqueName();
    const plan = await cli(['plan', local, url(dir), '--json']);
    expect(plan.code).toBe(0);
    const p = JSON.parse(plan.stdout) as Record<string, unknown>;
    expect(p).toMatchObject({
      version: 1,
      dryRun: true,
      target: `ftp://demo@127.0.0.1:${srv.port}/${dir}`,
      counts: { mkdir: 3, upload: 3, replace: 0, delete: 0, rmdir: 0, unchanged: 0 },
      bytes: { planned: 11 + 6 + 1, sent: 0 },
    });
    expect(typeof p.durationMs).toBe('number');
    expect(p.files).toEqual(
      expect.arrayContaining([
        { path: 'a', action: 'mkdir', size: 0 },
        { path: 'a/b/c.txt', action: 'upload', size: 1 },
        { path: 'index.html', action: 'upload', size: 11 },
      ]),
    );
    // The plan (deletions first) is also printed for humans on stderr.
    expect(plan.stderr).toMatch(/^ {2}upload {2}index\.html \(11 B\)$/m);
    const done = await cli(['deploy', local, url(dir), '--json']);
    expect(done.code).toBe(0);
    const d = JSON.parse(done.stdout) as { dryRun: boolean; files: unknown[]; bytes: { sent: number } };
    expect(d.dryRun).toBe(false);
    expect(d.files).toEqual(p.files);
    expect(d.bytes.sent).toBe(18);
  });

  it("nothing to do: the look for a lock left behind goes in the spot check's write (no round trip of its own)", async () => {
    const local = site();
    const dir = uniqueName();
    expect((await cli(['deploy', local, url(dir), '--quiet'])).code).toBe(0);
    const v = await cli(['deploy', local, url(dir), '--verbose']);
    expect(v.code).toBe(0);
    const log = v.stderr.split('\n');
    const probe = log.findIndex((l) => l === `[1] > CWD /${dir}/${STATE}.lock`);
    expect(probe).toBeGreaterThan(0);
    // Sent right after the spot check's SIZEs, before any of their replies: one write, one round trip.
    expect(log[probe - 1]).toMatch(new RegExp(`^\\[1\\] > SIZE /${dir}/`));
    // And in the same write, the look for the state's temporary copy a killed deploy may have left.
    expect(log[probe + 1]).toBe(`[1] > SIZE /${dir}/${STATE}.tmp`);
    expect(log.slice(probe + 2).findIndex((l) => l.startsWith('[1] < 213 '))).toBeGreaterThanOrEqual(0);
    expect(log.slice(probe + 2).filter((l) => /^\[\d+\] > /.test(l))).toEqual(['[1] > QUIT']);
    expect(v.stderr).toMatch(/^deployed: did upload 0, replace 0, delete 0/m);
  });

  it('--quiet prints nothing on success; --verbose logs the FTP dialogue with PASS ***', async () => {
    const local = site();
    const dir = uniqueName();
    const q = await cli(['deploy', local, url(dir), '--quiet']);
    expect(q.code).toBe(0);
    expect(q.stderr).toBe('');
    expect(q.stdout).toBe('');
    fs.writeFileSync(path.join(local, 'index.html'), 'changed');
    const v = await cli(['deploy', local, url(dir), '--verbose']);
    expect(v.code).toBe(0);
    expect(v.stderr).toMatch(/^\[\d+\] > USER demo$/m);
    expect(v.stderr).toMatch(/^\[\d+\] > PASS \*\*\*$/m);
    expect(v.stderr).toMatch(/^\[1\] < 230 /m);
    expect(v.stderr).toMatch(new RegExp(`^\\[\\d+\\] > STOR /${dir}/`, 'm'));
    // Each line names its connection: the first logs in first, and a deploy with work opens more.
    expect(v.stderr.split('\n').find((l) => l.includes('> USER'))).toBe('[1] > USER demo');
    expect(v.stderr).toMatch(/^\[2\] > USER demo$/m);
    expect(v.stderr).toMatch(/^deployed: did upload 0, replace 1/m);
    expect(v.stderr).not.toContain(srv.password);
  });

  it('on a TTY: a live line with files, bytes, rate and ETA (cli-progress), redrawn in place', async () => {
    const tty = await onTty(100);
    const rep = tty.out.reporter();
    rep.progress?.({ filesDone: 1, filesTotal: 4, bytesDone: 2048, bytesTotal: 8192 });
    rep.progress?.({ filesDone: 2, filesTotal: 4, bytesDone: 4096, bytesTotal: 8192 });
    tty.out.stop();
    const written = tty.written();
    expect(written).toMatch(/\d\/4 files \| [\d.]+ KiB of 8\.0 KiB \| .*\/s \| ETA /);
    expect(written).not.toMatch(/^\d+\/4 files, /m); // not the plain line format
  });

  it('on a TTY: the ETA comes from the bytes left, not the files (large files left after many small ones)', async () => {
    const tty = await onTty(120);
    const out = tty.out;
    const rep = out.reporter();
    const MiB = 1024 * 1024;
    rep.progress?.({ filesDone: 1, filesTotal: 100, bytesDone: 0, bytesTotal: 40 * MiB });
    await new Promise((r) => setTimeout(r, 1100));
    // 99 small files done in a second; the 40 MiB one has barely started: minutes left, not a second.
    rep.progress?.({ filesDone: 99, filesTotal: 100, bytesDone: 100 * 1024, bytesTotal: 40 * MiB });
    out.stop();
    const etas = [...tty.written().matchAll(/ETA (\d+m\d\ds|\d+h\d\dm|\d+s|-)/g)].map((m) => m[1]);
    expect(etas.at(-1)).toMatch(/^\d+m\d\ds$/);
  });

  it('on a real pseudo-terminal (script -qc) the deploy draws the live line', async () => {
    if (!fs.existsSync('/usr/bin/script')) {
      console.warn('skipped: /usr/bin/script (util-linux) is not installed');
      return;
    }
    const files: Record<string, string> = {};
    for (let i = 0; i < 30; i++) files[`f${i}.txt`] = `file ${i}`.repeat(100);
    const local = site(files);
    const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} deploy ${JSON.stringify(local)} ${url(uniqueName())}`;
    const r = await spawnCli(['-qec', cmd, '/dev/null'], {
      command: ['/usr/bin/script'],
      env: { FTPSHIP_PASSWORD: srv.password, COLUMNS: '120', CI: undefined },
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\d+\/30 files \| .* \| ETA /);
    expect(r.stdout).toMatch(/deployed: did upload 30/);
  });

  it('on a pseudo-terminal in CI (CI=true: Buildkite, docker run -t): plain lines, no live line', async () => {
    if (!fs.existsSync('/usr/bin/script')) {
      console.warn('skipped: /usr/bin/script (util-linux) is not installed');
      return;
    }
    const local = site({ 'a.txt': 'a', 'b.txt': 'b' });
    const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} deploy ${JSON.stringify(local)} ${url(uniqueName())}`;
    const r = await spawnCli(['-qec', cmd, '/dev/null'], {
      command: ['/usr/bin/script'],
      env: { FTPSHIP_PASSWORD: srv.password, COLUMNS: '120', CI: 'true' },
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^2\/2 files, 2 B of 2 B, /m);
    expect(r.stdout).not.toMatch(/files \| /);
    expect(r.stdout).not.toContain('\u001b[');
    expect(r.stdout).toMatch(/deployed: did upload 2/);
  });
});

describe('items 3-5 through the CLI', () => {
  it('plan has zero side effects: server tree and mtimes unchanged, no local file, no lock, no state', async () => {
    const local = site();
    const dir = uniqueName();
    expect((await cli(['deploy', local, url(dir)])).code).toBe(0);
    fs.writeFileSync(path.join(local, 'index.html'), 'new');
    fs.rmSync(path.join(local, 'a'), { recursive: true });
    writeTree(local, { 'new/dir/x.txt': 'x' });
    const server = snapshot(srv.root);
    const localBefore = snapshot(local);
    for (const args of [
      ['plan', local, url(dir)],
      ['deploy', '--dry-run', local, url(dir)],
      ['plan', '--dry-run', local, url(dir)], // PRODUCT.md lists --dry-run among the options of both
    ]) {
      const r = await cli([...args, '--verbose']);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/^plan: would upload 1, replace 1, delete 1, mkdir 2, rmdir 2;/m);
      expect(r.stderr).not.toMatch(/^\[\d+\] > (MKD|STOR|APPE|DELE|RMD|RNFR|RNTO) /m);
      expect(r.cwdAfter).toEqual([]);
      expect(snapshot(srv.root)).toEqual(server);
      expect(snapshot(local)).toEqual(localBefore);
    }
  });

  it('--adopt keeps what a site already online holds; bad --file-mode exits 2 naming the value', async () => {
    const local = site();
    const dir = uniqueName();
    writeTree(path.join(srv.root, dir), { 'index.html': '<h1>hi</h1>', 'css/site.css': 'body{}' });
    const r = await cli(['deploy', local, url(dir), '--adopt', '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { counts: Record<string, number> };
    expect(report.counts).toMatchObject({ upload: 1, unchanged: 2, replace: 0 });
    expect(r.stderr).toMatch(/adopt: 2 file\(s\) already on the server/);
    const orphan = await cli(['deploy', local, url(dir), '--maintenance-content', 'down']);
    expect(orphan.code).toBe(2);
    expect(orphan.stderr).toMatch(/--maintenance-content needs --maintenance PATH/);
    const bad = await cli(['deploy', local, url(dir), '--file-mode', '8']);
    expect(bad.code).toBe(2);
    expect(lines(bad.stderr)).toEqual([
      expect.stringMatching(/invalid --file-mode "8"; give the mode as a string of octal digits/),
    ]);
  });

  it('--adopt --no-replace with a file that differs on the server: refused (exit 2) naming it, nothing changed (was: replaced)', async () => {
    const local = site();
    const dir = uniqueName();
    writeTree(path.join(srv.root, dir), { 'index.html': '<h1>theirs</h1>', 'css/site.css': 'body{}' });
    const before = snapshot(path.join(srv.root, dir));
    const r = await cli(['deploy', local, url(dir), '--adopt', '--no-replace']);
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toEqual([
      'ftpship: error: --adopt found 1 file(s) on the server that differ from the local ones (or could not be compared): ' +
        'index.html. --no-replace would keep them, but the state could not then say what they hold; nothing was changed. ' +
        'Deploy once without --no-replace (they are replaced through a temporary name), or leave them out with --exclude',
    ]);
    expect(snapshot(path.join(srv.root, dir))).toEqual(before);
    // With the differing file left out, the rest is adopted and the new one sent.
    const ok = await cli([
      'deploy',
      local,
      url(dir),
      '--adopt',
      '--no-replace',
      '--exclude',
      'index.html',
      '--json',
    ]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ counts: { upload: 1, unchanged: 1, replace: 0 } });
    expect(fs.readFileSync(path.join(srv.root, dir, 'index.html'), 'utf8')).toBe('<h1>theirs</h1>');
  });

  it('--quiet with --verbose is a usage error (exit 2) naming both flags, before connecting', async () => {
    const dir = uniqueName();
    const r = await cli(['deploy', site(), url(dir), '--quiet', '--verbose']);
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toEqual([
      expect.stringMatching(/option '--quiet' cannot be used with option '--verbose'/),
    ]);
    expect(fs.existsSync(path.join(srv.root, dir))).toBe(false);
  });

  it('--upload-only sends every file and keeps no state; exit 3 naming the state where ftpship keeps one, exit 2 with --verify', async () => {
    const local = site({ 'a.txt': 'a', 'b/c.txt': 'c' });
    const dir = uniqueName();
    const r = await cli(['deploy', local, url(dir), '--upload-only', '--json']);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { counts: Record<string, number> }).counts).toMatchObject({ upload: 2 });
    expect(readTree(path.join(srv.root, dir))).toEqual(readTree(local));
    const clash = await cli(['deploy', local, url(dir), '--upload-only', '--verify']);
    expect(clash.code).toBe(2);
    expect(lines(clash.stderr)).toEqual([expect.stringMatching(/drop one of --upload-only and --verify$/)]);
    expect((await cli(['deploy', local, url(dir)])).code).toBe(0); // now ftpship keeps a state there
    const before = snapshot(path.join(srv.root, dir));
    const refused = await cli(['deploy', local, url(dir), '--upload-only']);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain(`state file /${dir}/.ftpship-state.json`);
    expect(snapshot(path.join(srv.root, dir))).toEqual(before);
    // Refused before planning: the error alone, in a dry run too (was: "plan: would upload 0, …" first).
    const previewed = await cli(['plan', local, url(dir), '--upload-only']);
    expect(previewed.code).toBe(3);
    expect(lines(previewed.stderr)).toEqual([
      expect.stringMatching(/^ftpship: error: --upload-only keeps no state, but ftpship deploys this folder/),
    ]);
  });

  it('--max-delete refuses with exit 3 and changes nothing; --no-delete keeps orphans', async () => {
    const local = site({ 'a.txt': 'a', 'b.txt': 'b', 'c.txt': 'c' });
    const dir = uniqueName();
    expect((await cli(['deploy', local, url(dir)])).code).toBe(0);
    fs.rmSync(path.join(local, 'a.txt'));
    fs.rmSync(path.join(local, 'b.txt'));
    const before = snapshot(path.join(srv.root, dir));
    // A refused deploy shows what tripped the guard: the deletions first, then that nothing was done.
    const r = await cli(['deploy', local, url(dir), '--max-delete', '1', '--json']);
    expect(r.code).toBe(3);
    expect(lines(r.stderr)).toEqual([
      '  delete  a.txt (1 B)',
      '  delete  b.txt (1 B)',
      expect.stringMatching(
        /^refused, nothing was changed: would upload 0, replace 0, delete 2, .*; 1 unchanged; 0 B to send/,
      ),
      expect.stringMatching(
        /^ftpship: error: the plan deletes 2 files, more than --max-delete 1; nothing was changed\./,
      ),
    ]);
    // With --json a script reads that it was refused, and why.
    const refused = JSON.parse(r.stdout) as { dryRun: boolean; refused: string; bytes: { sent: number } };
    expect(refused.dryRun).toBe(false);
    expect(refused.refused).toMatch(
      /^the plan deletes 2 files, more than --max-delete 1; nothing was changed\./,
    );
    expect(refused.bytes.sent).toBe(0);
    expect(snapshot(path.join(srv.root, dir))).toEqual(before);
    // `plan` is the preview: the refused plan is printed, deletions first, before the guard's error.
    const plan = await cli(['plan', local, url(dir), '--max-delete', '1']);
    expect(plan.code).toBe(3);
    expect(lines(plan.stderr)).toEqual([
      '  delete  a.txt (1 B)',
      '  delete  b.txt (1 B)',
      expect.stringMatching(/^plan: would upload 0, replace 0, delete 2, .*; 1 unchanged;/),
      expect.stringMatching(/^ftpship: error: the plan deletes 2 files, more than --max-delete 1;/),
    ]);
    // With --json the refused plan is on stdout too, for a script to read.
    const planJson = await cli(['plan', local, url(dir), '--max-delete', '1', '--json']);
    expect(planJson.code).toBe(3);
    const planReport = JSON.parse(planJson.stdout) as { counts: { delete: number }; refused: string };
    expect(planReport.counts.delete).toBe(2);
    expect(planReport.refused).toMatch(/^the plan deletes 2 files, more than --max-delete 1;/);
    expect(snapshot(path.join(srv.root, dir))).toEqual(before);
    const nd = await cli(['deploy', local, url(dir), '--no-delete', '--json']);
    expect(nd.code).toBe(0);
    const report = JSON.parse(nd.stdout) as { counts: { delete: number }; kept: string[] };
    expect(report.counts.delete).toBe(0);
    expect(report.kept.sort()).toEqual(['a.txt', 'b.txt']);
    expect(fs.existsSync(path.join(srv.root, dir, 'a.txt'))).toBe(true);
  });

  it('--state /elsewhere/x.json keeps the state out of the web root; a corrupt one exits 1 naming it and --reset-state', async () => {
    const local = site();
    const name = uniqueName();
    const state = `/${name}-private/x.json`;
    expect((await cli(['deploy', local, url(`${name}/www`), '--state', state])).code).toBe(0);
    expect(readTree(path.join(srv.root, name, 'www'))).toEqual(readTree(local));
    expect(fs.existsSync(path.join(srv.root, state))).toBe(true);
    fs.writeFileSync(path.join(srv.root, state), 'garbage');
    const before = snapshot(srv.root);
    const run = async (...extra: string[]): ReturnType<typeof cli> =>
      cli(['deploy', local, url(`${name}/www`), '--state', state, ...extra]);
    const r = await run();
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toContain(state);
    expect(r.stderr).toContain('--reset-state');
    expect(snapshot(srv.root)).toEqual(before);
    const reset = await run('--reset-state', '--json');
    expect(reset.code).toBe(0);
    expect(JSON.parse(reset.stdout)).toMatchObject({ counts: { upload: 3 } });
    // The error also names the cheaper re-seed: with --adopt, files already there with the same content
    // are kept, not sent again (was: only "uploads every file once").
    fs.writeFileSync(path.join(srv.root, state), 'garbage');
    const again = await run();
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(
      'with --adopt too, the files already there with the same content are kept',
    );
    const adopted = await run('--reset-state', '--adopt', '--json');
    expect(adopted.code).toBe(0);
    expect(JSON.parse(adopted.stdout)).toMatchObject({ counts: { upload: 0 }, bytes: { sent: 0 } });
    const after = await run('--json');
    expect(JSON.parse(after.stdout)).toMatchObject({ files: [], bytes: { sent: 0 } });
  });
});

describe('item 8: bad input gives one line naming the value and what to try, the right exit code, no writes', () => {
  async function expectOneLine(
    r: Awaited<ReturnType<typeof cli>>,
    code: number,
    ...mentions: RegExp[]
  ): Promise<void> {
    expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code });
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/^ftpship: error: /);
    for (const m of mentions) expect(r.stderr).toMatch(m);
    expect(r.stdout).toBe('');
    expect(r.cwdAfter).toEqual([]);
  }

  it('a missing local folder: exit 2', async () => {
    const before = snapshot(srv.root);
    const r = await cli(['deploy', '/nonexistent/dist-xyz', url(uniqueName())]);
    await expectOneLine(r, 2, /"\/nonexistent\/dist-xyz" does not exist/, /check the path/);
    expect(snapshot(srv.root)).toEqual(before);
  });

  it('a local path that is a file: exit 2', async () => {
    const local = site();
    const r = await cli(['deploy', path.join(local, 'index.html'), url(uniqueName())]);
    await expectOneLine(r, 2, /index\.html" is not a folder/, /name the folder/);
  });

  it('a malformed URL, an unknown scheme, a URL without host: exit 2', async () => {
    const local = site();
    await expectOneLine(
      await cli(['deploy', local, 'not a url']),
      2,
      /the second argument is not an ftp:\/\/, ftpes:\/\/ or ftps:\/\/ URL \(not shown: it may be a password\)/,
      /e\.g\. ftpes:\/\/user@ftp\.example\.com\/public_html, and the password in FTPSHIP_PASSWORD/,
    );
    // The scp/rsync form was read as a URL with an empty port ("invalid port \"\"").
    await expectOneLine(
      await cli(['deploy', local, 'deploy@example.com:/var/www']),
      2,
      /the URL "deploy@example\.com:\/var\/www" has no scheme/,
      /e\.g\. ftpes:\/\/deploy@example\.com\/var\/www\s*$/,
    );
    await expectOneLine(
      await cli(['deploy', local, 'example.com:2121/site']),
      2,
      /has no scheme/,
      /e\.g\. ftpes:\/\/example\.com:2121\/site\s*$/,
    );
    await expectOneLine(
      await cli(['deploy', local, 'ftp:/deploy@example.com/site']),
      2,
      /the URL "ftp:\*\*\*@example\.com\/site" needs two slashes after its scheme: ftp:\/\//,
    );
    await expectOneLine(
      await cli(['deploy', local, 'sftp://u@example.com:22/site']),
      2,
      /"sftp:\/\/u@example\.com:22\/site" is SFTP \(file transfer over SSH\), which ftpship does not speak/,
      /If the server offers FTPS, use ftpes:\/\/u@example\.com\/site\s*$/,
    );
    await expectOneLine(
      await cli(['deploy', local, 'http://u@example.com/site']),
      2,
      /unknown scheme "http"/,
      /use ftp:\/\/, ftpes:\/\//,
    );
    await expectOneLine(await cli(['deploy', local, `ftp://u@127.0.0.1:99999/x`]), 2, /127\.0\.0\.1:99999/);
  });

  it('no password: exit 2, and no connection is attempted', async () => {
    let connections = 0;
    const watch = net.createServer((s) => {
      connections++;
      s.destroy();
    });
    await new Promise<void>((r) => watch.listen(0, '127.0.0.1', r));
    const port = (watch.address() as net.AddressInfo).port;
    const r = await cli(['deploy', site(), `ftp://deploy@127.0.0.1:${port}/x`], {
      FTPSHIP_PASSWORD: undefined,
    });
    watch.close();
    await expectOneLine(r, 2, /no password for user "deploy"/, /FTPSHIP_PASSWORD or --password-stdin/);
    expect(connections).toBe(0);
  });

  it.each(['\n', '\r\n'])(
    'FTPSHIP_PASSWORD ending in a line break (%j: a secret pasted with its newline) logs in, as --password-stdin does',
    async (end) => {
      const dir = uniqueName();
      const r = await cli(['deploy', site(), url(dir), '--quiet'], {
        FTPSHIP_PASSWORD: `${srv.password}${end}`,
      });
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
      expect(fs.existsSync(path.join(srv.root, dir, 'index.html'))).toBe(true);
    },
  );

  it('an empty FTPSHIP_PASSWORD (a CI secret not set) is no password: the URL password is used', async () => {
    const dir = uniqueName();
    const r = await cli(['deploy', site(), url(dir, `${srv.user}:${srv.password}`)], {
      FTPSHIP_PASSWORD: '',
    });
    expect(r.code).toBe(0);
    expect(r.stderr).not.toMatch(/FTPSHIP_PASSWORD is set too/);
    expect(fs.existsSync(path.join(srv.root, dir, 'index.html'))).toBe(true);
  });

  it('a wrong password: exit 2, names the user and server, never the password', async () => {
    const before = snapshot(srv.root);
    const r = await cli(['deploy', site(), url(uniqueName())], { FTPSHIP_PASSWORD: 'Wr0ng-Pa55word' });
    await expectOneLine(
      r,
      2,
      new RegExp(`login to 127\\.0\\.0\\.1:${srv.port} as "demo" failed: 530`),
      /check the user and password/,
    );
    expect(r.stderr).not.toContain('Wr0ng-Pa55word');
    expect(snapshot(srv.root)).toEqual(before);
  });

  it('a URL with no user (ftp://host/dir), refused as "anonymous": says where the user goes (in the URL) and the password (FTPSHIP_PASSWORD)', async () => {
    const dir = uniqueName();
    const before = snapshot(srv.root);
    const r = await cli(['deploy', site(), `ftp://${srv.host}:${srv.port}/${dir}`]);
    await expectOneLine(
      r,
      2,
      new RegExp(`login to 127\\.0\\.0\\.1:${srv.port} as "anonymous" failed: 530`),
      new RegExp(
        `the URL names no user, so ftpship logged in as "anonymous": give the user in the URL ` +
          `\\(ftp://USER@127\\.0\\.0\\.1:${srv.port}/${dir}\\) and the password in FTPSHIP_PASSWORD or --password-stdin\\n$`,
      ),
    );
    expect(r.stderr).not.toMatch(/check the user and password/);
    expect(r.stderr).not.toContain(srv.password);
    expect(snapshot(srv.root)).toEqual(before);
  });

  it('a wrong one-letter password: the error line is masked without garbling it (every "p" was "***")', async () => {
    const r = await cli(['deploy', site(), url(uniqueName())], { FTPSHIP_PASSWORD: 'p' });
    await expectOneLine(
      r,
      2,
      new RegExp(`login to 127\\.0\\.0\\.1:${srv.port} as "demo" failed: 530`),
      /check the user and password/,
    );
    expect(r.stderr).not.toContain('*');
  });

  it('an unreachable host: a closed port (refused) and a server that never answers (--timeout): exit 1', async () => {
    const closedPort = await unusedPort();
    await expectOneLine(
      await cli(['deploy', site(), `ftp://u@127.0.0.1:${closedPort}/x`]),
      1,
      new RegExp(`127\\.0\\.0\\.1:${closedPort}: connection refused`),
      /check the host and port/,
    );

    const sockets: net.Socket[] = [];
    const blackhole = net.createServer((s) => sockets.push(s)); // accepts, never speaks
    await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', r));
    const port = (blackhole.address() as net.AddressInfo).port;
    try {
      const r = await cli(['deploy', site(), `ftp://u@127.0.0.1:${port}/x`, '--timeout', '1000']);
      await expectOneLine(r, 1, new RegExp(`no answer from 127\\.0\\.0\\.1:${port}`), /raise --timeout/);
      expect(r.ms).toBeLessThan(8000);
    } finally {
      for (const s of sockets) s.destroy();
      blackhole.close();
    }
  });

  // Was exit 1 ("run it again"): the DNS says the name does not exist (.invalid never does, RFC 6761), a
  // typo that no rerun fixes. A lookup that fails for now (EAI_AGAIN) stays exit 1.
  it('a host name that does not exist: exit 2, naming it', async () => {
    await expectOneLine(
      await cli(['deploy', site(), 'ftp://u@no-such-host.invalid/x']),
      2,
      /host "no-such-host\.invalid" not found; check the server name/,
    );
  });

  it('usage errors exit 2; --version and --help exit 0', async () => {
    const missing = await cli(['deploy', site()]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/missing required argument 'url'/);
    const unknown = await cli(['deploy', '--bogus', site(), url('x')]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown option '--bogus'/);
    expect((await cli(['bogus'])).code).toBe(2);
    const version = await cli(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+/);
    const help = await cli(['deploy', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--max-delete <n>/);
  });

  it('bad option values: exit 2', async () => {
    await expectOneLine(
      await cli(['deploy', site(), url('x'), '--parallel', 'lots']),
      2,
      /--parallel "lots" is not a whole number/,
    );
    await expectOneLine(
      await cli(['deploy', site(), url('x'), '--parallel', '0']),
      2,
      /invalid --parallel 0; use a whole number from 1 to 64/,
    );
  });
});

describe('item 9: the password never shows', () => {
  const SECRET = 'S3cr3t-Pa55!word';
  it('never in stdout, stderr, the JSON report or the state (verbose, json, errors)', async () => {
    const user = `u${uniqueName()}`;
    const custom = await embeddedWith(user, SECRET);
    try {
      const local = site();
      const target = `ftp://${user}@127.0.0.1:${custom.port}/www`;
      const runs = [
        await cli(['deploy', local, target, '--verbose', '--json'], { FTPSHIP_PASSWORD: SECRET }),
        await cli(['plan', local, target, '--verbose', '--json'], { FTPSHIP_PASSWORD: SECRET }),
        await cli(['deploy', local, `ftp://${user}@127.0.0.1:1/www`, '--verbose'], {
          FTPSHIP_PASSWORD: SECRET,
        }),
        await cli(['deploy', local, `${target}/x`, '--verbose'], { FTPSHIP_PASSWORD: `${SECRET}-wrong` }),
        await spawnCli(['deploy', local, target, '--verbose', '--password-stdin'], { input: `${SECRET}\n` }),
      ];
      expect(runs.map((r) => r.code)).toEqual([0, 0, 1, 2, 0]);
      for (const r of runs) {
        expect(r.stdout + r.stderr).not.toContain(SECRET);
        expect(r.stdout + r.stderr).not.toContain('Pa55'); // no partial leak either
      }
      expect(runs[0].stderr).toMatch(/^\[\d+\] > PASS \*\*\*$/m);
      for (const f of walkFiles(custom.root)) expect(fs.readFileSync(f, 'utf8')).not.toContain(SECRET);
    } finally {
      await custom.close();
    }
  });

  it('a password in the URL works, warns, and is masked everywhere', async () => {
    const local = site();
    const dir = uniqueName();
    const r = await cli(
      ['deploy', local, url(dir, `${srv.user}:${encodeURIComponent(srv.password)}`), '--verbose', '--json'],
      { FTPSHIP_PASSWORD: undefined },
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /^warning: the URL ftp:\/\/demo:\*\*\*@127\.0\.0\.1:\d+\/t-\w+ holds a password; prefer FTPSHIP_PASSWORD or --password-stdin/m,
    );
    expect(r.stdout + r.stderr).not.toContain(srv.password);
    expect(JSON.parse(r.stdout)).toMatchObject({
      target: `ftp://demo@127.0.0.1:${srv.port}/${dir}`,
      counts: { upload: 3 },
    });
    expect(readTree(path.join(srv.root, dir), [STATE])).toEqual(readTree(local));
    // A malformed URL holding a password is masked in the error too.
    const bad = await cli(['deploy', local, `ftp://demo:${srv.password}@127.0.0.1:99999/x`], {
      FTPSHIP_PASSWORD: undefined,
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).not.toContain(srv.password);
  });

  it("--json's warnings hold the CLI's own warnings too (masked), for a deploy and a refused plan", async () => {
    const local = site({ 'a.txt': 'a' });
    const dir = uniqueName();
    const target = url(dir, `${srv.user}:${encodeURIComponent(srv.password)}`);
    const r = await cli(['deploy', local, target, '--insecure', '--json']);
    expect(r.code).toBe(0);
    const printed = lines(r.stderr)
      .filter((l) => l.startsWith('warning: '))
      .map((l) => l.slice('warning: '.length));
    expect(printed).toHaveLength(2); // the password in the URL; --insecure with ftp://
    const report = JSON.parse(r.stdout) as { warnings: string[] };
    expect(report.warnings).toEqual(printed);
    expect(r.stdout).not.toContain(srv.password);
    // A plan a guard refuses (an empty folder would delete every deployed file): its report says so too.
    const refused = await cli(['plan', site({}), target, '--insecure', '--json']);
    expect(refused.code).toBe(3);
    expect((JSON.parse(refused.stdout) as { warnings: string[] }).warnings).toEqual(
      expect.arrayContaining(printed),
    );
  });
});

describe('item 9: passwords typed raw into the URL', () => {
  it('a raw @ and : in the password work and no piece of the password shows', async () => {
    const secret = 'p@ss:W0rd-xyz';
    const custom = await embeddedWith('deploy', secret);
    try {
      const local = site();
      const r = await cli(
        ['deploy', local, `ftp://deploy:${secret}@127.0.0.1:${custom.port}/www`, '--verbose', '--json'],
        { FTPSHIP_PASSWORD: undefined },
      );
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(
        new RegExp(
          `^warning: the URL ftp://deploy:\\*\\*\\*@127\\.0\\.0\\.1:${custom.port}/www holds a password`,
          'm',
        ),
      );
      for (const piece of ['p@ss', 'ss:W0rd', 'W0rd-xyz']) expect(r.stdout + r.stderr).not.toContain(piece);
      expect(readTree(path.join(custom.root, 'www'), [STATE])).toEqual(readTree(local));
    } finally {
      await custom.close();
    }
  });

  it('a URL made malformed by a raw / in the password is masked in the error', async () => {
    const r = await cli(['deploy', site(), 'ftp://deploy:pa/ss-W0rd@127.0.0.1:2121/www'], {
      FTPSHIP_PASSWORD: undefined,
    });
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/malformed URL "ftp:\/\/deploy:\*\*\*@127\.0\.0\.1:2121\/www"/);
    expect(r.stderr).not.toContain('ss-W0rd');
  });
});

describe('item 9b: a /, #, ? or @ typed raw into the password of the URL', () => {
  it.each([
    'ftp://deploy:pa/ss-W0rd@127.0.0.1:2121/www',
    'ftp://deploy:pa#ss-W0rd@127.0.0.1:2121/www',
    // Digits (or nothing) before the /: the URL reads as host "deploy", port 12, folder "ss-W0rd@127.0.0.1…".
    'ftp://deploy:12/ss-W0rd@127.0.0.1:2121/www',
    'ftp://deploy:/ss-W0rd@127.0.0.1:2121/www',
  ])('%s: exit 2, one line saying how to write it, masked', async (target) => {
    const r = await cli(['deploy', site(), target], { FTPSHIP_PASSWORD: undefined });
    expect(r.code).toBe(2);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toContain('"ftp://deploy:***@127.0.0.1:2121/www"');
    expect(r.stderr).toMatch(/%2F.*%23.*%3F.*%40.*FTPSHIP_PASSWORD/);
    expect(r.stderr).not.toContain('ss-W0rd');
  });
});

describe('item 10: the demo', () => {
  it('`ftpship demo` deploys the example site, changes two files, deploys again, and shows both plans and the tree', async () => {
    const r = await spawnCli(['demo'], { cwd: tmpDir('ftpship-cwd-') });
    expect(r.code).toBe(0);
    const out = r.stderr;
    expect(out).toMatch(/embedded FTP server on ftp:\/\/demo@127\.0\.0\.1:\d+\//);
    expect(out).toMatch(
      /1\. plan of the first deploy:\n(?: {2}(?:mkdir|upload) .*\n)+ {2}= plan: would upload 7, .*mkdir 4, rmdir 0; 0 unchanged; 966 B to send \(planned in [\d.]+ s\)$/m,
    );
    expect(out).toMatch(
      /2\. deployed: did upload 7, replace 0, delete 0, mkdir 4, rmdir 0; 0 unchanged; 966 B sent/,
    );
    expect(out).toMatch(
      /3\. changed about\.html and added blog\/second-post\.html; the plan now:\n {2}upload {2}blog\/second-post\.html .*\n {2}replace about\.html .*\n {2}= plan: would upload 1, replace 1, delete 0, mkdir 0, rmdir 0; 6 unchanged/,
    );
    expect(out).toMatch(/4\. deployed: did upload 1, replace 1/);
    expect(out).toMatch(/5\. the server now holds:\n(?: {2}.*\n)*? {2}blog\/second-post\.html \(\d+ B\)/);
    for (const f of [
      '.htaccess',
      'about.html',
      'index.html',
      'css/style.css',
      'img/logo.svg',
      'js/app.js',
      'blog/first-post.html',
    ])
      expect(out).toContain(`  ${f} (`);
    expect(r.ms).toBeLessThan(15_000);
  });
});

async function embeddedWith(user: string, password: string): Promise<EmbeddedServer> {
  return embedded({ user, password });
}

function walkFiles(root: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(root, { withFileTypes: true })) {
    const p = path.join(root, e.name);
    if (e.isDirectory()) out.push(...walkFiles(p));
    else out.push(p);
  }
  return out;
}

/**
 * Every line printed is redacted, the --json report too: it was redacted as text, so a short password (`0`, `2`,
 * `version`) was masked where it stood alone as a number or a key (`"rmdir": ***`, `"exitCode": ***`): stdout
 * was not JSON. Now the strings in the report are redacted, its numbers and keys left as they are.
 */
describe('--json with a short password', () => {
  let short: EmbeddedServer;
  beforeAll(async () => {
    short = await embedded({ password: '0' });
  });
  afterAll(async () => {
    await short?.close();
  });

  it('password "0": the deploy report is JSON, its zeros kept; a wrong password "2": the error JSON (was: not JSON)', async () => {
    const target = `ftp://${short.user}@${short.host}:${short.port}/${uniqueName('shortpw')}`;
    const r = await spawnCli(['deploy', site(), target, '--json'], { env: { FTPSHIP_PASSWORD: '0' } });
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { counts: Record<string, number>; bytes: { sent: number } };
    expect(report.counts).toEqual({ mkdir: 3, upload: 3, replace: 0, delete: 0, rmdir: 0, unchanged: 0 });
    const wrong = await spawnCli(['plan', site(), target, '--json'], { env: { FTPSHIP_PASSWORD: '2' } });
    expect(wrong.code).toBe(2);
    expect(JSON.parse(wrong.stdout)).toEqual({
      version: 1,
      dryRun: true,
      error: expect.stringMatching(/^login to 127\.0\.0\.1:\d+ as "demo" failed: 530 /),
      exitCode: 2,
    });
  });
});
