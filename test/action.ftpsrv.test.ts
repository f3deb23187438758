// The bundled Action (action/dist/index.js) run as the runner runs it, against ftp-srv in this process.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { EmbeddedServer } from '../src/embedded-server.js';
import type { DeployReport } from '../src/index.js';
import {
  actionConnection,
  actionWorkspace,
  expectSuccess,
  runAction,
  type ActionRun,
} from './helpers/action.js';
import { runMain } from './helpers/action-main.js';
import { embedded } from './helpers/embedded.js';
import { readTree, sha256, uniqueName, writeTree } from './helpers/tmp.js';

let srv: EmbeddedServer;
beforeAll(async () => {
  srv = await embedded();
});
afterAll(async () => {
  await srv.close();
});

const STATE = '.ftpship-state.json';

const workspace = actionWorkspace;
const connection = (serverDir: string): Record<string, string> => actionConnection(srv, serverDir);

function remote(dir: string, ignore = [STATE]): Record<string, string> {
  return readTree(path.join(srv.root, dir), ignore);
}

describe('the bundled Action against ftp-srv', () => {
  it('deploys, redeploys after a change (deletions first in the summary), then changes nothing', async () => {
    const { ws, site } = workspace({
      'index.html': '<h1>v1</h1>',
      'css/site.css': 'body{}',
      'old.html': 'old',
      'img/a.bin': Buffer.alloc(3000, 7),
    });
    const first = await runAction(ws, connection('www/'));
    expectSuccess(first);
    expect(remote('www')).toEqual(readTree(site));
    expect(first.outputs).toMatchObject({
      uploaded: '4',
      replaced: '0',
      deleted: '0',
      unchanged: '0',
      changed: 'true',
      bytes: String(11 + 6 + 3 + 3000),
    });
    const report = JSON.parse(fs.readFileSync(first.outputs.plan, 'utf8')) as DeployReport;
    expect(report.counts.upload).toBe(4);
    expect(report.dryRun).toBe(false);
    expect(first.summary).toContain('## ftpship deploy');
    expect(first.summary).toContain('| 4 | 0 | 0 |');

    fs.writeFileSync(path.join(site, 'index.html'), '<h1>v2</h1>');
    fs.rmSync(path.join(site, 'old.html'));
    fs.writeFileSync(path.join(site, 'new.html'), 'new');
    const second = await runAction(ws, connection('www/'));
    expectSuccess(second);
    expect(remote('www')).toEqual(readTree(site));
    expect(second.outputs).toMatchObject({
      uploaded: '1',
      replaced: '1',
      deleted: '1',
      unchanged: '2',
      changed: 'true',
    });
    const deletion = second.summary.indexOf(':x: **delete** <code>old.html</code>');
    expect(deletion).toBeGreaterThan(0);
    expect(second.summary.indexOf('<details>')).toBeGreaterThan(deletion);
    expect(second.summary).toMatch(
      /<details><summary>2 other changes<\/summary>[\s\S]*new\.html[\s\S]*<\/details>/,
    );

    const third = await runAction(ws, connection('www'));
    expectSuccess(third);
    expect(third.outputs).toMatchObject({
      uploaded: '0',
      replaced: '0',
      deleted: '0',
      unchanged: '4',
      changed: 'false',
      bytes: '0',
    });
    expect(third.summary).toContain('Nothing to change');
  });

  // Through the source (runMain): the committed bundle is rebuilt when merged.
  it('folders-made and folders-removed: the folders made and removed, as the counts of files (planned, in a dry run)', async () => {
    const { ws, site } = workspace({ 'index.html': 'x', 'a/b/c.txt': 'c', 'd/e.txt': 'e' });
    const dir = `${uniqueName()}/`;
    const dry = await runMain(ws, { ...connection(dir), 'dry-run': 'true' });
    expectSuccess(dry);
    expect(dry.outputs).toMatchObject({ uploaded: '3', 'folders-made': '3', 'folders-removed': '0' });
    const first = await runMain(ws, connection(dir));
    expectSuccess(first);
    expect(first.outputs).toMatchObject({ uploaded: '3', 'folders-made': '3', 'folders-removed': '0' });

    fs.rmSync(path.join(site, 'a'), { recursive: true });
    writeTree(site, { 'f/g.txt': 'g' });
    const second = await runMain(ws, connection(dir));
    expectSuccess(second);
    expect(remote(dir)).toEqual(readTree(site));
    expect(second.outputs).toMatchObject({
      uploaded: '1',
      deleted: '1',
      'folders-made': '1',
      'folders-removed': '2',
    });
    const again = await runMain(ws, connection(dir));
    expectSuccess(again);
    expect(again.outputs).toMatchObject({ 'folders-made': '0', 'folders-removed': '0', changed: 'false' });
  });

  it('dry-run: plans with zero side effects on the server and in the workspace; the summary is the preview', async () => {
    const { ws, site } = workspace({ 'index.html': 'v1', 'gone.html': 'x' });
    expectSuccess(await runAction(ws, connection('dry/')));
    fs.writeFileSync(path.join(site, 'index.html'), 'v2');
    fs.rmSync(path.join(site, 'gone.html'));
    fs.writeFileSync(path.join(site, 'added.html'), 'added');
    const serverBefore = snapshot(path.join(srv.root, 'dry'));
    const wsBefore = snapshot(ws);

    const run = await runAction(ws, { ...connection('dry/'), 'dry-run': 'true' });
    expectSuccess(run);
    expect(snapshot(path.join(srv.root, 'dry'))).toEqual(serverBefore);
    expect(snapshot(ws)).toEqual(wsBefore);
    expect(run.outputs).toMatchObject({
      uploaded: '1',
      replaced: '1',
      deleted: '1',
      changed: 'true',
      bytes: String(5 + 2),
    });
    expect((JSON.parse(fs.readFileSync(run.outputs.plan, 'utf8')) as DeployReport).dryRun).toBe(true);
    expect(path.relative(ws, run.outputs.plan).startsWith('..')).toBe(true);
    expect(run.summary).toContain('dry run: nothing was changed');
    expect(run.summary).toContain('1 deletion planned');
    expect(run.summary).toContain(':x: **delete** <code>gone.html</code>');
    expect(run.summary).toMatch(/Estimated deploy time: about \d+\.\d s/);
    // The same Markdown as a file on the runner (outside the workspace), to post as a pull-request comment.
    expect(path.relative(ws, run.outputs['summary-file']).startsWith('..')).toBe(true);
    expect(`${fs.readFileSync(run.outputs['summary-file'], 'utf8')}\n`).toBe(run.summary);
  });

  it('wrong password: the step fails with ::error::, and the password is printed nowhere but ::add-mask::', async () => {
    const { ws } = workspace({ 'index.html': 'x' });
    const secret = 'Wr0ng-s3cret-p4ss';
    const run = await runAction(
      ws,
      { ...connection('nope/'), password: secret, 'log-level': 'verbose' },
      { ACTIONS_STEP_DEBUG: 'true', RUNNER_DEBUG: '1' },
    );
    expect(run.status).not.toBe(0);
    const lines = `${run.stdout}\n${run.stderr}`.split('\n');
    expect(lines.filter((l) => l.startsWith('::error::'))).toEqual([
      expect.stringMatching(
        /login to 127\.0\.0\.1:\d+ as "demo" failed: 530 .*check the `username` and `password` inputs/,
      ),
    ]);
    expect(lines.filter((l) => l.includes(secret))).toEqual([`::add-mask::${secret}`]);
    expect(fs.existsSync(path.join(srv.root, 'nope'))).toBe(false);
  });

  it('drop-in for FTP-Deploy-Action v4: its defaults exclude .git* and node_modules, and its state file means no re-upload', async () => {
    const { ws } = workspace({
      'index.html': 'home',
      'a/b.txt': 'b',
      '.gitignore': 'x',
      '.github/w.yml': 'x',
      'node_modules/m/i.js': 'x',
    });
    // What FTP-Deploy-Action left on the server: the files and its state (sha256 per file, folders).
    const fda = {
      description: 'FDA',
      version: '1.0.0',
      generatedTime: 0,
      data: [
        { type: 'folder', name: 'a', size: undefined, hash: undefined },
        { type: 'file', name: 'a/b.txt', size: 1, hash: sha256('b') },
        { type: 'file', name: 'index.html', size: 4, hash: sha256('home') },
      ],
    };
    writeTree(path.join(srv.root, 'fda'), {
      'index.html': 'home',
      'a/b.txt': 'b',
      '.ftp-deploy-sync-state.json': JSON.stringify(fda),
    });
    const run = await runAction(ws, {
      ...connection('fda/'),
      protocol: 'ftp',
      timeout: '30000',
      'dangerous-clean-slate': 'true',
    });
    expectSuccess(run);
    expect(run.stdout).toMatch(/::warning::dangerous-clean-slate is not supported/);
    expect(run.stdout).toContain('read the state left by FTP-Deploy-Action');
    expect(run.outputs).toMatchObject({ uploaded: '0', replaced: '0', deleted: '0', unchanged: '2' });
    expect(Object.keys(remote('fda', [STATE, '.ftp-deploy-sync-state.json'])).sort()).toEqual([
      'a/b.txt',
      'index.html',
    ]);
    expect(fs.existsSync(path.join(srv.root, 'fda', STATE))).toBe(true);
  });

  it('exclude: files deployed earlier that it now leaves out are named in the log with the input, not --exclude', async () => {
    const { ws } = workspace({ 'index.html': 'i', 'images/a.png': 'a', 'images/sub/b.png': 'b' });
    expectSuccess(await runAction(ws, connection('excluded-later/')));
    const run = await runAction(ws, { ...connection('excluded-later/'), exclude: 'images/*' });
    expectSuccess(run);
    // Before: "2 file(s) deployed earlier now match --exclude (…)", a flag the Action has not.
    expect(run.stdout).toMatch(
      /2 file\(s\) deployed earlier now match the `exclude` input \(images\/[a-z/]+\.png, images\/[a-z/]+\.png\): left on the server/,
    );
    expect(run.stdout).not.toContain('--exclude');
  });

  it("state-name set to FTP-Deploy-Action's default: its file is read, not written over; ftpship keeps its own", async () => {
    const { ws, site } = workspace({ 'index.html': 'home', 'new.html': 'new' });
    const fda = { data: [{ type: 'file', name: 'index.html', size: 4, hash: sha256('home') }] };
    const fdaText = JSON.stringify(fda);
    writeTree(path.join(srv.root, 'fda-default'), {
      'index.html': 'home',
      '.ftp-deploy-sync-state.json': fdaText,
    });
    const inputs = { ...connection('fda-default/'), 'state-name': '.ftp-deploy-sync-state.json' };
    const run = await runAction(ws, inputs);
    expectSuccess(run);
    expect(run.outputs).toMatchObject({ uploaded: '1', unchanged: '1' });
    // Before: ftpship's state written over FTP-Deploy-Action's file (which that tool then could not read).
    expect(fs.readFileSync(path.join(srv.root, 'fda-default', '.ftp-deploy-sync-state.json'), 'utf8')).toBe(
      fdaText,
    );
    expect(fs.existsSync(path.join(srv.root, 'fda-default', STATE))).toBe(true);
    fs.writeFileSync(path.join(site, 'index.html'), 'home 2');
    const second = await runAction(ws, inputs);
    expectSuccess(second);
    expect(second.outputs).toMatchObject({ replaced: '1', unchanged: '1' });
  });

  it('state-name: a custom FTP-Deploy-Action state name is read, and ftpship keeps its state under it', async () => {
    const { ws } = workspace({ 'index.html': 'home' });
    const fda = { data: [{ type: 'file', name: 'index.html', size: 4, hash: sha256('home') }] };
    writeTree(path.join(srv.root, 'named'), { 'index.html': 'home', 'my-state.json': JSON.stringify(fda) });
    const run = await runAction(ws, { ...connection('named/'), 'state-name': 'my-state.json' });
    expectSuccess(run);
    expect(run.outputs).toMatchObject({ uploaded: '0', unchanged: '1' });
    expect(fs.existsSync(path.join(srv.root, 'named', STATE))).toBe(false);
  });

  it('files: @actions/glob patterns relative to local-dir, with ! negation', async () => {
    const { ws, site } = workspace({
      'index.html': 'i',
      'drafts/d.html': 'd',
      'blog/p.html': 'p',
      'app.js.map': 'm',
      'app.js': 'j',
    });
    const inputs = { ...connection('files/'), files: '**/*.html\n!drafts/**\napp.js' };
    const run = await runAction(ws, inputs);
    expectSuccess(run);
    const local = readTree(site);
    const picked = ['app.js', 'blog/p.html', 'index.html'];
    expect(remote('files')).toEqual(Object.fromEntries(picked.map((p) => [p, local[p]])));
    // The selected files are hashed and sent from disk; the state records them: a rerun sends nothing.
    const again = await runAction(ws, inputs);
    expectSuccess(again);
    expect(again.outputs).toMatchObject({ uploaded: '0', replaced: '0', deleted: '0', unchanged: '3' });
  });

  it('max-delete: a plan deleting too much fails the step and changes nothing', async () => {
    const { ws, site } = workspace({ 'a.html': 'a', 'b.html': 'b', 'c.html': 'c' });
    expectSuccess(await runAction(ws, connection('guard/')));
    fs.rmSync(path.join(site, 'a.html'));
    fs.rmSync(path.join(site, 'b.html'));
    const before = snapshot(path.join(srv.root, 'guard'));
    const run = await runAction(ws, { ...connection('guard/'), 'max-delete': '1' });
    expect(run.status).not.toBe(0);
    // The wording after "more than" is action-hostile.test.ts's (it runs the source; this, the bundle).
    expect(run.stdout).toMatch(/::error::the plan deletes 2 files, more than /);
    expect(snapshot(path.join(srv.root, 'guard'))).toEqual(before);
  });

  it('keep and delete: false leave remote paths in place', async () => {
    const { ws, site } = workspace({ 'a.html': 'a', 'uploads/u.png': 'u', 'b.html': 'b' });
    expectSuccess(await runAction(ws, connection('keep/')));
    fs.rmSync(path.join(site, 'uploads'), { recursive: true });
    fs.rmSync(path.join(site, 'b.html'));
    const kept = await runAction(ws, { ...connection('keep/'), keep: 'uploads/**', 'dry-run': 'true' });
    expectSuccess(kept);
    expect(kept.outputs.deleted).toBe('1');
    const none = await runAction(ws, { ...connection('keep/'), delete: 'false' });
    expectSuccess(none);
    expect(none.outputs.deleted).toBe('0');
    expect(Object.keys(remote('keep')).sort()).toEqual(['a.html', 'b.html', 'uploads/u.png']);
  });

  it('adopt: a site already online is compared, not uploaded again', async () => {
    const { ws } = workspace({ 'index.html': 'x', 'css/site.css': 'body{}' });
    writeTree(path.join(srv.root, 'adopted'), { 'index.html': 'x', 'css/site.css': 'body{}' });
    const run = await runAction(ws, { ...connection('adopted/'), adopt: 'true' });
    expectSuccess(run);
    expect(run.outputs).toMatchObject({ uploaded: '0', replaced: '0', unchanged: '2', bytes: '0' });
  });

  it('upload-only: every file goes up on every run, no state, remote-only files stay', async () => {
    const { ws } = workspace({ 'index.html': 'x', 'css/site.css': 'body{}' });
    writeTree(path.join(srv.root, 'plain'), { 'theirs.txt': 't' });
    for (let i = 0; i < 2; i++) {
      const run = await runAction(ws, { ...connection('plain/'), 'upload-only': 'true' });
      expectSuccess(run);
      expect(run.outputs).toMatchObject({ uploaded: '2', deleted: '0', unchanged: '0', changed: 'true' });
    }
    expect(Object.keys(remote('plain', [])).sort()).toEqual(['css/site.css', 'index.html', 'theirs.txt']);
  });

  it('maintenance-file: up while the changed files are renamed into place, gone after', async () => {
    const { ws, site } = workspace({ 'index.php': 'v1' });
    expectSuccess(await runAction(ws, connection('maint/')));
    fs.writeFileSync(path.join(site, 'index.php'), 'v2');
    const run = await runAction(ws, {
      ...connection('maint/'),
      'maintenance-file': '.maintenance',
      'maintenance-content': '<?php $upgrading = time(); ?>',
      'log-level': 'verbose',
    });
    expectSuccess(run);
    expect(run.stdout).toMatch(/STOR .*\/maint\/\.maintenance\.tmp/);
    expect(run.stdout).toMatch(/DELE .*\/maint\/\.maintenance/);
    expect(fs.existsSync(path.join(srv.root, 'maint/.maintenance'))).toBe(false);
    expect(fs.readFileSync(path.join(srv.root, 'maint/index.php'), 'utf8')).toBe('v2');
  });

  it('active and pipelining: false: the server connects back (EPRT/PORT), each command goes alone', async () => {
    const { ws } = workspace({ 'index.html': 'x', 'css/site.css': 'body{}' });
    const run = await runAction(ws, {
      ...connection('active/'),
      active: 'true',
      pipelining: 'false',
      'log-level': 'verbose',
    });
    expectSuccess(run);
    expect(run.stdout).toMatch(/> (EPRT|PORT) /);
    expect(run.stdout).not.toMatch(/> (EPSV|PASV)\b/);
    // Without pipelining, PASS goes only once the server asked for it (331), after USER's reply.
    expect(run.stdout).toMatch(/> USER [^\n]*\n(?:.*\n)*?.*< 331[^\n]*\n(?:.*\n)*?.*> PASS/);
    expect(remote('active')).toEqual({ 'index.html': sha256('x'), 'css/site.css': sha256('body{}') });
  });

  it('file-mode and dir-mode: set on the server; a later mode change alone counts as a change', async () => {
    const { ws } = workspace({ 'index.html': 'x', 'css/site.css': 'body{}' });
    const modeOf = (rel: string): string =>
      (fs.statSync(path.join(srv.root, 'modes', rel)).mode & 0o777).toString(8);
    expectSuccess(await runAction(ws, { ...connection('modes/'), 'file-mode': '600', 'dir-mode': '700' }));
    expect([modeOf('index.html'), modeOf('css/site.css'), modeOf('css')]).toEqual(['600', '600', '700']);
    const again = await runAction(ws, { ...connection('modes/'), 'file-mode': '640', 'dir-mode': '700' });
    expectSuccess(again);
    expect(again.outputs).toMatchObject({ uploaded: '0', replaced: '0', changed: 'true' });
    expect([modeOf('index.html'), modeOf('css/site.css')]).toEqual(['640', '640']);
    const same = await runAction(ws, { ...connection('modes/'), 'file-mode': '640', 'dir-mode': '700' });
    expect(same.outputs.changed).toBe('false');
  });
});

