// action.yml is the single source of truth: its shape, the names in action/constants.ts, the official
// wrapper layout, and the README usage block generated from it (drift fails here and in .ci/check-dist.sh).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { FDA_DEFAULT_EXCLUDES, Input, Output } from '../action/constants.js';
import { END, START, readActionYml, renderUsage, updateReadme } from '../scripts/gen-action-docs.mjs';
import { REPO } from './helpers/action.js';
import { tmpDir } from './helpers/tmp.js';

const action = readActionYml();
const FDA_INPUTS = [
  'server',
  'username',
  'password',
  'port',
  'protocol',
  'local-dir',
  'server-dir',
  'state-name',
  'dry-run',
  'exclude',
  'timeout',
  'log-level',
  'security',
];
const NEW_INPUTS = ['files', 'keep', 'delete', 'max-delete', 'parallel', 'atomic', 'state-path', 'insecure'];

describe('action.yml', () => {
  it('has a name, description, branding, and runs the committed bundle on node24', () => {
    expect(action.name).toBeTruthy();
    expect(action.description).toBeTruthy();
    expect(action.branding).toEqual({ icon: expect.any(String), color: expect.any(String) });
    expect(action.runs).toEqual({ using: 'node24', main: 'action/dist/index.js' });
    expect(fs.existsSync(path.join(REPO, action.runs.main))).toBe(true);
  });

  it('describes every input and gives each a default unless it is required', () => {
    for (const [name, spec] of Object.entries(action.inputs)) {
      expect({ name, description: typeof spec.description }).toEqual({ name, description: 'string' });
      expect({ name, defaultOrRequired: spec.required === true || typeof spec.default === 'string' }).toEqual(
        { name, defaultOrRequired: true },
      );
    }
  });

  it('keeps every FTP-Deploy-Action v4 input name and its defaults, and adds the PRODUCT.md inputs', () => {
    expect(Object.keys(action.inputs)).toEqual(expect.arrayContaining([...FDA_INPUTS, ...NEW_INPUTS]));
    expect(action.inputs.protocol.default).toBe('ftp');
    expect(action.inputs['local-dir'].default).toBe('./');
    expect(action.inputs['server-dir'].default).toBe('./');
    expect(action.inputs.timeout.default).toBe('30000');
    expect(action.inputs['log-level'].default).toBe('standard');
    expect(action.inputs.exclude.default?.trim().split('\n')).toEqual(FDA_DEFAULT_EXCLUDES);
  });

  it('declares exactly the inputs and outputs named in action/constants.ts', () => {
    expect(Object.keys(action.inputs).sort()).toEqual(Object.values(Input).sort());
    expect(Object.keys(action.outputs).sort()).toEqual(Object.values(Output).sort());
    for (const [name, spec] of Object.entries(action.outputs))
      expect({ name, d: typeof spec.description }).toEqual({ name, d: 'string' });
  });

  it('never puts an expression in a description (the runner would try to evaluate it)', () => {
    expect(fs.readFileSync(path.join(REPO, 'action.yml'), 'utf8')).not.toContain('${{');
  });
});

