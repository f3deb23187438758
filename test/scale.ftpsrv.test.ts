/**
 * Big sites on ftp-srv, in-process. ftp-srv reads each chunk that arrives on its control connection as whole
 * command lines: a line cut by a chunk's end becomes two "commands" and two replies, and every reply after it
 * is read as the next command's. A batch of pipelined commands must never be longer than one chunk.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { deploy } from '../src/index.js';
import { deployOptions, useEmbedded } from './helpers/embedded.js';
import { recorder } from './helpers/protocol.js';
import { readTree, tmpDir, uniqueName, writeTree } from './helpers/tmp.js';

const server = useEmbedded();
const STATE = '.ftpship-state.json';

it('300 folders of long names removed at once: the checks of what they hold (over 64 KiB of commands) are each read with its own reply, and all go', async () => {
  const local = tmpDir();
  const tree: Record<string, string> = { 'index.html': 'home' };
  for (let i = 0; i < 300; i++) tree[`${'f'.repeat(120)}-${i}/index.html`] = `page ${i}`;
  writeTree(local, tree);
  const dir = `/${uniqueName('scale')}`;
  const disk = path.join(server().root, dir);
  await deploy(deployOptions(server(), local, dir, { parallel: 2 }));
  expect(readTree(disk, [STATE])).toEqual(readTree(local));

  for (const name of fs.readdirSync(local))
    if (name !== 'index.html') fs.rmSync(path.join(local, name), { recursive: true });
  const rec = recorder();
  // Before: failed with a reply read as another command's ("PASV: 229 EPSV OK (|||…|)", or "PASV: 451 Passive
  // server not setup"): the replies one behind their commands from the line ftp-srv cut on.
  const r = await deploy(deployOptions(server(), local, dir, { timeoutMs: 5000, retries: 0 }), rec);
  expect(rec.log.filter((l) => l.startsWith('< 502 '))).toEqual([]);
  expect([r.counts.delete, r.counts.rmdir]).toEqual([300, 300]);
  expect(readTree(disk, [STATE])).toEqual(readTree(local));
  expect(fs.readdirSync(disk).sort()).toEqual([STATE, `${STATE}.bak`, 'index.html']);
});