describe("exclude in FTP-Deploy-Action's older formats (they excluded nothing: .git/config, with the checkout token, went up)", () => {
  const site = {
    'index.html': 'home',
    '.git/config': '[http] extraheader = AUTHORIZATION: basic x',
    '.github/workflows/deploy.yml': 'on: push',
    'node_modules/m/index.js': 'module.exports = 1',
  };
  /** The files a dry run plans to upload, from its report file. */
  const planned = (run: ActionRun): string[] =>
    (JSON.parse(fs.readFileSync(run.outputs.plan, 'utf8')) as DeployReport).files
      .filter((f) => f.action === 'upload')
      .map((f) => f.path)
      .sort();
  const lines = (run: ActionRun, kind: 'notice' | 'warning'): string[] =>
    run.stdout.split('\n').filter((l) => l.startsWith(`::${kind}::`));

  it('the bracketed form [a, b, c]: split at its commas, one notice', async () => {
    const { ws } = workspace(site);
    const run = await runAction(ws, {
      ...connection('fda-bracketed/'),
      'dry-run': 'true',
      exclude: '[**/.git*, **/.git*/**, **/node_modules/**]',
    });
    expectSuccess(run);
    expect(planned(run)).toEqual(['index.html']);
    expect(lines(run, 'notice')).toEqual([
      '::notice::the `exclude` input "[**/.git*, **/.git*/**, **/node_modules/**]" was read as a list of 3 globs, ' +
        'FTP-Deploy-Action\'s bracketed form, split at its commas: "**/.git*", "**/.git*/**", "**/node_modules/**". ' +
        'Write one glob per line instead: `exclude: |` with each glob on a line of its own below it',
    ]);
    expect(lines(run, 'warning')).toEqual([]);
  });

  it('the form FTP-Deploy-Action 4.0 documented, folded by YAML into one line: split at " - "; a block keeps " - " inside a glob', async () => {
    // What the runner gets from `exclude: .git*` with `- .git*/**`, `- node_modules/**` on the lines below.
    const yaml = createRequire(import.meta.url)('js-yaml') as { load(text: string): { exclude: string } };
    const folded = yaml.load('exclude: .git*\n  - .git*/**\n  - node_modules/**\n').exclude;
    expect(folded).toBe('.git* - .git*/** - node_modules/**');
    const { ws } = workspace({ ...site, 'page - Copy.html': 'a copy' });
    const run = await runAction(ws, { ...connection('fda-folded/'), 'dry-run': 'true', exclude: folded });
    expectSuccess(run);
    expect(planned(run)).toEqual(['index.html', 'page - Copy.html']);
    expect(lines(run, 'notice')).toEqual([
      expect.stringMatching(
        /^::notice::the `exclude` input ".* - .*" was read as a list of 3 globs, split at " - " as FTP-Deploy-Action 4.0 did .*: ".git\*", ".git\*\/\*\*", "node_modules\/\*\*". Write one glob per line instead/,
      ),
    ]);

    // One glob per line (with or without "- "), in a block: read as written, a " - " in a glob kept whole.
    const block = yaml.load(
      'exclude: |\n  - .git*\n  .git*/**\n  - node_modules/**\n  **/* - Copy*\n',
    ).exclude;
    const asWritten = await runAction(ws, {
      ...connection('fda-folded/'),
      'dry-run': 'true',
      exclude: block,
    });
    expectSuccess(asWritten);
    expect(planned(asWritten)).toEqual(['index.html']);
    expect(lines(asWritten, 'notice')).toEqual([]);
  });

  it('exclude set without .git and node_modules: one warning naming the first such file; none with the defaults', async () => {
    const { ws } = workspace({ ...site, 'app.js.map': 'map' });
    const run = await runAction(ws, { ...connection('fda-replaced/'), 'dry-run': 'true', exclude: '*.map' });
    expectSuccess(run);
    expect(planned(run)).toEqual([
      '.git/config',
      '.github/workflows/deploy.yml',
      'index.html',
      'node_modules/m/index.js',
    ]);
    expect(lines(run, 'warning')).toEqual([
      '::warning::the local file .git/config and 1 more file under .git/ or node_modules/ will be on the server: ' +
        'setting the `exclude` input replaces its defaults (as in FTP-Deploy-Action); add `**/.git*`, ' +
        '`**/.git*/**` and `**/node_modules/**` to `exclude` to leave them out',
    ]);
    expect(run.summary).toContain('the local file .git/config and 1 more file');

    const defaults = await runAction(ws, { ...connection('fda-replaced/'), 'dry-run': 'true' });
    expectSuccess(defaults);
    expect(planned(defaults)).toEqual(['app.js.map', 'index.html']);
    expect(lines(defaults, 'warning')).toEqual([]);
  });
});

