/**
 * Step 4 of a deploy, as a pure function: compare the local tree with the state and decide every action.
 * Content hash decides (size first as an early-out); orphans are only what ftpship deployed, never a kept
 * path or the state file; deletion works on whole path segments (`blog/` and `blog-post.html` are unrelated).
 */
import crypto from 'node:crypto';
import { ancestorsOf, atOrUnder, byDepthThenName, depthOf, dotName, foldCase, parentOf } from './paths.js';
import type { LocalFile, LocalTree } from './select.js';
import type { DeployState, Modes, Pending, PendingTemp } from './state.js';

export type Action = 'mkdir' | 'upload' | 'replace' | 'delete' | 'rmdir';

export interface PlanEntry {
  path: string;
  action: Action;
  size: number;
}

export interface UploadItem {
  file: LocalFile;
  action: 'upload' | 'replace';
  /** Temporary path (relative) the bytes go to first, renamed over `file.path` in the commit phase. */
  temp?: string;
  /** The remote folder of the same name that must go first (a folder became a file). */
  replacesDir?: boolean;
  /**
   * An earlier, interrupted run recorded this temp for this very content ({@link resumable}): it may be on
   * the server, whole or in part (its size is asked, and a part is resumed). Otherwise it is sent whole.
   */
  mayExist?: boolean;
  /**
   * Through a temp, yet to a path known to be free on the server (a new file, large enough to be resumed): its
   * rename changes no live file, so it alone calls for no maintenance marker or hook (see commitAndClean).
   */
  newPath?: boolean;
}

export interface Plan {
  /** Folders to create, parents before children. */
  mkdirs: string[];
  /** Remote files that must go before a folder of the same name is created (a file became a folder). */
  fileToDir: string[];
  uploads: UploadItem[];
  /** Orphan files, deepest first. */
  deletes: string[];
  /**
   * Orphans whose name differs from a file or folder this run writes only by case (`Logo.PNG` gone,
   * `logo.png` new), or by `\` for `/` (`a\b.txt` gone, `a/b.txt` new): on a case-insensitive server (Windows),
   * or one reading a backslash as a separator, both name one file, so they are deleted before
   * the uploads, not after (which would delete the new file). Also in `deletes`.
   */
  caseTwins: string[];
  /**
   * Orphan folders whose name differs from a file this run writes only by case (`Docs/` gone, `docs` new):
   * on a case-insensitive server the folder stands where the file goes, so it is removed (with what it
   * holds, whose files are in `caseTwins`) before the uploads. Also in `rmdirs`.
   */
  caseTwinDirs: string[];
  /** Orphan folders, deepest first. */
  rmdirs: string[];
  unchanged: string[];
  /** Temporary files from an interrupted run that this plan does not reuse: removed. */
  staleTemps: string[];
  /** Entries in report order: mkdir, upload, replace, delete (orphans, then files that became folders), rmdir. */
  entries: PlanEntry[];
  /** Orphans left in place (delete off, or a keep glob matched). */
  keptOrphans: { files: string[]; dirs: string[] };
  /**
   * Files and folders a keep glob protects inside a folder that a local file replaces, or that folder itself:
   * the folder cannot go without them, and they are never deleted (G3), so the deploy refuses the plan.
   */
  keptInSwaps: string[];
  /**
   * Files a keep glob protects that a local folder of the same name replaces: the file would be deleted to make
   * the folder, and kept files are never deleted (G3), so the deploy refuses the plan.
   */
  keptReplacedByDirs: string[];
  /**
   * Orphans that match an exclude now (added since they were deployed): left on the server, and dropped
   * from the state, as an excluded path is one ftpship no longer touches. Folders too, and those holding them.
   * `unsure`: those of `files` the state knew only as uncertain (a run sending them stopped, or the server
   * refused them): maybe not on the server at all.
   */
  excluded: { files: string[]; dirs: string[]; unsure: string[] };
  /**
   * Orphans at or under a folder holding the state of another deploy (ftpship's or FTP-Deploy-Action's: the
   * target of a deploy inside this one, /site/blog beside /site): that deploy's now, never deleted (G3); left on the server and dropped
   * from the state. `targets`: those folders; `dirs` also lists the folders holding them (they cannot go).
   */
  otherDeploys: { targets: string[]; files: string[]; dirs: string[] };
  /**
   * `SITE CHMOD` to send (relative paths; an upload through a temp is named by its temp): what this run
   * creates, and everything deployed when the mode asked differs from the one the state records.
   */
  chmods: { files: string[]; dirs: string[] };
  /** The modes asked for, which the state records once they are set everywhere. */
  modes: Modes;
  /** The state records other modes than these (the mode asked changed, or a run was cut): it gets these. */
  modesChanged: boolean;
  /**
   * What `replace: false` (--no-replace) or `deleteOnly` (--delete-only) leaves as it is on the server; the
   * state keeps recording what is there, so a later run without the option sends it. `replace`: changed
   * files the state lists (their deployed content stays). `upload`, `mkdir`: new files not sent and folders
   * not made (--delete-only; or inside a folder a held swap does not make). `swap`: type swaps not made (a
   * local file where a deployed folder is, with that folder and what it holds, or a local folder where a
   * deployed file is). --no-replace sends a file the state knows only as uncertain (a cut run, drift): nothing
   * says what is there; --delete-only holds it, still uncertain.
   */
  held: {
    replace: string[];
    upload: string[];
    mkdir: string[];
    swap: string[];
    /** The option that held them. */
    by?: 'no-replace' | 'delete-only';
  };
}

