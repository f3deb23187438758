/**
 * A proxy for chaos tests: in front of a plain FTP control port, and in the data path too (each EPSV/PASV
 * reply is rewritten to a port of its own that forwards to the server's), so a test can act at the Nth
 * command or the Nth data byte of a whole deploy, across every connection: kill the client, or cut every
 * connection.
 */
import net from 'node:net';
import { startCli, type CliResult, type CliRun } from './cli.js';

export interface ChaosProxy {
  port: number;
  /** Commands seen so far (every connection), and the data bytes passed client → server. */
  readonly commands: string[];
  readonly dataBytes: number;
  /**
   * The server's passive ports handed out whose data connection never came (the client killed between its
   * EPSV and its connect): the server session behind each still waits on it (pure-ftpd for its idle time,
   * counting against its user limit). See {@link releasePassive}.
   */
  readonly unconnected: number[];
  /** Destroys every connection (control and data) and refuses new ones until {@link heal}. */
  cutAll(): void;
  /**
   * The network drops silently: nothing more passes either way, and the server's side of every connection
   * stays open when the client's closes (the server never hears of it), until {@link close}.
   */
  freeze(): void;
  heal(): void;
  close(): Promise<void>;
}

export interface ChaosHooks {
  /**
   * A command line from the client (the Nth, from 1). Return 'hold' to keep it from the server (the caller
   * kills the client or cuts the connections), a promise to pass it (and the lines after it on that
   * connection) once it settles, else it goes on.
   */
  onCommand?: (line: string, n: number) => 'hold' | Promise<void> | void;
  /**
   * Bytes of upload data passed so far; return 'hold' to stop passing them (the caller then acts), or 'stall'
   * to stop reading them as a black-holed link would: the client's writes back up, and its data connection,
   * once closed, stays open on the server's side (the server never hears of it) until {@link ChaosProxy.close}.
   */
  onData?: (total: number) => 'hold' | 'stall' | void;
}

export async function chaosProxy(targetPort: number, hooks: ChaosHooks = {}): Promise<ChaosProxy> {
  const live = new Set<net.Socket>();
  const servers = new Set<net.Server>();
  const commands: string[] = [];
  const unconnected = new Set<number>();
  let dataBytes = 0;
  let down = false;
  let frozen = false;
  const track = (s: net.Socket): void => {
    live.add(s);
    s.on('error', () => {});
    s.on('close', () => live.delete(s));
  };
  const pair = (a: net.Socket, b: net.Socket): void => {
    const drop = (): void => {
      if (frozen) return; // the other side never hears of it
      a.destroy();
      b.destroy();
    };
    for (const s of [a, b]) {
      s.on('error', drop);
      s.on('close', drop);
    }
  };
  /**
   * {@link pair} for a data connection: a side that closes after its end was passed on leaves the other to
   * write what it still holds (destroyed at once, the last bytes of an upload or a download were lost: the
   * server answered 226 for a file shorter than the one sent). Anything else ends both, as in `pair`.
   */
  const pairData = (client: net.Socket, upstream: net.Socket, stalled: () => boolean): void => {
    const drop = (): void => {
      if (frozen || stalled()) return; // the other side never hears of it
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', () => {
      if (!upstream.writableEnded) drop();
    });
    upstream.on('close', () => {
      if (!client.writableEnded) drop();
    });
  };
  /** A one-shot listener forwarding to the server's passive port `port`. */
  const dataPort = async (port: number): Promise<number> => {
    unconnected.add(port);
    const srv = net.createServer((client) => {
      unconnected.delete(port);
      srv.close();
      servers.delete(srv);
      if (down) return void client.destroy();
      const upstream = net.connect({ host: '127.0.0.1', port });
      track(client);
      track(upstream);
      let held = false;
      let stalled = false;
      pairData(client, upstream, () => stalled);
      client.on('data', (chunk: Buffer) => {
        if (held || frozen || stalled) return;
        dataBytes += chunk.length;
        const told = hooks.onData?.(dataBytes);
        if (told === 'stall') {
          stalled = true;
          client.pause();
          return;
        }
        if (told === 'hold') {
          held = true;
          return;
        }
        upstream.write(chunk);
      });
      client.on('end', () => {
        if (!held && !frozen && !stalled) upstream.end();
      });
      upstream.on('data', (chunk: Buffer) => {
        if (!frozen && !client.destroyed) client.write(chunk);
      });
      upstream.on('end', () => {
        if (!frozen && !client.destroyed) client.end();
      });
    });
    servers.add(srv);
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    return (srv.address() as net.AddressInfo).port;
  };
  const control = net.createServer((client) => {
    if (down) return void client.destroy();
    const upstream = net.connect({ host: '127.0.0.1', port: targetPort });
    track(client);
    track(upstream);
    pair(client, upstream);
    let held = false;
    let pending = '';
    // Lines kept back until a promise the hook gave settles (undefined: none waits).
    let gate: Promise<void> | undefined;
    const pass = (line: string): void => {
      if (!frozen && !upstream.destroyed) upstream.write(`${line}\r\n`, 'latin1');
    };
    client.on('data', (chunk: Buffer) => {
      if (held || frozen) return;
      pending += chunk.toString('latin1');
      let end: number;
      while ((end = pending.indexOf('\r\n')) !== -1) {
        const line = pending.slice(0, end);
        pending = pending.slice(end + 2);
        commands.push(line);
        const told = hooks.onCommand?.(line, commands.length);
        if (told === 'hold') {
          held = true;
          return;
        }
        if (told === undefined && gate === undefined) pass(line);
        else {
          const after: Promise<void> = (gate ?? Promise.resolve())
            .then(async () => told)
            .catch(() => undefined)
            .then(() => {
              if (gate === after) gate = undefined;
              pass(line);
            });
          gate = after;
        }
      }
    });
    // Replies are rewritten in order, one line at a time (a passive reply needs its port opened first).
    let replies = '';
    let chain = Promise.resolve();
    upstream.on('data', (chunk: Buffer) => {
      replies += chunk.toString('latin1');
      let end: number;
      while ((end = replies.indexOf('\r\n')) !== -1) {
        const line = replies.slice(0, end + 2);
        replies = replies.slice(end + 2);
        chain = chain.then(async () => {
          const out = await rewrite(line);
          if (!client.destroyed && !frozen) client.write(out, 'latin1');
        });
      }
    });
  });
  const rewrite = async (line: string): Promise<string> => {
    const epsv = /^229 (.*)\(\|\|\|(\d+)\|\)/.exec(line);
    if (epsv) return `229 ${epsv[1]}(|||${await dataPort(Number(epsv[2]))}|)\r\n`;
    const pasv = /^227 .*?(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)/.exec(line);
    if (pasv) {
      const p = await dataPort(Number(pasv[5]) * 256 + Number(pasv[6]));
      return `227 Entering Passive Mode (127,0,0,1,${p >> 8},${p & 255})\r\n`;
    }
    return line;
  };
  await new Promise<void>((r) => control.listen(0, '127.0.0.1', () => r()));
  return {
    port: (control.address() as net.AddressInfo).port,
    commands,
    get unconnected() {
      return [...unconnected];
    },
    get dataBytes() {
      return dataBytes;
    },
    cutAll() {
      down = true;
      for (const s of live) s.destroy();
    },
    heal() {
      down = false;
    },
    freeze() {
      frozen = true;
    },
    close: async () => {
      frozen = false;
      for (const s of live) s.destroy();
      for (const s of servers) s.close();
      await new Promise<void>((r) => control.close(() => r()));
    },
  };
}