describe('the bundled Action maps its inputs onto the engine options', () => {
  it('core.debug shows every resolved value (password never)', async () => {
    const { ws } = workspace({ 'index.html': 'x' });
    const run = await runAction(
      ws,
      {
        ...connection('/abs/dir/'),
        'local-dir': './public',
        protocol: 'ftp',
        'dry-run': 'true',
        exclude: '- *.map\n**/drafts/**',
        keep: '.env\nuploads/**',
        delete: 'false',
        'max-delete': '7',
        parallel: '2',
        atomic: 'false',
        'state-path': '/private/state.json',
        timeout: '5000',
        'log-level': 'minimal',
        active: 'true',
        pipelining: 'false',
      },
      { RUNNER_DEBUG: '1' },
    );
    expectSuccess(run);
    const debug = Object.fromEntries(
      run.stdout
        .split('\n')
        .filter((l) => /^::debug::[a-zA-Z]+: /.test(l))
        .map((l) =>
          l
            .slice('::debug::'.length)
            .split(/: (.*)/s)
            .slice(0, 2),
        ),
    );
    expect(debug).toMatchObject({
      host: '"127.0.0.1"',
      port: String(srv.port),
      user: '"demo"',
      password: '"***"',
      secure: 'false',
      localDir: JSON.stringify(path.join(ws, 'public')),
      remoteDir: '"/abs/dir"',
      dryRun: 'true',
      exclude: '["*.map","**/drafts/**"]',
      replaceDefaultExcludes: 'true',
      keep: '[".env","uploads/**"]',
      delete: 'false',
      maxDelete: '7',
      parallel: '2',
      atomic: 'false',
      statePath: '"/private/state.json"',
      timeoutMs: '5000',
      logLevel: '"minimal"',
      active: 'true',
      pipelining: 'false',
    });
    expect(run.stdout.split('\n').filter((l) => l.includes(srv.password))).toEqual([
      `::add-mask::${srv.password}`,
    ]);
  });
});