export interface PlanOptions {
  delete: boolean;
  atomic: boolean;
  /**
   * Remote paths (relative to the target) never deleted; `isDir` says whether the path is a folder (a keep
   * glob `d/` names folders only, as in .gitignore: not a file `d`).
   */
  isKept: (rel: string, isDir?: boolean) => boolean;
  /** The excludes that selected the local files: a deployed path they match now is left alone, untracked. */
  isExcluded?: (rel: string, isDir?: boolean) => boolean;
  /** Folders (relative) holding the state of another deploy: nothing at or under one is deleted. */
  otherDeploys?: string[];
  /** Relative paths of ftpship's own files inside the target (state, lock): never touched. */
  reserved: Set<string>;
  /** Files this large or larger go through a temporary name even when new, so a cut upload can resume. */
  resumeThreshold: number;
  /** A new file the server may already hold (a first deploy onto a folder with files): through a temp too. */
  mayBeOnServer?: (rel: string) => boolean;
  /** Permissions for deployed files and folders (octal digits), or undefined to leave the server's. */
  fileMode?: string;
  dirMode?: string;
  /** No state: every file is uploaded (through a temp in atomic mode: the server may hold an older copy). */
  uploadOnly?: boolean;
  /** false: changed files the state lists (and type swaps) are left as they are on the server. Default true. */
  replace?: boolean;
  /** Only the deletions: nothing uploaded, replaced or made. */
  deleteOnly?: boolean;
  /**
   * Temps are named without a leading dot (`ftpship-<id>.tmp`): the state is, for a server that refuses
   * names starting with a dot (pure-ftpd -x/-X). Default: `.ftpship-<id>.tmp`.
   */
  dotlessTemps?: boolean;
}

/**
 * Deterministic temporary name, from the path and what identifies the content: its SHA-256, or, for a file
 * not hashed yet (a first deploy plans before hashing ends), its stamp (size, mtime, ctime). Different
 * content never gets the name of a temp that holds other bytes, so a partial temp is never spliced (G1).
 */
