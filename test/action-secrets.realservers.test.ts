// The login inputs kept in secrets, in everything the Action writes: the log as the runner shows it (its mask
// matches a secret's value exactly, case and all), the job summary (masked the same way), and the `plan` and
// `summary-file` files (masked by nothing: a later step posts them). A host with `_` (HTML-escaped in the
// summary) and a user name with `_`, `*`, `%`, `\` and `@` (JSON-escaped in messages, %-encoded in URLs).
// The host name is made to resolve to loopback by a stand-in for dns.lookup in this process (the Action's
// source runs here, through runMain); the connections are real: ftp-srv in this process, and pure-ftpd and
// vsftpd over TLS.
import dns from 'node:dns';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { EmbeddedServer } from '../src/embedded-server.js';
import { actionWorkspace, type ActionRun } from './helpers/action.js';
import { runMain } from './helpers/action-main.js';
import { embedded } from './helpers/embedded.js';
import { realServerSuite, remoteFolders, type RealServer } from './helpers/real-servers.js';

const HOST = 'FTP_1.Example-Host.test';
const USER = 'deployer_7*x%y\\z@site.test';
/** What no text may hold once the runner has masked the secrets: a piece of the host or user in any form. */
const LEAK = /example.{0,6}host|deployer|ftpship.{0,6}(pure|vs)\b/i;

let srv: EmbeddedServer;
const lookup = dns.lookup;
beforeAll(async () => {
  srv = await embedded({ user: USER });
  const patched = (host: string, ...rest: unknown[]): void =>
    (lookup as (...a: unknown[]) => void)(
      host.toLowerCase() === HOST.toLowerCase() ? '127.0.0.1' : host,
      ...rest,
    );
  (dns as { lookup: unknown }).lookup = patched;
});
afterAll(async () => {
  (dns as { lookup: unknown }).lookup = lookup;
  await srv.close();
});

/** A workflow command's data as the runner reads it (core escapes %, CR and LF). */
function decoded(data: string): string {
  return data
    .replace(/%0D/gi, '\r')
    .replace(/%0A/gi, '\n')
    .replace(/%3A/gi, ':')
    .replace(/%2C/gi, ',')
    .replace(/%25/g, '%');
}

/**
 * The step's log as the runner shows it: each command's data decoded, then every secret the workflow uses,
 * and every value given to `::add-mask::` from then on, as `***` (exact matches only, as the runner's masker).
 */
function asShown(stdout: string, secrets: string[]): string {
  const masks = [...secrets];
  const out: string[] = [];
  for (const line of stdout.split(/\r\n|\r|\n/)) {
    const command = /^::([a-z-]+)(?: [^:]*)?::(.*)$/.exec(line);
    if (command?.[1] === 'add-mask') {
      masks.push(decoded(command[2]));
      continue;
    }
    let text = command ? decoded(command[2]) : line;
    for (const m of masks.filter((s) => s !== '').sort((a, b) => b.length - a.length))
      text = text.split(m).join('***');
    out.push(text);
  }
  return out.join('\n');
}

/** The log and the job summary as the runner shows them, and the two files as a later step reads them. */
function everything(run: ActionRun, secrets: string[]): Record<string, string> {
  const file = (name: string): string =>
    run.outputs[name] ? fs.readFileSync(run.outputs[name], 'utf8') : '';
  return {
    log: asShown(run.stdout, secrets),
    summary: asShown(run.summary, secrets),
    plan: file('plan'),
    'summary-file': file('summary-file'),
  };
}

function expectNoLeak(texts: Record<string, string>): void {
  for (const [where, text] of Object.entries(texts)) {
    const leak = LEAK.exec(text);
    // The line, so that a failure shows the form that leaked.
    const line = leak ? text.split('\n').find((l) => LEAK.test(l)) : undefined;
    expect({ where, line }).toEqual({ where, line: undefined });
  }
}

