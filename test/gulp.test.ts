/** The gulp plugin with real gulp 5 streams (src, dest, pipeline) against ftp-srv. */
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough, Readable, Transform } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import gulp from 'gulp';
import Vinyl from 'vinyl';
import PluginError from 'plugin-error';
import { deploy, type GulpDeployOptions } from '../gulp-plugin/index.js';
import { redact } from '../gulp-plugin/options.js';
import type { DeployReport } from '../src/engine/report.js';
import type { EmbeddedServer } from '../src/embedded-server.js';
import { embedded, login } from './helpers/embedded.js';
import { startFakeServer } from './helpers/fake-server.js';
import { bytes, readDirs, readTree, sha256, tmpDir, uniqueName, writeTree } from './helpers/tmp.js';

let srv: EmbeddedServer;
beforeAll(async () => {
  srv = await embedded();
});
afterAll(async () => {
  await srv.close();
});
afterEach(() => {
  jest.restoreAllMocks();
});

const STATE = '.ftpship-state.json';

function opts(remoteDir: string, extra: Partial<GulpDeployOptions> = {}): GulpDeployOptions {
  return {
    ...login(srv),
    remoteDir,
    retryDelayMs: 10,
    quiet: true,
    ...extra,
  };
}

/** Deploys `cwd` through gulp.src → deploy() and returns the report. */
async function gulpDeploy(
  cwd: string,
  remoteDir: string,
  extra: Partial<GulpDeployOptions> = {},
  src: Record<string, unknown> = {},
): Promise<DeployReport> {
  let report: DeployReport | undefined;
  const stream = deploy(opts(remoteDir, { ...extra, onReport: (r) => (report = r) }));
  await pipeline(gulp.src('**/*', { cwd, dot: true, encoding: false, ...src }), stream);
  expect(report).toBeDefined();
  return report as DeployReport;
}

/** Server tree with mtimes, to prove nothing changed. */
function snapshot(root: string): string {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs
      .readdirSync(dir, { withFileTypes: true })
      .sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, e.name);
      const st = fs.statSync(full);
      out.push(`${path.relative(root, full)} ${e.isDirectory() ? 'dir' : st.size} ${st.mtimeMs}`);
      if (e.isDirectory()) walk(full);
    }
  };
  walk(root);
  return out.join('\n');
}

const SITE = {
  'index.html': '<h1>hello</h1>\n',
  '.htaccess': 'Options -Indexes\n',
  'css/site.css': 'body { color: #333 }\n',
  'img/logo.png': bytes(150_000, 7),
  'img/icons/zero.bin': Buffer.from([0, 255, 0, 13, 10, 26, 0x80, 0xfe]),
  'fonts/x.woff2': bytes(70_001, 3),
  'a/b/c/deep.txt': 'deep\n',
  'empty.txt': '',
  'sp ace/ü#%.txt': 'odd name\n',
};

/** What fancy-log writes from now on (stdout and stderr), until jest.restoreAllMocks(). */
function captureOutput(): string[] {
  const logged: string[] = [];
  for (const stream of [process.stdout, process.stderr])
    jest.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      logged.push(String(chunk));
      return true;
    });
  return logged;
}

describe('gulp plugin: mirroring', () => {
  it('gulp.src(**/*, {dot, encoding: false}) → deploy() mirrors the tree, binaries byte-identical', async () => {
    const local = tmpDir();
    writeTree(local, SITE);
    const report = await gulpDeploy(local, '/mirror');
    expect(report.counts.upload).toBe(Object.keys(SITE).length);
    expect(readTree(path.join(srv.root, 'mirror'), [STATE])).toEqual(readTree(local));
    expect(readDirs(path.join(srv.root, 'mirror'))).toEqual(readDirs(local));
    expect(sha256(fs.readFileSync(path.join(srv.root, 'mirror/img/logo.png')))).toBe(
      sha256(SITE['img/logo.png']),
    );
  });

  it('streamed contents (buffer: false) are deployed whole and still passed on as a stream', async () => {
    const local = tmpDir();
    writeTree(local, { 'big.bin': bytes(300_000, 11), 'small.txt': 'small\n', 'd/e.bin': bytes(5000, 2) });
    const seen: Record<string, string> = {};
    const report = await new Promise<DeployReport>((resolve, reject) => {
      let r: DeployReport | undefined;
      gulp
        .src('**/*', { cwd: local, dot: true, buffer: false, encoding: false })
        .pipe(deploy(opts('/streamed', { onReport: (x) => (r = x) })))
        .on('error', reject)
        .on('data', (file: Vinyl) => {
          if (!file.isStream()) return;
          const chunks: Buffer[] = [];
          (file.contents as NodeJS.ReadableStream).on('data', (c: Buffer) => chunks.push(c));
          (file.contents as NodeJS.ReadableStream).on(
            'end',
            () => (seen[file.relative.split(path.sep).join('/')] = sha256(Buffer.concat(chunks))),
          );
        })
        .on('end', () => setImmediate(() => resolve(r as DeployReport)));
    });
    expect(report.counts.upload).toBe(3);
    expect(readTree(path.join(srv.root, 'streamed'), [STATE])).toEqual(readTree(local));
    expect(seen).toEqual(readTree(local));
  });

  it('deploys files made inside the pipeline that never existed on disk', async () => {
    let report: DeployReport | undefined;
    const made = [
      new Vinyl({
        cwd: '/nowhere',
        base: '/nowhere',
        path: '/nowhere/generated/sitemap.xml',
        contents: Buffer.from('<urlset/>'),
      }),
      new Vinyl({
        cwd: '/nowhere',
        base: '/nowhere',
        path: '/nowhere/robots.txt',
        contents: Buffer.from('User-agent: *\n'),
      }),
      new Vinyl({
        cwd: '/nowhere',
        base: '/nowhere',
        path: '/nowhere/bin/blob.dat',
        contents: bytes(4096, 5),
      }),
      new Vinyl({
        cwd: '/nowhere',
        base: '/nowhere',
        path: '/nowhere/stream.txt',
        contents: Readable.from([Buffer.from('from a '), Buffer.from('stream')]),
      }),
    ];
    await pipeline(Readable.from(made), deploy(opts('/made', { onReport: (r) => (report = r) })));
    expect(report?.counts.upload).toBe(4);
    expect(fs.readFileSync(path.join(srv.root, 'made/generated/sitemap.xml'), 'utf8')).toBe('<urlset/>');
    expect(fs.readFileSync(path.join(srv.root, 'made/stream.txt'), 'utf8')).toBe('from a stream');
    expect(sha256(fs.readFileSync(path.join(srv.root, 'made/bin/blob.dat')))).toBe(sha256(bytes(4096, 5)));
  });
});