export function tempPathFor(
  file: { path: string; sha256: string; stamp?: string },
  salt = 0,
  dotted = true,
): string {
  const content = file.sha256 || `stamp:${file.stamp ?? ''}`;
  const seed = `${content}\0${file.path}${salt ? `\0${salt}` : ''}`;
  const id = crypto.createHash('sha256').update(seed).digest('hex').slice(0, 20);
  const dir = parentOf(file.path);
  const name = `${dotted ? '.' : ''}ftpship-${id}.tmp`;
  return dir ? `${dir}/${name}` : name;
}

/**
 * A temp recorded by an earlier run holds a prefix of this very file's content: same path and size, and
 * the same SHA-256 (or, when that run was cut before the hash was known, the file untouched since: the same
 * size, mtime and ctime). Anything else is sent again from the start (G1 without splicing).
 */
export function resumable(t: PendingTemp | undefined, file: LocalFile): boolean {
  if (!t || t.path !== file.path || t.size !== file.size) return false;
  if (t.sha256) return t.sha256 === file.sha256;
  return t.stamp !== undefined && t.stamp === file.stamp;
}

/** A plan that changes nothing. */
export function emptyPlan(): Plan {
  return {
    mkdirs: [],
    fileToDir: [],
    uploads: [],
    deletes: [],
    caseTwins: [],
    caseTwinDirs: [],
    rmdirs: [],
    unchanged: [],
    staleTemps: [],
    entries: [],
    keptOrphans: { files: [], dirs: [] },
    keptInSwaps: [],
    keptReplacedByDirs: [],
    excluded: { files: [], dirs: [], unsure: [] },
    otherDeploys: { targets: [], files: [], dirs: [] },
    chmods: { files: [], dirs: [] },
    modes: {},
    modesChanged: false,
    held: { replace: [], upload: [], mkdir: [], swap: [] },
  };
}

/**
 * Two paths that name one file on some server: differing only in case (a case-insensitive, Windows server), or
 * in `\` for `/` (one that reads a backslash as a folder separator: Windows servers, ftp-srv).
 */
const twinKey = (p: string): string => foldCase(p.replace(/\\/g, '/'));

