/**
 * SHA-256 of local files on a worker thread, so hashing overlaps the uploads (and the connect) instead of
 * taking turns with them on the main thread; a main thread with nothing else to do takes files from the
 * other end of the list. The worker is inline CommonJS (no file to resolve: the same code runs from
 * dist/, under jest and inside the Action's single-file bundle).
 */
import { Worker } from 'node:worker_threads';

export interface HashJob {
  /** Absolute path. */
  abs: string;
  /** The file's stamp when listed ({@link stampOf}); a file that no longer has it is reported changed. */
  stamp: string;
}

export type HashResult = { sha256: string; size: number } | { error: string; code?: string };

// Started before the folder is walked (booting a thread takes tens of milliseconds), then given jobs in
// chunks as the walk finds files, then 'last'. Takes each chunk from the front, each job claimed in the
// chunk's shared array first: the main thread may take jobs from the back meanwhile, and the first job
// found taken ends the worker's part of that chunk. Reads each file through one reused 1 MiB buffer;
// posts results in batches (a message per small file would cost more than its hash), then 'end'. A file
// whose stamp differs from the listing's, when opened or once read, is an error: its bytes would not be the
// ones the upload checks, or its hash a mix of two versions.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const crypto = require('node:crypto');
const buf = Buffer.allocUnsafe(1024 * 1024);
const stampOf = (s) => s.size + ':' + s.mtimeMs + ':' + s.ctimeMs;
let batch = [];
let last = Date.now();
const flush = () => { if (batch.length) parentPort.postMessage(batch); batch = []; last = Date.now(); };
parentPort.on('message', (msg) => {
  if (msg === 'last') {
    flush();
    parentPort.postMessage('end');
    return;
  }
  const { chunk, jobs, claims } = msg;
  for (let i = 0; i < jobs.length; i++) {
    if (Atomics.compareExchange(claims, i, 0, 1) !== 0) break;
    const job = jobs[i];
    let fd;
    try {
      fd = fs.openSync(job.abs, 'r');
      if (stampOf(fs.fstatSync(fd)) !== job.stamp) {
        batch.push([chunk, i, { error: 'changed while the deploy was running (after it was listed)', code: 'ECHANGED' }]);
      } else {
        const hash = crypto.createHash('sha256');
        let size = 0;
        for (;;) {
          const n = fs.readSync(fd, buf, 0, buf.length, size);
          if (n === 0) break;
          hash.update(n === buf.length ? buf : buf.subarray(0, n));
          size += n;
        }
        // Written while it was read: the hash may mix two versions (and an upload done before may hold the first).
        if (stampOf(fs.fstatSync(fd)) !== job.stamp) {
          batch.push([chunk, i, { error: 'changed while the deploy was running (while it was hashed)', code: 'ECHANGED' }]);
        } else {
          batch.push([chunk, i, { sha256: hash.digest('hex'), size }]);
        }
      }
    } catch (err) {
      batch.push([chunk, i, { error: err.message, code: err.code }]);
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
    if (batch.length >= 256 || Date.now() - last >= 5) flush();
  }
  flush();
});
`;

/** A worker started ahead of the deploy ({@link prestartHashWorker}), with what happened to it meanwhile. */
interface SpareWorker {
  worker?: Worker;
  failure?: Error;
}

// On globalThis: bin/ftpship.js starts it from this module in dist/src, the bundled CLI takes it from its copy.
const SPARE = Symbol.for('ftpship.hashWorker');
type WithSpare = typeof globalThis & { [SPARE]?: SpareWorker };

/**
 * Starts the hashing thread now, for the next {@link HashThread} to take: a thread takes tens of milliseconds to
 * boot, which the CLI spends loading its code meanwhile. Until taken it does not keep Node running; a failure
 * to start is kept for the HashThread (which then hashes on the main thread, as it would have).
 */
export function prestartHashWorker(): void {
  const g = globalThis as WithSpare;
  if (g[SPARE] || process.env.FTPSHIP_HASH_THREAD === '0') return;
  const spare: SpareWorker = {};
  g[SPARE] = spare;
  try {
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.unref();
    const failed = (err: Error): void => {
      spare.failure ??= err;
    };
    worker.once('error', failed);
    worker.once('exit', (code) => failed(new Error(`the hashing thread stopped (exit ${code})`)));
    spare.worker = worker;
  } catch (err) {
    spare.failure = err as Error;
  }
}

/** The worker {@link prestartHashWorker} started, if any (once: the next caller gets none). */
function takeSpare(): SpareWorker | undefined {
  const g = globalThis as WithSpare;
  const spare = g[SPARE];
  delete g[SPARE];
  if (!spare?.worker) return spare;
  spare.worker.removeAllListeners('error').removeAllListeners('exit').ref();
  return spare;
}

/** Thrown (to the awaiting side) when {@link HashThread.stop} ended the hashing early. */
export class HashingStopped extends Error {
  override name = 'HashingStopped';
}

/**
 * A worker thread for hashing, started ahead of its work so that it boots while the folder is walked, and
 * fed chunks of jobs as the walk finds files. Never throws: a thread that cannot be had
 * (FTPSHIP_HASH_THREAD=0, resource limits) makes {@link done} reject, and the caller hashes on the main
 * thread.
 */
export class HashThread {
  private readonly worker?: Worker;
  private readonly claims: Int32Array[] = [];
  private ended = false;
  private stopped = false;
  /**
   * Resolves once the worker has reported every job it took after {@link finish} (the others were claimed
   * by the main thread); rejects if the worker itself fails (no thread, a crash), or with HashingStopped
   * after {@link stop}.
   */
  readonly done: Promise<void>;

  /** `onResult(chunk, index, result)` is called as results arrive (in batches). */
  constructor(onResult: (chunk: number, index: number, result: HashResult) => void) {
    let worker: Worker | undefined;
    let failure: Error | undefined;
    try {
      // FTPSHIP_HASH_THREAD=0: no thread (a sandbox that forbids them); the main thread hashes instead.
      if (process.env.FTPSHIP_HASH_THREAD === '0') throw new Error('hashing thread turned off');
      const spare = takeSpare();
      if (spare?.failure) throw spare.failure;
      worker = spare?.worker ?? new Worker(WORKER_SOURCE, { eval: true });
    } catch (err) {
      failure = err as Error;
    }
    this.worker = worker;
    if (!worker) {
      this.done = Promise.reject(failure as Error);
      this.done.catch(() => {});
      return;
    }
    this.done = new Promise<void>((resolve, reject) => {
      worker.on('message', (batch: Array<[number, number, HashResult]> | 'end') => {
        if (this.stopped) return;
        if (batch === 'end') {
          this.ended = true;
          resolve();
          return;
        }
        for (const [chunk, i, result] of batch) onResult(chunk, i, result);
      });
      worker.once('error', reject);
      worker.once('exit', (code) => {
        if (this.stopped) reject(new HashingStopped('hashing stopped: the deploy is over'));
        else if (!this.ended) reject(new Error(`the hashing thread stopped (exit ${code})`));
      });
    }).finally(async () => worker.terminate());
    this.done.catch(() => {});
  }

  /** Queues a chunk of jobs; returns its number (chunks count from 0 in the order they are added). */
  add(jobs: HashJob[]): number {
    const claims = new Int32Array(new SharedArrayBuffer(4 * Math.max(1, jobs.length)));
    this.claims.push(claims);
    this.worker?.postMessage({ chunk: this.claims.length - 1, jobs, claims });
    return this.claims.length - 1;
  }

  /** No more jobs: `done` settles once the worker has reported all it took. */
  finish(): void {
    this.worker?.postMessage('last');
  }

  /**
   * Claims job `index` of `chunk` for the calling (main) thread; false when the worker has it already, in
   * which case it has every job before it too. Claim from the back: the worker goes from the front.
   */
  claim(chunk: number, index: number): boolean {
    return Atomics.compareExchange(this.claims[chunk], index, 0, 2) === 0;
  }

  /** Ends the thread now (the deploy is over, or the walk failed). */
  stop(): void {
    if (this.ended || this.stopped || !this.worker) return;
    this.stopped = true;
    void this.worker.terminate();
  }
}
