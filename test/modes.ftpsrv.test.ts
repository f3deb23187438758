/**
 * File and folder permissions (`fileMode` / `dirMode`, CLI `--file-mode` / `--dir-mode`), set with SITE CHMOD:
 * a field request (FIELD.md complaint 14, "chmod / permissions") no state-based deploy tool meets. ftp-srv
 * in-process, modes read back from its folder on disk; deploy.realservers.test.ts proves the same on
 * pure-ftpd, vsftpd and proftpd.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ConfigError, deploy, type DeployOptions } from '../src/index.js';
import type { EmbeddedServer } from '../src/embedded-server.js';
import { deployOptions, embedded } from './helpers/embedded.js';
import { recorder, sent } from './helpers/protocol.js';
import { tmpDir, uniqueName, writeTree } from './helpers/tmp.js';

let srv: EmbeddedServer;
/** SITE CHMOD of paths ending in one of these fails (ftp-srv answers 500). */
const refused = new Set<string>();
beforeAll(async () => {
  srv = await embedded({ refuseChmod: (p) => [...refused].some((r) => p.endsWith(r)) });
});
afterAll(async () => {
  await srv.close();
});

const STATE = '.ftpship-state.json';
const opts = (localDir: string, remoteDir: string, extra: Partial<DeployOptions> = {}): DeployOptions =>
  deployOptions(srv, localDir, remoteDir, extra);
const modeOf = (dir: string, rel: string): string =>
  (fs.statSync(path.join(srv.root, dir, rel)).mode & 0o7777).toString(8);
const stateOf = (dir: string): { modes?: { file?: string; dir?: string } } =>
  JSON.parse(fs.readFileSync(path.join(srv.root, dir, STATE), 'utf8')) as { modes?: { file?: string } };
const chmods = (log: string[]): string[] => sent(log, 'SITE');

function site(): string {
  const local = tmpDir();
  writeTree(local, { 'index.html': 'home', 'a/b/page.html': 'page', 'a/x.txt': 'x' });
  return local;
}

