// Local side of the engine without a server: listing, background hashing, whole-file reads.
import { describe, expect, test } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import { readWhole, scanLocalDir } from '../src/engine/select.js';
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
    const tree = await scanLocalDir(root, none, { hashFirst: (f) => f.size >= 1024 * 1024 });
    expect([...tree.files.keys()].sort()).toEqual(Object.keys(files).sort());
    await tree.hashed;
    for (const [rel, content] of Object.entries(files)) {
      const f = tree.files.get(rel);
      expect(f?.sha256).toBe(sha256(content));
      expect(f?.size).toBe(content.length);
    }
    // Small files keep the bytes read for hashing, so the upload does not read them again.
    expect(tree.files.get('top.html')?.cache?.equals(files['top.html'])).toBe(true);
    expect(tree.files.get('a/mid.bin')?.cache).toBeUndefined();
  });
});

describe('readWhole', () => {
  test('reads the current content whether the file grew or shrank since it was listed', () => {
    const root = tmpDir();
    const file = path.join(root, 'f.bin');
    fs.writeFileSync(file, bytes(100_000, 5));
    expect(readWhole(file, 100_000).equals(bytes(100_000, 5))).toBe(true);
    expect(readWhole(file, 10).equals(bytes(100_000, 5))).toBe(true); // grew
    expect(readWhole(file, 500_000).equals(bytes(100_000, 5))).toBe(true); // shrank
    fs.writeFileSync(file, '');
    expect(readWhole(file, 0)).toHaveLength(0);
  });
});