export function planChanges(local: LocalTree, state: DeployState, opts: PlanOptions): Plan {
  const pending: Pending = state.pending ?? { temps: {}, uncertain: [] };
  const uncertain = new Set(pending.uncertain);
  // The temps an earlier, interrupted run recorded, by the path each is bound for (looked up per upload).
  const tempsFor = new Map<string, string[]>();
  // Temps a run left to a server session that may still hold them (see PendingTemp.left): never used again.
  const left = new Set<string>();
  for (const [name, t] of Object.entries(pending.temps)) {
    if (t.left !== undefined) left.add(name);
    else tempsFor.set(t.path, [...(tempsFor.get(t.path) ?? []), name]);
  }
  const stateDirs = new Set(state.dirs);
  // Folders a cut run set out to make: each may be there (its run was killed before it recorded it made).
  const maybeDirs = new Set((pending.dirs ?? []).filter((d) => !stateDirs.has(d)));
  const taken = (p: string): boolean =>
    local.files.has(p) ||
    local.dirs.has(p) ||
    Object.hasOwn(state.files, p) ||
    stateDirs.has(p) ||
    maybeDirs.has(p);
  const plan = emptyPlan();
  const { held } = plan;
  const noReplace = opts.replace === false || !!opts.deleteOnly;
  if (noReplace) held.by = opts.deleteOnly ? 'delete-only' : 'no-replace';
  // Local folders replacing a deployed file, left as they are (held): nothing is made inside them.
  const heldDirs: string[] = [];
  const inHeldDir = (p: string): boolean => heldDirs.some((d) => p.startsWith(`${d}/`));

  for (const dir of [...local.dirs].sort(byDepthThenName)) {
    if (stateDirs.has(dir)) continue;
    if (inHeldDir(dir) || (opts.deleteOnly && !state.files[dir])) {
      held.mkdir.push(dir);
      continue;
    }
    if (noReplace && state.files[dir] && (!uncertain.has(dir) || opts.deleteOnly)) {
      held.swap.push(dir);
      heldDirs.push(dir);
      continue;
    }
    if (state.files[dir] || uncertain.has(dir)) {
      plan.fileToDir.push(dir);
      if (opts.isKept(dir, false)) plan.keptReplacedByDirs.push(dir);
    }
    plan.mkdirs.push(dir);
  }

  const orphanFiles = [...new Set([...Object.keys(state.files), ...uncertain])].filter(
    (p) => !local.files.has(p) && !local.dirs.has(p) && !opts.reserved.has(p),
  );
  // A path known only as uncertain is excluded too: it may be a file ftpship was about to write (a run cut
  // before it started) that was never its own, such as a CMS upload the user now excludes to protect it.
  const isExcluded = opts.isExcluded ?? (() => false);
  // Another deploy's target, or a path inside one: that deploy's, not this one's to delete.
  const others = new Set(opts.otherDeploys ?? []);
  plan.otherDeploys.targets = [...others].sort();
  const underOther = (p: string): boolean =>
    others.size > 0 && (others.has(p) || ancestorsOf(p).some((d) => others.has(d)));
  // Orphans this plan deletes, by case-folded name: an unchanged file with such a twin (`Logo.PNG` left over,
  // `logo.png` deployed) is sent again after the twin's delete, which on a case-insensitive server removes it.
  const doomed = new Set(
    opts.delete
      ? orphanFiles
          .filter((p) => !opts.isKept(p, false) && !isExcluded(p, false) && !underOther(p))
          .map(twinKey)
      : [],
  );
  for (const file of [...local.files.values()].sort((a, b) => byDepthThenName(a.path, b.path))) {
    if (opts.reserved.has(file.path)) continue;
    const known = state.files[file.path];
    const same = known && known.sha256 === file.sha256 && (known.size === file.size || known.size === -1);
    if (same && !uncertain.has(file.path) && !doomed.has(twinKey(file.path))) {
      plan.unchanged.push(file.path);
      continue;
    }
    const replacesDir = (stateDirs.has(file.path) || maybeDirs.has(file.path)) && !local.dirs.has(file.path);
    const action = known || uncertain.has(file.path) || replacesDir ? 'replace' : 'upload';
    if (noReplace && replacesDir && stateDirs.has(file.path)) {
      held.swap.push(file.path);
      continue;
    }
    if (noReplace && known && !same && !uncertain.has(file.path)) {
      held.replace.push(file.path);
      continue;
    }
    if (opts.deleteOnly || inHeldDir(file.path)) {
      (action === 'replace' ? held.replace : held.upload).push(file.path);
      continue;
    }
    // Atomic mode: replaced files, and large new ones (a temp named after the content can be resumed safely).
    // --no-atomic writes in place: no rename phase, and a cut upload starts again from zero.
    const viaTemp =
      (opts.atomic &&
        (action === 'replace' ||
          opts.uploadOnly ||
          file.size >= opts.resumeThreshold ||
          !!opts.mayBeOnServer?.(file.path) ||
          // An earlier, interrupted run sent this path through a temp (it may be live on the server, untracked):
          // so does the rerun, whatever that run's reason was.
          tempsFor.has(file.path))) ||
      replacesDir;
    // A temp an earlier run left for this very content is used again, whatever it was named after (a cut
    // first deploy names it after the file's stamp, this run may know the hash).
    // (Named as this run names temps: one with a dot a dotless state was moved from may be refused.)
    const recorded = viaTemp
      ? tempsFor
          .get(file.path)
          ?.find((t) => resumable(pending.temps[t], file) && !taken(t) && dotName(t) !== !!opts.dotlessTemps)
      : undefined;
    // Upload-only records no temp: each is named after its path alone, so the next run writes (whole, as it
    // never resumes) and renames the very temp a killed run left behind.
    const named = opts.uploadOnly ? { path: file.path, sha256: 'upload-only' } : file;
    const dotted = !opts.dotlessTemps;
    let temp = viaTemp ? (recorded ?? tempPathFor(named, 0, dotted)) : undefined;
    // Never a path the tree or the state has a file or folder at: the temp would be written over it, then
    // renamed away. (A copy of the server taken with a cut run's temp in it, deployed, can have one.)
    for (let salt = 1; temp !== undefined && (taken(temp) || left.has(temp)); salt++)
      temp = tempPathFor(named, salt, dotted);
    const mayExist = recorded !== undefined;
    const newPath =
      action === 'upload' &&
      !replacesDir &&
      !opts.uploadOnly &&
      !opts.mayBeOnServer?.(file.path) &&
      !tempsFor.has(file.path);
    plan.uploads.push({ file, action, temp, replacesDir, mayExist, ...(temp && newPath ? { newPath } : {}) });
  }

  const reserved = [...opts.reserved];
  // A deployed folder a local file would replace, held: it stays, and what it holds with it (in the state too).
  const heldFolders = held.swap.filter((p) => stateDirs.has(p));
  const inHeldFolder = (p: string): boolean => heldFolders.some((d) => atOrUnder(p, d));
  const swappedDirs = new Set(plan.uploads.filter((u) => u.replacesDir).map((u) => u.file.path));
  // --delete-only sends nothing: an orphan named as a local file but for case (`Index.html` gone, `index.html`
  // new) is that file on a case-insensitive server, and its delete would leave the site without it: kept.
  const localFolded = new Set([...local.files.keys(), ...local.dirs].map(twinKey));
  for (const p of orphanFiles.sort(deepestFirst)) {
    if (inHeldFolder(p)) continue;
    if (underOther(p)) {
      plan.otherDeploys.files.push(p);
      continue;
    }
    if (opts.deleteOnly && opts.delete && localFolded.has(twinKey(p))) {
      plan.keptOrphans.files.push(p);
      continue;
    }
    const insideSwap = [...swappedDirs].some((d) => p.startsWith(`${d}/`));
    if (insideSwap && opts.isKept(p, false)) plan.keptInSwaps.push(p);
    if (!insideSwap && isExcluded(p, false)) {
      plan.excluded.files.push(p);
      if (!state.files[p]) plan.excluded.unsure.push(p);
    } else if (!insideSwap && (!opts.delete || opts.isKept(p, false))) plan.keptOrphans.files.push(p);
    else plan.deletes.push(p);
  }
  const incoming = new Set([...plan.uploads.map((u) => u.file.path), ...plan.mkdirs].map(twinKey));
  plan.caseTwins = plan.deletes.filter((p) => incoming.has(twinKey(p)));
  // The folders holding a kept path, and those holding an excluded or reserved one (grown as the loop below
  // keeps or leaves folders: one set lookup per folder, not a pass over every such path).
  const holdKept = foldersAbove([...plan.keptOrphans.files, ...plan.keptOrphans.dirs]);
  const holdLeft = foldersAbove([...plan.excluded.files, ...plan.excluded.dirs, ...reserved]);
  // The folders holding another deploy's target: they cannot go, and what they hold is not this deploy's.
  const holdOther = foldersAbove(plan.otherDeploys.targets);
  for (const d of [...state.dirs, ...maybeDirs].filter((x) => !local.dirs.has(x)).sort(deepestFirst)) {
    if (inHeldFolder(d)) continue;
    // (A folder that a local file replaces is refused by the deploy's guard when it holds such a target.)
    if (underOther(d) || (holdOther.has(d) && !swappedDirs.has(d))) {
      plan.otherDeploys.dirs.push(d);
      continue;
    }
    // (Deepest first: a folder kept inside this one, by a keep glob or as it holds kept files, is listed already.)
    const keptInside = holdKept.has(d);
    // A folder that became a file goes whole, with the folders inside it (as its files, whatever the options
    // say): one left for --no-delete, a keep or an exclude would stop the folder's RMD, and the file with it.
    // A keep cannot leave one (the file needs its place): a kept folder there refuses the plan, as a kept file does.
    if (swappedDirs.has(d) || [...swappedDirs].some((s) => d.startsWith(`${s}/`))) {
      plan.rmdirs.push(d);
      if (opts.isKept(d, true)) plan.keptInSwaps.push(d);
    }
    // A folder holding ftpship's own files (the state, its lock, the marker: --state private/state.json) cannot
    // be removed, and must not be: left there, untracked, as an excluded one is (not "remove it by hand").
    else if (isExcluded(d, true) || holdLeft.has(d)) {
      plan.excluded.dirs.push(d);
      addFoldersAbove(holdLeft, d);
    } else if (!opts.delete || opts.isKept(d, true) || keptInside) {
      plan.keptOrphans.dirs.push(d);
      addFoldersAbove(holdKept, d);
    } else plan.rmdirs.push(d);
  }

  const incomingFiles = new Set(plan.uploads.map((u) => twinKey(u.file.path)));
  const twinDirs = plan.rmdirs.filter((d) => !swappedDirs.has(d) && incomingFiles.has(twinKey(d)));
  const inTwin = (p: string): boolean => twinDirs.some((d) => p.startsWith(`${d}/`));
  plan.caseTwinDirs = plan.rmdirs.filter((d) => twinDirs.includes(d) || inTwin(d));
  plan.caseTwins.push(...plan.deletes.filter((p) => inTwin(p) && !plan.caseTwins.includes(p)));

  planModes(plan, local, state, opts);

  const reused = new Set(plan.uploads.map((u) => u.temp).filter(Boolean));
  // A leftover temp whose path is now a file of the tree or of the state is that file (a copy of the server
  // taken with the temp in it, deployed): it is uploaded or kept, never removed as a leftover.
  plan.staleTemps = Object.keys(pending.temps).filter((t) => !reused.has(t) && !taken(t));

  plan.entries = [
    ...plan.mkdirs.map((p) => ({ path: p, action: 'mkdir' as const, size: 0 })),
    ...plan.uploads
      .filter((u) => u.action === 'upload')
      .map((u) => ({ path: u.file.path, action: 'upload' as const, size: u.file.size })),
    ...plan.uploads
      .filter((u) => u.action === 'replace')
      .map((u) => ({ path: u.file.path, action: 'replace' as const, size: u.file.size })),
    ...plan.deletes.map((p) => ({ path: p, action: 'delete' as const, size: state.files[p]?.size ?? 0 })),
    // A file that became a folder is deleted too (just before its folder is made): the report says so.
    ...plan.fileToDir.map((p) => ({ path: p, action: 'delete' as const, size: state.files[p]?.size ?? 0 })),
    ...plan.rmdirs.map((p) => ({ path: p, action: 'rmdir' as const, size: 0 })),
  ];
  return plan;
}

