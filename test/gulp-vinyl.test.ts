/**
 * The gulp plugin with the vinyl files a gulpfile switching from vinyl-ftp sends it: streamed contents of a
 * large file, copies passed on and read late. Server: ftp-srv in this process.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from '@jest/globals';
import gulp from 'gulp';
import Vinyl from 'vinyl';
import PluginError from 'plugin-error';
import { deploy } from '../gulp-plugin/index.js';
import type { DeployReport } from '../src/engine/report.js';
import { gulpOptionsFor, useEmbedded } from './helpers/embedded.js';
import { bytes, readTree, sha256, tmpDir, uniqueName, writeTree } from './helpers/tmp.js';

const server = useEmbedded();

const opts = gulpOptionsFor(server);

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Buffer memory still referenced, after a full collection. */
function liveBuffers(): number {
  gc();
  gc();
  return process.memoryUsage().arrayBuffers;
}

const MIB = 1024 * 1024;

/** A vinyl file whose streamed contents are `block` `times` over, made as they are read (one block in memory). */
function streamedFile(base: string, rel: string, block: Buffer, times: number): Vinyl {
  async function* blocks(): AsyncGenerator<Buffer> {
    for (let i = 0; i < times; i++) yield block;
  }
  return new Vinyl({
    cwd: base,
    base,
    path: path.join(base, rel),
    contents: Readable.from(blocks(), { objectMode: false }),
  });
}

/** SHA-256 of `block` `times` over. */
function sha256Of(block: Buffer, times: number): string {
  return sha256(Buffer.concat(Array<Buffer>(times).fill(block)));
}

/** This process's spool folders (temp files of streamed contents) now in the temp folder. */
function spoolDirs(): string[] {
  return fs.readdirSync(os.tmpdir()).filter((n) => /^ftpship-gulp-[A-Za-z0-9]{6}$/.test(n));
}

/** Waits (bounded) until the spool folders are those of `before` again; returns those left. */
async function spoolsLeft(before: string[]): Promise<string[]> {
  for (let i = 0; i < 100; i++) {
    const extra = spoolDirs().filter((d) => !before.includes(d));
    if (extra.length === 0) return [];
    await new Promise((r) => setTimeout(r, 20));
  }
  return spoolDirs().filter((d) => !before.includes(d));
}

describe('gulp plugin: streamed contents (buffer: false)', () => {
  it('a large streamed file is never held in memory whole; deployed and passed on to gulp.dest intact', async () => {
    const block = bytes(MIB, 5);
    const times = 32;
    const base = tmpDir();
    const out = tmpDir();
    const dir = uniqueName('gulp-big');
    const spoolsBefore = spoolDirs();
    const before = liveBuffers();
    let held = Infinity;
    let report: DeployReport | undefined;
    await pipeline(
      Readable.from([streamedFile(base, 'media/big.bin', block, times)]),
      deploy(
        opts(dir, {
          onReport: (r) => {
            report = r;
            // Every file has come and been deployed: held now, the contents would still be in memory.
            held = liveBuffers() - before;
          },
        }),
      ),
      gulp.dest(out),
    );
    expect(report?.counts.upload).toBe(1);
    // Was 32 MiB and more: the whole contents, read into one Buffer and kept until the stream ended.
    expect(held).toBeLessThan((times * MIB) / 4);
    const expected = sha256Of(block, times);
    expect(sha256(fs.readFileSync(path.join(server().root, dir, 'media/big.bin')))).toBe(expected);
    expect(sha256(fs.readFileSync(path.join(out, 'media/big.bin')))).toBe(expected);
    expect(await spoolsLeft(spoolsBefore)).toEqual([]);
  });

  it('copies passed on and read only after the stream ended are whole; nothing is left in the temp folder', async () => {
    const base = tmpDir();
    const dir = uniqueName('gulp-late');
    const spoolsBefore = spoolDirs();
    const blocks = [bytes(70_000, 1), bytes(3, 2), Buffer.from('héllo wörld\n')];
    const passed: Vinyl[] = [];
    await new Promise<void>((resolve, reject) => {
      Readable.from(blocks.map((b, i) => streamedFile(base, `f${i}.bin`, b, 3)))
        .pipe(deploy(opts(dir)))
        .on('error', reject)
        .on('data', (f: Vinyl) => passed.push(f))
        .on('end', resolve);
    });
    // Read now, once the deploy is over.
    const read = await Promise.all(
      passed.map(async (f) => {
        const chunks: Buffer[] = [];
        for await (const c of f.contents as Readable) chunks.push(c as Buffer);
        return sha256(Buffer.concat(chunks));
      }),
    );
    expect(read).toEqual(blocks.map((b) => sha256Of(b, 3)));
    for (const [i, b] of blocks.entries())
      expect(sha256(fs.readFileSync(path.join(server().root, dir, `f${i}.bin`)))).toBe(sha256Of(b, 3));
    expect(await spoolsLeft(spoolsBefore)).toEqual([]);
  });

  it('with nothing downstream (the stream drains itself), the temp files go once the deploy is over', async () => {
    const base = tmpDir();
    const dir = uniqueName('gulp-sunk');
    const spoolsBefore = spoolDirs();
    let report: DeployReport | undefined;
    const stream = deploy(opts(dir, { onReport: (r) => (report = r) }));
    Readable.from([streamedFile(base, 'a.bin', bytes(1000, 3), 5)]).pipe(stream);
    await finished(stream);
    expect(report?.counts.upload).toBe(1);
    expect(await spoolsLeft(spoolsBefore)).toEqual([]);
  });
});

