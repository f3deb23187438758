/**
 * /work/shared/FIELD.md, item by item: what users of today's FTP deploy tools complain about, each a test
 * ftpship passes. Only the items no other test file covered yet (the mapping: each title names its item and
 * issue numbers; FTP-Deploy-Action's unless another tool is named). ftp-srv in this process.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { EmbeddedServer } from '../src/embedded-server.js';
import { deploy, DeployError, type DeployOptions } from '../src/index.js';
import { actionConnection, actionWorkspace } from './helpers/action.js';
import { runMain } from './helpers/action-main.js';
import { deployOptions, embedded } from './helpers/embedded.js';
import { frontProxy, loopbackBufferBytes } from './helpers/faults.js';
import { recorder, sent } from './helpers/protocol.js';
import { bytes, readTree, sha256, tmpDir, uniqueName, writeTree } from './helpers/tmp.js';

/** Uploads to a path this matches fail on the server (the disk gives an error while the file is written). */
let failUpload: (fsPath: string) => boolean = () => false;
/** Given the bytes written so far, whether the server stops reading this upload for good (a stalled disk). */
let stall: (fsPath: string, written: number) => boolean = () => false;
let srv: EmbeddedServer;
beforeAll(async () => {
  srv = await embedded({
    wrapUpload: (fsPath, file) =>
      failUpload(fsPath)
        ? new Writable({
            // Part of the file is written, then the disk fails (ftp-srv answers a SIZE of 0 bytes without the size).
            write(chunk: Buffer, _enc, done) {
              file.end(chunk.subarray(0, 1), () => done(new Error('Disk quota exceeded')));
            },
          })
        : stalling(fsPath, file),
  });
});
afterAll(async () => {
  await srv.close();
});

const STATE = '.ftpship-state.json';

function stalling(fsPath: string, file: fs.WriteStream): Writable {
  let written = 0;
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      if (stall(fsPath, written)) return; // never done: the server reads no more from the data connection
      written += chunk.length;
      file.write(chunk, (err) => done(err));
    },
    final(done) {
      file.end(() => done());
    },
    destroy(err, done) {
      file.destroy();
      done(err);
    },
  });
}
const opts = (localDir: string, remoteDir: string, extra: Partial<DeployOptions> = {}): DeployOptions =>
  deployOptions(srv, localDir, remoteDir, extra);
const remote = (dir: string): string => path.join(srv.root, dir);

/** A local folder holding `files`, and a remote folder of its own for it. */
function newSite(files: Record<string, string | Buffer>): { local: string; dir: string } {
  const local = tmpDir();
  writeTree(local, files);
  return { local, dir: `/${uniqueName()}` };
}

/** The server folder holds exactly the local files (the state aside). */
function expectMirrors(local: string, dir: string): void {
  expect(readTree(remote(dir), [STATE])).toEqual(readTree(local));
}

/** Another deploy finds nothing to do. */
async function expectNothingToDo(local: string, dir: string): Promise<void> {
  expect((await deploy(opts(local, dir))).files).toEqual([]);
}

/** Runs `fn` while the server fails uploads to files named `name` (a failing disk), then heals. */
async function whileUploadsFail<T>(name: string, fn: () => Promise<T>): Promise<T> {
  failUpload = (fsPath) => fsPath.endsWith(`${path.sep}${name}`);
  try {
    return await fn();
  } finally {
    failUpload = () => false;
  }
}

describe('FIELD.md §3 "folder x and file x-y both removed: the file orphan stays" (prefix bug; §4.10)', () => {
  it('a folder and a file whose name starts with the folder name, both gone locally: both deleted', async () => {
    const { local, dir } = newSite({
      'x/a.html': 'a',
      'x-y.html': 'xy',
      'xz/b.html': 'b',
      'x.html': 'x',
      'index.html': 'i',
    });
    await deploy(opts(local, dir));
    fs.rmSync(path.join(local, 'x'), { recursive: true });
    fs.rmSync(path.join(local, 'x-y.html'));
    fs.rmSync(path.join(local, 'xz'), { recursive: true });
    const r = await deploy(opts(local, dir));
    expect(r.files.map((f) => `${f.action} ${f.path}`).sort()).toEqual([
      'delete x-y.html',
      'delete x/a.html',
      'delete xz/b.html',
      'rmdir x',
      'rmdir xz',
    ]);
    expect(readTree(remote(dir), [STATE])).toEqual({ 'x.html': sha256('x'), 'index.html': sha256('i') });
    await expectNothingToDo(local, dir);
  });
});

