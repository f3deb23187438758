/**
 * Streamed vinyl contents (`gulp.src(..., { buffer: false })`, chosen for large files) are written to a temp file
 * as they come, never held in memory whole: the deploy starts only once every file has come (the plan needs the
 * whole set), so held in memory, a folder of videos would all be in memory at once. The engine sends each from
 * its temp file; the file passed on downstream reads the same temp file when it is read.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';

/** What {@link Spool.take} learnt of the contents on the way: enough to tell contents gulp transcoded. */
export interface Spooled {
  /** The temp file holding the contents. */
  file: string;
  size: number;
  /** The contents are valid UTF-8 as a whole. */
  utf8: boolean;
  /** The contents hold U+FFFD (EF BF BD). */
  replacement: boolean;
}

const REPLACEMENT = Buffer.from('\uFFFD');

/** Every spool folder of this process with files in it: removed at its exit at the latest (one listener for all). */
const liveDirs = new Set<string>();
let exitHooked = false;

function removeAtExit(): void {
  for (const dir of liveDirs) {
    try {
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {
      // A file still open (Windows will not remove one): left in the temp folder, not a failed exit.
    }
  }
}

/**
 * A copy passed on that is garbage-collected unread: nothing downstream can read it any more (gulp's runner drains
 * the last stream of a task into a sink that drops each file), so its file goes.
 */
const unreachable = new FinalizationRegistry<() => void>((forget) => forget());

/** The callback for {@link unreachable}, made outside the copy's scope: a closure there would hold the copy. */
function forgetter(spool: Spool, file: string): () => void {
  return () => spool.forget(file);
}

/**
 * One deploy stream's temp files. Each goes once the deploy is done with it (done or failed) and its copy passed
 * on has been read, or can no longer be: destroyed, garbage-collected, or nothing downstream.
 */
export class Spool {
  private dir: string | undefined;
  private count = 0;
  private deployDone = false;
  /** Temp files whose copy passed on is still to be read. */
  private readonly unread = new Set<string>();
  /** Temp files whose copy passed on is being read. */
  private readonly reading = new Set<string>();
  private readonly live = new Set<string>();

  /** Writes `contents` to a new temp file; resolves once it is all there. */
  async take(contents: NodeJS.ReadableStream): Promise<Spooled> {
    if (!this.dir) {
      this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ftpship-gulp-'));
      liveDirs.add(this.dir);
      if (!exitHooked) {
        exitHooked = true;
        process.once('exit', removeAtExit);
      }
    }
    const file = path.join(this.dir, String(++this.count));
    this.live.add(file);
    this.unread.add(file);
    return new Promise((resolve, reject) => {
      const out = fs.createWriteStream(file);
      const decoder = new TextDecoder('utf-8', { fatal: true });
      let size = 0;
      let utf8 = true;
      let replacement = false;
      let tail = Buffer.alloc(0);
      let ended = false;
      const fail = (err: unknown): void => {
        out.destroy();
        // No copy of it is passed on: the file goes with the others once no deploy needs them.
        this.unread.delete(file);
        reject(err instanceof Error ? err : new Error(String(err)));
      };
      contents.on('data', (chunk: Buffer | string) => {
        const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
        size += b.length;
        if (utf8) {
          try {
            decoder.decode(b, { stream: true });
          } catch {
            utf8 = false;
          }
        }
        // The three bytes of U+FFFD may straddle two chunks: the last two of the one before count too.
        if (!replacement)
          replacement =
            b.includes(REPLACEMENT) || Buffer.concat([tail, b.subarray(0, 2)]).includes(REPLACEMENT);
        tail = Buffer.from(Buffer.concat([tail, b.subarray(-2)]).subarray(-2));
        if (!out.write(b)) {
          contents.pause();
          out.once('drain', () => contents.resume());
        }
      });
      contents.once('end', () => {
        ended = true;
        if (utf8) {
          try {
            decoder.decode();
          } catch {
            utf8 = false;
          }
        }
        out.end(() => resolve({ file, size, utf8, replacement }));
      });
      contents.once('error', fail);
      out.once('error', fail);
      // vinyl-fs's lazy streamx contents may close without 'end' on a failure.
      contents.once('close', () => {
        if (!ended) setImmediate(() => fail(new Error('the contents stream closed before its end')));
      });
    });
  }

  /**
   * The contents to pass on: a stream that opens the temp file when first read (a file handle per file held
   * open until then would run out with many files).
   */
  copy(file: string): Readable {
    let inner: fs.ReadStream | undefined;
    const copy = new Readable({
      read: (): void => {
        if (inner) {
          inner.resume();
          return;
        }
        this.unread.delete(file);
        this.reading.add(file);
        inner = fs.createReadStream(file);
        inner.on('data', (chunk) => {
          if (!copy.push(chunk)) inner?.pause();
        });
        inner.once('end', () => copy.push(null));
        inner.once('error', (err) => copy.destroy(err));
      },
      destroy: (err, callback): void => {
        inner?.destroy();
        unreachable.unregister(copy);
        this.forget(file);
        callback(err);
      },
    });
    unreachable.register(copy, forgetter(this, file), copy);
    return copy;
  }

  /** No copy of `file` will be passed on (its file was refused). */
  drop(file: string): void {
    this.forget(file);
  }

  /**
   * The deploy is over (done or failed): the files whose copy has been read go now, and with `unreadToo` (no
   * consumer downstream, so nothing will read them) the others too.
   */
  release(unreadToo: boolean): void {
    this.deployDone = true;
    if (unreadToo) this.unread.clear();
    for (const file of [...this.live]) this.remove(file);
  }

  /** Nothing will read `file`'s copy (any more). */
  forget(file: string): void {
    this.unread.delete(file);
    this.reading.delete(file);
    this.remove(file);
  }

  private remove(file: string): void {
    if (!this.deployDone || this.unread.has(file) || this.reading.has(file) || !this.live.delete(file))
      return;
    fs.rm(file, { force: true }, () => {
      if (this.live.size > 0 || !this.dir) return;
      const dir = this.dir;
      this.dir = undefined;
      fs.rm(dir, { recursive: true, force: true }, () => liveDirs.delete(dir));
    });
  }
}
