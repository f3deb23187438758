/**
 * Active mode (--active: EPRT, then PORT; the server connects back) end to end on each real server, over plain
 * FTP and explicit TLS: a deploy, an edit and a delete; a large upload cut half way, resumed with REST. A server
 * that refuses PORT and EPRT (vsftpd's port_enable=NO, or a NAT in between: the servers here allow active mode,
 * so a proxy answers 500 to both): the deploy stops at its first transfer, saying to use passive mode — not
 * that the state file cannot be read (with --reset-state to try), nor that the folder is not there.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { expect, it } from '@jest/globals';
import { deploy } from '../src/index.js';
import { FtpClient } from '../src/ftp/index.js';
import { runCli } from './helpers/cli.js';
import { downloadAll } from './helpers/fake-client.js';
import { linesProxy } from './helpers/faults.js';
import { recorder, sent } from './helpers/protocol.js';
import { realServerSuite, remoteFolders } from './helpers/real-servers.js';
import { bytes, readTree, sha256, tmpDir, writeTree } from './helpers/tmp.js';
import { unusedPort } from './helpers/ports.js';

const { env, describe: d, opts, each } = realServerSuite('active-mode.realservers');
const target = remoteFolders('active-mode');
const STATE = '.ftpship-state.json';

d.each(each('pure', 'vsftpd', 'proftpd'))('%s in active mode', (_name, server) => {
  it.each([false, 'explicit'] as const)(
    'secure: %s: a deploy, an edit and a delete, every data connection opened by the server',
    async (secure) => {
      const local = tmpDir();
      writeTree(local, { 'index.html': 'one', 'css/site.css': 'body{}', 'gone.txt': 'g' });
      const { dir, disk } = target(server);
      const rec = recorder();
      await deploy(opts(server, local, dir, { active: true, secure }), rec);
      writeTree(local, { 'index.html': 'two, longer' });
      fs.rmSync(path.join(local, 'gone.txt'));
      const r = await deploy(opts(server, local, dir, { active: true, secure }), rec);
      expect(r.counts).toMatchObject({ replace: 1, delete: 1 });
      expect(readTree(disk, [STATE])).toEqual(readTree(local));
      expect(sent(rec.log, 'EPRT').length).toBeGreaterThanOrEqual(4);
      expect(rec.log.filter((l) => /^> (EPSV|PASV|PORT)\b/.test(l))).toEqual([]);
    },
  );
});

d.each(each('pure', 'vsftpd', 'proftpdResume'))('%s in active mode', (_name, server) => {
  it.each([false, 'explicit'] as const)(
    'secure: %s: a large upload cut half way is resumed with REST (after EPRT) to an identical file',
    async (secure) => {
      const { dir, disk } = target(server);
      const size = 3 * 1024 * 1024 + 5;
      const data = bytes(size, 11);
      const options = {
        host: server.host,
        port: server.port,
        user: server.user,
        password: server.password,
        secure,
        tls: { ca: fs.readFileSync(env.ca) },
        passive: false,
        timeoutMs: 10_000,
      };
      const first = await FtpClient.connect(options);
      await first.mkd(dir);
      let given = false;
      const onDisk = (): number => {
        try {
          return fs.statSync(path.join(disk, 'big.bin')).size;
        } catch {
          return 0;
        }
      };
      // Half the file, then a crash once the server has written it (in active mode the server may not even have
      // connected back when a source fails at once: then nothing is there to resume).
      const cut = new Readable({
        read() {
          if (!given) this.push(data.subarray(0, Math.floor(size / 2)));
          else {
            const crash = (): void => {
              if (onDisk() >= Math.floor(size / 2)) this.destroy(new Error('cut (a crash)'));
              else setTimeout(crash, 20);
            };
            crash();
          }
          given = true;
        },
      });
      await expect(first.upload(`${dir}/big.bin`, cut)).rejects.toThrow();
      const log: string[] = [];
      const client = await FtpClient.connect({ ...options, log: (l) => log.push(l) });
      try {
        // The server may still be writing what it received: wait until the size settles.
        let have = -1;
        for (let i = 0; i < 50; i++) {
          const now = await client.size(`${dir}/big.bin`);
          if (now === have) break;
          have = now;
          await new Promise((r) => setTimeout(r, 100));
        }
        expect(have).toBeGreaterThan(0);
        expect(have).toBeLessThan(size);
        await client.upload(`${dir}/big.bin`, data.subarray(have), { offset: have });
        expect(log.filter((l) => /^> (EPRT|REST|STOR) /.test(l)).map((l) => l.split(' ')[1])).toEqual([
          'EPRT',
          'REST',
          'STOR',
        ]);
        expect(sha256(fs.readFileSync(path.join(disk, 'big.bin')))).toBe(sha256(data));
        expect(sha256(await downloadAll(client, `${dir}/big.bin`))).toBe(sha256(data));
      } finally {
        await client.quit();
      }
    },
  );
});

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

d.each(each('pure', 'vsftpd', 'proftpd'))(
  '%s, over plain FTP through a proxy, unable to connect back (a firewall in front of this machine)',
  (_name, server) => {
    it('--active: the server answers 425 to each transfer; the error says to try passive mode, not "try again later"', async () => {
      // A port nothing listens on, announced in place of the one this client listens on: the server's
      // connection back is refused, as a firewall refuses it.
      const port = await unusedPort();
      const proxy = await linesProxy(server.port, (line) =>
        /^EPRT /.test(line)
          ? { send: `EPRT |1|127.0.0.1|${port}|` }
          : /^PORT /.test(line)
            ? { send: `PORT 127,0,0,1,${port >> 8},${port & 255}` }
            : 'pass',
      );
      try {
        const local = tmpDir();
        writeTree(local, { 'index.html': 'home' });
        const { dir } = target(server);
        const url = `ftp://${server.user}@127.0.0.1:${proxy.port}${dir}`;
        const r = await runCli(['deploy', local, url, '--active', '--retries', '1'], {
          FTPSHIP_PASSWORD: server.password,
        });
        expect(r.code).toBe(1);
        const last = r.stderr.trim().split('\n').pop();
        // Was "ftpship: error: upload index.html failed: 425 Failed to establish connection. (try again later)":
        // the client's advice, in each warning before it, was dropped from the error.
        expect(last).toMatch(
          /^ftpship: error: upload index\.html failed: 425 .+; in active mode the server connects back to this machine, which firewalls and NAT usually block: try passive mode \(leave out --active\)$/,
        );
      } finally {
        await proxy.close();
      }
    }, 30_000);
  },
);
