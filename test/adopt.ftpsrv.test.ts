/**
 * `--adopt` (Action `adopt`): a first deploy onto a server that already holds the site — uploaded by hand or
 * by another tool — keeps what is already there with the same content instead of uploading it again
 * (FIELD.md: "no way to seed/adopt an existing site", FTP-Deploy-Action #417, #470). ftp-srv in-process;
 * deploy.realservers.test.ts repeats the core case on pure-ftpd, vsftpd and proftpd.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { deploy, type DeployOptions } from '../src/index.js';
import { deployOptions, useEmbedded } from './helpers/embedded.js';
import { recorder, sent } from './helpers/protocol.js';
import { bytes, readTree, tmpDir, uniqueName, writeTree } from './helpers/tmp.js';

const server = useEmbedded();

const STATE = '.ftpship-state.json';
const opts = (localDir: string, remoteDir: string, extra: Partial<DeployOptions> = {}): DeployOptions =>
  deployOptions(server(), localDir, remoteDir, extra);
const mtimes = (root: string, rels: string[]): number[] =>
  rels.map((r) => fs.statSync(path.join(root, r)).mtimeMs);

/** A server folder that already holds an older copy of the site, plus a file only the server has. */
function existingSite(): { local: string; dir: string; disk: string } {
  const local = tmpDir();
  writeTree(local, {
    'index.html': '<h1>same</h1>',
    'css/site.css': 'body{color:red}', // same size on the server, other bytes
    'js/app.js': 'console.log(2)', // other size on the server
    'img/logo.bin': bytes(200_000, 3),
    'new/page.html': 'only local',
  });
  const dir = `/${uniqueName()}`;
  const disk = path.join(server().root, dir);
  writeTree(disk, {
    'index.html': '<h1>same</h1>',
    'css/site.css': 'body{color:RED}',
    'js/app.js': 'console.log("old version")',
    'img/logo.bin': bytes(200_000, 3),
    'uploads/user.jpg': 'a visitor upload',
  });
  return { local, dir, disk };
}

describe('adopt', () => {
  it('keeps identical files untouched, replaces the ones that differ (same size too), uploads the rest; remote-only files stay', async () => {
    const { local, dir, disk } = existingSite();
    const kept = ['index.html', 'img/logo.bin'];
    const before = mtimes(disk, kept);
    const rec = recorder();
    const infos: string[] = [];
    const r = await deploy(opts(local, dir, { adopt: true }), { ...rec, info: (m) => infos.push(m) });
    expect(readTree(disk, [STATE, 'uploads/user.jpg'])).toEqual(readTree(local));
    expect(fs.readFileSync(path.join(disk, 'uploads/user.jpg'), 'utf8')).toBe('a visitor upload');
    expect(mtimes(disk, kept)).toEqual(before); // not written again
    expect(r.counts).toMatchObject({ upload: 1, replace: 2, unchanged: 2, delete: 0, mkdir: 1 });
    // Only the differing files and the new one were sent; the differing ones through a temp (no torn file).
    const stored = sent(rec.log, 'STOR').filter((p) => !p.includes(STATE));
    expect(stored.filter((p) => !p.includes('.ftpship-'))).toEqual([`${dir}/new/page.html`]);
    expect(
      sent(rec.log, 'RNTO')
        .filter((p) => !p.includes(STATE))
        .sort(),
    ).toEqual([`${dir}/css/site.css`, `${dir}/js/app.js`]);
    // Same-size candidates were compared by downloading them; the other-size one was not.
    expect(
      sent(rec.log, 'RETR')
        .filter((p) => !p.includes('.ftp'))
        .sort(),
    ).toEqual([`${dir}/css/site.css`, `${dir}/img/logo.bin`, `${dir}/index.html`].sort());
    expect(infos.join('\n')).toMatch(/adopt: 2 file\(s\) already on the server .* 2 that differ/);

    // The state now owns the local files (not the remote-only one): a rerun does nothing, and a file
    // removed locally is deleted from the server, while the visitor upload is never touched.
    const rerun = await deploy(opts(local, dir, { adopt: true }));
    expect(rerun.files).toEqual([]);
    fs.rmSync(path.join(local, 'index.html'));
    const del = await deploy(opts(local, dir));
    expect(del.counts.delete).toBe(1);
    expect(fs.existsSync(path.join(disk, 'index.html'))).toBe(false);
    expect(fs.existsSync(path.join(disk, 'uploads/user.jpg'))).toBe(true);
  });

  it('names what only the server holds (a leftover lftp mirror --delete would have removed): it stays, now and later', async () => {
    const { local, dir, disk } = existingSite();
    writeTree(disk, { 'stale.html': 'removed from the site long ago', 'css/old.css': 'old' });
    const infos: string[] = [];
    await deploy(opts(local, dir, { adopt: true }), { info: (m) => infos.push(m) });
    const said = infos.join('\n');
    expect(said).toMatch(
      /adopt: 3 file\(s\) or folder\(s\) on the server are not in the local folder \(css\/old\.css, stale\.html, uploads\/\): they stay, on this deploy and every later one/,
    );
    // The files it found with other content are said to be that, not an earlier run's queue.
    expect(said).toMatch(/2 file\(s\) --adopt found with other content on the server/);
    expect(said).not.toMatch(/earlier run/);
    // ftpship's own state, written by this run, is not the site's: a rerun's adopt (none: a state exists) says nothing.
    fs.rmSync(path.join(disk, 'stale.html'));
    const again: string[] = [];
    await deploy(opts(local, dir, { adopt: true }), { info: (m) => again.push(m) });
    expect(again.join('\n')).not.toMatch(/not in the local folder/);
    expect(fs.readFileSync(path.join(disk, 'css/old.css'), 'utf8')).toBe('old');
  });

  it('without --adopt the first deploy onto a site says why every file goes, and that what is there stays later too', async () => {
    const { local, dir } = existingSite();
    const warnings: string[] = [];
    await deploy(opts(local, dir), { warn: (m) => warnings.push(m) });
    expect(warnings.join('\n')).toMatch(
      /no state file at .*: this deploy sends every file again and deletes nothing there \(files an earlier deploy left stay, on later deploys too: ftpship deletes only what it deployed\); later deploys send only what changed/,
    );
  });

  it('without --adopt the same first deploy uploads every file again', async () => {
    const { local, dir } = existingSite();
    const r = await deploy(opts(local, dir));
    expect(r.counts).toMatchObject({ upload: 5, unchanged: 0 });
  });

  it('a dry run with --adopt compares (downloads only) and changes nothing', async () => {
    const { local, dir, disk } = existingSite();
    const before = readTree(disk);
    const rec = recorder();
    const r = await deploy(opts(local, dir, { adopt: true, dryRun: true }), rec);
    expect(r.counts).toMatchObject({ upload: 1, replace: 2, unchanged: 2 });
    expect(readTree(disk)).toEqual(before);
    for (const verb of ['STOR', 'MKD', 'DELE', 'RNFR', 'SITE']) expect(sent(rec.log, verb)).toEqual([]);
  });

  it('is ignored once a state exists: nothing is downloaded', async () => {
    const { local, dir } = existingSite();
    await deploy(opts(local, dir));
    fs.writeFileSync(path.join(local, 'index.html'), '<h1>new</h1>');
    const rec = recorder();
    const r = await deploy(opts(local, dir, { adopt: true }), rec);
    expect(r.counts).toMatchObject({ replace: 1, unchanged: 4 });
    expect(sent(rec.log, 'RETR').filter((p) => !p.includes(STATE))).toEqual([]); // the state and its lock only
  });

  it('onto an empty or missing folder it is a plain first deploy', async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a', 'b/c.txt': 'c' });
    const dir = `/${uniqueName()}/deeper`;
    const r = await deploy(opts(local, dir, { adopt: true }));
    expect(r.counts).toMatchObject({ upload: 2, mkdir: 1 });
    expect(readTree(path.join(server().root, dir), [STATE])).toEqual(readTree(local));
  });
});