/**
 * What gets `SITE CHMOD`: every upload (on its temp, if it has one, so it goes live with its mode) and every
 * folder made; and, where the state does not record this very mode as set, every unchanged file or folder.
 */
function planModes(plan: Plan, local: LocalTree, state: DeployState, opts: PlanOptions): void {
  // Nothing is made or sent: no mode is set, and the state keeps the modes it records.
  if (opts.deleteOnly) {
    plan.modes = { ...(state.modes ?? {}) };
    return;
  }
  if (opts.fileMode) plan.modes.file = opts.fileMode;
  if (opts.dirMode) plan.modes.dir = opts.dirMode;
  const had = state.modes ?? {};
  plan.modesChanged = had.file !== plan.modes.file || had.dir !== plan.modes.dir;
  if (opts.fileMode) {
    plan.chmods.files = plan.uploads.map((u) => u.temp ?? u.file.path);
    if (had.file !== opts.fileMode) plan.chmods.files.push(...plan.unchanged, ...plan.held.replace);
  }
  if (opts.dirMode) {
    plan.chmods.dirs = [...plan.mkdirs];
    if (had.dir !== opts.dirMode) {
      const made = new Set([...plan.mkdirs, ...plan.held.mkdir, ...plan.held.swap]);
      plan.chmods.dirs.push(...[...local.dirs].filter((d) => !made.has(d)).sort(byDepthThenName));
    }
  }
}

