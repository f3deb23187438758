// An audit of the Action as a user switching from FTP-Deploy-Action meets it: inputs left in a workflow,
// odd values, what the log and the summary say. Run through the Action's source (action/main.ts) against
// ftp-srv in this process.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { EmbeddedServer } from '../src/embedded-server.js';
import { actionConnection, actionWorkspace, expectSuccess } from './helpers/action.js';
import { logLines, runMain } from './helpers/action-main.js';
import { embedded } from './helpers/embedded.js';
import type { DeployReport } from '../src/index.js';

let srv: EmbeddedServer;
beforeAll(async () => {
  srv = await embedded();
});
afterAll(async () => {
  await srv.close();
});

const connection = (serverDir: string): Record<string, string> => actionConnection(srv, serverDir);

describe('reset-state', () => {
  it('left in the workflow, it warns that a readable state was discarded too (was: silent, and deleted files were forgotten)', async () => {
    const { ws, site } = actionWorkspace({ 'a.html': 'a', 'b.html': 'b' });
    expectSuccess(await runMain(ws, connection('reset-left/')));
    fs.rmSync(path.join(site, 'b.html'));
    const run = await runMain(ws, { ...connection('reset-left/'), 'reset-state': 'true' });
    expectSuccess(run);
    // What the input did: a.html sent again, b.html left on the server and no longer in the state.
    expect(run.outputs).toMatchObject({ uploaded: '1', deleted: '0' });
    expect(fs.existsSync(path.join(srv.root, 'reset-left', 'b.html'))).toBe(true);
    const warnings = logLines(run).filter((l) => l.startsWith('::warning::') && l.includes('reset-state'));
    expect(warnings).toEqual([
      '::warning::`reset-state: true` ignores the state on the server, readable or not: every file is sent ' +
        'again, and files deployed earlier that are gone locally stay on the server, no longer tracked (never ' +
        'deleted). Remove the input once this run has re-seeded the state',
    ]);
    // Without the input, no such warning.
    const again = await runMain(ws, connection('reset-left/'));
    expectSuccess(again);
    expect(logLines(again).filter((l) => l.includes('reset-state'))).toEqual([]);
  });
});

