// Findings of a hostile-user test of the Action, run through its source (action/main.ts) against real
// servers: ftp-srv in this process, and the scripted fake server for hostile replies.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { EmbeddedServer } from '../src/embedded-server.js';
import type { DeployReport } from '../src/index.js';
import { actionConnection, actionWorkspace, expectSuccess } from './helpers/action.js';
import { logLines, runMain } from './helpers/action-main.js';
import { selfSignedCert } from './helpers/cert.js';
import { embedded } from './helpers/embedded.js';
import { startFakeServer, type FakeServer } from './helpers/fake-server.js';
import { readTree, tmpDir } from './helpers/tmp.js';
import { parseTarget } from '../src/url.js';

let srv: EmbeddedServer;
beforeAll(async () => {
  srv = await embedded();
});
afterAll(async () => {
  await srv.close();
});

const workspace = actionWorkspace;
const connection = (serverDir: string): Record<string, string> => actionConnection(srv, serverDir);

/** The one ::error:: line of a failed run (several, or none, fails the test). */
function theError(run: { status: number | null; stdout: string }): string {
  expect(run.status).not.toBe(0);
  const errors = run.stdout.split('\n').filter((l) => l.startsWith('::error::'));
  expect(errors).toHaveLength(1);
  return errors[0];
}

/** Every file under root with its content and modification time. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [rel, hash] of Object.entries(readTree(root)))
    out[rel] = `${hash} ${fs.statSync(path.join(root, rel)).mtimeMs}`;
  return out;
}

describe('a dry run refused by max-delete still reports its plan (the pull-request preview)', () => {
  it('writes the summary (deletions first), the outputs and both files, then fails with the guard', async () => {
    const { ws, site } = workspace({ 'a.html': 'a', 'b.html': 'b', 'c.html': 'c' });
    expectSuccess(await runMain(ws, connection('preview-guard/')));
    fs.rmSync(path.join(site, 'a.html'));
    fs.rmSync(path.join(site, 'b.html'));
    fs.writeFileSync(path.join(site, 'd.html'), 'd');
    const before = snapshot(path.join(srv.root, 'preview-guard'));
    const run = await runMain(ws, { ...connection('preview-guard/'), 'dry-run': 'true', 'max-delete': '1' });
    expect(theError(run)).toBe(
      '::error::the plan deletes 2 files, more than `max-delete` (1) allows; nothing was changed. ' +
        'Check `local-dir` and `exclude`, or raise the `max-delete` input.',
    );
    expect(snapshot(path.join(srv.root, 'preview-guard'))).toEqual(before);
    expect(run.outputs).toMatchObject({ uploaded: '1', deleted: '2', changed: 'true' });
    const report = JSON.parse(fs.readFileSync(run.outputs.plan, 'utf8')) as DeployReport;
    expect(report.dryRun).toBe(true);
    expect(report.counts.delete).toBe(2);
    // The plan file says it was refused, in the Action's words (the step's error).
    expect(report.refused).toBe(theError(run).replace('::error::', ''));
    expect(run.summary).toContain('2 deletions planned');
    // The preview says the deploy it previews would be refused, and why, above the plan.
    const refused = run.summary.indexOf(
      '**:no_entry: The deploy would be refused:** the plan deletes 2 files, more than &#96;max-delete&#96; (1) allows',
    );
    expect(refused).toBeGreaterThan(-1);
    expect(refused).toBeLessThan(run.summary.indexOf('| upload | replace |'));
    expect(run.summary.indexOf(':x: **delete** <code>a.html</code>')).toBeLessThan(
      run.summary.indexOf('<details>'),
    );
    expect(`${fs.readFileSync(run.outputs['summary-file'], 'utf8')}\n`).toBe(run.summary);
  });

  it('a deploy (not a dry run) refused so writes them too, marked refused, with the deletions; no counts (was: no summary at all)', async () => {
    const { ws, site } = workspace({ 'a.html': 'a', 'b.html': 'b', 'c.html': 'c' });
    expectSuccess(await runMain(ws, connection('deploy-guard/')));
    fs.rmSync(path.join(site, 'a.html'));
    fs.rmSync(path.join(site, 'b.html'));
    const before = snapshot(path.join(srv.root, 'deploy-guard'));
    const run = await runMain(ws, { ...connection('deploy-guard/'), 'max-delete': '1' });
    expect(theError(run)).toMatch(/^::error::the plan deletes 2 files, more than `max-delete` \(1\) allows;/);
    expect(snapshot(path.join(srv.root, 'deploy-guard'))).toEqual(before);
    expect(run.summary).toMatch(/^## ftpship deploy refused \(nothing was changed\)\n/);
    expect(run.summary).toContain('**:no_entry: The deploy was refused:** the plan deletes 2 files');
    expect(run.summary).toContain('### :warning: 2 deletions planned');
    expect(run.summary).toContain(':x: **delete** <code>a.html</code>');
    expect(run.summary).toContain(':x: **delete** <code>b.html</code>');
    expect(`${fs.readFileSync(run.outputs['summary-file'], 'utf8')}\n`).toBe(run.summary);
    const report = JSON.parse(fs.readFileSync(run.outputs.plan, 'utf8')) as DeployReport;
    expect(report).toMatchObject({ dryRun: false, bytes: { sent: 0 }, counts: { delete: 2 } });
    expect(report.refused).toMatch(/^the plan deletes 2 files, more than `max-delete` \(1\) allows;/);
    // Nothing was done: no counts for a later step to take as done.
    expect(Object.keys(run.outputs).sort()).toEqual(['plan', 'summary-file']);
  });
});

/** The hostile lines a server sends inside its replies. */
const HOSTILE = ['::error::injected', '  ::add-mask::demo', '##[error]legacy', 'x\r::warning::cr'];
const PAYLOAD = /^\s*::(error::injected|add-mask::demo|warning::cr)|##\[error\]legacy/;

