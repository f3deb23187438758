/** Deploy targets on the real servers and on ftp-srv, for a test file that runs the same tests on each. */
import path from 'node:path';
import type { DeployOptions } from '../../src/index.js';
import { deployOptions, useEmbedded } from './embedded.js';
import { remoteFolders, type RealServer, type RealServers, type realServerSuite } from './real-servers.js';
import { uniqueName } from './tmp.js';

/** A fresh folder to deploy to: `dir` the remote path, `disk` the same folder on local disk, and deploy() options. */
export interface DeployTarget {
  dir: string;
  disk: string;
  opts: (local: string, dir: string, extra?: Partial<DeployOptions>) => DeployOptions;
}

/**
 * Targets for one test file, each a folder named `prefix`-…: `real(server)` on a real server (removed after the
 * file's tests), `ftpSrv()` on an ftp-srv of the file's own (started before its tests), and `rows`, one maker
 * for each real server named (none when the servers are not up), then ftp-srv, for describe.each. `folder` is
 * the real servers' folder maker.
 */
export function deployTargets(
  suite: ReturnType<typeof realServerSuite>,
  prefix: string,
  ...names: Array<Exclude<keyof RealServers, 'ca'>>
): {
  folder: (server: RealServer) => { dir: string; disk: string };
  real: (server: RealServer) => DeployTarget;
  ftpSrv: () => DeployTarget;
  rows: Array<[string, () => DeployTarget]>;
} {
  const folder = remoteFolders(prefix);
  const srv = useEmbedded();
  const real = (server: RealServer): DeployTarget => ({
    ...folder(server),
    opts: (local, dir, extra) => suite.opts(server, local, dir, extra),
  });
  const ftpSrv = (): DeployTarget => {
    const s = srv();
    const name = uniqueName(prefix);
    return {
      dir: `/${name}`,
      disk: path.join(s.root, name),
      opts: (local, dir, extra) => deployOptions(s, local, dir, extra),
    };
  };
  const rows: Array<[string, () => DeployTarget]> = [
    ...(suite.servers ? suite.each(...names) : []).map(([label, server]): [string, () => DeployTarget] => [
      label,
      () => real(server),
    ]),
    ['ftp-srv', ftpSrv],
  ];
  return { folder, real, ftpSrv, rows };
}
