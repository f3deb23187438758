/**
 * The deploy's `encoding` option (CLI --encoding, Action `encoding`, gulp `encoding`) on vsftpd, which keeps the
 * bytes it is sent as the name on disk (utf8_filesystem off, its default): with 'latin1', `café.html` is
 * `caf\xE9.html` there, as a latin1 site links to it (was: always UTF-8, `caf\xC3\xA9.html`, and no way to ask).
 * The names on disk are compared as bytes: a latin1 name is not UTF-8 text.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe as plain, expect, it } from '@jest/globals';
import gulp from 'gulp';
import { deploy, ConfigError } from '../src/index.js';
import { deploy as gulpDeploy } from '../gulp-plugin/index.js';
import { runMain } from './helpers/action-main.js';
import { actionWorkspace } from './helpers/action.js';
import { assertBuilt, spawnCli } from './helpers/cli-spawn.js';
import { gulpOptions, runTask } from './helpers/gulp-tasks.js';
import { realServerSuite, remoteFolders } from './helpers/real-servers.js';
import { tmpDir, writeTree } from './helpers/tmp.js';
import { caught } from './helpers/fake-client.js';
import { parseState } from '../src/engine/state.js';

const { describe, env, opts } = realServerSuite('encoding-deploy.realservers');
const folder = remoteFolders('h-enc6');
const STATE = '.ftpship-state.json';

/** A name's bytes in hex, as `caf\xE9.html` has them in latin1 or UTF-8. */
const hex = (name: string, enc: 'latin1' | 'utf8'): string => Buffer.from(name, enc).toString('hex');

/**
 * Every entry under `disk`, by the hex of its path's bytes: content and mtime for a file (so a rerun that
 * wrote anything shows), `dir` for a folder.
 */
function onDisk(disk: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: Buffer, rel: string): void => {
    for (const name of fs.readdirSync(dir, { encoding: 'buffer' })) {
      const full = Buffer.concat([dir, Buffer.from('/'), name]);
      const key = rel ? `${rel}2f${name.toString('hex')}` : name.toString('hex');
      const st = fs.lstatSync(full);
      if (st.isDirectory()) {
        out[key] = 'dir';
        walk(full, key);
      } else out[key] = `${fs.readFileSync(full, 'latin1')} @${st.mtimeMs}`;
    }
  };
  if (fs.existsSync(disk)) walk(Buffer.from(disk), '');
  return out;
}

/** The paths on disk (hex), without their contents. */
const names = (disk: string): string[] => Object.keys(onDisk(disk)).sort();

const state = (disk: string): { files: Record<string, unknown>; dirs: string[]; encoding?: string } =>
  JSON.parse(fs.readFileSync(path.join(disk, STATE), 'utf8')) as {
    files: Record<string, unknown>;
    dirs: string[];
    encoding?: string;
  };

const SITE = { 'index.html': '<a href="café.html">café</a>', 'café.html': 'menu', 'thé/vert.html': 'vert' };

/** The paths SITE is on disk under, in an encoding (hex). */
const siteNames = (enc: 'latin1' | 'utf8'): string[] =>
  [
    hex('index.html', 'utf8'),
    hex('café.html', enc),
    hex('thé', enc),
    `${hex('thé', enc)}2f${hex('vert.html', 'utf8')}`,
    hex(STATE, 'utf8'),
    hex(`${STATE}.bak`, 'utf8'),
  ].sort();