describe('gulp plugin: names', () => {
  it('a file name in latin1 bytes: the task fails saying the name is not UTF-8 and what to do; nothing is deployed', async () => {
    const local = tmpDir();
    fs.writeFileSync(path.join(local, 'index.html'), 'home');
    // "café.txt" with é as the one latin1 byte 0xE9: not UTF-8, as names from an old archive or a Windows zip.
    fs.writeFileSync(Buffer.from(`${local}/caf\xe9.txt`, 'latin1'), 'x');
    const dir = uniqueName('gulp-latin1');
    const err = await new Promise<Error | undefined>((resolve) => {
      gulp
        .src('**/*', { cwd: local, encoding: false })
        .pipe(deploy(opts(dir)))
        .on('error', resolve)
        .on('finish', () => resolve(undefined));
    });
    // Was only "…failed (ENOENT: no such file or directory, lstat '…/caf\uFFFD.txt'), so not every file…".
    expect(err?.message).toMatch(
      /\((?:Error: )?ENOENT: no such file or directory, lstat '.*caf\uFFFD\.txt'; that name is not valid UTF-8 \(each byte that is not shows as \uFFFD; latin1, say\), so it cannot be opened: rename it in UTF-8 \(convmv -f latin1 -t utf8 --notest\), or leave it out of gulp\.src with a '!' glob\), so not every file reached ftpship; nothing was deployed/,
    );
    expect(fs.existsSync(path.join(server().root, dir))).toBe(false);
  });

  it('a broken symlink (its target gone): the task fails saying so and what to do; nothing is deployed', async () => {
    const local = tmpDir();
    fs.writeFileSync(path.join(local, 'index.html'), 'home');
    fs.symlinkSync('build/app.js', path.join(local, 'app.js'));
    const dir = uniqueName('gulp-dangling');
    const err = await new Promise<Error | undefined>((resolve) => {
      gulp
        .src('**/*', { cwd: local, encoding: false })
        .pipe(deploy(opts(dir)))
        .on('error', resolve)
        .on('finish', () => resolve(undefined));
    });
    expect(err).toBeInstanceOf(PluginError);
    // gulp.src names the link (its stat of it), or only the target as the link holds it (its walker, following the
    // link, may fail first). Was only "…failed (ENOENT: no such file or directory, lstat 'build/app.js'), so not
    // every file reached ftpship; … Fix that error and run the task again".
    const link = path.join(local, 'app.js');
    const hints = [
      `stat '${link}'; ${link} is a symlink to build/app.js, which does not exist, so gulp.src cannot read it: ` +
        "point it at a file that exists, delete it, or leave it out of gulp.src with a '!' glob), so not every file",
      "lstat 'build/app.js'; build/app.js does not exist: most often a symlink in the folder gulp.src reads points " +
        'there and its target is gone (`find . -xtype l` there lists such links: point it at a file that exists, ' +
        "delete it, or leave it out of gulp.src with a '!' glob), else a file was removed while gulp.src read the " +
        'folder (a build or clean step still running: run the task again once it is done)), so not every file',
    ];
    expect(hints.some((hint) => err?.message.includes(hint))).toBe(true);
    expect(err?.message).toMatch(/so not every file reached ftpship; nothing was deployed/);
    expect(fs.existsSync(path.join(server().root, dir))).toBe(false);
  });

  it('a name in NFD (as macOS writes it) lands in NFC, and a rerun finds it unchanged', async () => {
    const local = tmpDir();
    const nfd = 'cafe\u0301/e\u0301te\u0301.txt';
    fs.mkdirSync(path.join(local, 'cafe\u0301'));
    fs.writeFileSync(path.join(local, nfd), 'summer');
    const dir = uniqueName('gulp-nfd');
    const run = async (): Promise<DeployReport> => {
      let report: DeployReport | undefined;
      await pipeline(
        gulp.src('**/*', { cwd: local, encoding: false }),
        deploy(opts(dir, { onReport: (r) => (report = r) })),
      );
      return report as DeployReport;
    };
    expect((await run()).counts.upload).toBe(1);
    expect(fs.readFileSync(path.join(server().root, dir, nfd.normalize('NFC')), 'utf8')).toBe('summer');
    expect(fs.readdirSync(path.join(server().root, dir)).filter((n) => n.startsWith('caf'))).toEqual([
      'caf\u00e9',
    ]);
    const again = await run();
    expect(again.counts.upload + again.counts.replace).toBe(0);
  });
});

