/**
 * A server that lets the first login in and refuses a later one with a bare 530 (a host's per-account
 * session limit phrased as a wrong password, an IP filter counting logins): a reply pure-ftpd itself does not
 * send, made by a proxy in front of it that answers the second connection's PASS. The deploy goes on with
 * the connections it has, and says so.
 */
import { expect, it } from '@jest/globals';
import { linesProxy } from './helpers/faults.js';
import { realServerSuite, remoteFolders } from './helpers/real-servers.js';
import { runCli } from './helpers/cli.js';
import { readTree, tmpDir, writeTree } from './helpers/tmp.js';

const { describe: d, each } = realServerSuite('second-login.realservers');
const target = remoteFolders('h-fail-login');

/** Passes control connections through to `port`, but answers the PASS of connection number `refuse` with `reply`. */
const loginRefusingProxy = async (
  port: number,
  refuse: number,
  reply: string,
): ReturnType<typeof linesProxy> =>
  linesProxy(port, (line, connection) =>
    connection === refuse && line.startsWith('PASS ') ? { reply } : 'pass',
  );

d.each(each('pure'))('%s: a later login refused with 530', (_name, server) => {
  it('the deploy goes on with the connections it has, and says so', async () => {
    const local = tmpDir('ftpship-h-fail-');
    const files: Record<string, string> = {};
    for (let i = 0; i < 12; i++) files[`f${i}.txt`] = `content ${i}`;
    writeTree(local, files);
    const { dir, disk } = target(server);
    const proxy = await loginRefusingProxy(server.port, 2, '530 Login incorrect.');
    try {
      const url = `ftp://${server.user}@127.0.0.1:${proxy.port}${dir}`;
      const r = await runCli(['deploy', local, url, '--parallel', '2'], {
        FTPSHIP_PASSWORD: server.password,
      });
      expect([r.code, readTree(disk, ['.ftpship-state.json'])]).toEqual([0, readTree(local)]);
      const warning = r.stderr.split('\n').find((l) => /another connection/.test(l));
      expect(warning).toMatch(/530 Login incorrect.*going on with 1/);
      expect(r.stderr).not.toContain(server.password);
    } finally {
      await proxy.close();
    }
  });
});
