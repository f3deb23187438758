/**
 * `ftpship deploy --help` and README's options table name the same flags, with the same defaults where both
 * give one: a flag added to one and not the other, or a default changed in one, fails here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { assertBuilt, REPO, spawnCli } from './helpers/cli-spawn.js';

/** README's options table: flag -> its default column (empty when none). */
function readmeOptions(): Map<string, string> {
  const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Options'));
  const table = section.slice(0, section.indexOf('\n\n', section.indexOf('| ---')));
  const rows = new Map<string, string>();
  for (const line of table.split('\n')) {
    const m = /^\| `(--[a-z-]+)[^`]*` *\| *([^|]*?) *\|/.exec(line);
    if (m) rows.set(m[1], m[2]);
  }
  return rows;
}

/** `--help` of a command: flag -> the "(default …)" its text gives, or ''. */
async function helpOptions(command: string): Promise<Map<string, string>> {
  const r = await spawnCli([command, '--help']);
  expect(r.code).toBe(0);
  const flags = new Map<string, string>();
  // An option's text wraps onto lines indented past the flags: joined back onto its first line.
  const entries = r.stdout.replace(/\n {6,}/g, ' ');
  for (const line of entries.split('\n')) {
    const m = /^ {2}(?:-[a-zA-Z], )?(--[a-z-]+)\S*(?: <[^>]+>)? {2,}(.*)$/.exec(line);
    if (m && m[1] !== '--help') flags.set(m[1], /\(default:? ([^)]*)\)/.exec(m[2])?.[1] ?? '');
  }
  return flags;
}

describe('CLI flags: --help and README agree', () => {
  beforeAll(() => assertBuilt());

  it('deploy --help lists exactly the flags README documents, with the same defaults', async () => {
    const readme = readmeOptions();
    const help = await helpOptions('deploy');
    expect(readme.size).toBeGreaterThan(20);
    expect([...help.keys()].sort()).toEqual([...readme.keys()].sort());
    for (const [flag, def] of help) {
      // A default --help gives as a number is the one README gives.
      if (/^\d+$/.test(def)) expect({ flag, readme: readme.get(flag) }).toEqual({ flag, readme: def });
    }
    // And the other way: README's numeric defaults are in --help.
    for (const [flag, def] of readme) {
      if (/^\d+$/.test(def)) expect({ flag, help: help.get(flag) }).toEqual({ flag, help: def });
    }
  });

  it('plan --help has the same flags as deploy, without --dry-run (what plan does anyway)', async () => {
    const deploy = await helpOptions('deploy');
    const plan = await helpOptions('plan');
    deploy.delete('--dry-run');
    expect(plan).toEqual(deploy);
  });
});
