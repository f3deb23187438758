/**
 * A server that lets the first login in and refuses a later one with a bare 530 (a host's per-account
 * session limit phrased as a wrong password, an IP filter counting logins): a reply pure-ftpd itself does not
 * send, made by a proxy in front of it that answers the second connection's PASS. The deploy goes on with
 * the connections it has, and says so.
 */
import net from 'node:net';
import { expect, it } from '@jest/globals';
import { realServerSuite, remoteFolders } from './helpers/real-servers.js';
import { runCli } from './helpers/cli.js';
import { readTree, tmpDir, writeTree } from './helpers/tmp.js';

const { describe: d, each } = realServerSuite('second-login.realservers');
const target = remoteFolders('h-fail-login');

/** Passes control connections through to `port`, but answers the PASS of connection number `refuse` with `reply`. */
async function loginRefusingProxy(
  port: number,
  refuse: number,
  reply: string,
): Promise<{ port: number; close: () => Promise<void> }> {
  const live = new Set<net.Socket>();
  let n = 0;
  const server = net.createServer((client) => {
    const mine = ++n;
    const upstream = net.connect({ host: '127.0.0.1', port });
    for (const s of [client, upstream]) {
      live.add(s);
      s.on('error', () => {});
      s.on('close', () => (client.destroy(), upstream.destroy()));
    }
    upstream.pipe(client);
    let pending = '';
    client.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      let end: number;
      while ((end = pending.indexOf('\r\n')) !== -1) {
        const line = pending.slice(0, end);
        pending = pending.slice(end + 2);
        if (mine === refuse && line.startsWith('PASS ')) {
          client.write(`${reply}\r\n`);
          continue;
        }
        upstream.write(`${line}\r\n`, 'latin1');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of live) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

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