describe('deploy with encoding latin1 on vsftpd', () => {
  beforeAll(() => assertBuilt());

  it("encoding 'latin1': names go as ISO 8859-1 bytes (caf\\xE9.html); a rerun is a no-op", async () => {
    const server = env.vsftpd;
    const { dir, disk } = folder(server);
    const local = tmpDir('h-enc6-');
    writeTree(local, SITE);
    const first = await deploy(opts(server, local, dir, { encoding: 'latin1' }));
    expect(first.counts).toMatchObject({ upload: 3, mkdir: 1 });
    expect(names(disk)).toEqual(siteNames('latin1'));
    expect(fs.readFileSync(Buffer.from(`${disk}/caf\xe9.html`, 'latin1'), 'utf8')).toBe('menu');
    // The state records the names as text, and the encoding they were sent in.
    const s = state(disk);
    expect(Object.keys(s.files).sort()).toEqual(['café.html', 'index.html', 'thé/vert.html']);
    expect(s.dirs).toEqual(['thé']);
    expect(s.encoding).toBe('latin1');

    const before = onDisk(disk);
    const again = await deploy(opts(server, local, dir, { encoding: 'latin1' }));
    expect(again.counts).toEqual({ mkdir: 0, upload: 0, replace: 0, delete: 0, rmdir: 0, unchanged: 3 });
    expect(onDisk(disk)).toEqual(before);
  });

  it('switching an existing deploy from utf8 to latin1 and back: the non-ASCII names are sent under the new bytes and the old ones deleted; each rerun is a no-op', async () => {
    const server = env.vsftpd;
    const { dir, disk } = folder(server);
    const local = tmpDir('h-enc6-');
    writeTree(local, SITE);
    await deploy(opts(server, local, dir));
    expect(names(disk)).toEqual(siteNames('utf8'));
    expect(state(disk).encoding).toBeUndefined();

    const toLatin1 = await deploy(opts(server, local, dir, { encoding: 'latin1' }));
    // Without the translation, the state's `café.html` was taken for the latin1 file: nothing was sent (G4).
    expect(toLatin1.counts).toEqual({ mkdir: 1, upload: 2, replace: 0, delete: 2, rmdir: 1, unchanged: 1 });
    expect(names(disk)).toEqual(siteNames('latin1'));
    const latin1 = onDisk(disk);
    expect((await deploy(opts(server, local, dir, { encoding: 'latin1' }))).counts).toMatchObject({
      upload: 0,
      delete: 0,
      mkdir: 0,
      unchanged: 3,
    });
    expect(onDisk(disk)).toEqual(latin1);

    const back = await deploy(opts(server, local, dir, { encoding: 'utf8' }));
    expect(back.counts).toEqual({ mkdir: 1, upload: 2, replace: 0, delete: 2, rmdir: 1, unchanged: 1 });
    expect(names(disk)).toEqual(siteNames('utf8'));
    expect(state(disk).encoding).toBeUndefined();
    expect((await deploy(opts(server, local, dir))).counts).toMatchObject({
      upload: 0,
      delete: 0,
      unchanged: 3,
    });
  });

  it('after a switch, a new name whose bytes another tool put on the server goes up through a temporary name, never written in place (G2)', async () => {
    const server = env.vsftpd;
    const { dir, disk } = folder(server);
    const local = tmpDir('h-enc6-');
    writeTree(local, { 'index.html': 'home', 'café.html': 'menu' });
    await deploy(opts(server, local, dir));
    // The live latin1 page an old tool uploaded, which ftpship's UTF-8 deploys never touched.
    const live = Buffer.from(`${disk}/caf\xe9.html`, 'latin1');
    fs.writeFileSync(live, 'old menu');
    fs.chownSync(live, server.uid, server.gid);
    const sent: string[] = [];
    const report = await deploy(opts(server, local, dir, { encoding: 'latin1' }), {
      protocol: (line) => sent.push(line),
    });
    expect(report.counts).toMatchObject({ upload: 1, delete: 1, unchanged: 1 });
    expect(sent.filter((l) => /^> (STOR|APPE) /.test(l) && l.includes('café.html'))).toEqual([]);
    expect(sent).toContainEqual(`> RNTO ${dir}/café.html`);
    expect(fs.readFileSync(live, 'utf8')).toBe('menu');
  });

  it('CLI --encoding latin1: the bytes on disk are latin1, a rerun sends nothing; 日本.html is refused (exit 2) naming it, nothing changed', async () => {
    const server = env.vsftpd;
    const { dir, disk } = folder(server);
    const local = tmpDir('h-enc6-');
    writeTree(local, { 'index.html': 'home', 'café.html': 'menu' });
    const url = `ftpes://${server.user}@${server.host}:${server.port}${dir}`;
    const args = [local, url, '--ca', env.ca, '--encoding', 'latin1', '--json'];
    const cliEnv = { FTPSHIP_PASSWORD: server.password };
    const first = await spawnCli(['deploy', ...args], { env: cliEnv });
    expect(first.code).toBe(0);
    expect(names(disk)).toEqual(
      [
        hex('café.html', 'latin1'),
        hex('index.html', 'utf8'),
        hex(STATE, 'utf8'),
        hex(`${STATE}.bak`, 'utf8'),
      ].sort(),
    );
    const deployed = onDisk(disk);

    const again = await spawnCli(['deploy', ...args], { env: cliEnv });
    expect(again.code).toBe(0);
    expect((JSON.parse(again.stdout) as { counts: unknown }).counts).toEqual({
      mkdir: 0,
      upload: 0,
      replace: 0,
      delete: 0,
      rmdir: 0,
      unchanged: 2,
    });

    // A name latin1 has no byte for, among changes that could go: refused before any of them.
    writeTree(local, { 'index.html': 'home, changed', '日本.html': 'nihon' });
    const refused = await spawnCli(['deploy', ...args], { env: cliEnv });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(
      `ftpship: error: local path "日本.html" holds "日" (U+65E5), which --encoding latin1 cannot send (only U+0000 to U+00FF): rename it, leave it out with --exclude '/日本\\.html', or deploy with the default encoding, utf8, if the server takes UTF-8 names\n`,
    );
    expect(onDisk(disk)).toEqual(deployed);
    // The library's error is a ConfigError too; the exclude it names lets the rest go.
    const err = await caught(deploy(opts(server, local, dir, { encoding: 'latin1' })));
    expect(err).toBeInstanceOf(ConfigError);
    expect(onDisk(disk)).toEqual(deployed);
    const excluded = await spawnCli(['deploy', ...args, '--exclude', '/日本\\.html'], { env: cliEnv });
    expect(excluded.code).toBe(0);
    expect(fs.readFileSync(path.join(disk, 'index.html'), 'utf8')).toBe('home, changed');
  });

  it('the Action input `encoding` (any case) and the gulp option `encoding` send latin1 names; a bad value names it and the two', async () => {
    const server = env.vsftpd;
    const { dir, disk } = folder(server);
    const { ws } = actionWorkspace({ 'café.html': 'menu' });
    const inputs = {
      server: server.host,
      port: String(server.port),
      username: server.user,
      password: server.password,
      protocol: 'ftps',
      ca: fs.readFileSync(env.ca, 'utf8'),
      'local-dir': 'public/',
      'server-dir': `${dir}/`,
    };
    const bad = await runMain(ws, { ...inputs, encoding: 'cp1252' });
    expect(bad.status).toBe(1);
    expect(bad.stdout).toContain(
      `invalid encoding "cp1252"; use 'utf8' (the default: UTF-8 names) or 'latin1' (a server that keeps names as ISO 8859-1 bytes)`,
    );
    expect(fs.existsSync(disk)).toBe(false);
    const run = await runMain(ws, { ...inputs, encoding: 'LATIN1' });
    expect(run.status).toBe(0);
    expect(names(disk)).toEqual(
      [hex('café.html', 'latin1'), hex(STATE, 'utf8'), hex(`${STATE}.bak`, 'utf8')].sort(),
    );

    const g = folder(server);
    const local = tmpDir('h-enc6-');
    writeTree(local, { 'thé.html': 'tea' });
    const publish = (extra: object) => (): NodeJS.ReadWriteStream =>
      gulp
        .src('**/*', { cwd: local, encoding: false })
        .pipe(gulpDeploy(gulpOptions(opts(server, local, g.dir), extra)));
    // gulp.src's option given to the plugin: said so, not "give it as a string".
    const mistaken = await runTask(publish({ encoding: false }));
    expect(String(mistaken)).toContain(
      "invalid encoding false: here encoding is how names are sent, 'utf8' (the default) or 'latin1'",
    );
    expect(await runTask(publish({ encoding: 'latin1' }))).toBeUndefined();
    expect(names(g.disk)).toEqual(
      [hex('thé.html', 'latin1'), hex(STATE, 'utf8'), hex(`${STATE}.bak`, 'utf8')].sort(),
    );
  });
});