/**
 * Log lines the runner would take for a command the Action did not mean (a `::` command opens a line after
 * spaces; the legacy `##[` works anywhere in one), and lines of the Action's own commands' messages that
 * would, once unescaped: the annotation shows them as lines too.
 */
function injected(stdout: string): string[] {
  return stdout.split(/\r\n|\r|\n/).flatMap((line) => {
    if (PAYLOAD.test(line)) return [line];
    const own = /^::[a-z-]+::/.exec(line);
    if (!own) return [];
    const data = line.slice(own[0].length).replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
    return data.split(/\r\n|\r|\n/).filter((l) => PAYLOAD.test(l));
  });
}

describe('server text cannot inject workflow commands into the log', () => {
  let fake: FakeServer;
  const hostile = HOSTILE;
  beforeAll(async () => {
    fake = await startFakeServer({
      greeting: (s) => s.reply(['220-Welcome', ...hostile, '220 ready'].join('\r\n')),
      handlers: {
        // The state file is missing, and the reason is multi-line too.
        RETR: (_a, s) => s.reply(['550-No such file', ...hostile, '550 end'].join('\r\n')),
      },
    });
  });
  afterAll(async () => {
    await fake.close();
  });

  it('log-level verbose: no line of the log starts with :: or holds ##[ but the Action’s own', async () => {
    const { ws } = workspace({ 'index.html': 'x' });
    const run = await runMain(ws, {
      server: fake.host,
      port: String(fake.port),
      username: 'u',
      password: 'p',
      'local-dir': 'public/',
      'dry-run': 'true',
      'log-level': 'verbose',
    });
    expect(run.status).toBe(0);
    expect(injected(run.stdout)).toEqual([]);
    // The server's text is still there to read, each line of the reply on its own line.
    const lines = logLines(run);
    expect(lines).toContain('[1] < 220 Welcome');
    expect(lines).toContain('  \\::error::injected');
    expect(lines).toContain('  ##[\\error]legacy');
  });

  it('a warning or error carrying server text is neutralised too', async () => {
    const { ws } = workspace({ 'index.html': 'x' });
    const refusing = await startFakeServer({
      greeting: (s) => s.reply(['421-Go away', ...HOSTILE, '421 bye'].join('\r\n')),
    });
    try {
      const run = await runMain(ws, {
        server: refusing.host,
        port: String(refusing.port),
        username: 'u',
        password: 'p',
        'local-dir': 'public/',
        'dry-run': 'true',
        timeout: '2000',
      });
      expect(theError(run)).toMatch(
        /^::error::127\.0\.0\.1:\d+ is not taking connections now \(421 Go away; asked \d+ times\)/,
      );
      expect(injected(run.stdout)).toEqual([]);
    } finally {
      await refusing.close();
    }
  });
});

/**
 * The lines of a log the runner would run as a command: it trims a line with .NET's TrimStart(), whose
 * whitespace is JavaScript's `\s` but for U+FEFF, plus U+0085 (NEXT LINE), before looking for `::`
 * (actions/runner ActionCommand.TryParseV2). The Action's own commands aside.
 */
function runnerCommands(stdout: string): string[] {
  return stdout
    .split(/\r\n|\r|\n/)
    .filter((line) => /^::/.test(line.replace(/^[\s\u0085]+/, '').replace(/^\ufeff+/, '')))
    .filter((line) => !/^::(debug|add-mask::p$|error::|warning::|notice::)/.test(line));
}

describe('server text cannot inject workflow commands through a NEXT LINE (U+0085) before them', () => {
  it('a reply line starting with U+0085 gets its :: escaped too, as the runner trims U+0085 (was: `::add-mask::` run by the runner)', async () => {
    const hostile = [
      '\u0085::add-mask::nel',
      '\u0085\u0085 ::stop-commands::nel',
      '\u0085::error title=x::nel',
    ];
    const fake = await startFakeServer({
      greeting: (s) => s.reply(['220-Welcome', ...hostile, '220 ready'].join('\r\n')),
      handlers: { RETR: (_a, s) => s.reply(['550-No such file', ...hostile, '550 end'].join('\r\n')) },
    });
    try {
      const { ws } = workspace({ 'index.html': 'x' });
      const run = await runMain(ws, {
        server: fake.host,
        port: String(fake.port),
        username: 'u',
        password: 'p',
        'local-dir': 'public/',
        'dry-run': 'true',
        'log-level': 'verbose',
      });
      expect(run.status).toBe(0);
      expect(runnerCommands(run.stdout)).toEqual([]);
      // Still there to read.
      expect(logLines(run)).toContain('  \u0085\\::add-mask::nel');
    } finally {
      await fake.close();
    }
  });
});

