/** The model and the checks of model.ftpsrv.test.ts and model.realservers.test.ts. */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from '@jest/globals';
import fc from 'fast-check';
import { deploy, GuardError, type DeployOptions, type DeployReport } from '../../src/index.js';
import { DEFAULT_EXCLUDES } from '../../src/engine/options.js';
import { globMatcher } from '../../src/engine/select.js';
import { settingsHash } from '../../src/engine/state.js';
import { recorder, sent } from './protocol.js';
import { readDirs, readTree, sha256 } from './tmp.js';

/** Names the model works over: case (a, A), nesting, and names that are a file in one step, a folder in the next. */
export const NAMES = ['a', 'b', 'A', 'd', 'd/x', 'd/e', 'd/e/y'];
/** Where files are put on the server by hand: names of the tree, and others (`h`) beside and inside its folders. */
export const HAND_NAMES = ['h', 'd/h', 'd/e/h', 'b', 'd/x', 'd/e'];
/**
 * --keep globs: anchored and not, a file and a folder's name, a folder with what it holds, and `!glob`s that
 * take back what one added before them matched (the globs apply in the order they were added).
 */
export const KEEPS = ['b', '/a', 'd/x', 'e', 'd/**', 'y', '!d/e/y', '!x'];
/** --exclude globs: at any depth or at the top, a file's name, a folder's, and `!glob`s as for KEEPS. */
export const EXCLUDES = ['A', '/a', 'x', 'd/e', 'd', 'y', '!d/x', '!d/e'];

export type Step =
  | { op: 'put'; name: string; size: number; seed: number }
  | { op: 'editSame'; pick: number; seed: number }
  | { op: 'editSize'; pick: number; size: number; seed: number }
  | { op: 'remove'; name: string }
  | { op: 'mkdir'; name: string }
  /** Adds (on) or removes a --keep glob for the deploys that follow. */
  | { op: 'keep'; glob: string; on: boolean }
  /** Adds (on) or removes an --exclude glob for the deploys that follow. */
  | { op: 'exclude'; glob: string; on: boolean }
  /**
   * A file put on the server by hand (or by the site: a CMS upload) where nothing is: ftpship never deploys it,
   * so never deletes or changes it. Folders it needs are made too.
   */
  | { op: 'serverPut'; name: string; size: number; seed: number }
  /** --state moves from its default to `Run.moveTo` for the deploys that follow (once). */
  | { op: 'moveState' }
  | {
      op: 'deploy';
      noDelete: boolean;
      /** --no-atomic. */
      noAtomic?: boolean;
      /** --max-delete N; 'unset': no --max-delete (the "nothing left to publish" guard is on); absent: 1000. */
      maxDelete?: number | 'unset';
    };

/** Where the state lives: the default, a folder inside the target, or beside the target (outside it). */
export type StateAt = 'default' | 'sub' | 'outside';

/** A generated run: where its state is kept, where moveState takes it, and its steps. */
export interface Run {
  stateAt: StateAt;
  moveTo: Exclude<StateAt, 'default'>;
  steps: Step[];
}

const name = fc.constantFrom(...NAMES);
const fileSteps: Array<fc.Arbitrary<Step>> = [
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
];
const plainDeploy: fc.Arbitrary<Step> = fc.record({
  op: fc.constant('deploy' as const),
  noDelete: fc.boolean(),
});
const step: fc.Arbitrary<Step> = fc.oneof(...fileSteps, plainDeploy);

/** Sequences of local changes; a deploy always ends them (and runs at every 'deploy' step). */
export function modelCommands(): fc.Arbitrary<Step[]> {
  return fc.array(step, { minLength: 1, maxLength: 14 });
}

