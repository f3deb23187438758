/**
 * The deploy-engine model of model.ftpsrv.test.ts (helpers/model.ts) on pure-ftpd, whose MKD and RMD are
 * not recursive and which answers 550 to MKD of an existing folder. 40 runs, each in its own folder.
 * Skipped, with a message, when test/servers/.env.json is absent.
 */
import { it } from '@jest/globals';
import fc from 'fast-check';
import { realServerSuite, remoteFolders } from './helpers/real-servers.js';
import { checkModelRun, modelCommands } from './helpers/model.js';
import { tmpDir } from './helpers/tmp.js';

const { describe: d, opts, each } = realServerSuite('model.realservers');
const target = remoteFolders('model');

d.each(each('pure'))('%s: deploy engine model', (_name, srv) => {
  it('random local changes, invariants after each deploy (fixed seed and a random one)', async () => {
    for (const params of [{ seed: 20261126, numRuns: 25 }, { numRuns: 15 }])
      await fc.assert(
        fc.asyncProperty(modelCommands(), async (steps) => {
          const local = tmpDir('ftpship-model-');
          const { dir, disk } = target(srv);
          await checkModelRun(steps, local, disk, (extra) => opts(srv, local, dir, extra));
        }),
        params,
      );
  }, 180_000);
});
