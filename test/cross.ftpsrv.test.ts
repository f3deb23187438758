/**
 * Where features meet (ftp-srv in this process): --no-replace / --delete-only with the maintenance marker and
 * the maintenance hook.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ConfigError, deploy, type DeployOptions } from '../src/index.js';
import type { EmbeddedServer } from '../src/embedded-server.js';
import { deployOptions, embeddedFailing } from './helpers/embedded.js';
import { hookServer, type HookServer } from './helpers/hook-server.js';
import { recorder } from './helpers/protocol.js';
import { tmpDir, uniqueName, writeTree } from './helpers/tmp.js';

let srv: EmbeddedServer;
let hook: HookServer;
beforeAll(async () => {
  srv = await embeddedFailing(() => undefined);
  hook = await hookServer();
});
afterAll(async () => {
  await hook.close();
  await srv.close();
});

const MARKER = '.maintenance';
const opts = (local: string, dir: string, extra: Partial<DeployOptions> = {}): DeployOptions =>
  deployOptions(srv, local, dir, {
    retries: 0,
    maintenanceUrl: `${hook.base}/hook`,
    maintenance: { path: MARKER },
    ...extra,
  });

/** Events the hook got, and whether the marker was on the server's disk at each. */
function listen(dir: string): void {
  hook.requests = [];
  hook.answer = () => 204;
  hook.onRequest = () => fs.existsSync(path.join(srv.root, dir, MARKER));
}
const events = (): string[] => hook.requests.map((r) => `${r.body.event}${r.seen ? '+marker' : ''}`);

describe('toggles meet the maintenance marker and hook', () => {
  it('a run that only adds files (one large enough to go through a temp) announces nothing, with or without --no-replace', async () => {
    const dir = `/${uniqueName('h-cross')}`;
    const local = tmpDir();
    writeTree(local, { 'index.php': 'v1' });
    await deploy(opts(local, dir, { maintenanceUrl: undefined, maintenance: undefined }));
    writeTree(local, { 'index.php': 'v2', 'big.zip': 'x'.repeat(1024 * 1024 + 1) });
    listen(dir);
    const held = await deploy(opts(local, dir, { replace: false }));
    expect(held.held?.replace).toEqual(['index.php']);
    expect(held.counts).toMatchObject({ upload: 1, replace: 0, delete: 0 });
    writeTree(local, { 'big2.zip': 'y'.repeat(1024 * 1024 + 1) });
    const rec = recorder();
    await deploy(opts(local, dir, { replace: false }), rec);
    expect(events()).toEqual([]);
    // Nor is the marker put up (its temp would be stored, then renamed).
    expect(rec.log.filter((l) => /^> (STOR|RNTO|DELE) /.test(l) && l.includes(MARKER))).toEqual([]);
    expect(rec.log.some((l) => /^> RNTO .*big2\.zip/.test(l))).toBe(true);
    // A plain run replaces the held file: announced, the marker up between start and end.
    await deploy(opts(local, dir));
    expect(events()).toEqual(['start', 'end']);
    expect(fs.readFileSync(path.join(srv.root, dir, 'index.php'), 'utf8')).toBe('v2');
  });

  it('--delete-only deletes live files: announced (start, marker, end); --no-atomic too; a dry run calls nothing', async () => {
    const dir = `/${uniqueName('h-cross')}`;
    const local = tmpDir();
    writeTree(local, { 'index.php': 'v1', 'old.php': 'o', 'old2.php': 'o2' });
    await deploy(opts(local, dir, { maintenanceUrl: undefined, maintenance: undefined }));
    fs.rmSync(path.join(local, 'old.php'));
    writeTree(local, { 'index.php': 'v2', 'new.php': 'n' });
    listen(dir);
    await deploy(opts(local, dir, { deleteOnly: true, dryRun: true }));
    expect(events()).toEqual([]);
    const r = await deploy(opts(local, dir, { deleteOnly: true }));
    expect(r.counts).toMatchObject({ upload: 0, replace: 0, delete: 1 });
    expect(events()).toEqual(['start', 'end']);
    expect(fs.existsSync(path.join(srv.root, dir, MARKER))).toBe(false);
    fs.rmSync(path.join(local, 'old2.php'));
    listen(dir);
    await deploy(opts(local, dir, { deleteOnly: true, atomic: false }));
    expect(events()).toEqual(['start', 'end']);
    expect(fs.existsSync(path.join(srv.root, dir, 'old2.php'))).toBe(false);
    expect(fs.readFileSync(path.join(srv.root, dir, 'index.php'), 'utf8')).toBe('v1');
  });
});

