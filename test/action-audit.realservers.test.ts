// The Action's errors against real servers, as its log shows them: each names the Action's input to set,
// not the CLI's URL or the library's option. Run through the Action's source (action/main.ts).
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { actionWorkspace, expectSuccess } from './helpers/action.js';
import { logLines, runMain } from './helpers/action-main.js';
import { realServerSuite, remoteFolders, type RealServer } from './helpers/real-servers.js';

const { env, describe: d } = realServerSuite('action-audit.realservers');
const folder = remoteFolders('h-action-');

function connection(server: RealServer, serverDir: string): Record<string, string> {
  return {
    server: server.host,
    port: String(server.port),
    username: server.user,
    password: server.password,
    'local-dir': 'public/',
    'server-dir': serverDir,
    timeout: '10000',
  };
}

/** The one ::error:: line of a failed run. */
function theError(run: { status: number | null; stdout: string }): string {
  expect(run.status).toBe(1);
  const errors = logLines(run as Parameters<typeof logLines>[0]).filter((l) => l.startsWith('::error::'));
  expect(errors).toHaveLength(1);
  return errors[0];
}

d(
  'errors name the Action input, not the CLI URL or the library option (was: "(CLI: …; Action: …; library: …)")',
  () => {
    it('server-dir that is a file on pure-ftpd: "the `server-dir` input"', async () => {
      const server = env.pure;
      const { dir, disk } = folder(server);
      const { ws } = actionWorkspace({ 'page.html': 'p' });
      expectSuccess(await runMain(ws, connection(server, `${dir}/`)));
      const run = await runMain(ws, connection(server, `${dir}/page.html/`));
      const error = theError(run);
      expect(error).toContain('cannot create folder ');
      expect(error).toContain('Check that the folder deployed to is right (the `server-dir` input)');
      expect(error).not.toMatch(/CLI|library|remoteDir/);
      expect(fs.readFileSync(path.join(disk, 'page.html'), 'utf8')).toBe('p');
    });

    it('protocol ftps-legacy on a plain-FTP port of pure-ftpd: "`protocol: ftps`"', async () => {
      const server = env.pure;
      const { dir } = folder(server);
      const { ws } = actionWorkspace({ 'page.html': 'p' });
      const run = await runMain(ws, { ...connection(server, `${dir}/`), protocol: 'ftps-legacy' });
      const error = theError(run);
      expect(error).toContain('Use explicit TLS on this port, usually 21 (`protocol: ftps`)');
      expect(error).not.toMatch(/CLI|library|ftpes:/);
    });

    it('tls-fingerprint with protocol ftp: "ask for FTPS (`protocol: ftps`)"', async () => {
      const server = env.pure;
      const { dir } = folder(server);
      const { ws } = actionWorkspace({ 'page.html': 'p' });
      const run = await runMain(ws, { ...connection(server, `${dir}/`), 'tls-fingerprint': 'AB'.repeat(32) });
      const error = theError(run);
      expect(error).toContain('ask for FTPS (`protocol: ftps`) or drop the `tls-fingerprint` input');
      expect(error).not.toMatch(/ftpes:|ftps:\/\//);
    });

    it.each([
      ['a wrong password', { password: 'not-the-password' }, 'check the `username` and `password` inputs'],
      ['a closed port', { port: '1' }, 'connection refused; check the `server` and `port` inputs'],
      ['an unknown host', { server: 'no-such-host.invalid' }, 'not found; check the `server` input'],
    ])(
      '%s: the error names the inputs to check (was: "the user and password", "the host and port")',
      async (_what, inputs, hint) => {
        const server = env.pure;
        const { dir } = folder(server);
        const { ws } = actionWorkspace({ 'page.html': 'p' });
        const error = theError(await runMain(ws, { ...connection(server, `${dir}/`), ...inputs }));
        expect(error).toContain(hint);
        expect(error).not.toContain('not-the-password');
        expect(error).not.toContain('in quotes');
      },
    );
  },
);

d('values set with their quotes (a repository secret or variable pasted with them)', () => {
  it.each([
    ['server-dir', (dir: string) => ({ 'server-dir': `'${dir.slice(1)}/'` })],
    ['server', () => ({ server: '"127.0.0.1"' })],
    ['local-dir', () => ({ 'local-dir': "'public/'" })],
  ] as const)(
    '%s in quotes is refused, naming the input, nothing made on pure-ftpd (was: server-dir made a folder named with the quote)',
    async (name, quoted) => {
      const server = env.pure;
      const { dir, disk } = folder(server);
      const { ws } = actionWorkspace({ 'page.html': 'p' });
      const error = theError(await runMain(ws, { ...connection(server, `${dir}/`), ...quoted(dir) }));
      expect(error).toMatch(new RegExp(`^::error::the \`${name}\` input is in quotes`));
      expect(error).toContain('remove them');
      if (name === 'server') expect(error).not.toContain('127.0.0.1');
      expect(fs.existsSync(disk)).toBe(false);
      expect(fs.existsSync(path.join(server.home, `'${dir.slice(1)}`))).toBe(false);
    },
  );
});

d('a login that fails with the password in quotes', () => {
  it('says the secret may have been saved with its quotes (it cannot be seen once saved), not showing it', async () => {
    const server = env.pure;
    const { dir, disk } = folder(server);
    const { ws } = actionWorkspace({ 'page.html': 'p' });
    const run = await runMain(ws, { ...connection(server, `${dir}/`), password: `'${server.password}'` });
    expect(theError(run)).toMatch(
      /failed: 530 .*; check the `username` and `password` inputs\. The `password` input is in quotes: if the secret was saved with them, save it again without$/,
    );
    expect(logLines(run).filter((l) => l.includes(server.password))).toEqual([
      `::add-mask::'${server.password}'`,
    ]);
    expect(fs.existsSync(disk)).toBe(false);
  });
});

d('server-dir as FTP-Deploy-Action workflows write it, on the real servers', () => {
  const mine = remoteFolders('h-action3-');
  it.each(['pure', 'vsftpd', 'proftpd'] as const)(
    '%s: ~/site/, ./site, site and /site/ are one folder (no folder named ~ or .); the second run sends nothing',
    async (key) => {
      const server = env[key];
      const { dir, disk } = mine(server);
      const name = dir.slice(1);
      const { ws } = actionWorkspace({ 'index.html': 'i' });
      const first = await runMain(ws, connection(server, `~/${name}/`));
      expectSuccess(first);
      expect(first.outputs.uploaded).toBe('1');
      expect(fs.readFileSync(path.join(disk, 'index.html'), 'utf8')).toBe('i');
      for (const form of [`./${name}`, name, `/${name}/`]) {
        const again = await runMain(ws, connection(server, form));
        expectSuccess(again);
        expect({ form, ...again.outputs }).toMatchObject({ form, uploaded: '0', unchanged: '1' });
      }
      expect(fs.existsSync(path.join(server.home, '~'))).toBe(false);
      expect(fs.readdirSync(disk).sort()).toEqual([
        '.ftpship-state.json',
        '.ftpship-state.json.bak',
        'index.html',
      ]);
    },
  );
});

d(
  'an exclude line the Action suggests works when written as given (a line is trimmed, and ` #` starts a comment)',
  () => {
    const mine = remoteFolders('h-action3-');
    it.each([
      ['notes #1.txt', '/notes \\#1\\.txt', 'the server has a folder there'],
      ['draft ', '/draft[ ]', 'did not keep the file name'],
    ])(
      'pure-ftpd, a local %j: the error gives the line %s, and that line leaves the file out (was: `/notes #1.txt`, read as `/notes`; `/draft `, trimmed)',
      async (name, line, why) => {
        const server = env.pure;
        const { dir, disk } = mine(server);
        // A folder of that name on the server (pure-ftpd stores `draft ` as `draft_`: the name is not kept).
        if (!name.endsWith(' ')) {
          fs.mkdirSync(path.join(disk, name), { recursive: true });
          for (const p of [disk, path.join(disk, name)]) fs.chownSync(p, server.uid, server.gid);
        }
        const { ws } = actionWorkspace({ 'index.html': 'i', [name]: 'n' });
        const error = theError(await runMain(ws, connection(server, `${dir}/`)));
        expect(error).toContain(why);
        expect(error).toContain(`the line ${line} in the \`exclude\` input`);
        const again = await runMain(ws, { ...connection(server, `${dir}/`), exclude: `${line}\n` });
        expectSuccess(again);
        expect(fs.readFileSync(path.join(disk, 'index.html'), 'utf8')).toBe('i');
      },
    );
  },
);
