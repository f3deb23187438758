/**
 * A network blip (every connection dropped, none taken for a moment) in the middle of a deploy with several
 * connections: the deploy reconnects and finishes, and the connections lost are opened again once the network
 * is back, instead of being taken for a server refusing more connections. On pure-ftpd.
 */
import { expect, it } from '@jest/globals';
import { realServerSuite, remoteFolders } from './helpers/real-servers.js';
import { chaosProxy } from './helpers/chaos.js';
import { runCli } from './helpers/cli.js';
import { readTree, tmpDir, writeTree } from './helpers/tmp.js';

const { describe: d, each } = realServerSuite('blip.realservers');
const target = remoteFolders('h-fail-blip');

d.each(each('pure'))('%s: a network blip mid-deploy', (_name, server) => {
  it('the deploy finishes with its connections back, not "the server refused another connection; going on with 1"', async () => {
    const local = tmpDir('ftpship-h-fail-');
    const files: Record<string, string> = {};
    for (let i = 0; i < 40; i++) files[`f${i}.txt`] = `content ${i}`;
    writeTree(local, files);
    const { dir, disk } = target(server);
    let stors = 0;
    const proxy = await chaosProxy(server.port, {
      onCommand: (line) => {
        if (!line.startsWith('STOR ') || ++stors !== 6) return;
        setImmediate(() => {
          proxy.cutAll();
          setTimeout(() => proxy.heal(), 1000);
        });
        return 'hold';
      },
    });
    try {
      const url = `ftp://${server.user}@127.0.0.1:${proxy.port}${dir}`;
      const r = await runCli(['deploy', local, url, '--parallel', '3'], {
        FTPSHIP_PASSWORD: server.password,
      });
      expect([r.code, readTree(disk, ['.ftpship-state.json'])]).toEqual([0, readTree(local)]);
      expect(r.stderr).toMatch(/retrying/); // the blip was seen
      expect(r.stderr).not.toMatch(/refused another connection/);
    } finally {
      await proxy.close();
    }
  });
});
