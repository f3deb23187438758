/**
 * A mutation audit of src/engine/execute.ts (the deploy's execution): behaviours no other test pinned, each
 * test written to fail with one mutant of execute.ts applied. ftp-srv in-process; the state's uploads can be
 * made to crawl (`slowState`) so that what a deploy sends before its first checkpoint is in place shows in
 * the order of its commands.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { deploy, DeployError, type DeployOptions } from '../src/index.js';
import { deployOptions, useEmbedded } from './helpers/embedded.js';
import { throttled } from './helpers/faults.js';
import { recorder, sent } from './helpers/protocol.js';
import { bytes, readTree, tmpDir, uniqueName, writeTree } from './helpers/tmp.js';

const STATE = '.ftpship-state.json';
const MARKER = '.maintenance';

/** While true, uploads of the state (its checkpoints) and of the maintenance file crawl at 256 bytes a second. */
let slowState = false;
const server = useEmbedded({
  wrapUpload: (fsPath, stream) =>
    slowState && (fsPath.includes(STATE) || fsPath.includes(MARKER)) ? throttled(stream, 256) : stream,
});

const opts = (localDir: string, remoteDir: string, extra: Partial<DeployOptions> = {}): DeployOptions =>
  deployOptions(server(), localDir, remoteDir, extra);
const disk = (dir: string): string => path.join(server().root, dir);

/**
 * A proxy in front of ftp-srv that passes each command line on as `rewrite` gives it, every line of a chunk in
 * one write (helpers/faults' linesProxy writes them one by one: ftp-srv then answers a pipelined RNTO before
 * its RNFR is done, 503).
 */
async function rewritingProxy(
  rewrite: (line: string) => string,
): Promise<{ port: number; close: () => Promise<void> }> {
  const live = new Set<net.Socket>();
  const proxy = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: server().port });
    for (const s of [client, upstream]) {
      live.add(s);
      const drop = (): void => {
        client.destroy();
        upstream.destroy();
        live.delete(client);
        live.delete(upstream);
      };
      s.on('error', drop);
      s.on('close', drop);
    }
    upstream.pipe(client);
    let pending = '';
    client.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      const end = pending.lastIndexOf('\r\n');
      if (end === -1) return;
      const lines = pending.slice(0, end).split('\r\n');
      pending = pending.slice(end + 2);
      upstream.write(lines.map((l) => `${rewrite(l)}\r\n`).join(''), 'latin1');
    });
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
  return {
    port: (proxy.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of live) s.destroy();
      await new Promise<void>((r) => proxy.close(() => r()));
    },
  };
}

describe('execute.ts audit: the first checkpoint', () => {
  it('a later deploy sends no new folder and no new file before its first checkpoint is in place (a kill meanwhile left them untracked)', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home' });
    const dir = `/${uniqueName('x-audit')}`;
    await deploy(opts(local, dir));
    writeTree(local, { 'top.txt': 'new', 'new/n.txt': 'n' });

    const rec = recorder();
    slowState = true;
    try {
      const r = await deploy(opts(local, dir), rec);
      expect(r.counts).toMatchObject({ upload: 2, mkdir: 1 });
    } finally {
      slowState = false;
    }
    // The checkpoint's rename is the first RNTO of the state; every change of the site comes after it.
    const checkpoint = rec.log.indexOf(`> RNTO ${dir}/${STATE}`);
    expect(checkpoint).toBeGreaterThan(-1);
    expect(rec.log.indexOf(`> MKD ${dir}/new`)).toBeGreaterThan(checkpoint);
    expect(rec.log.indexOf(`> STOR ${dir}/top.txt`)).toBeGreaterThan(checkpoint);
    expect(rec.log.indexOf(`> STOR ${dir}/new/n.txt`)).toBeGreaterThan(checkpoint);
    expect(readTree(disk(dir), [STATE])).toEqual(readTree(local));
  });
});

describe('execute.ts audit: a run that changes no path of the site', () => {
  it('--no-atomic with a maintenance file: a deploy that only drops a newly excluded file from the state puts up no marker', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home', 'old.txt': 'old' });
    const dir = `/${uniqueName('x-audit')}`;
    const maintenance = { path: MARKER };
    await deploy(opts(local, dir, { atomic: false, maintenance }));

    const rec = recorder();
    const r = await deploy(opts(local, dir, { atomic: false, maintenance, exclude: ['old.txt'] }), rec);
    expect(r.counts).toMatchObject({ upload: 0, replace: 0, delete: 0, mkdir: 0, rmdir: 0 });
    // The state was rewritten (old.txt left it), yet no path of the site changed: no marker went up.
    const state = JSON.parse(fs.readFileSync(path.join(disk(dir), STATE), 'utf8')) as { files: object };
    expect(Object.keys(state.files)).toEqual(['index.html']);
    expect(sent(rec.log, 'STOR').filter((p) => p.includes(MARKER))).toEqual([]);
    expect(fs.readFileSync(path.join(disk(dir), 'old.txt'), 'utf8')).toBe('old');
  });
});

