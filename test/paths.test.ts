/**
 * The path helpers the engine decides with: which paths are inside a folder (segment by segment: `blog/` and
 * `blog-post.html` are unrelated), the order folders are made in, what a state may record, and the advice
 * given for a name a server refused. Cases found by a mutation audit of paths.ts (each failed with its mutant).
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  ancestorsOf,
  atOrUnder,
  byDepthThenName,
  excludeOption,
  isRecordablePath,
  nameTooLong,
  NAME_MAX_BYTES,
  remoteJoin,
} from '../src/engine/paths.js';

describe('atOrUnder', () => {
  it('is the folder itself or a path inside it, by whole segments', () => {
    expect(atOrUnder('blog', 'blog')).toBe(true);
    expect(atOrUnder('blog/post.html', 'blog')).toBe(true);
    expect(atOrUnder('blog-post.html', 'blog')).toBe(false);
    expect(atOrUnder('blog2/post.html', 'blog')).toBe(false);
    expect(atOrUnder('blo', 'blog')).toBe(false);
  });

  it('holds exactly when the folder is the path or one of its ancestors', () => {
    const seg = fc.constantFrom('a', 'ab', 'a-b', 'b', 'a.b');
    const rel = fc.array(seg, { minLength: 1, maxLength: 4 }).map((s) => s.join('/'));
    fc.assert(
      fc.property(rel, rel, (p, d) => {
        expect(atOrUnder(p, d)).toBe(p === d || ancestorsOf(p).includes(d));
      }),
      { numRuns: 500, seed: 3 },
    );
  });
});

describe('byDepthThenName', () => {
  it('orders shallow paths first, then by name, so that any input order gives the same list', () => {
    const paths = ['b/c', 'a', 'b', 'a/z', 'a/b', 'c'];
    const sorted = ['a', 'b', 'c', 'a/b', 'a/z', 'b/c'];
    expect([...paths].sort(byDepthThenName)).toEqual(sorted);
    expect([...paths].reverse().sort(byDepthThenName)).toEqual(sorted);
  });
});

describe('remoteJoin', () => {
  it('joins a folder and a relative path; an empty one is the folder itself, with no slash after it', () => {
    expect(remoteJoin('/site', 'a/b')).toBe('/site/a/b');
    expect(remoteJoin('/', 'a')).toBe('/a');
    expect(remoteJoin('/site', '')).toBe('/site');
    expect(remoteJoin('/', '')).toBe('/');
  });
});

describe('isRecordablePath', () => {
  it('takes a local name holding a backslash, unless, read as a separator, it leaves the target', () => {
    expect(isRecordablePath('docs/a\\b.txt')).toBe(true);
    expect(isRecordablePath('a\\..\\..\\x')).toBe(false);
    expect(isRecordablePath('\\x')).toBe(false);
    expect(isRecordablePath('a\\')).toBe(false);
  });
});

describe('nameTooLong', () => {
  it('counts the bytes of the last segment in UTF-8, up to the limit inclusive', () => {
    expect(nameTooLong(`d/${'x'.repeat(NAME_MAX_BYTES)}`)).toBe('');
    expect(nameTooLong(`d/${'x'.repeat(NAME_MAX_BYTES + 1)}`)).toMatch(/its name is 256 bytes long/);
    // 128 characters, 256 bytes.
    expect(nameTooLong('é'.repeat(128))).toMatch(/its name is 256 bytes long \(UTF-8\)/);
    expect(nameTooLong(`${'x'.repeat(300)}/short`)).toBe('');
  });
});

describe('excludeOption', () => {
  it("quotes a name holding a single quote for a shell, and writes DEL as an escape inside bash's $'…'", () => {
    expect(excludeOption("it's.txt")).toBe(`--exclude '/it'\\''s\\.txt'`);
    expect(excludeOption('a\x7fb')).toBe(`--exclude $'/a\\x7fb'`);
    expect(excludeOption('a\tb')).toBe(`--exclude $'/a\\tb'`);
  });
});
