/**
 * Real servers configured the way shared hosts (cPanel, Plesk, DirectAdmin, budget hosts) configure them.
 * Each block starts a deploy, a change and a rerun against one such setting and checks what the user sees
 * (the error names the value and what to try) and that the server ends up with the site (G1, G2, G4).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { deploy, DeployError, GuardError } from '../src/index.js';
import { plainClient, realServerSuite, remoteFolders } from './helpers/real-servers.js';
import { readTree, tmpDir, writeTree } from './helpers/tmp.js';

const { env, servers, describe: d, opts } = realServerSuite('hosts.realservers');
const target = remoteFolders('hosts');

/** A block on a server only some setups have (start.sh adds it): skipped, with a word, when it is absent. */
function onServer(
  key: 'pureNoDot' | 'pureQuota' | 'proftpdHost' | 'proftpdNoRename' | 'vsftpdHost',
): typeof d {
  if (servers && !servers[key]) {
    console.log(`hosts.realservers: no ${key} in test/servers/.env.json — run test/servers/start.sh again`);
    return describe.skip;
  }
  return d;
}

onServer('pureNoDot')('pure-ftpd -X: names starting with a dot are refused (553)', () => {
  it('a site deployed before the host refused dot names: the .htaccess rename refused (553) is that error, not a fallback to delete + rename for every file', async () => {
    const local = tmpDir();
    writeTree(local, { '.htaccess': 'v1', 'index.html': 'home v1' });
    const { dir, disk } = target(env.pureNoDot);
    const statePath = 'ftpship-state.json';
    await deploy(opts(env.pure, local, dir, { statePath })); // the same home, before -X
    writeTree(local, { '.htaccess': 'v2', 'index.html': 'home v2' });
    const warnings: string[] = [];
    const err = await deploy(opts(env.pureNoDot, local, dir, { statePath, parallel: 1 }), {
      warn: (m) => warnings.push(m),
    }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(
      /^rename ftpship-[0-9a-f]{20}\.tmp to \.htaccess failed: 553 Prohibited file name: .*, rename it locally or leave it out with --exclude '\/\\\.htaccess'\)$/,
    );
    // Before: "the server refused to rename over an existing file (…553 Prohibited file name…); falling back to
    // delete + rename, so each replaced file is missing for a moment", for every file of the run.
    expect(warnings).toEqual([]);
    expect(fs.readFileSync(path.join(disk, '.htaccess'), 'utf8')).toBe('v1');
    await deploy(opts(env.pureNoDot, local, dir, { statePath, exclude: ['/.htaccess'] }));
    expect(fs.readFileSync(path.join(disk, 'index.html'), 'utf8')).toBe('home v2');
    expect(fs.readdirSync(disk).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('a file in a dot folder deployed before the host refused dot names, then removed locally: the error says how to stop deleting it', async () => {
    const local = tmpDir();
    writeTree(local, { '.well-known/token': 't', 'index.html': 'home' });
    const { dir, disk } = target(env.pureNoDot);
    const statePath = 'ftpship-state.json';
    await deploy(opts(env.pure, local, dir, { statePath })); // the same home, before -X
    fs.rmSync(path.join(local, '.well-known'), { recursive: true });
    // Before: "(check the path, the name and the user's permissions)": nothing on the name, nor a way out.
    await expect(deploy(opts(env.pureNoDot, local, dir, { statePath }))).rejects.toThrow(
      `delete .well-known/token failed: 553 Prohibited file name: ${dir}/.well-known/token (check the path, the name and the ` +
        `user's permissions on the server folder ${dir}/.well-known; if the server does not allow this name (some hosts ` +
        `refuse names starting with a dot), delete it another way (the host's file manager) or leave it on the server, ` +
        `no longer tracked, with --exclude '/\\.well-known/token')`,
    );
    await deploy(opts(env.pureNoDot, local, dir, { statePath, exclude: ['/\\.well-known/token'] }));
    expect(fs.readFileSync(path.join(disk, '.well-known', 'token'), 'utf8')).toBe('t');
    expect((await deploy(opts(env.pureNoDot, local, dir, { statePath }))).files).toEqual([]);
  });

  it('the default state: the lock error says to name the state without a dot (not only "check that the user may write")', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home' });
    const { dir, disk } = target(env.pureNoDot);
    const infos: string[] = [];
    const err = await deploy(opts(env.pureNoDot, local, dir), { info: (m) => infos.push(m) }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(DeployError);
    // Before: "the lock … is there but names no deploy yet: waiting up to 15 s …", then the refusal: no
    // folder was there, the server had refused to make it.
    expect(infos.filter((m) => m.includes('lock'))).toEqual([]);
    // Before: "…: 553 Prohibited directory name; check that the user may write to /hosts-… (the target
    // folder, or the state's folder)": the user may write there; the name is what is refused.
    expect(err?.message).toBe(
      `cannot create the deploy lock ${dir}/.ftpship-state.json.lock: 553 Prohibited directory name; if the server ` +
        `refuses names starting with a dot (as pure-ftpd -x or -X does), name the state without one: --state ` +
        `${dir}/ftpship-state.json (Action: state-path; the lock and the temporary files follow it); else check ` +
        `that the user may write to ${dir} (the target folder, or the state's folder)`,
    );
    expect(fs.readdirSync(disk)).toEqual([]);
  });

  it('a dry run with the default state says the deploy would stop at the lock, and what to name the state (was: a plan, no word)', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home' });
    const { dir } = target(env.pureNoDot);
    const warnings: string[] = [];
    const plan = await deploy(
      { ...opts(env.pureNoDot, local, dir), dryRun: true },
      { warn: (m) => warnings.push(m) },
    );
    expect(plan.files).toEqual([{ path: 'index.html', action: 'upload', size: 4 }]);
    expect(warnings).toEqual([
      expect.stringMatching(
        new RegExp(
          `^the server refused the name of the state file ${dir}/\\.ftpship-state\\.json \\(553 Prohibited file name: .*\\): ` +
            `a deploy would stop at its lock \\(${dir}/\\.ftpship-state\\.json\\.lock\\), refused the same way\\. If the server ` +
            `refuses names starting with a dot \\(as pure-ftpd -x or -X does\\), name the state without one: --state ` +
            `${dir}/ftpship-state\\.json \\(Action: state-path; the lock and the temporary files follow it\\)$`,
        ),
      ),
    ]);
    // Named without the dot: nothing to say.
    const quiet: string[] = [];
    await deploy(
      { ...opts(env.pureNoDot, local, dir, { statePath: 'ftpship-state.json' }), dryRun: true },
      { warn: (m) => quiet.push(m) },
    );
    expect(quiet).toEqual([]);
  });

  it('a state named without a dot: a change goes through dotless temporary files, and a rerun has nothing to do', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home v1', 'css/site.css': 'body {}', 'big.bin': 'x'.repeat(300_000) });
    const { dir, disk } = target(env.pureNoDot);
    const o = opts(env.pureNoDot, local, dir, { statePath: 'ftpship-state.json' });
    await deploy(o);
    expect(readTree(disk, ['ftpship-state.json'])).toEqual(readTree(local));

    writeTree(local, { 'index.html': 'home v2', 'css/site.css': 'body { margin: 0 }' });
    // Before: "upload index.html failed: 553 Prohibited file name: /hosts-…/.ftpship-….tmp (… rename it
    // locally or leave it out with --exclude '/index\.html')": no name of the user's could fix it.
    const r = await deploy(o);
    expect(r.counts).toMatchObject({ replace: 2, upload: 0 });
    expect(readTree(disk, ['ftpship-state.json'])).toEqual(readTree(local));
    expect(fs.readdirSync(disk).sort()).toEqual([
      'big.bin',
      'css',
      'ftpship-state.json',
      'ftpship-state.json.bak',
      'index.html',
    ]);

    const again = await deploy(o);
    expect(again.files).toEqual([]);
  });

  it('a state named without a dot: a change cut while its temporary file is written, then run again, converges', async () => {
    const local = tmpDir();
    const big = (c: string): string => c.repeat(24 * 1024 * 1024);
    writeTree(local, { 'index.html': 'home', 'big.bin': big('a') });
    const { dir, disk } = target(env.pureNoDot);
    const o = opts(env.pureNoDot, local, dir, { statePath: 'ftpship-state.json', parallel: 1 });
    await deploy(o);
    writeTree(local, { 'big.bin': big('b') });
    const controller = new AbortController();
    const temp = /^ftpship-[0-9a-f]{20}\.tmp$/;
    const watch = setInterval(() => {
      const t = fs.readdirSync(disk).find((n) => temp.test(n));
      if (t && fs.statSync(`${disk}/${t}`).size > 0) controller.abort('SIGINT');
    }, 2);
    const err = await deploy({ ...o, signal: controller.signal }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    clearInterval(watch);
    expect(err?.name).toBe('CancelledError');
    // G2: the live file is still the old one, whole.
    expect(fs.readFileSync(`${disk}/big.bin`, 'latin1')).toBe(big('a'));
    // Before: the rerun found the state corrupt ("bad temporary file entry") for the dotless temp it lists.
    await deploy(o);
    expect(readTree(disk, ['ftpship-state.json'])).toEqual(readTree(local));
    expect((await deploy(o)).files).toEqual([]);
  });

  it('an .htaccess in the site: the error says the host may refuse names starting with a dot, and how to leave it out', async () => {
    const local = tmpDir();
    writeTree(local, { '.htaccess': 'Options -Indexes', 'index.html': 'home' });
    const { dir } = target(env.pureNoDot);
    const err = await deploy(opts(env.pureNoDot, local, dir, { statePath: 'ftpship-state.json' })).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toBe(
      `upload .htaccess failed: 553 Prohibited file name: ${dir}/.htaccess (check the path, the name and the ` +
        `user's permissions on the server folder ${dir}; if the server does not allow this name (some hosts refuse names starting with a ` +
        `dot), rename it locally or leave it out with --exclude '/\\.htaccess')`,
    );
  });
});

onServer('pureQuota')('pure-ftpd, a 1 MB disk quota (552 Quota exceeded)', () => {
  // pure-ftpd keeps the account's usage in .ftpquota, counted from zero when it is missing: folders removed
  // from disk after a run (remoteFolders) would otherwise still count.
  const recount = (): void => fs.rmSync(path.join(env.pureQuota.home, '.ftpquota'), { force: true });
  beforeAll(recount);
  afterAll(recount);

  it('changes that need room for their temporary copies: one line naming the quota and --no-atomic, state honest, live files whole; --no-atomic then converges', async () => {
    const local = tmpDir();
    const data = (): string => crypto.randomBytes(100_000).toString('hex'); // 200 KB
    writeTree(local, { 'f1.bin': data(), 'f2.bin': data(), 'f3.bin': data(), 'index.html': 'v1' });
    const { dir, disk } = target(env.pureQuota);
    const o = opts(env.pureQuota, local, dir, { parallel: 1 });
    await deploy(o);
    const before = readTree(disk);

    writeTree(local, { 'f1.bin': data(), 'f2.bin': data(), 'f3.bin': data(), 'index.html': 'v2' });
    const err = await deploy(o).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    // Before: the reply's four lines as they came, then "(check the path, the name and the user's permissions)".
    expect(err?.message).not.toContain('\n');
    expect(err?.message).toMatch(
      /^upload f\d\.bin failed: 552 .* \/ Quota exceeded: \[.*\.ftpship-[0-9a-f]{20}\.tmp\] won't be saved \(the server has no room for it: the account's disk quota or the disk is full; free space on the server or ask the host for more, then run again; until the commit, a file replaced through a temporary name takes room twice \(--no-atomic writes in place\)\)$/,
    );
    // G2: nothing was committed; G4: every file the state lists is on the server with that content.
    const live = readTree(disk);
    for (const f of ['f1.bin', 'f2.bin', 'f3.bin', 'index.html']) expect(live[f]).toBe(before[f]);
    const state = JSON.parse(fs.readFileSync(path.join(disk, '.ftpship-state.json'), 'utf8')) as {
      files: Record<string, { sha256: string }>;
    };
    for (const [f, { sha256 }] of Object.entries(state.files)) expect(live[f]).toBe(sha256);

    await deploy({ ...o, atomic: false });
    expect(readTree(disk, ['.ftpship-state.json'])).toEqual(readTree(local));
    expect((await deploy(o)).files).toEqual([]);
  });
  it('the same changes, the quota then freed (a backup deleted): the atomic rerun converges, no temporary file left', async () => {
    recount(); // the usage the test above left
    const local = tmpDir();
    const data = (): string => crypto.randomBytes(100_000).toString('hex'); // 200 KB
    writeTree(local, { 'f1.bin': data(), 'f2.bin': data(), 'index.html': 'v1' });
    const { dir, disk } = target(env.pureQuota);
    const o = opts(env.pureQuota, local, dir, { parallel: 2 });
    await deploy(o);
    // A backup the user keeps there (another tool's upload): the account is now near its 1 MB.
    const s = env.pureQuota;
    const c = await plainClient(s);
    await c.upload(`${dir}/backup.bin`, Buffer.from(data() + data()));

    writeTree(local, { 'f1.bin': data(), 'f2.bin': data(), 'index.html': 'v2' });
    // Two connections: whichever upload pure-ftpd refuses first is reported (index.html too, once the account
    // is over its quota: pure-ftpd then refuses every STOR).
    await expect(deploy(o)).rejects.toThrow(
      /^upload (f\d\.bin|index\.html) failed: 552 .*free space on the server/,
    );
    await c.delete(`${dir}/backup.bin`); // the room freed
    await c.quit();
    writeTree(local, { 'f2.bin': data() }); // changed again before the rerun: no part of the old temp in it
    await deploy(o);
    expect(readTree(disk, ['.ftpship-state.json'])).toEqual(readTree(local));
    expect(fs.readdirSync(disk).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect((await deploy(o)).files).toEqual([]);
  });

  it('full just as the final state is written: the error says the files went up and what the rerun needs; --no-atomic then converges', async () => {
    recount();
    const local = tmpDir();
    writeTree(local, {
      'a.bin': Buffer.alloc(400_000, 1),
      'b.bin': Buffer.alloc(400_000, 2),
      'index.html': 'hi',
    });
    const { dir, disk } = target(env.pureQuota);
    const o = opts(env.pureQuota, local, dir);
    // A backup the user keeps there (248 000 bytes): the files then fit, and the final state does not.
    const s = env.pureQuota;
    const c = await plainClient(s);
    try {
      await c.mkd(dir);
      await c.upload(`${dir}/backup.bin`, Buffer.alloc(248_000, 3));
      // Before: "(the server has no room for it: free space on the server or ask the host for more)": with room
      // freed for the state, the rerun sent every file again through temporary copies, and failed again.
      await expect(deploy(o)).rejects.toThrow(
        /^cannot write the state file .*: 552 .*The files are deployed, but the state on the server is the last checkpoint, so a rerun sends again each file it does not list, through a temporary copy that takes room beside the live file: free that much too, or rerun with --no-atomic \(files written in place\)\)$/,
      );
      expect(readTree(disk, ['.ftpship-state.json', 'backup.bin'])).toEqual(readTree(local));
      const state = JSON.parse(fs.readFileSync(path.join(disk, '.ftpship-state.json'), 'utf8')) as {
        files: Record<string, { sha256: string }>;
      };
      const live = readTree(disk);
      for (const [f, { sha256 }] of Object.entries(state.files)) expect(live[f]).toBe(sha256); // G4
      await c.delete(`${dir}/backup.bin`);
    } finally {
      await c.quit();
    }
    await deploy({ ...o, atomic: false });
    expect(readTree(disk, ['.ftpship-state.json'])).toEqual(readTree(local));
    expect((await deploy(o)).files).toEqual([]);
  });

  it('full again, no room freed: the atomic rerun\'s state write names the temporary copies ftpship kept and --no-atomic (was: only "free space on the server"); --no-atomic then converges', async () => {
    recount();
    const local = tmpDir();
    const data = (): string => crypto.randomBytes(100_000).toString('hex'); // 200 KB
    writeTree(local, { 'f1.bin': data(), 'f2.bin': data(), 'f3.bin': data(), 'index.html': 'v1' });
    const { dir, disk } = target(env.pureQuota);
    const o = opts(env.pureQuota, local, dir, { parallel: 1 });
    await deploy(o);
    writeTree(local, { 'f1.bin': data(), 'f2.bin': data(), 'f3.bin': data(), 'index.html': 'v2' });
    await expect(deploy(o)).rejects.toThrow(/^upload f\d\.bin failed: 552 /);
    const temps = fs.readdirSync(disk).filter((n) => /^\.ftpship-[0-9a-f]{20}\.tmp$/.test(n));
    expect(temps.length).toBeGreaterThan(0);
    // The rest of the account's room taken (another upload): not even the state fits now.
    const used = Number(
      fs.readFileSync(path.join(env.pureQuota.home, '.ftpquota'), 'utf8').trim().split(/\s+/)[1],
    );
    const c = await plainClient(env.pureQuota);
    try {
      await c.upload(`${dir}/backup.bin`, Buffer.alloc(1024 * 1024 - used - 16, 3));
    } finally {
      await c.quit();
    }
    const again = await deploy(o).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(again?.message).toMatch(
      new RegExp(
        `^cannot write the state file ${dir}/\\.ftpship-state\\.json: 552 .*\\(the server has no room for it: free space on the server or ask the host for more; ` +
          `the temporary copies \\(\\.ftpship-….tmp\\) ftpship's earlier run left, kept to resume them \\((\\d+) recorded, up to [\\d.]+ KiB\\), hold room there: ` +
          `rerun with --no-atomic, which removes them first and writes the files in place \\(no copies\\), or free that much, then run again\\)$`,
      ),
    );
    // Those recorded: the ones on the server, and any the server did not keep (its refused upload's).
    expect(Number(/\((\d+) recorded/.exec(again?.message ?? '')?.[1])).toBeGreaterThanOrEqual(temps.length);
    // As it says: with no room freed, --no-atomic removes them and converges.
    await deploy({ ...o, atomic: false });
    expect(readTree(disk, ['.ftpship-state.json', 'backup.bin'])).toEqual(readTree(local));
    expect(fs.readdirSync(disk).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('full before the deploy: each line says what was refused on one line, and nothing is recorded', async () => {
    recount();
    const local = tmpDir();
    writeTree(local, { 'index.html': 'hi' });
    const { dir, disk } = target(env.pureQuota);
    const s = env.pureQuota;
    const c = await plainClient(s);
    try {
      await c.mkd(dir);
      await c.upload(`${dir}/backup.bin`, Buffer.alloc(1_048_570, 3)); // all but 6 bytes of the 1 MB
    } finally {
      await c.quit();
    }
    const warnings: string[] = [];
    await expect(deploy(opts(env.pureQuota, local, dir), { warn: (m) => warnings.push(m) })).rejects.toThrow(
      /^(cannot write the state file \S+|upload index\.html failed): 552 .*Quota exceeded.*\(the server has no room for it: .*free space on the server or ask the host for more/,
    );
    // Before: "could not write the lock holder …: STOR …: 552 Transfer aborted (quota)", then the quota figures
    // on three lines of their own.
    expect(warnings.filter((w) => w.includes('\n'))).toEqual([]);
    expect(warnings).toContainEqual(
      expect.stringMatching(/^could not write the lock holder .*: 552 .* \/ .*Quota exceeded/),
    );
    expect(fs.existsSync(path.join(disk, '.ftpship-state.json'))).toBe(false);
  });
});

onServer('proftpdHost')(
  'proftpd as shared hosts set it: AllowOverwrite off, PathDenyFilter on .htaccess, uploads at 4 MB/s, TimeoutIdle 2',
  () => {
    /** Resolves to the error a deploy fails with, or undefined. */
    const failure = async (run: Promise<unknown>): Promise<Error | undefined> =>
      run.then(
        () => undefined,
        (e: unknown) => e as Error,
      );

    it('a change cut while its temporary file is written: the rerun removes the part the server will not write over, and converges', async () => {
      const local = tmpDir();
      writeTree(local, { 'index.html': 'home', 'big.bin': 'a'.repeat(1000) });
      const { dir, disk } = target(env.proftpdHost);
      const o = opts(env.proftpdHost, local, dir, { parallel: 1 });
      await deploy(o);
      const big = crypto.randomBytes(6 * 1024 * 1024); // 1.5 s at 4 MB/s
      fs.writeFileSync(path.join(local, 'big.bin'), big);
      const controller = new AbortController();
      const temp = /^\.ftpship-[0-9a-f]{20}\.tmp$/;
      const watch = setInterval(() => {
        const t = fs.readdirSync(disk).find((n) => temp.test(n));
        if (t && fs.statSync(path.join(disk, t)).size > 1024 * 1024) controller.abort('SIGINT');
      }, 10);
      const err = await failure(deploy({ ...o, signal: controller.signal }));
      clearInterval(watch);
      expect(err?.name).toBe('CancelledError');
      expect(fs.readdirSync(disk).filter((n) => temp.test(n))).toHaveLength(1);
      // Before: "upload big.bin failed: 550 …/.ftpship-….tmp: Overwrite permission denied", on every rerun.
      await deploy(o);
      expect(readTree(disk, ['.ftpship-state.json'])).toEqual(readTree(local));
      expect((await deploy(o)).files).toEqual([]);
    });

    it('--no-atomic: a changed file is deleted, then sent (one warning), not "check the user\'s permissions"', async () => {
      const local = tmpDir();
      writeTree(local, { 'index.html': 'v1', 'about.html': 'about' });
      const { dir, disk } = target(env.proftpdHost);
      await deploy(opts(env.proftpdHost, local, dir, { atomic: false }));
      writeTree(local, { 'index.html': 'v2' });
      const warnings: string[] = [];
      // Before: "upload index.html failed: 550 …: Overwrite permission denied (check the path, the name and
      // the user's permissions)".
      await deploy(opts(env.proftpdHost, local, dir, { atomic: false }), { warn: (m) => warnings.push(m) });
      expect(readTree(disk, ['.ftpship-state.json'])).toEqual(readTree(local));
      expect(warnings.filter((w) => /write over/.test(w))).toEqual([
        `the server refused to write over an existing file (STOR ${dir}/index.html: 550 ${dir}/index.html: ` +
          'Overwrite permission denied); --no-atomic: each replaced file is deleted, then sent',
      ]);
    });

    it('a deploy longer than staleLockMs keeps its lock: the holder is refreshed, so a second deploy waits its turn', async () => {
      const local = tmpDir();
      writeTree(local, { 'big.bin': crypto.randomBytes(12 * 1024 * 1024).toString('latin1') }); // 3 s
      const { dir, disk } = target(env.proftpdHost);
      const o = opts(env.proftpdHost, local, dir, { staleLockMs: 1500, parallel: 1 });
      const first = deploy(o);
      const lock = path.join(disk, '.ftpship-state.json.lock');
      while (!fs.existsSync(path.join(lock, 'holder.json'))) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 2000));
      // Before: the holder was rewritten every 30 s (and that STOR refused here: AllowOverwrite off), so this
      // deploy found the lock stale and took it over in the middle of the first.
      const err = await failure(deploy({ ...o, localDir: tmpDir() }));
      expect(err).toBeInstanceOf(GuardError);
      expect(err?.message).toMatch(/^another deploy holds the lock /);
      await first;
      expect(readTree(disk, ['.ftpship-state.json'])).toEqual(readTree(local));
    });

    it('connections left idle past the server\'s TimeoutIdle while a big file goes up: replaced without a word, no "retrying" warnings', async () => {
      const local = tmpDir();
      const tree = (v: string): Record<string, string> => {
        const t: Record<string, string> = { 'big.bin': `${v}${'x'.repeat(12 * 1024 * 1024)}` }; // 3 s
        for (let i = 0; i < 12; i++) t[`d/p${i}.html`] = `page ${i} ${v}`;
        return t;
      };
      writeTree(local, tree('1'));
      const { dir, disk } = target(env.proftpdHost);
      await deploy(opts(env.proftpdHost, local, dir));
      writeTree(local, tree('2'));
      const warnings: string[] = [];
      await deploy(opts(env.proftpdHost, local, dir), { warn: (m) => warnings.push(m) });
      expect(readTree(disk, ['.ftpship-state.json'])).toEqual(readTree(local));
      // Before: "commit (7): closed: connection to localhost closed by the server; retrying (1/5)", one per
      // connection the server had closed while the big file went up.
      expect(warnings.filter((w) => !/refused to rename over an existing file/.test(w))).toEqual([]);
    });

    it('an .htaccess (PathDenyFilter, 550 "Forbidden filename"): the error says how to leave it out; excluded then, it is not said to be on the server', async () => {
      const local = tmpDir();
      writeTree(local, { '.htaccess': 'Options -Indexes', 'index.html': 'home' });
      const { dir, disk } = target(env.proftpdHost);
      const err = await failure(deploy(opts(env.proftpdHost, local, dir)));
      // Before: "(check the path, the name and the user's permissions)" only.
      expect(err?.message).toBe(
        `upload .htaccess failed: 550 ${dir}/.htaccess: Forbidden filename (check the path, the name and the ` +
          `user's permissions on the server folder ${dir}; if the server does not allow this name (some hosts refuse names starting with a ` +
          `dot), rename it locally or leave it out with --exclude '/\\.htaccess')`,
      );
      const infos: string[] = [];
      await deploy(opts(env.proftpdHost, local, dir, { exclude: ['/.htaccess'] }), {
        info: (m) => infos.push(m),
      });
      expect(readTree(disk, ['.ftpship-state.json'])).toEqual({
        'index.html': readTree(local)['index.html'],
      });
      // Before: "1 file(s) deployed earlier now match --exclude (.htaccess): left on the server …".
      expect(infos.filter((m) => /--exclude/.test(m))).toEqual([
        '1 file(s) an earlier run did not finish sending now match --exclude (.htaccess): no longer tracked; any of them on the server is left there',
      ]);
    });
  },
);

onServer('vsftpdHost')('vsftpd as shared hosts set it: chmod_enable=NO, deny_file for .user.ini', () => {
  it('--file-mode without SITE CHMOD: one warning, and the report counts no file as set', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home', 'a/page.html': 'page' });
    const { dir, disk } = target(env.vsftpdHost);
    const warnings: string[] = [];
    const r = await deploy(opts(env.vsftpdHost, local, dir, { fileMode: '640', dirMode: '750' }), {
      warn: (m) => warnings.push(m),
    });
    expect(readTree(disk, ['.ftpship-state.json'])).toEqual(readTree(local));
    expect(warnings).toEqual([
      "--file-mode 640 not applied: the server does not support SITE CHMOD (500 Unknown SITE command.); files keep the server's permissions. Ask the host, or drop --file-mode.",
      "--dir-mode 750 not applied: the server does not support SITE CHMOD (500 Unknown SITE command.); folders keep the server's permissions. Ask the host, or drop --dir-mode.",
    ]);
    // Before: { files: 2, dirs: 1 }, printed "mode set on 2 files, 1 folders" under those two warnings.
    expect(r.chmod).toEqual({ files: 0, dirs: 0 });
    expect(fs.statSync(path.join(disk, 'index.html')).mode & 0o777).toBe(0o644);
  });

  it('a .user.ini the server denies (550 Permission denied.): the error says how to leave it out', async () => {
    const local = tmpDir();
    writeTree(local, { '.user.ini': 'display_errors = Off', 'index.html': 'home' });
    const { dir } = target(env.vsftpdHost);
    const err = await deploy(opts(env.vsftpdHost, local, dir)).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    // Before: "… (check the path, the name and the user's permissions)" only.
    expect(err?.message).toBe(
      `upload .user.ini failed: 550 Permission denied. (check the path, the name and the user's permissions on the server folder ${dir}; if ` +
        'the server does not allow this name (some hosts refuse names starting with a dot), rename it locally or ' +
        "leave it out with --exclude '/\\.user\\.ini')",
    );
  });
});

onServer('proftpdNoRename')('proftpd refusing every rename (<Limit RNFR RNTO> DenyAll)', () => {
  it('atomic: one error saying renames are refused and to use --no-atomic; --no-atomic then deploys, changes and converges, the state written in place', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'v1', 'a/page.html': 'page' });
    const { dir, disk } = target(env.proftpdNoRename);
    const err = await deploy(opts(env.proftpdNoRename, local, dir)).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    // Before: "RNFR …/.ftpship-state.json.tmp: 550 …: Operation not permitted", and the same with --no-atomic:
    // no state was ever written, every run sent everything again.
    expect(err).toBeInstanceOf(DeployError);
    expect(err?.message).toBe(
      `the server refuses to rename files (RNFR ${dir}/.ftpship-state.json.tmp: 550 ${dir}/.ftpship-state.json.tmp: ` +
        'Operation not permitted): ftpship writes changed files and its state under a temporary name, then renames ' +
        'them into place; ask the host to allow RNFR/RNTO, or deploy with --no-atomic (files and the state are ' +
        'then written in place)',
    );
    const o = opts(env.proftpdNoRename, local, dir, { atomic: false });
    const warnings: string[] = [];
    await deploy(o, { warn: (m) => warnings.push(m) });
    expect(warnings).toEqual([
      // The refused run left its files, and no state: they are sent again (it says so).
      expect.stringMatching(/^no state file at .*: this deploy sends every file again/),
      `the server refuses to rename files (RNFR ${dir}/.ftpship-state.json.tmp: 550 ${dir}/.ftpship-state.json.tmp: ` +
        'Operation not permitted); --no-atomic: the state is written in place',
    ]);
    expect(readTree(disk, ['.ftpship-state.json'])).toEqual(readTree(local));
    writeTree(local, { 'index.html': 'v2' });
    const r = await deploy(o);
    expect(r.counts).toMatchObject({ replace: 1, upload: 0 });
    expect(readTree(disk, ['.ftpship-state.json'])).toEqual(readTree(local));
    expect((await deploy(o)).files).toEqual([]);
    expect(fs.readdirSync(disk).sort()).toEqual([
      '.ftpship-state.json',
      '.ftpship-state.json.bak',
      'a',
      'index.html',
    ]);
  });
});