describe('gulp plugin: two files for one path', () => {
  it('gulp.src of two folders holding one name: the later is deployed, with a warning in the report even when quiet', async () => {
    const local = tmpDir();
    writeTree(local, {
      'dist/index.html': 'from dist',
      'static/index.html': 'from static',
      'static/x.txt': 'x',
    });
    let report: DeployReport | undefined;
    await pipeline(
      gulp.src(['dist/**/*', 'static/**/*'], { cwd: local, encoding: false }),
      deploy(opts('/two-for-one', { onReport: (r) => (report = r) })),
    );
    expect(fs.readFileSync(path.join(srv.root, 'two-for-one/index.html'), 'utf8')).toBe('from static');
    expect(report?.warnings).toContain(
      `two files map to index.html under remoteDir; the later one (${path.join(local, 'static/index.html')}) is deployed, ` +
        `not ${path.join(local, 'dist/index.html')}: give them other paths (gulp.src base, a rename), or leave one out of gulp.src`,
    );
  });
});

describe('gulp plugin: the engine semantics hold', () => {
  it('a rerun sends only what changed (a same-size edit too), deletes orphans; dry-run plans and touches nothing', async () => {
    const local = tmpDir();
    writeTree(local, SITE);
    await gulpDeploy(local, '/rerun');

    const again = await gulpDeploy(local, '/rerun');
    expect(again.counts).toEqual({
      mkdir: 0,
      upload: 0,
      replace: 0,
      delete: 0,
      rmdir: 0,
      unchanged: Object.keys(SITE).length,
    });

    fs.writeFileSync(path.join(local, 'index.html'), '<h1>HELLO</h1>\n'); // same size, new content
    fs.rmSync(path.join(local, 'a'), { recursive: true });
    fs.rmSync(path.join(local, 'fonts/x.woff2'));
    writeTree(local, { 'js/app.js': 'console.log(1)\n' });

    const before = snapshot(srv.root);
    const logged: string[] = [];
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      logged.push(String(chunk));
      return true;
    });
    const plan = await gulpDeploy(local, '/rerun', { dryRun: true, quiet: false });
    jest.restoreAllMocks();
    expect(snapshot(srv.root)).toBe(before);
    expect(plan.dryRun).toBe(true);
    expect(plan.counts).toMatchObject({ upload: 1, replace: 1, delete: 2 });
    const text = logged.join('');
    expect(text).toMatch(/ftpship: planning \d+ files/);
    expect(text).toMatch(/ftpship: {3}replace index\.html/);
    expect(text).toMatch(/ftpship: {3}delete {2}a\/b\/c\/deep\.txt/);
    expect(text).toMatch(/ftpship: {3}upload {2}js\/app\.js/);
    expect(text).toMatch(/ftpship: plan: would upload 1, replace 1, delete 2/);

    const real = await gulpDeploy(local, '/rerun');
    expect(real.counts).toMatchObject({ upload: 1, replace: 1, delete: 2, rmdir: 4 });
    expect(readTree(path.join(srv.root, 'rerun'), [STATE])).toEqual(readTree(local));
    expect(fs.existsSync(path.join(srv.root, 'rerun/a'))).toBe(false);
    expect(fs.existsSync(path.join(srv.root, 'rerun/fonts'))).toBe(false);
  });

  it('keep and delete: false leave orphans on the server', async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a', 'uploads/u.jpg': 'u', 'b.txt': 'b' });
    await gulpDeploy(local, '/keep');
    fs.rmSync(path.join(local, 'uploads'), { recursive: true });
    const kept = await gulpDeploy(local, '/keep', { keep: ['uploads/**'] });
    expect(kept.counts.delete).toBe(0);
    expect(kept.kept).toContain('uploads/u.jpg');
    fs.rmSync(path.join(local, 'b.txt'));
    const noDelete = await gulpDeploy(local, '/keep', { delete: false });
    expect(noDelete.counts.delete).toBe(0);
    expect(fs.existsSync(path.join(srv.root, 'keep/b.txt'))).toBe(true);
  });

  it('fileMode and dirMode set permissions on the server, files from memory included', async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a', 'sub/b.txt': 'b' });
    const report = await gulpDeploy(local, '/modes', { fileMode: '600', dirMode: '700' });
    expect(report.chmod).toEqual({ files: 2, dirs: 1 });
    const modeOf = (rel: string): string =>
      (fs.statSync(path.join(srv.root, 'modes', rel)).mode & 0o777).toString(8);
    expect([modeOf('a.txt'), modeOf('sub/b.txt'), modeOf('sub')]).toEqual(['600', '600', '700']);
  });

  it('uploadOnly sends every file each time, keeps no state and deletes nothing', async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a', 'sub/b.txt': 'b' });
    writeTree(path.join(srv.root, 'plain'), { 'theirs.txt': 't' });
    await gulpDeploy(local, '/plain', { uploadOnly: true });
    fs.rmSync(path.join(local, 'a.txt'));
    const again = await gulpDeploy(local, '/plain', { uploadOnly: true });
    expect(again.counts).toMatchObject({ upload: 1, delete: 0, unchanged: 0 });
    expect(Object.keys(readTree(path.join(srv.root, 'plain'))).sort()).toEqual([
      'a.txt',
      'sub/b.txt',
      'theirs.txt',
    ]);
  });
});