describe('the runner files are the runner’s: a deploy that finished stands when they cannot be written', () => {
  it('an unwritable GITHUB_STEP_SUMMARY is a warning; outputs are still set', async () => {
    const { ws, site } = workspace({ 'index.html': 'x' });
    const run = await runMain(ws, connection('nosummary/'), {
      GITHUB_STEP_SUMMARY: path.join(tmpDir(), 'missing-dir', 'summary'),
    });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/::warning::could not write the job summary .*GITHUB_STEP_SUMMARY/);
    expect(run.outputs).toMatchObject({ uploaded: '1' });
    expect(readTree(path.join(srv.root, 'nosummary'), ['.ftpship-state.json'])).toEqual(readTree(site));
  });

  it('a missing GITHUB_OUTPUT file is a warning; the summary is still written', async () => {
    const { ws, site } = workspace({ 'index.html': 'x' });
    const run = await runMain(ws, connection('nooutput/'), {
      GITHUB_OUTPUT: path.join(tmpDir(), 'gone'),
    });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/::warning::could not set the outputs .*GITHUB_OUTPUT/);
    expect(run.summary).toContain('## ftpship deploy');
    expect(readTree(path.join(srv.root, 'nooutput'), ['.ftpship-state.json'])).toEqual(readTree(site));
  });
});

describe('messages name the Action’s inputs, never the CLI’s flags', () => {
  it('a local folder where the state goes: "give the `state-path` input a file name"', async () => {
    const { ws } = workspace({ 'index.html': 'x', '.ftpship-state.json/x': 'y' });
    const error = theError(await runMain(ws, connection('stateflag/')));
    expect(error).toMatch(/give the `state-path` input a file name/);
    expect(error).not.toMatch(/--state|`state` input/);
  });

  it('a local file where the state goes: "move the state with the `state-path` input"', async () => {
    // A copy of a state (downloaded with the site): a warning. Any other file there: refused, naming the input.
    const copy = workspace({
      'index.html': 'x',
      '.ftpship-state.json': '{"version": 1, "generator": "ftpship"}',
    });
    const run = await runMain(copy.ws, { ...connection('statefile/'), 'dry-run': 'true' });
    expectSuccess(run);
    expect(run.stdout).toMatch(/::warning::.*move the state with the `state-path` input to publish the file/);
    const page = workspace({ 'index.html': 'x', '.ftpship-state.json': 'y' });
    const error = theError(await runMain(page.ws, { ...connection('statefile2/'), 'dry-run': 'true' }));
    expect(error).toMatch(
      /which the state would replace on the server; give the `state-path` input another path/,
    );
  });

  it('an invalid tls-name reads as the other invalid inputs do', async () => {
    const { ws } = workspace({ 'index.html': 'x' });
    const error = theError(await runMain(ws, { ...connection('tlsname/'), 'tls-name': 'bad name' }));
    expect(error).toMatch(/^::error::invalid tls-name "bad name"; give a host name/);
  });
});

