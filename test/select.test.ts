// Local side of the engine without a server: listing, background hashing, whole-file reads.
import { describe, expect, test } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import { resumable, tempPathFor } from '../src/engine/plan.js';
import { readSource } from '../src/engine/remote.js';
import { HashThread, prestartHashWorker, type HashResult } from '../src/engine/hash-worker.js';
import {
  globAdvice,
  globMeantByRegex,
  globMatcher,
  globMatcherByKind,
  globMeantBySlashes,
  hashFile,
  scanLocalDir,
  treeFromFiles,
} from '../src/engine/select.js';
import { bytes, sha256, tmpDir, writeTree } from './helpers/tmp.js';

const none = (): boolean => false;

describe('scanLocalDir', () => {
  test('lists every file at once; each hash follows in the background', async () => {
    const root = tmpDir();
    const files: Record<string, Buffer> = {
      'z.txt': bytes(10, 1),
      'a/b/deep.txt': bytes(3000, 2),
      'a/mid.bin': bytes(2 * 1024 * 1024, 3),
      'top.html': bytes(5000, 4),
    };
    writeTree(root, files);
    const tree = await scanLocalDir(root, none);
    expect([...tree.files.keys()].sort()).toEqual(Object.keys(files).sort());
    await tree.hashed;
    expect(tree.hashedOn).toBe('worker thread');
    for (const [rel, content] of Object.entries(files)) {
      const f = tree.files.get(rel);
      expect(f?.sha256).toBe(sha256(content));
      expect(f?.size).toBe(content.length);
    }
    // Each file's stamp (size, mtime, ctime) is kept: the upload refuses a file that changed since.
    const stat = fs.statSync(path.join(root, 'top.html'));
    expect(tree.files.get('top.html')?.stamp).toBe(`${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`);
  });
});

describe('the main thread helping with the hashes', () => {
  const manyFiles = (n: number): Record<string, Buffer> =>
    Object.fromEntries(Array.from({ length: n }, (_, i) => [`d${i % 7}/f${i}.bin`, bytes(4096 + i, i + 1)]));

  test('finishHashing: the main thread takes files from the end while the worker goes from the front; each file hashed once, right', async () => {
    const root = tmpDir();
    const files = manyFiles(150);
    writeTree(root, files);
    const tree = await scanLocalDir(root, none);
    await tree.finishHashing(); // at once: the worker is still booting, so the main thread takes a share
    expect(tree.hashedOn).toBe('worker thread');
    expect(tree.hashedByMain).toBeGreaterThan(0);
    expect(tree.hashedByMain).toBeLessThanOrEqual(150);
    for (const [rel, content] of Object.entries(files))
      expect(tree.files.get(rel)?.sha256).toBe(sha256(content));
  });

  test('pauseHashing: the main thread stops after the file in hand, and the worker hashes the rest', async () => {
    const root = tmpDir();
    const files = manyFiles(60);
    writeTree(root, files);
    const tree = await scanLocalDir(root, none);
    void tree.finishHashing();
    tree.pauseHashing(); // the loop has one file in hand at most
    await tree.hashed;
    expect(tree.hashedByMain ?? 0).toBeLessThanOrEqual(1);
    for (const [rel, content] of Object.entries(files))
      expect(tree.files.get(rel)?.sha256).toBe(sha256(content));
  });

  test('a large file is left to the worker: a pause never waits for a long hash on the main thread', async () => {
    const root = tmpDir();
    const big = path.join(root, 'big.bin');
    fs.closeSync(fs.openSync(big, 'w'));
    fs.truncateSync(big, 6 * 1024 * 1024); // sparse: over the main thread's 4 MiB limit
    const tree = await scanLocalDir(root, none);
    await tree.finishHashing(); // the worker is still booting, yet the main thread does not take it
    expect(tree.hashedByMain ?? 0).toBe(0);
    expect(tree.files.get('big.bin')?.sha256).toBe(sha256(Buffer.alloc(6 * 1024 * 1024)));
  });

  test('HashThread: a job the main thread claimed first is never hashed by the worker, nor anything after it in its chunk', async () => {
    const root = tmpDir();
    writeTree(root, { 'a.txt': 'a', 'b.txt': 'b', 'c.txt': 'c', 'd.txt': 'd' });
    const job = (name: string): { abs: string; stamp: string } => {
      const abs = path.join(root, name);
      const st = fs.statSync(abs);
      return { abs, stamp: `${st.size}:${st.mtimeMs}:${st.ctimeMs}` };
    };
    const got: Array<[number, number, HashResult]> = [];
    const thread = new HashThread((chunk, i, result) => got.push([chunk, i, result]));
    expect(thread.add([job('a.txt'), job('b.txt'), job('c.txt')])).toBe(0);
    expect(thread.add([job('d.txt')])).toBe(1);
    // Claimed while the thread boots (it reads no message before it is up): the tail of chunk 0, all of 1.
    expect(thread.claim(1, 0)).toBe(true);
    expect(thread.claim(0, 2)).toBe(true);
    expect(thread.claim(0, 2)).toBe(false); // a claim is taken once
    thread.finish();
    await thread.done;
    expect(got.map(([c, i]) => `${c}:${i}`).sort()).toEqual(['0:0', '0:1']);
    expect(got.map(([, , r]) => ('sha256' in r ? r.sha256 : r.error))).toEqual([sha256('a'), sha256('b')]);
    expect(thread.claim(0, 0)).toBe(false); // the worker took it
  });
});

