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

/** How {@link treeHandlers} answers: the reply texts and habits of one server product. */
export interface TreeStyle {
  /** Names compare without case (Windows: IIS, FileZilla Server); a name keeps the case it was made with. */
  caseInsensitive?: boolean;
  /** LIST lines: `unix` (`-rw-r--r-- 1 owner group size Mon DD HH:MM name`) or `dos` (IIS). Default unix. */
  list?: 'unix' | 'dos';
  /** MLSD facts of an entry (without the name); none: MLSD answers 500. */
  mlsd?: (e: { type: 'file' | 'dir'; size: number; modify: string }) => string;
  /** Trailing spaces and dots of each name are dropped, in every command alike (Windows file names). */
  dropTrailing?: boolean;
  /** LIST takes no `-a` (IIS): it is read as a name, which is not there. */
  noListFlags?: boolean;
  /** RNTO onto an existing file is refused (IIS): this 550 text. */
  noRenameOver?: string;
  /** The 257 reply to PWD, `%s` the folder. Default `257 "%s" is the current directory`. */
  pwd?: string;
  /** The 550 reply for a name that is not there. */
  notFound?: string;
  /** The 550 reply for MKD of a name that is there. */
  exists?: string;
  /** The reply before a transfer's data. Default `150 Opening data connection`. */
  start?: string;
  /** Symlinks shown in LIST (unix) by their path: `name -> target`; never followed. */
  links?: Map<string, string>;
  /** The time a LIST line shows for a file (`Mon DD HH:MM` or `Mon DD  YYYY`), by path. Default `Jan 01  2024`. */
  unixDate?: (path: string) => string;
}

/**
 * Handlers that keep a real tree: folders (`dirs`, `/` always there) beside the server's `files`, a working
 * folder per session (CWD, relative names), MKD/RMD/DELE/RNFR/RNTO/SIZE/MDTM/LIST/MLSD/STOR/RETR on it, in
 * the style of one server product. `tree()` gives every file and folder by path, to compare with a local tree.
 */
