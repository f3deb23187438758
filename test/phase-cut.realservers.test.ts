/**
 * A deploy whose connections are cut for good (a proxy that drops every connection and takes no new one) at
 * one phase after another: the CLI exits 1 with an error that names the step and says to run the deploy
 * again (never the password); a plain rerun finishes the job, leaving the server's files byte-equal to the
 * local ones, no temp and no lock; a third run has nothing to do. On pure-ftpd.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { deploy, type DeployOptions } from '../src/index.js';
import { realServerSuite, remoteFolders, type RealServer } from './helpers/real-servers.js';
import { chaosProxy, deployCutAt } from './helpers/chaos.js';
import { startCli, type CliRun } from './helpers/cli.js';
import { bytes, readTree, sha256, tmpDir, writeTree } from './helpers/tmp.js';

const { describe: d, opts, each } = realServerSuite('phase-cut.realservers');
const target = remoteFolders('h-fail-cut');
const STATE = '.ftpship-state.json';
const TEMP_NAME = /\.ftpship-[0-9a-f]{20}\.tmp$/;
/** The first rename of the commit phase (a temp's RNFR). */
const AT_RENAMES = /^RNFR .*\.ftpship-[0-9a-f]{20}\.tmp$/;
const OLD = { 'index.html': 'v1', 'keep.txt': 'same', 'gone/g.txt': 'g', 'big.bin': bytes(1_200_000, 1) };
const NEW = {
  'index.html': 'v2, longer',
  'keep.txt': 'same',
  'a/new.txt': 'new',
  'big.bin': bytes(1_200_000, 2),
};
/** The server's tree once NEW is deployed (the state aside). */
const WANT = Object.fromEntries(Object.entries(NEW).map(([p, v]) => [p, sha256(v)]));

/** The site deployed at OLD, then the local folder at NEW: the deploy the tests cut. `o()`: its options. */
async function oldSiteNewLocal(server: RealServer, extra: Partial<DeployOptions> = {}) {
  const local = tmpDir('ftpship-h-fail-');
  const { dir, disk } = target(server);
  const o = (): DeployOptions => opts(server, local, dir, extra);
  writeTree(local, OLD);
  await deploy(o());
  fs.rmSync(local, { recursive: true });
  writeTree(local, NEW);
  return { local, dir, disk, o };
}

