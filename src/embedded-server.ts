/**
 * An embedded FTP server (ftp-srv, a dev dependency) for `ftpship demo` and the fast test suite.
 * Loaded with a dynamic import so the library never needs ftp-srv at run time.
 */
import fs from 'node:fs';

export interface EmbeddedServer {
  host: string;
  port: number;
  user: string;
  password: string;
  root: string;
  close(): Promise<void>;
}

export interface EmbeddedServerOptions {
  root: string;
  user?: string;
  password?: string;
  /** Passive port range; pick an unusual one (ftp-srv's port finder gives up after a few tries). */
  pasvMin?: number;
  pasvMax?: number;
  /** Key and certificate to offer explicit TLS (AUTH TLS), or implicit TLS with `implicit`. */
  tls?: { key: string | Buffer; cert: string | Buffer; implicit?: boolean };
}

type FtpSrvModule = typeof import('ftp-srv');

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

/** Starts ftp-srv on 127.0.0.1 with an ephemeral control port. */
export async function startEmbeddedServer(options: EmbeddedServerOptions): Promise<EmbeddedServer> {
  let mod: FtpSrvModule;
  try {
    const loaded = (await import('ftp-srv')) as unknown as FtpSrvModule & { default?: FtpSrvModule };
    mod = loaded.FtpSrv ? loaded : (loaded.default as FtpSrvModule);
  } catch {
    throw new Error('the embedded FTP server needs the dev dependency ftp-srv: run `npm ci` in the ftpship checkout');
  }
  const user = options.user ?? 'demo';
  const password = options.password ?? 'demo-password';
  const pasvMin = options.pasvMin ?? 47000 + Math.floor(Math.random() * 1500);
  const scheme = options.tls?.implicit ? 'ftps' : 'ftp';
  const server = new mod.FtpSrv({
    url: `${scheme}://127.0.0.1:0`,
    pasv_url: '127.0.0.1',
    pasv_min: pasvMin,
    pasv_max: options.pasvMax ?? pasvMin + 400,
    anonymous: false,
    tls: options.tls ? { key: options.tls.key, cert: options.tls.cert } : false,
    log: quietLog as never,
  });
  const ResumableFs = resumableFileSystem(mod);
  server.on('login', ({ connection, username, password: pass }, resolve, reject) => {
    if (username === user && pass === password) resolve({ fs: new ResumableFs(connection, { root: options.root, cwd: '/' }) });
    else reject(new Error('Login incorrect'));
  });
  server.on('client-error', () => {});
  await server.listen();
  const raw = (server as unknown as { server: import('node:net').Server }).server;
  const port = (raw.address() as import('node:net').AddressInfo).port;
  return {
    host: '127.0.0.1',
    port,
    user,
    password,
    root: options.root,
    close: async () => {
      await server.close().catch(() => undefined);
    },
  };
}

/**
 * ftp-srv's FileSystem truncates on `REST n` + STOR, zero-filling the first n bytes; this one opens the file
 * for update at the offset instead, as real servers do, so resume can be demonstrated on it.
 */
function resumableFileSystem(mod: FtpSrvModule): typeof mod.FileSystem {
  return class extends mod.FileSystem {
    override write(fileName: string, opts: { append?: boolean; start?: number } = {}): ReturnType<typeof mod.FileSystem.prototype.write> {
      if (!opts.start || opts.append) return super.write(fileName, opts);
      const self = this as unknown as { _resolvePath(p: string): { fsPath: string; clientPath: string } };
      const { fsPath, clientPath } = self._resolvePath(fileName);
      const stream = fs.createWriteStream(fsPath, { flags: 'r+', start: opts.start });
      return { stream, clientPath } as unknown as ReturnType<typeof mod.FileSystem.prototype.write>;
    }
  };
}