/**
 * Connects to each of `ports` on the server and closes at once: a session waiting for that data connection
 * (its client killed) gets it, empty, and ends, rather than holding one of the server's logins for minutes.
 */
export async function releasePassive(ports: number[]): Promise<void> {
  await Promise.all(
    ports.map(
      async (port) =>
        new Promise<void>((resolve) => {
          const s = net.connect({ host: '127.0.0.1', port }, () => s.end());
          s.on('error', () => resolve());
          s.on('close', () => resolve());
          s.resume();
        }),
    ),
  );
}

/** What a test controls in a {@link proxiedDeploy}: the CLI's kill (SIGKILL), and the proxy. */
export interface ProxiedControl {
  kill(): void;
  proxy(): ChaosProxy;
}

export interface ProxiedRun {
  result: CliResult;
  /**
   * The passive ports handed out whose data connection never came: release them ({@link releasePassive})
   * once the test has looked at what the run left, or the server sessions behind them hold a login each
   * (pure-ftpd: until its idle timeout, counting against its limits, shared with other test files).
   */
  unconnected: number[];
  /** Closes the proxy (already closed unless `keepOpen`). */
  close(): Promise<void>;
}

/**
 * `ftpship deploy <local> ftp://<user>@127.0.0.1:<proxy><dir> --parallel 2 --json` (the password from the
 * environment) through a {@link chaosProxy} in front of `server`, with the hooks `hooks` makes. `keepOpen`:
 * the proxy stays up after the run (a network dropped: its connections to the server stay open) until `close`.
 */
export async function proxiedDeploy(
  server: { port: number; user: string; password: string },
  local: string,
  dir: string,
  hooks: (ctl: ProxiedControl) => ChaosHooks,
  keepOpen = false,
): Promise<ProxiedRun> {
  let cli: CliRun | undefined;
  const ctl = { kill: () => cli?.child.kill('SIGKILL'), proxy: () => opened };
  const opened: ChaosProxy = await chaosProxy(server.port, hooks(ctl));
  try {
    const url = `ftp://${server.user}@127.0.0.1:${opened.port}${dir}`;
    cli = startCli(['deploy', local, url, '--parallel', '2', '--json'], {
      FTPSHIP_PASSWORD: server.password,
    });
    const result = await cli.done;
    return { result, unconnected: opened.unconnected, close: async () => opened.close() };
  } finally {
    if (!keepOpen) await opened.close();
  }
}

/**
 * `ftpship deploy <local> ftp://<user>@127.0.0.1:<proxy><dir> ...args` through a {@link chaosProxy} that drops
 * every connection for good at the first command matching `at` (held, never passed on): the CLI's result, and
 * whether that command came at all.
 */
export async function deployCutAt(
  server: { port: number; user: string; password: string },
  local: string,
  dir: string,
  at: RegExp,
  args: string[],
): Promise<{ dropped: boolean; cut: CliResult }> {
  let dropped = false;
  const proxy = await chaosProxy(server.port, {
    onCommand: (line) => {
      if (dropped || !at.test(line)) return;
      dropped = true;
      setImmediate(() => proxy.cutAll());
      return 'hold';
    },
  });
  const url = `ftp://${server.user}@127.0.0.1:${proxy.port}${dir}`;
  const cut = await startCli(['deploy', local, url, ...args], {
    FTPSHIP_PASSWORD: server.password,
  }).done.finally(async () => proxy.close());
  return { dropped, cut };
}
