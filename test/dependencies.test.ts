/**
 * FIELD.md §4.15 (runtime churn: "a pure-JS dependency tree", FTP-Deploy-Action #325, #434, #522) and README
 * "Runtime dependencies": the packages a user installs are the ones the README's table names, and none of them,
 * nor anything they pull in, builds native code or runs an install script (which a new Node would break).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { REPO } from './helpers/action.js';

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  scripts?: Record<string, string>;
  gypfile?: boolean;
}

const read = (file: string): Manifest => JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;

/** The folder of package `name` as Node finds it from `from` (the nearest node_modules up the tree). */
function packageDir(name: string, from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (fs.existsSync(path.join(candidate, 'package.json'))) return fs.realpathSync(candidate);
    if (path.dirname(dir) === dir) throw new Error(`${name} not installed (from ${from}): run npm ci`);
  }
}

/** Files of a package, its own node_modules left out. */
function filesOf(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => !f.split(path.sep).includes('node_modules'));
}

describe('runtime dependencies', () => {
  const pkg = read(path.join(REPO, 'package.json'));
  const direct = Object.keys(pkg.dependencies ?? {}).sort();

  it("are the README's table of them, and only those", () => {
    const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
    const section = readme.split('### Runtime dependencies')[1]?.split(/\n## /)[0] ?? '';
    const table = section.split('\n').filter((l) => /^\| `/.test(l));
    const named = table.flatMap((l) => [...(l.split('|')[1] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1]));
    expect(named.sort()).toEqual(direct);
  });

  it('pull in nothing that builds native code or runs an install script', () => {
    const seen = new Map<string, string>();
    const queue = direct.map((name) => ({ name, from: REPO }));
    while (queue.length > 0) {
      const { name, from } = queue.shift()!;
      const dir = packageDir(name, from);
      if (seen.has(dir)) continue;
      const manifest = read(path.join(dir, 'package.json'));
      seen.set(dir, manifest.name);
      for (const dep of Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies }))
        queue.push({ name: dep, from: dir });
    }
    expect(seen.size).toBeGreaterThan(direct.length); // the walk followed their own dependencies too
    const native = [...seen].flatMap(([dir, name]) => {
      const manifest = read(path.join(dir, 'package.json'));
      const scripts = Object.keys(manifest.scripts ?? {}).filter((s) => /^(pre|post)?install$/.test(s));
      const built = filesOf(dir).filter((f) => f.endsWith('.node') || path.basename(f) === 'binding.gyp');
      return [
        ...scripts.map((s) => `${name}: an ${s} script`),
        ...built.map((f) => `${name}: ${f}`),
        ...(manifest.gypfile ? [`${name}: gypfile`] : []),
      ];
    });
    expect(native).toEqual([]);
  });
});
