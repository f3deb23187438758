/**
 * deploy() in a long-lived process: a script deploying many sites at once, or a dev server deploying on every
 * save, with one AbortController for the whole process (its Ctrl-C handler, a shutdown). Server: ftp-srv in
 * this process.
 */
import { getEventListeners } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { CancelledError, deploy } from '../src/index.js';
import { deployOptions, useEmbedded } from './helpers/embedded.js';
import { readTree, tmpDir, uniqueName, writeTree } from './helpers/tmp.js';

const server = useEmbedded();

describe('one AbortSignal shared by many deploys at once', () => {
  it('12 sites deployed at once under one signal: one listener on it, not one per deploy (no MaxListenersExceededWarning); the abort still cancels them all', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home', 'css/a.css': 'a{}' });
    const controller = new AbortController();
    const dirs = Array.from({ length: 12 }, () => uniqueName('shared-signal'));
    const run = (): Array<Promise<unknown>> =>
      dirs.map(async (dir) => deploy(deployOptions(server(), local, dir, { signal: controller.signal })));

    const first = run();
    // Was 12: Node warns "Possible EventTarget memory leak detected. 11 abort listeners added to [AbortSignal]"
    // from the 11th on, which looks like a leak in the caller's program.
    expect(getEventListeners(controller.signal, 'abort').length).toBe(1);
    await Promise.all(first);
    for (const dir of dirs)
      expect(readTree(path.join(server().root, dir), ['.ftpship-state.json'])).toEqual(readTree(local));
    expect(getEventListeners(controller.signal, 'abort')).toEqual([]);

    fs.writeFileSync(path.join(local, 'index.html'), 'changed');
    const second = run();
    expect(getEventListeners(controller.signal, 'abort').length).toBe(1);
    controller.abort();
    const outcomes = await Promise.allSettled(second);
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(CancelledError);
    }
    expect(getEventListeners(controller.signal, 'abort')).toEqual([]);
  });
});