describe('adopt onto a folder that is not there yet', () => {
  it('is a plain first deploy: the refused listing is not retried (ftp-srv answers 451), no warning', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'i', 'a/b.txt': 'b' });
    const dir = `/${uniqueName()}`;
    const rec = recorder();
    const r = await deploy(opts(local, dir, { adopt: true, retryDelayMs: 500 }), rec);
    expect(r.counts).toMatchObject({ upload: 2 });
    expect(rec.warnings.filter((w) => /retrying/.test(w))).toEqual([]);
    expect(readTree(path.join(server().root, dir), [STATE])).toEqual(readTree(local));
  });
});

describe('adopt: what a listing cannot show', () => {
  it('a file on the server where the site has a folder of that name (a/ locally, a file a there): not taken for that folder (nothing adopted from it); the file is named as in the way, and kept', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'i', 'a/a': 'x' });
    const dir = `/${uniqueName()}`;
    const disk = path.join(server().root, dir);
    writeTree(disk, { 'index.html': 'i', a: 'x' }); // a file named as the local folder, of the same size as a/a
    const err = await deploy(opts(local, dir, { adopt: true })).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(
      new RegExp(
        `^cannot create folder ${dir}/a on the server for the local folder "a": a file of that name is there `,
      ),
    );
    expect(fs.readFileSync(path.join(disk, 'a'), 'utf8')).toBe('x'); // not ftpship's: never deleted
  });

  it('a folder listing as long as a listing a server may cut short (1000 names): a local file absent from it may be there, and goes through a temp', async () => {
    const local = tmpDir();
    writeTree(local, { 'many/new.txt': 'new' });
    const dir = `/${uniqueName()}`;
    const disk = path.join(server().root, dir);
    writeTree(
      disk,
      Object.fromEntries(
        Array.from({ length: 1000 }, (_, i) => [`many/f${String(i).padStart(4, '0')}.txt`, 'x']),
      ),
    );
    const rec = recorder();
    await deploy(opts(local, dir, { adopt: true }), rec);
    expect(sent(rec.log, 'STOR').filter((p) => p.endsWith('/many/new.txt'))).toEqual([]); // never written in place
    expect(sent(rec.log, 'RNTO')).toContain(`${dir}/many/new.txt`);
    expect(fs.readFileSync(path.join(disk, 'many/new.txt'), 'utf8')).toBe('new');
  });
});
