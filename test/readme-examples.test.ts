/**
 * README's examples, read from README.md itself (no copies here) and run: the CLI commands, the Action's
 * workflow steps (through the bundle, as the runner runs it), the gulpfile under the gulp CLI, and the
 * library snippet under node, each against an embedded ftp-srv with explicit TLS. The only changes made to an
 * example are the ones no test can avoid: `ftp.example.com` becomes the server's address and port, the
 * password its password, and the server's self-signed certificate is trusted (NODE_EXTRA_CA_CERTS; the
 * Action's in-process run needs none). A README example that stops working, or names an option, input,
 * output or npm script the code does not have, fails here. Needs `npm run build` (dist/ and bin/).
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { EmbeddedServer } from '../src/embedded-server.js';
import { readActionYml } from '../scripts/gen-action-docs.mjs';
import { runAction } from './helpers/action.js';
import { selfSignedCert } from './helpers/cert.js';
import { assertBuilt, REPO, spawnCli } from './helpers/cli-spawn.js';
import { embedded } from './helpers/embedded.js';
import { consumerDir } from './helpers/gulp.js';
import { readTree, tmpDir, writeTree } from './helpers/tmp.js';

// js-yaml (a dev dependency, the one scripts/gen-action-docs.mjs reads action.yml with) has no types.
const yaml = createRequire(import.meta.url)('js-yaml') as { load(text: string): unknown };

const README = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');

interface Block {
  lang: string;
  code: string;
  /** The `##` section it is in. */
  section: string;
}

/** Every fenced code block of README.md, with its language and section. */
function blocks(): Block[] {
  const out: Block[] = [];
  let section = '';
  const lines = README.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const h = /^## (.*)$/.exec(lines[i]);
    if (h) section = h[1];
    const open = /^```(\w*)$/.exec(lines[i]);
    if (!open) continue;
    const start = ++i;
    while (i < lines.length && lines[i] !== '```') i++;
    out.push({ lang: open[1], code: lines.slice(start, i).join('\n') + '\n', section });
  }
  return out;
}

function only(section: string, lang: string, contains = ''): Block {
  const found = blocks().filter((b) => b.section === section && b.lang === lang && b.code.includes(contains));
  expect(found.map((b) => b.code.slice(0, 80))).toHaveLength(1);
  return found[0];
}

let srv: EmbeddedServer;
let caFile: string;
beforeAll(async () => {
  assertBuilt();
  const cert = selfSignedCert();
  caFile = path.join(tmpDir('ftpship-readme-ca-'), 'ca.pem');
  fs.writeFileSync(caFile, cert.cert);
  srv = await embedded({ tls: cert, user: 'deploy' }); // README's user
});
afterAll(async () => {
  await srv?.close();
});

/** README's example host, as the test server: `127.0.0.1:<port>` in a URL. */
const atServer = (text: string): string => text.replaceAll('ftp.example.com', `127.0.0.1:${srv.port}`);

/** Runs a command without blocking this process (the FTP server lives here). */
async function run(
  cmd: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd,
      env: { ...process.env, FORCE_COLOR: '0', NODE_OPTIONS: '', NODE_EXTRA_CA_CERTS: caFile, ...env },
    });
    let out = '';
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out: stripVTControlCharacters(out), stdout }));
  });
}

