/** Real faults on loopback: a throttled upload stream, a TCP front proxy that caps and cuts connections. */
import net from 'node:net';
import { Writable } from 'node:stream';
import { readFileSync } from 'node:fs';
import type fs from 'node:fs';

/**
 * The connection to the server for a proxied `client`: both kept in `live` while open; an error or a close
 * on either side ends both.
 */
function paired(client: net.Socket, targetPort: number, live: Set<net.Socket>): net.Socket {
  const upstream = net.connect({ host: '127.0.0.1', port: targetPort });
  live.add(client);
  live.add(upstream);
  const drop = (): void => {
    live.delete(client);
    live.delete(upstream);
    client.destroy();
    upstream.destroy();
  };
  for (const s of [client, upstream]) {
    s.on('error', drop);
    s.on('close', drop);
  }
  return upstream;
}

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
  /** Connections held without a word (`silentAfter`). */
  silent: number;
  /** Destroys every live control connection (both sides). */
  cutAll(): void;
  /** Resets every live control connection (TCP RST, the client sees ECONNRESET), both sides. */
  resetAll(): void;
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
    /** Connections after this many are taken and never answered (no greeting): a server over its limit. */
    silentAfter?: number;
    /** Rewrites server → client text (replies), e.g. to turn a 226 into a 426. */
    rewriteReplies?: (text: string) => string;
  } = {},
): Promise<FrontProxy> {
  const live = new Set<net.Socket>();
  const state = { accepted: 0, refused: 0, silent: 0 };
  const server = net.createServer((client) => {
    client.on('error', () => {});
    if (opts.silentAfter !== undefined && state.accepted >= opts.silentAfter) {
      state.silent++;
      live.add(client);
      return;
    }
    if (opts.maxClients !== undefined && live.size / 2 >= opts.maxClients) {
      state.refused++;
      client.end('421 Too many connections from your IP\r\n');
      return;
    }
    state.accepted++;
    const upstream = paired(client, targetPort, live);
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
    get silent() {
      return state.silent;
    },
    cutAll() {
      for (const s of live) s.destroy();
    },
    resetAll() {
      for (const s of live) s.resetAndDestroy();
    },
    close: async () => {
      for (const s of live) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export interface HoldingProxy {
  port: number;
  /** Resolves with the first client command that matched, once it went on to the server. */
  seen: Promise<string>;
  /** Resolves once the server answered on the held connection (the command was run; the client has no word of it). */
  replied: Promise<void>;
  /** Sends the client the replies held back since, and stops holding. */
  release(): void;
  /** Cuts the held connection (both sides), its held replies never sent: a reply lost with the connection. */
  cut(): void;
  close(): Promise<void>;
}

/**
 * A TCP proxy in front of a plain FTP control port that, once a client command matches `command`, passes it
 * on but holds back the server's replies on that connection until {@link HoldingProxy.release}: the server
 * has run the command, the client has not heard so (as when a deploy is cancelled at that moment).
 * `onSeen` runs at once, in the proxy's data handler.
 */
export async function holdingProxy(
  targetPort: number,
  command: RegExp,
  onSeen?: (line: string) => void,
): Promise<HoldingProxy> {
  const live = new Set<net.Socket>();
  let matched = false;
  let resolveSeen: (line: string) => void = () => {};
  const seen = new Promise<string>((r) => (resolveSeen = r));
  let resolveReplied: () => void = () => {};
  const replied = new Promise<void>((r) => (resolveReplied = r));
  let held: { client: net.Socket; upstream: net.Socket; chunks: Buffer[] } | undefined;
  const server = net.createServer((client) => {
    const upstream = paired(client, targetPort, live);
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      if (matched) return;
      const line = chunk
        .toString('utf8')
        .split('\r\n')
        .find((l) => command.test(l));
      if (line === undefined) return;
      matched = true;
      held = { client, upstream, chunks: [] };
      resolveSeen(line);
      onSeen?.(line);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (held?.client === client) {
        held.chunks.push(chunk);
        resolveReplied();
      } else client.write(chunk);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    seen,
    replied,
    release() {
      const h = held;
      held = undefined;
      if (h && !h.client.destroyed) for (const c of h.chunks) h.client.write(c);
    },
    cut() {
      const h = held;
      held = undefined;
      h?.client.destroy();
      h?.upstream.destroy();
    },
    close: async () => {
      for (const s of live) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** What {@link linesProxy} does with a client's command line: pass it on (or `send` another), or answer it itself. */
export type LineVerdict = 'pass' | { send: string } | { reply: string; close?: boolean };

/**
 * A TCP proxy in front of a plain FTP control port that shows each command line a client sends (without its
 * CRLF) to `onLine`, with the number of its connection (from 1): passed on to the server (as it is, or `send`
 * instead), or answered by the proxy with `reply` (the server never sees the command), and with `close` that
 * connection closed after it.
 */
export async function linesProxy(
  targetPort: number,
  onLine: (line: string, connection: number) => LineVerdict,
): Promise<{ port: number; close: () => Promise<void> }> {
  const live = new Set<net.Socket>();
  let connections = 0;
  const server = net.createServer((client) => {
    const connection = ++connections;
    const upstream = paired(client, targetPort, live);
    upstream.pipe(client);
    let pending = '';
    client.on('data', (chunk: Buffer) => {
      pending += chunk.toString('latin1');
      let end: number;
      while ((end = pending.indexOf('\r\n')) !== -1) {
        const line = pending.slice(0, end);
        pending = pending.slice(end + 2);
        const verdict = onLine(line, connection);
        if (verdict === 'pass') {
          upstream.write(`${line}\r\n`, 'latin1');
        } else if ('send' in verdict) {
          upstream.write(`${verdict.send}\r\n`, 'latin1');
        } else if (verdict.close) {
          upstream.unpipe(client);
          upstream.destroy();
          client.end(`${verdict.reply}\r\n`);
          return;
        } else {
          client.write(`${verdict.reply}\r\n`);
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of live) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/**
 * A proxy in front of a plain FTP control port that answers the first client command matching `command`
 * itself, with `reply` (a 421, as a server timing a session out says), and closes that connection: the
 * server never sees the command. Everything else passes through.
 */
export async function refusingProxy(
  targetPort: number,
  command: RegExp,
  reply: string,
): Promise<{ port: number; refused: () => number; close: () => Promise<void> }> {
  let refused = 0;
  const proxy = await linesProxy(targetPort, (line) => {
    if (refused > 0 || !command.test(line)) return 'pass';
    refused++;
    return { reply, close: true };
  });
  return { ...proxy, refused: () => refused };
}

/**
 * At most how many bytes a loopback TCP connection whose reader stopped reading still takes in: the
 * receiver's and the sender's kernel buffers at their largest (Linux's tcp_rmem and tcp_wmem, third
 * number; 6 MiB and 4 MiB by default, 32 MiB of receive buffer on some machines). An upload must be larger
 * than this past the stall for the client's writes to back up (its idle timer runs): smaller, it all sits in
 * the buffers, the client waits for the reply with its drain allowance (up to a minute) added, and the test
 * meets jest's timeout instead. 16 MiB each where the numbers cannot be read.
 */
export function loopbackBufferBytes(): number {
  const max = (file: string): number => {
    try {
      const n = Number(readFileSync(file, 'utf8').trim().split(/\s+/)[2]);
      return Number.isFinite(n) && n > 0 ? n : 16 * 1024 * 1024;
    } catch {
      return 16 * 1024 * 1024;
    }
  };
  return max('/proc/sys/net/ipv4/tcp_rmem') + max('/proc/sys/net/ipv4/tcp_wmem');
}
