/**
 * Property tests (fast-check) of the state readers: ftpship's `.ftpship-state.json` and FTP-Deploy-Action's
 * `.ftp-deploy-sync-state.json` come from the server, so they are untrusted (a hand edit, a half-written file
 * from another tool, a hostile server). Whatever the text, parseState gives either a state whose every path
 * stays inside the target (G3) and whose values have the types the engine relies on, or a DeployError naming
 * the state file and what to try; never another error, never a hang. A valid state round-trips.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { DeployError } from '../src/engine/errors.js';
import { isRecordablePath } from '../src/engine/paths.js';
import {
  LEFT_TEMP_MS,
  OCTAL_MODE,
  PROBE_NAME,
  TEMP_NAME,
  leftInDay,
  onlyLeftTemps,
  parseState,
  serializeState,
  type DeployState,
  type Pending,
} from '../src/engine/state.js';
import type { FtpEncoding } from '../src/ftp/encoding.js';

const WHERE = '/site/.ftpship-state.json';
const HEX64 = /^[0-9a-f]{64}$/;

/** Runs parseState; a DeployError is an answer, anything else (or a slow call) fails the property. */
function read(text: string, encoding: FtpEncoding = 'utf8'): DeployState | DeployError {
  const t = performance.now();
  let out: DeployState | DeployError;
  try {
    out = parseState(text, WHERE, 'cafe0123cafe0123', encoding);
  } catch (err) {
    if (!(err instanceof DeployError)) throw err;
    out = err;
  }
  const ms = performance.now() - t;
  if (ms > 500) throw new Error(`took ${ms.toFixed(0)} ms (hang?)`);
  return out;
}

/** A refusal names the state file and says what to do (reset, or upgrade for a newer version). */
function expectGoodRefusal(err: DeployError): void {
  expect(err.message).toContain(WHERE);
  expect(err.message).toMatch(/--reset-state|Upgrade ftpship/);
}

const isSize = (n: unknown): boolean => Number.isSafeInteger(n) && (n as number) >= -1;

/** Every path a state read can hand the engine (to delete, replace or remove) is inside the target. */
function expectSafeState(s: DeployState): void {
  const paths: unknown[] = [...Object.keys(s.files), ...s.dirs];
  // No prototype: a local file named `toString` or `constructor` is not taken for one the state lists.
  expect(Object.getPrototypeOf(s.files)).toBeNull();
  expect(typeof s.settings).toBe('string');
  expect(typeof s.updatedAt).toBe('string');
  expect(s.encoding === undefined || s.encoding === 'latin1').toBe(true);
  expect(s.target === undefined || typeof s.target === 'string').toBe(true);
  for (const f of Object.values(s.files)) {
    expect(isSize(f.size)).toBe(true);
    expect(f.sha256).toMatch(HEX64);
  }
  for (const m of Object.values(s.modes ?? {})) expect(m).toMatch(OCTAL_MODE);
  const p = s.pending;
  if (p) {
    paths.push(...p.uncertain, ...(p.dirs ?? []), ...(p.markerDirs ?? []), ...(p.probes ?? []));
    if (p.maintenance !== undefined) paths.push(p.maintenance);
    for (const probe of p.probes ?? []) expect(probe.slice(probe.lastIndexOf('/') + 1)).toMatch(PROBE_NAME);
    for (const [name, t] of Object.entries(p.temps)) {
      paths.push(name, t.path);
      expect(name.slice(name.lastIndexOf('/') + 1)).toMatch(TEMP_NAME);
      expect(isSize(t.size)).toBe(true);
      expect(t.sha256 === '' || HEX64.test(t.sha256)).toBe(true);
      expect(t.stamp === undefined || typeof t.stamp === 'string').toBe(true);
      expect(t.committing === undefined || typeof t.committing === 'boolean').toBe(true);
      expect(t.left === undefined || typeof t.left === 'string').toBe(true);
    }
  }
  for (const path of paths) {
    expect(typeof path).toBe('string');
    expect(isRecordablePath(path as string)).toBe(true);
  }
}

