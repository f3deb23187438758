/**
 * The maintenance hook (`maintenanceUrl`, CLI `--maintenance-url`, Action `maintenance-url`, gulp
 * `maintenanceUrl`): a POST to the site's owner as live files start to change, once they are done, and when
 * the deploy fails in between (FIELD.md §4 wish 14). ftp-srv in-process and an in-process HTTP server that
 * records each request and looks at the FTP server's files on disk as it arrives. The timing on a real server:
 * maintenance-hook.realservers.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import gulp from 'gulp';
import { CancelledError, ConfigError, deploy, DeployError, type DeployOptions } from '../src/index.js';
import { deploy as gulpDeploy } from '../gulp-plugin/index.js';
import type { EmbeddedServer } from '../src/embedded-server.js';
import { actionConnection, actionWorkspace, expectSuccess, runAction } from './helpers/action.js';
import { runCli } from './helpers/cli.js';
import { deployOptions, embeddedFailing, login } from './helpers/embedded.js';
import { hookServer, type HookServer } from './helpers/hook-server.js';
import { recorder } from './helpers/protocol.js';
import { readTree, tmpDir, uniqueName, writeTree } from './helpers/tmp.js';
import { TEMP_NAME } from '../src/engine/state.js';

let srv: EmbeddedServer;
let hook: HookServer;
/** An upload to a path ending in this fails on the server's side (a full disk). */
let failOn: string | undefined;
beforeAll(async () => {
  srv = await embeddedFailing(() => failOn);
  hook = await hookServer();
});
afterAll(async () => {
  await hook.close();
  await srv.close();
});

const STATE = '.ftpship-state.json';
const MARKER = '.maintenance';
const TOKEN = 's3cr3t-t0ken-4711';
const hookUrl = (): string => `${hook.base}/hooks/deploy?token=${TOKEN}`;
const opts = (localDir: string, remoteDir: string, extra: Partial<DeployOptions> = {}): DeployOptions =>
  deployOptions(srv, localDir, remoteDir, { retries: 0, maintenanceUrl: hookUrl(), ...extra });

/** The site's files on the server's disk, as text: not the state, the lock, temporary copies or the marker. */
function live(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (abs: string, rel: string): void => {
    for (const e of fs.readdirSync(abs, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.name.startsWith(STATE) || TEMP_NAME.test(e.name) || r === MARKER) continue;
      if (e.isDirectory()) walk(path.join(abs, e.name), r);
      else out[r] = fs.readFileSync(path.join(abs, e.name), 'utf8');
    }
  };
  walk(path.join(srv.root, dir), '');
  return out;
}

/** A fresh hook log; the server answers as `answer` says, and each request notes the site's files on disk. */
function listen(dir: string, answer: HookServer['answer'] = () => 204): void {
  hook.requests = [];
  hook.answer = answer;
  hook.onRequest = () => ({
    files: live(dir),
    marker: fs.existsSync(path.join(srv.root, dir, MARKER)),
  });
}
const events = (): Array<string | undefined> => hook.requests.map((r) => r.body.event);

/** A site deployed once (v1, with old.php), then changed locally: the next deploy replaces, adds and deletes. */
async function deployedSite(dir: string): Promise<{ local: string; before: Record<string, string> }> {
  const local = tmpDir();
  writeTree(local, { 'index.php': 'v1', 'lib/a.php': 'a1', 'old.php': 'old' });
  await deploy(opts(local, dir, { maintenanceUrl: undefined }));
  const before = live(dir);
  writeTree(local, { 'index.php': 'v2', 'lib/a.php': 'a2', 'new.php': 'new' });
  fs.rmSync(path.join(local, 'old.php'));
  return { local, before };
}

