/**
 * A scripted, possibly hostile FTP server for tests: a map of per-command handlers over a small default
 * behaviour (login, FEAT, TYPE, PWD, EPSV/PASV/EPRT/PORT, STOR/APPE/RETR/LIST on an in-memory file map).
 *
 * Every command received is recorded (`server.commands`, in order, across sessions). A handler gets the
 * argument and the session, and can reply, write arbitrary bytes, drip bytes slowly, close the control or
 * data connection at any point, or name a foreign host in PASV. Handlers of one session run one at a time,
 * in the order the commands arrive.
 */
import net from 'node:net';
import tls from 'node:tls';

/** One client connection as seen by the fake server. */
export interface FakeSession {
  readonly socket: net.Socket;
  /** Files by path (shared across sessions of one server). */
  readonly files: Map<string, Buffer>;
  /** Free-form per-session state for handlers. */
  readonly state: Record<string, unknown>;
  /** Writes `line\r\n`. */
  reply(line: string): void;
  /** Writes raw bytes (no line ending added). */
  write(bytes: string | Buffer): void;
  /** Writes `bytes` in pieces of `chunk` bytes, `delayMs` apart. */
  drip(bytes: string | Buffer, delayMs?: number, chunk?: number): Promise<void>;
  /** Listens for a passive data connection; returns the port. `dataSocket()` then yields the connection. */
  listenPassive(): Promise<number>;
  /** Remembers an active-mode target (from EPRT/PORT); `dataSocket()` then connects to it. */
  setActiveTarget(host: string, port: number): void;
  /** True when EPSV/PASV/EPRT/PORT set up a data channel that no transfer has used yet. */
  hasDataChannel(): boolean;
  /** The data connection of the current transfer (accepted, or connected in active mode); used up by it. */
  dataSocket(): Promise<net.Socket>;
  /** Reads a data connection to its end (the caller still has to end() its own side: half-open sockets). */
  readAll(socket: net.Socket): Promise<Buffer>;
  /** Ends the control connection. */
  close(): void;
  /**
   * Wraps the control connection in TLS, as after a 234 to AUTH TLS; commands are then read from it. Call
   * it in the same turn as the 234 is written, before the client's ClientHello can arrive.
   */
  startTls(cert: { key: string; cert: string }): Promise<void>;
}

/** Handles one command; `arg` is everything after the verb and a space. */
export type FakeHandler = (arg: string, session: FakeSession) => void | Promise<void>;

/** Options of {@link startFakeServer}. */
export interface FakeServerOptions {
  /** Sent on connect; a function may do anything instead (drip, 421 and close…). Default `220 fake FTP ready`. */
  greeting?: string | ((session: FakeSession) => void | Promise<void>);
  /** Per-verb handlers (upper case) that replace the defaults. */
  handlers?: Record<string, FakeHandler>;
  /** Reply text of the FEAT command's feature lines. Default: EPSV, SIZE, UTF8. */
  features?: string[];
  /** Address to listen on (control and passive data connections). Default 127.0.0.1; `::1` for IPv6. */
  host?: string;
}

/** A running fake server. */
export interface FakeServer {
  host: string;
  port: number;
  /** Every command line received, across sessions, in order (PASS included: it is the server's view). */
  commands: string[];
  /** Verbs only, in order. */
  verbs(): string[];
  files: Map<string, Buffer>;
  sessions: FakeSession[];
  close(): Promise<void>;
}