describe('the bundled Action refuses bad inputs with one clear ::error:: line', () => {
  const cases: Array<{ title: string; inputs: Record<string, string>; error: RegExp }> = [
    {
      title: 'local-dir outside the workspace',
      inputs: { 'local-dir': '../' },
      error: /local-dir "\.\.\/" is outside the workspace/,
    },
    {
      title: 'local-dir missing',
      inputs: { 'local-dir': 'dist/' },
      error: /local-dir "dist\/" does not exist/,
    },
    // Was "local path \"/…/public/index.html\" is not a folder", naming neither the input nor the value given.
    {
      title: 'local-dir a file',
      inputs: { 'local-dir': 'public/index.html' },
      error:
        /^::error::local-dir "public\/index\.html" is a file, not a folder; name the folder to publish \(such as \.\/dist\/\)/,
    },
    {
      title: 'port not a number',
      inputs: { port: 'twenty-one' },
      error: /invalid port "twenty-one"; use a whole number from 1 to 65535/,
    },
    {
      title: 'protocol sftp (SSH)',
      inputs: { protocol: 'sftp' },
      error: /protocol sftp is file transfer over SSH, which ftpship does not speak.*use protocol ftps$/,
    },
    {
      title: 'unknown protocol',
      inputs: { protocol: 'ftpx' },
      error: /invalid protocol "ftpx"; use one of ftp, ftps, ftps-legacy/,
    },
    {
      title: 'server given as a URL',
      inputs: { server: 'ftp://example.com/www' },
      error: /give the host name only/,
    },
    { title: 'missing server', inputs: { server: '' }, error: /Input required and not supplied: server/ },
    {
      title: 'both state inputs',
      inputs: { 'state-name': 'a.json', 'state-path': 'b.json' },
      error: /both state-name .* and state-path .* are set/,
    },
    { title: 'bad boolean', inputs: { 'dry-run': 'maybe' }, error: /dry-run/ },
    {
      title: 'maintenance-content without maintenance-file',
      inputs: { 'maintenance-content': 'down' },
      error: /maintenance-content is set but maintenance-file is not/,
    },
    {
      title: 'upload-only with adopt',
      inputs: { 'upload-only': 'true', adopt: 'true' },
      error: /drop one of the `upload-only` input and the `adopt` input/,
    },
    {
      title: 'file-mode not octal',
      inputs: { 'file-mode': 'rw-r--r--' },
      error: /invalid file-mode "rw-r--r--"; give the mode as a string of octal digits, such as '644'/,
    },
  ];
  it.each(cases)('$title', async ({ inputs, error }) => {
    const { ws } = workspace({ 'index.html': 'x' });
    const run = await runAction(ws, { ...connection('bad/'), ...inputs });
    expect(run.status).not.toBe(0);
    const errors = run.stdout.split('\n').filter((l) => l.startsWith('::error::'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(error);
    expect(fs.existsSync(path.join(srv.root, 'bad'))).toBe(false);
  });
});

describe('local-dir named in the warnings about it', () => {
  // Was "the local folder /…/public has no file to publish: check the build output and --exclude".
  it('a local-dir with nothing to publish: the warning names the `local-dir` input', async () => {
    const { ws } = workspace({ 'index.html': 'x' });
    const run = await runAction(ws, {
      ...connection(uniqueName('empty-local') + '/'),
      exclude: 'index.html',
    });
    expect(run.stdout).toMatch(
      /^::warning::the `local-dir` input \(\S+public\) has no file to publish: check the build output and the `exclude` input$/m,
    );
  });
});

/** Every file under root with its content hash and modification time (a changed byte or touch shows). */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [rel, hash] of Object.entries(readTree(root)))
    out[rel] = `${hash} ${fs.statSync(path.join(root, rel)).mtimeMs}`;
  return out;
}
