/**
 * The second, third, tenth deploy to one target, after something changed between deploys: the state moved
 * with --state, the target folder removed by hand (a folder inside it: day-two.realservers, as ftp-srv makes
 * missing parents), FTP-Deploy-Action run again on the site for a while, a deploy cut with its maintenance
 * marker up. Each time the server ends as the local tree
 * and the state says what is there (G4). Through the CLI (and the Action bundle for FTP-Deploy-Action's
 * case), against ftp-srv in this jest process.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { useEmbeddedCli } from './helpers/embedded.js';
import type { SpawnResult } from './helpers/cli-spawn.js';
import { actionConnection, actionWorkspace, expectSuccess, runAction } from './helpers/action.js';
import { fdaState, readTree, sha256, tmpDir, uniqueName, writeTree } from './helpers/tmp.js';

const { srv, url, cli } = useEmbeddedCli();

const STATE = '.ftpship-state.json';
const FDA_STATE = '.ftp-deploy-sync-state.json';

async function ok(args: string[]): Promise<SpawnResult> {
  const r = await cli(args);
  if (r.code !== 0) throw new Error(`ftpship ${args.join(' ')} exited ${r.code}:\n${r.stderr}`);
  return r;
}

/** The --json report's changes as "action path", sorted. */
function changes(r: SpawnResult): string[] {
  const report = JSON.parse(r.stdout) as { files: Array<{ action: string; path: string }> };
  return report.files.map((f) => `${f.action} ${f.path}`).sort();
}

function disk(...parts: string[]): string {
  return path.join(srv().root, ...parts);
}

function stateFiles(file: string): string[] {
  return Object.keys((JSON.parse(fs.readFileSync(file, 'utf8')) as { files: object }).files).sort();
}

describe('the state kept outside the target', () => {
  it('the target folder removed by hand: the plan and the deploy send every file again (was: nothing to do, site gone)', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home', 'a/x.txt': 'x' });
    const name = uniqueName('gone');
    const state = `/${name}-private/state.json`;
    await ok(['deploy', local, url(`${name}/www`), '--state', state]);
    fs.rmSync(disk(name, 'www'), { recursive: true });

    const plan = await ok(['plan', local, url(`${name}/www`), '--state', state, '--json']);
    expect(changes(plan)).toEqual(['mkdir a', 'upload a/x.txt', 'upload index.html']);
    expect(plan.stderr).toContain(
      `warning: the target folder /${name}/www is not on the server, yet the state file ${state} lists 2 file(s)`,
    );
    const r = await ok(['deploy', local, url(`${name}/www`), '--state', state]);
    expect(r.stderr).toContain('removed by hand?');
    expect(readTree(disk(name, 'www'))).toEqual(readTree(local));
    expect(stateFiles(disk(state))).toEqual(['a/x.txt', 'index.html']);
    const again = await ok(['deploy', local, url(`${name}/www`), '--state', state, '--json']);
    expect(changes(again)).toEqual([]);
  });
});

describe('--state given after deploys that kept the state in the target', () => {
  it('the state there is read (nothing uploaded again, the removed file deleted), then removed from the web root', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'v1', 'css/a.css': 'a', 'b.txt': 'b' });
    const name = uniqueName('moved');
    await ok(['deploy', local, url(`${name}/www`)]);
    fs.writeFileSync(path.join(local, 'index.html'), 'v2');
    fs.rmSync(path.join(local, 'b.txt'));
    const state = `/${name}-private/state.json`;

    const plan = await ok(['plan', local, url(`${name}/www`), '--state', state, '--json']);
    expect(changes(plan)).toEqual(['delete b.txt', 'replace index.html']);
    expect(plan.stderr).toContain(`read the one ftpship kept at /${name}/www/${STATE}`);
    expect(fs.existsSync(disk(name, 'www', STATE))).toBe(true); // a plan changes nothing

    const r = await ok(['deploy', local, url(`${name}/www`), '--state', state, '--json']);
    expect(changes(r)).toEqual(['delete b.txt', 'replace index.html']);
    // The old state, out of date from now on and readable by anyone in the web root, is gone.
    expect(readTree(disk(name, 'www'))).toEqual(readTree(local));
    expect(stateFiles(disk(state))).toEqual(['css/a.css', 'index.html']);
    expect(changes(await ok(['deploy', local, url(`${name}/www`), '--state', state, '--json']))).toEqual([]);
  });
});