describe('FIELD.md §3 "corrupt or remove the state: silent full re-upload and no deletions" (§1.2 #128 #146 #441; §4.4)', () => {
  it('the state removed by hand from a deployed site: every file goes again, and a warning says why, that nothing there is deleted, and names --adopt and --state', async () => {
    const { local, dir } = newSite({ 'index.html': 'i', 'css/site.css': 'c', 'old.html': 'o' });
    await deploy(opts(local, dir));
    fs.rmSync(path.join(remote(dir), STATE));
    fs.rmSync(path.join(local, 'old.html'));
    const plan = recorder();
    await deploy(opts(local, dir, { dryRun: true }), plan);
    const rec = recorder();
    const r = await deploy(opts(local, dir), rec);
    expect(r.counts).toMatchObject({ upload: 2, delete: 0 });
    for (const warnings of [plan.warnings, rec.warnings])
      expect(warnings).toEqual([
        expect.stringMatching(
          new RegExp(
            `^no state file at ${dir}/\\${STATE}, but ${dir} already holds css, index\\.html, old\\.html: ` +
              'this deploy sends every file again and deletes nothing there.*--adopt.*--state',
          ),
        ),
      ]);
    // The state is back: the next deploy compares again, without a word.
    const again = recorder();
    expect((await deploy(opts(local, dir), again)).files).toEqual([]);
    expect(again.warnings).toEqual([]);
  });

  it('--adopt, --reset-state, --upload-only and an empty target: no such warning', async () => {
    const { local, dir: emptyTarget } = newSite({ 'index.html': 'i' });
    const fresh = recorder();
    await deploy(opts(local, emptyTarget), fresh);
    expect(fresh.warnings).toEqual([]);
    for (const extra of [{ adopt: true }, { resetState: true }, { uploadOnly: true }]) {
      const dir = `/${uniqueName()}`;
      writeTree(remote(dir), { 'index.html': 'old', 'other.html': 'o' });
      const rec = recorder();
      await deploy(opts(local, dir, extra), rec);
      expect(rec.warnings.filter((w) => w.startsWith('no state file'))).toEqual([]);
    }
  });
});

describe('FIELD.md §1.4 exclude/glob confusion: "regex expected" (#202, #205, #223)', () => {
  it('an exclude or keep written as a regular expression (it matches nothing as a glob) gets a warning with the glob meant', async () => {
    const { local, dir } = newSite({
      'app.js': 'a',
      'app.js.map': 'm',
      'logs/x.log': 'l',
      'index.html': 'i',
    });
    const rec = recorder();
    await deploy(opts(local, dir, { exclude: ['\\.map$', '^logs/.*'], keep: ['.*\\.php$'] }), rec);
    expect(rec.warnings).toEqual([
      expect.stringMatching(
        /^the exclude glob '\\\.map\$' looks like a regular expression.*: write '\*\.map'/,
      ),
      expect.stringMatching(
        /^the exclude glob '\^logs\/\.\*' looks like a regular expression.*: write 'logs\/\*'/,
      ),
      expect.stringMatching(
        /^the keep glob '\.\*\\\.php\$' looks like a regular expression.*: write '\*\.php'/,
      ),
    ]);
  });

  it('globs that only look a little like one (index.*, .*, *.map, !x, dist/) get no such warning', async () => {
    const { local, dir } = newSite({
      'index.html': 'i',
      'a.map': 'm',
      '.env': 'e',
      'dist/x': 'x',
      'page.html': 'p',
    });
    const rec = recorder();
    await deploy(
      opts(local, dir, {
        exclude: ['*.map', '.*', 'index.*', 'dist/', '!dist/x', '**/*.[jt]s', '*.+(css|scss)'],
        keep: ['uploads/**'],
      }),
      rec,
    );
    expect(rec.warnings).toEqual([]);
  });
});