d.each(each('pure'))('%s: every connection dropped for good', (_name, server) => {
  it.each([
    // [phase, the command at which the connections drop, what the error names]
    ['reading the state', /^RETR .*\.ftpship-state\.json$/, /cannot connect/],
    // (A later deploy sending new files takes its lock while it plans: the plan's own look at the server may
    // fail first, and the error then names the connection.)
    ['taking the lock', /^MKD .*\.lock$/, /lock|connection to 127\.0\.0\.1 closed/],
    ['renaming the uploads into place', AT_RENAMES, /rename and delete/],
    ['deleting an orphan', /^DELE .*\/gone\/g\.txt$/, /rename and delete/],
  ])(
    'while %s: exit 1 saying to run again; the rerun finishes, a third run is a no-op',
    async (_phase, at, names) => {
      const { local, dir, disk, o } = await oldSiteNewLocal(server, { staleLockMs: 1000 });
      const { dropped, cut } = await deployCutAt(server, local, dir, at, ['--retries', '1']);
      expect(dropped).toBe(true);
      const error = cut.stderr.split('\n').find((l) => l.startsWith('ftpship: error:')) ?? cut.stderr;
      expect([cut.code, error]).toEqual([1, expect.stringMatching(names)]);
      expect(error).toMatch(/run the deploy again/);
      expect(cut.stderr).not.toContain(server.password);
      // Converging: a plain rerun (taking over the lock of the cut run, dead) finishes it, the next does nothing.
      const stored: string[] = [];
      await deploy(o(), { protocol: (line) => void (/^> STOR /.test(line) && stored.push(line)) });
      // Cut at the renames, every temp was whole on the server: none is sent again (G1).
      if (at === AT_RENAMES) expect(stored.filter((l) => TEMP_NAME.test(l))).toEqual([]);
      expect((await deploy(o())).files).toEqual([]);
      expect(readTree(disk, [STATE])).toEqual(WANT);
      expect(fs.existsSync(path.join(disk, `${STATE}.lock`))).toBe(false);
      expect(fs.existsSync(path.join(disk, 'gone'))).toBe(false);
      fs.rmSync(local, { recursive: true });
    },
    20_000,
  );

  it('cut at the renames, then a temp on the server grown past its file: the rerun sends that file whole again, never appends to it', async () => {
    const { local, dir, disk, o } = await oldSiteNewLocal(server, { staleLockMs: 1000 });
    const { dropped } = await deployCutAt(server, local, dir, AT_RENAMES, ['--retries', '1']);
    expect(dropped).toBe(true);
    // big.bin's temp, whole: more bytes put after its end (by hand, or a server session putting a part back).
    const temp = fs
      .readdirSync(disk)
      .find((n) => TEMP_NAME.test(n) && fs.statSync(path.join(disk, n)).size === NEW['big.bin'].length);
    expect(temp).toBeDefined();
    fs.appendFileSync(path.join(disk, temp as string), 'not of the file');
    await deploy(o());
    expect(readTree(disk, [STATE])).toEqual(WANT);
    fs.rmSync(local, { recursive: true });
  }, 20_000);

  it('Ctrl-C while the server is unreachable: exit 130, saying the lock is still there and the last steps unrecorded (was: "recorded in the state and the lock released"); the rerun finishes', async () => {
    const { local, dir, disk, o } = await oldSiteNewLocal(server, { staleLockMs: 1000 });
    let run: CliRun | undefined;
    const proxy = await chaosProxy(server.port, {
      onCommand: (line) => {
        if (!/^STOR .*\/a\/new\.txt$/.test(line) || run === undefined) return;
        const r = run;
        run = undefined;
        setImmediate(() => proxy.cutAll());
        // Once the deploy saw the cut (it retries), Ctrl-C.
        void r.waitForLine(/retrying/).then(() => r.child.kill('SIGINT'));
        return 'hold';
      },
    });
    const url = `ftp://${server.user}@127.0.0.1:${proxy.port}${dir}`;
    run = startCli(['deploy', local, url, '--retries', '1', '--parallel', '1'], {
      FTPSHIP_PASSWORD: server.password,
    });
    const cut = await run.done.finally(async () => proxy.close());
    const error = cut.stderr.split('\n').find((l) => l.startsWith('ftpship: error:')) ?? cut.stderr;
    expect([cut.code, error]).toEqual([130, expect.stringMatching(/deploy cancelled \(SIGINT\)/)]);
    expect(error).toMatch(/could not be reached on the way out/);
    expect(error).toMatch(/the lock \S+\.ftpship-state\.json\.lock is still there/);
    expect(error).not.toMatch(/lock released/);
    expect(fs.existsSync(path.join(disk, `${STATE}.lock`))).toBe(true);
    await deploy(o());
    expect((await deploy(o())).files).toEqual([]);
    expect(readTree(disk, [STATE])).toEqual(WANT);
    expect(fs.existsSync(path.join(disk, `${STATE}.lock`))).toBe(false);
    fs.rmSync(local, { recursive: true });
  }, 20_000);

  it.each([
    [
      'edited',
      (f: string) => fs.appendFileSync(f, 'more'),
      /changed while the deploy was running.*rerun once it is final/,
    ],
    [
      'deleted',
      (f: string) => fs.rmSync(f),
      /local file .*big\.bin was removed while the deploy was running.*rerun/,
    ],
  ])(
    'a local file %s while it waits to be sent: exit 1 naming it, the state honest; the rerun finishes, a third run is a no-op',
    async (_how, change, says) => {
      const { local, dir, disk, o } = await oldSiteNewLocal(server);
      let changed = false;
      const proxy = await chaosProxy(server.port, {
        onCommand: (line) => {
          // Hashed and planned by now (the lock is taken before anything is sent).
          if (changed || !/^MKD .*\.lock$/.test(line)) return;
          changed = true;
          change(path.join(local, 'big.bin'));
        },
      });
      const url = `ftp://${server.user}@127.0.0.1:${proxy.port}${dir}`;
      const r = await startCli(['deploy', local, url, '--parallel', '1'], {
        FTPSHIP_PASSWORD: server.password,
      }).done.finally(async () => proxy.close());
      const error = r.stderr.split('\n').find((l) => l.startsWith('ftpship: error:')) ?? r.stderr;
      expect([r.code, error]).toEqual([1, expect.stringMatching(says)]);
      const state = JSON.parse(fs.readFileSync(path.join(disk, STATE), 'utf8')) as {
        files: Record<string, { sha256: string }>;
      };
      const there = readTree(disk, [STATE]);
      for (const [p, f] of Object.entries(state.files)) expect([p, there[p]]).toEqual([p, f.sha256]);
      await deploy(o());
      expect((await deploy(o())).files).toEqual([]);
      expect(readTree(disk, [STATE])).toEqual(readTree(local));
      expect(fs.existsSync(path.join(disk, `${STATE}.lock`))).toBe(false);
      fs.rmSync(local, { recursive: true });
    },
    20_000,
  );
});