describe('the action/ folder follows the official shape', () => {
  const source = (file: string): string => fs.readFileSync(path.join(REPO, 'action', file), 'utf8');
  const files = fs.readdirSync(path.join(REPO, 'action')).filter((f) => f.endsWith('.ts'));

  it('index.ts only calls run()', () => {
    const code = source('index.ts')
      .replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')
      .trim();
    expect(code).toBe("import { run } from './main.js';\n\nawait run();");
  });

  it('inputs.ts is the only module reading inputs, and it masks the password before anything else', () => {
    for (const f of files.filter((f) => f !== 'inputs.ts'))
      expect({ f, reads: /core\.get(Boolean|Multiline)?Input/.test(source(f)) }).toEqual({ f, reads: false });
    const body = source('inputs.ts').split('export function readInputs')[1];
    const firstCoreCall = body.match(/core\.\w+/g)?.slice(0, 2);
    expect(firstCoreCall).toEqual(['core.getInput', 'core.setSecret']);
  });

  it('main.ts has one try/catch and one core.setFailed; src/ never imports @actions', () => {
    expect(source('main.ts').match(/catch \(/g)).toHaveLength(1);
    expect(source('main.ts').match(/core\.setFailed/g)).toHaveLength(1);
    for (const f of files)
      expect({ f, setFailed: f === 'main.ts' || !source(f).includes('setFailed') }).toEqual({
        f,
        setFailed: true,
      });
    const srcFiles = fs
      .readdirSync(path.join(REPO, 'src'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'));
    for (const f of srcFiles)
      expect({
        f,
        actions: fs.readFileSync(path.join(REPO, 'src', f), 'utf8').includes('@actions/'),
      }).toEqual({ f, actions: false });
  });
});

describe('PRODUCT.md Layout: src/ is the engine alone, the wrappers adapt it', () => {
  /** Every module a file imports or requires (static, dynamic, type-only, re-export). */
  const imports = (file: string): string[] =>
    [
      ...fs
        .readFileSync(file, 'utf8')
        .matchAll(
          /(?:\bfrom\s*|\bimport\s*\(\s*(?:\/\*.*?\*\/\s*)?|\brequire\s*\(\s*|^import\s+)['"]([^'"]+)['"]/gm,
        ),
    ].map((m) => m[1]);
  const tsUnder = (dir: string): string[] =>
    fs
      .readdirSync(path.join(REPO, dir), { recursive: true, encoding: 'utf8' })
      .filter((f) => /\.[cm]?ts$/.test(f) && !f.startsWith('dist'))
      .map((f) => path.join(REPO, dir, f));

  it('src/ never imports @actions/*, gulp or vinyl (nor the gulp helpers plugin-error, fancy-log)', () => {
    const wrapperOnly = /^(@actions\/|gulp(\/|$)|vinyl(\/|$)|vinyl-|plugin-error$|fancy-log$)/;
    const found = tsUnder('src').flatMap((f) =>
      imports(f)
        .filter((m) => wrapperOnly.test(m))
        .map((m) => `${path.relative(REPO, f)} imports ${m}`),
    );
    expect(found).toEqual([]);
    // The check reads imports at all: gulp-plugin/ does import vinyl, plugin-error and fancy-log.
    expect(imports(path.join(REPO, 'gulp-plugin', 'index.ts'))).toEqual(
      expect.arrayContaining(['vinyl', 'plugin-error', 'fancy-log']),
    );
  });

  it('the Action and the gulp plugin run the engine through its deploy(), and import nothing of each other', () => {
    const action = tsUnder('action').flatMap(imports);
    const gulp = tsUnder('gulp-plugin').flatMap(imports);
    expect(action.filter((m) => m.includes('gulp-plugin'))).toEqual([]);
    expect(gulp.filter((m) => /(^|\/)action\//.test(m) || m.startsWith('@actions/'))).toEqual([]);
    expect(fs.readFileSync(path.join(REPO, 'action', 'main.ts'), 'utf8')).toMatch(/await deploy\(/);
    expect(fs.readFileSync(path.join(REPO, 'gulp-plugin', 'index.ts'), 'utf8')).toMatch(
      /deploy as deployEngine/,
    );
  });
});

describe('the README usage block', () => {
  const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');

  it('is what scripts/gen-action-docs.mjs generates from action.yml (run it after editing action.yml)', () => {
    expect(readme).toContain(START);
    expect(updateReadme(readme, renderUsage(action))).toBe(readme);
  });

  it('names every input and output of action.yml', () => {
    const block = readme.slice(readme.indexOf(START), readme.indexOf(END));
    for (const name of Object.keys(action.inputs))
      expect(block).toMatch(new RegExp(`^    ${name}: ''$`, 'm'));
    for (const name of Object.keys(action.outputs)) expect(block).toContain(`| \`${name}\` |`);
  });

  it('the script exits 1 with --check when an input is missing from the README', () => {
    const dir = tmpDir();
    const stale = path.join(dir, 'README.md');
    fs.writeFileSync(
      stale,
      updateReadme(readme, renderUsage(action)).replace(/\n {4}# [^\n]*\n {4}max-delete: ''\n/, '\n'),
    );
    const check = spawnSync(process.execPath, ['scripts/gen-action-docs.mjs', '--check', '--readme', stale], {
      cwd: REPO,
      encoding: 'utf8',
    });
    expect(check.status).toBe(1);
    expect(check.stderr).toContain('differs from');
    const fix = spawnSync(process.execPath, ['scripts/gen-action-docs.mjs', '--readme', stale], {
      cwd: REPO,
      encoding: 'utf8',
    });
    expect(fix.status).toBe(0);
    expect(fs.readFileSync(stale, 'utf8')).toContain("    max-delete: ''");
  });
});
