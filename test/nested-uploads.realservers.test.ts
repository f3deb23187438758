/**
 * Nested deploys (/site and /site/blog, each with its own state): the outer deploy never sends a file into the
 * inner one's folder (a site built with a blog/ folder while blog is deployed by its own job). It would write
 * over the inner deploy's files, whose state would then name content no longer there (its next run, seeing
 * nothing changed, would never put its own back). Refused before any change (exit 3), dry run too, on a later
 * deploy and on a first one; the looks ride in writes the deploy makes anyway where they can. On pure-ftpd,
 * vsftpd and ftp-srv.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { deploy, type Reporter } from '../src/index.js';
import { GuardError } from '../src/engine/errors.js';
import { realServerSuite, type RealServer } from './helpers/real-servers.js';
import { deployTargets, type DeployTarget } from './helpers/targets.js';
import { readTree, sha256, tmpDir, writeTree } from './helpers/tmp.js';

const suite = realServerSuite('nested-uploads.realservers');
const { each, servers } = suite;
const STATE = '.ftpship-state.json';
const FDA = '.ftp-deploy-sync-state.json';
const { real, ftpSrv, rows: targets } = deployTargets(suite, 'h-engine5-nested', 'pure', 'vsftpd');
const quiet: Reporter = { warn: () => undefined };

/** The refusal of uploads into `dir`/`t`, another deploy's target. */
const refusal = (dir: string, t: string, files: string[], fda = false): string =>
  `cannot upload ${files.length} file(s) into ${dir}/${t} (${files.join(', ')}): that folder is the target of ` +
  `${fda ? 'an FTP-Deploy-Action deploy' : 'another ftpship deploy'} (its state ${t}/${fda ? FDA : STATE} is there), ` +
  `whose files ftpship never writes over; leave the folder out of this deploy with --exclude '/${t}', or deploy ` +
  `${dir}/${t} from one job only (if no job deploys there any more, delete ${dir}/${t}/${fda ? FDA : STATE}); ` +
  `nothing was changed`;

/** The error a deploy failed with (undefined: it did not fail). */
async function failure(run: Promise<unknown>): Promise<GuardError | undefined> {
  return run.then(
    () => undefined,
    (e: unknown) => e as GuardError,
  );
}

/** Refused (exit 3) with `message`, as a dry run (its report says so) and as a deploy; the server as it was. */
async function refused(t: DeployTarget, local: string, message: string): Promise<void> {
  const before = readTree(t.disk);
  const dry = await failure(deploy(t.opts(local, t.dir, { dryRun: true }), quiet));
  expect(dry).toBeInstanceOf(GuardError);
  expect(dry?.message).toBe(message);
  expect(dry?.report?.refused).toBe(message);
  const log: string[] = [];
  const err = await failure(deploy(t.opts(local, t.dir), { ...quiet, protocol: (l) => log.push(l) }));
  // Nothing sent, made, renamed or deleted, and no lock taken: the plan is refused before the lock (where the
  // lock is taken while the files are hashed, the spot check looked at every folder the plan may send into;
  // was: a lock taken meanwhile, then released).
  expect(log.filter((l) => /^> (STOR|APPE|DELE|RNFR|RMD|MKD|SITE) /.test(l))).toEqual([]);
  expect(err).toBeInstanceOf(GuardError);
  expect(err?.exitCode).toBe(3);
  expect(err?.message).toBe(message);
  expect(readTree(t.disk)).toEqual(before);
}

