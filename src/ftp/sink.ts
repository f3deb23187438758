/** A download's bytes kept in memory, up to a cap (a hostile or wrong file must not exhaust memory). */
import { Writable } from 'node:stream';

/**
 * A sink that keeps what it is given, up to `max` bytes in all; the write that would pass the cap fails with
 * `tooLarge()` (which fails the transfer). `bytes()` gives what was kept, in one buffer.
 */
export function cappedSink(max: number, tooLarge: () => Error): { sink: Writable; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  let total = 0;
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      total += chunk.length;
      if (total > max) return done(tooLarge());
      chunks.push(chunk);
      done();
    },
  });
  return { sink, bytes: () => Buffer.concat(chunks) };
}