function expectSafe(out: DeployState | DeployError): void {
  if (out instanceof DeployError) expectGoodRefusal(out);
  else expectSafeState(out);
}

// ---- generators ----

const hex = (n: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n });

/** A name segment as sites have them (latin1-only when `narrow`: a latin1 state can hold no other). */
const segment = (narrow: boolean): fc.Arbitrary<string> =>
  fc.oneof(
    fc.constantFrom(
      'index.html',
      'a',
      'B',
      '__proto__',
      'constructor',
      'toString',
      '.htaccess',
      'x y',
      'café',
    ),
    fc
      .string({ unit: narrow ? 'binary-ascii' : 'grapheme', minLength: 1, maxLength: 6 })
      .map((s) => s.replace(/[/\\\r\n\0]/g, '_'))
      .filter((s) => s !== '.' && s !== '..'),
  );

const safePath = (narrow = false): fc.Arbitrary<string> =>
  fc.array(segment(narrow), { minLength: 1, maxLength: 4 }).map((s) => s.join('/'));

const fileEntry = fc.record({ size: fc.integer({ min: 0, max: 2 ** 40 }), sha256: hex(64) });

const validState = (narrow: boolean): fc.Arbitrary<DeployState> =>
  fc
    .record(
      {
        files: fc.dictionary(safePath(narrow), fileEntry, { maxKeys: 6 }),
        dirs: fc.uniqueArray(safePath(narrow), { maxLength: 4 }),
        target: fc.constantFrom('/site', '/'),
        modes: fc.record({ file: fc.constantFrom('644', '0640'), dir: fc.constantFrom('755') }),
        ftpDeployAction: fc.record({ sha256: hex(16), stamp: fc.constant('123 20240101') }),
        temps: fc.array(
          fc.tuple(
            fc.option(safePath(narrow), { nil: '' }),
            segment(narrow),
            hex(20),
            fc.nat(),
            fc.boolean(),
          ),
        ),
        uncertain: fc.array(safePath(narrow), { maxLength: 3 }),
        probes: fc.array(fc.tuple(hex(12), fc.constantFrom(' ', '.')), { maxLength: 2 }),
        maintenance: safePath(narrow),
        latin1: fc.boolean(),
      },
      { requiredKeys: ['files', 'dirs', 'temps', 'uncertain', 'latin1'] },
    )
    .map((r) => {
      // As ftpship writes them: no path both a file and a folder, nothing inside a file (else refused).
      const inFile = (p: string): boolean => Object.keys(r.files).some((f) => p.startsWith(`${f}/`));
      const files = Object.fromEntries(Object.entries(r.files).filter(([p]) => !inFile(p)));
      const s: DeployState = {
        version: 1,
        generator: 'ftpship',
        settings: 'cafe0123cafe0123',
        updatedAt: '2024-01-01T00:00:00.000Z',
        files,
        dirs: r.dirs.filter((d) => !Object.hasOwn(r.files, d) && !inFile(d)),
      };
      if (r.target !== undefined) s.target = r.target;
      if (r.modes !== undefined) s.modes = r.modes;
      if (r.ftpDeployAction !== undefined) s.ftpDeployAction = r.ftpDeployAction;
      if (narrow && r.latin1) s.encoding = 'latin1';
      if (r.temps.length || r.uncertain.length || r.probes || r.maintenance) {
        s.pending = { temps: {}, uncertain: r.uncertain };
        for (const [dir, name, h, size, known] of r.temps) {
          const at = (n: string): string => (dir ? `${dir}/${n}` : n);
          s.pending.temps[at(`.ftpship-${h}.tmp`)] = {
            path: at(name),
            size,
            sha256: known ? 'f'.repeat(64) : '',
          };
        }
        if (r.probes) s.pending.probes = r.probes.map(([h, end]) => `ftpship-name-test-${h}${end}`);
        if (r.maintenance) s.pending.maintenance = r.maintenance;
      }
      return s;
    });

