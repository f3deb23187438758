/**
 * Issue 4 against real servers (pure-ftpd, vsftpd, proftpd on loopback, started by test/servers/start.sh):
 * what ftp-srv cannot show — MKD of an existing folder answers 550, MKD is not recursive, rename replaces,
 * permissions are enforced (the server runs as its unix user), and TLS data connections need session reuse.
 * Skipped, with a message, only when test/servers/.env.json is absent.
 */
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { deploy, type DeployOptions } from '../src/index.js';
import { defaultSecure, realServerSuite, remoteFolders, type RealServer } from './helpers/real-servers.js';
import { assertBuilt, spawnCli } from './helpers/cli-spawn.js';
import { bytes, readDirs, readTree, sha256, snapshot, tmpDir, writeTree } from './helpers/tmp.js';
import {
  expectNoCwdWhileUploading,
  expectParentsFirst,
  loginsSeen,
  recorder,
  expectNothingChanged,
  sent,
} from './helpers/protocol.js';

const { servers, env, describe: d, opts, each } = realServerSuite('deploy.realservers');
const STATE = '.ftpship-state.json';

const target = remoteFolders('deploy');

/**
 * A deployed folder `sub` that holds, besides ftpship's `sub/ours.txt`, a file put there by hand (`sub/theirs.txt`);
 * `sub` is then gone from the local folder.
 */
async function theirsInDeployedSub(
  server: RealServer,
): Promise<{ local: string; dir: string; disk: string }> {
  const local = tmpDir();
  writeTree(local, { 'a.txt': 'a', 'sub/ours.txt': 'ours' });
  const { dir, disk } = target(server);
  await deploy(opts(server, local, dir));
  fs.writeFileSync(path.join(disk, 'sub/theirs.txt'), 'theirs');
  fs.chownSync(path.join(disk, 'sub/theirs.txt'), server.uid, server.gid);
  fs.rmSync(path.join(local, 'sub'), { recursive: true });
  return { local, dir, disk };
}