describe.each(targets)('%s: nested deploys, uploads', (_name, make) => {
  it("a later deploy sending files into the inner deploy's folder (a changed size, a new file; a same-size edit) is refused before any change, dry run too (was: the inner deploy's files overwritten)", async () => {
    const t = make();
    const { dir, disk, opts } = t;
    const outer = tmpDir();
    writeTree(outer, { 'index.html': 'home', 'blog/x.html': 'outer x' });
    await deploy(opts(outer, dir));
    const inner = tmpDir();
    writeTree(inner, { 'x.html': 'inner x', 'index.html': 'the blog' });
    await deploy(opts(inner, `${dir}/blog`), quiet);
    // Another size, and a new file: known before any hash (looked at in the spot check's write).
    writeTree(outer, { 'index.html': 'home, v2', 'blog/x.html': 'outer x, v2', 'blog/index.html': 'outer' });
    await refused(t, outer, refusal(dir, 'blog', ['blog/index.html', 'blog/x.html']));
    // The same size (known only from the hash: looked at after planning).
    fs.rmSync(path.join(outer, 'blog/index.html'));
    writeTree(outer, { 'index.html': 'home', 'blog/x.html': 'outer y' });
    await refused(t, outer, refusal(dir, 'blog', ['blog/x.html']));
    // The way out the refusal names: the folder left out, the rest deployed; the inner deploy's files as it left them.
    const done = await deploy(opts(outer, dir, { exclude: ['/blog'] }), quiet);
    expect(done.files).toEqual([]);
    expect(readTree(path.join(disk, 'blog'), [STATE])).toEqual({
      'x.html': sha256('inner x'),
      'index.html': sha256('the blog'),
    });
    expect((await deploy(opts(inner, `${dir}/blog`))).files).toEqual([]);
  });

  it("a site of more folders than the spot check looks at (40): a same-size edit in the inner deploy's folder, with a resized file at the top (the lock taken while hashing), is refused before any lock (was: lock taken, then refused)", async () => {
    const t = make();
    const { dir, opts } = t;
    const outer = tmpDir();
    const site: Record<string, string> = { 'index.html': 'home', 'zz/x.html': 'outer x' };
    for (let i = 0; i < 40; i++) site[`d${String(i).padStart(2, '0')}/f.txt`] = `f ${i}`;
    writeTree(outer, site);
    await deploy(opts(outer, dir));
    const inner = tmpDir();
    writeTree(inner, { 'x.html': 'inner x' });
    await deploy(opts(inner, `${dir}/zz`), quiet);
    writeTree(outer, { 'index.html': 'home, v2', 'zz/x.html': 'outer y' });
    await refused(t, outer, refusal(dir, 'zz', ['zz/x.html']));
  });

  it("a first deploy onto a target holding an inner deploy, a later one adding that folder, and a folder holding FTP-Deploy-Action's state: refused before any change", async () => {
    const t = make();
    const { dir, disk, opts } = t;
    const inner = tmpDir();
    writeTree(inner, { 'x.html': 'inner x' });
    await deploy(opts(inner, `${dir}/blog`), quiet);
    const outer = tmpDir();
    writeTree(outer, { 'index.html': 'home', 'blog/x.html': 'outer x' });
    await refused(t, outer, refusal(dir, 'blog', ['blog/x.html']));
    expect(fs.existsSync(path.join(disk, STATE))).toBe(false);
    // Deployed without blog/, then blog/ added to the site: a folder new to this deploy.
    fs.rmSync(path.join(outer, 'blog'), { recursive: true });
    await deploy(opts(outer, dir), quiet);
    writeTree(outer, { 'blog/x.html': 'outer x', 'blog/more/y.html': 'y' });
    await refused(t, outer, refusal(dir, 'blog', ['blog/x.html', 'blog/more/y.html']));
    // A folder FTP-Deploy-Action deploys (its state there, as it leaves it).
    fs.rmSync(path.join(outer, 'blog'), { recursive: true });
    writeTree(path.join(disk, 'docs'), { 'a.html': 'fda a', [FDA]: '{"version":"1.0.0","data":[]}' });
    writeTree(outer, { 'docs/a.html': 'outer a' });
    await refused(t, outer, refusal(dir, 'docs', ['docs/a.html'], true));
    expect(readTree(path.join(disk, 'blog'), [STATE])).toEqual({ 'x.html': sha256('inner x') });
  });
});

/** Each connection's writes (a run of commands sent before a reply is read), from the protocol log. */
function writesOf(log: Array<[string, number]>): number {
  let writes = 0;
  const last = new Map<number, string>();
  for (const [line, id] of log) {
    if (line.startsWith('>') && last.get(id) !== '>') writes++;
    last.set(id, line[0]);
  }
  return writes;
}

describe.each([...(servers ? each('pure') : []), ['ftp-srv', undefined] as [string, RealServer | undefined]])(
  '%s: the cost of the looks',
  (_name, srv) => {
    it('a file changed in a deployed folder: the looks ride in the spot check’s write (as many writes as a change at the top); a first deploy onto an empty target asks none', async () => {
      const t: DeployTarget = srv ? real(srv) : ftpSrv();
      const run = async (local: string): Promise<Array<[string, number]>> => {
        const log: Array<[string, number]> = [];
        await deploy(t.opts(local, t.dir, { parallel: 1 }), { protocol: (l, id) => log.push([l, id]) });
        return log;
      };
      const outer = tmpDir();
      writeTree(outer, { 'index.html': 'home', 'blog/x.html': 'x' });
      const first = await run(outer);
      const looksIn = (log: Array<[string, number]>): string[] =>
        log
          .map(([l]) => l)
          .filter((l) => l === `> SIZE ${t.dir}/blog/${STATE}` || l === `> SIZE ${t.dir}/blog/${FDA}`);
      expect(looksIn(first)).toEqual([]);
      writeTree(outer, { 'index.html': 'home, v2' });
      const top = await run(outer);
      writeTree(outer, { 'blog/x.html': 'x, v2' });
      const inBlog = await run(outer);
      const looks = looksIn(inBlog);
      expect(looks).toHaveLength(2);
      // In the spot check's write: sent with its look for a lock, before any reply.
      const lock = inBlog.findIndex(([l]) => l === `> CWD ${t.dir}/${STATE}.lock`);
      const sent = inBlog.findIndex(([l]) => l === looks[0]);
      expect(lock).toBeGreaterThan(0);
      expect(inBlog.slice(Math.min(lock, sent), Math.max(lock, sent)).every(([l]) => l.startsWith('>'))).toBe(
        true,
      );
      expect(writesOf(inBlog)).toBe(writesOf(top));
      // A change at the top takes the lock while the files are hashed: blog is looked at too (a same-size edit
      // there, known only once hashed, would be refused after the lock), in the same write.
      expect(looksIn(top)).toHaveLength(2);
    });
  },
);
