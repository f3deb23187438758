/**
 * Nested deploys (/site and /site/blog, each with its own state): the outer deploy never deletes, nor removes,
 * anything in a folder holding the inner one's state (G3), even files it once deployed there itself; it drops
 * them from its state and says so once. On pure-ftpd and vsftpd (RMD not recursive) and on ftp-srv (RMD
 * recursive: a removed folder would take the inner deploy with it).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { deploy } from '../src/index.js';
import { realServerSuite, type RealServer } from './helpers/real-servers.js';
import { deployTargets } from './helpers/targets.js';
import { readTree, sha256, tmpDir, writeTree } from './helpers/tmp.js';
import { linesProxy } from './helpers/faults.js';

const suite = realServerSuite('nested.realservers');
const { opts: realOpts, servers } = suite;
const STATE = '.ftpship-state.json';
const FDA = '.ftp-deploy-sync-state.json';
const { folder, rows: targets } = deployTargets(suite, 'h-engine4-nested', 'pure', 'vsftpd');

describe.each(targets)('%s: nested deploys', (_name, make) => {
  it("the outer deploy leaves a file the inner one took over (blog/x.html), and the folder, says so once, and forgets them (was: deleted the inner deploy's file)", async () => {
    const { dir, disk, opts } = make();
    const outer = tmpDir();
    writeTree(outer, { 'index.html': 'home', 'blog/x.html': 'outer x', 'old/y.html': 'y' });
    await deploy(opts(outer, dir));
    const inner = tmpDir();
    writeTree(inner, { 'x.html': 'inner x', 'index.html': 'the blog' });
    await deploy(opts(inner, `${dir}/blog`), { warn: () => undefined });
    const innerState = fs.readFileSync(path.join(disk, 'blog', STATE), 'utf8');
    fs.rmSync(path.join(outer, 'blog'), { recursive: true });
    fs.rmSync(path.join(outer, 'old'), { recursive: true });
    const said =
      `1 file(s) (blog/x.html) and 1 folder(s) (blog) deployed earlier and gone from the local files %s left on the server and ` +
      `dropped from this deploy's state: the folder blog holds blog/${STATE}, the state of another ftpship deploy (to ${dir}/blog), ` +
      `so what is there is that deploy's. To remove them, deploy to ${dir}/blog without them, or delete them by hand`;
    const planned: string[] = [];
    const plan = await deploy({ ...opts(outer, dir), dryRun: true }, { warn: (m) => planned.push(m) });
    expect(plan.files).toEqual([
      { path: 'old/y.html', action: 'delete', size: 1 },
      { path: 'old', action: 'rmdir', size: 0 },
    ]);
    expect(planned).toEqual([said.replace('%s', 'would be')]);
    const warnings: string[] = [];
    const r = await deploy(opts(outer, dir), { warn: (m) => warnings.push(m) });
    expect(r.files).toEqual(plan.files);
    expect(warnings).toEqual([said.replace('%s', 'were')]);
    expect(readTree(path.join(disk, 'blog'), [STATE])).toEqual(readTree(inner));
    expect(fs.readFileSync(path.join(disk, 'blog', STATE), 'utf8')).toBe(innerState);
    const state = JSON.parse(fs.readFileSync(path.join(disk, STATE), 'utf8')) as {
      files: Record<string, unknown>;
      dirs: string[];
    };
    expect(Object.keys(state.files)).toEqual(['index.html']);
    expect(state.dirs).toEqual([]);
    // Said once: the next deploy has nothing to do and nothing to say; nor has the inner one.
    const quiet: string[] = [];
    expect((await deploy(opts(outer, dir), { warn: (m) => quiet.push(m) })).files).toEqual([]);
    expect(quiet).toEqual([]);
    expect((await deploy(opts(inner, `${dir}/blog`))).files).toEqual([]);
  });

  it('an inner deploy deeper down (a/b): the folder above it is left too, quietly; a local file where that folder was is refused before anything is deleted (was: the inner files deleted, then refused)', async () => {
    const { dir, disk, opts } = make();
    const outer = tmpDir();
    writeTree(outer, { 'index.html': 'home', 'a/top.html': 'top', 'a/b/x.html': 'outer x' });
    await deploy(opts(outer, dir));
    const inner = tmpDir();
    writeTree(inner, { 'x.html': 'inner x' });
    await deploy(opts(inner, `${dir}/a/b`), { warn: () => undefined });
    fs.rmSync(path.join(outer, 'a'), { recursive: true });
    // A file where the folder a was: refused (exit 3), nothing deleted, not even a/top.html.
    writeTree(outer, { a: 'now a file' });
    const refused = deploy(opts(outer, dir), { warn: () => undefined });
    const err = await refused.then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(readTree(path.join(disk, 'a'), [`b/${STATE}`])).toEqual({
      'top.html': sha256('top'),
      'b/x.html': sha256('inner x'),
    });
    expect(err?.message).toBe(
      `cannot replace folder ${dir}/a with a file: it holds ${dir}/a/b, the target of another ftpship deploy (its state a/b/${STATE} is there), which ftpship never removes; rename the local file, or leave it out with --exclude '/a'; nothing was changed`,
    );
    fs.rmSync(path.join(outer, 'a'));
    const warnings: string[] = [];
    const r = await deploy(opts(outer, dir), { warn: (m) => warnings.push(m) });
    expect(r.files).toEqual([{ path: 'a/top.html', action: 'delete', size: 3 }]);
    expect(warnings).toEqual([
      expect.stringMatching(/^1 file\(s\) \(a\/b\/x\.html\) and 1 folder\(s\) \(a\/b\) deployed earlier/),
    ]);
    expect(readTree(path.join(disk, 'a'), [`b/${STATE}`])).toEqual({ 'b/x.html': sha256('inner x') });
    const quiet: string[] = [];
    expect((await deploy(opts(outer, dir), { warn: (m) => quiet.push(m) })).files).toEqual([]);
    expect(quiet).toEqual([]);
  });

  /** An outer site deployed, an inner one deployed at its blog/, then a local file blog in the outer site. */
  const fileOverInnerFolder = async () => {
    const { dir, disk, opts } = make();
    const outer = tmpDir();
    writeTree(outer, { 'index.html': 'home' });
    await deploy(opts(outer, dir));
    const inner = tmpDir();
    writeTree(inner, { 'x.html': 'inner x' });
    await deploy(opts(inner, `${dir}/blog`));
    writeTree(outer, { blog: 'now a file' });
    return { dir, disk, opts, outer, inner };
  };

  it('a local file where an inner deploy made its folder (one the outer deploy never sent): the error says whose folder it is, not to remove it', async () => {
    const { dir, disk, opts, outer, inner } = await fileOverInnerFolder();
    const err = await deploy(opts(outer, dir), { warn: () => undefined }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    // Before: "…that ftpship did not deploy, and it never removes one; remove or rename that folder on the
    // server, …": the inner deploy's site.
    expect(err?.message).toBe(
      `cannot upload blog: the server has a folder there (${dir}/blog), the target of another ftpship deploy (its state blog/${STATE} is there), which ftpship never removes; rename the local file, or leave it out with --exclude '/blog'`,
    );
    expect(readTree(path.join(disk, 'blog'), [STATE])).toEqual(readTree(inner));
  });

  it('that refused local file then removed: nothing is planned, nor reported, as deleted at the inner deploy\'s folder (was: "delete blog", the DELE of a folder counted as done)', async () => {
    const { dir, disk, opts, outer, inner } = await fileOverInnerFolder();
    await expect(deploy(opts(outer, dir), { warn: () => undefined })).rejects.toThrow('cannot upload blog');
    fs.rmSync(path.join(outer, 'blog'));
    // Never this deploy's file: forgotten quietly (not "1 file(s) (blog) deployed earlier …").
    const warnings: string[] = [];
    const plan = await deploy({ ...opts(outer, dir), dryRun: true }, { warn: (m) => warnings.push(m) });
    expect(plan.files).toEqual([]);
    const r = await deploy(opts(outer, dir), { warn: (m) => warnings.push(m) });
    expect(r.files).toEqual([]);
    expect(warnings).toEqual([]);
    expect(readTree(path.join(disk, 'blog'), [STATE])).toEqual(readTree(inner));
    const state = JSON.parse(fs.readFileSync(path.join(disk, STATE), 'utf8')) as {
      files: Record<string, unknown>;
      pending?: { uncertain: string[] };
    };
    expect(Object.keys(state.files)).toEqual(['index.html']);
    expect(state.pending?.uncertain ?? []).toEqual([]);
    expect((await deploy(opts(outer, dir), { warn: (m) => warnings.push(m) })).files).toEqual([]);
    expect(warnings).toEqual([]);
    expect((await deploy(opts(inner, `${dir}/blog`))).files).toEqual([]);
  });

  it('a local file where a folder made by hand is, then removed: the failed DELE is an error, not a file reported deleted (was: "delete e", the folder left)', async () => {
    const { dir, disk, opts } = make();
    const outer = tmpDir();
    writeTree(outer, { 'index.html': 'home' });
    await deploy(opts(outer, dir));
    writeTree(path.join(disk, 'e'), { 'x.html': 'by hand' });
    writeTree(outer, { e: 'now a file' });
    await expect(deploy(opts(outer, dir), { warn: () => undefined })).rejects.toThrow('cannot upload e');
    fs.rmSync(path.join(outer, 'e'));
    const err = await deploy(opts(outer, dir), { warn: () => undefined }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(
      new RegExp(
        `^cannot delete file e: the server has a folder there \\(${dir}/e; DELE: 55\\d [^)]*\\), which ftpship did not deploy and never removes; nothing was deleted there\\. Remove or rename that folder on the server, or leave the path out with --exclude '/e'$`,
      ),
    );
    expect(readTree(path.join(disk, 'e'))).toEqual({ 'x.html': sha256('by hand') });
    // Left out: the folder stays, and nothing is reported deleted.
    expect((await deploy(opts(outer, dir, { exclude: ['/e'] }), { warn: () => undefined })).files).toEqual(
      [],
    );
    expect(readTree(path.join(disk, 'e'))).toEqual({ 'x.html': sha256('by hand') });
  });

  it("a folder holding FTP-Deploy-Action's state (a blog deployed with that tool) is that deploy's too: the outer deploy's files there are left, and said so", async () => {
    const { dir, disk, opts } = make();
    const outer = tmpDir();
    writeTree(outer, { 'index.html': 'home', 'blog/x.html': 'outer x' });
    await deploy(opts(outer, dir));
    // What FTP-Deploy-Action leaves after deploying the blog over it.
    writeTree(path.join(disk, 'blog'), { 'x.html': 'fda x', [FDA]: '{"version":"1.0.0","data":[]}' });
    fs.rmSync(path.join(outer, 'blog'), { recursive: true });
    const warnings: string[] = [];
    expect((await deploy(opts(outer, dir), { warn: (m) => warnings.push(m) })).files).toEqual([]);
    expect(warnings).toEqual([
      expect.stringContaining(
        `the folder blog holds blog/${FDA}, the state of an FTP-Deploy-Action deploy (to ${dir}/blog), so what is there is that deploy's`,
      ),
    ]);
    expect(readTree(path.join(disk, 'blog'), [FDA])).toEqual({ 'x.html': sha256('fda x') });
  });

  it("inside the inner deploy's folder, a file of the outer's that became a local folder, or a folder that became a file: refused before any change (was: the inner deploy's file deleted)", async () => {
    const { dir, disk, opts } = make();
    const outer = tmpDir();
    writeTree(outer, { 'blog/x.html': 'outer x', 'blog/sub/p.html': 'p' });
    await deploy(opts(outer, dir));
    const inner = tmpDir();
    writeTree(inner, { 'x.html': 'inner x' });
    await deploy(opts(inner, `${dir}/blog`), { warn: () => undefined });
    const before = readTree(disk);
    fs.rmSync(path.join(outer, 'blog/x.html'));
    writeTree(outer, { 'blog/x.html/index.html': 'now a folder' });
    await expect(deploy(opts(outer, dir), { warn: () => undefined })).rejects.toThrow(
      `cannot replace file ${dir}/blog/x.html with a folder: it is in ${dir}/blog, the target of another ftpship deploy (its state blog/${STATE} is there), whose files ftpship never deletes; rename the local folder, or leave it out with --exclude '/blog/x\\.html'; nothing was changed`,
    );
    expect(readTree(disk)).toEqual(before);
    fs.rmSync(path.join(outer, 'blog'), { recursive: true });
    writeTree(outer, { 'blog/sub': 'now a file' });
    await expect(deploy(opts(outer, dir), { warn: () => undefined })).rejects.toThrow(
      `cannot replace folder ${dir}/blog/sub with a file: it is in ${dir}/blog, the target of another ftpship deploy (its state blog/${STATE} is there), whose files ftpship never deletes; rename the local file, or leave it out with --exclude '/blog/sub'; nothing was changed`,
    );
    expect(readTree(disk)).toEqual(before);
  });
});