describe('execute.ts audit: the maintenance file', () => {
  it('--no-atomic, a first deploy over files already there (no state): the marker is up before the first file is written in place', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home v2', 'a/page.html': 'page v2' });
    const dir = `/${uniqueName('x-audit')}`;
    writeTree(disk(dir), { 'index.html': 'home v1', 'a/page.html': 'page v1' });

    const rec = recorder();
    slowState = true;
    try {
      await deploy(opts(local, dir, { atomic: false, maintenance: { path: MARKER } }), rec);
    } finally {
      slowState = false;
    }
    const up = rec.log.indexOf(`> RNTO ${dir}/${MARKER}`);
    expect(up).toBeGreaterThan(-1);
    expect(rec.log.indexOf(`> STOR ${dir}/index.html`)).toBeGreaterThan(up);
    expect(rec.log.indexOf(`> STOR ${dir}/a/page.html`)).toBeGreaterThan(up);
    expect(readTree(disk(dir), [STATE])).toEqual(readTree(local));
  });

  it('a deploy that only adds files, one of them large (sent through a temporary name and renamed in): no marker', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home' });
    const dir = `/${uniqueName('x-audit')}`;
    const maintenance = { path: MARKER };
    await deploy(opts(local, dir, { maintenance }));
    writeTree(local, { 'big.bin': bytes(1024 * 1024 + 1) });

    const rec = recorder();
    const r = await deploy(opts(local, dir, { maintenance }), rec);
    expect(r.counts).toMatchObject({ upload: 1, replace: 0, delete: 0 });
    // It went through a temp, renamed in (no live file changed: nothing for a visitor to see half done).
    expect(sent(rec.log, 'RNTO')).toContain(`${dir}/big.bin`);
    expect(rec.log.filter((l) => /^> (STOR|RNTO|DELE) /.test(l) && l.includes(MARKER))).toEqual([]);
    expect(readTree(disk(dir), [STATE])).toEqual(readTree(local));
  });
});

describe('execute.ts audit: folders', () => {
  it('MKD answered 425 (a 4xx): tried again, and the folder is made with no warning that it went missing', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home' });
    const dir = `/${uniqueName('x-audit')}`;
    await deploy(opts(local, dir));
    writeTree(local, { 'sub/f.txt': 'f' });

    // The first MKD of sub reaches ftp-srv as a bad PORT, which it answers 425 (a 4xx from the server itself,
    // so in order with its other replies).
    let busy = 0;
    const proxy = await rewritingProxy((line) =>
      line === `MKD ${dir}/sub` && busy++ === 0 ? 'PORT 1' : line,
    );
    try {
      const rec = recorder();
      const r = await deploy({ ...opts(local, dir), port: proxy.port }, rec);
      expect(busy).toBe(2); // the refused MKD and the one sent again
      expect(r.counts).toMatchObject({ upload: 1, mkdir: 1 });
      // Only the retry is said; not that the folder went missing (it was never made, and is made now).
      expect(rec.warnings).toHaveLength(1);
      expect(rec.warnings[0]).toMatch(new RegExp(`^create folders \\(1\\): MKD ${dir}/sub: 425 .*retrying`));
    } finally {
      await proxy.close();
    }
    expect(readTree(disk(dir), [STATE])).toEqual(readTree(local));
  });

  it('a large file whose new folder the server refuses to make: the deploy fails, and the state keeps no temporary name for it (nothing was sent to one)', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home' });
    const dir = `/${uniqueName('x-audit')}`;
    await deploy(opts(local, dir));
    writeTree(local, { 'new/big.bin': bytes(1024 * 1024 + 1) });

    // Its MKD reaches ftp-srv as one under a file, which it refuses with 550.
    const proxy = await rewritingProxy((line) =>
      line === `MKD ${dir}/new` ? `MKD ${dir}/index.html/new` : line,
    );
    try {
      const err = await deploy({ ...opts(local, dir), port: proxy.port }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DeployError);
      expect((err as Error).message).toContain(`${dir}/new`);
    } finally {
      await proxy.close();
    }
    const state = JSON.parse(fs.readFileSync(path.join(disk(dir), STATE), 'utf8')) as {
      pending?: { temps?: Record<string, { path: string }> };
    };
    expect(Object.values(state.pending?.temps ?? {}).map((t) => t.path)).not.toContain('new/big.bin');
    expect(fs.existsSync(path.join(disk(dir), 'new'))).toBe(false);
  });
});

describe('execute.ts audit: orphan folders', () => {
  it('a folder kept as it holds a file ftpship did not deploy: its parent stays too, with no RMD and no warning of its own', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home', 'a/b/f.txt': 'f' });
    const dir = `/${uniqueName('x-audit')}`;
    await deploy(opts(local, dir));
    writeTree(disk(dir), { 'a/b/by-hand.txt': 'not deployed' });
    fs.rmSync(path.join(local, 'a'), { recursive: true });

    const rec = recorder();
    const r = await deploy(opts(local, dir), rec);
    expect(r.counts).toMatchObject({ delete: 1, rmdir: 0 }); // both kept: neither counted as removed
    expect(rec.warnings).toHaveLength(1);
    expect(rec.warnings[0]).toMatch(/^kept folder a\/b: /);
    expect(sent(rec.log, 'RMD').filter((p) => p.startsWith(`${dir}/a`))).toEqual([`${dir}/a/b`]);
    expect(Object.keys(readTree(disk(dir), [STATE])).sort()).toEqual(['a/b/by-hand.txt', 'index.html']);
  });
});
