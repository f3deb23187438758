/**
 * Model-based test of the deploy engine: fast-check generates sequences of local changes over a small name
 * space (a, b, A, d, d/x, d/e, d/e/y: case, nesting, file↔folder swaps, empty folders) and deploys to
 * ftp-srv in-process between them (each with or without --no-delete; the last one always deleting). After
 * every deploy: (1) the dry run just before it planned the same entries; (2) the server folder equals the
 * local tree (files byte for byte, folders too), the state file aside (with --no-delete: holds it, deletes
 * nothing); (3) a second deploy is a no-op (no STOR, DELE, RMD, MKD, RNFR or APPE outside ftpship's own
 * files); (4) the state lists exactly the files on the server with their size and sha256 (G4), and exactly
 * its folders. Then the whole model: --keep and --exclude globs added and removed between deploys (a kept
 * orphan stays in the state; an excluded one stays on the server, out of the state, never deleted or sent
 * again; a folder it stays in is kept), deploys with --no-atomic and --max-delete (a refusal changes nothing),
 * the state inside a folder of the target or outside it, and moved there by --state. The same runs on
 * pure-ftpd, vsftpd and proftpd are in model.realservers.test.ts.
 */
import { afterAll, beforeAll, describe, it } from '@jest/globals';
import fc from 'fast-check';
import type { EmbeddedServer } from '../src/embedded-server.js';
import { deployOptions, embedded } from './helpers/embedded.js';
import { checkModelRun, modelCommands, modelRuns, type Step } from './helpers/model.js';
import { tmpDir, uniqueName } from './helpers/tmp.js';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from '@jest/globals';
import { deploy } from '../src/index.js';
import { readTree, sha256, writeTree } from './helpers/tmp.js';

let srv: EmbeddedServer;
beforeAll(async () => {
  srv = await embedded();
});
afterAll(async () => {
  await srv.close();
});

describe('deploy engine model: random local changes, invariants after each deploy', () => {
  const run = async (params: fc.Parameters<[Step[]]>): Promise<void> =>
    fc.assert(
      fc.asyncProperty(modelCommands(), async (steps) => {
        const local = tmpDir('ftpship-model-');
        const dir = `/${uniqueName('model')}`;
        await checkModelRun(steps, local, path.join(srv.root, dir), (extra) =>
          deployOptions(srv, local, dir, extra),
        );
      }),
      params,
    );

  it('fixed seed', async () => {
    // Plus the sequences a longer run once shrank to (a type swap under --no-delete removes the old type).
    const examples: Array<[Step[]]> = [
      [
        [
          { op: 'mkdir', name: 'a' },
          { op: 'deploy', noDelete: false },
          { op: 'put', name: 'a', size: 0, seed: 0 },
          { op: 'deploy', noDelete: true },
        ],
      ],
      [
        [
          { op: 'put', name: 'd/e', size: 0, seed: 0 },
          { op: 'deploy', noDelete: false },
          { op: 'put', name: 'd/e/y', size: 0, seed: 0 },
          { op: 'deploy', noDelete: true },
        ],
      ],
    ];
    await run({ seed: 20261126, numRuns: 15, examples });
  }, 120_000);

  it('random seed', async () => {
    await run({ numRuns: 6 });
  }, 120_000);

  it('keeps, excludes, --no-atomic, --max-delete and --state between deploys (fixed seed)', async () => {
    await fc.assert(
      fc.asyncProperty(modelRuns(), async (run) => {
        const local = tmpDir('ftpship-model-');
        const dir = `/${uniqueName('model')}`;
        await checkModelRun(
          run,
          local,
          path.join(srv.root, dir),
          (extra) => deployOptions(srv, local, dir, extra),
          dir,
        );
      }),
      { seed: 20261127, numRuns: 5 },
    );
  }, 120_000);
});

describe('sequences the model found', () => {
  it("deploy d/x and d/y; --exclude d --exclude '!d/x': d/x, inside an excluded folder, is left on the server as d/y is (was: deleted)", async () => {
    // The walk of the local folder never enters an excluded folder, so d/x was not sent (as in .gitignore, a
    // file under an excluded folder cannot be taken back); the plan took it for an orphan and deleted it.
    const local = tmpDir('ftpship-model-');
    writeTree(local, { 'd/x': 'xxx', 'd/y': 'yyy', a: 'aaa' });
    const dir = `/${uniqueName('model')}`;
    const disk = path.join(srv.root, dir);
    await deploy(deployOptions(srv, local, dir));
    const o = deployOptions(srv, local, dir, { exclude: ['d', '!d/x'] });
    const preview = await deploy({ ...o, dryRun: true });
    const r = await deploy(o);
    expect(preview.files).toEqual([]);
    expect(r.files).toEqual([]);
    expect(readTree(disk, ['.ftpship-state.json'])).toEqual({
      a: sha256('aaa'),
      'd/x': sha256('xxx'),
      'd/y': sha256('yyy'),
    });
    const state = JSON.parse(fs.readFileSync(path.join(disk, '.ftpship-state.json'), 'utf8')) as {
      files: Record<string, unknown>;
      dirs: string[];
    };
    expect([Object.keys(state.files), state.dirs]).toEqual([['a'], []]);
    fs.rmSync(local, { recursive: true, force: true });
  });
});
