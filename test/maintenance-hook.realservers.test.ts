/**
 * The maintenance hook's timing on real servers: when "start" arrives, the live files on the server's disk
 * still have their old content; when "end" arrives, the new content and the deletions are live. In atomic
 * mode (the commit phase) and with atomic: false (the whole run). And a deploy a real server fails half way
 * (pure-ftpd refuses a name with a backslash) sends "failed". Skipped, with a message, only when
 * test/servers/.env.json is absent.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { deploy, DeployError } from '../src/index.js';
import { TEMP_NAME } from '../src/engine/state.js';
import { hookServer, type HookServer } from './helpers/hook-server.js';
import { realServerSuite, remoteFolders } from './helpers/real-servers.js';
import { tmpDir, writeTree } from './helpers/tmp.js';

const { describe: d, opts, each } = realServerSuite('maintenance-hook.realservers');
const target = remoteFolders('h-hook-mh');
const STATE = '.ftpship-state.json';

let hook: HookServer;
beforeAll(async () => {
  hook = await hookServer();
});
afterAll(async () => {
  await hook?.close();
});

/** The site's files on the server's disk, as text (not the state, its lock, or temporary copies). */
function live(disk: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (abs: string, rel: string): void => {
    for (const e of fs.readdirSync(abs, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.name.startsWith(STATE) || TEMP_NAME.test(e.name)) continue;
      if (e.isDirectory()) walk(path.join(abs, e.name), r);
      else out[r] = fs.readFileSync(path.join(abs, e.name), 'utf8');
    }
  };
  walk(disk, '');
  return out;
}

d.each(each('pure', 'vsftpd'))('%s', (_name, server) => {
  const V1 = { 'index.html': 'v1', 'css/site.css': 'c1', 'old.html': 'old', 'gone/page.html': 'p' };
  const V2 = { 'index.html': 'v2', 'css/site.css': 'c2', 'new.html': 'new' };

  it.each([
    ['atomic', true],
    ['atomic: false', false],
  ])(
    '%s: at "start" the live files are the old ones; at "end" the new ones, deletions done',
    async (_m, atomic) => {
      const { dir, disk } = target(server);
      const local = tmpDir();
      writeTree(local, V1);
      await deploy(opts(server, local, dir));
      fs.rmSync(local, { recursive: true });
      writeTree(local, V2);
      hook.requests = [];
      hook.answer = () => 200;
      hook.onRequest = () => live(disk);
      const url = `${hook.base}/deploy?token=real-${server.name}`;
      await deploy(opts(server, local, dir, { atomic, maintenanceUrl: url }));
      expect(hook.requests.map((r) => r.body.event)).toEqual(['start', 'end']);
      const [start, end] = hook.requests;
      // Atomic: the new file went up before "start", with the site online (as the maintenance file).
      expect(start.seen).toEqual(atomic ? { ...V1, 'new.html': 'new' } : V1);
      expect(end.seen).toEqual(V2);
      expect(start.body.counts).toMatchObject({ upload: 1, replace: 2, delete: 2, rmdir: 1 });
    },
  );

  if (server.software === 'pure-ftpd') {
    it('a deploy the server fails half way (atomic: false) sends "failed" with the error', async () => {
      const { dir, disk } = target(server);
      const local = tmpDir();
      writeTree(local, V1);
      await deploy(opts(server, local, dir));
      writeTree(local, { 'index.html': 'v2', 'bad\\name.html': 'x' }); // pure-ftpd: 553 on that name
      hook.requests = [];
      hook.answer = () => 204;
      hook.onRequest = () => live(disk);
      const err = await deploy(
        opts(server, local, dir, { atomic: false, retries: 0, maintenanceUrl: `${hook.base}/deploy` }),
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DeployError);
      expect(hook.requests.map((r) => r.body.event)).toEqual(['start', 'failed']);
      expect(hook.requests[1].body.error).toBe((err as Error).message.split('\n')[0]);
      expect(hook.requests[1].body.error).toContain('bad\\name.html');
    });
  }
});