describe('FTP-Deploy-Action run again on the site after the switch (a switch back, for a while)', () => {
  it('its changes are seen: a file it changed that ftpship had deployed is sent again, one it added is deleted (was: left as that tool put them)', async () => {
    const { ws, site } = actionWorkspace({ 'index.html': 'one', 'b.txt': 'b' });
    const dir = uniqueName('fda');
    // The site as FTP-Deploy-Action left it.
    writeTree(disk(dir), {
      'index.html': 'one',
      'b.txt': 'b',
      [FDA_STATE]: fdaState({ 'index.html': 'one', 'b.txt': 'b' }, 1),
    });

    // The switch: nothing uploaded again, one change sent.
    fs.writeFileSync(path.join(site, 'index.html'), 'two');
    const first = await runAction(ws, actionConnection(srv(), dir));
    expectSuccess(first);
    expect(first.stdout).toContain('read the state left by FTP-Deploy-Action');
    expect(first.stdout).toContain(`delete it once ftpship has deployed`);
    expect(first.outputs).toMatchObject({ uploaded: '0', replaced: '1', unchanged: '1' });
    // While that tool's state is as it was, it is only looked at (SIZE and MDTM), not read.
    const quiet = await runAction(ws, { ...actionConnection(srv(), dir), 'log-level': 'verbose' });
    expectSuccess(quiet);
    expect(quiet.outputs).toMatchObject({ changed: 'false' });
    expect(quiet.stdout).toContain(`MDTM /${dir}/${FDA_STATE}`);
    expect(quiet.stdout).not.toContain(`RETR /${dir}/${FDA_STATE}`);

    // FTP-Deploy-Action deploys again (from its own, older state): index.html three, c.txt new.
    writeTree(disk(dir), {
      'index.html': 'three',
      'c.txt': 'c',
      [FDA_STATE]: fdaState({ 'index.html': 'three', 'b.txt': 'b', 'c.txt': 'c' }, 2),
    });

    // Back to ftpship, with index.html as ftpship last deployed it: it must go up again.
    const back = await runAction(ws, actionConnection(srv(), dir));
    expectSuccess(back);
    expect(back.stdout).toContain(
      `::warning::FTP-Deploy-Action has deployed to this folder since ftpship last did`,
    );
    expect(back.outputs).toMatchObject({ replaced: '1', deleted: '1', unchanged: '1' });
    expect(readTree(disk(dir), [STATE, FDA_STATE])).toEqual(readTree(site));
    expect(stateFiles(disk(dir, STATE))).toEqual(['b.txt', 'index.html']);

    // Once its state is deleted (as the README says), nothing more is looked at or sent.
    fs.rmSync(disk(dir, FDA_STATE));
    const after = await runAction(ws, actionConnection(srv(), dir));
    expectSuccess(after);
    expect(after.outputs).toMatchObject({ changed: 'false' });
    expect(fs.readFileSync(disk(dir, STATE), 'utf8')).not.toContain('ftpDeployAction');
  });

  it('its state listing itself (it sent a copy left in its local folder): that file is not deleted as an orphan (was: deleted by the switch)', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'one' });
    const dir = uniqueName('fda-self');
    const fda = JSON.stringify({
      version: '1.0.0',
      generatedTime: 1,
      data: [
        { type: 'file', name: FDA_STATE, size: 10, hash: sha256('older copy') },
        { type: 'file', name: 'index.html', size: 3, hash: sha256('one') },
      ],
    });
    writeTree(disk(dir), { 'index.html': 'one', [FDA_STATE]: fda });
    const r = await ok(['deploy', local, url(dir), '--json']);
    expect(changes(r)).toEqual([]);
    expect(fs.readFileSync(disk(dir, FDA_STATE), 'utf8')).toBe(fda);
    expect(stateFiles(disk(dir, STATE))).toEqual(['index.html']);
  });

  it('its state file empty (its run cut while writing it): said, and a first deploy, nothing deleted (was: not a word of that file)', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'one' });
    const dir = uniqueName('fda-empty');
    writeTree(disk(dir), { 'index.html': 'one', 'old.html': 'old', [FDA_STATE]: '' });
    const r = await ok(['deploy', local, url(dir), '--json']);
    expect(r.stderr).toContain(
      `warning: FTP-Deploy-Action's state file /${dir}/${FDA_STATE} is empty (that tool's last run cut while writing it?)`,
    );
    expect(changes(r)).toEqual(['upload index.html']);
    expect(fs.readFileSync(disk(dir, 'old.html'), 'utf8')).toBe('old');
  });

  it("ftpship's own state deleted by hand, FTP-Deploy-Action's still there: a file ftpship changed since (same size) is sent again (was: taken for unchanged, the server kept ftpship's content)", async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'aaa', 'b.txt': 'b' });
    const dir = uniqueName('fda-stale');
    writeTree(disk(dir), {
      'a.txt': 'aaa',
      'b.txt': 'b',
      [FDA_STATE]: fdaState({ 'a.txt': 'aaa', 'b.txt': 'b' }, 1),
    });
    // FTP-Deploy-Action's last deploy, an hour ago: its files, then its state (written last).
    const hourAgo = Date.now() / 1000 - 3600;
    for (const f of ['a.txt', 'b.txt']) fs.utimesSync(disk(dir, f), hourAgo - 10, hourAgo - 10);
    fs.utimesSync(disk(dir, FDA_STATE), hourAgo, hourAgo);

    // The switch: nothing uploaded again (the files are older than that tool's state).
    expect(changes(await ok(['deploy', local, url(dir), '--json']))).toEqual([]);
    // ftpship deploys a change of the same size; then its state is deleted by hand, and the change reverted.
    fs.writeFileSync(path.join(local, 'a.txt'), 'bbb');
    expect(changes(await ok(['deploy', local, url(dir), '--json']))).toEqual(['replace a.txt']);
    fs.rmSync(disk(dir, STATE));
    fs.writeFileSync(path.join(local, 'a.txt'), 'aaa');

    const r = await ok(['deploy', local, url(dir), '--json']);
    expect(r.stderr).toContain(
      "warning: 1 file(s) on the server were written after FTP-Deploy-Action's state file (a.txt)",
    );
    expect(changes(r)).toEqual(['replace a.txt']);
    expect(readTree(disk(dir), [STATE, FDA_STATE])).toEqual(readTree(local));
    expect(changes(await ok(['deploy', local, url(dir), '--json']))).toEqual([]);
  });

  it('a folder ftpship deployed that it replaced with a file: the file is deleted, the folder made again (was: "a file of that name is there", every deploy)', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'one', 'a/x.txt': 'x' });
    const dir = uniqueName('fda-swap');
    writeTree(disk(dir), { 'index.html': 'one', [FDA_STATE]: fdaState({ 'index.html': 'one' }, 1) });
    await ok(['deploy', local, url(dir)]);
    // FTP-Deploy-Action deploys a file "a" where ftpship's folder a was.
    fs.rmSync(disk(dir, 'a'), { recursive: true });
    writeTree(disk(dir), { a: 'A', [FDA_STATE]: fdaState({ 'index.html': 'one', a: 'A' }, 2) });

    const back = await ok(['deploy', local, url(dir), '--json']);
    expect(changes(back)).toEqual(['delete a', 'mkdir a', 'upload a/x.txt']);
    expect(readTree(disk(dir), [STATE, FDA_STATE])).toEqual(readTree(local));
    expect(changes(await ok(['deploy', local, url(dir), '--json']))).toEqual([]);
  });
});

