/**
 * An embedded FTP server (ftp-srv, a dev dependency) for `ftpship demo` and the fast test suite.
 * Loaded with a dynamic import so the library never needs ftp-srv at run time.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import nodePath from 'node:path';
import type net from 'node:net';

export interface EmbeddedServer {
  host: string;
  port: number;
  user: string;
  password: string;
  root: string;
  /** The ftp-srv instance itself, for tests that cut its sockets. */
  ftpSrv: unknown;
  close(): Promise<void>;
}

export interface EmbeddedServerOptions {
  root: string;
  user?: string;
  password?: string;
  /** Passive port range; pick an unusual one (ftp-srv's port finder gives up after a few tries). */
  pasvMin?: number;
  pasvMax?: number;
  /** Test hook: wraps the stream each upload is written to (to throttle or watch it). */
  wrapUpload?: (fsPath: string, stream: fs.WriteStream) => import('node:stream').Writable;
  /** Test hook: refuse RNTO onto an existing file, as IIS and some other servers do. */
  refuseRenameOver?: boolean;
  /** Test hook: the server's clock is this far off (negative: behind); a file's time (MDTM) shifts by it. */
  clockOffsetMs?: number;
  /**
   * Test hook: names are case-insensitive, as on a Windows server (IIS, FileZilla Server on NTFS): a path
   * whose name matches an existing entry but for case reaches that entry; a new entry keeps the case given.
   */
  caseInsensitive?: boolean;
  /** Test hook: SITE CHMOD of a path (as the client named it) this returns true for fails (ftp-srv answers 500). */
  refuseChmod?: (path: string) => boolean;
  /**
   * Test hook: a login over plain FTP is refused (530) with this text, whatever the password, as vsftpd's
   * `force_local_logins_ssl` does ("Non-anonymous sessions must use encryption."). Give `tls` too.
   */
  refusePlainLogin?: string;
  /** Test hook: the folder a login starts in (PWD), as a server's home folder; it must exist. Default `/`. */
  loginFolder?: string;
  /** Key and certificate to offer explicit TLS (AUTH TLS), or implicit TLS with `implicit`. */
  tls?: { key: string | Buffer; cert: string | Buffer; implicit?: boolean };
  /** Test hook: the address to listen on, control and passive ports: `::1` for IPv6. Default 127.0.0.1. */
  host?: string;
}

type FtpSrvModule = typeof import('ftp-srv');

const FTP_SRV_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGQUIT'] as const;

const quietLog = {
  info: () => {},
  debug: () => {},
  warn: () => {},
  error: () => {},
  trace: () => {},
  fatal: () => {},
  child(): unknown {
    return quietLog;
  },
};

