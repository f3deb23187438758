/**
 * A password of blanks alone (FTPSHIP_PASSWORD=" ", a CI secret saved as a space, the same piped to
 * --password-stdin or written %20 in the URL): a usage error (exit 2) saying where it came from. It was sent
 * to the server, and then masked in every line printed: *** for every space of the error ("ftpship:***error:***login…").
 */
import { expect, it } from '@jest/globals';
import { runCli } from './helpers/cli.js';
import { realServerSuite, remoteFolders } from './helpers/real-servers.js';
import { tmpDir, writeTree } from './helpers/tmp.js';

const { describe: d, each } = realServerSuite('cli-password.realservers');
const target = remoteFolders('h-cli3-blank');

d.each(each('pure'))('%s: a password of blanks alone', (_name, server) => {
  it.each([
    [
      'FTPSHIP_PASSWORD=" "',
      { env: { FTPSHIP_PASSWORD: ' ' } },
      'FTPSHIP_PASSWORD holds blanks alone (spaces, tabs); set it to the password, or unset it',
    ],
    [
      'FTPSHIP_PASSWORD=" \\t\\n"',
      { env: { FTPSHIP_PASSWORD: ' \t\n' } },
      'FTPSHIP_PASSWORD holds blanks alone (spaces, tabs); set it to the password, or unset it',
    ],
    [
      '--password-stdin given " "',
      { input: ' \n', flags: ['--password-stdin'] },
      '--password-stdin read a password of blanks alone (spaces, tabs); pipe in the real password',
    ],
    [
      'a URL with the password %20',
      { password: '%20' },
      'the password in the URL ftp://USER:***@HOSTDIR is only blanks (spaces, tabs); give the real password, or leave it out of the URL and set FTPSHIP_PASSWORD',
    ],
  ] as const)(
    '%s: exit 2, one clear line, nothing sent',
    async (_label, how, message) => {
      const local = tmpDir('ftpship-h-cli3-');
      writeTree(local, { 'index.html': 'home' });
      const { dir } = target(server);
      const host = `${server.host}:${server.port}`;
      const password = 'password' in how ? `:${how.password}` : '';
      const url = `ftp://${server.user}${password}@${host}${dir}`;
      const flags = 'flags' in how ? [...how.flags] : [];
      const env = 'env' in how ? { ...how.env } : { FTPSHIP_PASSWORD: '' };
      const r = await runCli(
        ['deploy', local, url, '--verbose', ...flags],
        env,
        'input' in how ? how.input : undefined,
      );
      const said = message.replace('USER', server.user).replace('HOST', host).replace('DIR', dir);
      expect({ code: r.code, stderr: r.stderr }).toEqual({
        code: 2,
        stderr: `ftpship: error: ${said}\n`,
      });
      expect(r.stdout).toBe('');
    },
    10_000,
  );
});