describe('gulp plugin: a well-behaved stream', () => {
  it('passes every file through, so the pipeline can go on to gulp.dest', async () => {
    const local = tmpDir();
    const out = tmpDir();
    writeTree(local, SITE);
    await pipeline(
      gulp.src('**/*', { cwd: local, dot: true, encoding: false }),
      deploy(opts('/through')),
      gulp.dest(out),
    );
    expect(readTree(out)).toEqual(readTree(local));
    expect(readTree(path.join(srv.root, 'through'), [STATE])).toEqual(readTree(local));
  });

  it('passes directories and symlinks (null contents) through without deploying them', async () => {
    const local = tmpDir();
    writeTree(local, { 'dir/f.txt': 'f' });
    fs.symlinkSync('dir/f.txt', path.join(local, 'link'));
    const at = (rel: string, stat: fs.Stats, contents: Buffer | null): Vinyl =>
      new Vinyl({ cwd: local, base: local, path: path.join(local, rel), stat, contents });
    const dir = at('dir', fs.statSync(path.join(local, 'dir')), null);
    const link = at('link', fs.lstatSync(path.join(local, 'link')), null);
    const file = at('dir/f.txt', fs.statSync(path.join(local, 'dir/f.txt')), Buffer.from('f'));
    const seen: Vinyl[] = [];
    let report: DeployReport | undefined;
    const stream = deploy(opts('/nulls', { onReport: (r) => (report = r) }));
    stream.on('data', (f: Vinyl) => seen.push(f));
    stream.write(dir);
    stream.write(link);
    stream.write(file);
    stream.end();
    await finished(stream);
    expect(seen).toEqual([dir, link, file]);
    expect(report?.counts.upload).toBe(1);
    // The link is said to be left out: a copy an earlier deploy sent (links resolved) would go as an orphan.
    expect(report?.warnings).toEqual([
      'skipped link: a symlink (gulp.src with resolveSymlinks: false) is not deployed, and a copy deployed earlier is deleted',
    ]);
    expect(Object.keys(readTree(path.join(srv.root, 'nulls'), [STATE]))).toEqual(['dir/f.txt']);
  });

  it('deploys even when nothing reads its output (more files than the buffer holds)', async () => {
    const local = tmpDir();
    const many: Record<string, string> = {};
    for (let i = 0; i < 60; i++) many[`f${i}.txt`] = `file ${i}\n`;
    writeTree(local, many);
    let report: DeployReport | undefined;
    const stream = deploy(opts('/unread', { onReport: (r) => (report = r) }));
    gulp.src('*', { cwd: local, encoding: false }).pipe(stream); // nobody listens to `stream`
    await new Promise<void>((resolve, reject) => {
      stream.on('finish', resolve);
      stream.on('error', reject);
    });
    expect(report?.counts.upload).toBe(60);
    expect(readTree(path.join(srv.root, 'unread'), [STATE])).toEqual(readTree(local));
  });

  it('a consumer added later in the same tick still gets every file', async () => {
    const stream = deploy(opts('/late', { dryRun: true }));
    const sinkSide = new PassThrough({ objectMode: true });
    const got: string[] = [];
    sinkSide.on('data', (f: Vinyl) => got.push(f.relative));
    Readable.from([new Vinyl({ cwd: '/', base: '/', path: '/one.txt', contents: Buffer.from('1') })]).pipe(
      stream,
    );
    stream.pipe(sinkSide);
    await finished(sinkSide);
    expect(got).toEqual(['one.txt']);
  });
});

