/**
 * The gulp plugin from the outside: `ftpship/gulp` through the package's exports map (types and run time),
 * the gulp 5 CLI failing a task on a wrong password, and the README's gulpfile example.
 * Needs `npm run build` (npm test does it): the exports map points into dist/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { EmbeddedServer } from '../src/embedded-server.js';
import { embedded } from './helpers/embedded.js';
import { consumerDir, repoRoot, requireBuild } from './helpers/gulp.js';
import { readTree, writeTree } from './helpers/tmp.js';

let srv: EmbeddedServer;
beforeAll(async () => {
  requireBuild();
  srv = await embedded();
});
afterAll(async () => {
  await srv?.close();
});

/** Runs a command without blocking this process (the FTP server lives here). */
async function run(cmd: string, args: string[], cwd: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, FORCE_COLOR: '0', NODE_OPTIONS: '' } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out: stripVTControlCharacters(out) })); // plugin-error colours regardless
  });
}

const gulpBin = (): string => path.join(repoRoot, 'node_modules/.bin/gulp');

describe("import { deploy } from 'ftpship/gulp'", () => {
  it('resolves through the exports map, with types, from a consumer and by self-reference', async () => {
    const dir = consumerDir();
    fs.writeFileSync(
      path.join(dir, 'consumer.ts'),
      [
        "import { deploy, type GulpDeployOptions, type DeployReport } from 'ftpship/gulp';",
        "import type { Transform } from 'node:stream';",
        'const options: GulpDeployOptions = {',
        "  host: 'ftp.example.com', port: 2121, user: 'u', password: 'p', secure: 'explicit', tls: { rejectUnauthorized: true },",
        "  remoteDir: '/site', dryRun: true, parallel: 2, keep: ['uploads/**'], delete: false, quiet: true,",
        '  onReport: (r: DeployReport) => console.log(r.counts.upload),',
        '};',
        'export const stream: Transform = deploy(options);',
        '// @ts-expect-error the files come from the stream: no localDir',
        "deploy({ host: 'h', localDir: 'dist' });",
        '// @ts-expect-error port is a number',
        "deploy({ host: 'h', port: '21' });",
        '',
      ].join('\n'),
    );
    fs.writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          strict: true,
          noEmit: true,
          types: ['node'],
        },
        files: ['consumer.ts'],
      }),
    );
    const tsc = await run(
      process.execPath,
      [path.join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', dir, '--traceResolution'],
      dir,
    );
    expect(tsc.out).toMatch(
      /Module name 'ftpship\/gulp' was successfully resolved to '[^']*dist\/gulp-plugin\/index\.d\.ts'/,
    );
    expect(tsc.out).not.toMatch(/error TS/);
    expect(tsc.code).toBe(0);

    const probe =
      "const m = await import('ftpship/gulp'); console.log(import.meta.resolve('ftpship/gulp'), typeof m.deploy);";
    for (const cwd of [dir, repoRoot]) {
      const node = await run(process.execPath, ['--input-type=module', '-e', probe], cwd);
      expect(node.out.trim()).toMatch(/^file:\/\/.*\/dist\/gulp-plugin\/index\.js function$/);
      expect(node.code).toBe(0);
    }
  });
});

describe('the gulp CLI', () => {
  it('a wrong password fails the task with a PluginError and a non-zero exit, without the password', async () => {
    const dir = consumerDir();
    writeTree(dir, { 'site/index.html': '<h1>hi</h1>' });
    const secret = 'not-the-Passw0rd';
    fs.writeFileSync(
      path.join(dir, 'gulpfile.mjs'),
      `import gulp from 'gulp';
import { deploy } from 'ftpship/gulp';
export default function publish() {
  return gulp.src('site/**', { encoding: false })
    .pipe(deploy({ host: '127.0.0.1', port: ${srv.port}, user: '${srv.user}', password: '${secret}', remoteDir: '/cli' }));
}
`,
    );
    const { code, out } = await run(
      gulpBin(),
      ['--no-color', '--gulpfile', path.join(dir, 'gulpfile.mjs')],
      repoRoot,
    );
    expect(out).toMatch(/Starting 'default'/);
    expect(out).toMatch(/'default' errored after/);
    expect(out).toMatch(/Error in plugin "ftpship"/);
    expect(out).toMatch(/login to 127\.0\.0\.1:\d+ as "demo" failed: 530/);
    expect(out).not.toContain(secret);
    expect(code).not.toBe(0);
    expect(fs.existsSync(path.join(srv.root, 'cli'))).toBe(false);
  });

  it('the same gulpfile with the right password deploys and exits 0', async () => {
    const dir = consumerDir();
    writeTree(dir, {
      'site/index.html': '<h1>hi</h1>',
      'site/.htaccess': 'x',
      'site/img/a.bin': Buffer.from([0, 1, 254, 255]),
    });
    fs.writeFileSync(
      path.join(dir, 'gulpfile.mjs'),
      `import gulp from 'gulp';
import { deploy } from 'ftpship/gulp';
export default () => gulp.src('site/**', { dot: true, encoding: false })
  .pipe(deploy({ host: '127.0.0.1', port: ${srv.port}, user: '${srv.user}', password: process.env.FTP_PASSWORD, remoteDir: '/cli-ok' }));
`,
    );
    process.env.FTP_PASSWORD = srv.password;
    try {
      const { code, out } = await run(
        gulpBin(),
        ['--no-color', '--gulpfile', path.join(dir, 'gulpfile.mjs')],
        repoRoot,
      );
      expect(out).toMatch(/ftpship: deployed: did upload 3/);
      expect(out).toMatch(/Finished 'default'/);
      expect(code).toBe(0);
    } finally {
      delete process.env.FTP_PASSWORD;
    }
    expect(readTree(path.join(srv.root, 'cli-ok'), ['.ftpship-state.json'])).toEqual(
      readTree(path.join(dir, 'site')),
    );
  });
});

describe('README', () => {
  it('the "gulp plugin" section shows examples/gulpfile.mjs, and it runs against the demo server', async () => {
    const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## gulp plugin'));
    expect(section.startsWith('## gulp plugin')).toBe(true);
    const blocks = [...section.split(/\n## /)[0].matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
    const example = fs.readFileSync(path.join(repoRoot, 'examples/gulpfile.mjs'), 'utf8');
    expect(blocks).toContain(example);

    const { code, out } = await run(
      gulpBin(),
      ['--no-color', '--gulpfile', path.join(repoRoot, 'examples/gulpfile.mjs')],
      repoRoot,
    );
    expect(out).toMatch(/ftpship: plan: would upload 7/);
    expect(out).toMatch(/ftpship: deployed: did upload 7/);
    expect(out).toMatch(
      /ftpship: deployed: did upload 0, replace 0, delete 0, mkdir 0, rmdir 0; 7 unchanged/,
    );
    expect(code).toBe(0);
  });
});