describe('FIELD.md §1.4 globs: an exclude written from the project root ("site/x" for the local folder site)', () => {
  it('gets a warning that it matches nothing there, with the glob meant; none where a folder inside has that name', async () => {
    const local = path.join(tmpDir(), 'site');
    writeTree(local, { 'index.html': 'i', 'drafts/x.html': 'x' });
    const exclude = ['site/drafts/**', '/dist/x', '!site/drafts/keep.html', 'site/'];
    const rec = recorder();
    await deploy(opts(local, `/${uniqueName()}`, { exclude }), rec);
    expect(rec.warnings).toEqual([
      expect.stringMatching(
        /^the exclude globs 'site\/drafts\/\*\*', '!site\/drafts\/keep\.html' start with the local folder's own name, .*: write 'drafts\/\*\*', '!drafts\/keep\.html'$/,
      ),
    ]);
    // A folder site inside site: the globs mean it, as written.
    writeTree(local, { 'site/drafts/y.html': 'y' });
    const inner = recorder();
    await deploy(opts(local, `/${uniqueName()}`, { exclude }), inner);
    expect(inner.warnings).toEqual([]);
  });
});

describe('FIELD.md §4.11 "map port 990 to implicit TLS automatically" (§1.8 "wrong protocol for port 990", #149, #382)', () => {
  it('the Action: port 990 with protocol ftps (or ftp) connects with implicit TLS, with a warning naming ftps-legacy', async () => {
    for (const protocol of ['ftps', 'ftp']) {
      const { ws } = actionWorkspace({ 'index.html': 'x' });
      const run = await runMain(
        ws,
        { ...actionConnection(srv, 'p990/'), port: '990', protocol, timeout: '2000', 'dry-run': 'true' },
        { RUNNER_DEBUG: '1' },
      );
      // Nothing listens on 990 here (or a server whose certificate is not trusted): the step fails either way.
      expect(run.status).not.toBe(0);
      expect(run.stdout).toContain(
        `::warning::port 990 is the implicit-TLS port: using protocol ftps-legacy instead of ${protocol}\n`,
      );
      expect(run.stdout).toContain('::debug::secure: "implicit"\n');
      expect(run.stdout).toContain('::debug::port: 990\n');
    }
    // ftps-legacy on 990 is what was meant: no warning.
    const { ws } = actionWorkspace({ 'index.html': 'x' });
    const legacy = await runMain(ws, {
      ...actionConnection(srv, 'p990/'),
      port: '990',
      protocol: 'ftps-legacy',
      timeout: '2000',
      'dry-run': 'true',
    });
    expect(legacy.stdout).not.toContain('::warning::');
  });
});

describe('FIELD.md §1.1 connection drops: "ECONNRESET" (#391, #430, #463; §4.10 reconnect on resets)', () => {
  it('every control connection reset (RST) in the middle of the uploads: the same deploy reconnects and completes', async () => {
    const proxy = await frontProxy(srv.port);
    try {
      const files: Record<string, string> = {};
      for (let i = 0; i < 40; i++) files[`f${i}.txt`] = `content ${i}`;
      const { local, dir } = newSite(files);
      const warnings: string[] = [];
      let stors = 0;
      const r = await deploy(
        { ...opts(local, dir, { parallel: 2 }), port: proxy.port },
        {
          warn: (m) => warnings.push(m),
          protocol: (line) => {
            if (line.includes('> STOR ') && ++stors === 10) proxy.resetAll();
          },
        },
      );
      expect(warnings.join('\n')).toMatch(/ECONNRESET.*retrying|retrying.*ECONNRESET/);
      expect(proxy.accepted).toBeGreaterThan(2);
      expect(r.counts.upload).toBe(40);
      expectMirrors(local, dir);
      await expectNothingToDo(local, dir);
    } finally {
      await proxy.close();
    }
  });
});

