/**
 * A mutation audit of src/engine/deploy.ts, on real servers: behaviours no other test pinned, each test written
 * to fail with one mutant of deploy.ts applied. Runs cut at an exact protocol line (helpers/chaos' deployCutAt,
 * the CLI behind a proxy that drops every connection there), then run again. With one left over from the audit of
 * src/engine/execute.ts: a temp a cut commit phase left, and a rerun cut before its first checkpoint.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { deploy, type DeployOptions } from '../src/index.js';
import { deployCutAt } from './helpers/chaos.js';
import { realServerSuite, remoteFolders } from './helpers/real-servers.js';
import { readTree, sha256, tmpDir, writeTree } from './helpers/tmp.js';

const { describe: d, opts, each } = realServerSuite('deploy-audit.realservers');
const target = remoteFolders('deploy-audit');
const STATE = '.ftpship-state.json';
const MARKER = '.maintenance';

d.each(each('pure', 'vsftpd'))('%s', (_name, server) => {
  it('a deploy cut with its maintenance file up (its lock left too): the rerun with the same --maintenance takes it as its own, deploys and takes it down', async () => {
    const local = tmpDir('ftpship-deploy-audit-');
    const { dir, disk } = target(server);
    const o = (): DeployOptions =>
      opts(server, local, dir, { staleLockMs: 1000, atomic: false, maintenance: { path: MARKER } });
    writeTree(local, { 'index.html': 'v1', 'css/site.css': 'c' });
    await deploy(o());
    writeTree(local, { 'index.html': 'v2' });

    const { dropped, cut } = await deployCutAt(server, local, dir, /^STOR .*\/index\.html/, [
      '--maintenance',
      MARKER,
      '--no-atomic',
      '--retries',
      '0',
    ]);
    expect([dropped, cut.code]).toEqual([true, 1]);
    // Left up by the cut run, with its lock.
    expect(fs.existsSync(path.join(disk, MARKER))).toBe(true);
    expect(fs.existsSync(path.join(disk, `${STATE}.lock`))).toBe(true);

    const r = await deploy(o());
    expect(r.counts).toMatchObject({ replace: 1 });
    expect(readTree(disk, [STATE])).toEqual({ 'index.html': sha256('v2'), 'css/site.css': sha256('c') });
    expect(fs.existsSync(path.join(disk, MARKER))).toBe(false);
    expect(fs.existsSync(path.join(disk, `${STATE}.lock`))).toBe(false);
  }, 20_000);
});

/** The first rename of a commit phase (a temp's RNFR). */
const AT_RENAMES = /^RNFR .*\.ftpship-[0-9a-f]{20}\.tmp$/;
/** A later deploy's first checkpoint (its state's temporary copy going up). */
const AT_CHECKPOINT = /^STOR .*\.ftpship-state\.json\.tmp$/;
const TEMP_NAME = /^\.ftpship-[0-9a-f]{20}\.tmp$/;

d.each(each('pure'))('%s: execute.ts, a temp marked committing', (_name, server) => {
  it('a run cut at its renames, its rerun (the file edited again) cut before its first checkpoint: the temp the cut commit left is not removed early, and a third run (the file back as the first run had it) renames it in', async () => {
    const local = tmpDir('ftpship-deploy-audit-');
    const { dir, disk } = target(server);
    const o = (): DeployOptions => opts(server, local, dir, { staleLockMs: 1000 });
    // Same sizes throughout: nothing but the state tells the contents apart.
    writeTree(local, { 'index.html': 'home', 'b.txt': 'AAAA' });
    await deploy(o());

    writeTree(local, { 'b.txt': 'BBBB' });
    const first = await deployCutAt(server, local, dir, AT_RENAMES, ['--retries', '0']);
    expect([first.dropped, first.cut.code]).toEqual([true, 1]);
    const temps = (): string[] => fs.readdirSync(disk).filter((n) => TEMP_NAME.test(n));
    const left = temps();
    expect(left).toHaveLength(1); // BBBB, whole, marked committing in the state

    writeTree(local, { 'b.txt': 'CCCC' });
    const second = await deployCutAt(server, local, dir, AT_CHECKPOINT, ['--retries', '0']);
    expect([second.dropped, second.cut.code]).toEqual([true, 1]);
    expect(temps()).toEqual(left);
    expect(fs.readFileSync(path.join(disk, 'b.txt'), 'utf8')).toBe('AAAA');

    writeTree(local, { 'b.txt': 'BBBB' });
    await deploy(o());
    expect(readTree(disk, [STATE])).toEqual({ 'index.html': sha256('home'), 'b.txt': sha256('BBBB') });
    expect(temps()).toEqual([]);
    expect((await deploy(o())).files).toEqual([]);
  }, 30_000);
});