/** Starts ftp-srv on 127.0.0.1 (or `options.host`) with an ephemeral control port. */
export async function startEmbeddedServer(options: EmbeddedServerOptions): Promise<EmbeddedServer> {
  let mod: FtpSrvModule;
  try {
    const loaded = (await import('ftp-srv')) as unknown as FtpSrvModule & { default?: FtpSrvModule };
    mod = loaded.FtpSrv ? loaded : (loaded.default as FtpSrvModule);
  } catch {
    throw new Error(
      'the embedded FTP server needs the dev dependency ftp-srv: run `npm ci` in the ftpship checkout',
    );
  }
  if (options.tls) closeAuthTlsRace();
  const user = options.user ?? 'demo';
  const password = options.password ?? 'demo-password';
  // Above Linux's ephemeral range (32768-60999): inside it, a burst of connections to one server takes a block
  // of consecutive ports, and ftp-srv, which tries five in a row, answered EPSV "400 Unable to find valid port"
  // until the deploy's retries ran out (met in CI). A random start keeps several servers apart.
  const pasvMin = options.pasvMin ?? 62000 + Math.floor(Math.random() * 3000);
  const scheme = options.tls?.implicit ? 'ftps' : 'ftp';
  const host = options.host ?? '127.0.0.1';
  // ftp-srv's constructor makes SIGINT, SIGTERM and SIGQUIT close it and exit 0 (`process.exit(0)`): Ctrl-C on
  // `ftpship demo` (or a gulpfile using this server) ended it "successfully", its temporary files left behind.
  // Those listeners are taken off again: whoever runs the server decides what a signal does.
  const before = new Map(FTP_SRV_SIGNALS.map((s) => [s, process.listeners(s)]));
  const server = new mod.FtpSrv({
    url: `${scheme}://${host.includes(':') ? `[${host}]` : host}:0`,
    pasv_url: host,
    pasv_min: pasvMin,
    pasv_max: options.pasvMax ?? pasvMin + 400,
    anonymous: false,
    tls: options.tls ? { key: options.tls.key, cert: options.tls.cert } : false,
    log: quietLog as never,
  });
  for (const s of FTP_SRV_SIGNALS)
    for (const l of process.listeners(s)) if (!before.get(s)?.includes(l)) process.off(s, l);
  const ResumableFs = resumableFileSystem(mod, options);
  server.on('login', ({ connection, username, password: pass }, resolve, reject) => {
    if (options.refusePlainLogin && !connection.secure) reject(new Error(options.refusePlainLogin));
    else if (username === user && pass === password)
      resolve({ fs: new ResumableFs(connection, { root: options.root, cwd: options.loginFolder ?? '/' }) });
    else reject(new Error('Login incorrect'));
  });
  server.on('client-error', () => {});
  lingerNot(server);
  const raw = (server as unknown as { server: import('node:net').Server }).server;
  // ftp-srv writes each reply on its own: with Nagle's algorithm on, a reply written while the one before is
  // unacknowledged waits for the client's delayed ACK (40 ms on Linux) — after a pipelined USER and PASS,
  // between 150 and 226, for each pipelined MKD. A deploy of three files took 550 ms instead of 100 ms. (On a
  // TLS server, 'connection' gives the TCP socket under it, before the handshake.)
  raw.on('connection', (socket: import('node:net').Socket) => socket.setNoDelay(true));
  await server.listen();
  const port = (raw.address() as import('node:net').AddressInfo).port;
  return {
    host,
    port,
    user,
    password,
    root: options.root,
    ftpSrv: server,
    close: async () => {
      await server.close().catch(() => undefined);
    },
  };
}

interface AuthCommand {
  handler: (this: AuthConnection, args: { command: { arg: string } }) => unknown;
  ftpshipPaused?: boolean;
}
interface AuthConnection {
  commandSocket: net.Socket;
  secure: boolean;
}

/**
 * ftp-srv answers AUTH TLS with 234 and wraps the control socket in TLS only once that reply is written: a
 * TLS ClientHello arriving in between reaches ftp-srv's command parser, as plain text, and is answered as a
 * bad command — nine times in ten when the server's event loop is busy, as in a jest worker (the client then
 * sees "wrong version number" or a 502 quoting its own ClientHello). Here the socket is paused and its data
 * listeners are set aside from AUTH TLS until it is wrapped: the TLS layer takes the ClientHello from the
 * socket's buffer, and the listeners come back for the decrypted commands ftp-srv forwards to them.
 */
function closeAuthTlsRace(): void {
  const auth = createRequire(import.meta.url)('ftp-srv/src/commands/registration/auth.js') as AuthCommand;
  if (auth.ftpshipPaused) return;
  auth.ftpshipPaused = true;
  const original = auth.handler;
  auth.handler = async function (this: AuthConnection, args) {
    const raw = this.commandSocket;
    if (args.command.arg.toUpperCase() !== 'TLS' || this.secure) return original.call(this, args);
    raw.pause();
    const listeners = raw.listeners('data') as Array<(chunk: Buffer) => void>;
    raw.removeAllListeners('data');
    try {
      return await original.call(this, args);
    } finally {
      for (const l of listeners) raw.on('data', l);
      if (this.commandSocket === raw) raw.resume(); // not wrapped after all (no TLS configured)
    }
  };
}

/**
 * ftp-srv's FileSystem truncates on `REST n` + STOR, zero-filling the first n bytes; this one opens the file
 * for update at the offset instead, as real servers do, so resume can be demonstrated on it.
 */