describe('a server without SIZE', () => {
  const pure = servers?.pure;
  (pure ? it : it.skip)(
    "pure-ftpd behind a proxy answering SIZE with 502: the inner deploy's state is found in a listing, its file left",
    async () => {
      const srv = pure as RealServer;
      const { dir, disk } = folder(srv);
      const outer = tmpDir();
      writeTree(outer, { 'index.html': 'home', 'blog/x.html': 'outer x' });
      await deploy(realOpts(srv, outer, dir));
      const inner = tmpDir();
      writeTree(inner, { 'x.html': 'inner x' });
      await deploy(realOpts(srv, inner, `${dir}/blog`), { warn: () => undefined });
      fs.rmSync(path.join(outer, 'blog'), { recursive: true });
      let refused = 0;
      const proxy = await linesProxy(srv.port, (line) =>
        line.startsWith('SIZE ') ? (refused++, { reply: '502 SIZE not implemented.' }) : 'pass',
      );
      const warnings: string[] = [];
      try {
        const r = await deploy(
          { ...realOpts(srv, outer, dir), host: '127.0.0.1', port: proxy.port, secure: false },
          { warn: (m) => warnings.push(m) },
        );
        expect(r.files).toEqual([]);
      } finally {
        await proxy.close();
      }
      expect(refused).toBeGreaterThan(0);
      expect(warnings).toEqual([expect.stringContaining(`the folder blog holds blog/${STATE}`)]);
      expect(readTree(path.join(disk, 'blog'), [STATE])).toEqual({ 'x.html': sha256('inner x') });
    },
  );
});
