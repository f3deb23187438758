/**
 * Property tests (fast-check, seeded) of --exclude and --keep against the README's words: random local trees
 * (dots, spaces, unicode, a leading `!` or `#`, case twins) and globs of every documented form.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { planChanges, type PlanOptions } from '../src/engine/plan.js';
import { excludedPath, globMatcherByKind, scanLocalDir, treeFromFiles } from '../src/engine/select.js';
import { emptyState } from '../src/engine/state.js';
import { tmpDir, writeTree } from './helpers/tmp.js';

const RUNS = { numRuns: 150, seed: 9 };

/** Names with dots, spaces, unicode, a leading `!` or `#`, case twins, and `blog` beside `blog-post.html`. */
const names = [
  'a',
  'A',
  'b.txt',
  'B.TXT',
  '.env',
  'my file.txt',
  'café',
  '!x',
  '#y',
  'blog',
  'blog-post.html',
];
const segment = fc.constantFrom(...names);
const filePath = fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => s.join('/'));

/** A tree: no path is both a file and a folder. */
const tree = fc.uniqueArray(filePath, { maxLength: 10 }).map((paths) => {
  const out: string[] = [];
  for (const p of paths) {
    const clash = out.some((q) => q.startsWith(`${p}/`) || p.startsWith(`${q}/`) || q === p);
    if (!clash) out.push(p);
  }
  return out;
});

type Form = 'name' | 'dir' | 'top' | 'below' | 'any' | 'ext';
interface Glob {
  form: Form;
  name: string;
  negate: boolean;
}
/** The glob as a user writes it (a leading `!` of a name escaped, as the README says). */
function written(g: Glob): string {
  const n = g.name.startsWith('!') ? `\\${g.name}` : g.name;
  const body = {
    name: n,
    dir: `${n}/`,
    top: `/${n}`,
    below: `${g.name}/**`,
    any: `**/${g.name}`,
    ext: `*.${g.name}`,
  }[g.form];
  return `${g.negate ? '!' : ''}${body}`;
}
const globArb = fc.oneof(
  fc.record({
    form: fc.constantFrom<Form>('name', 'dir', 'top', 'below', 'any'),
    name: fc.constantFrom(...names.filter((n) => n !== '!x')), // `!x/**`: a negation, not a name
    negate: fc.boolean(),
  }),
  fc.record({
    form: fc.constant<Form>('ext'),
    name: fc.constantFrom('txt', 'TXT', 'html'),
    negate: fc.boolean(),
  }),
);

/** Does the glob (its body, without `!`) name the path itself, per the README / .gitignore? */
function names_(g: Glob, p: string, isDir: boolean): boolean {
  const segs = p.split('/');
  const last = segs[segs.length - 1];
  switch (g.form) {
    case 'name':
    case 'any':
      return last === g.name;
    case 'dir':
      return isDir && last === g.name;
    case 'top':
      return p === g.name;
    case 'below':
      // (`d/**` names the folder `d` itself too, where .gitignore would not; never a file named `d`.)
      return (isDir && p === g.name) || p.startsWith(`${g.name}/`);
    case 'ext':
      return last.endsWith(`.${g.name}`);
  }
}
/** .gitignore: the last glob naming a path decides; a path inside an excluded folder is out whatever follows. */
function modelExcluded(globs: Glob[], p: string): boolean {
  const segs = p.split('/');
  for (let i = 1; i <= segs.length; i++) {
    const q = segs.slice(0, i).join('/');
    let out = false;
    for (const g of globs) if (names_(g, q, i < segs.length)) out = !g.negate;
    if (out) return true;
  }
  return false;
}

describe('--exclude on a random local tree, every glob form the README documents', () => {
  it('the walk selects exactly the files .gitignore semantics leave in', async () => {
    await fc.assert(
      fc.asyncProperty(tree, fc.array(globArb, { minLength: 1, maxLength: 4 }), async (paths, globs) => {
        const root = tmpDir();
        writeTree(root, Object.fromEntries(paths.map((p) => [p, 'x'])));
        // The walk's excludes: a path is out when it or a folder above it is excluded (excludedPath says so
        // for the state's paths; the walk never enters an excluded folder).
        const t = await scanLocalDir(root, excludedPath(globs.map(written)));
        await t.hashed;
        const want = paths.filter((p) => !modelExcluded(globs, p)).sort();
        expect({ globs: globs.map(written), files: [...t.files.keys()].sort() }).toEqual({
          globs: globs.map(written),
          files: want,
        });
      }),
      RUNS,
    );
  });
});

const planOptions = (o: Partial<PlanOptions>): PlanOptions => ({
  delete: true,
  atomic: true,
  isKept: () => false,
  reserved: new Set(),
  resumeThreshold: Infinity,
  ...o,
});

describe('--keep and --exclude on deletions (G3)', () => {
  it('a deployed file gone locally is deleted unless a keep glob or an exclude names it (path-segment aware)', () => {
    fc.assert(
      fc.property(
        tree,
        fc.array(globArb, { maxLength: 3 }),
        fc.array(
          globArb.filter((g) => !g.negate),
          { maxLength: 2 },
        ),
        (deployed, keep, exclude) => {
          const state = emptyState('s');
          for (const p of deployed) state.files[p] = { size: 1, sha256: '0'.repeat(64) };
          state.dirs = [
            ...new Set(
              deployed.flatMap((p) =>
                p
                  .split('/')
                  .slice(0, -1)
                  .map((_s, i, a) => a.slice(0, i + 1).join('/')),
              ),
            ),
          ];
          const plan = planChanges(
            treeFromFiles([]),
            state,
            planOptions({
              isKept: globMatcherByKind(keep.map(written)),
              isExcluded: exclude.length ? excludedPath(exclude.map(written)) : undefined,
            }),
          );
          // Keep: the last glob naming the path or a folder above it decides (inside a kept folder too). As in
          // .gitignore, `d/` and `d/**` name a folder `d` (and what it holds), not a file `d`.
          const kept = (p: string): boolean => {
            const segs = p.split('/');
            let k = false;
            for (const g of keep)
              for (let i = 1; i <= segs.length; i++)
                if (names_(g, segs.slice(0, i).join('/'), i < segs.length)) k = !g.negate;
            return k;
          };
          const want = deployed.filter((p) => !kept(p) && !modelExcluded(exclude, p)).sort();
          expect({
            keep: keep.map(written),
            exclude: exclude.map(written),
            deletes: [...plan.deletes].sort(),
          }).toEqual({
            keep: keep.map(written),
            exclude: exclude.map(written),
            deletes: want,
          });
        },
      ),
      RUNS,
    );
  });
});