describe('FIELD.md §1.2 state trouble: "no force-rebuild" (#255, #417)', () => {
  it('--reset-state over a good state sends every file again and puts back what was changed by hand', async () => {
    const { local, dir } = newSite({ 'index.html': 'index', 'css/site.css': 'body{}', 'keep.txt': 'same' });
    await deploy(opts(local, dir));
    // Edited by hand on the server, same size: the state still says it is deployed.
    fs.writeFileSync(path.join(remote(dir), 'index.html'), 'INDEX');
    await expectNothingToDo(local, dir);
    const r = await deploy(opts(local, dir, { resetState: true }));
    expect(r.counts).toMatchObject({ upload: 3, unchanged: 0, delete: 0 });
    expectMirrors(local, dir);
    await expectNothingToDo(local, dir);
  });
});

describe('FIELD.md §4.4 "distinguish no state from unreadable state and from a connection error"', () => {
  it('the state download aborted (426): read again, not taken for a missing state; aborted every time: the deploy fails, nothing sent', async () => {
    const { local, dir } = newSite({ 'index.html': 'i', 'a.txt': 'a', 'old.txt': 'o' });
    await deploy(opts(local, dir));
    fs.rmSync(path.join(local, 'old.txt'));
    let abort = 1;
    let aborted = 0;
    const proxy = await frontProxy(srv.port, {
      rewriteReplies: (text) =>
        text.replace(/^226 (.*\.ftpship-state\.json)\r$/m, (line, file: string) => {
          if (abort === 0) return line;
          abort--;
          aborted++;
          return `426 Connection closed; transfer aborted (${file}).\r`;
        }),
    });
    try {
      const rec = recorder();
      const r = await deploy({ ...opts(local, dir), port: proxy.port }, rec);
      expect(aborted).toBe(1);
      expect(r.counts).toMatchObject({ upload: 0, delete: 1, unchanged: 2 });
      expect(rec.warnings).toEqual([expect.stringMatching(/426 .*; retrying \(1\/5\)$/)]);
      // Every read aborted: an error once the retries are spent, never a first deploy sending every file.
      abort = Infinity;
      fs.writeFileSync(path.join(local, 'new.txt'), 'n');
      const every = recorder();
      const err = await deploy({ ...opts(local, dir, { retries: 2 }), port: proxy.port }, every).catch(
        (e: unknown) => e as Error,
      );
      expect(every.warnings).toHaveLength(2);
      expect(sent(every.log, 'STOR')).toEqual([]);
      // One line naming the state, the server's reason, and what to do (it was RETR's bare 426).
      expect(err).toBeInstanceOf(DeployError);
      expect((err as Error).message).toMatch(
        new RegExp(
          `^cannot read the state file ${dir}/\\.ftpship-state\\.json: RETR .*: 426 Connection closed; transfer aborted .*` +
            'the connection kept failing through the retries: check the network, then run the deploy again; nothing was changed',
        ),
      );
    } finally {
      await proxy.close();
    }
  });
});

describe('FIELD.md §1.9 silent or partial failure: "action green but site half-updated" (#123, #144, #150, #152, #185)', () => {
  it('the Action: an upload the server fails mid-deploy fails the step with one error naming the file; live files stay whole; the rerun finishes', async () => {
    const { ws, site } = actionWorkspace({
      'index.html': 'index v1',
      'about.html': 'about v1',
      'old.html': 'o',
    });
    const dir = uniqueName();
    const inputs = { ...actionConnection(srv, `${dir}/`), parallel: '1' };
    expect((await runMain(ws, inputs)).status).toBe(0);
    writeTree(site, { 'index.html': 'index v2', 'about.html': 'about v2', 'new.html': 'new' });
    fs.rmSync(path.join(site, 'old.html'));
    const run = await whileUploadsFail('new.html', async () => runMain(ws, inputs));
    // Not green: the step fails with one error naming the file and the server's reason.
    expect(run.status).not.toBe(0);
    expect(run.stdout.split('\n').filter((l) => l.startsWith('::error::'))).toEqual([
      expect.stringMatching(/^::error::upload new\.html failed: 550 Disk quota exceeded/),
    ]);
    // Not half-updated: the changed pages were never renamed in (each is wholly the old one), nothing deleted.
    expect(fs.readFileSync(path.join(remote(dir), 'index.html'), 'utf8')).toBe('index v1');
    expect(fs.readFileSync(path.join(remote(dir), 'about.html'), 'utf8')).toBe('about v1');
    expect(fs.existsSync(path.join(remote(dir), 'old.html'))).toBe(true);
    const rerun = await runMain(ws, inputs);
    expect(rerun.status).toBe(0);
    expectMirrors(site, dir);
  });
});

