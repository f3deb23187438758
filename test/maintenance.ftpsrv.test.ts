/**
 * The maintenance marker (`maintenance`, CLI `--maintenance PATH [--maintenance-content TEXT]`, Action
 * `maintenance-file`): a file on the server while live files change, removed after (FIELD.md complaint 10 and
 * wish 14; FTP-Deploy-Action #242 users relied on git-ftp's lock file for this). ftp-srv in-process; the
 * marker is looked for on the server's disk at the moment each command goes out.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ConfigError, deploy, DeployError, type DeployOptions } from '../src/index.js';
import type { EmbeddedServer } from '../src/embedded-server.js';
import { deployOptions, embeddedFailing } from './helpers/embedded.js';
import { recorder, sent } from './helpers/protocol.js';
import { readTree, snapshot, tmpDir, uniqueName, writeTree } from './helpers/tmp.js';

let srv: EmbeddedServer;
/** An upload to a path ending in this fails on the server's side (a full disk). */
let failOn: string | undefined;
beforeAll(async () => {
  srv = await embeddedFailing(() => failOn);
});
afterAll(async () => {
  await srv.close();
});

const STATE = '.ftpship-state.json';
const MARKER = '.maintenance';
const PHP = '<?php $upgrading = time(); ?>';
const opts = (localDir: string, remoteDir: string, extra: Partial<DeployOptions> = {}): DeployOptions =>
  deployOptions(srv, localDir, remoteDir, { retries: 0, ...extra });
const marker = (dir: string): string | undefined => {
  const p = path.join(srv.root, dir, MARKER);
  return fs.existsSync(p) ? fs.readFileSync(p, 'utf8') : undefined;
};

/** A reporter noting, for each command sent, whether the marker was on the server at that moment. */
function watching(dir: string): ReturnType<typeof recorder> & { upWhen: Map<string, boolean> } {
  const rec = recorder();
  const upWhen = new Map<string, boolean>();
  return {
    ...rec,
    upWhen,
    protocol: (line: string, id: number) => {
      rec.protocol?.(line, id);
      if (line.startsWith('> ')) upWhen.set(line, marker(dir) === PHP);
    },
  };
}

async function deployedSite(dir: string, extra: Partial<DeployOptions> = {}): Promise<string> {
  const local = tmpDir();
  writeTree(local, { 'index.php': 'v1', 'lib/a.php': 'a1', 'old.php': 'old' });
  await deploy(opts(local, dir, extra));
  fs.writeFileSync(path.join(local, 'index.php'), 'v2');
  fs.writeFileSync(path.join(local, 'lib/a.php'), 'a2');
  fs.rmSync(path.join(local, 'old.php'));
  fs.writeFileSync(path.join(local, 'new.php'), 'new');
  return local;
}