describe('inputs are checked when read, each with one line naming the input and the value', () => {
  const cases: Array<{ title: string; inputs: Record<string, string>; error: RegExp }> = [
    {
      title: 'a boolean that is not true or false',
      inputs: { 'dry-run': 'yes' },
      error: /^::error::invalid dry-run "yes"; use true or false$/,
    },
    {
      // Before: no unit in the message.
      title: 'a timeout written in seconds: the unit is named',
      inputs: { timeout: '30s' },
      error:
        /^::error::invalid timeout "30s"; use a whole number from 100 to 3600000 \(milliseconds: 30000 is 30 s\)$/,
    },
    {
      // Before: `invalid port "\"21\""; use a whole number`, without why a number has quotes.
      title: 'a port in quotes (a variable or secret saved with them): the input and why',
      inputs: { port: '"21"' },
      error:
        /^::error::the `port` input is in quotes \("21"\), which would be part of it: remove them \(a repository secret or variable set with quotes keeps them/,
    },
    {
      title: 'server with a port in it',
      inputs: { server: '127.0.0.1:2121' },
      error: /^::error::invalid server "127\.0\.0\.1:2121": put the port in the `port` input \(port: 2121\)/,
    },
    {
      title: 'protocol SFTP in upper case',
      inputs: { protocol: 'SFTP' },
      error: /protocol SFTP is file transfer over SSH, which ftpship does not speak/,
    },
    {
      title: 'an empty username (a secret not set): what to set, and why it may read as empty',
      inputs: { username: '' },
      error:
        /^::error::Input required and not supplied: username\. Set it to the FTP user \(username: deploy, or username: \$\{\{ secrets\.FTP_USERNAME \}\}\); a secret that is not set reads as empty/,
    },
    {
      title: 'an empty server: what to set',
      inputs: { server: '' },
      error:
        /^::error::Input required and not supplied: server\. Set it to the FTP host \(server: ftp\.example\.com/,
    },
    {
      title: 'server with a folder in it: the folder goes in server-dir',
      inputs: { server: '127.0.0.1/public_html/' },
      error:
        /^::error::invalid server "127\.0\.0\.1\/public_html\/": give the host alone \(127\.0\.0\.1\); the folder goes in the `server-dir` input \(server-dir: public_html\/\)$/,
    },
    {
      // It went ahead, into folders named `ftp:` and the host on the server.
      title: 'server-dir written as a URL: the folder alone, without the user and password',
      inputs: { 'server-dir': 'ftps://bob:secret@127.0.0.1/public_html/' },
      error:
        /^::error::invalid server-dir "ftps:\/\/…\/public_html\/": give the folder alone \(server-dir: public_html\/\); the host goes in `server`, the port in `port`, and TLS in `protocol`$/,
    },
    {
      // Before: "invalid server (not shown: … may be a password)", for a URL with a slash or its colon missing.
      title: 'server written as a URL with a slash missing (ftp:/host): the host alone',
      inputs: { server: 'ftp:/ftp.example.com/www' },
      error:
        /^::error::invalid server "ftp:\/ftp\.example\.com\/www": give the host name only \(server: ftp\.example\.com\) and set `protocol`, `port` and `server-dir` apart$/,
    },
    {
      title: 'server written as a URL with its colon missing (ftps//host)',
      inputs: { server: 'ftps//127.0.0.1' },
      error:
        /^::error::invalid server "ftps\/\/127\.0\.0\.1": give the host name only \(server: 127\.0\.0\.1\)/,
    },
    {
      // Before: "give the host name only (e.g. ftp.example.com)", the host in the URL not named.
      title: 'server written as a URL: the host alone, named',
      inputs: { server: 'ftps://127.0.0.1:2121/www' },
      error:
        /^::error::invalid server "ftps:\/\/127\.0\.0\.1:2121\/www": give the host name only \(server: 127\.0\.0\.1\) and set `protocol`, `port` and `server-dir` apart$/,
    },
    {
      title: 'server with a trailing slash',
      inputs: { server: '127.0.0.1/' },
      error: /^::error::invalid server "127\.0\.0\.1\/": give the host alone \(127\.0\.0\.1\)$/,
    },
    {
      title: 'files that match nothing: the input, the folder, and what to write',
      inputs: { files: 'dist/**/*.html' },
      error:
        /^::error::the `files` input matches no file in \S+public \(after `exclude`\): dist\/\*\*\/\*\.html; write the patterns relative to local-dir \(e\.g\. \*\*\/\*\.html\)$/,
    },
    {
      title: 'files with only `!` lines: they select nothing, they only leave out',
      inputs: { files: '!**/*.map' },
      error:
        /^::error::the `files` input matches no file in \S+public \(after `exclude`\): !\*\*\/\*\.map; .*a line starting with ! only leaves out files the lines before it selected: begin with \*\* to publish everything but them$/,
    },
    {
      // Before: `user "de\nmo" holds CR, LF or NUL` and `remoteDir "…"`, the library's option names.
      title: 'a username with a line break inside (a secret saved with two lines): the `username` input',
      inputs: { username: 'de\nmo' },
      error:
        /^::error::the `username` input "de\\nmo" holds CR, LF or NUL, which FTP cannot send \(a line break ends a command\); remove them/,
    },
    {
      title: 'a server-dir with a line break inside: the `server-dir` input',
      inputs: { 'server-dir': 'www\nold' },
      error: /^::error::the `server-dir` input "www\\nold" holds CR, LF or NUL, which FTP cannot send/,
    },
    {
      title: 'a state-path with a line break inside: the `state-path` input',
      inputs: { 'state-path': 'state\n.json' },
      error: /^::error::the `state-path` input "state\\n\.json" holds CR, LF or NUL, which FTP cannot send/,
    },
    {
      title: 'a password with a line break inside',
      inputs: { password: 'pass\nword' },
      error: /^::error::the `password` input holds a line break or NUL inside it/,
    },
  ];
  it.each(cases)('$title', async ({ inputs, error }) => {
    const { ws } = workspace({ 'index.html': 'x' });
    const run = await runMain(ws, { ...connection('badinput/'), ...inputs });
    expect(theError(run)).toMatch(error);
    expect(run.stdout).not.toContain('pass\nword');
    expect(fs.existsSync(path.join(srv.root, 'badinput'))).toBe(false);
  });

  it('protocol is matched case-insensitively: FTP is ftp', async () => {
    const { ws } = workspace({ 'index.html': 'x' });
    expectSuccess(await runMain(ws, { ...connection('upper/'), protocol: 'FTP', 'dry-run': 'true' }));
  });

  it('a password secret ending in a newline is trimmed (FTP-Deploy-Action did the same)', async () => {
    const { ws } = workspace({ 'index.html': 'x' });
    expectSuccess(await runMain(ws, { ...connection('trimmed/'), password: `${srv.password}\n` }));
  });

  it('server [::1]: the brackets of an IPv6 literal are taken off', async () => {
    const fake = await startFakeServer({ host: '::1' });
    try {
      const { ws } = workspace({ 'index.html': 'x' });
      const run = await runMain(ws, {
        server: '[::1]',
        port: String(fake.port),
        username: 'u',
        password: 'p',
        'local-dir': 'public/',
        'dry-run': 'true',
      });
      expectSuccess(run);
      expect(run.summary).toContain('Target: `server-dir` <code>./</code> (`protocol: ftp`)');
      // The plan file, for later steps, hides the host, brackets and all.
      expect(JSON.parse(fs.readFileSync(run.outputs.plan, 'utf8'))).toMatchObject({
        target: 'ftp://***/',
      });
    } finally {
      await fake.close();
    }
  });
});

describe('protocol: ftps against a server that refuses AUTH TLS (G5: never a downgrade)', () => {
  it('fails before the login is sent, naming `protocol: ftp` as the way to go unencrypted (was: "Use ftp://", the CLI\'s URL)', async () => {
    const fake = await startFakeServer({});
    try {
      const { ws } = workspace({ 'index.html': 'x' });
      const run = await runMain(ws, {
        server: '127.0.0.1',
        port: String(fake.port),
        username: 'u',
        password: 'p',
        protocol: 'ftps',
        'local-dir': 'public/',
        'dry-run': 'true',
      });
      expect(theError(run)).toMatch(
        /refused TLS \(AUTH TLS: 502 .*\); ftpship never falls back to plain FTP\. Set `protocol: ftp` only if you accept an unencrypted connection\.$/,
      );
      expect(fake.commands).toEqual(['AUTH TLS']);
    } finally {
      await fake.close();
    }
  });
});

describe('ca and insecure', () => {
  it.each([
    ['garbage', 'not a certificate'],
    ['a private key', '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n'],
  ])('a ca file holding %s is refused when read, naming the input and the file', async (_t, content) => {
    const { ws } = workspace({ 'index.html': 'x' });
    fs.writeFileSync(path.join(ws, 'ca.pem'), content);
    const run = await runMain(ws, { ...connection('badca/'), protocol: 'ftps', ca: 'ca.pem' });
    expect(theError(run)).toMatch(
      /^::error::the `ca` input: "ca\.pem" holds no PEM certificate .*give the CA certificate in PEM form/,
    );
  });

  it('a ca file holding a PEM certificate is accepted', async () => {
    const { ws } = workspace({ 'index.html': 'x' });
    fs.writeFileSync(path.join(ws, 'ca.pem'), selfSignedCert().cert);
    expectSuccess(await runMain(ws, { ...connection('goodca/'), ca: 'ca.pem', 'dry-run': 'true' }));
  });

  it('with protocol ftp, a ca that is not a certificate is only warned about (it is not used)', async () => {
    const { ws } = workspace({ 'index.html': 'x' });
    fs.writeFileSync(path.join(ws, 'ca.pem'), 'not a certificate');
    const run = await runMain(ws, { ...connection('plainbadca/'), ca: 'ca.pem', 'dry-run': 'true' });
    expectSuccess(run);
    expect(run.stdout).toMatch(/::warning::protocol ftp is not encrypted .*the `ca` input has no effect/);
  });

  it.each<Record<string, string>>([{ insecure: 'true' }, { security: 'loose' }, { ca: 'ca.pem' }])(
    'with protocol ftp, %p warns that the connection is not encrypted and the input has no effect',
    async (inputs) => {
      const { ws } = workspace({ 'index.html': 'x' });
      fs.writeFileSync(path.join(ws, 'ca.pem'), selfSignedCert().cert);
      const run = await runMain(ws, { ...connection('plainca/'), ...inputs, 'dry-run': 'true' });
      expectSuccess(run);
      const warnings = run.stdout.split('\n').filter((l) => l.startsWith('::warning::'));
      expect(warnings).toEqual([
        expect.stringMatching(
          /^::warning::protocol ftp is not encrypted \(the password and files go in clear\): the `(insecure|security|ca)` input has no effect/,
        ),
      ]);
    },
  );
});

describe('files with exclude: the exclude globs read as they do without files', () => {
  it('a basename glob at any depth, a folder name, and a `!` take-back pick the same files with files: ** as without', async () => {
    const { ws, site } = workspace({
      'index.html': 'i',
      'app.js': 'j',
      'assets/app.js.map': 'm',
      'keep.map': 'k',
      'node_modules/x/y.js': 'y',
    });
    const exclude = '*.map\n!keep.map\nnode_modules';
    expectSuccess(await runMain(ws, { ...connection('excl-scan/'), exclude }));
    expectSuccess(await runMain(ws, { ...connection('excl-files/'), exclude, files: '**' }));
    const local = readTree(site);
    const picked = Object.fromEntries(['app.js', 'index.html', 'keep.map'].map((p) => [p, local[p]]));
    const remote = (dir: string): Record<string, string> =>
      readTree(path.join(srv.root, dir), ['.ftpship-state.json']);
    expect(remote('excl-scan')).toEqual(picked);
    expect(remote('excl-files')).toEqual(picked);
  });
});

describe('files with exclude: `build/` leaves out folders named build only, as without files', () => {
  it('a file named build is published, a folder build is not, with files: ** as without', async () => {
    const { ws, site } = workspace({ 'index.html': 'i', build: 'a file', 'out/build/x.js': 'x' });
    const exclude = 'build/';
    expectSuccess(await runMain(ws, { ...connection('excl-dir-scan/'), exclude }));
    expectSuccess(await runMain(ws, { ...connection('excl-dir-files/'), exclude, files: '**' }));
    const local = readTree(site);
    const picked = Object.fromEntries(['build', 'index.html'].map((p) => [p, local[p]]));
    const remote = (dir: string): Record<string, string> =>
      readTree(path.join(srv.root, dir), ['.ftpship-state.json']);
    expect(remote('excl-dir-scan')).toEqual(picked);
    expect(remote('excl-dir-files')).toEqual(picked);
  });
});

describe('files: a file become a link out of local-dir is skipped and kept, as in the walk of a folder', () => {
  it('warns, and the copy deployed earlier stays on the server and in the state (was: deleted as an orphan)', async () => {
    const { ws, site } = workspace({ 'index.html': 'i', 'secret.txt': 'deployed earlier' });
    expectSuccess(await runMain(ws, { ...connection('files-link-out/'), files: '**' }));
    const outside = path.join(tmpDir('h-action2-out-'), 'passwd');
    fs.writeFileSync(outside, 'not to publish');
    fs.rmSync(path.join(site, 'secret.txt'));
    fs.symlinkSync(outside, path.join(site, 'secret.txt'));
    const run = await runMain(ws, { ...connection('files-link-out/'), files: '**' });
    expectSuccess(run);
    const remote = path.join(srv.root, 'files-link-out');
    expect(fs.readFileSync(path.join(remote, 'secret.txt'), 'utf8')).toBe('deployed earlier');
    const state = JSON.parse(fs.readFileSync(path.join(remote, '.ftpship-state.json'), 'utf8')) as {
      files: Record<string, unknown>;
    };
    expect(Object.keys(state.files).sort()).toEqual(['index.html', 'secret.txt']);
    expect(run.outputs.deleted).toBe('0');
    expect(logLines(run)).toContain(
      '::warning::skipped secret.txt: symlink pointing outside local-dir (not followed)',
    );
  });
});

describe('the target in the plan file, summary-file and job summary: no user, no host', () => {
  it('a username kept in a secret is not in a file a later step posts as a comment (was: ftp://user@host/dir)', async () => {
    const { ws } = workspace({ 'a.html': 'a' });
    const run = await runMain(ws, { ...connection('no-user/'), 'dry-run': 'true' });
    expectSuccess(run);
    const report = JSON.parse(fs.readFileSync(run.outputs.plan, 'utf8')) as DeployReport;
    const comment = fs.readFileSync(run.outputs['summary-file'], 'utf8');
    for (const text of [JSON.stringify(report), comment, run.summary])
      expect(text).not.toContain(`${srv.user}@`);
  });

  it('a server kept in a secret is in none of the plan file, the summary-file (masked by nothing) and the job summary (where the runner would miss it escaped) (was: the host in all three)', async () => {
    const { ws } = workspace({ 'a.html': 'a' });
    const run = await runMain(ws, { ...connection('no-host/'), 'dry-run': 'true' });
    expectSuccess(run);
    const report = JSON.parse(fs.readFileSync(run.outputs.plan, 'utf8')) as DeployReport;
    expect(report.target).toBe('ftp://***/no-host');
    const comment = fs.readFileSync(run.outputs['summary-file'], 'utf8');
    const target = 'Target: `server-dir` <code>no-host</code> (`protocol: ftp`)';
    expect(comment).toContain(target);
    expect(run.summary).toContain(target);
    for (const text of [fs.readFileSync(run.outputs.plan, 'utf8'), comment, run.summary])
      expect(text).not.toContain(srv.host);
  });
});

describe('an empty password input (a secret not set, or a pull_request from a fork: no secrets)', () => {
  it('fails with one error naming the input and both causes; nothing is sent', async () => {
    const { ws } = workspace({ 'index.html': 'x' });
    const run = await runMain(ws, { ...connection('nopass/'), password: '', 'dry-run': 'true' });
    const error = theError(run);
    expect(error).toMatch(/the `password` input is empty/);
    expect(error).toMatch(/secrets\.FTP_PASSWORD/);
    expect(error).toMatch(/fork/);
    expect(fs.existsSync(path.join(srv.root, 'nopass'))).toBe(false);
  });
});

describe('an empty secret in a run that gets none: the error says why for this run', () => {
  it('a pull_request from a fork: names the fork and the condition that runs the preview for this repository only (was: "a secret not set, or a fork")', async () => {
    const { ws } = workspace({ 'index.html': 'x' });
    const event = path.join(tmpDir('ftpship-event-'), 'event.json');
    fs.writeFileSync(
      event,
      JSON.stringify({ pull_request: { head: { repo: { full_name: 'someone/site' } } } }),
    );
    const env = {
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_EVENT_PATH: event,
      GITHUB_REPOSITORY: 'owner/site',
    };
    const run = await runMain(ws, { ...connection('fork/'), password: '', 'dry-run': 'true' }, env);
    expect(theError(run)).toMatch(
      /^::error::the `password` input is empty: .*This run is for a pull request from the fork someone\/site, which GitHub gives no secrets: .*head\.repo\.full_name == github\.repository\)$/,
    );
    // A branch of this repository, and pull_request_target (given the secrets): the secret is not set.
    for (const [name, head] of [
      ['pull_request', 'owner/site'],
      ['pull_request_target', 'someone/site'],
    ]) {
      fs.writeFileSync(event, JSON.stringify({ pull_request: { head: { repo: { full_name: head } } } }));
      const other = await runMain(
        ws,
        { ...connection('fork/'), password: '', 'dry-run': 'true' },
        {
          ...env,
          GITHUB_EVENT_NAME: name,
        },
      );
      expect(theError(other)).not.toContain('This run');
    }
    expect(fs.existsSync(path.join(srv.root, 'fork'))).toBe(false);
  });

  it('a dry run from a fork with every secret empty: says a dry run needs the credentials too, and how to skip the step (was: silent on dry runs)', async () => {
    const { ws } = workspace({ 'index.html': 'x' });
    const event = path.join(tmpDir('ftpship-event-'), 'event.json');
    fs.writeFileSync(
      event,
      JSON.stringify({ pull_request: { head: { repo: { full_name: 'someone/site' } } } }),
    );
    const env = {
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_EVENT_PATH: event,
      GITHUB_REPOSITORY: 'owner/site',
    };
    const empty = { server: '', username: '', password: '' };
    const preview = { ...connection('fork-dry/'), ...empty, 'dry-run': 'true' };
    const run = await runMain(ws, preview, env);
    expect(theError(run)).toMatch(
      /^::error::the `password` input is empty: .*A dry run needs the server, user and password too: it logs in to read what the server holds\. This run is for a pull request from the fork someone\/site, which GitHub gives no secrets: .*\(if: github\.event\.pull_request\.head\.repo\.full_name == github\.repository\)$/,
    );
    expect(theError(run)).not.toMatch(/check the user|check the `username`/);
    // The password set, the server's secret empty: the same words for that input.
    const noServer = await runMain(ws, { ...preview, password: srv.password }, env);
    expect(theError(noServer)).toMatch(
      /^::error::Input required and not supplied: server\. .*A dry run needs the server, user and password too: .*fork someone\/site/,
    );
    // Not a dry run: nothing about dry runs.
    const deploy = await runMain(ws, { ...connection('fork-dry/'), ...empty }, env);
    expect(theError(deploy)).not.toMatch(/dry run/i);
    expect(fs.existsSync(path.join(srv.root, 'fork-dry'))).toBe(false);
  });

  it('a run Dependabot started (given the Dependabot secrets only, from a branch of this repository): says so (was: blamed a fork)', async () => {
    const { ws } = workspace({ 'index.html': 'x' });
    const run = await runMain(
      ws,
      { ...connection('dependabot/'), server: '', 'dry-run': 'true' },
      {
        GITHUB_ACTOR: 'dependabot[bot]',
      },
    );
    expect(theError(run)).toMatch(
      /^::error::Input required and not supplied: server\. .*This run was started by Dependabot, which is given the Dependabot secrets, not the Actions ones: .*if: github\.actor != 'dependabot\[bot\]'\)$/,
    );
  });
});

