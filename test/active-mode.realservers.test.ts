/**
 * Active mode (--active: EPRT, then PORT; the server connects back) end to end on each real server. A server
 * that refuses PORT and EPRT (vsftpd's port_enable=NO, or a NAT in between: the servers here allow active mode,
 * so a proxy answers 500 to both): the deploy stops at its first transfer, saying to use passive mode — not
 * that the state file cannot be read (with --reset-state to try), nor that the folder is not there.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { runCli } from './helpers/cli.js';
import { linesProxy } from './helpers/faults.js';
import { realServerSuite, remoteFolders } from './helpers/real-servers.js';
import { readTree, tmpDir, writeTree } from './helpers/tmp.js';

const { describe: d, each } = realServerSuite('active-mode.realservers');
const target = remoteFolders('active-mode');

/** What the deploy must say, whatever step met the refusal first. */
const USE_PASSIVE =
  /^ftpship: error: PORT 127,0,0,1,\d+,\d+: 500 Illegal PORT command\. — the server refused active mode to 127\.0\.0\.1, the address this machine announced: .*; use passive mode \(.*CLI: leave out --active\)\n$/;

d.each(each('pure', 'vsftpd', 'proftpd'))(
  '%s, over plain FTP through a proxy refusing active mode',
  (_name, server) => {
    it('--active to a new folder, to a deployed site, and with --upload-only: the error says to use passive mode; nothing is changed', async () => {
      const refused: string[] = [];
      const proxy = await linesProxy(server.port, (line) => {
        if (!/^(EPRT|PORT) /.test(line)) return 'pass';
        refused.push(line.split(' ')[0]);
        return { reply: '500 Illegal PORT command.' };
      });
      try {
        const local = tmpDir();
        writeTree(local, { 'index.html': 'home' });
        const env = { FTPSHIP_PASSWORD: server.password };
        const url = (dir: string, port = proxy.port): string =>
          `ftp://${server.user}@127.0.0.1:${port}${dir}`;
        const fresh = target(server);
        const deployed = target(server);
        // Deployed in passive mode, straight to the server (its state file is there).
        expect((await runCli(['deploy', local, url(deployed.dir, server.port), '--quiet'], env)).code).toBe(
          0,
        );
        const before = readTree(deployed.disk);
        writeTree(local, { 'index.html': 'changed' });
        for (const [dir, extra] of [
          [fresh.dir, []],
          [deployed.dir, []],
          [fresh.dir, ['--upload-only']],
        ] as const) {
          const r = await runCli(['deploy', local, url(dir), '--active', ...extra], env);
          // Was, to a new folder: "upload index.html failed: 500 Illegal PORT command. (try again later)" after a
          // warning, the folder made; to a deployed site: "the state file … exists but cannot be read (500 Illegal
          // PORT command.) … Check its permissions, or rerun with --reset-state"; with --upload-only, on pure-ftpd
          // and proftpd: "… list() found nothing at that path".
          expect({ dir, extra, code: r.code, stderr: r.stderr }).toMatchObject({
            code: 1,
            stderr: expect.stringMatching(USE_PASSIVE),
          });
        }
        expect(refused.slice(0, 2)).toEqual(['EPRT', 'PORT']);
        expect(fs.existsSync(fresh.disk)).toBe(false);
        expect(readTree(deployed.disk)).toEqual(before);
        expect(fs.readFileSync(path.join(deployed.disk, 'index.html'), 'utf8')).toBe('home');
      } finally {
        await proxy.close();
      }
    }, 30_000);
  },
);