function deepestFirst(a: string, b: string): number {
  return depthOf(b) - depthOf(a) || (a < b ? -1 : a > b ? 1 : 0);
}

/** The plan as done: folders that could not be removed are reported as kept, not as removed. */
export function withKeptDirs(plan: Plan, dirs: string[]): Plan {
  if (dirs.length === 0) return plan;
  const kept = new Set(dirs);
  return {
    ...plan,
    rmdirs: plan.rmdirs.filter((d) => !kept.has(d)),
    entries: plan.entries.filter((e) => e.action !== 'rmdir' || !kept.has(e.path)),
    keptOrphans: { ...plan.keptOrphans, dirs: [...plan.keptOrphans.dirs, ...dirs] },
  };
}

/**
 * The plan as reported: files it replaces only because an earlier run was sending them when it stopped (the
 * state knows them as uncertain), which the server turned out not to hold, are reported as uploads. They are
 * sent as before (through a temp, as any uncertain path): only the report's word changes, so that "replace"
 * never names a file the live site does not have.
 */
export function withAbsent(plan: Plan, absent: Iterable<string>): Plan {
  const gone = new Set(absent);
  if (gone.size === 0) return plan;
  const order: Action[] = ['mkdir', 'upload', 'replace', 'delete', 'rmdir'];
  const entries = plan.entries
    .map((e) => (e.action === 'replace' && gone.has(e.path) ? { ...e, action: 'upload' as const } : e))
    // Stable: the entries stay in report order (mkdir, upload, replace, delete, rmdir), these last among uploads.
    .sort((a, b) => order.indexOf(a.action) - order.indexOf(b.action));
  return { ...plan, entries };
}