// pure-ftpd in plain FTP; vsftpd and proftpd with explicit TLS (both require TLS session reuse on data).
d.each(each('pure', 'vsftpd', 'proftpd'))('%s', (_name, server) => {
  it('a state kept outside the target in folders that do not exist yet (FIELD 2: "subfolder not created"): each made, then reused', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'i', 'a/b.txt': 'b' });
    const site = target(server);
    const priv = target(server);
    const statePath = `${priv.dir}/deep/er/state.json`;
    const r = await deploy(opts(server, local, site.dir, { statePath }));
    expect(r.counts).toMatchObject({ upload: 2 });
    expect(readTree(site.disk)).toEqual(readTree(local)); // no state file in the site
    const state = JSON.parse(fs.readFileSync(path.join(priv.disk, 'deep/er/state.json'), 'utf8')) as {
      files: Record<string, unknown>;
    };
    expect(Object.keys(state.files).sort()).toEqual(['a/b.txt', 'index.html']);
    writeTree(local, { 'index.html': 'I' });
    const r2 = await deploy(opts(server, local, site.dir, { statePath }));
    expect(r2.files.map((f) => `${f.action} ${f.path}`)).toEqual(['replace index.html']);
    expect(readTree(site.disk)).toEqual(readTree(local));
  });

  it('active mode (FIELD 11: passive data connections blocked): a deploy, same-size edits and a delete, every data connection opened by the server', async () => {
    const local = tmpDir();
    writeTree(local, {
      'index.html': 'one',
      'a/b.txt': 'bbb',
      'a/big.bin': bytes(1_200_000, 3),
      'gone.txt': 'g',
    });
    const { dir, disk } = target(server);
    const rec = recorder();
    await deploy(opts(server, local, dir, { active: true, parallel: 2 }), rec);
    writeTree(local, { 'index.html': 'two', 'a/b.txt': 'BBB' });
    fs.rmSync(path.join(local, 'gone.txt'));
    const r = await deploy(opts(server, local, dir, { active: true, parallel: 2 }), rec);
    expect(r.counts).toMatchObject({ replace: 2, delete: 1 });
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
    expect(sent(rec.log, 'EPRT').length + sent(rec.log, 'PORT').length).toBeGreaterThanOrEqual(6);
    expect(rec.log.filter((l) => /^> (EPSV|PASV)\b/.test(l))).toEqual([]);
  });

  it('item 1: mirrors exactly, each folder made once with parents first; a rerun sends nothing and leaves the state alone', async () => {
    const local = tmpDir();
    writeTree(local, {
      'index.html': '<h1>hi</h1>',
      'a/b/c/deep.txt': 'deep',
      'a/b/sib.txt': 'sib',
      'a/x/y.txt': 'y',
      'img/big.bin': bytes(1_500_000, 7), // ≥ 1 MiB: goes through a temporary name
      'empty.txt': '',
    });
    const { dir, disk } = target(server);
    const rec = recorder();
    const r = await deploy(opts(server, local, `${dir}/site`, { parallel: 3 }), rec);
    expect(readTree(path.join(disk, 'site'), [STATE])).toEqual(readTree(local));
    expect(r.counts).toMatchObject({ mkdir: 5, upload: 6 });
    const mkds = sent(rec.log, 'MKD').filter((m) => !m.includes(STATE));
    for (const sub of ['a', 'a/b', 'a/b/c', 'a/x', 'img'])
      expect(mkds.filter((m) => m === `${dir}/site/${sub}`)).toHaveLength(1);
    expectParentsFirst(rec.log, `${dir}/site`);
    expectNoCwdWhileUploading(rec.log);
    expect(await loginsSeen(rec.log, 3)).toBe(3); // all three opened, even if the job ended before the last logged in

    const statePath = path.join(disk, 'site', STATE);
    const before = { text: fs.readFileSync(statePath, 'utf8'), tree: snapshot(disk) };
    const rec2 = recorder();
    const r2 = await deploy(opts(server, local, `${dir}/site`), rec2);
    expect(r2.files).toEqual([]);
    expect(r2.bytes.sent).toBe(0);
    expect(fs.readFileSync(statePath, 'utf8')).toBe(before.text);
    expect(snapshot(disk)).toEqual(before.tree);
    expectNothingChanged(rec2.log);
  });

  it('item 2: edits, deletions, emptied folders, file<->folder swaps and odd names converge to the local tree', async () => {
    const local = tmpDir();
    writeTree(local, {
      'same.txt': 'aaaa',
      'old.txt': 'old',
      'gone/deeper/only.txt': 'x',
      swap1: 'a file',
      'swap2/x.txt': 'in a folder',
      'swap2/y/z.txt': 'deeper in a folder',
      '.htaccess': 'Deny from all',
      'sp ace/na me.txt': 'spaces',
      'ünï/ćödé 日本.txt': 'unicode',
      'hash#1.txt': 'hash',
      'pct%20.txt': 'percent',
      'blog/index.html': 'blog',
      'blog-post.html': 'post',
    });
    const { dir, disk } = target(server);
    await deploy(opts(server, local, dir));
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
    fs.writeFileSync(path.join(local, 'same.txt'), 'bbbb');
    fs.writeFileSync(path.join(local, 'ünï/ćödé 日本.txt'), 'UNICODE');
    fs.rmSync(path.join(local, 'old.txt'));
    fs.rmSync(path.join(local, 'gone'), { recursive: true });
    fs.rmSync(path.join(local, 'swap1'));
    fs.rmSync(path.join(local, 'swap2'), { recursive: true });
    fs.rmSync(path.join(local, 'blog'), { recursive: true });
    writeTree(local, {
      'swap1/inner.txt': 'now a folder',
      swap2: 'now a file',
      'n1/n2/new file #%.txt': 'new',
    });
    const plan = await deploy(opts(server, local, dir, { dryRun: true }));
    const before = snapshot(disk);
    const r = await deploy(opts(server, local, dir));
    expect(r.files).toEqual(plan.files);
    expect(snapshot(disk)).not.toEqual(before);
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
    expect(readDirs(disk)).toEqual(readDirs(local));
    expect(fs.readFileSync(path.join(disk, 'blog-post.html'), 'utf8')).toBe('post');
    expect((await deploy(opts(server, local, dir))).files).toEqual([]);
  });

  it('names ending in a space: kept exactly, or (pure-ftpd stores "a " as "a_") one error before any is sent', async () => {
    const local = tmpDir();
    writeTree(local, { 'trail ': 'trailing space', 'ok.txt': 'fine', ' lead': 'leading space' });
    const { dir, disk } = target(server);
    const run = deploy(opts(server, local, dir));
    const state = (): { files: Record<string, unknown> } =>
      JSON.parse(fs.readFileSync(path.join(disk, STATE), 'utf8')) as { files: Record<string, unknown> };
    if (server.software === 'pure-ftpd') {
      await expect(run).rejects.toThrow(/did not keep the file name ".*\/trail " when tested/);
      expect(fs.existsSync(path.join(disk, 'trail_'))).toBe(false); // what pure-ftpd would make of it: not sent
      expect(Object.keys(state().files)).not.toContain('trail '); // G4: never recorded
    } else {
      await run;
      expect(readTree(disk, [STATE])).toEqual(readTree(local));
      expect(Object.keys(state().files).sort()).toEqual([' lead', 'ok.txt', 'trail ']);
      expect((await deploy(opts(server, local, dir))).files).toEqual([]);
    }
  });

  it('item 5: a dry-run leaves the server tree and its timestamps unchanged and sends no MKD', async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a', 'd/e.txt': 'e' });
    const { dir, disk } = target(server);
    await deploy(opts(server, local, dir));
    writeTree(local, { 'n/m.txt': 'm', 'a.txt': 'A' });
    fs.rmSync(path.join(local, 'd'), { recursive: true });
    const before = snapshot(disk);
    const rec = recorder();
    const plan = await deploy(opts(server, local, dir, { dryRun: true }), rec);
    expect(plan.counts).toMatchObject({ mkdir: 1, upload: 1, replace: 1, delete: 1, rmdir: 1 });
    for (const verb of ['STOR', 'APPE', 'MKD', 'DELE', 'RMD', 'RNFR'])
      expect(sent(rec.log, verb)).toEqual([]);
    expect(snapshot(disk)).toEqual(before);
  });

  it('items 1 and 7: over folders that already exist (state re-seeded), none announced or made again; one made by hand after the state: MKD answers 550 and the deploy goes on', async () => {
    const local = tmpDir();
    writeTree(local, { 'a/b/c.txt': 'c', 'a/d.txt': 'd', 'e/f.txt': 'f' });
    const { dir, disk } = target(server);
    await deploy(opts(server, local, dir));
    writeTree(local, { 'a/b/new.txt': 'new' });
    const preview = await deploy(opts(server, local, dir, { resetState: true, dryRun: true }));
    const r = await deploy(opts(server, local, dir, { resetState: true, parallel: 2 }));
    expect(r.counts).toMatchObject({ mkdir: 0, upload: 4 }); // none made: all were there
    // …nor listed as made, by the dry run or the deploy (was: "mkdir a", "mkdir a/b", "mkdir e" beside the count 0)
    expect(r.files.filter((f) => f.action === 'mkdir')).toEqual([]);
    expect(preview.files).toEqual(r.files);
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
    // A folder the deploy removed, made again by hand, then back in the local tree: the state does not know it.
    fs.rmSync(path.join(local, 'e'), { recursive: true });
    await deploy(opts(server, local, dir));
    fs.mkdirSync(path.join(disk, 'e', 'g'), { recursive: true });
    for (const p of ['e', 'e/g']) fs.chownSync(path.join(disk, p), server.uid, server.gid);
    writeTree(local, { 'e/g/h.txt': 'h' });
    const rec = recorder();
    const r2 = await deploy(opts(server, local, dir, { parallel: 2 }), rec);
    expect(r2.counts).toMatchObject({ mkdir: 0, upload: 1 });
    expect(rec.log.some((l) => /^< 550 /.test(l))).toBe(true);
    for (const sub of ['e', 'e/g'])
      expect(sent(rec.log, 'MKD').filter((m) => m === `${dir}/${sub}`)).toHaveLength(1);
    expectNoCwdWhileUploading(rec.log);
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
  });

  it('item 3: a remote-only file survives, and its folder is kept with a warning', async () => {
    const { local, dir, disk } = await theirsInDeployedSub(server);
    const rec = recorder();
    const r = await deploy(opts(server, local, dir), rec);
    // Reported as kept, not removed; the state forgets the folder, so the next deploy has nothing to do.
    expect(r.files.map((f) => `${f.action} ${f.path}`)).toEqual(['delete sub/ours.txt']);
    expect(r.kept).toEqual(['sub']);
    expect(readTree(disk, [STATE])).toEqual({ 'a.txt': sha256('a'), 'sub/theirs.txt': sha256('theirs') });
    expect(rec.warnings.join('\n')).toMatch(/kept folder sub: 550 .*later deploys leave it alone/);
    const again = recorder();
    expect((await deploy(opts(server, local, dir), again)).files).toEqual([]);
    expect(again.warnings).toEqual([]);
    expect(sent(again.log, 'RMD').filter((p) => !p.endsWith('.lock'))).toEqual([]);
  });

  it('item 3: a deployed folder that became a file, holding a remote-only file: that file survives, one error and no "later deploys leave it alone" (was: said, and the next deploy tried again); gone, the rerun swaps', async () => {
    const { local, dir, disk } = await theirsInDeployedSub(server);
    fs.writeFileSync(path.join(local, 'sub'), 'now a file');
    const rec = recorder();
    const err = await deploy(opts(server, local, dir), rec).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(
      new RegExp(
        `^cannot replace folder ${dir}/sub with a file: it holds files ftpship did not deploy; remove them or rename the file`,
      ),
    );
    expect(rec.warnings).toEqual([]);
    expect(fs.readFileSync(path.join(disk, 'sub/theirs.txt'), 'utf8')).toBe('theirs');
    const state = JSON.parse(fs.readFileSync(path.join(disk, STATE), 'utf8')) as { files: object };
    expect(Object.keys(state.files)).toEqual(['a.txt']);
    fs.rmSync(path.join(disk, 'sub/theirs.txt'));
    await deploy(opts(server, local, dir));
    expect(readTree(disk, [STATE])).toEqual({ 'a.txt': sha256('a'), sub: sha256('now a file') });
  });

  it('item 4: an unreadable state is an error naming it and --reset-state, never a silent full re-upload', async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a', 'b.txt': 'b' });
    const { dir, disk } = target(server);
    await deploy(opts(server, local, dir));
    fs.chmodSync(path.join(disk, STATE), 0o000); // the server runs as its unix user: RETR is refused
    fs.writeFileSync(path.join(local, 'b.txt'), 'B');
    const before = snapshot(disk);
    const rec = recorder();
    const err = (await deploy(opts(server, local, dir), rec).catch((e: unknown) => e)) as Error & {
      exitCode?: number;
    };
    expect(err).toBeInstanceOf(Error);
    expect(err.exitCode).toBe(1);
    expect(err.message).toContain(`${dir}/${STATE}`);
    expect(err.message).toContain('--reset-state');
    expect(snapshot(disk)).toEqual(before);
    expect(sent(rec.log, 'STOR')).toEqual([]);
  });

  it('modes (--file-mode, --dir-mode): set by SITE CHMOD on upload, on a replaced file before it goes live, everywhere when the mode changes; a file the user cannot chmod is a warning', async () => {
    assertBuilt();
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home', 'a/b/page.html': 'page' });
    const { dir, disk } = target(server);
    const site = path.join(disk, 'site');
    const modeOf = (rel: string): string => (fs.statSync(path.join(site, rel)).mode & 0o7777).toString(8);
    const scheme = server.implicitTls ? 'ftps' : server.explicitTls ? 'ftpes' : 'ftp';
    const cli = await spawnCli(
      [
        'deploy',
        local,
        `${scheme}://${server.user}@localhost:${server.port}/${dir}/site`,
        '--ca',
        env.ca,
        '--file-mode',
        '640',
        '--dir-mode',
        '0750',
      ],
      { cwd: tmpDir(), env: { FTPSHIP_PASSWORD: server.password } },
    );
    expect(cli.code).toBe(0);
    expect(cli.stderr).not.toContain(server.password);
    expect([modeOf('index.html'), modeOf('a/b/page.html'), modeOf('a'), modeOf('a/b')]).toEqual([
      '640',
      '640',
      '750',
      '750',
    ]);

    fs.writeFileSync(path.join(local, 'a/b/page.html'), 'page, edited');
    const rec = recorder();
    await deploy(opts(server, local, `${dir}/site`, { fileMode: '640', dirMode: '750' }), rec);
    expect(sent(rec.log, 'SITE')).toEqual([
      expect.stringMatching(/^CHMOD 640 .*\/a\/b\/\.ftpship-[0-9a-f]+\.tmp$/),
    ]);
    expect(fs.readFileSync(path.join(site, 'a/b/page.html'), 'utf8')).toBe('page, edited');
    expect(modeOf('a/b/page.html')).toBe('640');

    // A file the FTP user does not own cannot get a mode: the server refuses (550), the rest get it.
    fs.chownSync(path.join(site, 'index.html'), 0, 0);
    try {
      const rec2 = recorder();
      await deploy(opts(server, local, `${dir}/site`, { fileMode: '604', dirMode: '750' }), rec2);
      expect(rec2.warnings.join('\n')).toMatch(
        new RegExp(
          `--file-mode 604: the server refused SITE CHMOD on 1 file\\(s\\), first ${dir}/site/index.html: 5\\d\\d`,
        ),
      );
      expect(modeOf('a/b/page.html')).toBe('604');
      expect(modeOf('index.html')).toBe('640');
      expect(JSON.parse(fs.readFileSync(path.join(site, STATE), 'utf8')).modes).toBeUndefined();
    } finally {
      fs.chownSync(path.join(site, 'index.html'), server.uid, server.gid);
    }
    const rec3 = recorder();
    await deploy(opts(server, local, `${dir}/site`, { fileMode: '604', dirMode: '750' }), rec3);
    expect(rec3.warnings).toEqual([]);
    expect(modeOf('index.html')).toBe('604');
    expect(JSON.parse(fs.readFileSync(path.join(site, STATE), 'utf8')).modes).toEqual({
      file: '604',
      dir: '750',
    });
  });

  it('--adopt: a site already on the server (put there by hand) is compared, not uploaded again; what differs is replaced through a temp', async () => {
    const local = tmpDir();
    writeTree(local, {
      'index.html': '<h1>same</h1>',
      'css/site.css': 'body{color:red}',
      'img/logo.bin': bytes(300_000, 5),
      'new.html': 'new',
    });
    const { dir, disk } = target(server);
    const site = path.join(disk, 'site');
    writeTree(site, {
      'index.html': '<h1>same</h1>',
      'css/site.css': 'body{color:RED}', // same size, other bytes
      'img/logo.bin': bytes(300_000, 5),
      'uploads/visitor.jpg': 'theirs',
    });
    for (const p of [
      '',
      'css',
      'img',
      'uploads',
      'index.html',
      'css/site.css',
      'img/logo.bin',
      'uploads/visitor.jpg',
    ])
      fs.chownSync(path.join(site, p), server.uid, server.gid);
    const before = fs.statSync(path.join(site, 'img/logo.bin')).mtimeMs;
    const rec = recorder();
    const r = await deploy(opts(server, local, `${dir}/site`, { adopt: true }), rec);
    expect(r.counts).toMatchObject({ upload: 1, replace: 1, unchanged: 2, mkdir: 0 });
    expect(readTree(site, [STATE, 'uploads/visitor.jpg'])).toEqual(readTree(local));
    expect(fs.statSync(path.join(site, 'img/logo.bin')).mtimeMs).toBe(before);
    expect(sent(rec.log, 'RNTO').filter((p) => !p.includes(STATE))).toEqual([`${dir}/site/css/site.css`]);
    expect(fs.readFileSync(path.join(site, 'uploads/visitor.jpg'), 'utf8')).toBe('theirs');
    const again = await deploy(opts(server, local, `${dir}/site`));
    expect(again.files).toEqual([]);
  });

  it('--maintenance: the marker is on the server for the commit (each rename and delete), written whole, and gone after', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.php': 'v1', 'old.php': 'old' });
    const { dir, disk } = target(server);
    const site = path.join(disk, 'site');
    await deploy(opts(server, local, `${dir}/site`));
    fs.writeFileSync(path.join(local, 'index.php'), 'v2');
    fs.rmSync(path.join(local, 'old.php'));
    const content = '<?php $upgrading = time(); ?>';
    const seen: Array<[string, string | undefined]> = [];
    const rec = recorder();
    await deploy(opts(server, local, `${dir}/site`, { maintenance: { path: '.maintenance', content } }), {
      ...rec,
      protocol: (line, id) => {
        rec.protocol?.(line, id);
        if (/^> (RNFR|RNTO|DELE) /.test(line) && !line.includes(STATE) && !line.includes('.maintenance')) {
          const p = path.join(site, '.maintenance');
          seen.push([line, fs.existsSync(p) ? fs.readFileSync(p, 'utf8') : undefined]);
        }
      },
    });
    expect(seen.length).toBeGreaterThanOrEqual(3); // RNFR + RNTO of index.php, DELE of old.php
    for (const [line, marker] of seen) expect([line, marker]).toEqual([line, content]);
    expect(fs.existsSync(path.join(site, '.maintenance'))).toBe(false);
    expect(readTree(site, [STATE])).toEqual(readTree(local));
  });

  it('names starting with ~ (Astro/Partytown output: ~partytown/) are created and replaced as named, never read as a home folder', async () => {
    const local = tmpDir();
    writeTree(local, { '~partytown/partytown.js': 'p1', '~partytown/debug/x.js': 'x', '~top.txt': 't' });
    const { dir, disk } = target(server);
    await deploy(opts(server, local, `${dir}/site`));
    expect(readTree(path.join(disk, 'site'), [STATE])).toEqual(readTree(local));
    fs.writeFileSync(path.join(local, '~partytown/partytown.js'), 'p2');
    fs.rmSync(path.join(local, '~top.txt'));
    const r = await deploy(opts(server, local, `${dir}/site`));
    expect(r.counts).toMatchObject({ replace: 1, delete: 1 });
    expect(readTree(path.join(disk, 'site'), [STATE])).toEqual(readTree(local));
  });

  it('a file renamed only in case (Logo.PNG -> logo.png): the old name is deleted before the new one goes up; exactly the new name is left', async () => {
    const local = tmpDir();
    writeTree(local, { 'img/Logo.PNG': 'old logo', 'a.txt': 'a' });
    const { dir, disk } = target(server);
    await deploy(opts(server, local, `${dir}/site`));
    fs.rmSync(path.join(local, 'img/Logo.PNG'));
    writeTree(local, { 'img/logo.png': 'new logo' });
    const rec = recorder();
    await deploy(opts(server, local, `${dir}/site`), rec);
    expect(readTree(path.join(disk, 'site'), [STATE])).toEqual(readTree(local));
    const dele = rec.log.indexOf(`> DELE ${dir}/site/img/Logo.PNG`);
    const stor = rec.log.findIndex((l) => l.startsWith('> STOR') && l.includes('img/'));
    expect(dele).toBeGreaterThanOrEqual(0);
    expect(dele).toBeLessThan(stor);
    expect((await deploy(opts(server, local, `${dir}/site`))).files).toEqual([]);
  });

  it('--upload-only over folders and files already there (MKD of them is refused here): each file renamed over the old one; no state, nothing deleted', async () => {
    const local = tmpDir();
    writeTree(local, {
      'index.html': 'v2',
      'css/site.css': 'new css',
      'css/deep/x.js': 'x',
      'new/a.txt': 'a',
    });
    const { dir, disk } = target(server);
    const site = path.join(disk, 'site');
    writeTree(site, { 'index.html': 'version 1', 'css/site.css': 'old css', 'theirs.txt': 'theirs' });
    for (const p of ['', 'css', 'index.html', 'css/site.css', 'theirs.txt'])
      fs.chownSync(path.join(site, p), server.uid, server.gid);
    const rec = recorder();
    const r = await deploy(opts(server, local, `${dir}/site`, { uploadOnly: true }), rec);
    // Folders made: css/deep and new; css was there (was: 3, every folder planned).
    expect(r.counts).toMatchObject({ upload: 4, delete: 0, unchanged: 0, mkdir: 2 });
    expect(readTree(site, ['theirs.txt'])).toEqual(readTree(local)); // no state, lock or temp left
    expect(fs.readFileSync(path.join(site, 'theirs.txt'), 'utf8')).toBe('theirs');
    expect(sent(rec.log, 'RNTO').sort()).toEqual(
      ['css/deep/x.js', 'css/site.css', 'index.html', 'new/a.txt'].map((f) => `${dir}/site/${f}`),
    );
    expect(sent(rec.log, 'MKD')).toContain(`${dir}/site/css`);
    // A second run sends everything again, over what the first left.
    const again = await deploy(opts(server, local, `${dir}/site`, { uploadOnly: true }));
    expect(again.bytes.sent).toBe(2 + 7 + 1 + 1);
    expect(again.counts.mkdir).toBe(0); // every folder was there (was: 3)
    expect(readTree(site, ['theirs.txt'])).toEqual(readTree(local));
  });

  // Where this matrix runs TLS (vsftpd and proftpd; pure-ftpd runs plain FTP here).
  (defaultSecure(server) ? it : it.skip)(
    'tls.servername (--tls-name): a certificate checked against the name given, data connections too; a name it lacks is refused naming its names',
    async () => {
      const local = tmpDir();
      writeTree(local, { 'a.txt': 'a', 'sub/b.txt': 'b' });
      const { dir, disk } = target(server);
      const withName = (servername: string): DeployOptions => {
        const o = opts(server, local, `${dir}/site`);
        return { ...o, host: '127.0.0.1', tls: { ...o.tls, servername } };
      };
      const err = await deploy(withName('ftp.provider.test')).catch((e: unknown) => e as Error);
      expect((err as Error).message).toMatch(
        /is for localhost, 127\.0\.0\.1, not ftp\.provider\.test: connect to one of those names, or check the certificate against one with --tls-name localhost; /,
      );
      // …or to pin the certificate, by the fingerprint of the servers' certificate (test/servers/setup.sh).
      const fp = new X509Certificate(fs.readFileSync(env.ca)).fingerprint256;
      expect((err as Error).message).toContain(
        `; or, if you have checked that the certificate (SHA-256 fingerprint ${fp}) is your server's, pin it with --tls-fingerprint ${fp}`,
      );
      expect(fs.existsSync(path.join(disk, 'site'))).toBe(false);
      await deploy(withName('localhost'));
      expect(readTree(path.join(disk, 'site'), [STATE])).toEqual(readTree(local));
    },
  );

  it('item 8: a server folder that cannot be created (550) gives one line, exit 1, and writes nothing', async () => {
    assertBuilt();
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a' });
    const { dir, disk } = target(server);
    fs.mkdirSync(disk);
    fs.chownSync(disk, server.uid, server.gid);
    fs.chmodSync(disk, 0o555); // read-only for the FTP user
    const scheme = server.implicitTls ? 'ftps' : server.explicitTls ? 'ftpes' : 'ftp';
    const r = await spawnCli(
      ['deploy', local, `${scheme}://${server.user}@localhost:${server.port}/${dir}/site`, '--ca', env.ca],
      {
        cwd: tmpDir(),
        env: { FTPSHIP_PASSWORD: server.password },
      },
    );
    expect(r.code).toBe(1);
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^ftpship: error: cannot create folder ${dir}/site on the server: 550 .*Check that the user may write there`,
      ),
    );
    expect(r.stderr).not.toContain(server.password);
    expect(fs.readdirSync(disk)).toEqual([]);
  });
});

(servers ? describe : describe.skip)(
  'a server that hashes its own files (proftpd with mod_digest: HASH)',
  () => {
    const server = (): RealServer => env.proftpdResume;

    it('--adopt asks the server for each SHA-256 instead of downloading the file', async () => {
      const local = tmpDir();
      writeTree(local, { 'index.html': 'same', 'big.bin': bytes(1_200_000, 4), 'edited.txt': 'abc' });
      const { dir, disk } = target(server());
      const site = path.join(disk, 'site');
      writeTree(site, { 'index.html': 'same', 'big.bin': bytes(1_200_000, 4), 'edited.txt': 'xyz' });
      for (const p of ['', 'index.html', 'big.bin', 'edited.txt'])
        fs.chownSync(path.join(site, p), server().uid, server().gid);
      const rec = recorder();
      const r = await deploy(opts(server(), local, `${dir}/site`, { adopt: true }), rec);
      expect(r.counts).toMatchObject({ unchanged: 2, replace: 1, upload: 0 });
      expect(sent(rec.log, 'HASH').sort()).toEqual(
        ['big.bin', 'edited.txt', 'index.html'].map((f) => `${dir}/site/${f}`),
      );
      expect(sent(rec.log, 'RETR').filter((p) => !p.includes(STATE))).toEqual([]);
      expect(readTree(site, [STATE])).toEqual(readTree(local));
    });

    it('--verify catches a same-size edit made by hand on the server, and puts the deployed content back', async () => {
      const local = tmpDir();
      writeTree(local, { 'index.html': '<h1>mine</h1>', 'a/b.txt': 'bbb' });
      const { dir, disk } = target(server());
      await deploy(opts(server(), local, `${dir}/site`));
      fs.writeFileSync(path.join(disk, 'site/index.html'), '<h1>THEM</h1>'); // same size, by hand
      const plain = recorder();
      const r0 = await deploy(opts(server(), local, `${dir}/site`), plain);
      expect(r0.files).toEqual([]); // without --verify nothing looks at the server
      const rec = recorder();
      const warnings: string[] = [];
      const r = await deploy(opts(server(), local, `${dir}/site`, { verify: true }), {
        ...rec,
        warn: (m) => warnings.push(m),
      });
      expect(warnings.join('\n')).toMatch(
        /drift: index\.html has other content on the server .*uploaded again/,
      );
      expect(r.counts).toMatchObject({ replace: 1, unchanged: 1 });
      expect(fs.readFileSync(path.join(disk, 'site/index.html'), 'utf8')).toBe('<h1>mine</h1>');
    });
  },
);
