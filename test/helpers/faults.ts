/** Real faults on loopback: a throttled upload stream, a TCP front proxy that caps and cuts connections. */
import net from 'node:net';
import { Writable } from 'node:stream';
import type fs from 'node:fs';

/** Writes into `target` at about `bytesPerSec`, so a transfer can be cut half way. */
export function throttled(target: fs.WriteStream, bytesPerSec: number): Writable {
  return new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _enc, done) {
      target.write(chunk, (err) => {
        if (err) return done(err);
        setTimeout(() => done(), (chunk.length / bytesPerSec) * 1000);
      });
    },
    final(done) {
      target.end(() => done());
    },
    destroy(err, done) {
      target.destroy();
      done(err);
    },
  });
}

export interface FrontProxy {
  port: number;
  /** Control connections accepted so far. */
  accepted: number;
  /** Connections answered with 421. */
  refused: number;
  /** Destroys every live control connection (both sides). */
  cutAll(): void;
  close(): Promise<void>;
}

/**
 * A TCP proxy in front of an FTP server's control port. With `maxClients`, connections past that many
 * live ones get `421 Too many connections` and are closed, as shared hosts do. Data connections do not
 * pass through it (the client connects to the control host's passive port directly).
 */
export async function frontProxy(
  targetPort: number,
  opts: {
    maxClients?: number;
    /** Rewrites server → client text (replies), e.g. to turn a 226 into a 426. */
    rewriteReplies?: (text: string) => string;
  } = {},
): Promise<FrontProxy> {
  const live = new Set<net.Socket>();
  const state = { accepted: 0, refused: 0 };
  const server = net.createServer((client) => {
    client.on('error', () => {});
    if (opts.maxClients !== undefined && live.size / 2 >= opts.maxClients) {
      state.refused++;
      client.end('421 Too many connections from your IP\r\n');
      return;
    }
    state.accepted++;
    const upstream = net.connect({ host: '127.0.0.1', port: targetPort });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    live.add(client);
    live.add(upstream);
    const drop = (): void => {
      live.delete(client);
      live.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', drop);
    upstream.on('close', drop);
    client.pipe(upstream);
    const rewrite = opts.rewriteReplies;
    if (rewrite) upstream.on('data', (chunk: Buffer) => client.write(rewrite(chunk.toString('utf8'))));
    else upstream.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    get accepted() {
      return state.accepted;
    },
    get refused() {
      return state.refused;
    },
    cutAll() {
      for (const s of live) s.destroy();
    },
    close: async () => {
      for (const s of live) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
