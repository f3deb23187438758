/**
 * Deploys over a slow uplink: the server (ftp-srv in this process) takes the bytes at a few MB/s, as a slow
 * link delivers them. What the user sees while a large file goes.
 */
import fs from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { deploy, type Progress } from '../src/index.js';
import { deployOptions, useEmbedded } from './helpers/embedded.js';
import { throttled } from './helpers/faults.js';
import { bytes, tmpDir, uniqueName, writeTree } from './helpers/tmp.js';

const RATE = 4 * 1024 * 1024;
const server = useEmbedded({
  wrapUpload: (fsPath: string, stream: fs.WriteStream) =>
    fsPath.includes('ftpship-state') ? stream : throttled(stream, RATE),
});

describe('slow uplink', () => {
  it('progress is reported while a large file is under way, not only once it is done', async () => {
    // 24 MiB at 4 MiB/s: six seconds with no file finished. The progress line stood still all that time
    // (the CLI's live line, the Action's and gulp's lines): on a real slow link, minutes.
    const local = tmpDir('ftpship-slow-');
    writeTree(local, { 'big.bin': bytes(24 * 1024 * 1024, 5) });
    const seen: Progress[] = [];
    const report = await deploy(deployOptions(server(), local, `/${uniqueName()}`), {
      progress: (p) => seen.push({ ...p }),
    });
    expect(report.counts.upload).toBe(1);
    const during = seen.filter((p) => p.filesDone === 0 && p.bytesDone > 0);
    expect(during.length).toBeGreaterThanOrEqual(2);
    // Each report says more than the one before.
    for (let i = 1; i < during.length; i++)
      expect(during[i].bytesDone).toBeGreaterThanOrEqual(during[i - 1].bytesDone);
    expect(seen.at(-1)).toMatchObject({ filesDone: 1, bytesDone: 24 * 1024 * 1024 });
  }, 30_000);
});
