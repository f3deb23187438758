/**
 * FIELD.md §4.4 "write the state atomically (temp + rename) and keep a backup copy": a deploy that writes the
 * state keeps the state it read beside it, as `<state>.bak`; a damaged state stops the next deploy with an
 * error that names that copy and how to go back to it (against ftp-srv in-process; the copy's write on the
 * three Debian servers: state-backup.realservers.test.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ConfigError, deploy, DeployError, type DeployOptions } from '../src/index.js';
import { deployOptions, useEmbedded } from './helpers/embedded.js';
import { recorder, sent } from './helpers/protocol.js';
import { readTree, snapshot, tmpDir, uniqueName, writeTree } from './helpers/tmp.js';

const server = useEmbedded();

const STATE = '.ftpship-state.json';
const BAK = `${STATE}.bak`;

const opts = (localDir: string, remoteDir: string, extra: Partial<DeployOptions> = {}): DeployOptions =>
  deployOptions(server(), localDir, remoteDir, extra);
const remote = (dir: string, rel = ''): string => path.join(server().root, dir, rel);
const read = (dir: string, rel: string): string => fs.readFileSync(remote(dir, rel), 'utf8');

/** A site deployed twice (the second run changed a file, deleted another): its folder, local folder, both states. */
async function deployedTwice(): Promise<{ dir: string; local: string; first: string; second: string }> {
  const local = tmpDir();
  writeTree(local, { 'index.html': 'v1', 'a/b.txt': 'b', 'gone.txt': 'g' });
  const dir = `/${uniqueName()}`;
  await deploy(opts(local, dir));
  const first = read(dir, STATE);
  writeTree(local, { 'index.html': 'v2' });
  fs.rmSync(path.join(local, 'gone.txt'));
  await deploy(opts(local, dir));
  return { dir, local, first, second: read(dir, STATE) };
}