/** Globs are added more often than removed (removing one that is not there does nothing). */
const on = fc.constantFrom(true, true, false);
const settingStep: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ op: fc.constant('keep' as const), glob: fc.constantFrom(...KEEPS), on: on }),
  fc.record({ op: fc.constant('exclude' as const), glob: fc.constantFrom(...EXCLUDES), on: on }),
);
const fullDeploy: fc.Arbitrary<Step> = fc.record(
  {
    op: fc.constant('deploy' as const),
    noDelete: fc.boolean(),
    noAtomic: fc.boolean(),
    maxDelete: fc.constantFrom<number | 'unset' | undefined>(undefined, undefined, 'unset', 0, 1),
  },
  { requiredKeys: ['op', 'noDelete'] },
);

/**
 * The whole model: the local changes, --keep and --exclude globs added and removed between deploys, deploys
 * with --no-delete, --no-atomic and --max-delete, the state in one of three places and moved once.
 */
export function modelRuns(): fc.Arbitrary<Run> {
  const put = fileSteps[0];
  const s = fc.oneof(
    { arbitrary: fc.oneof(...fileSteps), weight: 3 },
    { arbitrary: fileSteps[3], weight: 1 }, // removes: orphans for keeps, excludes and --max-delete
    { arbitrary: settingStep, weight: 2 },
    { arbitrary: fullDeploy, weight: 3 },
    { arbitrary: fc.constant<Step>({ op: 'moveState' }), weight: 1 },
    {
      arbitrary: fc.record({
        op: fc.constant('serverPut' as const),
        name: fc.constantFrom(...HAND_NAMES),
        size: fc.integer({ min: 0, max: 40 }),
        seed: fc.nat(),
      }),
      weight: 1,
    },
  );
  // A few files deployed first: keeps, excludes and deletes then have something to act on.
  const start = fc
    .array(put, { minLength: 0, maxLength: 5 })
    .map((p): Step[] => [...p, { op: 'deploy', noDelete: false }]);
  return fc.record({
    stateAt: fc.constantFrom<StateAt>('default', 'default', 'sub', 'outside'),
    moveTo: fc.constantFrom<Exclude<StateAt, 'default'>>('sub', 'outside'),
    steps: fc.tuple(start, fc.array(s, { minLength: 1, maxLength: 22 })).map(([a, b]) => [...a, ...b]),
  });
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

type LocalStep = Extract<Step, { op: 'put' | 'editSame' | 'editSize' | 'remove' | 'mkdir' }>;

/** Applies one local change (an edit picks one of the files there are, and does nothing when there is none). */
export function apply(root: string, s: LocalStep): void {
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

/** ftpship's own files: the state, its temp and lock, temps, a state folder inside the target. */
const own = (p: string): boolean => p.split('/').some((seg) => seg.startsWith('.ftpship') || isTemp(seg));
/** A temporary upload's name (not the state's temp): dotless beside a state named without a dot. */
const isTemp = (p: string): boolean => /(?:^|\/)\.?ftpship-[0-9a-f]{20}\.tmp$/.test(p);

const ancestors = (p: string): string[] =>
  p
    .split('/')
    .map((_, i, s) => s.slice(0, i).join('/'))
    .slice(1);
const under = (d: string, p: string): boolean => p.startsWith(`${d}/`);

/** The settings a deploy runs with (the model's current --keep and --exclude globs, and where the state is). */
export interface Settings {
  keep: string[];
  exclude: string[];
  /** deploy()'s statePath (undefined: the default). */
  statePath?: string;
  /** The state file on disk. */
  stateFile: string;
  /** The remote folder deployed to (`/name`). */
  dir: string;
}

interface StateJson {
  settings: string;
  files: Record<string, { size: number; sha256: string }>;
  dirs: string[];
  pending?: { uncertain: string[]; temps: Record<string, unknown>; dirs?: string[] };
}

/** What the server holds (ftpship's own files aside) and what its state says. */
interface Seen {
  files: Record<string, string>;
  dirs: Set<string>;
  stateText?: string;
  state?: StateJson;
}

function observe(disk: string, stateFile: string): Seen {
  if (!fs.existsSync(disk)) return { files: {}, dirs: new Set() };
  const files = Object.fromEntries(Object.entries(readTree(disk)).filter(([p]) => !own(p)));
  const dirs = new Set(readDirs(disk).filter((d) => !own(d)));
  const stateText = fs.existsSync(stateFile) ? fs.readFileSync(stateFile, 'utf8') : undefined;
  return { files, dirs, stateText, state: stateText ? (JSON.parse(stateText) as StateJson) : undefined };
}

/** The local files and folders the deploy selects: what the excludes leave (an excluded folder is not entered). */
function selection(local: string, exclude: string[]): { files: Record<string, string>; dirs: Set<string> } {
  const isExcluded = globMatcher([...DEFAULT_EXCLUDES, ...exclude]);
  const gone = (p: string): boolean => isExcluded(p) || ancestors(p).some(isExcluded);
  const files = Object.fromEntries(Object.entries(readTree(local)).filter(([p]) => !gone(p)));
  return { files, dirs: new Set(readDirs(local).filter((d) => !gone(d))) };
}

/** What the checked deploys met (a long run prints it, to show what it exercised). */
export const modelStats = {
  deploys: 0,
  refused: 0,
  blocked: 0,
  leftExcluded: 0,
  keptTracked: 0,
  settingsChanged: 0,
};

/** Same settings, same hash in the state; other settings, another hash (keyed by the settings' JSON). */
const settingsSeen = new Map<string, string>();

/**
 * Deploys and checks it against the server as it was just before (`Seen`), the local tree and the options:
 * (1) the dry run planned what the deploy did, or both were refused; (2) every selected local file and folder
 * is on the server and in the state; (3) what ftpship deployed and the local tree lacks is deleted, unless
 * --no-delete or a --keep match keeps it (in the state), or an --exclude match leaves it (out of the state),
 * or a type swap needs its place; (4) what ftpship did not deploy (left by an exclude) is never deleted or
 * changed, and a folder holding it stays; (5) the state lists exactly the tracked files, with their content
 * (G4); (6) a rerun sends nothing, and files unchanged since the last deploy were not sent; (7) the settings
 * hash follows the keeps and excludes, and the first deploy after they change sends every file through a temp
 * (atomic mode); --no-atomic uses a temp only for a folder that became a file; (8) a refusal (a keep in a
 * type swap, --max-delete, an empty folder) changes nothing on the server. A deploy may fail only where
 * the local tree needs the place of something ftpship did not deploy (a file it left where a folder goes).
 */
export async function deployAndCheck(
  local: string,
  disk: string,
  opts: (extra?: Partial<DeployOptions>) => DeployOptions,
  d: Extract<Step, { op: 'deploy' }> = { op: 'deploy', noDelete: false },
  settings: Settings = {
    keep: [],
    exclude: [],
    stateFile: path.join(disk, '.ftpship-state.json'),
    dir: `/${path.basename(disk)}`,
  },
): Promise<void> {
  // A path sent for a file of the site: inside the target, not one of ftpship's own.
  const site = (p: string): boolean =>
    p.startsWith(`${settings.dir}/`) && !own(p.slice(settings.dir.length + 1));
  const maxDelete = d.maxDelete === undefined ? 1000 : d.maxDelete === 'unset' ? undefined : d.maxDelete;
  const o = (extra: Partial<DeployOptions> = {}): DeployOptions =>
    opts({
      ...(maxDelete !== undefined ? { maxDelete } : {}),
      ...(d.noDelete ? { delete: false } : {}),
      ...(d.noAtomic ? { atomic: false } : {}),
      ...(settings.keep.length ? { keep: settings.keep } : {}),
      ...(settings.exclude.length ? { exclude: settings.exclude } : {}),
      ...(settings.statePath ? { statePath: settings.statePath } : {}),
      ...extra,
    });
  const K = globMatcher(settings.keep);
  // Excluded: the path or a folder above it matches (the walk does not enter an excluded folder).
  const matchX = globMatcher([...DEFAULT_EXCLUDES, ...settings.exclude]);
  const X = (p: string): boolean => matchX(p) || ancestors(p).some(matchX);
  const before = observe(disk, settings.stateFile);
  // The state may be at its former (default) path, read once and moved by this deploy.
  const former = path.join(disk, '.ftpship-state.json');
  const prevState =
    before.state ??
    (settings.stateFile !== former && fs.existsSync(former)
      ? (JSON.parse(fs.readFileSync(former, 'utf8')) as StateJson)
      : undefined);
  const tf = prevState?.files ?? {};
  const td = new Set(prevState?.dirs ?? []);
  const uncertain = new Set(prevState?.pending?.uncertain ?? []);
  const maybeDirs = new Set(prevState?.pending?.dirs ?? []);
  const owned = (p: string): boolean => Object.hasOwn(tf, p) || uncertain.has(p);
  const { files: Lf, dirs: Ld } = selection(local, settings.exclude);
  const inLf = (p: string): boolean => Object.hasOwn(Lf, p);
  const untrackedFiles = Object.keys(before.files).filter((p) => !owned(p));
  const untrackedDirs = [...before.dirs].filter((x) => !td.has(x) && !maybeDirs.has(x));

  // What the plan must do, as the spec says it.
  const swapped = new Set(Object.keys(Lf).filter((p) => td.has(p) || maybeDirs.has(p))); // folder → file
  const swappedAway = (p: string): boolean => Ld.has(p) || ancestors(p).some((a) => swapped.has(a));
  const orphans = [...new Set([...Object.keys(tf), ...uncertain])].filter((p) => !inLf(p));
  const keptReplaced = [...Ld].filter((x) => owned(x) && !td.has(x) && K(x));
  // A kept file or folder ftpship deployed, in a folder that became a file (or that folder itself).
  const inSwap = (p: string): boolean => swapped.has(p) || ancestors(p).some((a) => swapped.has(a));
  const keptInSwap = [
    ...orphans.filter((p) => !Ld.has(p) && inSwap(p) && K(p)),
    ...[...td, ...maybeDirs].filter((x) => !Ld.has(x) && inSwap(x) && K(x)),
  ];
  const deletes = orphans.filter((p) => swappedAway(p) || (!d.noDelete && !K(p) && !X(p)));
  const refused =
    keptReplaced.length > 0 ||
    keptInSwap.length > 0 ||
    (maxDelete !== undefined && deletes.length > maxDelete) ||
    (maxDelete === undefined && deletes.length > 0 && Object.keys(Lf).length === 0);
  // Something ftpship did not deploy stands where the local tree needs a folder or a file: it may fail there.
  const blocked =
    untrackedFiles.some((p) => Ld.has(p) || ancestors(p).some(inLf)) ||
    untrackedDirs.some((x) => inLf(x) || ancestors(x).some(inLf));

  const why = JSON.stringify({ d, keep: settings.keep, exclude: settings.exclude });
  let preview: DeployReport | undefined;
  let previewErr: unknown;
  try {
    preview = await deploy(o({ dryRun: true }));
  } catch (err) {
    previewErr = err;
  }
  const rec = recorder();
  let done: DeployReport | undefined;
  let doneErr: unknown;
  try {
    done = await deploy(o(), rec);
  } catch (err) {
    doneErr = err;
  }
  const after = observe(disk, settings.stateFile);
  modelStats.deploys++;

  if (refused) {
    modelStats.refused++;
    // (8) Refused (exit 3), the preview as the deploy, and nothing changed.
    expect([why, previewErr instanceof GuardError, doneErr instanceof GuardError]).toEqual([why, true, true]);
    expect((doneErr as GuardError).exitCode).toBe(3);
    expect(after.files).toEqual(before.files);
    expect([...after.dirs].sort()).toEqual([...before.dirs].sort());
    expect(after.stateText).toEqual(before.stateText);
    return;
  }
  if (previewErr) throw previewErr;
  const state = after.state;
  if (doneErr) {
    // Only where something it did not deploy is in the way; then nothing of it is touched, and the state is honest.
    if (!blocked) throw doneErr;
    modelStats.blocked++;
    // The message says what stands there and that ftpship leaves it (not "try again later").
    expect([why, (doneErr as Error).message]).toEqual([
      why,
      expect.stringMatching(/did not deploy|deployed itself/),
    ]);
    for (const p of untrackedFiles)
      if (!Ld.has(p) && !ancestors(p).some(inLf)) expect([p, after.files[p]]).toEqual([p, before.files[p]]);
    for (const [p, f] of Object.entries(state?.files ?? {}))
      expect([p, f.sha256]).toEqual([p, after.files[p] ? sha256OfDisk(disk, p) : 'missing']);
    return;
  }
  const report = done as DeployReport;
  // (1) the dry run planned what the deploy did. (The plan reads no listing: a folder it removes that holds
  // something ftpship did not deploy is kept by the deploy, which finds it not empty, and reported as kept.)
  const holdsOthers = (x: string): boolean =>
    untrackedFiles.some((p) => under(x, p)) || untrackedDirs.some((y) => under(x, y));
  expect(entries(report)).toEqual(
    entries(preview as DeployReport).filter((e) => !(e.startsWith('rmdir ') && holdsOthers(e.slice(6)))),
  );
  expect(state).toBeDefined();
  const sf = (state as StateJson).files;
  const sd = new Set((state as StateJson).dirs);
  // (2) the selected local tree is on the server and in the state.
  for (const [p, h] of Object.entries(Lf)) {
    expect([p, after.files[p]]).toEqual([p, h]);
    expect([p, sf[p]?.sha256]).toEqual([p, h]);
  }
  for (const x of Ld) expect([x, after.dirs.has(x), sd.has(x)]).toEqual([x, true, true]);
  // (3) what ftpship deployed and the local tree lacks.
  for (const p of Object.keys(tf).filter((q) => !inLf(q))) {
    const expected = swappedAway(p)
      ? 'gone'
      : X(p)
        ? 'left, untracked'
        : d.noDelete || K(p)
          ? 'kept, tracked'
          : 'gone';
    const actual = !Object.hasOwn(after.files, p)
      ? 'gone'
      : Object.hasOwn(sf, p)
        ? 'kept, tracked'
        : 'left, untracked';
    expect([why, p, actual]).toEqual([why, p, expected]);
    if (actual !== 'gone') expect([p, after.files[p]]).toEqual([p, before.files[p]]);
    if (actual === 'left, untracked') modelStats.leftExcluded++;
    if (actual === 'kept, tracked') modelStats.keptTracked++;
  }
  // (4) what ftpship did not deploy is never deleted or changed (only overwritten by a local file of its name).
  for (const p of untrackedFiles.filter((q) => !inLf(q))) {
    expect([p, after.files[p]]).toEqual([p, before.files[p]]);
    expect([p, Object.hasOwn(sf, p)]).toEqual([p, false]);
  }
  for (const x of untrackedDirs) expect([x, after.dirs.has(x)]).toEqual([x, true]);
  // Nothing appears that is neither local nor was there before.
  for (const p of Object.keys(after.files))
    expect([p, inLf(p) || Object.hasOwn(before.files, p)]).toEqual([p, true]);
  for (const x of after.dirs) expect([x, Ld.has(x) || before.dirs.has(x)]).toEqual([x, true]);
  // Folders ftpship made that the local tree lacks.
  for (const x of [...td].filter((y) => !Ld.has(y))) {
    const holds =
      Object.keys(after.files).some((p) => under(x, p)) || [...after.dirs].some((y) => under(x, y));
    const holdsUntracked =
      Object.keys(after.files).some((p) => under(x, p) && !Object.hasOwn(sf, p)) ||
      [...after.dirs].some((y) => under(x, y) && !sd.has(y));
    if (swapped.has(x) || ancestors(x).some((a) => swapped.has(a)))
      expect([x, after.dirs.has(x)]).toEqual([x, false]);
    else if (X(x)) expect([x, after.dirs.has(x), sd.has(x)]).toEqual([x, true, false]);
    else if (holds) {
      expect([x, after.dirs.has(x)]).toEqual([x, true]);
      if (!holdsUntracked) expect([x, sd.has(x)]).toEqual([x, true]);
    } else if (d.noDelete || K(x)) expect([x, after.dirs.has(x), sd.has(x)]).toEqual([x, true, true]);
    else expect([x, after.dirs.has(x)]).toEqual([x, false]);
  }
  // (5) the state lists exactly the tracked files, with their content (G4), and only folders that are there.
  // (A path only an interrupted run knew, as uncertain, may or may not be listed: the run never confirmed it.)
  const sure = (p: string): boolean => inLf(p) || !uncertain.has(p) || Object.hasOwn(tf, p);
  const tracked = Object.keys(after.files).filter(
    (p) => inLf(p) || (Object.hasOwn(tf, p) && !swappedAway(p) && !X(p) && (d.noDelete || K(p))),
  );
  expect(Object.keys(sf).filter(sure).sort()).toEqual(tracked.sort());
  for (const [p, f] of Object.entries(sf)) {
    expect([p, f.size, f.sha256]).toEqual([p, fs.statSync(path.join(disk, p)).size, after.files[p]]);
    expect(sha256OfDisk(disk, p)).toBe(f.sha256);
  }
  for (const x of sd) expect([x, after.dirs.has(x)]).toEqual([x, true]);
  expect((state as StateJson).pending).toBeUndefined();
  // (6) a file unchanged since the last deploy is not sent (unless an orphan differing only in case goes).
  const doomedCase = new Set(deletes.map((p) => p.toLowerCase()));
  for (const e of report.files)
    if (e.action === 'upload' || e.action === 'replace')
      if (
        tf[e.path]?.sha256 === Lf[e.path] &&
        !uncertain.has(e.path) &&
        !doomedCase.has(e.path.toLowerCase())
      )
        expect([why, e.path, 'sent though unchanged']).toEqual([why, e.path, 'not sent']);
  // (7) the settings hash, and temps after a settings change.
  const key = JSON.stringify({ keep: settings.keep, exclude: settings.exclude });
  const hash = (state as StateJson).settings;
  // (A deploy with nothing to do writes no state: the hash there may be an older one, which only costs temps.)
  if (after.stateText !== before.stateText) {
    expect(hash).toBe(
      settingsHash({ exclude: [...DEFAULT_EXCLUDES, ...settings.exclude], keep: settings.keep }),
    );
    for (const [k, h] of settingsSeen) expect([k === key, h === hash]).toEqual([k === key, k === key]);
    settingsSeen.set(key, hash);
  }
  const temps = new Set(sent(rec.log, 'STOR').filter((p) => p.startsWith(`${settings.dir}/`) && isTemp(p)));
  const prevEmpty = !prevState || (Object.keys(tf).length === 0 && td.size === 0 && !prevState.pending);
  if (!prevEmpty && prevState?.settings !== hash) modelStats.settingsChanged++;
  if (!prevEmpty && prevState?.settings !== hash && !d.noAtomic)
    expect([why, sent(rec.log, 'STOR').filter(site)]).toEqual([why, []]);
  if (d.noAtomic)
    expect(temps.size).toBeLessThanOrEqual(
      swapped.size + Object.keys(prevState?.pending?.temps ?? {}).length,
    );
  // A moved state: the former one is gone.
  if (settings.stateFile !== former) expect(fs.existsSync(former)).toBe(false);
  // (6) a second deploy changes nothing.
  const rec2 = recorder();
  const again = await deploy(o(), rec2);
  expect(again.files).toEqual([]);
  for (const verb of ['STOR', 'DELE', 'RMD', 'MKD', 'RNFR', 'APPE'])
    expect([verb, sent(rec2.log, verb).filter(site)]).toEqual([verb, []]);
}

function sha256OfDisk(disk: string, p: string): string {
  return sha256(fs.readFileSync(path.join(disk, p)));
}

/** Puts a file on the server's disk, owned as the server's own files, where nothing is (else does nothing). */
function putByHand(disk: string, s: Extract<Step, { op: 'serverPut' }>): void {
  if (!fs.existsSync(disk)) return;
  const full = path.join(disk, s.name);
  if (fs.existsSync(full) || ancestors(s.name).some((a) => isFileOnDisk(path.join(disk, a)))) return;
  const { uid, gid } = fs.statSync(disk);
  for (const a of ancestors(s.name)) {
    const p = path.join(disk, a);
    if (fs.existsSync(p)) continue;
    fs.mkdirSync(p);
    fs.chownSync(p, uid, gid);
  }
  fs.writeFileSync(full, content(s.size, s.seed + 7));
  fs.chownSync(full, uid, gid);
}

function isFileOnDisk(p: string): boolean {
  return fs.existsSync(p) && !fs.statSync(p).isDirectory();
}

function toggle(set: Set<string>, glob: string, on: boolean): void {
  if (on) set.add(glob);
  else set.delete(glob);
}

/** deploy()'s statePath and the state file on disk for each place. */
function stateAt(where: StateAt, disk: string, dir: string): Pick<Settings, 'statePath' | 'stateFile'> {
  switch (where) {
    case 'default':
      return { stateFile: path.join(disk, '.ftpship-state.json') };
    case 'sub':
      return { statePath: '.ftpship/state.json', stateFile: path.join(disk, '.ftpship', 'state.json') };
    case 'outside':
      return { statePath: `../${path.posix.basename(dir)}.state.json`, stateFile: `${disk}.state.json` };
  }
}

/**
 * Runs a generated sequence: local changes, settings changes, a deploy and its checks at each 'deploy' step,
 * and a deploy (deleting) at the end. `dir` is the remote folder (`/name`), `disk` the same folder on disk.
 */
export async function checkModelRun(
  steps: Step[] | Run,
  local: string,
  disk: string,
  opts: (extra?: Partial<DeployOptions>) => DeployOptions,
  dir = `/${path.basename(disk)}`,
): Promise<void> {
  const run: Run = Array.isArray(steps) ? { stateAt: 'default', moveTo: 'sub', steps } : steps;
  const keep = new Set<string>();
  const exclude = new Set<string>();
  let where = run.stateAt;
  const settings = (): Settings => ({
    keep: [...keep],
    exclude: [...exclude],
    dir,
    ...stateAt(where, disk, dir),
  });
  try {
    for (const s of run.steps) {
      if (s.op === 'deploy') await deployAndCheck(local, disk, opts, s, settings());
      else if (s.op === 'keep' || s.op === 'exclude') toggle(s.op === 'keep' ? keep : exclude, s.glob, s.on);
      else if (s.op === 'moveState') where = where === 'default' ? run.moveTo : where;
      else if (s.op === 'serverPut') putByHand(disk, s);
      else apply(local, s);
    }
    await deployAndCheck(local, disk, opts, { op: 'deploy', noDelete: false }, settings());
  } finally {
    fs.rmSync(local, { recursive: true, force: true });
    for (const f of [`${disk}.state.json`, `${disk}.state.json.tmp`, `${disk}.state.json.lock`])
      fs.rmSync(f, { recursive: true, force: true });
  }
}