describe('gulp plugin: a streamed file that fails while read', () => {
  it('fails the task naming the file; nothing is deployed and no temp file is left', async () => {
    async function* failing(): AsyncGenerator<Buffer> {
      yield Buffer.from('the first part');
      throw new Error('EIO: i/o error, read');
    }
    const base = tmpDir();
    const dir = uniqueName('gulp-eio');
    const spoolsBefore = spoolDirs();
    const file = new Vinyl({
      cwd: base,
      base,
      path: path.join(base, 'video.mp4'),
      contents: Readable.from(failing(), { objectMode: false }),
    });
    const err = await new Promise<Error | undefined>((resolve) => {
      Readable.from([file])
        .pipe(deploy(opts(dir)))
        .on('error', resolve)
        .on('finish', () => resolve(undefined));
    });
    expect(err).toBeInstanceOf(PluginError);
    expect(err?.message.replace(/such as [^)]*\)/, 'such as …)')).toBe('EIO: i/o error, read');
    expect((err as PluginError & { fileName?: string }).fileName).toBe(path.join(base, 'video.mp4'));
    expect(fs.existsSync(path.join(server().root, dir))).toBe(false);
    // Was left until the process ended (a gulp.watch session keeps running).
    expect(await spoolsLeft(spoolsBefore)).toEqual([]);
  });
});