describe('maintenance hook', () => {
  it('start before the first live change (marker not up yet), end after the last (marker down); JSON with the target and counts, a User-Agent; the token never in a message', async () => {
    const dir = `/${uniqueName('h-hook')}`;
    const { local, before } = await deployedSite(dir);
    listen(dir);
    const rec = recorder();
    const infos: string[] = [];
    const report = await deploy(opts(local, dir, { maintenance: { path: MARKER } }), {
      ...rec,
      info: (m) => infos.push(m),
    });
    expect(events()).toEqual(['start', 'end']);
    const [start, end] = hook.requests;
    // At "start" the live files are the old ones (the new file went up before, with the site online).
    expect(start.seen).toEqual({ files: { ...before, 'new.php': 'new' }, marker: false });
    expect(before).toEqual({ 'index.php': 'v1', 'lib/a.php': 'a1', 'old.php': 'old' });
    expect(end.seen).toEqual({
      files: { 'index.php': 'v2', 'lib/a.php': 'a2', 'new.php': 'new' },
      marker: false,
    });
    for (const r of hook.requests) {
      expect(r.method).toBe('POST');
      expect(r.url).toBe(`/hooks/deploy?token=${TOKEN}`);
      expect(r.headers['content-type']).toBe('application/json');
      const { version } = JSON.parse(fs.readFileSync('package.json', 'utf8')) as { version: string };
      expect(r.headers['user-agent']).toBe(`ftpship/${version}`);
      expect(r.body.target).toBe(report.target);
      expect(r.body.counts).toEqual(report.counts);
    }
    expect(report.target).not.toContain(srv.password);
    expect(start.body.counts).toMatchObject({ upload: 1, replace: 2, delete: 1 });
    expect(infos).toContain(`maintenance hook ${hook.base}/hooks/deploy: answered 204 No Content to "start"`);
    const said = JSON.stringify([rec.log, rec.warnings, infos, report]);
    expect(said).not.toContain(TOKEN);
  });

  it('no call on a deploy with nothing to change, a dry run, or one that only adds files', async () => {
    const dir = `/${uniqueName('h-hook')}`;
    const { local } = await deployedSite(dir);
    listen(dir);
    await deploy(opts(local, dir, { dryRun: true }));
    await deploy(opts(local, dir, { maintenanceUrl: undefined }));
    await deploy(opts(local, dir)); // nothing to do
    writeTree(local, { 'added.php': 'x' });
    await deploy(opts(local, dir)); // a new file only: no live file changes (as the marker)
    expect(hook.requests).toEqual([]);
  });

  it('start answered 503: refused before any live change (asked once), exit 1 naming the URL without its token and the status', async () => {
    const dir = `/${uniqueName('h-hook')}`;
    const { local, before } = await deployedSite(dir);
    listen(dir, () => 503);
    const err = await deploy(opts(local, dir, { maintenance: { path: MARKER }, retries: 3 })).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DeployError);
    const message = (err as Error).message;
    expect(message).toContain(
      `the maintenance hook ${hook.base}/hooks/deploy answered 503 Service Unavailable to "start"`,
    );
    expect(message).toContain('deploy without --maintenance-url');
    expect(message).not.toContain(TOKEN);
    expect(events()).toEqual(['start']); // no retry of an answer, no "failed" for a deploy that never started
    expect(live(dir)).toEqual({ ...before, 'new.php': 'new' }); // nothing replaced or deleted
    expect(fs.existsSync(path.join(srv.root, dir, MARKER))).toBe(false);
    // atomic: false asks before its first write: no file of the site is sent, deleted or renamed.
    writeTree(local, { 'later.php': 'later' });
    listen(dir, () => 503);
    const rec = recorder();
    const inPlace = await deploy(opts(local, dir, { atomic: false }), rec).catch((e: unknown) => e);
    expect((inPlace as Error).message).toContain('answered 503 Service Unavailable to "start"');
    expect(events()).toEqual(['start']);
    expect(live(dir)).toEqual({ ...before, 'new.php': 'new' });
    expect(rec.log.filter((l) => /^> (STOR|APPE|DELE|RNFR|RMD) /.test(l) && !l.includes(STATE))).toEqual([]);
    // The rerun, with the hook saying yes, finishes the deploy.
    listen(dir);
    await deploy(opts(local, dir, { maintenance: { path: MARKER } }));
    expect(events()).toEqual(['start', 'end']);
    expect(readTree(path.join(srv.root, dir), [STATE])).toEqual(readTree(local));
  });

  it('end answered 500: a warning that the owner may still be in maintenance; the deploy succeeds', async () => {
    const dir = `/${uniqueName('h-hook')}`;
    const { local } = await deployedSite(dir);
    listen(dir, (event) => (event === 'end' ? 500 : 200));
    const report = await deploy(opts(local, dir));
    expect(events()).toEqual(['start', 'end']);
    expect(report.warnings).toEqual([
      `the maintenance hook ${hook.base}/hooks/deploy answered 500 Internal Server Error to "end": the deploy itself ` +
        `is done, but the hook's owner may still be in maintenance mode; end it there by hand (check the hook and its server)`,
    ]);
    expect(readTree(path.join(srv.root, dir), [STATE])).toEqual(readTree(local));
  });

  it('a deploy that fails after start sends "failed" with the error (the marker stays up, as without the hook)', async () => {
    const dir = `/${uniqueName('h-hook')}`;
    const { local } = await deployedSite(dir);
    listen(dir);
    failOn = 'new.php';
    let err: unknown;
    try {
      err = await deploy(opts(local, dir, { atomic: false, maintenance: { path: MARKER } })).catch(
        (e: unknown) => e,
      );
    } finally {
      failOn = undefined;
    }
    expect(err).toBeInstanceOf(DeployError);
    expect(events()).toEqual(['start', 'failed']);
    const failed = hook.requests[1];
    expect(failed.body.error).toBe((err as Error).message.split('\n')[0]);
    expect(failed.body.error).toContain('new.php');
    expect(failed.seen).toMatchObject({ marker: true });
    // --no-atomic: "start" came before the first upload, the marker after it.
    expect(hook.requests[0].seen).toMatchObject({ marker: false, files: { 'index.php': 'v1' } });
  });

  it('a connection cut before the answer is asked again (at most twice); an unreachable hook stops the deploy', async () => {
    const dir = `/${uniqueName('h-hook')}`;
    const { local } = await deployedSite(dir);
    listen(dir, (_event, n) => (n === 1 ? 'cut' : 204));
    await deploy(opts(local, dir, { retries: 5 }));
    expect(events()).toEqual(['start', 'start', 'end']);
    writeTree(local, { 'index.php': 'v3' });
    listen(dir, () => 'cut');
    const err = await deploy(opts(local, dir, { retries: 5 })).catch((e: unknown) => e);
    expect(events()).toEqual(['start', 'start', 'start']);
    expect((err as Error).message).toMatch(
      /^the maintenance hook http:\/\/127\.0\.0\.1:\d+\/hooks\/deploy could not be reached to say "start" \(.*; asked 3 times\): the deploy stopped before changing any live file/,
    );
    expect(fs.readFileSync(path.join(srv.root, dir, 'index.php'), 'utf8')).toBe('v2');
    // No answer within the deploy's timeout: not asked again (the wait would only grow); the hook may have
    // had it, so it is told "failed" (best effort: unanswered too, a warning).
    listen(dir, () => 'hang');
    const rec = recorder();
    const slow = await deploy(opts(local, dir, { retries: 5, timeoutMs: 1000 }), rec).catch(
      (e: unknown) => e,
    );
    expect(events()).toEqual(['start', 'failed']);
    expect(rec.warnings).toContain(
      `the maintenance hook ${hook.base}/hooks/deploy gave no answer to "failed" within 1000 ms: the hook's owner may ` +
        `still be in maintenance mode; end it there by hand once the site is deployed`,
    );
    expect((slow as Error).message).toContain(
      `the maintenance hook ${hook.base}/hooks/deploy gave no answer to "start" within 1000 ms: the deploy stopped`,
    );
    expect((slow as Error).message).toContain('raise --timeout');
  });

  it('a deploy cancelled while "start" is on its way stops with nothing live changed, and tells the hook "failed"', async () => {
    const dir = `/${uniqueName('h-hook')}`;
    const { local, before } = await deployedSite(dir);
    const stop = new AbortController();
    listen(dir);
    hook.onRequest = (body) => {
      if (body.event === 'start') stop.abort('stop now');
      return live(dir);
    };
    const err = await deploy(opts(local, dir, { signal: stop.signal })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CancelledError);
    expect(events()).toEqual(['start', 'failed']);
    expect(hook.requests[1].body.error).toBe((err as Error).message);
    expect(hook.requests[1].seen).toEqual({ ...before, 'new.php': 'new' });
  });

  it.each([
    ['ftp://host/hook?token=abc123secret', 'ftp://host/hook', 'ftp: is not HTTP'],
    ['not a url ?token=abc123secret', 'not a url', 'not a URL'],
  ])('%s is a configuration error naming it without its token', async (bad, shown, why) => {
    const err = await deploy(opts(tmpDir(), '/never', { maintenanceUrl: bad })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(`invalid --maintenance-url "${shown}": ${why}`);
    expect((err as Error).message).not.toContain('abc123secret');
  });

  it('CLI --maintenance-url: start refused is exit 1, a usage error is exit 2, a deploy calls it; the token is in no output', async () => {
    const dir = `/${uniqueName('h-hook')}`;
    const { local } = await deployedSite(dir);
    const url = `ftp://${srv.user}@${srv.host}:${srv.port}${dir}`;
    const env = { FTPSHIP_PASSWORD: srv.password };
    const cli = async (...extra: string[]): ReturnType<typeof runCli> =>
      runCli(['deploy', local, url, '--retries', '0', '--verbose', '--json', ...extra], env);
    listen(dir, () => 503);
    const refused = await cli('--maintenance-url', hookUrl());
    expect([refused.code, refused.stderr]).toEqual([
      1,
      expect.stringContaining(`the maintenance hook ${hook.base}/hooks/deploy answered 503`),
    ]);
    const usage = await cli('--maintenance-url', `ftps://x.example/h?token=${TOKEN}`);
    expect([usage.code, usage.stderr]).toEqual([
      2,
      expect.stringContaining('invalid --maintenance-url "ftps://x.example/h"'),
    ]);
    listen(dir);
    const ok = await cli('--maintenance-url', hookUrl());
    expect(ok.code).toBe(0);
    expect(events()).toEqual(['start', 'end']);
    expect(ok.stderr).toContain(
      `maintenance hook ${hook.base}/hooks/deploy: answered 204 No Content to "end"`,
    );
    for (const r of [refused, usage, ok]) expect(r.stdout + r.stderr).not.toContain(TOKEN);
  });

  it('CLI --maintenance-url with a user and password: hides the password and token, not the plain words "deploy" and "github" (was: *** for each)', async () => {
    const dir = `/${uniqueName('h-action2-hook')}`;
    const { local } = await deployedSite(dir);
    writeTree(local, { 'github.html': 'g' });
    const url = `ftp://${srv.user}@${srv.host}:${srv.port}${dir}`;
    const hookAt = `${hook.base.replace('//', '//deploy:pw-5ecret-77@')}/hooks/deploy?source=github&token=${TOKEN}`;
    listen(dir);
    const ok = await runCli(['deploy', local, url, '--retries', '0', '--json', '--maintenance-url', hookAt], {
      FTPSHIP_PASSWORD: srv.password,
    });
    expect(ok.code).toBe(0);
    expect(events()).toEqual(['start', 'end']);
    expect(ok.stderr).toContain(
      `maintenance hook ${hook.base}/hooks/deploy: answered 204 No Content to "end"`,
    );
    const report = JSON.parse(ok.stdout) as { files: Array<{ path: string }> };
    expect(report.files.map((e) => e.path)).toContain('github.html');
    for (const secret of [TOKEN, 'pw-5ecret-77']) expect(ok.stdout + ok.stderr).not.toContain(secret);
  });

  it('Action maintenance-url (masked) and gulp maintenanceUrl call the hook', async () => {
    const dir = `/${uniqueName('h-hook')}`;
    const { ws, site } = actionWorkspace({ 'index.html': 'v1', 'old.html': 'old' });
    const inputs = { ...actionConnection(srv, dir), 'maintenance-url': hookUrl(), 'log-level': 'verbose' };
    expectSuccess(await runAction(ws, inputs));
    writeTree(site, { 'index.html': 'v2' });
    fs.rmSync(path.join(site, 'old.html'));
    listen(dir);
    const run = await runAction(ws, inputs, { RUNNER_DEBUG: '1' });
    expectSuccess(run);
    expect(events()).toEqual(['start', 'end']);
    expect(run.stdout).toContain(`::add-mask::${hookUrl()}`);
    const logged = (run.stdout + run.stderr + run.summary + JSON.stringify(run.outputs))
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'));
    expect(logged.join('\n')).not.toContain(TOKEN);
    expect(logged.join('\n')).toContain(`${hook.base}/hooks/deploy`);

    // gulp, with the token as the URL's user:password (fetch takes none in a URL: sent as Basic authentication)
    writeTree(site, { 'index.html': 'v3' });
    listen(dir);
    const withUser = hook.base.replace('//', `//hook:${TOKEN}@`) + '/hooks/deploy';
    await pipeline(
      gulp.src('**/*', { cwd: site, dot: true, encoding: false }),
      gulpDeploy({ ...login(srv), remoteDir: dir, quiet: true, maintenanceUrl: withUser }),
    );
    expect(events()).toEqual(['start', 'end']);
    const basic = `Basic ${Buffer.from(`hook:${TOKEN}`).toString('base64')}`;
    expect(hook.requests.map((r) => [r.url, r.headers.authorization])).toEqual([
      ['/hooks/deploy', basic],
      ['/hooks/deploy', basic],
    ]);
    expect(readTree(path.join(srv.root, dir), [STATE])).toEqual(readTree(site));
  });
});