describe('FIELD.md §1.9: a new file the server fails mid-write, leaving a part (a full disk: IIS, ftp-srv)', () => {
  it('no warning that the server "refused to write over an existing file" (it did not), no --no-atomic advice in an atomic run; the error is the server\'s', async () => {
    const { local, dir } = newSite({ 'index.html': 'i' });
    await deploy(opts(local, dir));
    writeTree(local, { 'new.html': 'new' });
    const rec = recorder();
    const err = await whileUploadsFail('new.html', async () =>
      deploy(opts(local, dir, { retries: 0 }), rec).catch((e: unknown) => e),
    );
    expect(err).toBeInstanceOf(DeployError);
    expect((err as Error).message).toMatch(/550 Disk quota exceeded/);
    expect(rec.warnings.filter((w) => /write over|--no-atomic/.test(w))).toEqual([]);
    // The disk has room again: the rerun sends it, and nothing of the part is left.
    await deploy(opts(local, dir));
    expectMirrors(local, dir);
  });
});

describe('FIELD.md §1.1 connection drops: "Timeout (data socket)" (#153, #195, #197, #226)', () => {
  it('a data connection the server stops reading mid-file: timed out, retried on a new connection, resumed; the file whole', async () => {
    // Past the 1 MiB the server takes, more than the loopback buffers hold (tcp_rmem/tcp_wmem differ by machine):
    // held whole by the kernel, the upload would wait for a reply with a minute of drain time, past jest's timeout.
    const big = bytes(Math.max(16 * 1024 * 1024, 1024 * 1024 + loopbackBufferBytes() + 4 * 1024 * 1024), 5);
    const { local, dir } = newSite({ 'big.bin': big, 'index.html': 'i' });
    let stalled = 0;
    stall = (fsPath, written) => {
      // The first attempt at big.bin's temp: the server takes 1 MB, then never reads again.
      if (stalled > 1 || !/\.ftpship-[0-9a-f]{20}\.tmp$/.test(fsPath)) return false;
      if (written >= 1024 * 1024) stalled = 2;
      return stalled === 2;
    };
    const rec = recorder();
    try {
      await deploy(opts(local, dir, { timeoutMs: 1500 }), rec);
    } finally {
      stall = () => false;
    }
    expect(rec.warnings).toEqual([
      expect.stringMatching(
        /^upload big\.bin: data connection idle for 1500 ms; if the server is only slow, raise --timeout; retrying \(1\/5\)$/,
      ),
    ]);
    // Resumed from what the server had written, not sent again from zero.
    const rest = sent(rec.log, 'REST').map(Number);
    expect(rest).toHaveLength(1);
    expect(rest[0]).toBeGreaterThanOrEqual(1024 * 1024);
    expect(sha256(fs.readFileSync(path.join(remote(dir), 'big.bin')))).toBe(sha256(big));
  });
});

describe('FIELD.md §1.2 state trouble: "550 on STOR of state"', () => {
  it('the server refuses the state file: one error naming it, the reason and what to try (was the bare STOR reply); fixed, the rerun converges', async () => {
    const { local, dir } = newSite({ 'index.html': 'i', 'a.html': 'a' });
    const err = await whileUploadsFail(`${STATE}.tmp`, async () =>
      deploy(opts(local, dir)).then(
        () => undefined,
        (e: unknown) => e as Error,
      ),
    );
    expect(err).toBeInstanceOf(DeployError);
    expect(err?.message).toMatch(
      new RegExp(
        `^cannot write the state file ${dir}/\\.ftpship-state\\.json: 550 Disk quota exceeded \\(` +
          '.*check that the user may write there, or keep the state elsewhere with --state',
      ),
    );
    await deploy(opts(local, dir));
    expectMirrors(local, dir);
    await expectNothingToDo(local, dir);
  });
});