describe('maintenance marker', () => {
  it('atomic mode: up for the commit phase only (every rename and delete), down at the end, with the content asked', async () => {
    const dir = `/${uniqueName()}`;
    const local = await deployedSite(dir);
    const rec = watching(dir);
    await deploy(opts(local, dir, { maintenance: { path: MARKER, content: PHP } }), rec);
    const commits = [...rec.upWhen].filter(
      ([l]) => /^> (RNFR|RNTO|DELE) /.test(l) && !l.includes(STATE) && !l.includes(MARKER),
    );
    expect(commits.length).toBeGreaterThanOrEqual(5); // two renames (RNFR+RNTO) and one delete
    for (const [line, up] of commits) expect([line, up]).toEqual([line, true]);
    const stors = [...rec.upWhen].filter(
      ([l]) => l.startsWith('> STOR ') && !l.includes(STATE) && !l.includes(MARKER),
    );
    for (const [line, up] of stors) expect([line, up]).toEqual([line, false]); // the uploads ran with the site up
    expect(marker(dir)).toBeUndefined();
    expect(readTree(path.join(srv.root, dir), [STATE])).toEqual(readTree(local));
    expect(JSON.parse(fs.readFileSync(path.join(srv.root, dir, STATE), 'utf8')).pending).toBeUndefined();
  });

  it('atomic mode with only new files (nothing live changes): no marker at all', async () => {
    const local = tmpDir();
    writeTree(local, { 'a.php': 'a', 'b/c.php': 'c' });
    const dir = `/${uniqueName()}`;
    const rec = recorder();
    await deploy(opts(local, dir, { maintenance: { path: MARKER } }), rec);
    // Looked for (a file already there would be refused), never written or removed.
    expect(rec.log.filter((l) => l.includes(MARKER) && /^> (STOR|APPE|DELE|RNFR|RNTO) /.test(l))).toEqual([]);
    expect(rec.log.filter((l) => l.startsWith('> ') && l.includes(MARKER))).toEqual([
      `> SIZE ${dir}/${MARKER}`,
      `> CWD ${dir}/${MARKER}`,
    ]);
  });

  it('--no-atomic: up before the first upload and until the last change; the default content is a line of text', async () => {
    const dir = `/${uniqueName()}`;
    const local = await deployedSite(dir);
    const rec = recorder();
    let firstStorSawMarker: string | undefined;
    await deploy(opts(local, dir, { atomic: false, maintenance: { path: MARKER } }), {
      ...rec,
      protocol: (line, id) => {
        rec.protocol?.(line, id);
        if (
          line.startsWith('> STOR ') &&
          !line.includes(STATE) &&
          !line.includes(MARKER) &&
          firstStorSawMarker === undefined
        )
          firstStorSawMarker = marker(dir) ?? '(none)';
      },
    });
    expect(firstStorSawMarker).toBe('ftpship: deploy in progress\n');
    expect(marker(dir)).toBeUndefined();
    expect(readTree(path.join(srv.root, dir), [STATE])).toEqual(readTree(local));
  });

  it('a deploy that fails with the marker up leaves it (site in maintenance, not half-updated); the next deploy, even without the option, takes it down', async () => {
    const dir = `/${uniqueName()}`;
    const local = await deployedSite(dir);
    failOn = 'new.php';
    try {
      const err = await deploy(
        opts(local, dir, { atomic: false, maintenance: { path: MARKER, content: PHP } }),
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DeployError);
    } finally {
      failOn = undefined;
    }
    expect(marker(dir)).toBe(PHP);
    const state = JSON.parse(fs.readFileSync(path.join(srv.root, dir, STATE), 'utf8')) as {
      pending?: { maintenance?: string };
    };
    expect(state.pending?.maintenance).toBe(MARKER);
    // As if a kill had come between the marker's upload and its rename: its temporary copy is there too.
    fs.writeFileSync(path.join(srv.root, dir, `${MARKER}.tmp`), PHP);
    await deploy(opts(local, dir));
    expect(marker(dir)).toBeUndefined();
    expect(fs.existsSync(path.join(srv.root, dir, `${MARKER}.tmp`))).toBe(false);
    expect(readTree(path.join(srv.root, dir), [STATE])).toEqual(readTree(local));
  });

  it('a marker in a subfolder that does not exist yet is made with its folder, and both go after (real servers: maintenance.realservers)', async () => {
    const dir = `/${uniqueName()}`;
    const local = await deployedSite(dir);
    const rec = recorder();
    await deploy(opts(local, dir, { maintenance: { path: 'storage/framework/down', content: '{}' } }), rec);
    expect(sent(rec.log, 'STOR').some((p) => p.includes('storage/framework/down'))).toBe(true);
    expect(fs.existsSync(path.join(srv.root, dir, 'storage'))).toBe(false);
  });

  it('a folder an earlier run made for its marker, at a path now a file of the site: left, the file kept (was: RMD, which deleted it on ftp-srv)', async () => {
    const dir = `/${uniqueName()}`;
    const local = await deployedSite(dir);
    // As a run cut after it sent a file where its marker's folder was (removed since) leaves the state.
    const statePath = path.join(srv.root, dir, STATE);
    const state = JSON.parse(fs.readFileSync(statePath, 'utf8')) as Record<string, unknown>;
    state.pending = { temps: {}, uncertain: [], markerDirs: ['lib/a.php'] };
    fs.writeFileSync(statePath, JSON.stringify(state));
    fs.writeFileSync(path.join(local, 'lib/a.php'), 'a1'); // unchanged: only the others change
    const rec = recorder();
    await deploy(opts(local, dir), rec);
    expect(sent(rec.log, 'RMD')).toEqual([`${dir}/${STATE}.lock`]);
    expect(readTree(path.join(srv.root, dir), [STATE])).toEqual(readTree(local));
  });

  it.each([['../up.html'], ['/abs/.maintenance'], [''], ['a//b'], ['dir/']])(
    'path %p is a configuration error naming it',
    async (bad) => {
      const err = await deploy(opts(tmpDir(), '/never', { maintenance: { path: bad } })).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toContain(`invalid --maintenance ${JSON.stringify(bad)}`);
    },
  );

  it('a marker path that is also a local file is a configuration error, before any change', async () => {
    const local = tmpDir();
    writeTree(local, { '.maintenance': 'mine', 'a.php': 'a' });
    const dir = `/${uniqueName()}`;
    const rec = recorder();
    const err = await deploy(opts(local, dir, { maintenance: { path: MARKER } }), rec).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/maintenance file \.maintenance is also in the local folder/);
    for (const verb of ['STOR', 'MKD']) expect(sent(rec.log, verb)).toEqual([]);
  });

  it.each([['.ftpship-state.json'], ['.ftpship-state.json.tmp'], ['.ftpship-state.json.lock']])(
    'a marker at the state path (%s) is a configuration error: the state is left as it was',
    async (markerPath) => {
      const local = tmpDir();
      writeTree(local, { 'a.php': 'a' });
      const dir = `/${uniqueName()}`;
      await deploy(opts(local, dir));
      fs.writeFileSync(path.join(local, 'a.php'), 'b');
      const before = snapshot(path.join(srv.root, dir));
      const rec = recorder();
      const err = await deploy(opts(local, dir, { maintenance: { path: markerPath } }), rec).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toBe(
        `the maintenance file ${markerPath} is where ftpship keeps its state (${dir}/.ftpship-state.json); name another path, such as .maintenance`,
      );
      expect(snapshot(path.join(srv.root, dir))).toEqual(before);
      for (const verb of ['STOR', 'MKD', 'DELE', 'RNFR']) expect(sent(rec.log, verb)).toEqual([]);
    },
  );
});