describe('README: the commands', () => {
  it('opens with the two commands: set up and run the demo, and the test suite; every npm script it names exists', () => {
    const first = blocks()[0];
    expect(README.indexOf('```sh')).toBe(README.indexOf('```'));
    expect(first.code).toMatch(/^npm ci && npm run demo +#.*\nnpm test +#.*\n$/);
    const scripts = Object.keys(
      (JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { scripts: object }).scripts,
    );
    const named = [...README.matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1]);
    expect(named.length).toBeGreaterThan(5);
    for (const name of new Set(named))
      expect({ name, scripts }).toEqual({ name, scripts: expect.arrayContaining([name]) });
    // `npm pack` names its file <name>-<version>.tgz: the one README installs is this package's.
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
      name: string;
      version: string;
    };
    expect(/`npm install \.\.\/ftpship\/([^`]*)`/.exec(README)?.[1]).toBe(`${pkg.name}-${pkg.version}.tgz`);
    for (const m of only('Development', 'sh').code.matchAll(/^node (\S+)/gm))
      expect(fs.existsSync(path.join(REPO, m[1]))).toBe(true);
  });

  it('the CLI block runs as written: deploy, plan, and deploy with the password on stdin', async () => {
    const block = only('CLI', 'sh', 'ftpship deploy');
    expect(block.code).toMatch(/^export FTPSHIP_PASSWORD=/m);
    const lines = block.code.split('\n');
    const commands = lines
      .filter((l) => l.startsWith('ftpship '))
      .map((l) =>
        atServer(l.replace(/ +#.*$/, ''))
          .split(/ +/)
          .slice(1),
      );
    expect(commands.map((c) => c[0])).toEqual(['deploy', 'plan', 'demo']);
    // The local folder, ./dist, as a build leaves it.
    const cwd = tmpDir('ftpship-readme-cli-');
    writeTree(path.join(cwd, 'dist'), { 'index.html': 'home', 'css/site.css': 'body{}' });
    const env = { FTPSHIP_PASSWORD: srv.password, NODE_EXTRA_CA_CERTS: caFile };

    const deployed = await spawnCli(commands[0], { cwd, env });
    expect({ code: deployed.code, stderr: deployed.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    expect(readTree(path.join(srv.root, 'public_html'), ['.ftpship-state.json'])).toEqual(
      readTree(path.join(cwd, 'dist')),
    );
    const planned = await spawnCli(commands[1], { cwd, env });
    expect(planned.code).toBe(0);
    expect(planned.stderr).toMatch(/would upload 0, replace 0, delete 0/);

    // The comment's other way: the password on stdin, the rest of the command as above.
    const stdin = /# or: echo "\$PW" \| ftpship (deploy) … (--password-stdin)$/m.exec(lines[0]);
    expect(stdin).not.toBeNull();
    fs.writeFileSync(path.join(cwd, 'dist', 'index.html'), 'home, edited');
    const piped = await spawnCli([...commands[0], stdin![2]], {
      cwd,
      env: { NODE_EXTRA_CA_CERTS: caFile },
      input: `${srv.password}\n`,
    });
    expect({ code: piped.code, stderr: piped.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    expect(fs.readFileSync(path.join(srv.root, 'public_html', 'index.html'), 'utf8')).toBe('home, edited');

    // `ftpship demo` is a command (its run: demo-signals.ftpsrv.test.ts).
    const help = await spawnCli(['--help']);
    expect(help.stdout).toMatch(/^ {2}demo\b/m);
  });
});

interface Step {
  id?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
}
interface Workflow {
  jobs: Record<string, { steps: Step[]; strategy?: { matrix?: { include?: Record<string, string>[] } } }>;
}

/** The Action's workflow examples: the YAML blocks with a job, and the migration diff with its `-` lines dropped. */
function workflows(): { name: string; workflow: Workflow }[] {
  const out: { name: string; workflow: Workflow }[] = [];
  for (const b of blocks()) {
    if (b.lang === 'yaml' && /^jobs:/m.test(b.code))
      out.push({ name: b.code.split('\n')[0], workflow: yaml.load(b.code) as Workflow });
    if (b.lang === 'diff' && b.code.includes('ftpship@v1')) {
      const after = b.code
        .split('\n')
        .filter((l) => !l.startsWith('-'))
        .map((l) => l.slice(1))
        .join('\n');
      const steps = yaml.load(after) as Step[];
      out.push({ name: 'migration diff', workflow: { jobs: { deploy: { steps } } } });
    }
  }
  return out;
}

describe('README: the GitHub Action workflows', () => {
  const spec = readActionYml() as { inputs: Record<string, unknown>; outputs: Record<string, unknown> };

  it('name only inputs and outputs that action.yml has', () => {
    const found = workflows();
    expect(found.map((w) => w.name)).toEqual([
      '# .github/workflows/deploy.yml',
      '# .github/workflows/preview.yml',
      'jobs:',
      'migration diff',
    ]);
    for (const { name, workflow } of found) {
      const text = JSON.stringify(workflow);
      for (const job of Object.values(workflow.jobs)) {
        const ours = job.steps.filter((s) => s.uses?.endsWith('/ftpship@v1'));
        expect(ours).toHaveLength(1);
        for (const input of Object.keys(ours[0].with ?? {}))
          expect({ name, input, known: input in spec.inputs }).toEqual({ name, input, known: true });
        for (const m of text.matchAll(/steps\.([\w-]+)\.outputs\.([\w-]+)/g)) {
          expect({ name, step: m[1] }).toEqual({ name, step: ours[0].id });
          expect({ name, output: m[2], known: m[2] in spec.outputs }).toEqual({
            name,
            output: m[2],
            known: true,
          });
        }
      }
    }
  });

  it('run as written, with the test server for ftp.example.com, and give the outputs the later steps read', async () => {
    for (const { name, workflow } of workflows()) {
      for (const job of Object.values(workflow.jobs)) {
        const step = job.steps.find((s) => s.uses?.endsWith('/ftpship@v1'))!;
        const matrix = job.strategy?.matrix?.include ?? [{}];
        for (const entry of matrix) {
          const ws = tmpDir('ftpship-readme-ws-');
          const localDir = String(step.with?.['local-dir'] ?? './');
          writeTree(path.join(ws, localDir), { 'index.html': `${name}`, 'img/logo.svg': '<svg/>' });
          const inputs: Record<string, string> = {};
          for (const [k, v] of Object.entries(step.with ?? {}))
            inputs[k] = String(v)
              .replace('${{ secrets.FTP_PASSWORD }}', srv.password)
              .replace(/\$\{\{ matrix\.([\w-]+) \}\}/, (_, key: string) => entry[key]);
          expect({ name, inputs: Object.values(inputs).filter((v) => v.includes('${{')) }).toEqual({
            name,
            inputs: [],
          });
          expect(inputs.server).toBe('ftp.example.com');
          inputs.server = '127.0.0.1';
          inputs.port = String(srv.port);
          const serverDir = path.join(srv.root, inputs['server-dir'] ?? '');
          fs.rmSync(serverDir, { recursive: true, force: true });
          const r = await runAction(ws, inputs, { NODE_EXTRA_CA_CERTS: caFile });
          expect({
            name,
            status: r.status,
            errors: r.stdout.split('\n').filter((l) => l.startsWith('::error')),
          }).toEqual({
            name,
            status: 0,
            errors: [],
          });
          const dryRun = inputs['dry-run'] === 'true';
          expect(fs.existsSync(path.join(serverDir, 'index.html'))).toBe(!dryRun);
          expect(r.outputs).toMatchObject({ uploaded: '2', deleted: '0', changed: 'true' });
          for (const m of JSON.stringify(workflow).matchAll(/steps\.[\w-]+\.outputs\.([\w-]+)/g))
            expect({ name, output: m[1], value: r.outputs[m[1]] }).toEqual({
              name,
              output: m[1],
              value: expect.any(String),
            });
          if (r.outputs['summary-file']) expect(fs.existsSync(r.outputs['summary-file'])).toBe(true);
        }
      }
    }
  });
});

/** A JS example's `host: 'ftp.example.com'` as the test server: its address and port. */
const hostAndPort = (code: string): string => {
  expect(code).toContain("host: 'ftp.example.com',");
  return code.replaceAll("host: 'ftp.example.com',", `host: '127.0.0.1', port: ${srv.port},`);
};

describe('README: the gulp plugin and the library', () => {
  it('the gulpfile runs under the gulp CLI and deploys dist/', async () => {
    const block = only('gulp plugin', 'js', 'export function publish');
    const dir = consumerDir();
    fs.writeFileSync(path.join(dir, 'gulpfile.mjs'), hostAndPort(block.code));
    writeTree(path.join(dir, 'dist'), {
      'index.html': 'gulp',
      '.htaccess': 'x',
      'img/a.png': Buffer.from([0x89, 0xff, 0]),
    });
    fs.rmSync(path.join(srv.root, 'public_html'), { recursive: true, force: true });
    const gulp = path.join(REPO, 'node_modules/.bin/gulp');
    const r = await run(gulp, ['publish'], dir, { FTP_PASSWORD: srv.password });
    expect({ code: r.code, out: r.out }).toEqual({
      code: 0,
      out: expect.stringMatching(/deployed: did upload 3/),
    });
    expect(readTree(path.join(srv.root, 'public_html'), ['.ftpship-state.json'])).toEqual(
      readTree(path.join(dir, 'dist')),
    );
  });

  it('the library snippet runs under node: deploy(), then the client resumes an upload', async () => {
    const block = only('Library', 'ts', 'FtpClient');
    const dir = consumerDir();
    fs.writeFileSync(path.join(dir, 'example.mjs'), hostAndPort(block.code));
    writeTree(path.join(dir, 'dist'), { 'index.html': 'library', 'uploads/x.txt': 'x' });
    fs.rmSync(path.join(srv.root, 'public_html'), { recursive: true, force: true });
    // What the resume in it needs: big.iso here, its first 1000 bytes at /site/big.iso on the server.
    const big = Buffer.alloc(5000, 7);
    fs.writeFileSync(path.join(dir, 'big.iso'), big);
    fs.mkdirSync(path.join(srv.root, 'site'), { recursive: true });
    fs.writeFileSync(path.join(srv.root, 'site', 'big.iso'), big.subarray(0, 1000));
    const r = await run(process.execPath, ['example.mjs'], dir, { FTP_PASSWORD: srv.password });
    expect(`${r.out}exit ${r.code}`).toMatch(/^(?![\s\S]*(Error|warn))[\s\S]*exit 0$/);
    expect(readTree(path.join(srv.root, 'public_html'), ['.ftpship-state.json'])).toEqual(
      readTree(path.join(dir, 'dist')),
    );
    expect(fs.readFileSync(path.join(srv.root, 'site', 'big.iso')).equals(big)).toBe(true);
  });
});

/** The names an options check lists when given a name it cannot place (`; the options are a, b, …`). */
function listed(message: string, lead: RegExp): string[] {
  const m = lead.exec(message);
  expect({ message, listed: m !== null }).toEqual({ message, listed: true });
  return m![1].split(', ').map((n) => n.replace(/^tls\./, ''));
}
const NO_SUCH = 'qqqqqqqqqqqqqqqq';

async function engineNames(): Promise<{ options: string[]; tls: string[] }> {
  const { deploy } = await import('../src/index.js');
  const base = {
    localDir: '.',
    host: 'h',
    user: 'u',
    password: 'p',
    remoteDir: 'x',
    secure: 'explicit' as const,
  };
  const options = await deploy({ [NO_SUCH]: 1 } as never).then(String, (e: Error) => e.message);
  const tls = await deploy({ ...base, tls: { [NO_SUCH]: 1 } } as never).then(String, (e: Error) => e.message);
  return { options: listed(options, /the options are (.*)$/), tls: listed(tls, /tls takes (.*)$/) };
}

async function gulpNames(): Promise<string[]> {
  const { deploy } = await import('../gulp-plugin/index.js');
  try {
    deploy({ [NO_SUCH]: 1 } as never);
  } catch (e) {
    return listed((e as Error).message, /the options are (.*)$/);
  }
  throw new Error('the gulp plugin took an unknown option');
}

/** The `name` and `name: …` options a README passage names, in order. */
const named = (text: string): string[] =>
  [...text.matchAll(/`([a-z][A-Za-z]*)(?:: [^`]*|\([^`]*\))?`/g)].map((m) => m[1]);

/** The passage of README from `from` up to `to`. */
function passage(from: string, to: string): string {
  const start = README.indexOf(from);
  const end = README.indexOf(to, start);
  expect({ from, start: start >= 0, end: end > start }).toEqual({ from, start: true, end: true });
  return README.slice(start, end + to.length);
}

describe('README: the option lists are the code’s', () => {
  it('the gulp plugin section names every option the plugin takes, and only those', async () => {
    const engine = await engineNames();
    const text = passage("- Options: those of the library's `deploy()`", 'to receive the deploy report');
    const [without, rest] = text.split(': `host`');
    const refused = named(without.replace('`deploy()`', ''));
    const [taken, plus] = ('`host`' + rest).split('; plus');
    const takenNames = named(taken);
    // `tls` (`{ ca, … }`): the keys it takes.
    const tls = /`tls` \(`\{ ([^}]*) \}`\)/.exec(taken.replace(/\s+/g, ' '));
    expect(tls).not.toBeNull();
    expect(tls![1].split(', ').sort()).toEqual([...engine.tls].sort());
    const gulp = await gulpNames();
    expect([...new Set([...takenNames, ...named(plus)])].sort()).toEqual([...gulp].sort());
    expect([...new Set([...refused, ...takenNames])].sort()).toEqual([...engine.options].sort());
  });

  it('the Library section names every deploy() option, and every `name: …` it gives is one', async () => {
    const engine = await engineNames();
    const text = passage('Instead of `localDir`', '`signal` takes');
    const names = new Set(named(text));
    for (const option of engine.options)
      expect({ option, named: names.has(option) }).toEqual({ option, named: true });
    for (const m of text.matchAll(/`([a-z][A-Za-z]*): [^`]*`/g))
      expect({ option: m[1], known: engine.options.includes(m[1]) }).toEqual({ option: m[1], known: true });
    const tls = /`tls: \{ ([^}]*) \}`/.exec(text.replace(/\s+/g, ' '));
    expect(tls).not.toBeNull();
    expect(tls![1].split(', ').sort()).toEqual([...engine.tls].sort());
  });

  it("the JSON report example has the report's fields", async () => {
    const example = JSON.parse(only('CLI', 'json').code) as Record<string, unknown>;
    const cwd = tmpDir('ftpship-readme-json-');
    writeTree(path.join(cwd, 'dist'), { 'index.html': 'json' });
    const r = await spawnCli(['plan', '--json', 'dist', `ftpes://deploy@127.0.0.1:${srv.port}/json-report`], {
      cwd,
      env: { FTPSHIP_PASSWORD: srv.password, NODE_EXTRA_CA_CERTS: caFile },
    });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    const report = JSON.parse(r.stdout) as Record<string, unknown>;
    const shape = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.length > 0
          ? [shape(v[0])]
          : []
        : v !== null && typeof v === 'object'
          ? Object.fromEntries(
              Object.entries(v)
                .map(([k, x]) => [k, shape(x)])
                .sort(),
            )
          : typeof v;
    const withFile = { ...report, files: report.files, skipped: [], kept: [], warnings: [] };
    expect(shape(example)).toEqual(shape(withFile));

    // A run that fails prints the error object README shows instead, with the exit code it exits with.
    const failure = /so stdout is JSON whatever\s+happens: `(\{[^`]*\})`/.exec(README);
    expect(failure).not.toBeNull();
    const documented = JSON.parse(failure![1].replace(/\s+/g, ' ')) as Record<string, unknown>;
    const failed = await spawnCli(
      ['deploy', '--json', 'dist', `ftpes://deploy@127.0.0.1:${srv.port}/json-report`],
      {
        cwd,
        env: { FTPSHIP_PASSWORD: 'wrong', NODE_EXTRA_CA_CERTS: caFile },
      },
    );
    const printed = JSON.parse(failed.stdout) as Record<string, unknown>;
    expect(shape(printed)).toEqual(shape(documented));
    expect(printed.exitCode).toBe(failed.code);
  });
});

