/**
 * Issue 4: the `ftpship` bin works after `npm pack` + `npm install <tgz>` into a fresh project — `--help`,
 * a real deploy to ftp-srv, and `import { deploy } from 'ftpship'`. Slow (npm install), so in its own file.
 * From CommonJS too (most gulpfiles are `gulpfile.js` with require(), and Node 20 cannot require() an ES
 * module): `require('ftpship/gulp')` in a gulpfile run by the gulp CLI, and `require('ftpship')`.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { EmbeddedServer } from '../src/embedded-server.js';
import { embedded } from './helpers/embedded.js';
import { assertBuilt, REPO, spawnCli } from './helpers/cli-spawn.js';
import { readTree, tmpDir, writeTree } from './helpers/tmp.js';

let srv: EmbeddedServer;
let project: string;
let bin: string;

beforeAll(async () => {
  assertBuilt();
  srv = await embedded();
  const packDir = tmpDir('ftpship-pack-');
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', packDir], {
    cwd: REPO,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tgz = path.join(packDir, (JSON.parse(out) as Array<{ filename: string }>)[0].filename);
  project = tmpDir('ftpship-install-');
  fs.writeFileSync(
    path.join(project, 'package.json'),
    JSON.stringify({ name: 'uses-ftpship', version: '1.0.0', private: true, type: 'module' }),
  );
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--omit=dev', tgz], {
    cwd: project,
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 150_000,
  });
  bin = path.join(project, 'node_modules', '.bin', 'ftpship');
}, 180_000);

afterAll(async () => {
  await srv?.close();
});

describe('the installed package', () => {
  it('ships the built code, the bin and the example site, and no tests or sources', () => {
    const pkg = path.join(project, 'node_modules', 'ftpship');
    expect(fs.existsSync(path.join(pkg, 'dist/src/cli.js'))).toBe(true);
    expect(fs.existsSync(path.join(pkg, 'examples/site/index.html'))).toBe(true);
    expect(fs.existsSync(path.join(pkg, 'test'))).toBe(false);
    expect(fs.existsSync(path.join(pkg, 'src'))).toBe(false);
    expect(fs.statSync(bin).isFile() || fs.lstatSync(bin).isSymbolicLink()).toBe(true);
  });

  it('`ftpship --help` lists the commands', async () => {
    const r = await spawnCli(['--help'], { command: [bin], cwd: project });
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/deploy \[options\] <local-dir> <url>/);
    expect(r.stdout + r.stderr).toMatch(/plan \[options\] <local-dir> <url>/);
    expect(r.stdout + r.stderr).toMatch(/demo/);
    const v = await spawnCli(['--version'], { command: [bin], cwd: project });
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(
      (JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version,
    );
  });

  it('`ftpship deploy` publishes a folder and `ftpship plan` then finds nothing to do', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': '<h1>installed</h1>', 'css/a.css': 'a{}' });
    const target = `ftp://${srv.user}@${srv.host}:${srv.port}/installed`;
    const r = await spawnCli(['deploy', local, target], {
      command: [bin],
      cwd: project,
      env: { FTPSHIP_PASSWORD: srv.password },
    });
    expect(r.stderr).toMatch(/deployed: did upload 2/);
    expect(r.code).toBe(0);
    expect(readTree(path.join(srv.root, 'installed'), ['.ftpship-state.json'])).toEqual(readTree(local));
    const p = await spawnCli(['plan', local, target, '--json'], {
      command: [bin],
      cwd: project,
      env: { FTPSHIP_PASSWORD: srv.password },
    });
    expect(p.code).toBe(0);
    expect(JSON.parse(p.stdout)).toMatchObject({ dryRun: true, files: [], counts: { unchanged: 2 } });
  });

  it('`ftpship demo` needs the checkout (ftp-srv is a dev dependency) and says so in one line', async () => {
    const r = await spawnCli(['demo'], { command: [bin], cwd: project });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      'ftpship: error: the embedded FTP server needs the dev dependency ftp-srv: run `npm ci` in the ftpship checkout',
    ]);
  });

  it('the library entry point imports', async () => {
    const script = "import('ftpship').then((m) => console.log(typeof m.deploy))";
    const r = await spawnCli(['--input-type=module', '-e', script], {
      command: [process.execPath],
      cwd: project,
    });
    expect(r.stdout.trim()).toBe('function');
  });

  it('the gulp plugin imports from an ES module gulpfile', async () => {
    const script =
      "import('ftpship/gulp').then((m) => console.log(typeof m.deploy, typeof m.deploy({ host: 'h' }).pipe))";
    const r = await spawnCli(['--input-type=module', '-e', script], {
      command: [process.execPath],
      cwd: project,
    });
    expect(r.stdout.trim()).toBe('function function');
  });
});

describe('the installed package from CommonJS (require)', () => {
  /** A CommonJS folder in the project (its node_modules has ftpship), with gulp, as a gulpfile.js user has it. */
  function cjsDir(): string {
    const dir = fs.mkdtempSync(path.join(project, 'cjs-'));
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ private: true, type: 'commonjs' }));
    fs.mkdirSync(path.join(dir, 'node_modules'));
    fs.symlinkSync(path.join(REPO, 'node_modules', 'gulp'), path.join(dir, 'node_modules', 'gulp'), 'dir');
    return dir;
  }

  it("a gulpfile.js with require('ftpship/gulp'), run by the gulp CLI, deploys a folder; a rerun sends nothing", async () => {
    const dir = cjsDir();
    writeTree(path.join(dir, 'site'), {
      'index.html': '<h1>from gulpfile.js</h1>',
      'img/a.bin': '\u0000\u00ff',
    });
    fs.writeFileSync(
      path.join(dir, 'gulpfile.js'),
      [
        "const gulp = require('gulp');",
        "const { deploy } = require('ftpship/gulp');",
        "console.log('resolved', require.resolve('ftpship/gulp'));",
        'exports.publish = () =>',
        "  gulp.src('site/**', { dot: true, encoding: false }).pipe(",
        '    deploy({',
        `      host: ${JSON.stringify(srv.host)}, port: ${srv.port}, user: ${JSON.stringify(srv.user)},`,
        "      password: process.env.FTP_PASSWORD, remoteDir: '/from-cjs-gulp', retryDelayMs: 10,",
        "      onReport: (r) => console.log('report', JSON.stringify(r.counts)),",
        '    }),',
        '  );',
        '',
      ].join('\n'),
    );
    const gulp = [process.execPath, path.join(REPO, 'node_modules', 'gulp', 'bin', 'gulp.js')];
    const env = { FTP_PASSWORD: srv.password, FORCE_COLOR: '0' };
    const r = await spawnCli(['publish'], { command: gulp, cwd: dir, env, timeoutMs: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/resolved .*node_modules\/ftpship\/dist\/cjs\/gulp\.cjs\n/);
    expect(r.stdout).toMatch(/report \{"mkdir":\d+,"upload":2,/);
    expect(r.stdout).toMatch(/Finished 'publish'/);
    expect(r.code).toBe(0);
    expect(readTree(path.join(srv.root, 'from-cjs-gulp'), ['.ftpship-state.json'])).toEqual(
      readTree(path.join(dir, 'site')),
    );
    const again = await spawnCli(['publish'], { command: gulp, cwd: dir, env, timeoutMs: 60_000 });
    expect(again.stdout).toMatch(
      /report \{"mkdir":0,"upload":0,"replace":0,"delete":0,"rmdir":0,"unchanged":2\}/,
    );
    expect(again.code).toBe(0);
  }, 90_000);

  it('the gulp CLI exiting mid-deploy (another task of a gulp.parallel failing) releases the lock from a gulpfile.js too', async () => {
    const dir = cjsDir();
    // Many files, one connection: the deploy holds its lock a while; the other task fails once the deploy has
    // made its first folder (after it took the lock: the lock folder itself shows before the lock is its own).
    writeTree(
      path.join(dir, 'site'),
      Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`p/${i}.txt`, `page ${i}`] as const)),
    );
    const lock = path.join(srv.root, 'from-cjs-exit', '.ftpship-state.json.lock');
    fs.writeFileSync(
      path.join(dir, 'gulpfile.js'),
      [
        "const fs = require('node:fs');",
        "const gulp = require('gulp');",
        "const { deploy } = require('ftpship/gulp');",
        'const publish = () =>',
        "  gulp.src('site/**', { encoding: false }).pipe(",
        '    deploy({',
        `      host: ${JSON.stringify(srv.host)}, port: ${srv.port}, user: ${JSON.stringify(srv.user)},`,
        "      password: process.env.FTP_PASSWORD, remoteDir: '/from-cjs-exit', parallel: 1, retryDelayMs: 10,",
        '    }),',
        '  );',
        'const lint = (cb) => {',
        '  const look = setInterval(() => {',
        '    if (!fs.existsSync(process.env.FIRST_FOLDER)) return;',
        '    clearInterval(look);',
        "    cb(new Error('lint failed'));",
        '  }, 1);',
        '};',
        'exports.both = gulp.parallel(publish, lint);',
        '',
      ].join('\n'),
    );
    const gulp = [process.execPath, path.join(REPO, 'node_modules', 'gulp', 'bin', 'gulp.js')];
    const env = {
      FTP_PASSWORD: srv.password,
      FORCE_COLOR: '0',
      FIRST_FOLDER: path.join(srv.root, 'from-cjs-exit', 'p'),
    };
    const r = await spawnCli(['both'], { command: gulp, cwd: dir, env, timeoutMs: 60_000 });
    const out = r.stdout + r.stderr;
    expect(out).toMatch(/Error: lint failed/);
    // The exit helper (dist/gulp-plugin/exit-unlock.js, run from the CommonJS bundle) released it.
    expect(out).toMatch(
      /ftpship: the process is exiting mid-deploy \(the gulp CLI exits as soon as a task fails\): the lock \S+\.ftpship-state\.json\.lock was released/,
    );
    expect(fs.existsSync(lock)).toBe(false);
    expect(r.code).toBe(1);
  }, 90_000);

  it("require('ftpship') gives deploy() and FtpClient, and its errors are instances of its classes", async () => {
    const dir = cjsDir();
    writeTree(path.join(dir, 'site'), { 'index.html': 'cjs library', 'css/a.css': 'a{}' });
    fs.writeFileSync(
      path.join(dir, 'use.js'),
      [
        "const { deploy, FtpClient, ConfigError, FtpReplyError, DeployError } = require('ftpship');",
        'const login = { host: process.argv[2], port: Number(process.argv[3]), user: process.argv[4], password: process.env.FTP_PASSWORD };',
        '(async () => {',
        "  const out = { resolved: require.resolve('ftpship') };",
        "  const report = await deploy({ ...login, localDir: 'site', remoteDir: '/from-cjs-lib', retryDelayMs: 10 });",
        '  out.counts = report.counts;',
        '  const c = await FtpClient.connect(login);',
        "  out.listed = (await c.list('/from-cjs-lib')).map((e) => e.name).sort();",
        '  await c.quit();',
        "  out.config = await deploy({ ...login, localDir: 'site', dryrun: true }).catch((e) => [e instanceof ConfigError, e.message]);",
        "  out.login = await FtpClient.connect({ ...login, password: 'wrong' }).catch((e) => [e instanceof FtpReplyError, e instanceof DeployError]);",
        '  console.log(JSON.stringify(out));',
        '})();',
        '',
      ].join('\n'),
    );
    const r = await spawnCli(['use.js', srv.host, String(srv.port), srv.user], {
      command: [process.execPath],
      cwd: dir,
      env: { FTP_PASSWORD: srv.password },
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(out.resolved).toMatch(/node_modules\/ftpship\/dist\/cjs\/index\.cjs$/);
    expect(out.counts).toMatchObject({ upload: 2, delete: 0 });
    expect(out.listed).toEqual(expect.arrayContaining(['css', 'index.html']));
    expect(out.config).toEqual([true, expect.stringMatching(/unknown option dryrun; did you mean dryRun\?/)]);
    expect(out.login).toEqual([true, false]);
    expect(readTree(path.join(srv.root, 'from-cjs-lib'), ['.ftpship-state.json'])).toEqual(
      readTree(path.join(dir, 'site')),
    );
  });
  // A TypeScript project compiled to CommonJS (module node16 with a .cts file, or any package without "type":
  // "module") was refused by tsc: "TS1479: … the referenced file is an ECMAScript module and cannot be imported
  // with 'require'", as the only types were the ES module's, though require('ftpship') works at run time.
  it.each([
    ['an ES module, moduleResolution node16', 'use.mts', 'node16', 'node16'],
    ['CommonJS, moduleResolution node16', 'use.cts', 'node16', 'node16'],
    ['a bundler', 'use.ts', 'esnext', 'bundler'],
  ])(
    "README's library examples compile with tsc --strict for %s",
    (_, file, module, moduleResolution) => {
      const dir = path.join(project, `ts-${moduleResolution}-${file.replace('.', '-')}`);
      fs.mkdirSync(dir, { recursive: true });
      const code = [
        "import { deploy, FtpClient, ConfigError, FtpReplyError, type DeployOptions } from 'ftpship';",
        "import { deploy as gulpDeploy } from 'ftpship/gulp';",
        'export async function main(): Promise<void> {',
        '  const report = await deploy(',
        "    { localDir: 'dist', host: 'ftp.example.com', user: 'deploy', password: process.env.FTP_PASSWORD, secure: 'explicit',",
        "      remoteDir: '/public_html', parallel: 4, keep: ['uploads/**'], maxDelete: 50, fileMode: '644' },",
        '    { info: console.error, warn: console.error, progress: (p) => { void p; } },',
        '  );',
        '  console.log(report.counts.upload);',
        "  const client = await FtpClient.connect({ host: 'ftp.example.com', user: 'deploy', password: process.env.FTP_PASSWORD, secure: 'explicit' });",
        "  await client.upload('/site/big.iso', { path: 'big.iso', start: 1000 }, { offset: 1000 });",
        '  await client.quit();',
        "  const options: DeployOptions = { localDir: 'dist', host: 'ftp.example.com', user: 'deploy', password: process.env.FTP_PASSWORD };",
        '  await deploy(options).catch((err: unknown) => {',
        '    if (err instanceof FtpReplyError) console.error(err.code);',
        '    console.error(err instanceof ConfigError ? `fix the options: ${err.messageFor((o) => o)}` : String(err));',
        '  });',
        "  void gulpDeploy({ host: 'ftp.example.com', remoteDir: '/public_html' });",
        '}',
        '',
      ].join('\n');
      fs.writeFileSync(path.join(dir, file), code);
      const tsconfig = {
        compilerOptions: {
          strict: true,
          noEmit: true,
          module,
          moduleResolution,
          target: 'es2022',
          types: ['node'],
          typeRoots: [path.join(REPO, 'node_modules', '@types')],
        },
        files: [file],
      };
      fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
      const tsc = path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
      let out = '';
      try {
        execFileSync(process.execPath, [tsc, '-p', dir], { cwd: dir, encoding: 'utf8', stdio: 'pipe' });
      } catch (err) {
        out = String((err as { stdout?: string }).stdout);
      }
      expect(out).toBe('');
    },
    60_000,
  );
});
