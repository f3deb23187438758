/**
 * A `lead`-style sink (the idea of gulpjs/lead, written small): if nothing reads a stream by the end of the
 * tick — no 'data' or 'readable' listener, no pipe — let it flow into the void, so its files are consumed and
 * its flush runs. A consumer added later (a pipe adds a 'data' listener) takes over; when the last one goes
 * away, the sink comes back.
 */
import type { Readable } from 'node:stream';

/** Something reads the stream's files (a pipe, a 'data' or 'readable' listener), not the sink. */
export function hasConsumers(stream: Readable): boolean {
  return stream.listenerCount('data') > 0 || stream.listenerCount('readable') > 0;
}

export function sink<S extends Readable>(stream: S): S {
  let sinking = false;
  const check = (): void => {
    if (hasConsumers(stream)) {
      sinking = false;
      return;
    }
    if (sinking) return;
    sinking = true;
    stream.resume();
  };
  const onListenerChange = (event: string | symbol): void => {
    if (event === 'data' || event === 'readable') process.nextTick(check);
  };
  stream.on('newListener', onListenerChange);
  stream.on('removeListener', onListenerChange);
  process.nextTick(check);
  return stream;
}