describe('README: the migration recipes', () => {
  /** A bullet of the FTP-Deploy-Action section, its parenthesised asides left out. */
  function bullet(lead: string): string {
    const section = passage('### From FTP-Deploy-Action', '### From vinyl-ftp');
    const start = section.indexOf(lead);
    expect({ lead, found: start >= 0 }).toEqual({ lead, found: true });
    let text = section.slice(start).split(/\n- |\n\n/)[0];
    for (let prev = ''; prev !== text;) [prev, text] = [text, text.replace(/\([^()]*\)/g, '')];
    return text;
  }
  const inputs = (text: string): string[] => [...text.matchAll(/`([a-z][a-z-]*)`/g)].map((m) => m[1]);

  it('FTP-Deploy-Action: "Same meaning", "Changed default" and "New" together name every input, and only inputs', () => {
    const spec = readActionYml() as { inputs: Record<string, unknown> };
    const same = inputs(bullet('**Same meaning:**'));
    const fresh = inputs(bullet('**New:**'));
    const changed = inputs(bullet('**Changed default — certificates are verified.**'))[0];
    expect(changed).toBe('security');
    expect([...same, changed, ...fresh].sort()).toEqual(Object.keys(spec.inputs).sort());
  });

  it("vinyl-ftp: the options it names are the plugin's, and the ones it says go are refused", async () => {
    const text = passage('### From vinyl-ftp', '### From anything else');
    const gulp = await gulpNames();
    const call = /`deploy\(\{ ([^}]*) \}\)`/.exec(text);
    expect(call).not.toBeNull();
    const names = call![1].split(', ').map((p) => p.split(':')[0]);
    for (const m of text.matchAll(/`([a-z][A-Za-z]*): [^`]*`/g)) names.push(m[1]);
    expect(names.length).toBeGreaterThan(8);
    for (const name of names) expect({ name, known: gulp.includes(name) }).toEqual({ name, known: true });
    const gone = /Its\s+`log` option goes[^.]*/.exec(text);
    expect(gone).not.toBeNull();
    const { deploy } = await import('../gulp-plugin/index.js');
    for (const [, name] of gone![0].matchAll(/`(\w+)`/g)) {
      expect(gulp).not.toContain(name);
      expect(() => deploy({ remoteDir: '/x', [name]: 1 } as never)).toThrow(new RegExp(`^${name} is not`));
    }
  });
});

describe('README: the exit codes', () => {
  /** The text README gives after `**code**`, up to the next code. */
  function meaning(code: number): string {
    const text = passage('Exit codes:', '### The JSON report');
    const m = new RegExp(`\\*\\*${code}\\*\\*([\\s\\S]*?)(?=\\*\\*\\d+\\*\\*|$)`).exec(text);
    expect({ code, documented: m !== null }).toEqual({ code, documented: true });
    return m![1];
  }

  it('lists the codes the CLI exits with, and the cases it names for 0, 1, 2 and 3 exit so', async () => {
    const text = passage('Exit codes:', '### The JSON report');
    expect([...text.matchAll(/\*\*(\d+)\*\*/g)].map((m) => Number(m[1])).sort((a, b) => a - b)).toEqual([
      0, 1, 2, 3, 70, 129, 130, 143,
    ]);
    const cwd = tmpDir('ftpship-readme-exit-');
    writeTree(path.join(cwd, 'dist'), { 'a.txt': 'a', 'b.txt': 'b' });
    const url = `ftpes://deploy@127.0.0.1:${srv.port}/exit-codes`;
    const env = { FTPSHIP_PASSWORD: srv.password, NODE_EXTRA_CA_CERTS: caFile };
    const exit = async (args: string[], e: Record<string, string> = env): Promise<number | null> =>
      (await spawnCli(args, { cwd, env: e })).code;

    expect(meaning(0)).toMatch(/^ done \(also "nothing to do"\)/);
    expect(await exit(['deploy', 'dist', url])).toBe(0);
    expect(await exit(['deploy', 'dist', url])).toBe(0);

    expect(meaning(3)).toMatch(/^ refused by a guard \(`--max-delete`/);
    fs.rmSync(path.join(cwd, 'dist', 'a.txt'));
    fs.rmSync(path.join(cwd, 'dist', 'b.txt'));
    fs.writeFileSync(path.join(cwd, 'dist', 'c.txt'), 'c');
    expect(await exit(['deploy', '--max-delete', '1', 'dist', url])).toBe(3);

    expect(meaning(2)).toMatch(/bad URL.*missing folder.*no or wrong password.*untrusted\s+certificate/s);
    expect(await exit(['deploy', 'dist', url.replace('ftpes', 'sftp')])).toBe(2);
    expect(await exit(['deploy', 'no-such-folder', url])).toBe(2);
    expect(await exit(['deploy', 'dist', url], { NODE_EXTRA_CA_CERTS: caFile })).toBe(2);
    expect(
      await exit(['deploy', 'dist', url], { FTPSHIP_PASSWORD: 'wrong', NODE_EXTRA_CA_CERTS: caFile }),
    ).toBe(2);
    expect(await exit(['deploy', 'dist', url], { FTPSHIP_PASSWORD: srv.password })).toBe(2);

    expect(meaning(2)).toMatch(/a `--tls-fingerprint` mismatch is 1/);
    expect(await exit(['deploy', '--tls-fingerprint', 'ab'.repeat(32), 'dist', url])).toBe(1);
  });
});

describe('README: certificates', () => {
  it('the openssl command prints the fingerprint, and --tls-fingerprint takes its output as it is', async () => {
    const m = /`(openssl s_client -connect host:21 -starttls ftp <\/dev\/null \| openssl x509 [^`]*)`/.exec(
      README,
    );
    expect(m).not.toBeNull();
    const cwd = tmpDir('ftpship-readme-pin-');
    const printed = await run('sh', ['-c', m![1].replace('host:21', `127.0.0.1:${srv.port}`)], cwd);
    expect(printed.code).toBe(0);
    const line = printed.stdout.trim();
    expect(line).toMatch(/^sha256 Fingerprint=([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    writeTree(path.join(cwd, 'dist'), { 'index.html': 'pinned' });
    // No CA: the pin alone makes the self-signed certificate trusted.
    const r = await spawnCli(
      ['deploy', '--tls-fingerprint', line, 'dist', `ftpes://deploy@127.0.0.1:${srv.port}/pinned`],
      { cwd, env: { FTPSHIP_PASSWORD: srv.password } },
    );
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    expect(fs.readFileSync(path.join(srv.root, 'pinned', 'index.html'), 'utf8')).toBe('pinned');
  });
});