describe('gulp plugin: errors', () => {
  it.each<[string, Record<string, unknown>, RegExp]>([
    ['no host', { host: '' }, /invalid host/],
    [
      'user:password@host as the host (the password not shown)',
      { host: 'deploy:S3cr3t-9@ftp.example.com' },
      /^invalid host: it holds a user and a password before ftp\.example\.com; give the server name alone \(host: 'ftp\.example\.com'\), the user name in user and the password in password$/,
    ],
    [
      'a password given as the host (not shown)',
      { host: 'p@ss w0rd!' },
      /^invalid host \(not shown: it is no server name or address, and may be a password\); give a server name or address such as ftp\.example\.com$/,
    ],
    // Before: "invalid host (not shown: it is no server name or address, and may be a password)".
    [
      'a URL as the host',
      { host: 'ftp://ftp.example.com/www' },
      /^invalid host "ftp:\/\/ftp\.example\.com\/www": a URL; give the server name alone \(host: 'ftp\.example\.com'\), and the port, folder and TLS in port, remoteDir and secure$/,
    ],
    [
      'a URL with a slash missing as the host',
      { host: 'ftp:/ftp.example.com' },
      /^invalid host "ftp:\/ftp\.example\.com": a URL; give the server name alone \(host: 'ftp\.example\.com'\)/,
    ],
    ['a bad port', { port: 70000 }, /invalid port 70000/],
    ['a bad parallel', { parallel: 0 }, /invalid parallel 0/],
    ['a bad secure', { secure: 'yes' }, /invalid secure/],
    // vinyl-ftp's options, as a gulpfile switching from it still has them. Before: no hint, the list of all options.
    [
      "vinyl-ftp's secure: true",
      { secure: true },
      /^invalid secure true; use false, 'explicit' or 'implicit' \(secure: true in vinyl-ftp and basic-ftp is 'explicit' here: AUTH TLS\)$/,
    ],
    [
      "vinyl-ftp's maxConnections",
      { maxConnections: 5 },
      /^unknown option maxConnections; did you mean parallel\?$/,
    ],
    [
      "vinyl-ftp's secureOptions",
      { secureOptions: {} },
      /^unknown option secureOptions; did you mean tls\?$/,
    ],
    [
      "vinyl-ftp's log",
      { log: console.log },
      /^log is not an option: ftpship logs to the gulp log \(fancy-log\) already; remove log \(quiet: true logs nothing\)$/,
    ],
    ['a user without password', { password: undefined }, /no password for user/],
    ['localDir', { localDir: 'dist' }, /remove localDir/],
    ['uploadOnly with adopt', { uploadOnly: true, adopt: true }, /drop one of uploadOnly and adopt$/],
    [
      'a mode given as a number',
      { fileMode: 0o644 },
      /invalid fileMode 420; give the mode as a string of octal digits/,
    ],
    ['a bad maxDelete', { maxDelete: -1 }, /^invalid maxDelete -1; use a whole number/],
    ['a bad timeoutMs', { timeoutMs: 5 }, /^invalid timeoutMs 5; use a whole number/],
    [
      'a servername without TLS',
      { tls: { servername: 'ftp.example.com' } },
      /^tls\.servername ftp\.example\.com checks a TLS certificate, but this connection is plain FTP; ask for FTPS \(secure: 'explicit' or 'implicit'\) or drop tls\.servername$/,
    ],
    ['a misspelt option', { paralel: 2 }, /^unknown option paralel; did you mean parallel\?/],
    [
      'two misspelt options',
      { dryrun: true, paralel: 2 },
      /^unknown options dryrun \(did you mean dryRun\?\) and paralel \(did you mean parallel\?\)/,
    ],
    ['an Action input name', { server: 'ftp.example.com' }, /^unknown option server; did you mean host\?/],
    ['an option unlike any', { colour: 'red' }, /^unknown option colour; the options are host, port, /],
    ['exclude', { exclude: ['*.map'] }, /exclude does not apply to piped files: leave them out of gulp\.src/],
    ['a password given as a number', { password: 12345 }, /^password must be a string; quote it/],
    // Each of these was taken before: quiet: 'no' logged nothing, a tls key or type mistake was ignored, a
    // negative staleLockMs took over any deploy's lock at once.
    ["quiet: 'yes'", { quiet: 'yes' }, /^invalid quiet "yes"; use true or false$/],
    [
      'tls: { ca: 5 }',
      { tls: { ca: 5 } },
      /^invalid tls\.ca 5; give the CA certificate's PEM text \(a string or Buffer, e\.g\. fs\.readFileSync\('ca\.pem'\)\) or a list of them$/,
    ],
    [
      'a misspelt tls key',
      { secure: 'explicit', tls: { rejectUnauthorised: false } },
      /^unknown option tls\.rejectUnauthorised; did you mean tls\.rejectUnauthorized\?$/,
    ],
    [
      "tls: { rejectUnauthorized: 'false' }",
      { secure: 'explicit', tls: { rejectUnauthorized: 'false' } },
      /^invalid tls\.rejectUnauthorized "false"; use true or false/,
    ],
    [
      "tls: { minVersion } (Node's, not taken)",
      { secure: 'explicit', tls: { minVersion: 'TLSv1.2' } },
      /^unknown option tls\.minVersion; ftpship takes no minimum TLS version .*: remove it$/,
    ],
    [
      'a bad tls.maxVersion',
      { secure: 'explicit', tls: { maxVersion: 'tls1.2' } },
      /^invalid tls\.maxVersion "tls1\.2"; use one of 'TLSv1\.3', 'TLSv1\.2'/,
    ],
    // Was "the CA given (tls.ca, tls.ca) holds …".
    [
      'a tls.ca that is not PEM',
      { secure: 'explicit', tls: { ca: 'not a pem' } },
      /^the CA given \(tls\.ca\) holds no PEM certificate/,
    ],
    [
      'staleLockMs: -1',
      { staleLockMs: -1 },
      /^invalid staleLockMs -1; use a whole number of milliseconds from 1000 to 604800000 \(60000 is a minute\)$/,
    ],
    [
      "retryDelayMs: 'x'",
      { retryDelayMs: 'x' },
      /^invalid retryDelayMs "x"; use a whole number of milliseconds/,
    ],
    ["parallel: '4'", { parallel: '4' }, /^invalid parallel "4"; use a whole number from 1 to 64$/],
    ['paralell', { paralell: 4 }, /^unknown option paralell; did you mean parallel\?$/],
    ['remotePath', { remotePath: '/site' }, /^unknown option remotePath; did you mean remoteDir\?$/],
    // vinyl-ftp's own options. Before: "unknown option timeOffset; the options are host, port, …".
    [
      "vinyl-ftp's timeOffset",
      { timeOffset: 0 },
      /^timeOffset is not needed: ftpship compares files by content \(SHA-256\), not by the server's times; remove timeOffset$/,
    ],
    ["vinyl-ftp's reload", { reload: true }, /^reload is not needed: .*; remove reload$/],
    ["vinyl-ftp's idleTimeout", { idleTimeout: 100 }, /^idleTimeout is not needed: .*; remove idleTimeout/],
    ["node-ftp's connTimeout", { connTimeout: 10000 }, /^connTimeout is not an option: use timeoutMs/],
  ])('throws PluginError at creation for %s', (_what, bad, message) => {
    let err: unknown;
    try {
      deploy({ ...opts('/x'), ...bad } as GulpDeployOptions);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PluginError);
    expect((err as PluginError).plugin).toBe('ftpship');
    expect((err as Error).message).toMatch(message);
  });

  it('throws PluginError for no options at all', () => {
    expect(() => deploy(undefined as unknown as GulpDeployOptions)).toThrow(PluginError);
  });

  it('a wrong password ends the stream with a PluginError that never shows the password', async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a' });
    const secret = 'wr0ng-s3cret-pass';
    const err = await pipeline(
      gulp.src('**/*', { cwd: local, encoding: false }),
      deploy(opts('/wrong', { password: secret })),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PluginError);
    expect((err as PluginError).plugin).toBe('ftpship');
    expect((err as Error).message).toMatch(/login to .* failed: 530/);
    expect(`${String(err)} ${(err as Error).stack} ${JSON.stringify(err)}`).not.toContain(secret);
    expect(fs.existsSync(path.join(srv.root, 'wrong'))).toBe(false);
  });

  it('no option error shows a password given as a number', () => {
    let err: unknown;
    try {
      deploy({ ...opts('/x'), password: 987654321 } as unknown as GulpDeployOptions);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PluginError);
    expect(String(err)).not.toContain('987654321');
  });

  it('a wrong one-letter password is redacted without garbling the message', async () => {
    const err = await pipeline(
      Readable.from([new Vinyl({ cwd: '/', base: '/', path: '/a.txt', contents: Buffer.from('a') })]),
      deploy(opts('/wrong-p', { password: 'p' })),
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PluginError);
    expect((err as Error).message).toMatch(
      /^login to 127\.0\.0\.1:\d+ as "[^"]+" failed: 530 .*; check the user and password$/,
    );
    expect((err as Error).message).not.toContain('*');
  });

  it.each<[string, string, string, string]>([
    [
      'a one-letter password inside words',
      'login to ftp.example.com failed; check the user and password',
      'p',
      'login to ftp.example.com failed; check the user and password',
    ],
    ['a short password standing alone', '530 PASS p rejected', 'p', '530 PASS *** rejected'],
    [
      'a short password in a URL',
      'cannot reach ftp://deploy:p@host/',
      'p',
      'cannot reach ftp://deploy:***@host/',
    ],
    ['a short password after a %XX escape', 'GET /?u=deploy%3Ap', 'p', 'GET /?u=deploy%3A***'],
    ['a short password in JSON', '{"password":"1234"}', '1234', '{"password":"***"}'],
    ['a long password glued to other text', 'echo: PASShunter2secret!', 'hunter2secret', 'echo: PASS***!'],
    ['a password URL-encoded', 'ftp://u:p%40ss%20w%2Frd@h', 'p@ss w/rd', 'ftp://u:***@h'],
    ['a password JSON-escaped', '{"pw":"a\\"b"}', 'a"b', '{"pw":"***"}'],
    ['regex characters in the password', 'said (.*) twice (.*)', '(.*)', 'said *** twice ***'],
  ])('redact: %s', (_what, message, password, shown) => {
    expect(redact(message, password)).toBe(shown);
  });

  it('the guard against many deletes names maxDelete, not the CLI flag', async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a', 'b.txt': 'b', 'c.txt': 'c' });
    await gulpDeploy(local, '/guarded');
    fs.rmSync(path.join(local, 'b.txt'));
    fs.rmSync(path.join(local, 'c.txt'));
    const before = snapshot(path.join(srv.root, 'guarded'));
    const err = await gulpDeploy(local, '/guarded', { maxDelete: 1 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PluginError);
    expect((err as Error).message).toBe(
      'the plan deletes 2 files, more than maxDelete: 1; nothing was changed. Check the files piped in, or raise maxDelete.',
    );
    expect(snapshot(path.join(srv.root, 'guarded'))).toBe(before);
  });

  it.each([
    ['a dry run', true, /ftpship: plan: would upload 1, replace 0, delete 2,/],
    [
      'a deploy',
      false,
      /ftpship: refused, nothing was changed: would upload 1, replace 0, delete 2,.* 3 B to send/,
    ],
  ])(
    '%s refused by maxDelete hands its plan to onReport and logs it, then fails with the PluginError',
    async (_, dryRun, summary) => {
      const target = `/refused-plan-${dryRun ? 'dry' : 'real'}`;
      const local = tmpDir();
      writeTree(local, { 'a.txt': 'a', 'b.txt': 'b', 'c.txt': 'c' });
      await gulpDeploy(local, target);
      fs.rmSync(path.join(local, 'b.txt'));
      fs.rmSync(path.join(local, 'c.txt'));
      writeTree(local, { 'd.txt': 'new' });
      const before = snapshot(path.join(srv.root, target));
      const logged = captureOutput();
      const reports: DeployReport[] = [];
      const stream = deploy(
        opts(target, { dryRun, maxDelete: 1, quiet: false, onReport: (r) => reports.push(r) }),
      );
      const err = await pipeline(gulp.src('**/*', { cwd: local, dot: true, encoding: false }), stream).then(
        () => undefined,
        (e: unknown) => e,
      );
      jest.restoreAllMocks();

      expect(err).toBeInstanceOf(PluginError);
      expect((err as Error).message).toBe(
        'the plan deletes 2 files, more than maxDelete: 1; nothing was changed. Check the files piped in, or raise maxDelete.',
      );
      expect(reports).toHaveLength(1);
      const [report] = reports;
      expect(report.dryRun).toBe(dryRun);
      expect(report.refused).toBe((err as Error).message);
      expect(report.bytes.sent).toBe(0);
      expect(report.counts).toMatchObject({ upload: 1, delete: 2, unchanged: 1 });
      expect(report.files.map((f) => `${f.action} ${f.path}`).sort()).toEqual([
        'delete b.txt',
        'delete c.txt',
        'upload d.txt',
      ]);
      const out = logged.join('');
      expect(out).toMatch(/ftpship: {3}delete {2}b\.txt \(1 B\)\n/);
      expect(out).toMatch(/ftpship: {3}upload {2}d\.txt \(3 B\)\n/);
      expect(out).toMatch(summary);
      expect(out).not.toContain(srv.password);
      expect(snapshot(path.join(srv.root, target))).toBe(before);
    },
  );

  it.each([
    [
      'moved out of its base by a rename',
      { cwd: '/w', base: '/w/dist', path: '/w/other/a.txt' },
      /^\/w\/other\/a\.txt is outside its base \/w\/dist \(relative path "\.\.\/other\/a\.txt"\), and its path under remoteDir is its relative path: /,
    ],
    [
      'its base itself',
      { cwd: '/w', base: '/w/dist', path: '/w/dist' },
      /^\/w\/dist is outside its base \/w\/dist \(relative path ""\)/,
    ],
    ['without a path', {}, /^a file without a path reached ftpship/],
  ])('a file %s fails the task naming its path and base; nothing is sent', async (_what, where, message) => {
    const files = [
      new Vinyl({ cwd: '/w', base: '/w/dist', path: '/w/dist/fine.txt', contents: Buffer.from('f') }),
      new Vinyl({ ...where, contents: Buffer.from('x') }),
    ];
    const err = await pipeline(Readable.from(files), deploy(opts('/outside-base'))).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PluginError);
    expect((err as Error).message).toMatch(message);
    expect(fs.existsSync(path.join(srv.root, 'outside-base'))).toBe(false);
  });

  it.each([
    ['buffered', {}],
    ['streamed', { buffer: false }],
  ])(
    'gulp.src without encoding: false (%s): a binary file mangled into UTF-8 fails the task, nothing sent',
    async (_what, src) => {
      const local = tmpDir();
      writeTree(local, { 'img/logo.png': bytes(3000, 7), 'index.html': '<p>é</p>' });
      const stream = deploy(opts('/h-audit-transcoded'));
      // gulp 5's default encoding: utf8. Before: deployed, logo.png grown to ~5.5 KB of U+FFFD on the server.
      const err = await pipeline(gulp.src('**/*', { cwd: local, ...src }), stream).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(PluginError);
      expect((err as Error).message).toMatch(
        /^img\/logo\.png was changed on its way in \(3000 bytes on disk, \d+ in the stream, bytes that are not UTF-8 replaced by U\+FFFD\): gulp 5 reads files as UTF-8 text by default, which mangles images and fonts\. Nothing was deployed; give gulp\.src the option encoding: false/,
      );
      expect(fs.existsSync(path.join(srv.root, 'h-audit-transcoded'))).toBe(false);
    },
  );

  it("a plugin's binary output of another size that holds U+FFFD's bytes by chance is deployed, not refused", async () => {
    const local = tmpDir();
    writeTree(local, { 'img/logo.png': bytes(3000, 7) });
    const optimised = Buffer.concat([bytes(500, 9), Buffer.from('\uFFFD'), bytes(500, 11)]);
    const imagemin = new Transform({
      objectMode: true,
      transform(file: Vinyl, _enc, done) {
        if (file.isBuffer()) file.contents = optimised;
        done(null, file);
      },
    });
    await pipeline(
      gulp.src('**/*', { cwd: local, encoding: false }),
      imagemin,
      deploy(opts('/h-audit-optimised')),
    );
    expect(
      fs.readFileSync(path.join(srv.root, 'h-audit-optimised', 'img', 'logo.png')).equals(optimised),
    ).toBe(true);
  });

  it('onReport throwing fails the task with a PluginError that says the deploy itself was done', async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a' });
    const stream = deploy(
      opts('/report-threw', {
        onReport: () => {
          throw new TypeError("Cannot read properties of undefined (reading 'upload')");
        },
      }),
    );
    const err = await pipeline(gulp.src('**/*', { cwd: local, encoding: false }), stream).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PluginError);
    expect((err as Error).message).toMatch(
      /^onReport threw TypeError: Cannot read properties of undefined \(reading 'upload'\); the deploy itself was done \(deployed: did upload 1, replace 0, delete 0, mkdir 0, rmdir 0; 0 unchanged; 1 B sent in [\d.]+ s\)$/,
    );
    expect(readTree(path.join(srv.root, 'report-threw'), [STATE])).toEqual(readTree(local));
  });

  it('terminal control characters in a server reply are escaped in the PluginError', async () => {
    const forged = '530 Login incorrect.\r\x1b[2K\x1b[32mftpship: deployed 3 files\x1b[0m\x07';
    const fake = await startFakeServer({ handlers: { PASS: (_a, s) => s.reply(forged) } });
    captureOutput();
    try {
      const file = new Vinyl({ cwd: '/', base: '/', path: '/x.txt', contents: Buffer.from('x') });
      const err = await pipeline(
        Readable.from([file]),
        deploy({
          host: fake.host,
          port: fake.port,
          user: 'u',
          password: 'pw-1234',
          retries: 0,
          quiet: false,
        }),
      ).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(PluginError);
      expect((err as Error).message).toContain('530 Login incorrect.\\x0d\\x1b[2K');
      // eslint-disable-next-line no-control-regex -- control characters are what it looks for
      expect((err as Error).message).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
    } finally {
      await fake.close();
    }
  });

  it('a server error mid-deploy ends the stream with a PluginError', async () => {
    fs.writeFileSync(path.join(srv.root, 'blocker'), 'a file where the folder should be');
    const file = new Vinyl({ cwd: '/', base: '/', path: '/x.txt', contents: Buffer.from('x') });
    const err = await pipeline(Readable.from([file]), deploy(opts('/blocker/site'))).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PluginError);
    expect((err as Error).message).not.toContain(srv.password);
  });

  it('a file made in the pipeline with a line break in its name ends the stream with a PluginError naming it; nothing is sent', async () => {
    const files = [
      new Vinyl({ cwd: '/', base: '/', path: '/fine.txt', contents: Buffer.from('f') }),
      new Vinyl({ cwd: '/', base: '/', path: '/bad\nname.txt', contents: Buffer.from('x') }),
    ];
    const err = await pipeline(Readable.from(files), deploy(opts('/linebreak'))).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PluginError);
    expect((err as Error).message).toContain('local path "bad\\nname.txt" has a line break');
    expect(fs.existsSync(path.join(srv.root, 'linebreak'))).toBe(false);
  });

  it.each<[string, unknown, string]>([
    ['a line of text (a text stream piped in)', 'index.html\n', 'a string'],
    ['bytes (fs.createReadStream piped in)', Buffer.from('<h1>'), 'a Buffer'],
    ['an object that is no vinyl file', { path: '/x/a.txt', contents: Buffer.from('a') }, 'an object'],
  ])(
    '%s ends the stream with a PluginError saying it takes vinyl files (was: "file.isDirectory is not a function"); nothing is sent',
    async (_what, chunk, named) => {
      const dir = uniqueName('not-vinyl');
      const err = await pipeline(Readable.from([chunk], { objectMode: true }), deploy(opts(`/${dir}`))).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(PluginError);
      expect((err as PluginError).plugin).toBe('ftpship');
      expect((err as Error).message).toBe(
        `deploy() takes vinyl files, as gulp.src() makes them; ${named} came in: pipe gulp.src('dist/**', { encoding: false }) into it, or make each file with new Vinyl({ path, base, contents })`,
      );
      expect(fs.existsSync(path.join(srv.root, dir))).toBe(false);
    },
  );

  it("an earlier plugin that fails and still ends its stream (gulp-sass's logError) fails the task; the files that came are not deployed", async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a', 'b.txt': 'b', 'c.txt': 'c', 'd.txt': 'd' });
    await gulpDeploy(local, '/upstream-failed');
    const before = snapshot(path.join(srv.root, 'upstream-failed'));
    let seen = 0;
    const compile = new Transform({
      objectMode: true,
      transform(file: Vinyl, _enc, done) {
        if (++seen === 2) done(new PluginError('gulp-sass', 'b.scss: expected "}"'));
        else done(null, file);
      },
    });
    // What gulp-sass's logError does: log the error, then end the stream so that watch mode goes on.
    compile.on('error', function (this: Transform) {
      this.emit('end');
    });
    const src = gulp.src('**/*', { cwd: local, encoding: false });
    src.on('error', () => {}); // gulp.src hears the error too; gulp would report it
    const out = src.pipe(compile).pipe(deploy(opts('/upstream-failed')));
    const err = await new Promise<unknown>((resolve) => {
      out.on('error', resolve);
      out.on('finish', () => resolve(undefined));
    });
    expect(err).toBeInstanceOf(PluginError);
    expect((err as PluginError).plugin).toBe('ftpship');
    expect((err as Error).message).toMatch(
      /^an earlier step of the pipeline failed \(gulp-sass: b\.scss: expected "}"\), so not every file reached ftpship; nothing was deployed/,
    );
    // Deployed, the one file that came would have made the other three orphans, deleted from the server.
    expect(snapshot(path.join(srv.root, 'upstream-failed'))).toBe(before);
  });
});