/**
 * The plan once some of its folders turned out to be there already (made by a cut run, which had not
 * recorded them as made; or on a first deploy, or one with --reset-state, onto a folder that holds them): they
 * are not made again, nor reported or counted as `mkdir`. They keep their
 * `SITE CHMOD` (the cut run may not have sent it), and the state records them as deployed (every local folder).
 */
export function withDirsThere(plan: Plan, there: Iterable<string>): Plan {
  const made = new Set(there);
  if (made.size === 0) return plan;
  return {
    ...plan,
    mkdirs: plan.mkdirs.filter((d) => !made.has(d)),
    entries: plan.entries.filter((e) => !(e.action === 'mkdir' && made.has(e.path))),
  };
}

/** Counts per action, for the report. */
export function countPlan(plan: Plan): Record<Action | 'unchanged', number> {
  const counts = { mkdir: 0, upload: 0, replace: 0, delete: 0, rmdir: 0, unchanged: plan.unchanged.length };
  for (const e of plan.entries) counts[e.action]++;
  return counts;
}

/** Every folder above one of `paths` ('a/b/c.txt' → 'a/b', 'a'). */
function foldersAbove(paths: Iterable<string>): Set<string> {
  const above = new Set<string>();
  for (const p of paths) addFoldersAbove(above, p);
  return above;
}

/** Adds the folders above `p` to `above`, which holds whole chains (a folder in it has its parents too). */
function addFoldersAbove(above: Set<string>, p: string): void {
  for (let i = p.lastIndexOf('/'); i > 0; i = p.lastIndexOf('/', i - 1)) {
    const folder = p.slice(0, i);
    if (above.has(folder)) return;
    above.add(folder);
  }
}