describe('gulp plugin: bases', () => {
  const SITE = {
    'dist/index.html': 'home',
    'dist/blog/post.html': 'post',
    'dist/css/site.css': 'body{}',
    'robots.txt': 'User-agent: *',
  };

  async function run(
    cwd: string,
    dir: string,
    globs: string | string[],
    src: Record<string, unknown> = {},
  ): Promise<{ report?: DeployReport; err?: Error }> {
    let report: DeployReport | undefined;
    const stream = gulp
      .src(globs, { cwd, encoding: false, ...src })
      .pipe(deploy(opts(dir, { onReport: (r) => (report = r) })));
    const err = await finished(stream).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    return { report, err };
  }

  it("several globs, each with its own base (gulp.src(['dist/**/*.html', 'dist/css/*.css'])): refused, nothing changed; with { base } they deploy in place", async () => {
    const cwd = tmpDir();
    writeTree(cwd, SITE);
    const dir = uniqueName('gulp-bases');
    await pipeline(gulp.src('dist/**', { cwd, encoding: false }), deploy(opts(dir)));
    const site = path.join(server().root, dir);
    const before = readTree(site);
    expect(before['css/site.css']).toBe(sha256('body{}'));
    const { err } = await run(cwd, dir, ['dist/**/*.html', 'dist/css/*.css']);
    // Before: site.css went to the top, and css/site.css was deleted as an orphan.
    expect(err).toBeInstanceOf(PluginError);
    expect(err?.message.replace(/such as [^)]*\)/, 'such as …)')).toBe(
      `${path.join(cwd, 'dist/css/site.css')} comes with base ${path.join(cwd, 'dist/css')}, inside the base ${path.join(cwd, 'dist')} ` +
        `of the other files (such as …), so it would go to "site.css" under remoteDir, not ` +
        `"css/site.css": gulp.src gives each glob its own base, the folder before its first wildcard. Nothing was deployed; ` +
        "give the globs one base (gulp.src([...], { base: 'dist' }))",
    );
    expect(readTree(site)).toEqual(before);
    const { report, err: none } = await run(cwd, dir, ['dist/**/*.html', 'dist/css/*.css'], {
      base: path.join(cwd, 'dist'),
    });
    expect(none).toBeUndefined();
    expect(report?.counts).toMatchObject({ upload: 0, replace: 0, delete: 0, unchanged: 3 });
    expect(readTree(site)).toEqual(before);
  });

  it("the refusal's fileName (gulp prints it under Details) is the file its message names, whichever glob came first", async () => {
    const cwd = tmpDir();
    writeTree(cwd, SITE);
    const dir = uniqueName('gulp-bases-name');
    // The css glob first: site.css comes before any file shows dist to be a whole tree.
    const { err } = await run(cwd, dir, ['dist/css/*.css', 'dist/**/*.html']);
    expect(err).toBeInstanceOf(PluginError);
    const named = path.join(cwd, 'dist/css/site.css');
    expect(
      err?.message.startsWith(`${named} comes with base ${path.join(cwd, 'dist/css')}, inside the base`),
    ).toBe(true);
    // Before: the file at hand when the clash showed, dist/blog/post.html.
    expect((err as PluginError & { fileName?: string }).fileName).toBe(named);
    expect(fs.existsSync(path.join(server().root, dir))).toBe(false);
  });

  it("a tree and a single file beside it (gulp.src(['dist/**', 'robots.txt'])) both go to the top; a base given or none is the same", async () => {
    const cwd = tmpDir();
    writeTree(cwd, SITE);
    const dir = uniqueName('gulp-beside');
    const { report, err } = await run(cwd, dir, ['dist/**', 'robots.txt']);
    expect(err).toBeUndefined();
    expect(report?.counts.upload).toBe(4);
    expect(Object.keys(readTree(path.join(server().root, dir))).sort()).toEqual([
      '.ftpship-state.json',
      '.ftpship-state.json.bak',
      'blog/post.html',
      'css/site.css',
      'index.html',
      'robots.txt',
    ]);
    const again = await run(cwd, dir, ['dist/**', 'robots.txt'], {});
    expect(again.report?.counts.unchanged).toBe(4);
    const based = await run(cwd, dir, 'dist/**', { base: path.join(cwd, 'dist') });
    expect(based.err?.message).toBeUndefined();
    // robots.txt left out this time: the one change.
    expect(based.report?.counts).toMatchObject({ upload: 0, replace: 0, delete: 1, unchanged: 3 });
  });
});