describe('a hashing thread started ahead (bin/ftpship.js starts it before loading the CLI)', () => {
  const spare = Symbol.for('ftpship.hashWorker');
  test('the next scan takes it and hashes on it; the one after starts its own', async () => {
    prestartHashWorker();
    expect((globalThis as Record<symbol, unknown>)[spare]).toMatchObject({ worker: expect.anything() });
    const root = tmpDir();
    writeTree(root, { 'a.txt': bytes(5000, 9), 'b/c.bin': bytes(300000, 10) });
    const tree = await scanLocalDir(root, none);
    expect((globalThis as Record<symbol, unknown>)[spare]).toBeUndefined();
    await tree.hashed;
    expect(tree.hashedOn).toBe('worker thread');
    expect(tree.files.get('b/c.bin')?.sha256).toBe(sha256(bytes(300000, 10)));
    const again = await scanLocalDir(root, none);
    await again.hashed;
    expect(again.files.get('a.txt')?.sha256).toBe(sha256(bytes(5000, 9)));
  });

  test('FTPSHIP_HASH_THREAD=0: none is started', () => {
    process.env.FTPSHIP_HASH_THREAD = '0';
    try {
      prestartHashWorker();
      expect((globalThis as Record<symbol, unknown>)[spare]).toBeUndefined();
    } finally {
      delete process.env.FTPSHIP_HASH_THREAD;
    }
  });
});

describe('without a hashing thread', () => {
  test('FTPSHIP_HASH_THREAD=0: the main thread hashes every file', async () => {
    const root = tmpDir();
    writeTree(root, { 'a.txt': bytes(5000, 7), 'b/c.bin': bytes(3 * 1024 * 1024, 8), 'd.txt': 'd' });
    process.env.FTPSHIP_HASH_THREAD = '0';
    try {
      const tree = await scanLocalDir(root, none);
      await tree.hashed;
      expect(tree.files.get('a.txt')?.sha256).toBe(sha256(bytes(5000, 7)));
      expect(tree.files.get('b/c.bin')?.sha256).toBe(sha256(bytes(3 * 1024 * 1024, 8)));
      expect(tree.files.get('d.txt')?.sha256).toBe(sha256('d'));
      expect(tree.hashedOn).toBe('main thread');
      await tree.finishHashing(); // nothing left: settles at once
    } finally {
      delete process.env.FTPSHIP_HASH_THREAD;
    }
  });
});

describe('stopping the hashing', () => {
  test('stopHashing ends the thread at once: a deploy that failed does not wait for the rest of the hashes', async () => {
    const root = tmpDir();
    const big = path.join(root, 'big.bin');
    fs.closeSync(fs.openSync(big, 'w'));
    fs.truncateSync(big, 512 * 1024 * 1024); // sparse: instant to make, about 0.3 s to hash
    const tree = await scanLocalDir(root, none);
    tree.stopHashing?.();
    await expect(tree.hashed).rejects.toThrow(/hashing stopped/);
    await expect(tree.files.get('big.bin')?.hashed).rejects.toThrow(/hashing stopped/);
    expect(tree.files.get('big.bin')?.sha256).toBe('');
  });
});