describe('FIELD §4.4: a copy of the state is kept as <state>.bak by every deploy that writes the state', () => {
  it('the final state, byte for byte, written before it under the lock; a no-op and a dry run touch neither', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'v1', 'a/b.txt': 'b' });
    const dir = `/${uniqueName()}`;
    await deploy(opts(local, dir));
    expect(read(dir, BAK)).toBe(read(dir, STATE));

    writeTree(local, { 'index.html': 'v2', 'c.txt': 'new' });
    const rec = recorder();
    const r = await deploy(opts(local, dir), rec);
    expect(r.counts).toMatchObject({ upload: 1, replace: 1 });
    expect(read(dir, BAK)).toBe(read(dir, STATE));
    expect(JSON.parse(read(dir, BAK)).files['c.txt']).toBeDefined();
    expect(rec.warnings).toEqual([]);
    // Once, before the final state's rename, and the unlock after that.
    expect(sent(rec.log, 'STOR').filter((p) => p === `${dir}/${BAK}`)).toHaveLength(1);
    // Beside the state's own upload (on a connection doing nothing), and done before the state goes in place.
    const at = (line: string): number => rec.log.lastIndexOf(line);
    expect(at(`< 226 ${dir}/${BAK}`)).toBeGreaterThan(at(`> STOR ${dir}/${BAK}`));
    expect(at(`< 226 ${dir}/${BAK}`)).toBeLessThan(at(`> RNFR ${dir}/${STATE}.tmp`));
    expect(at(`> RNFR ${dir}/${STATE}.tmp`)).toBeLessThan(at(`> RMD ${dir}/${STATE}.lock`));

    // With one connection: the copy first, then the state (no connection waits for another).
    writeTree(local, { 'c.txt': 'new, longer' });
    const one = recorder();
    await deploy(opts(local, dir, { parallel: 1 }), one);
    expect(read(dir, BAK)).toBe(read(dir, STATE));
    expect(JSON.parse(read(dir, BAK)).files['c.txt']).toMatchObject({ size: 11 });
    const on = (line: string): number => one.log.lastIndexOf(line);
    expect(on(`< 226 ${dir}/${BAK}`)).toBeGreaterThan(-1);
    expect(on(`< 226 ${dir}/${BAK}`)).toBeLessThan(on(`> RNFR ${dir}/${STATE}.tmp`));

    const before = snapshot(remote(dir));
    const noop = await deploy(opts(local, dir));
    expect(noop.counts).toMatchObject({ upload: 0, replace: 0, delete: 0 });
    writeTree(local, { 'index.html': 'v3' });
    await deploy(opts(local, dir, { dryRun: true }));
    expect(snapshot(remote(dir))).toEqual(before);
  });

  it('a damaged state: the deploy stops before any change, naming the copy and how to go back; renamed over the state, the next deploy converges', async () => {
    const { dir, local, second } = await deployedTwice();
    expect(read(dir, BAK)).toBe(second);
    fs.writeFileSync(remote(dir, STATE), `${second.slice(0, 40)}`); // cut short: not JSON
    writeTree(local, { 'index.html': 'v3', 'd/new.txt': 'new' });
    const before = snapshot(remote(dir));
    const rec = recorder();
    const err = await deploy(opts(local, dir), rec).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DeployError);
    const message = (err as Error).message;
    expect(message).toContain(`the state file ${dir}/${STATE} is not JSON`);
    expect(message).toContain(
      `ftpship keeps a copy of the state as the last deploy that finished wrote it, and it reads as a state: ${dir}/${BAK} (2 file(s), written ${JSON.parse(second).updatedAt})`,
    );
    expect(message).toContain(`rename it to ${dir}/${STATE} on the server`);
    expect(snapshot(remote(dir))).toEqual(before);
    for (const verb of ['STOR', 'DELE', 'RNFR', 'RMD']) expect(sent(rec.log, verb)).toEqual([]);

    // What the message says to do, as an FTP client's rename would.
    fs.renameSync(remote(dir, BAK), remote(dir, STATE));
    const r = await deploy(opts(local, dir));
    expect(readTree(remote(dir), [STATE])).toEqual(readTree(local));
    expect(r.counts).toMatchObject({ upload: 1, replace: 1, delete: 0, mkdir: 1 });
    const again = await deploy(opts(local, dir));
    expect(again.counts).toMatchObject({ upload: 0, replace: 0, delete: 0, mkdir: 0, rmdir: 0 });
  });

  it('a copy that does not read as a state either is not named: the error is the state’s alone', async () => {
    const { dir, local } = await deployedTwice();
    fs.writeFileSync(remote(dir, STATE), '{"generator":"ftpship"');
    fs.writeFileSync(remote(dir, BAK), 'not a state');
    const err = await deploy(opts(local, dir)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DeployError);
    expect((err as Error).message).toMatch(/is not JSON/);
    expect((err as Error).message).not.toContain('.bak');
  });

  it('a copy that cannot be written is a warning: the deploy and its state go on', async () => {
    const { dir, local, second } = await deployedTwice();
    // A folder where the copy goes: ftp-srv refuses both the DELE and the STOR there.
    fs.rmSync(remote(dir, BAK));
    fs.mkdirSync(remote(dir, BAK));
    fs.writeFileSync(remote(dir, `${BAK}/x`), 'x');
    writeTree(local, { 'index.html': 'v3' });
    const rec = recorder();
    const r = await deploy(opts(local, dir), rec);
    expect(r.counts.replace).toBe(1);
    expect(rec.warnings.join('\n')).toMatch(
      new RegExp(
        `could not keep a copy of the state at ${dir}/${BAK.replace(/\./g, '\\.')} \\(.+\\); the deploy goes on`,
      ),
    );
    expect(read(dir, 'index.html')).toBe('v3');
    expect(read(dir, STATE)).not.toBe(second);
    expect(fs.statSync(remote(dir, BAK)).isDirectory()).toBe(true);
  });

  it('a local file at the copy’s path is not uploaded over it, with a warning', async () => {
    const { dir, local } = await deployedTwice();
    writeTree(local, { [BAK]: 'a local copy', 'index.html': 'v3' });
    const rec = recorder();
    await deploy(opts(local, dir), rec);
    expect(rec.warnings.join('\n')).toContain(
      `the local file ${BAK} is not uploaded: ftpship keeps its state's backup copy at that path on the server`,
    );
    expect(read(dir, BAK)).toBe(read(dir, STATE));
  });

  it('a local folder at the copy’s path is a configuration error naming it, nothing changed', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'v1', [`${BAK}/x.txt`]: 'x' });
    const dir = `/${uniqueName()}`;
    const rec = recorder();
    const err = await deploy(opts(local, dir), rec).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toBe(
      `the local folder ${BAK} has the name of ftpship's copy of its state on the server (${dir}/${BAK}), which each deploy writes there: delete it locally, or leave it out with --exclude '/\\.ftpship-state\\.json\\.bak'`,
    );
    for (const verb of ['STOR', 'MKD', 'DELE', 'RNFR']) expect(sent(rec.log, verb)).toEqual([]);
  });

  it('--state moving the state: the former state and its copy are both removed once the state is written at its new path', async () => {
    const { dir, local } = await deployedTwice();
    expect(fs.existsSync(remote(dir, BAK))).toBe(true);
    writeTree(local, { 'index.html': 'v3' });
    await deploy(opts(local, dir, { statePath: 'private/state.json' }));
    expect(fs.existsSync(remote(dir, STATE))).toBe(false);
    expect(fs.existsSync(remote(dir, BAK))).toBe(false);
    expect(fs.existsSync(remote(dir, 'private/state.json'))).toBe(true);
  });
});
