/**
 * deploy() in a long-lived process: a script deploying many sites at once, or a dev server deploying on every
 * save, with one AbortController for the whole process (its Ctrl-C handler, a shutdown). Server: ftp-srv in
 * this process.
 */
import { getEventListeners } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { CancelledError, deploy } from '../src/index.js';
import { deployOptions, useEmbedded } from './helpers/embedded.js';
import { throttled } from './helpers/faults.js';
import { waitFor } from './helpers/wait.js';
import { bytes, readTree, tmpDir, uniqueName, writeTree } from './helpers/tmp.js';

const server = useEmbedded();
/** A server that takes site files at 1 MiB/s (the state at full speed): a deploy holds its lock for seconds. */
const slowServer = useEmbedded({
  wrapUpload: (fsPath: string, stream: fs.WriteStream) =>
    fsPath.includes('ftpship-state') ? stream : throttled(stream, 1024 * 1024),
});

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

describe('a lock left by a deploy of this same process that is over', () => {
  it('the next deploy in the process (gulp watch, a dev server) takes it over at once, not "another deploy holds the lock" for 2 minutes', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home' });
    const dir = uniqueName('own-left-lock');
    // What a deploy of this process leaves when its connection is cut before its unlock: the lock, naming this
    // process (its host and pid) and that deploy's token, refreshed a moment ago.
    const lock = path.join(server().root, dir, '.ftpship-state.json.lock');
    fs.mkdirSync(lock, { recursive: true });
    const now = new Date().toISOString();
    fs.writeFileSync(
      path.join(lock, 'holder.json'),
      JSON.stringify({
        token: 'a-deploy-that-is-over',
        holder: `ftpship on ${os.hostname()} pid ${process.pid}`,
        host: os.hostname(),
        pid: process.pid,
        startedAt: now,
        refreshedAt: now,
      }),
    );
    const warnings: string[] = [];
    // Was: GuardError "another deploy holds the lock … (ftpship on <this host> pid <this pid> …)", for every
    // run of a gulp watch session until the lock went stale: no deploy of this process was running.
    await deploy(deployOptions(server(), local, dir), { warn: (m) => warnings.push(m) });
    expect(readTree(path.join(server().root, dir), ['.ftpship-state.json'])).toEqual(readTree(local));
    expect(fs.existsSync(lock)).toBe(false);
    expect(warnings).toEqual([expect.stringMatching(/^taking over a stale lock /)]);
  });
});

describe('two deploy() calls of one process overlapping on one folder', () => {
  it('the second is refused naming the first as this process\'s, still running (was: "remove the folder if that deploy is dead")', async () => {
    const local = tmpDir();
    writeTree(local, { 'slow.bin': bytes(3 * 1024 * 1024, 9), 'index.html': 'home' });
    const dir = uniqueName('overlap');
    const holder = path.join(slowServer().root, dir, '.ftpship-state.json.lock', 'holder.json');
    const first = deploy(deployOptions(slowServer(), local, dir));
    first.catch(() => {});
    await waitFor(() => fs.existsSync(holder), 20_000);
    const err = await deploy(deployOptions(slowServer(), local, dir)).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(
      /^another deploy holds the lock .*\(ftpship on .* pid \d+, since .*\); it is a deploy\(\) of this same process, still running: await it before starting the next one there$/,
    );
    expect((err as Error).message).not.toMatch(/remove the folder/);
    await first;
    expect(readTree(path.join(slowServer().root, dir), ['.ftpship-state.json'])).toEqual(readTree(local));
  }, 30_000);
});