describe('gulp plugin: logging', () => {
  it('logs the start, progress and summary through fancy-log; quiet logs nothing', async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a', 'b/c.bin': bytes(2000) });
    const logged = captureOutput();
    await gulpDeploy(local, '/logged', { quiet: false });
    const loud = logged.join('');
    logged.length = 0;
    await gulpDeploy(local, '/logged-quiet', { quiet: true });
    const quiet = logged.join('');
    jest.restoreAllMocks();

    expect(loud).toMatch(/\[\d\d:\d\d:\d\d\] ftpship: deploying 2 files to 127\.0\.0\.1 \/logged\n/); // fancy-log's timestamp
    expect(loud).toMatch(/ftpship: 2\/2 files, 2\.0 KiB of 2\.0 KiB\n/);
    expect(loud).toMatch(
      /ftpship: deployed: did upload 2, replace 0, delete 0, mkdir 1, rmdir 0; 0 unchanged; 2\.0 KiB sent in/,
    );
    expect(loud).not.toContain(srv.password);
    expect(quiet).toBe('');
    expect(fs.existsSync(path.join(srv.root, 'logged-quiet/b/c.bin'))).toBe(true);
  });
});

describe('gulp plugin: files without contents', () => {
  it('a file with null contents (read: false) fails the task naming it; the server and the state stay as they were', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'i', 'about.html': 'a', 'css/site.css': 'c' });
    await gulpDeploy(local, '/noread');
    const before = snapshot(path.join(srv.root, 'noread'));
    const state = fs.readFileSync(path.join(srv.root, 'noread', STATE), 'utf8');
    const at = (rel: string, read: boolean): Vinyl =>
      new Vinyl({
        cwd: local,
        base: local,
        path: path.join(local, rel),
        stat: fs.statSync(path.join(local, rel)),
        contents: read ? fs.readFileSync(path.join(local, rel)) : null,
      });
    const files = [
      at('index.html', true),
      at('css', false),
      at('about.html', false),
      at('css/site.css', true),
    ];
    const err = await pipeline(Readable.from(files), deploy(opts('/noread'))).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PluginError);
    expect((err as PluginError).plugin).toBe('ftpship');
    expect((err as Error).message).toBe(
      '"about.html" reached ftpship without its contents (gulp.src with read: false?); nothing was deployed. ' +
        'Drop read: false from gulp.src, or leave the file out of the stream',
    );
    expect(snapshot(path.join(srv.root, 'noread'))).toBe(before);
    expect(fs.readFileSync(path.join(srv.root, 'noread', STATE), 'utf8')).toBe(state);
  });

  it('gulp.src(..., {read: false}) onto a fresh target fails and creates nothing there', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'i', 'sub/page.html': 'p' });
    const err = await gulpDeploy(local, '/noread-fresh', {}, { read: false }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PluginError);
    expect((err as Error).message).toMatch(/^"index\.html" reached ftpship without its contents/);
    expect(fs.existsSync(path.join(srv.root, 'noread-fresh'))).toBe(false);
  });
});