export function treeHandlers(style: TreeStyle = {}): {
  handlers: Record<string, FakeHandler>;
  dirs: Set<string>;
  /** Files by path (`path: content`) and folders (`path/: ''`), `/` at the root left out of each path. */
  tree(files: Map<string, Buffer>): Record<string, string>;
} {
  const dirs = new Set<string>(['/']);
  const key = (p: string): string => (style.caseInsensitive ? p.toLowerCase() : p);
  const notFound = style.notFound ?? '550 No such file or directory';
  const start = style.start ?? '150 Opening data connection';
  const resolve = (arg: string, s: FakeSession): string => {
    const base = arg.startsWith('/') ? '' : ((s.state.cwd as string | undefined) ?? '/');
    const parts: string[] = [];
    for (const part of `${base}/${arg}`.split('/')) {
      if (part === '' || part === '.') continue;
      if (part === '..') parts.pop();
      else parts.push(style.dropTrailing ? part.replace(/[ .]+$/, '') || part : part);
    }
    return `/${parts.join('/')}`;
  };
  /** The stored spelling of `p` (its case, on a case-insensitive server), or undefined. */
  const findFile = (p: string, s: FakeSession): string | undefined =>
    [...s.files.keys()].find((f) => key(f) === key(p));
  const findDir = (p: string): string | undefined => [...dirs].find((d) => key(d) === key(p));
  const parentOf = (p: string): string => p.slice(0, p.lastIndexOf('/')) || '/';
  const children = (
    dir: string,
    s: FakeSession,
  ): Array<{ name: string; type: 'file' | 'dir' | 'link'; size: number }> => {
    const prefix = dir === '/' ? '/' : `${dir}/`;
    const direct = (p: string): boolean =>
      p.startsWith(prefix) && p !== dir && !p.slice(prefix.length).includes('/');
    return [
      ...[...dirs]
        .filter(direct)
        .map((p) => ({ name: p.slice(prefix.length), type: 'dir' as const, size: 0 })),
      ...[...s.files]
        .filter(([p]) => direct(p))
        .map(([p, b]) => ({ name: p.slice(prefix.length), type: 'file' as const, size: b.length })),
      ...[...(style.links ?? new Map<string, string>()).keys()]
        .filter(direct)
        .map((p) => ({ name: p.slice(prefix.length), type: 'link' as const, size: 0 })),
    ];
  };
  const send = async (s: FakeSession, body: string | Buffer): Promise<void> => {
    if (!s.hasDataChannel()) return s.reply('425 Use PORT or PASV first');
    s.reply(start);
    const data = await s.dataSocket();
    data.end(body);
    await new Promise((r) => data.once('close', r));
    s.reply('226 Transfer complete');
  };
  const listed = (arg: string, s: FakeSession): string | undefined => {
    const path = style.noListFlags ? arg : arg.replace(/^-[a-zA-Z]+\s*/, '');
    return findDir(resolve(path, s));
  };
  const line = (dir: string, e: { name: string; type: 'file' | 'dir' | 'link'; size: number }): string => {
    const full = `${dir === '/' ? '' : dir}/${e.name}`;
    if (style.list === 'dos') {
      const when = '11-24-26  01:40PM';
      return e.type === 'dir'
        ? `${when}       <DIR>          ${e.name}`
        : `${when} ${String(e.size).padStart(20)} ${e.name}`;
    }
    const date = style.unixDate?.(full) ?? 'Jan 01  2024';
    if (e.type === 'link')
      return `lrwxrwxrwx    1 1000     1000     ${String(e.size).padStart(8)} ${date} ${e.name} -> ${style.links?.get(full)}`;
    const mode = e.type === 'dir' ? 'drwxr-xr-x' : '-rw-r--r--';
    return `${mode}    1 1000     1000     ${String(e.size).padStart(8)} ${date} ${e.name}`;
  };
  const handlers: Record<string, FakeHandler> = {
    PWD: (_a, s) =>
      s.reply(
        (style.pwd ?? '257 "%s" is the current directory').replace('%s', (s.state.cwd as string) ?? '/'),
      ),
    CWD: (arg, s) => {
      const d = findDir(resolve(arg, s));
      if (!d) return s.reply(notFound);
      s.state.cwd = d;
      s.reply('250 CWD command successful.');
    },
    CDUP: (_a, s) => {
      s.state.cwd = parentOf((s.state.cwd as string) ?? '/');
      s.reply('250 CDUP command successful.');
    },
    MKD: (arg, s) => {
      const p = resolve(arg, s);
      if (findDir(p) || findFile(p, s)) return s.reply(style.exists ?? '550 File exists');
      if (!findDir(parentOf(p))) return s.reply(notFound);
      dirs.add(`${findDir(parentOf(p))}/${p.slice(p.lastIndexOf('/') + 1)}`.replace(/^\/\//, '/'));
      s.reply(`257 "${p}" directory created.`);
    },
    RMD: (arg, s) => {
      const d = findDir(resolve(arg, s));
      if (!d || d === '/') return s.reply(notFound);
      if (children(d, s).length > 0) return s.reply('550 The directory is not empty.');
      dirs.delete(d);
      s.reply('250 RMD command successful.');
    },
    DELE: (arg, s) => {
      const f = findFile(resolve(arg, s), s);
      if (!f) return s.reply(notFound);
      s.files.delete(f);
      s.reply('250 DELE command successful.');
    },
    RNFR: (arg, s) => {
      const p = resolve(arg, s);
      s.state.from = findFile(p, s) ?? findDir(p);
      s.reply(s.state.from ? '350 Requested file action pending further information.' : notFound);
    },
    RNTO: (arg, s) => {
      const from = s.state.from as string | undefined;
      s.state.from = undefined;
      if (!from) return s.reply('503 Bad sequence of commands.');
      const named = resolve(arg, s);
      // In its folder as stored (the case the folder was made with), under the name given.
      const to = `${findDir(parentOf(named)) ?? ''}/${named.slice(named.lastIndexOf('/') + 1)}`.replace(
        /^\/\//,
        '/',
      );
      const same = key(from) === key(to);
      const over = findFile(to, s);
      if (!findDir(parentOf(named))) return s.reply(notFound);
      if (!same && findDir(to)) return s.reply(style.exists ?? '550 File exists');
      if (!same && over && style.noRenameOver) return s.reply(style.noRenameOver);
      const file = s.files.get(from);
      if (file) {
        s.files.delete(from);
        if (over) s.files.delete(over);
        s.files.set(to, file);
      } else {
        const moved = (p: string): string => to + p.slice(from.length);
        const under = (p: string): boolean => p === from || p.startsWith(`${from}/`);
        for (const d of [...dirs].filter(under)) {
          dirs.delete(d);
          dirs.add(moved(d));
        }
        for (const [p, b] of [...s.files].filter(([p]) => under(p))) {
          s.files.delete(p);
          s.files.set(moved(p), b);
        }
      }
      s.reply('250 RNTO command successful.');
    },
    SIZE: (arg, s) => {
      const f = findFile(resolve(arg, s), s);
      s.reply(f ? `213 ${s.files.get(f)?.length}` : notFound);
    },
    MDTM: (arg, s) => s.reply(findFile(resolve(arg, s), s) ? '213 20261124134000' : notFound),
    STOR: async (arg, s) => {
      const p = resolve(arg, s);
      if (!findDir(parentOf(p)) || findDir(p)) return s.reply(notFound);
      if (!s.hasDataChannel()) return s.reply('425 Use PORT or PASV first');
      s.reply(start);
      const socket = await s.dataSocket();
      const data = await s.readAll(socket);
      socket.end();
      const offset = Number(s.state.rest ?? 0);
      s.state.rest = undefined;
      // An existing file keeps the case of its name (NTFS); its bytes from REST's offset on are replaced.
      const at =
        findFile(p, s) ?? `${findDir(parentOf(p))}/${p.slice(p.lastIndexOf('/') + 1)}`.replace(/^\/\//, '/');
      const old = offset ? (s.files.get(at) ?? Buffer.alloc(0)).subarray(0, offset) : Buffer.alloc(0);
      s.files.set(at, Buffer.concat([old, data]));
      s.reply('226 Transfer complete');
    },
    RETR: async (arg, s) => {
      const f = findFile(resolve(arg, s), s);
      if (!f) return s.reply(notFound);
      const offset = Number(s.state.rest ?? 0);
      s.state.rest = undefined;
      await send(s, (s.files.get(f) as Buffer).subarray(offset));
    },
    LIST: async (arg, s) => {
      const d = listed(arg, s);
      if (!d) return s.reply(notFound);
      await send(
        s,
        children(d, s)
          .map((e) => `${line(d, e)}\r\n`)
          .join(''),
      );
    },
    MLSD: async (arg, s) => {
      if (!style.mlsd) return s.reply('500 Command not understood.');
      const d = findDir(resolve(arg, s));
      if (!d) return s.reply(notFound);
      const facts = style.mlsd;
      const lines = children(d, s)
        .filter((e) => e.type !== 'link')
        .map(
          (e) =>
            `${facts({ type: e.type as 'file' | 'dir', size: e.size, modify: '20261124134000' })} ${e.name}\r\n`,
        );
      await send(s, lines.join(''));
    },
  };
  return {
    handlers,
    dirs,
    tree(files) {
      const out: Record<string, string> = {};
      for (const d of dirs) if (d !== '/') out[`${d.slice(1)}/`] = '';
      for (const [p, b] of files) out[p.slice(1)] = b.toString();
      return out;
    },
  };
}
