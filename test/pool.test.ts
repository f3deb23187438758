/**
 * forEachLimit, which runs the pool's queues (uploads, deletes, renames, the spot check): at most `limit` items at
 * once, and no new item once one has failed (a refused upload stops the queue, not only its own connection).
 */
import { describe, expect, it } from '@jest/globals';
import { forEachLimit } from '../src/engine/pool.js';

describe('forEachLimit', () => {
  it('runs at most `limit` items at once; after the first failure starts no more, and throws that failure', async () => {
    const started: number[] = [];
    let running = 0;
    let most = 0;
    const items = Array.from({ length: 20 }, (_, i) => i);
    const run = forEachLimit(items, 3, async (i) => {
      started.push(i);
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      if (i === 4) throw new Error('refused: 4');
      if (i === 5) throw new Error('refused: 5, after 4');
    });
    await expect(run).rejects.toThrow('refused: 4');
    expect(most).toBe(3);
    // Three at a time: 0-2, then 3-5, of which 4 fails; at most one more began before the failure was known.
    expect(Math.max(...started)).toBeLessThanOrEqual(6);
  });

  it('every item once when none fails, in order of start', async () => {
    const seen: number[] = [];
    await forEachLimit([0, 1, 2, 3, 4], 2, async (i) => {
      seen.push(i);
      await new Promise((r) => setTimeout(r, 1));
    });
    expect(seen).toEqual([0, 1, 2, 3, 4]);
  });
});