describe('several targets', () => {
  it('two targets given one state-path: the error names the input in plain words (was: "its own the `state-path` input")', async () => {
    const { ws } = actionWorkspace({ 'a.html': 'a' });
    const shared = { 'state-path': '../shared-state.json' };
    expectSuccess(await runMain(ws, { ...connection('targets/staging/'), ...shared }));
    const run = await runMain(ws, { ...connection('targets/production/'), ...shared });
    expect(run.status).toBe(1);
    const errors = logLines(run).filter((l) => l.startsWith('::error::'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(
      'Nothing was changed. Give each target its own `state-path` input; if the site',
    );
    expect(errors[0]).not.toMatch(/\bthe the\b|its own the\b/);
    expect(fs.existsSync(path.join(srv.root, 'targets', 'production', 'a.html'))).toBe(false);
  });
});

describe('the summary as a pull-request comment', () => {
  it('a warning naming node_modules/@scope/… mentions nobody: the word is in <code> (was: "@babel" outside it, a mention)', async () => {
    const { ws } = actionWorkspace({
      'index.html': 'i',
      'node_modules/@babel/core/index.js': 'b',
      'docs/~draft~ $x$.md': 'd',
    });
    // `exclude` set without node_modules: the Action warns, naming the first such file.
    const run = await runMain(ws, { ...connection('mention/'), exclude: '*.map', 'dry-run': 'true' });
    expectSuccess(run);
    const comment = fs.readFileSync(run.outputs['summary-file'], 'utf8');
    const warning = comment.split('\n').find((l) => l.startsWith('- the local file'));
    expect(warning).toBeDefined();
    expect(warning).toContain('<code>node&#95;modules/@babel/core/index.js</code>');
    // No `@` or `#<digit>` outside <code> anywhere in the comment (entities such as &#96; aside).
    const outsideCode = comment.replace(/<code>[^<]*<\/code>/g, '').replace(/&#\d+;/g, '');
    expect(outsideCode).not.toMatch(/@\w|#\d/);
    // `~…~` and `$…$` in a path: neither struck through nor read as math (GitHub parses Markdown inside <code>).
    expect(comment).toContain('<code>docs/&#126;draft&#126; &#36;x&#36;.md</code>');
    expect(fs.existsSync(path.join(srv.root, 'mention'))).toBe(false);
  });
});

describe('FTP-Deploy-Action inputs left in a switched workflow', () => {
  it('dangerous-clean-slate: True (any case, as FTP-Deploy-Action read it) gets the warning (was: only "true")', async () => {
    const { ws } = actionWorkspace({ 'a.html': 'a' });
    const run = await runMain(ws, { ...connection('clean-slate/'), 'dangerous-clean-slate': 'True' });
    expectSuccess(run);
    expect(
      logLines(run).filter((l) => l.startsWith('::warning::dangerous-clean-slate is not supported')),
    ).toHaveLength(1);
  });
});

describe('list inputs written with YAML quotes in a block', () => {
  it('keep: | with "uploads/**" keeps the uploads, with a notice (was: quotes read as part of the glob, uploads deleted)', async () => {
    const { ws, site } = actionWorkspace({ 'index.html': 'i', 'uploads/photo.jpg': 'p', '.env': 'e' });
    expectSuccess(await runMain(ws, connection('quoted/')));
    fs.rmSync(path.join(site, 'uploads'), { recursive: true });
    fs.rmSync(path.join(site, '.env'));
    const run = await runMain(ws, { ...connection('quoted/'), keep: `"uploads/**"\n  - '.env'\n` });
    expectSuccess(run);
    expect(run.outputs).toMatchObject({ deleted: '0' });
    expect(fs.readFileSync(path.join(srv.root, 'quoted', 'uploads', 'photo.jpg'), 'utf8')).toBe('p');
    expect(fs.existsSync(path.join(srv.root, 'quoted', '.env'))).toBe(true);
    expect(logLines(run).filter((l) => l.startsWith('::notice::'))).toEqual([
      `::notice::the \`keep\` input: the quotes around "uploads/**", '.env' were removed (in a block, \`keep: |\`, ` +
        'YAML keeps them as part of the line); write each line without quotes',
    ]);
  });
});

describe('two runs of one target at once', () => {
  it('the one refused by the lock says how to queue runs: a `concurrency:` group (was: only "wait, or remove the folder")', async () => {
    const { ws, site } = actionWorkspace({ 'a.html': 'a' });
    expectSuccess(await runMain(ws, connection('queued/')));
    fs.writeFileSync(path.join(site, 'b.html'), 'b');
    // Another run holds the lock: its folder and holder file, as a live deploy leaves them.
    const now = new Date().toISOString();
    const lock = path.join(srv.root, 'queued', '.ftpship-state.json.lock');
    fs.mkdirSync(lock);
    fs.writeFileSync(
      path.join(lock, 'holder.json'),
      JSON.stringify({ token: 't', holder: 'ftpship on runner-2 pid 7', startedAt: now, refreshedAt: now }),
    );
    const run = await runMain(ws, connection('queued/'));
    expect(run.status).toBe(1);
    const errors = logLines(run).filter((l) => l.startsWith('::error::'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /^::error::another deploy holds the lock .*\(ftpship on runner-2 pid 7, since /,
    );
    expect(errors[0]).toMatch(
      /\(stale after \d+ s: run the deploy again after \S+Z to take it over\)\. To queue deploys of one target instead, give every workflow that deploys there the same `concurrency:` group \(with `cancel-in-progress: false`\)$/,
    );
    expect(run.summary).toContain('the same &#96;concurrency:&#96; group');
    expect(fs.existsSync(path.join(srv.root, 'queued', 'b.html'))).toBe(false);
  });

  it('a dry run while another holds the lock warns that a deploy would fail its step (was: "refused (exit 3)", the CLI\'s exit code)', async () => {
    const { ws, site } = actionWorkspace({ 'a.html': 'a' });
    expectSuccess(await runMain(ws, connection('h-action4-locked/')));
    fs.writeFileSync(path.join(site, 'b.html'), 'b');
    const now = new Date().toISOString();
    const lock = path.join(srv.root, 'h-action4-locked', '.ftpship-state.json.lock');
    fs.mkdirSync(lock);
    fs.writeFileSync(
      path.join(lock, 'holder.json'),
      JSON.stringify({ token: 't', holder: 'ftpship on runner-2 pid 7', startedAt: now, refreshedAt: now }),
    );
    const run = await runMain(ws, { ...connection('h-action4-locked/'), 'dry-run': 'true' });
    expectSuccess(run);
    const warning = logLines(run).find((l) => l.startsWith('::warning::another deploy holds the lock'));
    expect(warning).toMatch(/a deploy now would be refused \(the step fails\); this plan may be out of date/);
    for (const text of [run.stdout, run.summary]) expect(text).not.toContain('exit 3');
  });
});

describe('maintenance-url with a user and password in it', () => {
  it('masks the password and token, not a plain user name such as "deploy" nor source=github (was: every "deploy" and "github" in the job log became ***)', async () => {
    const { ws } = actionWorkspace({ 'a.html': 'a' });
    const url = 'https://deploy:pw-5ecret-77@hooks.example.com/ftp/hook?source=github&token=tok-4bcdef-99';
    const run = await runMain(ws, { ...connection('hook-mask/'), 'maintenance-url': url, 'dry-run': 'true' });
    expectSuccess(run);
    const masked = logLines(run)
      .filter((l) => l.startsWith('::add-mask::'))
      .map((l) => l.slice('::add-mask::'.length));
    expect(masked).toEqual(expect.arrayContaining(['pw-5ecret-77', 'tok-4bcdef-99', url]));
    expect(masked).not.toContain('deploy');
    expect(masked).not.toContain('github');
    // A user that holds a key is masked still.
    const keyed = await runMain(ws, {
      ...connection('hook-mask/'),
      'maintenance-url': 'https://k3y9f8a7s6d5:x0x0x0@hooks.example.com/hook?key=plainword',
      'dry-run': 'true',
    });
    expectSuccess(keyed);
    expect(logLines(keyed)).toEqual(
      expect.arrayContaining(['::add-mask::k3y9f8a7s6d5', '::add-mask::plainword']),
    );
  });
});

describe('maintenance-content from a secret', () => {
  it('is not printed in the debug log, where JSON escaping would defeat the mask (was: the key in clear)', async () => {
    const { ws, site } = actionWorkspace({ 'a.html': 'a' });
    const content = '<?php define("DEPLOY_KEY", "k-9f8e7d6c5b"); ?>\n';
    const inputs = { ...connection('maint-secret/'), 'maintenance-file': '.maintenance' };
    expectSuccess(await runMain(ws, inputs));
    fs.writeFileSync(path.join(site, 'a.html'), 'A');
    const run = await runMain(ws, { ...inputs, 'maintenance-content': content }, { RUNNER_DEBUG: '1' });
    expectSuccess(run);
    expect(logLines(run).filter((l) => l.includes('k-9f8e7d6c5b'))).toEqual([]);
    expect(logLines(run).filter((l) => l.startsWith('::debug::maintenance:'))).toEqual([
      `::debug::maintenance: {"path":".maintenance","content":"(${content.length} characters)"}`,
    ]);
  });
});

describe('YAML comments in list inputs (written inside `exclude: |`, which YAML keeps as text)', () => {
  it('# lines and trailing ` #` comments are not globs; \\# is a literal # (was: each a glob: `.env # secrets` matched nothing and .env went up)', async () => {
    const { ws } = actionWorkspace({
      'index.html': 'i',
      'app.js.map': 'm',
      '#index.html#': 'emacs',
      'Issue #12.md': 'n',
      '.env': 'secret',
      'uploads/p.jpg': 'p',
    });
    const run = await runMain(ws, {
      ...connection('comments/'),
      'dry-run': 'true',
      exclude: [
        '# source maps are built by CI (the old rule was a regex: \\.map$)',
        '**/*.map',
        '  - # and editor files',
        '\\#*#',
        'Issue \\#12.md',
        '.env # secrets',
        '"*.log" # logs, quoted',
        '"a #b"',
      ].join('\n'),
      keep: '# user content\nuploads/**\n',
    });
    expectSuccess(run);
    expect(logLines(run).filter((l) => /^::warning::/.test(l))).toEqual([]);
    expect(logLines(run)).toContain(
      '::debug::exclude: ["**/*.map","#*#","Issue #12.md",".env","*.log","a #b"]',
    );
    expect(logLines(run)).toContain('::debug::keep: ["uploads/**"]');
    const report = JSON.parse(fs.readFileSync(run.outputs.plan, 'utf8')) as DeployReport;
    expect(report.files.filter((f) => f.action === 'upload').map((f) => f.path)).toEqual([
      'index.html',
      'uploads/p.jpg',
    ]);
  });

  it('an exclude of comments alone is no exclude: the defaults apply, .git stays home (was: a glob replacing them)', async () => {
    const { ws } = actionWorkspace({ 'index.html': 'i', '.git/config': 'token' });
    const run = await runMain(ws, {
      ...connection('comments-only/'),
      'dry-run': 'true',
      exclude: '# nothing of ours to leave out yet\n',
    });
    expectSuccess(run);
    const report = JSON.parse(fs.readFileSync(run.outputs.plan, 'utf8')) as DeployReport;
    expect(report.files.filter((f) => f.action === 'upload').map((f) => f.path)).toEqual(['index.html']);
  });
});
