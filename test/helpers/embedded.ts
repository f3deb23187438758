import {
  startEmbeddedServer,
  type EmbeddedServer,
  type EmbeddedServerOptions,
} from '../../src/embedded-server.js';
import { Writable } from 'node:stream';
import { afterAll, beforeAll } from '@jest/globals';
import type { DeployOptions } from '../../src/index.js';
import type { GulpDeployOptions } from '../../gulp-plugin/index.js';
import { assertBuilt, spawnCli, type SpawnResult } from './cli-spawn.js';
import { tmpDir } from './tmp.js';

/** Starts an ftp-srv with a fresh root; one per test file (ftp-srv installs process-wide handlers). */
export async function embedded(options: Omit<EmbeddedServerOptions, 'root'> = {}): Promise<EmbeddedServer> {
  return startEmbeddedServer({ root: tmpDir('ftpship-srv-'), ...options });
}

/**
 * An embedded server whose uploads to a path ending in `failOn()` (asked at each upload; undefined: none) fail
 * on the server's side, as on a full disk.
 */
export async function embeddedFailing(failOn: () => string | undefined): Promise<EmbeddedServer> {
  return embedded({
    wrapUpload: (fsPath, stream) => {
      const suffix = failOn();
      return suffix !== undefined && fsPath.endsWith(suffix)
        ? new Writable({ write: (_chunk, _enc, done) => done(new Error('No space left on device')) })
        : stream;
    },
  });
}

/** One embedded server for the calling test file: started before its tests, closed after; returns a getter. */
export function useEmbedded(options: Omit<EmbeddedServerOptions, 'root'> = {}): () => EmbeddedServer {
  let srv: EmbeddedServer | undefined;
  beforeAll(async () => {
    srv = await embedded(options);
  });
  afterAll(async () => {
    await srv?.close();
  });
  return () => srv as EmbeddedServer;
}

/** Where and as whom to log in to `srv`. */
export function login(srv: EmbeddedServer): { host: string; port: number; user: string; password: string } {
  return { host: srv.host, port: srv.port, user: srv.user, password: srv.password };
}

/** deploy() options for `srv`, with a short retry backoff (tests). */
export function deployOptions(
  srv: EmbeddedServer,
  localDir: string,
  remoteDir: string,
  extra: Partial<DeployOptions> = {},
): DeployOptions {
  return { ...login(srv), localDir, remoteDir, retryDelayMs: 10, ...extra };
}

/** The gulp plugin's options for the server `srv()` gives (see useEmbedded): quiet, a short retry backoff. */
export function gulpOptionsFor(
  srv: () => EmbeddedServer,
): (remoteDir: string, extra?: Partial<GulpDeployOptions>) => GulpDeployOptions {
  return (remoteDir, extra = {}) => ({ ...login(srv()), remoteDir, retryDelayMs: 10, quiet: true, ...extra });
}

/**
 * One embedded server for the calling test file, for the spawned CLI (dist/ must be built): the server, the
 * URL of a folder on it, and `ftpship <args>` run from a fresh cwd and HOME with the password in the environment.
 */
export function useEmbeddedCli(): {
  srv: () => EmbeddedServer;
  url: (dir: string) => string;
  cli: (args: string[]) => Promise<SpawnResult>;
} {
  beforeAll(() => assertBuilt());
  const srv = useEmbedded();
  return {
    srv,
    url: (dir) => `ftp://${srv().user}@${srv().host}:${srv().port}/${dir}`,
    cli: async (args) => {
      const cwd = tmpDir('ftpship-cwd-');
      return spawnCli(args, { cwd, env: { FTPSHIP_PASSWORD: srv().password, HOME: cwd } });
    },
  };
}
