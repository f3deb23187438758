/**
 * An IPv6 host literal in the URL (`ftp://user@[::1]:port/dir`): the deploy connects over IPv6 (data connections
 * too, by EPSV, to the control host), and the report's target keeps the brackets (given back to `ftpship deploy`
 * it names the same folder). The test servers listen on 127.0.0.1 only: a forwarder on [::1] for pure-ftpd's
 * control port and its passive ports puts it on IPv6. A port with nothing on ::1 is a clear error.
 */
import net from 'node:net';
import { expect, it } from '@jest/globals';
import { runCli } from './helpers/cli.js';
import { realServerSuite, remoteFolders } from './helpers/real-servers.js';
import { readTree, tmpDir, writeTree } from './helpers/tmp.js';

const { describe: d, each } = realServerSuite('cli-ipv6.realservers');
const target = remoteFolders('h-cli3-ipv6');

/** Listens on [::1]:`port` (0: any), forwarding to 127.0.0.1:`to`; undefined if ::1 cannot take it. */
async function forward(port: number, to: number): Promise<net.Server | undefined> {
  const server = net.createServer((c) => {
    const up = net.connect(to, '127.0.0.1');
    c.pipe(up).on('error', () => up.destroy());
    up.pipe(c).on('error', () => c.destroy());
    c.on('error', () => up.destroy());
    up.on('error', () => c.destroy());
  });
  return new Promise((resolve) => {
    server.once('error', () => resolve(undefined));
    server.listen(port, '::1', () => resolve(server));
  });
}

d.each(each('pure'))('%s reached over IPv6 ([::1])', (_name, server) => {
  it('deploys to ftp://user@[::1]:port/dir; the report names the target with its brackets', async () => {
    const control = await forward(0, server.port);
    if (!control) {
      console.log('cli-ipv6: ::1 cannot be listened on here: skipped');
      return;
    }
    const [from, to] = server.pasvPorts;
    const passive = await Promise.all(
      Array.from({ length: to - from + 1 }, async (_, i) => forward(from + i, from + i)),
    );
    try {
      const local = tmpDir('ftpship-h-cli3-');
      writeTree(local, { 'index.html': 'home', 'css/site.css': 'body{}' });
      const { dir, disk } = target(server);
      const port = (control.address() as net.AddressInfo).port;
      const url = `ftp://${server.user}@[::1]:${port}${dir}`;
      const r = await runCli(['deploy', local, url, '--json'], { FTPSHIP_PASSWORD: server.password });
      expect({ code: r.code, stderr: r.stderr }).toMatchObject({ code: 0 });
      expect((JSON.parse(r.stdout) as { target: string }).target).toBe(url);
      expect(readTree(disk, ['.ftpship-state.json'])).toEqual(readTree(local));
      // Nothing listening on ::1 at that port any more: the error names the host as written, with the fix.
      await new Promise<void>((res) => control.close(() => res()));
      const gone = await runCli(['deploy', local, url], { FTPSHIP_PASSWORD: server.password });
      expect(gone.code).toBe(1);
      expect(gone.stderr).toBe(
        `ftpship: error: cannot connect to [::1]:${port}: connection refused; check the host and port\n`,
      );
    } finally {
      control.close();
      for (const s of passive) s?.close();
    }
  }, 20_000);
});
