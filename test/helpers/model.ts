/** The model and the checks of model.ftpsrv.test.ts and model.realservers.test.ts. */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from '@jest/globals';
import fc from 'fast-check';
import { deploy, type DeployOptions, type DeployReport } from '../../src/index.js';
import { recorder, sent } from './protocol.js';
import { readDirs, readTree, sha256 } from './tmp.js';

const STATE = '.ftpship-state.json';
/** Names the model works over: case (a, A), nesting, and names that are a file in one step, a folder in the next. */
export const NAMES = ['a', 'b', 'A', 'd', 'd/x', 'd/e', 'd/e/y'];

export type Step =
  | { op: 'put'; name: string; size: number; seed: number }
  | { op: 'editSame'; pick: number; seed: number }
  | { op: 'editSize'; pick: number; size: number; seed: number }
  | { op: 'remove'; name: string }
  | { op: 'mkdir'; name: string }
  | { op: 'deploy'; noDelete: boolean };

const name = fc.constantFrom(...NAMES);
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ op: fc.constant('put' as const), name, size: fc.integer({ min: 0, max: 40 }), seed: fc.nat() }),
  fc.record({ op: fc.constant('editSame' as const), pick: fc.nat(), seed: fc.nat() }),
  fc.record({
    op: fc.constant('editSize' as const),
    pick: fc.nat(),
    size: fc.integer({ min: 0, max: 40 }),
    seed: fc.nat(),
  }),
  fc.record({ op: fc.constant('remove' as const), name }),
  fc.record({ op: fc.constant('mkdir' as const), name }),
  fc.record({ op: fc.constant('deploy' as const), noDelete: fc.boolean() }),
);

/** Sequences of local changes; a deploy always ends them (and runs at every 'deploy' step). */
export function modelCommands(): fc.Arbitrary<Step[]> {
  return fc.array(step, { minLength: 1, maxLength: 14 });
}

function content(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (seed * 31 + i * 7 + (seed >>> 3)) & 255;
  return b;
}

/** Makes room for `rel` as a new entry: a file on its way becomes a folder (file→folder), whatever is at `rel` goes. */
function clear(root: string, rel: string): void {
  const parts = rel.split('/');
  for (let i = 1; i < parts.length; i++) {
    const p = path.join(root, ...parts.slice(0, i));
    if (fs.existsSync(p) && !fs.statSync(p).isDirectory()) fs.rmSync(p);
  }
  fs.rmSync(path.join(root, rel), { recursive: true, force: true });
}

/** Applies one local change (an edit picks one of the files there are, and does nothing when there is none). */
export function apply(root: string, s: Exclude<Step, { op: 'deploy' }>): void {
  if (s.op === 'editSame' || s.op === 'editSize') {
    const existing = Object.keys(readTree(root)).sort();
    if (existing.length === 0) return;
    edit(path.join(root, existing[s.pick % existing.length]), s);
    return;
  }
  const full = path.join(root, s.name);
  switch (s.op) {
    case 'put':
      clear(root, s.name);
      fs.mkdirSync(path.dirname(full), { recursive: true });
      fs.writeFileSync(full, content(s.size, s.seed));
      return;
    case 'remove':
      clear(root, s.name);
      return;
    case 'mkdir':
      clear(root, s.name);
      fs.mkdirSync(full, { recursive: true });
      return;
  }
}

function isFile(p: string): boolean {
  return fs.existsSync(p) && fs.statSync(p).isFile();
}

function edit(file: string, s: Extract<Step, { op: 'editSame' | 'editSize' }>): void {
  switch (s.op) {
    case 'editSame': {
      const b = fs.readFileSync(file);
      if (b.length === 0) return;
      for (let i = 0; i < b.length; i++) b[i] = (b[i] + 1 + (s.seed % 200)) & 255;
      fs.writeFileSync(file, b);
      return;
    }
    case 'editSize': {
      const old = fs.statSync(file).size;
      fs.writeFileSync(file, content(s.size === old ? s.size + 1 : s.size, s.seed));
      return;
    }
  }
}