describe('gulp plugin: an empty stream', () => {
  function captureLog(): { text: () => string } {
    const logged: string[] = [];
    for (const out of [process.stdout, process.stderr])
      jest.spyOn(out, 'write').mockImplementation((chunk: string | Uint8Array) => {
        logged.push(String(chunk));
        return true;
      });
    return { text: () => logged.join('') };
  }

  it('warns that no file reached the plugin, and what to check', async () => {
    const log = captureLog();
    const report = await gulpDeploy(tmpDir(), '/empty-fresh', { quiet: false });
    jest.restoreAllMocks();
    const warning =
      'no file reached ftpship: check the gulp.src glob and its cwd, and that the build wrote its files there';
    expect(log.text()).toContain(`ftpship: warning: ${warning}`);
    expect(report.warnings).toContain(warning);
  });

  it('onto a deployed target, is refused by the guard in gulp words; nothing changes', async () => {
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a', 'b/c.txt': 'c' });
    await gulpDeploy(local, '/empty-deployed');
    const before = snapshot(path.join(srv.root, 'empty-deployed'));
    const err = await gulpDeploy(tmpDir(), '/empty-deployed').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PluginError);
    expect((err as Error).message).toBe(
      'no file reached ftpship, so the plan would delete all 2 files ftpship deployed; nothing was changed. ' +
        'Check the build output and the gulp.src glob, or pass maxDelete: 2 to empty the server folder on purpose.',
    );
    expect(snapshot(path.join(srv.root, 'empty-deployed'))).toBe(before);
  });
});
