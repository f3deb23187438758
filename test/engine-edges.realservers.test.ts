/**
 * Deploy-engine edge cases found by adversarial scenarios, each proven on a real server (ftp-srv's RMD and
 * MKD are recursive, which hides them). Skipped, with a message, only when test/servers/.env.json is absent.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { deploy, type DeployOptions } from '../src/index.js';
import { realServerSuite, remoteFolders } from './helpers/real-servers.js';
import { backdate, bytes, readDirs, readTree, sha256, tmpDir, writeTree } from './helpers/tmp.js';
import { refusingProxy } from './helpers/faults.js';
import { expectNothingChanged, recorder } from './helpers/protocol.js';
import { tempPathFor } from '../src/engine/plan.js';

const { describe: d, opts: realOpts, each, env, servers } = realServerSuite('engine-edges.realservers');
const STATE = '.ftpship-state.json';
const target = remoteFolders('edges');

d.each(each('pure', 'vsftpd'))('%s: deploy engine edges', (_name, srv) => {
  const opts = (local: string, dir: string, extra?: Partial<DeployOptions>): DeployOptions =>
    realOpts(srv, local, dir, extra);

  it('--no-delete: a folder holding a subfolder that became a file is replaced by the file (was: "holds files ftpship did not deploy")', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home', 'docs/sub/page.html': 'page', 'docs/top.html': 'top' });
    const { dir, disk } = target(srv);
    await deploy(opts(local, dir));
    fs.rmSync(path.join(local, 'docs'), { recursive: true });
    writeTree(local, { docs: 'now a file' });
    await deploy(opts(local, dir, { delete: false }));
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
    expect(readDirs(disk)).toEqual([]);
    const again = await deploy(opts(local, dir, { delete: false }));
    expect(again.counts).toMatchObject({ upload: 0, replace: 0, delete: 0, rmdir: 0 });
  });

  it('two deploys, one inside the other (/site, /site/blog): the outer one\'s orphans and swaps leave the inner one\'s state and files alone, and its warning says whose folder it is (was: "remove it by hand")', async () => {
    const outer = tmpDir();
    writeTree(outer, { 'index.html': 'home', 'blog/old.html': 'placeholder' });
    const { dir, disk } = target(srv);
    await deploy(opts(outer, dir));
    const inner = tmpDir();
    writeTree(inner, { 'index.html': 'the blog', 'post/1.html': 'first post' });
    await deploy(opts(inner, `${dir}/blog`));
    const blog = (): Record<string, string> => readTree(path.join(disk, 'blog'), [STATE]);
    const innerState = (): string => fs.readFileSync(path.join(disk, 'blog', STATE), 'utf8');
    const stateBefore = innerState();
    // The blog now has its own deploy: the outer one drops the folder.
    fs.rmSync(path.join(outer, 'blog'), { recursive: true });
    const warnings: string[] = [];
    const r = await deploy(opts(outer, dir), { warn: (m) => warnings.push(m) });
    // Nothing in the inner deploy's folder is deleted (the outer cannot tell what that deploy took over).
    expect(r.files).toEqual([]);
    expect(warnings).toEqual([
      expect.stringContaining(
        `(blog/old.html) and 1 folder(s) (blog) deployed earlier and gone from the local files were left on the server and dropped from this deploy's state: the folder blog holds blog/${STATE}, the state of another ftpship deploy (to ${dir}/blog)`,
      ),
    ]);
    expect(innerState()).toBe(stateBefore);
    expect(blog()).toEqual({ ...readTree(inner), 'old.html': sha256('placeholder') });
    expect((await deploy(opts(outer, dir))).files).toEqual([]);
    // A local file now named as the inner deploy's folder: refused, nothing of the blog touched.
    writeTree(outer, { blog: 'a file' });
    await expect(deploy(opts(outer, dir))).rejects.toThrow(
      /the server has a folder there .*, the target of another ftpship deploy \(its state blog\/\.ftpship-state\.json is there\), which ftpship never removes/,
    );
    expect(innerState()).toBe(stateBefore);
    expect(blog()).toEqual({ ...readTree(inner), 'old.html': sha256('placeholder') });
    expect((await deploy(opts(inner, `${dir}/blog`))).files).toEqual([]);
  });

  it("a copy of the state of a deploy inside this one (blog/.ftpship-state.json, downloaded with the site) is not sent over that deploy's state, nor ever deleted (was: uploaded over it, deleted once gone locally)", async () => {
    const inner = tmpDir();
    writeTree(inner, { 'index.html': 'the blog' });
    const { dir, disk } = target(srv);
    await deploy(opts(inner, `${dir}/blog`));
    const outer = tmpDir();
    // The site as downloaded from the server, then the blog deployed again: the copy is now an older state.
    writeTree(outer, {
      'index.html': 'home',
      [`blog/${STATE}`]: fs.readFileSync(path.join(disk, 'blog', STATE)),
    });
    writeTree(inner, { 'index.html': 'the blog, edited' });
    await deploy(opts(inner, `${dir}/blog`));
    const stateNow = fs.readFileSync(path.join(disk, 'blog', STATE), 'utf8');
    const warnings: string[] = [];
    const r = await deploy(opts(outer, dir), { warn: (m) => warnings.push(m) });
    expect(r.files.filter((f) => f.action !== 'mkdir')).toEqual([
      { path: 'index.html', action: 'upload', size: 4 },
    ]);
    expect(warnings).toContainEqual(
      `the local file blog/${STATE} is not uploaded: it is a copy of an ftpship state, and would replace the state of the deploy to ${dir}/blog on the server with it`,
    );
    expect(fs.readFileSync(path.join(disk, 'blog', STATE), 'utf8')).toBe(stateNow);
    // As an earlier version left it: the state lists the copy it sent, an orphan once gone locally.
    const outerState = path.join(disk, STATE);
    const listed = JSON.parse(fs.readFileSync(outerState, 'utf8')) as { files: Record<string, unknown> };
    listed.files[`blog/${STATE}`] = { size: Buffer.byteLength(stateNow), sha256: sha256(stateNow) };
    fs.writeFileSync(outerState, JSON.stringify(listed));
    fs.rmSync(path.join(outer, 'blog'), { recursive: true });
    expect((await deploy(opts(outer, dir), { warn: () => undefined })).files).toEqual([]);
    expect(fs.readFileSync(path.join(disk, 'blog', STATE), 'utf8')).toBe(stateNow);
    expect((await deploy(opts(inner, `${dir}/blog`))).files).toEqual([]);
  });

  it('a folder this deploy made, now the target of a deploy inside it, where a local file of that name goes: refused naming that deploy, its state and files untouched (was: "remove them")', async () => {
    const outer = tmpDir();
    writeTree(outer, { 'index.html': 'home', 'blog/old.html': 'placeholder' });
    const { dir, disk } = target(srv);
    await deploy(opts(outer, dir));
    const inner = tmpDir();
    writeTree(inner, { 'index.html': 'the blog' });
    await deploy(opts(inner, `${dir}/blog`));
    const stateBefore = fs.readFileSync(path.join(disk, 'blog', STATE), 'utf8');
    fs.rmSync(path.join(outer, 'blog'), { recursive: true });
    writeTree(outer, { blog: 'now a file' });
    await expect(deploy(opts(outer, dir), { warn: () => undefined })).rejects.toThrow(
      `cannot replace folder ${dir}/blog with a file: it is the target of another ftpship deploy (its state blog/${STATE} is there), which ftpship never removes; rename the local file, or leave it out with --exclude '/blog'; nothing was changed`,
    );
    expect(fs.readFileSync(path.join(disk, 'blog', STATE), 'utf8')).toBe(stateBefore);
    expect(readTree(path.join(disk, 'blog'), [STATE])).toEqual({
      ...readTree(inner),
      'old.html': sha256('placeholder'),
    });
  });

  it('a same-size edit in a folder now the target of a deploy inside this one, with another file resized: refused before the lock is taken (was: the lock taken while hashing, then the plan refused)', async () => {
    const outer = tmpDir();
    writeTree(outer, { 'index.html': 'home', 'blog/post.html': 'p1' });
    const { dir, disk } = target(srv);
    await deploy(opts(outer, dir));
    const inner = tmpDir();
    writeTree(inner, { 'x.html': 'the blog' });
    await deploy(opts(inner, `${dir}/blog`));
    const before = readTree(disk);
    // index.html resized (an upload for sure); blog/post.html edited at the same size (known only once hashed).
    writeTree(outer, { 'index.html': 'home v2', 'blog/post.html': 'p2' });
    const rec = recorder();
    await expect(deploy(opts(outer, dir), rec)).rejects.toThrow(
      `cannot upload 1 file(s) into ${dir}/blog (blog/post.html): that folder is the target of another ftpship deploy`,
    );
    expectNothingChanged(rec.log);
    expect(readTree(disk)).toEqual(before);
  });

  it('--state in a deployed folder that is gone locally: its files go, the folder stays quietly with the state (was: "remove it by hand")', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home', 'private/a.html': 'a' });
    const { dir, disk } = target(srv);
    const o = opts(local, dir, { statePath: 'private/.ftpship-state.json' });
    await deploy(o);
    fs.rmSync(path.join(local, 'private'), { recursive: true });
    const warnings: string[] = [];
    const r = await deploy(o, { warn: (m) => warnings.push(m) });
    expect(warnings).toEqual([]);
    expect(r.files).toEqual([{ path: 'private/a.html', action: 'delete', size: 1 }]);
    expect(fs.readdirSync(path.join(disk, 'private')).sort()).toEqual([
      '.ftpship-state.json',
      '.ftpship-state.json.bak',
    ]);
    expect((await deploy(o)).files).toEqual([]);
  });

  it('after a run cut in its commit phase, the dry run plans what the deploy then does (was: files already renamed in shown as replaced)', async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'one', 'b.txt': 'bee' });
    const { dir, disk } = target(srv);
    await deploy(opts(local, dir));
    writeTree(local, { 'a.txt': 'two' });
    // What a deploy of a.txt = "two" cut in its commit phase, after the rename, leaves: the temp renamed in
    // (gone, a.txt holds "two"), its record marked committing, a.txt uncertain.
    fs.writeFileSync(path.join(disk, 'a.txt'), 'two');
    const statePath = path.join(disk, STATE);
    const cut = JSON.parse(fs.readFileSync(statePath, 'utf8')) as {
      files: Record<string, unknown>;
      pending?: unknown;
    };
    delete cut.files['a.txt'];
    cut.pending = {
      temps: {
        '.ftpship-0123456789abcdef0123.tmp': {
          path: 'a.txt',
          size: 3,
          sha256: sha256('two'),
          committing: true,
        },
      },
      uncertain: ['a.txt'],
    };
    fs.writeFileSync(statePath, JSON.stringify(cut));
    const preview = await deploy(opts(local, dir, { dryRun: true }));
    const done = await deploy(opts(local, dir));
    expect(done.files).toEqual([]);
    expect(done.bytes.sent).toBe(0);
    expect(preview.files).toEqual(done.files);
    expect(preview.counts).toEqual(done.counts);
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
  });

  it('--upload-only: an upload retried after a failure before its STOR reached the server is sent whole, never spliced onto the temp a cut run left (was: resumed from it)', async () => {
    const local = tmpDir();
    const size = 3 * 1024 * 1024;
    const next = bytes(size, 21);
    writeTree(local, { 'big.bin': next });
    const { dir, disk } = target(srv);
    fs.mkdirSync(disk);
    fs.chownSync(disk, srv.uid, srv.gid);
    // What an --upload-only run of an older build, killed mid-file, leaves: the temp (named after the path
    // alone) holding the first half of other bytes of the same size.
    const temp = tempPathFor({ path: 'big.bin', sha256: 'upload-only' });
    fs.writeFileSync(path.join(disk, temp), bytes(size, 20).subarray(0, size / 2));
    fs.chownSync(path.join(disk, temp), srv.uid, srv.gid);
    // The session times out just as the STOR of that temp goes: the server never runs it.
    const proxy = await refusingProxy(
      srv.port,
      new RegExp(`^STOR \\S*/${temp.replace(/\./g, '\\.')}$`),
      '421 Timeout.',
    );
    try {
      await deploy({
        ...opts(local, dir, { uploadOnly: true, parallel: 1 }),
        host: '127.0.0.1',
        port: proxy.port,
        secure: false,
      });
      expect(proxy.refused()).toBe(1);
    } finally {
      await proxy.close();
    }
    expect(readTree(disk)).toEqual(readTree(local));
  });

  it("the state's temporary copy a deploy killed before its rename left: removed by the next deploy, one with nothing to do too (was: left for good, and read as the state once the state was gone)", async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home', 'a.txt': 'a' });
    const { dir, disk } = target(srv);
    await deploy(opts(local, dir));
    const copy = path.join(disk, `${STATE}.tmp`);
    const leave = (): void => {
      // A complete state uploaded as the copy, the kill before its rename.
      fs.copyFileSync(path.join(disk, STATE), copy);
      fs.chownSync(copy, srv.uid, srv.gid);
    };
    leave();
    const none = await deploy(opts(local, dir));
    expect(none.files).toEqual([]);
    expect(fs.readdirSync(disk).sort()).toEqual([STATE, `${STATE}.bak`, 'a.txt', 'index.html']);
    leave();
    writeTree(local, { 'a.txt': 'a v2' });
    const some = await deploy(opts(local, dir));
    expect(some.files).toEqual([{ path: 'a.txt', action: 'replace', size: 4 }]);
    expect(fs.readdirSync(disk).sort()).toEqual([STATE, `${STATE}.bak`, 'a.txt', 'index.html']);
    // A dry run changes nothing: the copy stays for the deploy.
    leave();
    await deploy(opts(local, dir, { dryRun: true }));
    expect(fs.existsSync(copy)).toBe(true);
    // Nor while another deploy holds the lock: it may be writing its state through that copy.
    const lock = path.join(disk, `${STATE}.lock`);
    fs.mkdirSync(lock);
    const now = new Date().toISOString();
    const holder = { token: 't', holder: 'ci-1', host: 'ci-1', pid: 7, startedAt: now, refreshedAt: now };
    fs.writeFileSync(path.join(lock, 'holder.json'), JSON.stringify(holder));
    for (const p of [lock, path.join(lock, 'holder.json')]) fs.chownSync(p, srv.uid, srv.gid);
    expect((await deploy(opts(local, dir))).files).toEqual([]);
    expect(fs.readdirSync(disk).sort()).toEqual([
      STATE,
      `${STATE}.bak`,
      `${STATE}.lock`,
      `${STATE}.tmp`,
      'a.txt',
      'index.html',
    ]);
  });

  it('--state moved back to the default, then given again: the newer state is read, what the deploys without --state changed is sent back (was: taken for unchanged from the older state, the site left wrong)', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home', 'a.txt': 'aaaa' });
    const { dir, disk } = target(srv);
    const moved = (extra?: Partial<DeployOptions>): DeployOptions =>
      opts(local, dir, { statePath: 'private/state.json', ...extra });
    await deploy(moved());
    // Back to the default: a first deploy (the state kept elsewhere is not known there), every file sent.
    expect((await deploy(opts(local, dir))).counts).toMatchObject({ upload: 2, delete: 0 });
    writeTree(local, { 'a.txt': 'bbbb' });
    await deploy(opts(local, dir));
    // --state again, with a.txt as it was when that state was written.
    writeTree(local, { 'a.txt': 'aaaa' });
    const older = fs.readFileSync(path.join(disk, STATE));
    const warnings: string[] = [];
    const preview = await deploy(moved({ dryRun: true }));
    const r = await deploy(moved(), { warn: (m) => warnings.push(m) });
    expect(r.files).toEqual([{ path: 'a.txt', action: 'replace', size: 4 }]);
    expect(preview.files).toEqual(r.files);
    expect(warnings).toEqual([
      expect.stringMatching(
        new RegExp(
          `^the state file ${dir}/${STATE} \\(kept there without --state\\) is newer than ${dir}/private/state.json`,
        ),
      ),
    ]);
    expect(readTree(disk, ['private/state.json'])).toEqual(readTree(local));
    expect(fs.existsSync(path.join(disk, STATE))).toBe(false);
    // An older one left there (a copy put back by hand): the state at --state stands; that one is removed.
    fs.writeFileSync(path.join(disk, STATE), older);
    fs.chownSync(path.join(disk, STATE), srv.uid, srv.gid);
    const infos: string[] = [];
    expect((await deploy(moved({ verify: true }), { info: (m) => infos.push(m) })).files).toEqual([]);
    expect(infos).toContainEqual(expect.stringMatching(/is older than .*: a leftover, removed/));
    expect(fs.existsSync(path.join(disk, STATE))).toBe(false);
    expect(readTree(disk, ['private/state.json'])).toEqual(readTree(local));
  });

  it('--state elsewhere, and a local .ftpship-state.json (a state copy) published as a file: it stays on the server', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home' });
    const { dir, disk } = target(srv);
    await deploy(opts(local, dir));
    // A copy of an older state in the site itself: with the state kept elsewhere, a file like any other.
    writeTree(local, { [STATE]: fs.readFileSync(path.join(disk, STATE)) });
    writeTree(local, { 'index.html': 'home v2' });
    const moved = opts(local, dir, { statePath: 'private/state.json' });
    await deploy(moved);
    expect(readTree(disk, ['private/state.json'])).toEqual(readTree(local));
    expect((await deploy(moved)).files).toEqual([]);
    expect(readTree(disk, ['private/state.json'])).toEqual(readTree(local));
  });

  it('--verify: a file missing on the server and gone locally is said to be gone locally too, not "uploaded again"', async () => {
    const local = tmpDir();
    writeTree(local, { 'a/b.txt': 'b', 'y/z.txt': 'z', 'i.html': 'i' });
    const { dir, disk } = target(srv);
    await deploy(opts(local, dir));
    fs.rmSync(path.join(disk, 'a/b.txt'));
    fs.rmSync(path.join(disk, 'y/z.txt'));
    fs.rmSync(path.join(local, 'a'), { recursive: true });
    const warnings: string[] = [];
    await deploy(opts(local, dir, { verify: true }), { warn: (m) => warnings.push(m) });
    expect(warnings).toEqual([
      'drift: a/b.txt is missing on the server, the state says 1; it is gone locally too: not sent again',
      'drift: y/z.txt is missing on the server, the state says 1; it will be uploaded again',
    ]);
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
    expect(readDirs(disk)).toEqual(readDirs(local));
  });
});

// proftpd with AllowOverwrite off refuses RNTO over a file: every state write is DELE of the state, then
// RNFR/RNTO of its complete temporary copy. A deploy cut between the two leaves only the copy.
const onHost = servers?.proftpdHost ? d : describe.skip;
onHost('proftpd with AllowOverwrite off: the state written by delete + rename', () => {
  it('a deploy cut after the state was deleted, before its temporary copy was renamed in: the rerun reads the copy (was: a first deploy, every file sent again and orphans never deleted)', async () => {
    const srv = env.proftpdHost;
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home', 'old.html': 'old', 'css/site.css': 'body {}' });
    const { dir, disk } = target(srv);
    await deploy(realOpts(srv, local, dir));
    // Where the cut leaves the server (the copy is complete: it was uploaded before the DELE).
    fs.renameSync(path.join(disk, STATE), path.join(disk, `${STATE}.tmp`));
    fs.rmSync(path.join(local, 'old.html'));
    writeTree(local, { 'index.html': 'home v2' });
    const warnings: string[] = [];
    const r = await deploy(realOpts(srv, local, dir), { warn: (m) => warnings.push(m) });
    expect(r.files).toEqual([
      { path: 'index.html', action: 'replace', size: 7 },
      { path: 'old.html', action: 'delete', size: 3 },
    ]);
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
    expect(fs.existsSync(path.join(disk, `${STATE}.tmp`))).toBe(false);
    expect(warnings.filter((w) => /temporary copy/.test(w))).toHaveLength(1);
    expect((await deploy(realOpts(srv, local, dir))).files).toEqual([]);
  });

  it("a stale lock taken over on a server that closes idle connections after 2 s: the deploy goes on (was: its own lock taken for another deploy's, exit 3)", async () => {
    const srv = env.proftpdHost;
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home' });
    const { dir, disk } = target(srv);
    await deploy(realOpts(srv, local, dir));
    // The lock a deploy on another machine left when it died, an hour ago.
    const lock = path.join(disk, `${STATE}.lock`);
    fs.mkdirSync(lock);
    const then = new Date(Date.now() - 3600_000).toISOString();
    const holder = {
      token: 't',
      holder: 'ftpship on ci-1 pid 7',
      host: 'ci-1',
      pid: 7,
      startedAt: then,
      refreshedAt: then,
    };
    fs.writeFileSync(path.join(lock, 'holder.json'), JSON.stringify(holder));
    backdate(path.join(lock, 'holder.json'), then);
    for (const p of [lock, path.join(lock, 'holder.json')]) fs.chownSync(p, srv.uid, srv.gid);
    writeTree(local, { 'index.html': 'home v2' });
    const warnings: string[] = [];
    await deploy(realOpts(srv, local, dir), { warn: (m) => warnings.push(m) });
    expect(warnings.filter((w) => /lock/.test(w))).toEqual([
      `taking over a stale lock ${dir}/${STATE}.lock (ftpship on ci-1 pid 7, last seen ${then})`,
    ]);
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
    expect(fs.existsSync(lock)).toBe(false);
  });

  it('--upload-only after a cut run left its temp: written again (the server will not write over it, so it is removed first) and renamed in (was: "550 Overwrite permission denied" on every rerun)', async () => {
    const srv = env.proftpdHost;
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home', 'big.bin': bytes(300_000, 5) });
    const { dir, disk } = target(srv);
    fs.mkdirSync(disk);
    fs.chownSync(disk, srv.uid, srv.gid);
    // What an --upload-only run killed while sending big.bin leaves: its temp, named after the path alone.
    const temp = tempPathFor({ path: 'big.bin', sha256: 'upload-only' });
    fs.writeFileSync(path.join(disk, temp), bytes(300_000, 4).subarray(0, 1000));
    fs.chownSync(path.join(disk, temp), srv.uid, srv.gid);
    await deploy(realOpts(srv, local, dir, { uploadOnly: true }));
    expect(readTree(disk)).toEqual(readTree(local));
  });

  it('a temp an earlier run recorded, cut before its first byte (empty): removed and written again (was: "550 Overwrite permission denied" on every rerun)', async () => {
    const srv = env.proftpdHost;
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home', 'big.bin': bytes(300_000, 6) });
    const { dir, disk } = target(srv);
    await deploy(realOpts(srv, local, dir));
    const next = bytes(300_000, 7);
    writeTree(local, { 'big.bin': next });
    // What a run replacing big.bin, cut after its STOR opened the temp but before a byte went, leaves.
    const file = { path: 'big.bin', sha256: sha256(next) };
    const temp = tempPathFor(file);
    fs.writeFileSync(path.join(disk, temp), '');
    fs.chownSync(path.join(disk, temp), srv.uid, srv.gid);
    const statePath = path.join(disk, STATE);
    const cut = JSON.parse(fs.readFileSync(statePath, 'utf8')) as { pending?: unknown };
    cut.pending = { temps: { [temp]: { ...file, size: next.length } }, uncertain: [] };
    fs.writeFileSync(statePath, JSON.stringify(cut));
    fs.chownSync(statePath, srv.uid, srv.gid);
    await deploy(realOpts(srv, local, dir));
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
    expect((await deploy(realOpts(srv, local, dir))).files).toEqual([]);
  });
});

d.each(each('pure'))('%s: a folder of more files than a listing shows', (_name, srv) => {
  it('--verify: pure-ftpd lists 10 000 entries of a folder of 10 030 files; the rest are asked for with SIZE, found, and not sent again', async () => {
    const local = tmpDir();
    const files: Record<string, string> = {};
    for (let i = 0; i < 10_030; i++) files[`many/f${String(i).padStart(5, '0')}.txt`] = '';
    writeTree(local, files);
    const { dir, disk } = target(srv);
    await deploy(realOpts(srv, local, dir, { parallel: 8 }));
    const warnings: string[] = [];
    const r = await deploy(realOpts(srv, local, dir, { verify: true }), { warn: (m) => warnings.push(m) });
    // Was (had a name missing from the cut listing counted as gone): 30 files "missing on the server", sent again.
    expect(warnings).toEqual([]);
    expect(r.files).toEqual([]);
    expect(fs.readdirSync(path.join(disk, 'many'))).toHaveLength(10_030);
  }, 120_000);
});