describe('hashFile', () => {
  test('hashes what the file holds when read, whatever its size when listed, through one reused buffer', async () => {
    const root = tmpDir();
    const big = path.join(root, 'big.bin');
    const small = path.join(root, 'small.bin');
    fs.writeFileSync(big, bytes(3 * 1024 * 1024 + 7, 5));
    fs.writeFileSync(small, bytes(10, 6));
    // Two at once: the shared buffer is used up synchronously after each read.
    const [b, s] = await Promise.all([hashFile(big), hashFile(small)]);
    expect(b).toMatchObject({ sha256: sha256(bytes(3 * 1024 * 1024 + 7, 5)), size: 3 * 1024 * 1024 + 7 });
    expect(s).toMatchObject({ sha256: sha256(bytes(10, 6)), size: 10 });
    fs.writeFileSync(small, '');
    expect(await hashFile(small)).toMatchObject({ sha256: sha256(''), size: 0 });
    await expect(hashFile(path.join(root, 'missing'))).rejects.toThrow(
      /local file .*missing was removed while/,
    );
    // Given the stamp from the listing, a file that no longer has it is refused (the main-thread path).
    await expect(hashFile(small, '1:2:3')).rejects.toThrow(/small\.bin changed while the deploy was running/);
  });

  test('a file written while it is read is refused, not hashed as a mix of two versions (G4)', async () => {
    const root = tmpDir();
    const abs = path.join(root, 'build.js');
    fs.writeFileSync(abs, bytes(3 * 1024 * 1024, 7));
    const st = fs.statSync(abs);
    const stamp = `${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    // After the first MiB is read, the build writes the file again (same size): deterministic, on this thread.
    const readSync = fs.readSync;
    let rewritten = false;
    fs.readSync = ((fd: number, ...rest: unknown[]) => {
      const n = (readSync as (...a: unknown[]) => number)(fd, ...rest);
      if (!rewritten && fs.readlinkSync(`/proc/self/fd/${fd}`) === abs) {
        rewritten = true;
        fs.writeFileSync(abs, bytes(3 * 1024 * 1024, 8));
      }
      return n;
    }) as typeof fs.readSync;
    try {
      await expect(hashFile(abs, stamp)).rejects.toThrow(/build\.js changed while the deploy was running/);
    } finally {
      fs.readSync = readSync;
    }
    expect(rewritten).toBe(true);
  });

  test('HashThread: a file written while the worker reads it is reported changed, not hashed as a mix', async () => {
    const root = tmpDir();
    const abs = path.join(root, 'bundle.bin');
    // Sparse: large enough that the worker is still reading it when this thread sees it open and writes it.
    const fd = fs.openSync(abs, 'w');
    fs.ftruncateSync(fd, 256 * 1024 * 1024);
    fs.closeSync(fd);
    const st = fs.statSync(abs);
    const got: HashResult[] = [];
    const thread = new HashThread((_c, _i, result) => got.push(result));
    thread.add([{ abs, stamp: `${st.size}:${st.mtimeMs}:${st.ctimeMs}` }]);
    thread.finish();
    // The worker opens the file: this thread sees it among the process's open files, and writes one byte.
    const open = (): boolean =>
      fs.readdirSync('/proc/self/fd').some((n) => {
        try {
          return fs.readlinkSync(`/proc/self/fd/${n}`) === abs;
        } catch {
          return false;
        }
      });
    let waited = 0;
    while (!open() && got.length === 0 && waited++ < 1e6);
    fs.writeFileSync(abs, 'x', { flag: 'r+' });
    await thread.done;
    expect(got).toEqual([expect.objectContaining({ code: 'ECHANGED' })]);
  });
});

describe('readSource (the upload side)', () => {
  test('refuses a file that changed after it was listed (its bytes may not match the recorded hash)', async () => {
    const root = tmpDir();
    writeTree(root, { 'a.txt': 'one', 'b.txt': 'two' });
    const tree = await scanLocalDir(root, none);
    await tree.hashed;
    const a = tree.files.get('a.txt');
    const b = tree.files.get('b.txt');
    if (!a || !b) throw new Error('scan lost a file');
    const ok = await readSource(a, 1);
    expect(ok).toMatchObject({ path: path.join(root, 'a.txt'), start: 1 });
    fs.closeSync((ok as { fd: number }).fd);
    fs.writeFileSync(path.join(root, 'b.txt'), 'TWO'); // same size: only mtime/ctime tell
    await expect(readSource(b, 0)).rejects.toThrow(/b\.txt changed while the deploy was running/);
  });
});

describe('resumable (which temp left by a cut run may be continued)', () => {
  const file = { path: 'a/big.bin', size: 10, sha256: 'f'.repeat(64), stamp: '10:1:2' };
  const t = { path: 'a/big.bin', size: 10, sha256: 'f'.repeat(64) };
  test('the same content by hash, or, cut before the hash was known, the same untouched file', () => {
    expect(resumable(t, file)).toBe(true);
    expect(resumable({ ...t, sha256: 'e'.repeat(64) }, file)).toBe(false); // other content
    expect(resumable({ ...t, size: 11 }, file)).toBe(false);
    expect(resumable({ ...t, path: 'b/big.bin' }, file)).toBe(false);
    expect(resumable({ ...t, sha256: '', stamp: '10:1:2' }, file)).toBe(true); // hash not known yet
    expect(resumable({ ...t, sha256: '', stamp: '10:1:3' }, file)).toBe(false); // written since (ctime)
    expect(resumable({ ...t, sha256: '' }, file)).toBe(false); // nothing to tell: never
    expect(resumable(undefined, file)).toBe(false);
  });

  test('temp names differ whenever the content identity differs (a partial temp is never spliced)', () => {
    const byHash = tempPathFor(file);
    expect(tempPathFor({ ...file })).toBe(byHash);
    expect(tempPathFor({ ...file, sha256: 'e'.repeat(64) })).not.toBe(byHash);
    const byStamp = tempPathFor({ ...file, sha256: '' });
    expect(byStamp).not.toBe(byHash);
    expect(tempPathFor({ ...file, sha256: '', stamp: '10:1:3' })).not.toBe(byStamp);
    expect(byStamp).toMatch(/^a\/\.ftpship-[0-9a-f]{20}\.tmp$/);
  });
});

describe('globMatcher (--exclude, --keep)', () => {
  const matches = (globs: string[], paths: string[]): string[] => paths.filter(globMatcher(globs));
  const paths = [
    'a.map',
    'x/b.map',
    'keep.map',
    'vendor/keep.map',
    'index.html',
    'uploads/a.jpg',
    'uploads/tmp/t',
  ];

  test('folder and basename globs match below and at any depth', () => {
    expect(matches(['*.map'], paths)).toEqual(['a.map', 'x/b.map', 'keep.map', 'vendor/keep.map']);
    expect(matches(['uploads/'], paths)).toEqual(['uploads/a.jpg', 'uploads/tmp/t']);
    expect(matches([], paths)).toEqual([]);
  });

  test('!glob takes back what an earlier glob matched; the last match decides', () => {
    expect(matches(['*.map', '!vendor/keep.map'], paths)).toEqual(['a.map', 'x/b.map', 'keep.map']);
    expect(matches(['*.map', '!keep.map'], paths)).toEqual(['a.map', 'x/b.map']);
    expect(matches(['!keep.map', '*.map'], paths)).toEqual([
      'a.map',
      'x/b.map',
      'keep.map',
      'vendor/keep.map',
    ]);
    expect(matches(['uploads/**', '!uploads/tmp/**'], paths)).toEqual(['uploads/a.jpg']);
  });

  test('a lone !glob matches nothing (picomatch alone would read it as "everything else")', () => {
    expect(matches(['!keep.map'], paths)).toEqual([]);
    expect(matches(['!uploads/'], paths)).toEqual([]);
  });

  test('a leading / or ./ anchors the glob at the top (it used to match nothing: the file went up)', () => {
    const files = ['secret.txt', 'a/secret.txt', 'dist/x.js', 'a/dist/y.js'];
    expect(matches(['/secret.txt'], files)).toEqual(['secret.txt']);
    expect(matches(['./secret.txt'], files)).toEqual(['secret.txt']);
    expect(matches(['secret.txt'], files)).toEqual(['secret.txt', 'a/secret.txt']);
    expect(matches(['/dist/'], files)).toEqual(['dist/x.js']);
    expect(matches(['dist/'], files)).toEqual(['dist/x.js', 'a/dist/y.js']);
    expect(matches(['*.txt', '!/secret.txt'], files)).toEqual(['a/secret.txt']);
  });

  test('Windows separators (assets\\secret.txt) also match what they mean; escapes (\\., \\*, \\[) stay escapes', () => {
    const files = [
      'assets/secret.txt',
      'assets/ok.txt',
      'dist/a.map',
      'x/node_modules/y.js',
      'g/*',
      'g/x',
      'a.txt',
    ];
    expect(matches(['assets\\secret.txt'], files)).toEqual(['assets/secret.txt']);
    expect(matches(['\\assets\\secret.txt'], files)).toEqual(['assets/secret.txt']);
    expect(matches(['dist\\*.map'], files)).toEqual(['dist/a.map']);
    expect(matches(['**\\node_modules\\**'], files)).toEqual(['x/node_modules/y.js']);
    expect(matches(['assets\\*', '!assets\\ok.txt'], files)).toEqual(['assets/secret.txt']);
    // A name that holds a backslash (possible on Linux) is still matched by the glob as written.
    expect(matches(['a\\b.txt'], ['a\\b.txt', 'a/b.txt'])).toEqual(['a\\b.txt', 'a/b.txt']);
    // ftpship's own --exclude suggestions escape special characters: those are not separators.
    expect(matches(['/g/\\*'], files)).toEqual(['g/*']);
    expect(matches(['/a\\.txt'], files)).toEqual(['a.txt']);
    expect(globMeantBySlashes('/g/\\*')).toBeUndefined();
    expect(globMeantBySlashes('pages/\\[slug\\]/x')).toBeUndefined();
    expect(globMeantBySlashes('\\.map$')).toBeUndefined(); // a regular expression: globAdvice says so
    expect(globAdvice({ exclude: ['src\\**\\*.map'], keep: [] })).toEqual([
      "the exclude glob 'src\\**\\*.map' separates folders with a backslash, as Windows writes paths, but in a glob a backslash escapes the next character, so it is read as 'src/**/*.map' as well: write 'src/**/*.map'",
    ]);
    // Its `\s` is a separator, not a regular expression's space: one piece of advice, not two.
    expect(globAdvice({ exclude: ['assets\\secret.txt'], keep: [] })).toEqual([
      expect.stringContaining("write 'assets/secret.txt'"),
    ]);
  });

  test('a glob written as a regular expression: the glob meant (a folder stays a folder glob)', () => {
    expect(globMeantByRegex('^logs/')).toBe('logs/');
    expect(globMeantByRegex('^logs/.*')).toBe('logs/*');
    expect(globMeantByRegex('\\.map$')).toBe('*.map');
    expect(globMeantByRegex('!^tmp/')).toBe('!tmp/');
    expect(globMeantByRegex('index.*')).toBeUndefined();
  });

  test('a glob in NFD (pasted from a macOS file name) matches the NFC paths the walk and the state hold', () => {
    const nfd = 'cafe\u0301';
    const nfc = nfd.normalize('NFC');
    expect(matches([`${nfd}/`, `${nfd}.txt`], [`${nfc}/menu.html`, `${nfc}.txt`, 'cafe.txt'])).toEqual([
      `${nfc}/menu.html`,
      `${nfc}.txt`,
    ]);
  });

  test('a trailing slash names folders only, as in .gitignore: `build/` leaves out the folder, not a file named build', () => {
    const isMatch = globMatcherByKind(['build/', '/api/', 'docs']);
    expect(isMatch('build', true)).toBe(true);
    expect(isMatch('build/x.js', false)).toBe(true);
    expect(isMatch('a/build/x.js', false)).toBe(true);
    expect(isMatch('build', false)).toBe(false); // a file
    expect(isMatch('a/build', false)).toBe(false);
    expect(isMatch('build')).toBe(true); // not known: a folder may be meant
    expect(isMatch('api', false)).toBe(false);
    expect(isMatch('api/index.php', false)).toBe(true);
    expect(isMatch('docs', false)).toBe(true); // no slash: a file or a folder
    const negated = globMatcherByKind(['*', '!build/']);
    expect(negated('build', false)).toBe(true);
    expect(negated('build', true)).toBe(false);
  });

  test('the walk: a file named as a folder glob goes up, the folder of that name does not', async () => {
    const root = tmpDir();
    writeTree(root, { build: 'a file', 'sub/build/x.js': 'x', 'api/index.php': 'php', keep: 'k' });
    const tree = await scanLocalDir(root, globMatcherByKind(['build/', '/api/']));
    expect([...tree.files.keys()].sort()).toEqual(['build', 'keep']);
  });

  test('\\! is a literal ! at the start of a name', () => {
    expect(matches(['\\!important.txt'], ['!important.txt', 'important.txt'])).toEqual(['!important.txt']);
  });
});

describe('treeFromFiles (the library, gulp and the Action give a list of files)', () => {
  test('a path that is both a file and the folder of another is refused, in either order, naming both', () => {
    for (const order of [
      ['docs', 'docs/a.html'],
      ['docs/a.html', 'docs'],
    ]) {
      expect(() => treeFromFiles(order.map((p) => ({ path: p, contents: Buffer.from(p) })))).toThrow(
        /^two local files would be "docs" on the server/,
      );
    }
  });
});
