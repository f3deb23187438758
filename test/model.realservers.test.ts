/**
 * The deploy-engine model of model.ftpsrv.test.ts (helpers/model.ts) on the real servers, whose MKD and RMD
 * are not recursive and which answer 550 to MKD of an existing folder: the local changes alone on pure-ftpd,
 * and the whole model (--keep and --exclude added and removed between deploys, --no-delete, --no-atomic,
 * --max-delete refusals, the state elsewhere and moved) on pure-ftpd, vsftpd and proftpd; each run in its own
 * folder. Then the sequences the model found failing, as plain tests. Skipped, with a message, when
 * test/servers/.env.json is absent.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import fc from 'fast-check';
import { deploy, DeployError } from '../src/index.js';
import { realServerSuite, remoteFolders } from './helpers/real-servers.js';
import { checkModelRun, modelCommands, modelRuns } from './helpers/model.js';
import { readTree, tmpDir, writeTree } from './helpers/tmp.js';

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

d.each(each('pure', 'vsftpd', 'proftpd'))(
  '%s: deploy engine model with keeps, excludes and options',
  (_name, srv) => {
    it('random changes of files and settings, invariants after each deploy (fixed seed and a random one)', async () => {
      for (const params of [{ seed: 20261127, numRuns: 3 }, { numRuns: 1 }])
        await fc.assert(
          fc.asyncProperty(modelRuns(), async (run) => {
            const local = tmpDir('ftpship-model-');
            const { dir, disk } = target(srv);
            await checkModelRun(run, local, disk, (extra) => opts(srv, local, dir, extra), dir);
          }),
          params,
        );
    }, 180_000);

    // Found by the model: deploy d/x; --exclude d (d/x left on the server, untracked); drop the exclude; d
    // becomes a file locally. pure-ftpd refused the rename with "451 … Is a directory", and the error said
    // "(try again later)"; in place (--no-atomic), "upload d failed: 553 Could not create file".
    it.each([
      ['atomic', true],
      ['--no-atomic', false],
    ])(
      'a local file where an exclude left a folder (%s): the error names the folder ftpship did not deploy, and it is left as it was',
      async (_mode, atomic) => {
        const local = tmpDir('ftpship-model-');
        writeTree(local, { 'd/x': 'xxx', a: 'aaa' });
        const { dir, disk } = target(srv);
        await deploy(opts(srv, local, dir));
        await deploy(opts(srv, local, dir, { exclude: ['d'] }));
        fs.rmSync(path.join(local, 'd'), { recursive: true });
        writeTree(local, { d: 'now a file' });
        const err = await deploy(opts(srv, local, dir, { atomic })).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(DeployError);
        expect((err as Error).message).toBe(
          `cannot upload d: the server has a folder there (${dir}/d) that ftpship did not deploy, and it never removes ` +
            `one; remove or rename that folder on the server, rename the local file, or leave it out with --exclude '/d'`,
        );
        expect(readTree(path.join(disk, 'd'))).toEqual({ x: readTree(disk)['d/x'] });
        expect(fs.readFileSync(path.join(disk, 'd', 'x'), 'utf8')).toBe('xxx');
      },
    );

    // Found by the model: mkdir d/e; deploy; d removed locally; --keep e. The plan kept d/e but removed d, which
    // holds it: the dry run showed "rmdir d", the deploy's RMD was refused, d was reported kept as "holding files
    // ftpship did not deploy" and dropped from the state, so no later deploy removed it.
    it('a deployed folder holding a folder --keep protects is kept with it, in the dry run as in the deploy, and stays in the state', async () => {
      const local = tmpDir('ftpship-model-');
      fs.mkdirSync(path.join(local, 'd', 'e'), { recursive: true });
      writeTree(local, { a: 'aaa' });
      const { dir, disk } = target(srv);
      await deploy(opts(srv, local, dir));
      fs.rmSync(path.join(local, 'd'), { recursive: true });
      const warnings: string[] = [];
      const preview = await deploy(opts(srv, local, dir, { keep: ['e'], dryRun: true }));
      const r = await deploy(opts(srv, local, dir, { keep: ['e'] }), { warn: (m) => warnings.push(m) });
      expect([preview.files, r.files, warnings]).toEqual([[], [], []]);
      expect(fs.statSync(path.join(disk, 'd', 'e')).isDirectory()).toBe(true);
      const state = JSON.parse(fs.readFileSync(path.join(disk, '.ftpship-state.json'), 'utf8')) as {
        dirs: string[];
      };
      expect(state.dirs).toEqual(['d', 'd/e']);
      // Without the keep, both go.
      const last = await deploy(opts(srv, local, dir));
      expect(last.files.map((f) => `${f.action} ${f.path}`)).toEqual(['rmdir d/e', 'rmdir d']);
      expect(fs.existsSync(path.join(disk, 'd'))).toBe(false);
    });
  },
);