describe("--state naming FTP-Deploy-Action's state file (as the Action's state-name does)", () => {
  it("taken as none: that tool's file is read and left as it was, ftpship's state is kept apart (was: written over in ftpship's format)", async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'two', 'b.txt': 'b' });
    const dir = uniqueName('fda-named');
    const fda = JSON.stringify({
      version: '1.0.0',
      generatedTime: 1,
      data: [
        { type: 'file', name: 'index.html', size: 3, hash: sha256('one') },
        { type: 'file', name: 'b.txt', size: 1, hash: sha256('b') },
      ],
    });
    writeTree(disk(dir), { 'index.html': 'one', 'b.txt': 'b', [FDA_STATE]: fda });
    const r = await ok(['deploy', local, url(dir), '--state', `./${FDA_STATE}`]);
    expect(r.stdout + r.stderr).toContain(
      `the state path "./${FDA_STATE}" is FTP-Deploy-Action's state file: taken as none`,
    );
    expect(r.stdout + r.stderr).toContain('read the state left by FTP-Deploy-Action');
    expect(fs.readFileSync(disk(dir, FDA_STATE), 'utf8')).toBe(fda);
    expect(stateFiles(disk(dir, STATE))).toEqual(['b.txt', 'index.html']);
    expect(readTree(disk(dir), [STATE, FDA_STATE])).toEqual(readTree(local));
    // Named by its absolute path: refused (exit 2), that file left as it was.
    const abs = await cli(['deploy', local, url(dir), '--state', `/${dir}/${FDA_STATE}`]);
    expect(abs.code).toBe(2);
    expect(abs.stderr).toContain(
      `the state path "/${dir}/${FDA_STATE}" is FTP-Deploy-Action's state file /${dir}/${FDA_STATE}; leave --state out: ` +
        `ftpship then reads that file and keeps its own state at /${dir}/${STATE}`,
    );
    expect(fs.readFileSync(disk(dir, FDA_STATE), 'utf8')).toBe(fda);
  });

  it("ftpship's own state in that file (an earlier --state put it there): read as ftpship's, moved to the default, no FTP-Deploy-Action notice", async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'one', 'b.txt': 'b' });
    const dir = uniqueName('fda-own');
    await ok(['deploy', local, url(dir)]);
    // Where an earlier ftpship, given --state .ftp-deploy-sync-state.json, kept its state.
    fs.renameSync(disk(dir, STATE), disk(dir, FDA_STATE));
    fs.writeFileSync(path.join(local, 'index.html'), 'two');
    const r = await ok(['deploy', local, url(dir), '--json']);
    expect(changes(r)).toEqual(['replace index.html']);
    expect(r.stderr).not.toContain('read the state left by FTP-Deploy-Action');
    expect(r.stderr).toContain(`read ftpship's own state from /${dir}/${FDA_STATE}`);
    expect(fs.existsSync(disk(dir, FDA_STATE))).toBe(false);
    expect(stateFiles(disk(dir, STATE))).toEqual(['b.txt', 'index.html']);
    expect(readTree(disk(dir), [STATE])).toEqual(readTree(local));
  });
});