/** Stands for a number JSON.parse reads as Infinity (JSON.stringify cannot write one): see {@link asText}. */
const HUGE = '<1e400>';
const asText = (v: unknown): string =>
  JSON.stringify(v).replace(/"(-?)<1e400>"/g, (_, sign: string) => `${sign}1e400`);

/** Values that break a type or a path: every class the reader must refuse (or, where harmless, drop). */
const hostileValue = fc.oneof(
  fc.constantFrom<unknown>(
    null,
    true,
    0,
    -1,
    -2,
    1.5,
    HUGE,
    `-${HUGE}`,
    2 ** 60,
    '',
    'x',
    [],
    {},
    { size: 1 },
    { size: -5, sha256: 'a'.repeat(64) },
    { size: 1, sha256: 'A'.repeat(64) },
    { size: 1, sha256: 'zz' },
    '..',
    '../x',
    'a/../../x',
    '/etc/passwd',
    '//x',
    'a//b',
    'a/./b',
    'a\\..\\..\\x',
    '..\\x',
    '\\x',
    'a\r\nb',
    'a\0b',
    'a/',
    './a',
    'e\u0301',
    'x\u0100',
    '\ud800',
    { __proto__: 'x' },
  ),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.anything({ maxDepth: 2 }),
);

/** Where a hostile value goes: a key path into the state as JSON (created if missing). */
const place = fc.constantFrom<string[]>(
  ['version'],
  ['generator'],
  ['settings'],
  ['updatedAt'],
  ['target'],
  ['encoding'],
  ['files'],
  ['files', '*'],
  ['files', '*', 'size'],
  ['files', '*', 'sha256'],
  ['files', '@'],
  ['dirs'],
  ['dirs', '#'],
  ['modes'],
  ['modes', 'file'],
  ['ftpDeployAction'],
  ['ftpDeployAction', 'stamp'],
  ['pending'],
  ['pending', 'temps'],
  ['pending', 'temps', '*'],
  ['pending', 'temps', '*', 'path'],
  ['pending', 'temps', '*', 'size'],
  ['pending', 'temps', '*', 'sha256'],
  ['pending', 'temps', '*', 'stamp'],
  ['pending', 'temps', '*', 'committing'],
  ['pending', 'temps', '*', 'left'],
  ['pending', 'temps', '@'],
  ['pending', 'uncertain'],
  ['pending', 'uncertain', '#'],
  ['pending', 'dirs', '#'],
  ['pending', 'markerDirs', '#'],
  ['pending', 'probes', '#'],
  ['pending', 'maintenance'],
);

/**
 * Sets `value` at `keys` in `obj` (JSON data): '*' is an existing key (or a new one), '@' a new key named by
 * the value when it is a string, '#' an array item.
 */
function mutate(obj: Record<string, unknown>, keys: string[], value: unknown, pick: number): void {
  let at: Record<string, unknown> = obj;
  for (let i = 0; i < keys.length; i++) {
    const last = i === keys.length - 1;
    let k = keys[i];
    if (k === '#') {
      if (!Array.isArray(at)) return;
      const arr = at as unknown[];
      arr.splice(pick % (arr.length + 1), 0, value);
      return;
    }
    if (k === '*') {
      const ks = Object.keys(at);
      k = ks.length ? ks[pick % ks.length] : 'a';
    }
    if (k === '@') {
      if (typeof value === 'string') at[value] = { size: 1, sha256: 'b'.repeat(64) };
      return;
    }
    if (last) {
      Object.defineProperty(at, k, { value, enumerable: true, writable: true, configurable: true });
      return;
    }
    const next = at[k];
    if (typeof next !== 'object' || next === null) {
      if (keys[i + 1] === '#') at[k] = [];
      else at[k] = {};
    }
    at = at[k] as Record<string, unknown>;
  }
}

