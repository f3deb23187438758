#!/usr/bin/env node
// Generates the README's Action usage block from action.yml (the single source of truth), between
// <!-- action-inputs:start --> and <!-- action-inputs:end -->. `--check` rewrites nothing and exits 1 when
// the README is out of date (the jest test test/action-docs.test.ts runs it too).
// Usage: node scripts/gen-action-docs.mjs [--check] [--action action.yml] [--readme README.md]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';

export const START = '<!-- action-inputs:start -->';
export const END = '<!-- action-inputs:end -->';
const ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

/** action.yml as an object (CORE_SCHEMA: no custom tags, the same result with js-yaml 3 and 4). */
export function readActionYml(file = path.join(ROOT, 'action.yml')) {
  return yaml.load(fs.readFileSync(file, 'utf8'), { schema: yaml.CORE_SCHEMA });
}

function comment(text, width = 100) {
  const lines = [];
  for (const para of String(text).trim().split(/\n+/)) {
    let line = '';
    for (const word of para.split(/\s+/)) {
      if (line && line.length + word.length + 1 > width) {
        lines.push(line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    if (line) lines.push(line);
  }
  return lines.map((l) => `    # ${l}`);
}

/** The Markdown between the markers: a `with:` block naming every input, then the outputs table. */
export function renderUsage(action) {
  const out = ['```yaml', '- uses: <owner>/ftpship@v1', '  with:'];
  for (const [name, input] of Object.entries(action.inputs ?? {})) {
    out.push(...comment(input.description));
    if (input.required) out.push('    # Required.');
    const def = input.default === undefined ? '' : String(input.default).trim();
    if (def.includes('\n')) out.push('    # Default:', ...def.split('\n').map((l) => `    #   ${l}`));
    else if (def !== '') out.push(`    # Default: ${def}`);
    out.push(`    ${name}: ''`, '');
  }
  if (out.at(-1) === '') out.pop();
  out.push('```', '', '| output | meaning |', '|---|---|');
  for (const [name, output] of Object.entries(action.outputs ?? {})) {
    out.push(`| \`${name}\` | ${String(output.description).trim().replace(/\|/g, '\\|')} |`);
  }
  return out.join('\n');
}

/** README text with the block between the markers replaced. Throws when the markers are missing. */
export function updateReadme(readme, usage) {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start === -1 || end === -1 || end < start) throw new Error(`README has no ${START} … ${END} block`);
  return `${readme.slice(0, start + START.length)}\n${usage}\n${readme.slice(end)}`;
}

function main(argv) {
  const arg = (flag, fallback) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : fallback);
  const actionFile = arg('--action', path.join(ROOT, 'action.yml'));
  const readmeFile = arg('--readme', path.join(ROOT, 'README.md'));
  const readme = fs.readFileSync(readmeFile, 'utf8');
  const wanted = updateReadme(readme, renderUsage(readActionYml(actionFile)));
  if (wanted === readme) return 0;
  if (argv.includes('--check')) {
    console.error(
      `${readmeFile}: the Action usage block differs from ${actionFile}; run: node scripts/gen-action-docs.mjs`,
    );
    return 1;
  }
  fs.writeFileSync(readmeFile, wanted);
  console.log(`updated ${readmeFile}`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  process.exitCode = main(process.argv.slice(2));
}
