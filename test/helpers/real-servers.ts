// Real FTP servers on loopback (pure-ftpd, vsftpd, proftpd), started by test/servers/start.sh, which writes
// test/servers/.env.json. Tests that need them call loadRealServers() and skip when it returns undefined.
import { chownSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe } from '@jest/globals';
import { FtpClient, type DeployOptions } from '../../src/index.js';
import type { FtpConnectOptions } from '../../src/ftp/index.js';
import { uniqueName } from './tmp.js';

export interface RealServer {
  /**
   * Key in .env.json: pure | pureNoDot | pureQuota | vsftpd | vsftpdImplicit | proftpd | proftpdResume |
   * proftpdImplicit | proftpdMax | proftpdHost | proftpdNoRename | vsftpdHost.
   */
  name: string;
  software: 'pure-ftpd' | 'vsftpd' | 'proftpd';
  host: string;
  port: number;
  user: string;
  password: string;
  /** Absolute local path of the user's FTP root (the server chroots there): inspect files directly. */
  home: string;
  uid: number;
  gid: number;
  /** AUTH TLS offered (never required: plain FTP works too). */
  explicitTls: boolean;
  /** TLS from the first byte (the port speaks nothing else). */
  implicitTls: boolean;
  mlsd: boolean;
  /** REST + STOR and APPE allowed (proftpd's default answers 451). */
  resume: boolean;
  /** TLS data connections must reuse the control connection's session (else 522 / 425). */
  tlsSessionReuseRequired: boolean;
  pasvPorts: [number, number];
  /** Listings stop silently after this many entries (pure-ftpd's -L default); null: no limit. */
  listLimit: number | null;
}

export interface RealServers {
  pure: RealServer;
  /** pure-ftpd with -X (names starting with a dot refused: 553), as the pure-ftpd user. */
  pureNoDot: RealServer;
  /** pure-ftpd, a virtual user with a 1 MB disk quota (552 past it); usage in <home>/.ftpquota. */
  pureQuota: RealServer;
  vsftpd: RealServer;
  vsftpdImplicit: RealServer;
  /** vsftpd as a shared host sets it, as the vsftpd user: chmod_enable=NO, deny_file for .user.ini and .ftpaccess. */
  vsftpdHost: RealServer;
  proftpd: RealServer;
  proftpdResume: RealServer;
  /** Only when proftpd's implicit TLS came up. */
  proftpdImplicit?: RealServer;
  /** proftpd with MaxClientsPerUser 2 (a shared host's connection limit), as the proftpd user. */
  proftpdMax: RealServer;
  /**
   * proftpd as a shared host sets it, as the proftpd user: AllowOverwrite off, PathDenyFilter on .htaccess and
   * .ftpaccess, uploads at 4 MB/s.
   */
  proftpdHost: RealServer;
  /** proftpd refusing every rename (`<Limit RNFR RNTO> DenyAll`), as the proftpd user. */
  proftpdNoRename: RealServer;
  /** PEM certificate of all servers (self-signed, CN=localhost, SAN localhost + 127.0.0.1): use as CA. */
  ca: string;
}

export const ENV_JSON = join(dirname(fileURLToPath(import.meta.url)), '..', 'servers', '.env.json');

/** The servers described by test/servers/.env.json, or undefined when start.sh has not run. */
export function loadRealServers(suite?: string): RealServers | undefined {
  if (!existsSync(ENV_JSON)) {
    if (suite)
      console.log(
        `${suite}: test/servers/.env.json is absent — skipping (run test/servers/setup.sh and start.sh)`,
      );
    return undefined;
  }
  return JSON.parse(readFileSync(ENV_JSON, 'utf8')) as RealServers;
}

/** Empties the server's FTP root, keeping the folder itself, owned by the FTP user. */
export function resetHome(server: RealServer): void {
  for (const entry of readdirSync(server.home)) {
    rmSync(join(server.home, entry), { recursive: true, force: true });
  }
  chownSync(server.home, server.uid, server.gid);
}

/**
 * Unique folders in the servers' roots for one test file (other files share the servers), removed after
 * the file's tests. Returns the maker: `dir` is the remote path, `disk` the same folder on local disk.
 */