describe('ftpship state reader (parseState)', () => {
  it('a valid state round-trips through serializeState unchanged (but for its time)', () => {
    fc.assert(
      fc.property(
        fc.boolean().chain((narrow) => validState(narrow)),
        (s) => {
          const copy = JSON.parse(JSON.stringify(s)) as DeployState;
          const out = read(serializeState(s), s.encoding ?? 'utf8');
          expect(out).not.toBeInstanceOf(Error);
          expectSafeState(out as DeployState);
          expect({ ...(out as DeployState), updatedAt: copy.updatedAt }).toEqual(copy);
        },
      ),
      { numRuns: 300, seed: 9 },
    );
  });

  it('a mutated state is read safely or refused with the file named and what to try, under either encoding', () => {
    fc.assert(
      fc.property(
        fc.boolean().chain((narrow) => validState(narrow)),
        fc.array(fc.tuple(place, hostileValue, fc.nat()), { minLength: 1, maxLength: 3 }),
        fc.constantFrom<FtpEncoding>('utf8', 'latin1'),
        (s, edits, encoding) => {
          const obj = JSON.parse(JSON.stringify(s)) as Record<string, unknown>;
          for (const [keys, value, pick] of edits) mutate(obj, keys, value, pick);
          expectSafe(read(asText(obj), encoding));
        },
      ),
      { numRuns: 1500, seed: 9 },
    );
  });

  it('a latin1 state naming a character latin1 cannot hold is refused as a damaged state, not a send error', () => {
    fc.assert(
      fc.property(
        validState(true),
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 4 }).filter((x) => /[^\x00-\xFF]/.test(x)), // eslint-disable-line no-control-regex
        fc.constantFrom('files', 'dirs', 'uncertain', 'target'),
        fc.constantFrom<FtpEncoding>('utf8', 'latin1'),
        (s, wide, where, encoding) => {
          const obj = JSON.parse(JSON.stringify({ ...s, encoding: 'latin1' })) as DeployState;
          const name = `x${wide.replace(/[/\\\r\n\0]/g, '_')}`;
          if (where === 'files') obj.files[name] = { size: 1, sha256: 'c'.repeat(64) };
          else if (where === 'dirs') obj.dirs.push(name);
          else if (where === 'target') obj.target = `/${name}`;
          else obj.pending = { temps: {}, uncertain: [name] };
          const out = read(JSON.stringify(obj), encoding);
          expect(out).toBeInstanceOf(DeployError);
          expectGoodRefusal(out as DeployError);
        },
      ),
      { numRuns: 200, seed: 9 },
    );
  });

  it('text that is not a state (garbage, BOM, trailing bytes, cut JSON, deep nesting) is refused, fast', () => {
    const deep = (n: number): string => `${'['.repeat(n)}${']'.repeat(n)}`;
    fc.assert(
      fc.property(
        validState(false).map((s) => serializeState(s)),
        fc.oneof(
          fc.constant((t: string) => `\ufeff${t}`),
          fc.constant((t: string) => `${t}}garbage`),
          fc.nat().map((n) => (t: string) => t.slice(0, n % t.length)),
          fc.constant((t: string) => t.replace('{', '{"target":' + deep(50_000) + ',')),
          fc.constant((t: string) => t.replace(/"files": \{/, `"files": {"a": ${deep(50_000)},`)),
          fc.constant(() => deep(100_000)),
          fc.constant((t: string) => t.replace(/"dirs": \[/, '"dirs": ["caf\uFFFD",')),
        ),
        (text, edit) => {
          const out = read(edit(text));
          expectSafe(out);
        },
      ),
      { numRuns: 200, seed: 9 },
    );
  });
});

// ---- FTP-Deploy-Action's state ----