describe('a server and username kept in secrets, with _ * % \\ @ in them (ftp-srv)', () => {
  const inputs = (dir: string): Record<string, string> => ({
    server: HOST,
    port: String(srv.port),
    username: USER,
    password: srv.password,
    'local-dir': 'public/',
    'server-dir': `h-action4-${dir}/`,
    'log-level': 'verbose',
  });

  it('a dry run and a deploy: the host and user appear nowhere in another form (was: ftp&#95;1 in the job summary)', async () => {
    const { ws } = actionWorkspace({ 'a.html': 'a', 'sub/b_1.html': 'b' });
    const dry = await runMain(ws, { ...inputs('dry'), 'dry-run': 'true' });
    expect(dry.status).toBe(0);
    expect(dry.summary).toContain('| 2 | 0 | 0 |');
    expectNoLeak(everything(dry, [HOST, USER, srv.password]));
    const live = await runMain(ws, inputs('live'));
    expect(live.status).toBe(0);
    expect(fs.existsSync(path.join(srv.root, 'h-action4-live', 'sub', 'b_1.html'))).toBe(true);
    expectNoLeak(everything(live, [HOST, USER, srv.password]));
  });

  it('a login refused: the error names the user as written, so the mask hides it (was: "deployer_7*x%y\\\\z@…", JSON-escaped)', async () => {
    const { ws } = actionWorkspace({ 'a.html': 'a' });
    const run = await runMain(ws, { ...inputs('badpass'), password: 'not-it_1' });
    expect(run.status).not.toBe(0);
    const shown = asShown(run.stdout, [HOST, USER, 'not-it_1']);
    expect(shown).toMatch(/^login to \*\*\*:\d+ as "\*\*\*" failed: 530/m);
    expectNoLeak({ log: shown });
  });
});

const { env, describe: d } = realServerSuite('action-secrets.realservers');

d('a server kept in a secret, over TLS on real servers (user names with `_`)', () => {
  const folder = remoteFolders('h-action4-');
  const inputs = (server: RealServer, protocol: string, dir: string): Record<string, string> => ({
    server: HOST,
    port: String(server.port),
    username: server.user,
    password: server.password,
    protocol,
    ca: fs.readFileSync(env.ca, 'utf8'),
    'tls-name': 'localhost',
    'local-dir': 'public/',
    'server-dir': `${dir}/`,
  });

  it.each([
    ['pure', 'ftps'],
    ['vsftpdImplicit', 'ftps-legacy'],
  ] as const)(
    '%s, protocol %s: the summary names the inputs (was: ftpes:// or ftps://, and the host), nothing leaks',
    async (key, protocol) => {
      const server = env[key];
      const { dir, disk } = folder(server);
      const { ws } = actionWorkspace({ 'index.html': 'x' });
      const run = await runMain(ws, inputs(server, protocol, dir));
      expect(run.status).toBe(0);
      expect(fs.readFileSync(path.join(disk, 'index.html'), 'utf8')).toBe('x');
      const texts = everything(run, [HOST, server.user, server.password]);
      // The folder relative to the login folder (`/` here), as the report's URL names it.
      const target = `Target: \`server-dir\` <code>${dir.slice(1)}</code> (\`protocol: ${protocol}\`)`;
      expect(texts.summary).toContain(target);
      expect(texts['summary-file']).toContain(target);
      // Nor the port, which may be a secret too: the files are masked by nothing.
      for (const text of [texts.plan, texts['summary-file']]) expect(text).not.toContain(`:${server.port}`);
      expectNoLeak(texts);
    },
  );

  it('a certificate for another name: the error names the host as written (masked), and the inputs to set', async () => {
    const server = env.pure;
    const { dir } = folder(server);
    const { ws } = actionWorkspace({ 'index.html': 'x' });
    const run = await runMain(ws, { ...inputs(server, 'ftps', dir), 'tls-name': '' });
    expect(run.status).not.toBe(0);
    const shown = asShown(run.stdout, [HOST, server.user, server.password]);
    expect(shown).toMatch(/^the TLS certificate of \*\*\*:\d+ is for localhost/m);
    expect(shown).toContain('`tls-name`');
    expectNoLeak({ log: shown });
  });
});
