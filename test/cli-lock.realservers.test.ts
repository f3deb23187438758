/**
 * A deploy refused because another holds the lock (exit 3): the CLI has no flag to take a lock over, so the
 * error says exactly what to run if that deploy is dead (killed on another machine: a CI runner): this command
 * again once the lock is stale (when, as a time), or the curl command that removes the lock now. The command is
 * run here, as printed, against the real server (with the password added: curl would ask for it).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { runCli } from './helpers/cli.js';
import { realServerSuite, remoteFolders } from './helpers/real-servers.js';
import { readTree, tmpDir, writeTree } from './helpers/tmp.js';

const { describe: d, each, env: servers } = realServerSuite('cli-lock.realservers');
const target = remoteFolders('h-cli3-lock');
const hasCurl = spawnSync('curl', ['--version']).status === 0;

d.each(each('pure', 'vsftpd'))('%s: another deploy holds the lock', (_name, server) => {
  (hasCurl ? it : it.skip)(
    'exit 3 naming when the lock goes stale and the curl command that removes it; that command works, and the deploy then goes ahead',
    async () => {
      const local = tmpDir('ftpship-h-cli3-');
      writeTree(local, { 'index.html': 'home' });
      const { dir, disk } = target(server);
      const url = `ftpes://${server.user}@${server.host}:${server.port}${dir}`;
      const args = ['deploy', local, url, '--ca', servers.ca];
      const env = { FTPSHIP_PASSWORD: server.password };
      // A deploy on another machine holds the lock, refreshed 10 s ago.
      const refreshedAt = new Date(Date.now() - 10_000).toISOString();
      const lock = path.join(disk, '.ftpship-state.json.lock');
      fs.mkdirSync(lock, { recursive: true });
      fs.writeFileSync(
        path.join(lock, 'holder.json'),
        JSON.stringify({
          token: 't',
          holder: 'ftpship on runner-9 pid 7',
          host: 'runner-9',
          pid: 7,
          startedAt: refreshedAt,
          refreshedAt,
        }),
      );
      fs.chownSync(disk, server.uid, server.gid);
      fs.chownSync(lock, server.uid, server.gid);
      fs.chownSync(path.join(lock, 'holder.json'), server.uid, server.gid);
      const r = await runCli(args, env);
      expect(r.code).toBe(3);
      const line = r.stderr.trim().split('\n').pop() ?? '';
      const lockPath = `${dir}/.ftpship-state.json.lock`;
      expect(line).toContain(
        `another deploy holds the lock ${lockPath} (ftpship on runner-9 pid 7, since ${refreshedAt}, last refreshed ${refreshedAt})`,
      );
      const staleAt = new Date(Date.parse(refreshedAt) + 120_000).toISOString();
      expect(line).toContain(
        `(stale after 120 s: run the deploy again after ${staleAt} to take it over). If that deploy is dead (killed, its machine gone): remove the lock now with curl `,
      );
      expect(r.stderr).not.toContain(server.password);
      const curl = /with (curl .*) \(it asks for the password\)$/.exec(line)?.[1] ?? '';
      expect(curl).toBe(
        `curl --ssl-reqd --cacert ${servers.ca} --user ${server.user} ftp://${server.host}:${server.port}/ ` +
          `-Q 'DELE ${lockPath}/holder.json' -Q 'RMD ${lockPath}'`,
      );
      // Run as printed, through a shell (its quoting), with the password curl would ask for.
      const withPassword = curl.replace(`--user ${server.user}`, `--user ${server.user}:${server.password}`);
      const removed = spawnSync('sh', ['-c', `${withPassword} --silent --show-error --output /dev/null`], {
        encoding: 'utf8',
        timeout: 10_000,
      });
      expect({ status: removed.status, stderr: removed.stderr }).toEqual({ status: 0, stderr: '' });
      expect(fs.existsSync(lock)).toBe(false);
      const again = await runCli(args, env);
      expect(again.code).toBe(0);
      expect(readTree(disk, ['.ftpship-state.json'])).toEqual(readTree(local));
    },
    20_000,
  );
});