const fdaRecord = fc.oneof(
  fc.record({
    type: fc.constant('file'),
    name: safePath().map((p) => `./${p}`),
    size: fc.nat(),
    hash: hex(64),
  }),
  fc.record({ type: fc.constant('folder'), name: safePath().map((p) => `./${p}/`) }),
);

/** As that tool writes them: no path both a file and a folder, nothing inside a file (else refused). */
const fdaShaped = (data: Array<{ type: string; name: string }>): Array<{ type: string; name: string }> => {
  const bare = (n: string): string => n.replace(/^\.\//, '').replace(/\/$/, '');
  const files = data.filter((r) => r.type === 'file').map((r) => bare(r.name));
  const inFile = (p: string): boolean => files.some((f) => p.startsWith(`${f}/`));
  return data.filter((r) => !inFile(bare(r.name)) && (r.type === 'file' || !files.includes(bare(r.name))));
};

describe("FTP-Deploy-Action's state reader (parseState on .ftp-deploy-sync-state.json)", () => {
  it('a valid FTP-Deploy-Action state is read with every file and folder it lists', () => {
    fc.assert(
      fc.property(fc.array(fdaRecord, { maxLength: 8 }).map(fdaShaped), (data) => {
        const out = read(JSON.stringify({ description: 'x', version: '1.0.0', generatedTime: 1, data }));
        expect(out).not.toBeInstanceOf(Error);
        const s = out as DeployState;
        expectSafeState(s);
        for (const r of data) {
          const name = r.name.replace(/^\.\//, '').replace(/\/$/, '');
          if (r.type === 'folder') expect(s.dirs).toContain(name);
          else expect(s.files[name]).toBeDefined();
        }
      }),
      { numRuns: 300, seed: 9 },
    );
  });

  it('mutated records are read safely (a bad size becomes unknown) or refused with the file named', () => {
    fc.assert(
      fc.property(
        fc.array(fdaRecord, { maxLength: 5 }),
        fc.array(
          fc.tuple(
            fc.nat(),
            fc.constantFrom('type', 'name', 'size', 'hash', '__proto__', 'whole'),
            hostileValue,
          ),
          { minLength: 1, maxLength: 3 },
        ),
        (data, edits) => {
          const recs = JSON.parse(JSON.stringify(data)) as unknown[];
          for (const [i, key, value] of edits) {
            if (key === 'whole' || recs.length === 0) recs.splice(i % (recs.length + 1), 0, value);
            else {
              const r = recs[i % recs.length] as Record<string, unknown>;
              if (typeof r === 'object' && r !== null)
                Object.defineProperty(r, key, {
                  value,
                  enumerable: true,
                  writable: true,
                  configurable: true,
                });
            }
          }
          expectSafe(read(asText({ data: recs })));
        },
      ),
      { numRuns: 1000, seed: 9 },
    );
  });
});

/** A state as ftpship writes it, with `extra` merged in (sections replaced whole). */
function stateText(extra: Record<string, unknown>): string {
  return JSON.stringify({
    version: 1,
    generator: 'ftpship',
    settings: 'cafe0123cafe0123',
    updatedAt: '2024-01-01T00:00:00.000Z',
    files: { 'a.html': { size: 1, sha256: 'a'.repeat(64) } },
    dirs: [],
    ...extra,
  });
}

const TEMP = `.ftpship-${'0'.repeat(20)}.tmp`;

describe('state reader: single cases the properties above reach rarely (found by a mutation audit)', () => {
  it.each([
    { title: 'a file size under -1', extra: { files: { a: { size: -2, sha256: 'a'.repeat(64) } } } },
    {
      title: "a temp's size under -1",
      extra: { pending: { uncertain: [], temps: { [TEMP]: { path: 'a.html', size: -2, sha256: '' } } } },
    },
    {
      title: 'a temp for a file in another folder (its rename would move the file)',
      extra: {
        pending: { uncertain: [], temps: { [`d/${TEMP}`]: { path: 'e/a.html', size: 1, sha256: '' } } },
      },
    },
    {
      title: 'an FTP-Deploy-Action fingerprint that is not 16 hex digits',
      extra: { ftpDeployAction: { sha256: 'x' } },
    },
    { title: 'a folder two levels inside a file', extra: { dirs: ['a.html/b/c'] } },
    {
      title: 'a file two levels inside a file',
      extra: {
        files: { a: { size: 1, sha256: 'a'.repeat(64) }, 'a/b/c': { size: 1, sha256: 'b'.repeat(64) } },
      },
    },
  ])('refuses $title', ({ extra }) => {
    const out = read(stateText(extra));
    expect(out).toBeInstanceOf(DeployError);
    expectGoodRefusal(out as DeployError);
  });

  it("FTP-Deploy-Action's own state file, listed in its data, is not taken for a file of the site", () => {
    const hash = 'c'.repeat(64);
    const text = JSON.stringify({
      data: [
        { type: 'file', name: '.ftp-deploy-sync-state.json', size: 10, hash },
        { type: 'file', name: 'index.html', size: 5, hash },
      ],
    });
    const s = parseState(text, '/www/.ftp-deploy-sync-state.json', 'cafe0123cafe0123');
    expect(Object.keys(s.files)).toEqual(['index.html']);
  });

  it('a state recorded in latin1, read in UTF-8, translates every path it lists, pending ones too', () => {
    const probe = `café/ftpship-name-test-${'0'.repeat(12)}.`;
    const s = parseState(
      stateText({
        encoding: 'latin1',
        dirs: ['café'],
        pending: { uncertain: ['café/u'], temps: {}, markerDirs: ['café'], dirs: ['café'], probes: [probe] },
      }),
      WHERE,
      'cafe0123cafe0123',
      'utf8',
    );
    const cafe = s.dirs[0];
    expect(cafe).not.toBe('café'); // the bytes it was sent as, read in UTF-8 (its é one byte)
    expect(s.pending?.uncertain).toEqual([`${cafe}/u`]);
    expect(s.pending?.markerDirs).toEqual([cafe]);
    expect(s.pending?.dirs).toEqual([cafe]);
    expect(s.pending?.probes).toEqual([`${cafe}/ftpship-name-test-${'0'.repeat(12)}.`]);
  });
});

describe('temps left to another server session', () => {
  const at = (msAgo: number): string => new Date(Date.now() - msAgo).toISOString();

  it('are looked for within a day of being left, not after, and never with an unreadable time', () => {
    const temp = { path: 'a', size: 1, sha256: '' };
    expect(leftInDay({ ...temp, left: at(LEFT_TEMP_MS - 60_000) })).toBe(true);
    expect(leftInDay({ ...temp, left: at(LEFT_TEMP_MS + 60_000) })).toBe(false);
    expect(leftInDay({ ...temp, left: 'not a time' })).toBe(false);
    expect(leftInDay(temp)).toBe(false);
  });

  it('pending work that is only such temps (one at least) holds no file in flux; anything else does', () => {
    const left = { path: 'a', size: 1, sha256: '', left: at(0) };
    const only: Pending = { temps: { [TEMP]: left }, uncertain: [] };
    expect(onlyLeftTemps(only)).toBe(true);
    expect(onlyLeftTemps({ temps: {}, uncertain: [] })).toBe(false);
    expect(onlyLeftTemps({ ...only, uncertain: ['b'] })).toBe(false);
    expect(onlyLeftTemps({ ...only, dirs: ['d'] })).toBe(false);
    expect(onlyLeftTemps({ ...only, maintenance: 'm' })).toBe(false);
    expect(
      onlyLeftTemps({
        ...only,
        temps: { ...only.temps, [`d/${TEMP}`]: { path: 'd/a', size: 1, sha256: '' } },
      }),
    ).toBe(false);
    expect(onlyLeftTemps({ ...only, dirs: [], probes: [] })).toBe(true);
  });
});