function resumableFileSystem(mod: FtpSrvModule, options: EmbeddedServerOptions): typeof mod.FileSystem {
  type WriteResult = ReturnType<typeof mod.FileSystem.prototype.write>;
  return class extends mod.FileSystem {
    _resolvePath(p?: string): { clientPath: string; fsPath: string } {
      const base = mod.FileSystem.prototype as unknown as {
        _resolvePath(this: unknown, p?: string): { clientPath: string; fsPath: string };
      };
      const resolved = base._resolvePath.call(this, p);
      if (!options.caseInsensitive) return resolved;
      const root = (this as unknown as { root: string }).root;
      const rel = nodePath.relative(root, resolved.fsPath);
      if (!rel || rel.startsWith('..')) return resolved;
      let at = root;
      for (const part of rel.split(nodePath.sep)) {
        let next = nodePath.join(at, part);
        if (!fs.existsSync(next) && fs.existsSync(at) && fs.statSync(at).isDirectory()) {
          const same = fs.readdirSync(at).find((n) => n.toLowerCase() === part.toLowerCase());
          if (same) next = nodePath.join(at, same);
        }
        at = next;
      }
      return { clientPath: resolved.clientPath, fsPath: at };
    }

    // eslint-disable-next-line @typescript-eslint/promise-function-async -- ftp-srv expects its own (bluebird) promise back
    override get(fileName: string): ReturnType<typeof mod.FileSystem.prototype.get> {
      const got = super.get(fileName);
      const offset = options.clockOffsetMs;
      if (!offset) return got;
      return got.then((stat: fs.Stats) => {
        stat.mtime = new Date(stat.mtime.getTime() + offset);
        return stat;
      }) as ReturnType<typeof mod.FileSystem.prototype.get>;
    }

    override write(fileName: string, opts: { append?: boolean; start?: number } = {}): WriteResult {
      const self = this as unknown as { _resolvePath(p: string): { fsPath: string; clientPath: string } };
      const { fsPath, clientPath } = self._resolvePath(fileName);
      const flags = opts.append ? 'a' : opts.start ? 'r+' : 'w';
      const file = fs.createWriteStream(fsPath, { flags, start: opts.append ? undefined : opts.start });
      const stream = options.wrapUpload ? options.wrapUpload(fsPath, file) : file;
      return { stream, clientPath } as unknown as WriteResult;
    }

    // eslint-disable-next-line @typescript-eslint/promise-function-async -- ftp-srv expects its own (bluebird) promise back
    override rename(from: string, to: string): ReturnType<typeof mod.FileSystem.prototype.rename> {
      const self = this as unknown as { _resolvePath(p: string): { fsPath: string } };
      if (options.refuseRenameOver && fs.existsSync(self._resolvePath(to).fsPath)) {
        return Promise.reject(new Error('Cannot rename: destination exists')) as ReturnType<
          typeof mod.FileSystem.prototype.rename
        >;
      }
      return super.rename(from, to);
    }

    // eslint-disable-next-line @typescript-eslint/promise-function-async -- as rename
    override chmod(path: string, mode: string): ReturnType<typeof mod.FileSystem.prototype.chmod> {
      if (options.refuseChmod?.(path)) {
        return Promise.reject(new Error('Operation not permitted')) as ReturnType<
          typeof mod.FileSystem.prototype.chmod
        >;
      }
      return super.chmod(path, mode);
    }
  };
}

/**
 * ftp-srv's disconnectClient() (run for every session that ends, and for each open one by close()) starts a
 * 1 s timer it never clears, whose only act comes after the promise has settled: a process ending with the
 * embedded server (`ftpship demo`, a test file) stayed alive that second after its work. The same steps,
 * without the timer.
 */
function lingerNot(server: unknown): void {
  const srv = server as {
    connections: Record<string, { close(code?: number): unknown }>;
    disconnectClient(id: string): Promise<unknown>;
  };
  srv.disconnectClient = async (id: string) => {
    const session = srv.connections[id];
    if (!session) return;
    delete srv.connections[id];
    try {
      await session.close(0);
    } catch {
      // already closed
    }
  };
}