describe('a password given as the server input (no URL, no host name in it) is never printed', () => {
  it.each([['S3cr3t!pass'], ['p@ssw0rd'], ['pa:ss/word'], ['two words']])(
    '%s: one error naming the input and what goes where, without the value (was: echoed, or a piece of it)',
    async (server) => {
      const { ws } = workspace({ 'index.html': 'x' });
      const run = await runMain(ws, { ...connection('pw-as-server/'), server });
      expect(theError(run)).toBe(
        '::error::invalid server (not shown: it is not a host name alone, and may be a password): give the host name alone, ' +
          'e.g. server: ftp.example.com; the password goes in the `password` input, from a repository secret',
      );
      expect(fs.existsSync(path.join(srv.root, 'pw-as-server'))).toBe(false);
    },
  );
});

describe('a password written into the server input (a URL, or user:password@host) is never printed', () => {
  it.each([
    [
      'a URL',
      'ftp://bob:Zq8-wmX2@ftp.example.com/www',
      // Before: "(e.g. ftp.example.com)", and no word of where the user and password go.
      /^::error::invalid server "ftp:\/\/bob:\*\*\*@ftp\.example\.com\/www": give the host name only \(server: ftp\.example\.com\) and set `protocol`, `port` and `server-dir` apart; the user name goes in the `username` input, and the password in `password`, from a repository secret$/,
    ],
    [
      'user:password@host',
      'bob:Zq8-wmX2@127.0.0.1',
      /^::error::invalid server "bob:\*\*\*@127\.0\.0\.1": give the host alone \(127\.0\.0\.1\).*`username`.*`password`/,
    ],
    [
      'user@host:port',
      'bob:Zq8-wmX2@127.0.0.1:21',
      /^::error::invalid server "bob:\*\*\*@127\.0\.0\.1:21": give the host alone \(127\.0\.0\.1\)/,
    ],
    [
      'an encoded password',
      'ftp://bob:Zq8%2DwmX2@ftp.example.com',
      /^::error::invalid server "ftp:\/\/bob:\*\*\*@ftp\.example\.com"/,
    ],
  ])(
    '%s: one error with *** for it, masked for the runner first; nothing sent',
    async (_what, server, error) => {
      const { ws } = workspace({ 'index.html': 'x' });
      const run = await runMain(ws, { ...connection('pw-in-server/'), server });
      expect(theError(run)).toMatch(error);
      // The only lines holding it are the runner's mask commands, printed before it could appear anywhere else.
      const lines = logLines(run).filter((l) => /Zq8-wmX2|Zq8%2DwmX2/.test(l));
      expect(lines.length).toBeGreaterThan(0);
      for (const l of lines) expect(l).toMatch(/^::add-mask::/);
      expect(lines).toContain('::add-mask::Zq8-wmX2');
      expect(fs.existsSync(path.join(srv.root, 'pw-in-server'))).toBe(false);
    },
  );
});

