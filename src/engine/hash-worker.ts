/**
 * SHA-256 of local files on a worker thread, so hashing overlaps the uploads (and the connect) instead of
 * taking turns with them on the main thread. The worker is inline CommonJS (no file to resolve: the same
 * code runs from dist/, under jest and inside the Action's single-file bundle).
 */
import { Worker } from 'node:worker_threads';

export interface HashJob {
  /** Absolute path. */
  abs: string;
  /** The file's stamp when listed ({@link stampOf}); a file that no longer has it is reported changed. */
  stamp: string;
}

export type HashResult = { sha256: string; size: number } | { error: string; code?: string };

// Reads each file through one reused 1 MiB buffer; posts results in batches (a message per small file
// would cost more than its hash). A file whose stamp differs from the listing's is an error: its bytes
// would not be the ones the upload checks against.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const crypto = require('node:crypto');
const buf = Buffer.allocUnsafe(1024 * 1024);
const stampOf = (s) => s.size + ':' + s.mtimeMs + ':' + s.ctimeMs;
let batch = [];
let last = Date.now();
const flush = () => { if (batch.length) parentPort.postMessage(batch); batch = []; last = Date.now(); };
workerData.jobs.forEach((job, i) => {
  let fd;
  try {
    fd = fs.openSync(job.abs, 'r');
    if (stampOf(fs.fstatSync(fd)) !== job.stamp) {
      batch.push([i, { error: 'changed while the deploy was running (after it was listed)', code: 'ECHANGED' }]);
    } else {
      const hash = crypto.createHash('sha256');
      let size = 0;
      for (;;) {
        const n = fs.readSync(fd, buf, 0, buf.length, size);
        if (n === 0) break;
        hash.update(n === buf.length ? buf : buf.subarray(0, n));
        size += n;
      }
      batch.push([i, { sha256: hash.digest('hex'), size }]);
    }
  } catch (err) {
    batch.push([i, { error: err.message, code: err.code }]);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
  if (batch.length >= 256 || Date.now() - last >= 5) flush();
});
flush();
`;

/** Thrown (to the awaiting side) when {@link HashRun.stop} ended the hashing early. */
export class HashingStopped extends Error {
  override name = 'HashingStopped';
}

/** A hashing run: `done` settles once every job has a result; `stop()` ends it early (the deploy is over). */
export interface HashRun {
  done: Promise<void>;
  stop(): void;
}

/**
 * Hashes `jobs` in order on a worker thread; `onResult(index, result)` is called as results arrive (in
 * batches). `done` rejects if the worker itself fails, or with HashingStopped after `stop()`.
 */
export function hashOnWorker(
  jobs: HashJob[],
  onResult: (index: number, result: HashResult) => void,
): HashRun {
  if (jobs.length === 0) return { done: Promise.resolve(), stop: () => {} };
  let worker: Worker;
  try {
    // FTPSHIP_HASH_THREAD=0: no thread (a sandbox that forbids them); the main thread hashes instead.
    if (process.env.FTPSHIP_HASH_THREAD === '0') throw new Error('hashing thread turned off');
    worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { jobs } });
  } catch (err) {
    // No thread to be had (resource limits): the caller hashes on the main thread instead.
    const failed = Promise.reject(err as Error);
    failed.catch(() => {});
    return { done: failed, stop: () => {} };
  }
  let received = 0;
  let stopped = false;
  const done = new Promise<void>((resolve, reject) => {
    worker.on('message', (batch: Array<[number, HashResult]>) => {
      if (stopped) return;
      for (const [i, result] of batch) onResult(i, result);
      received += batch.length;
      if (received === jobs.length) resolve();
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (stopped) reject(new HashingStopped('hashing stopped: the deploy is over'));
      else if (received < jobs.length) reject(new Error(`the hashing thread stopped (exit ${code})`));
    });
  }).finally(async () => worker.terminate());
  return {
    done,
    stop: () => {
      if (received === jobs.length || stopped) return;
      stopped = true;
      void worker.terminate();
    },
  };
}