describe('modes', () => {
  it('a first deploy sets them on every file and folder, records them, and a rerun sends no SITE at all', async () => {
    const local = site();
    const dir = `/${uniqueName()}`;
    const rec = recorder();
    const r = await deploy(opts(local, dir, { fileMode: '600', dirMode: '0700' }), rec);
    for (const f of ['index.html', 'a/b/page.html', 'a/x.txt']) expect(modeOf(dir, f)).toBe('600');
    for (const d of ['a', 'a/b']) expect(modeOf(dir, d)).toBe('700');
    expect(r.chmod).toEqual({ files: 3, dirs: 2 });
    expect(stateOf(dir).modes).toEqual({ file: '600', dir: '700' });
    expect(chmods(rec.log)).toHaveLength(5);

    const again = recorder();
    const r2 = await deploy(opts(local, dir, { fileMode: '600', dirMode: '700' }), again);
    expect(chmods(again.log)).toEqual([]);
    expect(sent(again.log, 'STOR')).toEqual([]); // not even the state: nothing changed
    expect(r2.chmod).toEqual({ files: 0, dirs: 0 });
  });

  it('a replaced file gets its mode on the temp, before the rename: it goes live with it', async () => {
    const local = site();
    const dir = `/${uniqueName()}`;
    await deploy(opts(local, dir, { fileMode: '640' }));
    fs.writeFileSync(path.join(local, 'a/x.txt'), 'x, edited');
    const rec = recorder();
    await deploy(opts(local, dir, { fileMode: '640' }), rec);
    expect(chmods(rec.log)).toHaveLength(1);
    const [chmod] = chmods(rec.log);
    expect(chmod).toMatch(new RegExp(`^CHMOD 640 ${dir}/a/\\.ftpship-[0-9a-f]+\\.tmp$`));
    const temp = chmod.split(' ')[2];
    expect(rec.log.indexOf(`> SITE ${chmod}`)).toBeLessThan(rec.log.indexOf(`> RNFR ${temp}`));
    expect(modeOf(dir, 'a/x.txt')).toBe('640');
    expect(fs.readFileSync(path.join(srv.root, dir, 'a/x.txt'), 'utf8')).toBe('x, edited');
  });

  it('a new mode reaches every deployed file without uploading any; dropping the option forgets it', async () => {
    const local = site();
    const dir = `/${uniqueName()}`;
    await deploy(opts(local, dir, { fileMode: '600' }));
    const rec = recorder();
    const r = await deploy(opts(local, dir, { fileMode: '644' }), rec);
    expect(r.counts).toMatchObject({ upload: 0, replace: 0, unchanged: 3 });
    expect(sent(rec.log, 'STOR').filter((p) => !p.includes(STATE))).toEqual([]);
    expect(chmods(rec.log).sort()).toEqual(
      ['a/b/page.html', 'a/x.txt', 'index.html'].map((f) => `CHMOD 644 ${dir}/${f}`),
    );
    for (const f of ['index.html', 'a/b/page.html', 'a/x.txt']) expect(modeOf(dir, f)).toBe('644');
    expect(stateOf(dir).modes).toEqual({ file: '644' });

    // Without the option ftpship no longer vouches for the modes: files uploaded now keep the server's,
    // so asking for 644 again later must set it everywhere again.
    await deploy(opts(local, dir));
    expect(stateOf(dir).modes).toBeUndefined();
    const back = recorder();
    await deploy(opts(local, dir, { fileMode: '644' }), back);
    expect(chmods(back.log)).toHaveLength(3);
  });

  it('a dry run sends no SITE and counts what it would set', async () => {
    const local = site();
    const dir = `/${uniqueName()}`;
    await deploy(opts(local, dir));
    const rec = recorder();
    const r = await deploy(opts(local, dir, { fileMode: '600', dirMode: '700', dryRun: true }), rec);
    expect(chmods(rec.log)).toEqual([]);
    expect(r.chmod).toEqual({ files: 3, dirs: 2 });
    expect(modeOf(dir, 'index.html')).not.toBe('600');
    expect(stateOf(dir).modes).toBeUndefined();
  });

  it('a file the server refuses to chmod is a warning: the content is deployed, the mode not recorded, the next run tries again', async () => {
    const local = site();
    const dir = `/${uniqueName()}`;
    refused.add('/a/b/page.html');
    try {
      const rec = recorder();
      await deploy(opts(local, dir, { fileMode: '600' }), rec);
      expect(rec.warnings.join('\n')).toMatch(
        /--file-mode 600: the server refused SITE CHMOD on 1 file\(s\), first .*page\.html: 500/,
      );
      expect(fs.readFileSync(path.join(srv.root, dir, 'a/b/page.html'), 'utf8')).toBe('page');
      expect(modeOf(dir, 'a/x.txt')).toBe('600');
      expect(stateOf(dir).modes).toBeUndefined();
    } finally {
      refused.clear();
    }
    const rec = recorder();
    await deploy(opts(local, dir, { fileMode: '600' }), rec);
    expect(chmods(rec.log)).toHaveLength(3);
    expect(rec.warnings).toEqual([]);
    expect(stateOf(dir).modes).toEqual({ file: '600' });
  });

  it('a server without SITE CHMOD is asked once per run, with one warning naming the option', async () => {
    const local = site();
    const dir = `/${uniqueName()}`;
    refused.add(''); // every path
    try {
      const rec = recorder();
      const r = await deploy(opts(local, dir, { fileMode: '600', dirMode: '700' }), rec);
      expect(chmods(rec.log)).toHaveLength(2); // one for the files, one for the folders
      expect(rec.warnings.filter((w) => /does not support SITE CHMOD/.test(w))).toHaveLength(2);
      expect(rec.warnings[0]).toMatch(/^--file-mode 600 not applied: .*drop --file-mode/);
      expect(r.counts).toMatchObject({ upload: 3 });
      expect(stateOf(dir).modes).toBeUndefined();
    } finally {
      refused.clear();
    }
  });

  it.each([['999'], ['64'], ['u+x'], ['0o644'], [644]])(
    'mode %p is a configuration error naming it, before any connection',
    async (bad) => {
      const rec = recorder();
      const err = await deploy(opts(site(), '/never', { fileMode: bad as string }), rec).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toContain(`invalid --file-mode ${JSON.stringify(bad)}`);
      expect((err as Error).message).toContain("'644'");
      expect(rec.log).toEqual([]);
    },
  );
});