const entries = (r: DeployReport): string[] => r.files.map((f) => `${f.action} ${f.path}`).sort();

const own = (p: string): boolean => p.split('/').some((seg) => seg.startsWith('.ftpship'));

/**
 * Deploys and checks the four invariants. With --no-delete (`noDelete`) the server may hold more than the
 * local tree: what ftpship deployed before and the local tree no longer has; the state must still list it.
 */
export async function deployAndCheck(
  local: string,
  disk: string,
  opts: (extra?: Partial<DeployOptions>) => DeployOptions,
  noDelete = false,
): Promise<void> {
  // A step may empty the local folder on purpose: --max-delete lifts the "nothing left to publish" guard.
  const o = (extra: Partial<DeployOptions> = {}): DeployOptions =>
    opts({ maxDelete: 1000, ...(noDelete ? { delete: false } : {}), ...extra });
  const preview = await deploy(o({ dryRun: true }));
  const done = await deploy(o());
  // (1) the dry run planned what the deploy did.
  expect(entries(done)).toEqual(entries(preview));
  // (2) the server mirrors the local tree.
  const files = readTree(disk, [STATE]);
  const dirs = readDirs(disk).filter((d) => !own(d));
  if (noDelete) {
    expect(files).toMatchObject(readTree(local));
    expect(dirs).toEqual(expect.arrayContaining(readDirs(local)));
    // Only a type swap removes anything: the path is now the other type locally, or lies under a local file.
    const swapped = (p: string): boolean =>
      fs.existsSync(path.join(local, p)) ||
      p
        .split('/')
        .slice(0, -1)
        .some((_, i, segs) => isFile(path.join(local, ...segs.slice(0, i + 1))));
    for (const e of done.files)
      if (e.action === 'delete' || e.action === 'rmdir')
        expect([e.action, e.path, swapped(e.path)]).toEqual([e.action, e.path, true]);
  } else {
    expect(files).toEqual(readTree(local));
    expect(dirs).toEqual(readDirs(local));
  }
  // (3) a second deploy changes nothing.
  const rec = recorder();
  const again = await deploy(o(), rec);
  expect(again.files).toEqual([]);
  for (const verb of ['STOR', 'DELE', 'RMD', 'MKD', 'RNFR', 'APPE'])
    expect([verb, sent(rec.log, verb).filter((p) => !own(p))]).toEqual([verb, []]);
  // (4) the state lists exactly the files on the server, with their content (G4), and its folders.
  const state = JSON.parse(fs.readFileSync(path.join(disk, STATE), 'utf8')) as {
    files: Record<string, { size: number; sha256: string }>;
    dirs: string[];
  };
  const listed: Record<string, string> = {};
  for (const [p, f] of Object.entries(state.files)) {
    listed[p] = f.sha256;
    expect([p, f.size]).toEqual([p, fs.statSync(path.join(disk, p)).size]);
  }
  expect(listed).toEqual(files);
  expect([...state.dirs].sort()).toEqual(dirs);
  for (const [p, h] of Object.entries(files)) expect(sha256(fs.readFileSync(path.join(disk, p)))).toBe(h);
}

/** Runs a generated sequence: local changes, a deploy and its checks at each 'deploy' step, and a full deploy (deleting) at the end. */
export async function checkModelRun(
  steps: Step[],
  local: string,
  disk: string,
  opts: (extra?: Partial<DeployOptions>) => DeployOptions,
): Promise<void> {
  try {
    for (const s of steps) {
      if (s.op === 'deploy') await deployAndCheck(local, disk, opts, s.noDelete);
      else apply(local, s);
    }
    await deployAndCheck(local, disk, opts);
  } finally {
    fs.rmSync(local, { recursive: true, force: true });
  }
}