describe('--no-atomic: the marker for the whole run', () => {
  it('a --no-replace --no-atomic run that changes no live path (a changed file held, an exclude dropped from the state) puts no marker up and calls no hook', async () => {
    const dir = `/${uniqueName('h-cross')}`;
    const local = tmpDir();
    writeTree(local, { 'index.php': 'v1', 'notes.txt': 'n' });
    await deploy(opts(local, dir, { maintenanceUrl: undefined, maintenance: undefined }));
    writeTree(local, { 'index.php': 'v2' });
    listen(dir);
    const rec = recorder();
    const r = await deploy(opts(local, dir, { replace: false, atomic: false, exclude: ['notes.txt'] }), rec);
    expect(r.held?.replace).toEqual(['index.php']);
    expect(r.files).toEqual([]);
    expect(events()).toEqual([]);
    expect(rec.log.filter((l) => /^> (STOR|RNTO|DELE) /.test(l) && l.includes(MARKER))).toEqual([]);
  });
});

describe('toggles meet --verify', () => {
  it.each([['deleteOnly'], ['noReplace']])(
    '%s --verify: a file changed on the server is not vouched for; a plain run then repairs it, then nothing to do',
    async (which) => {
      const dir = `/${uniqueName('h-cross')}`;
      const local = tmpDir();
      writeTree(local, { 'index.php': 'v1', 'a.php': 'a', 'old.php': 'o' });
      const plain = (extra: Partial<DeployOptions> = {}): DeployOptions =>
        opts(local, dir, { maintenanceUrl: undefined, maintenance: undefined, ...extra });
      await deploy(plain());
      fs.writeFileSync(path.join(srv.root, dir, 'a.php'), 'tampered!');
      fs.rmSync(path.join(local, 'old.php'));
      const toggle = which === 'deleteOnly' ? { deleteOnly: true } : { replace: false };
      const dry = await deploy(plain({ ...toggle, verify: true, dryRun: true }));
      const r = await deploy(plain({ ...toggle, verify: true }));
      expect(r.files).toEqual(dry.files);
      expect(r.held).toEqual(dry.held);
      await deploy(plain());
      expect(fs.readFileSync(path.join(srv.root, dir, 'a.php'), 'utf8')).toBe('a');
      expect(fs.existsSync(path.join(srv.root, dir, 'old.php'))).toBe(false);
      expect((await deploy(plain({ verify: true }))).files).toEqual([]);
    },
  );
});

describe('toggles meet --reset-state', () => {
  it('--delete-only --reset-state is a usage error: nothing is deleted and the state is not emptied', async () => {
    const dir = `/${uniqueName('h-cross')}`;
    const local = tmpDir();
    writeTree(local, { 'index.php': 'v1', 'old.php': 'o' });
    const plain = (extra: Partial<DeployOptions> = {}): DeployOptions =>
      opts(local, dir, { maintenanceUrl: undefined, maintenance: undefined, ...extra });
    await deploy(plain());
    const statePath = path.join(srv.root, dir, '.ftpship-state.json');
    const state = fs.readFileSync(statePath, 'utf8');
    fs.rmSync(path.join(local, 'old.php'));
    const err = await deploy(plain({ deleteOnly: true, resetState: true })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('drop one of --delete-only and --reset-state');
    expect(fs.readFileSync(statePath, 'utf8')).toBe(state);
    // The next plain run deletes the orphan, as the state still lists it.
    expect((await deploy(plain())).files.map((f) => `${f.action} ${f.path}`)).toEqual(['delete old.php']);
  });
});