/** Starts a fake server on 127.0.0.1 (or `options.host`) with an ephemeral port. Close it in afterAll / finally. */
export async function startFakeServer(options: FakeServerOptions = {}): Promise<FakeServer> {
  const host = options.host ?? '127.0.0.1';
  const commands: string[] = [];
  const files = new Map<string, Buffer>();
  const sessions: FakeSession[] = [];
  const sockets = new Set<net.Socket>();
  const servers = new Set<net.Server>();
  const handlers: Record<string, FakeHandler> = { ...defaultHandlers(options.features), ...options.handlers };
  const server = net.createServer((socket) => {
    track(socket, sockets);
    const session = createSession(socket, files, sockets, servers, host);
    sessions.push(session);
    void serve(session, options.greeting ?? '220 fake FTP ready', handlers, commands);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    host,
    port: (server.address() as net.AddressInfo).port,
    commands,
    verbs: () => commands.map((c) => c.split(' ')[0].toUpperCase()),
    files,
    sessions,
    async close() {
      for (const s of sockets) s.destroy();
      for (const s of servers) s.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function track(socket: net.Socket, sockets: Set<net.Socket>): void {
  sockets.add(socket);
  socket.on('error', () => {});
  socket.on('close', () => sockets.delete(socket));
}

async function serve(
  session: FakeSession,
  greeting: NonNullable<FakeServerOptions['greeting']>,
  handlers: Record<string, FakeHandler>,
  commands: string[],
): Promise<void> {
  if (typeof greeting === 'string') session.reply(greeting);
  else await greeting(session);
  let buffer = '';
  let chain = Promise.resolve();
  session.socket.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    let nl: number;
    while ((nl = buffer.indexOf('\n')) !== -1) {
      const line = buffer.slice(0, nl).replace(/\r$/, '');
      buffer = buffer.slice(nl + 1);
      commands.push(line);
      const space = line.indexOf(' ');
      const verb = (space === -1 ? line : line.slice(0, space)).toUpperCase();
      const arg = space === -1 ? '' : line.slice(space + 1);
      const handler = handlers[verb];
      chain = chain
        .then(async () => {
          if (session.socket.destroyed) return;
          if (handler) await handler(arg, session);
          else session.reply(`502 ${verb} not implemented`);
        })
        .catch(() => {
          session.socket.destroy();
        });
    }
  });
}

function createSession(
  plain: net.Socket,
  files: Map<string, Buffer>,
  sockets: Set<net.Socket>,
  servers: Set<net.Server>,
  host: string,
): FakeSession {
  let passive: Promise<net.Socket> | undefined;
  let active: { host: string; port: number } | undefined;
  let socket = plain;
  const session: FakeSession = {
    get socket() {
      return socket;
    },
    files,
    state: {},
    reply: (line) => {
      if (!socket.destroyed) socket.write(`${line}\r\n`);
    },
    write: (bytes) => {
      if (!socket.destroyed) socket.write(bytes);
    },
    async drip(bytes, delayMs = 1, chunk = 1) {
      const buf = Buffer.from(bytes);
      for (let i = 0; i < buf.length && !socket.destroyed; i += chunk) {
        socket.write(buf.subarray(i, i + chunk));
        await sleep(delayMs);
      }
    },
    async listenPassive() {
      // Half-open, like real servers: the client's end() does not close our side; handlers end() it.
      const dataServer = net.createServer({ allowHalfOpen: true });
      servers.add(dataServer);
      passive = new Promise<net.Socket>((resolve) => {
        dataServer.once('connection', (s) => {
          track(s, sockets);
          dataServer.close();
          resolve(s);
        });
      });
      active = undefined;
      await new Promise<void>((resolve) => dataServer.listen(0, host, resolve));
      return (dataServer.address() as net.AddressInfo).port;
    },
    setActiveTarget(host, port) {
      active = { host, port };
      passive = undefined;
    },
    hasDataChannel: () => passive !== undefined || active !== undefined,
    async dataSocket() {
      if (active) {
        const target = active;
        active = undefined;
        const s = net.connect({ ...target, allowHalfOpen: true });
        track(s, sockets);
        await new Promise<void>((resolve, reject) => {
          s.once('connect', resolve);
          s.once('error', reject);
        });
        return s;
      }
      if (!passive) throw new Error('fake server: no EPSV/PASV/EPRT/PORT before the transfer');
      const accepted = passive;
      passive = undefined;
      return accepted;
    },
    async readAll(s) {
      const chunks: Buffer[] = [];
      for await (const c of s as AsyncIterable<Buffer>) chunks.push(c);
      return Buffer.concat(chunks);
    },
    close: () => {
      socket.end();
    },
    async startTls(cert) {
      const readers = socket.listeners('data') as Array<(chunk: Buffer) => void>;
      socket.removeAllListeners('data');
      const secure = new tls.TLSSocket(socket, { isServer: true, ...cert });
      track(secure, sockets);
      for (const read of readers) secure.on('data', read);
      socket = secure;
      await new Promise<void>((resolve) => {
        secure.once('secure', () => resolve());
        secure.once('close', () => resolve());
      });
    },
  };
  return session;
}

/** Sends an EPSV-style `(|||port|)` or PASV-style reply naming `host` (a foreign host, for G7 tests). */
export async function pasvReply(session: FakeSession, host = '127.0.0.1'): Promise<void> {
  const port = await session.listenPassive();
  session.reply(`227 Entering Passive Mode (${host.split('.').join(',')},${port >> 8},${port & 255})`);
}

function defaultHandlers(features = ['EPSV', 'SIZE', 'UTF8']): Record<string, FakeHandler> {
  // Like real servers: a transfer command without a data channel set up is refused, and changes nothing.
  const noChannel = (s: FakeSession): boolean => {
    if (!s.hasDataChannel()) s.reply('425 Use PORT or PASV first');
    return !s.hasDataChannel();
  };
  const store = async (arg: string, s: FakeSession, append: boolean): Promise<void> => {
    if (noChannel(s)) return;
    s.reply('150 Ok to send data');
    const socket = await s.dataSocket();
    const data = await s.readAll(socket);
    socket.end();
    const offset = Number(s.state.rest ?? 0);
    s.state.rest = undefined;
    const old = append || offset ? (s.files.get(arg) ?? Buffer.alloc(0)) : Buffer.alloc(0);
    const base = append ? old : old.subarray(0, offset);
    s.files.set(arg, Buffer.concat([base, data]));
    s.reply('226 Transfer complete');
  };
  const send = async (s: FakeSession, body: Buffer): Promise<void> => {
    if (noChannel(s)) return;
    s.reply('150 Here it comes');
    const data = await s.dataSocket();
    data.end(body);
    await new Promise((resolve) => data.once('close', resolve));
    s.reply('226 Transfer complete');
  };
  return {
    USER: (_a, s) => s.reply('331 Password required'),
    PASS: (_a, s) => s.reply('230 Logged in'),
    FEAT: (_a, s) => s.reply(['211-Features:', ...features.map((f) => ` ${f}`), '211 End'].join('\r\n')),
    TYPE: (_a, s) => s.reply('200 Type set'),
    OPTS: (_a, s) => s.reply('200 OK'),
    PWD: (_a, s) => s.reply('257 "/" is the current directory'),
    NOOP: (_a, s) => s.reply('200 NOOP ok'),
    QUIT: (_a, s) => {
      s.reply('221 Bye');
      s.close();
    },
    EPSV: async (_a, s) => s.reply(`229 Entering Extended Passive Mode (|||${await s.listenPassive()}|)`),
    PASV: async (_a, s) => pasvReply(s),
    EPRT: (arg, s) => {
      const [, , host, port] = arg.split('|');
      s.setActiveTarget(host, Number(port));
      s.reply('200 EPRT ok');
    },
    PORT: (arg, s) => {
      const n = arg.split(',').map(Number);
      s.setActiveTarget(n.slice(0, 4).join('.'), n[4] * 256 + n[5]);
      s.reply('200 PORT ok');
    },
    REST: (arg, s) => {
      s.state.rest = Number(arg);
      s.reply(`350 Restarting at ${arg}`);
    },
    STOR: async (arg, s) => store(arg, s, false),
    APPE: async (arg, s) => store(arg, s, true),
    RETR: async (arg, s) => {
      const file = s.files.get(arg);
      if (!file) return s.reply('550 No such file');
      const offset = Number(s.state.rest ?? 0);
      s.state.rest = undefined;
      await send(s, file.subarray(offset));
    },
    LIST: async (_a, s) => {
      const lines = [...s.files].map(
        ([name, b]) => `-rw-r--r--    1 1000     1000     ${b.length} Jan 01  2024 ${name}`,
      );
      await send(s, Buffer.from(lines.map((l) => `${l}\r\n`).join('')));
    },
    SIZE: (arg, s) => {
      const file = s.files.get(arg);
      s.reply(file ? `213 ${file.length}` : '550 No such file');
    },
    DELE: (arg, s) => s.reply(s.files.delete(arg) ? '250 Deleted' : '550 No such file'),
  };
}

/** Resolves after `ms` milliseconds. */
export async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}