plain("deploy()'s encoding option", () => {
  it.each([5, false, 'latin-1'])(
    'encoding %j: a ConfigError naming the value and the two accepted, before connecting',
    async (value) => {
      const err = await caught(
        deploy({ host: '127.0.0.1', port: 1, localDir: tmpDir('h-enc6-'), encoding: value as never }),
      );
      expect(err).toBeInstanceOf(ConfigError);
      expect(err.message).toMatch(
        new RegExp(
          `^invalid --encoding ${JSON.stringify(value)}; use 'utf8' \\(the default: UTF-8 names\\) or 'latin1' `,
        ),
      );
    },
  );
});

/** A state read under the other encoding: every path it holds, the checkpoint's too, names the same bytes. */
plain('a state read under the other encoding', () => {
  const sha = 'a'.repeat(64);
  const text = (encoding?: string): string =>
    JSON.stringify({
      version: 1,
      generator: 'ftpship',
      settings: 's',
      updatedAt: '2026-01-01T00:00:00.000Z',
      target: '/site',
      files: { 'thé/café.html': { size: 1, sha256: sha }, 'a.html': { size: 1, sha256: sha } },
      dirs: ['thé'],
      ...(encoding ? { encoding } : {}),
      pending: {
        temps: { 'thé/.ftpship-0123456789abcdef0123.tmp': { path: 'thé/x.html', size: 1, sha256: sha } },
        uncertain: ['thé/y.html'],
        dirs: ['thé/sub'],
      },
    });

  it('utf8 to latin1: each non-ASCII name becomes its UTF-8 bytes read as latin1; ASCII names stay', () => {
    const s = parseState(text(), 'here', 's', 'latin1');
    expect(Object.keys(s.files)).toEqual(['thÃ©/cafÃ©.html', 'a.html']);
    expect(s.dirs).toEqual(['thÃ©']);
    expect(s.encoding).toBe('latin1');
    expect(s.pending).toEqual({
      temps: { 'thÃ©/.ftpship-0123456789abcdef0123.tmp': { path: 'thÃ©/x.html', size: 1, sha256: sha } },
      uncertain: ['thÃ©/y.html'],
      dirs: ['thÃ©/sub'],
    });
  });

  it('latin1 to utf8: a byte that is not UTF-8 is kept as a lone surrogate; the same encoding reads as written', () => {
    const s = parseState(text('latin1'), 'here', 's', 'utf8');
    expect(Object.keys(s.files)).toEqual(['th\uDCE9/caf\uDCE9.html', 'a.html']);
    expect(s.encoding).toBeUndefined();
    expect(Object.keys(parseState(text('latin1'), 'here', 's', 'latin1').files)).toEqual([
      'thé/café.html',
      'a.html',
    ]);
    expect(() => parseState(text('cp1252'), 'here', 's', 'latin1')).toThrow(/unreadable: bad encoding/);
  });
});
