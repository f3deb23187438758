/**
 * Deploys over a slow uplink: the server (ftp-srv in this process) takes the bytes at a few MB/s, as a slow
 * link delivers them. What the user sees while a large file goes.
 */
import fs from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { deploy, type Progress } from '../src/index.js';
import { deployOptions, useEmbedded } from './helpers/embedded.js';
import { frontProxy, loopbackBufferBytes, throttled } from './helpers/faults.js';
import { bytes, tmpDir, uniqueName, writeTree } from './helpers/tmp.js';

const RATE = 4 * 1024 * 1024;
// The client's progress counts bytes handed to the kernel: what the loopback buffers take in goes at once,
// and a file they hold whole (tcp_rmem/tcp_wmem differ by machine) shows no progress under way at all. At
// least three seconds' worth past them, so the client is still writing at the second report.
const BIG = Math.max(24 * 1024 * 1024, loopbackBufferBytes() + 3 * RATE);
const server = useEmbedded({
  wrapUpload: (fsPath: string, stream: fs.WriteStream) =>
    fsPath.includes('ftpship-state') ? stream : throttled(stream, RATE),
});

describe('slow uplink', () => {
  it(
    'progress is reported while a large file is under way, not only once it is done',
    async () => {
      // 24 MiB (or more) at 4 MiB/s: six seconds with no file finished. The progress line stood still all that
      // time (the CLI's live line, the Action's and gulp's lines): on a real slow link, minutes.
      const local = tmpDir('ftpship-slow-');
      writeTree(local, { 'big.bin': bytes(BIG, 5) });
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
      expect(seen.at(-1)).toMatchObject({ filesDone: 1, bytesDone: BIG });
    },
    Math.max(30_000, Math.ceil((3 * BIG) / RATE) * 1000),
  );

  it('a link that dies for good mid-file: the error says the connection kept failing and that a rerun finishes', async () => {
    // The control connections are cut while a large file goes, and no new one gets through: the message
    // was only "upload big.bin failed: connect ECONNREFUSED 127.0.0.1:…", nothing about what to do.
    const proxy = await frontProxy(server().port);
    const local = tmpDir('ftpship-slow-');
    writeTree(local, { 'big.bin': bytes(16 * 1024 * 1024, 6) });
    let cut = false;
    const err = await deploy(
      { ...deployOptions(server(), local, `/${uniqueName()}`), port: proxy.port, retries: 1 },
      {
        progress: (p) => {
          if (cut || p.bytesDone === 0) return;
          cut = true;
          void proxy.close();
          proxy.cutAll();
        },
      },
    ).catch((e: unknown) => e as Error);
    expect(cut).toBe(true);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^upload big\.bin failed: /);
    expect((err as Error).message).toMatch(
      /connection kept failing .* run the deploy again; it sends only what was not confirmed/,
    );
  }, 30_000);
});
