/**
 * `--no-replace` and `--delete-only` on pure-ftpd and vsftpd (real MKD, RMD and rename semantics, the server
 * running as its user): the server's folder on disk after each run, and a plain run afterwards converging
 * (the state recorded what the option left). The same scenarios as toggles.ftpsrv.test.ts.
 */
import { it } from '@jest/globals';
import { remoteFolders, realServerSuite } from './helpers/real-servers.js';
import { deleteOnlyScenario, noReplaceScenario } from './helpers/toggles.js';

const { describe: d, opts, each } = realServerSuite('toggles.realservers');
const target = remoteFolders('h-toggles');

d.each(each('pure', 'vsftpd'))('%s', (_name, server) => {
  it('--no-replace leaves changed files and type swaps; a plain run then replaces them', async () => {
    const { dir, disk } = target(server);
    await noReplaceScenario((local, extra) => opts(server, local, dir, extra), disk);
  });

  it('--delete-only deletes the orphans alone; a plain run then sends the rest', async () => {
    const { dir, disk } = target(server);
    await deleteOnlyScenario((local, extra) => opts(server, local, dir, extra), disk);
  });
});