describe('summary-file fits a pull-request comment (GitHub takes at most 65,536 characters)', () => {
  it('a preview of many files lists fewer there, counting the rest; the job summary keeps its longer lists', async () => {
    const files: Record<string, string> = {};
    const dir = 'assets/images/gallery/2026/summer-holiday-in-the-mountains/originals-from-the-camera';
    for (let i = 0; i < 600; i++) files[`${dir}/photo-${String(i).padStart(4, '0')}-full-size.webp`] = `${i}`;
    const { ws } = workspace(files);
    const run = await runMain(ws, { ...connection('pr-comment/'), 'dry-run': 'true' });
    expectSuccess(run);
    const comment = fs.readFileSync(run.outputs['summary-file'], 'utf8');
    expect(comment.length).toBeLessThanOrEqual(65_536);
    expect(comment).toMatch(/<details><summary>606 other changes<\/summary>/);
    expect(comment).toMatch(/- … and \d+ more \(the full list is in the `plan` output file\)/);
    expect(comment).toContain(`upload <code>${dir}/photo-0000-full-size.webp</code>`);
    // The job summary holds 1 MiB: it lists 500, as before.
    expect(run.summary.length).toBeGreaterThan(65_536);
    expect(run.summary).toContain('- … and 106 more (the full list is in the `plan` output file)');
  });
});