export function remoteFolders(prefix: string): (server: RealServer) => { dir: string; disk: string } {
  const made: string[] = [];
  afterAll(() => {
    for (const p of made) rmSync(p, { recursive: true, force: true });
  });
  return (server) => {
    const name = uniqueName(prefix);
    const disk = join(server.home, name);
    made.push(disk);
    return { dir: `/${name}`, disk };
  };
}

/** A plain FTP client logged in to a real server as its test user (to set a scene as another tool would). */
export async function plainClient(
  server: RealServer,
  extra: Partial<FtpConnectOptions> = {},
): Promise<FtpClient> {
  return FtpClient.connect({
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    secure: false,
    timeoutMs: 15_000,
    ...extra,
  });
}

/** The TLS mode a server offers by default: implicit, else explicit, else plain. */
export function defaultSecure(server: RealServer): DeployOptions['secure'] {
  return server.implicitTls ? 'implicit' : server.explicitTls ? 'explicit' : false;
}

/** deploy() options for a real server: its login, the test CA, quick retries and timeouts. */
export function realDeployOptions(
  server: RealServer,
  ca: string,
  secure: DeployOptions['secure'],
  localDir: string,
  remoteDir: string,
  extra: Partial<DeployOptions> = {},
): DeployOptions {
  return {
    localDir,
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    secure,
    tls: { ca: readFileSync(ca) },
    remoteDir,
    retryDelayMs: 10,
    timeoutMs: 10_000,
    ...extra,
  };
}

const LABELS: Record<string, string> = {
  pure: 'pure-ftpd',
  vsftpd: 'vsftpd (ftpes)',
  vsftpdImplicit: 'vsftpd (ftps)',
  proftpd: 'proftpd (ftpes)',
  proftpdResume: 'proftpd with resume (ftpes)',
};

/**
 * What a real-server test file starts with: the servers (or a skip, with a message, when start.sh has not
 * run), `describe` or `describe.skip` to match, deploy() options for a server in its default TLS mode, and
 * `each(...)` rows of [label, server] for `describe.each`.
 */
export function realServerSuite(suite: string): {
  servers: RealServers | undefined;
  env: RealServers;
  describe: typeof describe | typeof describe.skip;
  opts: (
    server: RealServer,
    localDir: string,
    remoteDir: string,
    extra?: Partial<DeployOptions>,
  ) => DeployOptions;
  each: (...names: Array<Exclude<keyof RealServers, 'ca'>>) => Array<[string, RealServer]>;
} {
  const servers = loadRealServers(suite);
  const env = servers as RealServers;
  return {
    servers,
    env,
    describe: servers ? describe : describe.skip,
    opts: (server, localDir, remoteDir, extra = {}) =>
      realDeployOptions(server, env.ca, defaultSecure(server), localDir, remoteDir, extra),
    // Without servers, one placeholder row: describe.skip.each([]) would throw instead of skipping.
    each: (...names) =>
      !servers
        ? [['(no servers)', {} as RealServer]]
        : names.flatMap((n) =>
            env[n] ? [[LABELS[n] ?? n, env[n] as RealServer] as [string, RealServer]] : [],
          ),
  };
}

/** A deploy's failure as the test sees it: the error, with the CLI's exit code where it has one. */
export type Failure = Error & { exitCode?: number };

/** What `p` failed with, or undefined when it succeeded. */
export async function outcome(p: Promise<unknown>): Promise<Failure | undefined> {
  return p.then(
    () => undefined,
    (e: unknown) => e as Failure,
  );
}

/**
 * The lock folder `lockName` in `disk` as a deploy leaves it the moment its MKD succeeded (or killed right
 * after): no holder yet. Owned by the server's user. Returns its path on disk.
 */
export function freshLock(server: RealServer, disk: string, lockName = '.ftpship-state.json.lock'): string {
  const lock = join(disk, lockName);
  mkdirSync(lock, { recursive: true });
  chownSync(disk, server.uid, server.gid);
  chownSync(lock, server.uid, server.gid);
  return lock;
}