describe('--no-delete, then a deploy without it', () => {
  it('each run says which deployed files it leaves and that a deploy without the option deletes them; one does', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home', 'old/a.txt': 'a' });
    const name = uniqueName('nodelete');
    await ok(['deploy', local, url(name)]);
    fs.rmSync(path.join(local, 'old'), { recursive: true });
    const kept = await ok(['deploy', local, url(name), '--no-delete', '--json']);
    expect(changes(kept)).toEqual([]);
    expect(kept.stderr).toContain(
      '1 file(s) deployed earlier and gone from the local files stay on the server (old/a.txt): --no-delete. ' +
        'They stay in the state, and a deploy without --no-delete deletes them',
    );
    expect(stateFiles(disk(name, STATE))).toEqual(['index.html', 'old/a.txt']);
    const plan = await ok(['plan', local, url(name), '--json']);
    const r = await ok(['deploy', local, url(name), '--json']);
    expect(changes(r)).toEqual(changes(plan));
    expect(changes(r)).toEqual(['delete old/a.txt', 'rmdir old']);
    expect(readTree(disk(name), [STATE])).toEqual(readTree(local));
  });
});

describe("the copy of FTP-Deploy-Action's state that tool leaves in the folder it deploys", () => {
  it('is not uploaded over the state on the server (was: sent, an older copy replacing it), with a warning', async () => {
    const dir = uniqueName('fdacopy');
    const onServer = JSON.stringify({
      version: '1.0.0',
      generatedTime: 2,
      data: [{ type: 'file', name: 'index.html', size: 3, hash: sha256('one') }],
    });
    writeTree(disk(dir), { 'index.html': 'one', [FDA_STATE]: onServer });
    const local = tmpDir();
    writeTree(local, {
      'index.html': 'one',
      [FDA_STATE]: JSON.stringify({ version: '1.0.0', generatedTime: 1, data: [] }),
    });
    const r = await ok(['deploy', local, url(dir), '--json']);
    expect(changes(r)).toEqual([]);
    expect(r.stderr).toContain(
      `warning: the local file ${FDA_STATE} is not uploaded: it is a copy of FTP-Deploy-Action's state`,
    );
    expect(fs.readFileSync(disk(dir, FDA_STATE), 'utf8')).toBe(onServer);
    // And the next deploy does not take it for that tool's work.
    const again = await ok(['deploy', local, url(dir), '--json']);
    expect(again.stderr).not.toContain('has deployed to this folder since');
    expect(changes(again)).toEqual([]);
  });
});

describe('a deploy cut while its maintenance marker was up', () => {
  it('the plan says the marker is on the server (the site shows maintenance) and that the deploy takes it down', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home' });
    const name = uniqueName('marker');
    await ok(['deploy', local, url(name)]);
    // What a run killed in its commit phase leaves: the marker up, recorded in the state.
    const statePath = disk(name, STATE);
    const s = JSON.parse(fs.readFileSync(statePath, 'utf8')) as Record<string, unknown>;
    s.pending = { temps: {}, uncertain: [], maintenance: '.maintenance' };
    fs.writeFileSync(statePath, JSON.stringify(s));
    fs.writeFileSync(disk(name, '.maintenance'), 'down for a moment');

    const plan = await ok(['plan', local, url(name)]);
    expect(plan.stderr).toContain(
      'warning: the maintenance file .maintenance is on the server, left up by a deploy that did not finish',
    );
    const r = await ok(['deploy', local, url(name)]);
    expect(r.stderr).toContain('maintenance file .maintenance removed');
    expect(fs.existsSync(disk(name, '.maintenance'))).toBe(false);
  });
});