describe('verify (FIELD.md #6: drift): the warning about files removed by hand names an input the Action has', () => {
  it('a deployed folder removed by hand: the warning says to set `verify`; verify: true then sends back the rest', async () => {
    // Enough files that the few a deploy looks at before trusting its state (spread over the sorted list)
    // miss z/: only a look at every folder finds y.txt gone.
    const files: Record<string, string> = { 'z/x.txt': 'x', 'z/y.txt': 'y' };
    for (let i = 0; i < 20; i++) files[`p${String(i).padStart(2, '0')}.html`] = `page ${i}`;
    const { ws, site } = workspace(files);
    expectSuccess(await runMain(ws, connection('verify-by-hand/')));
    const disk = path.join(srv.root, 'verify-by-hand');
    fs.rmSync(path.join(disk, 'z'), { recursive: true });
    fs.writeFileSync(path.join(site, 'z/x.txt'), 'x2');

    const again = await runMain(ws, connection('verify-by-hand/'));
    expectSuccess(again);
    const warnings = logLines(again).filter((l) => l.startsWith('::warning::'));
    expect(warnings).toEqual([
      expect.stringMatching(
        /^::warning::the folder z was not on the server .* deploy once with the `verify` input to find and send them$/,
      ),
    ]);
    expect(fs.existsSync(path.join(disk, 'z/y.txt'))).toBe(false);

    // z/y.txt left the state with its folder (G4): sent as new, whether or not verify is set.
    const verified = await runMain(ws, { ...connection('verify-by-hand/'), verify: 'true' });
    expectSuccess(verified);
    expect(logLines(verified).filter((l) => l.startsWith('::warning::'))).toEqual([]);
    expect(verified.outputs.uploaded).toBe('1');
    expect(readTree(disk, ['.ftpship-state.json'])).toEqual(readTree(site));
  });
});

describe('server-dir: // is the server root, as ftp://host// is in the CLI', () => {
  it('with a login folder that is not /: // and / both deploy to the root (was: // went to the login folder)', async () => {
    const home = await embedded({ loginFolder: '/home/demo' });
    try {
      fs.mkdirSync(path.join(home.root, 'home/demo'), { recursive: true });
      const { ws, site } = workspace({ 'index.html': 'root page' });
      expect(parseTarget(`ftp://demo@127.0.0.1:${home.port}//`).remoteDir).toBe('/');
      const first = await runMain(ws, actionConnection(home, '//'));
      expectSuccess(first);
      expect(readTree(home.root, ['.ftpship-state.json', 'home'])).toEqual(readTree(site));
      expect(fs.readdirSync(path.join(home.root, 'home/demo'))).toEqual([]);
      // The same folder as `/`: nothing to send again.
      const again = await runMain(ws, actionConnection(home, '/'));
      expectSuccess(again);
      expect(again.outputs).toMatchObject({ uploaded: '0', unchanged: '1' });
    } finally {
      await home.close();
    }
  });
});
