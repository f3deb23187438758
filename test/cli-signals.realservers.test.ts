/**
 * The CLI stopped by a signal (Ctrl-C, SIGTERM, a cancelled workflow) while the server does not answer: it quits
 * in about a second with 130 / 143 and a message saying what was left, instead of waiting out every timeout and
 * retry of its way out (the checkpoint, the unlock). The server goes silent behind a TCP proxy in front of
 * pure-ftpd (a network gone: nothing gets through any more, and a new connection is taken but never greeted).
 */
import net from 'node:net';
import { expect, it } from '@jest/globals';
import { startCli, type CliResult } from './helpers/cli.js';
import { realServerSuite, remoteFolders } from './helpers/real-servers.js';
import { readTree, tmpDir, writeTree } from './helpers/tmp.js';

const { describe: d, each } = realServerSuite('cli-signals.realservers');
const target = remoteFolders('h-cli3-signals');

/** A control-port proxy that, once frozen, passes nothing either way and greets no new connection. */
async function freezingProxy(
  port: number,
): Promise<{ port: number; freeze(): void; close(): Promise<void> }> {
  let frozen = false;
  const live = new Set<net.Socket>();
  const server = net.createServer((client) => {
    live.add(client);
    client.on('error', () => undefined);
    if (frozen) return;
    const upstream = net.connect(port, '127.0.0.1');
    live.add(upstream);
    upstream.on('error', () => undefined);
    client.on('data', (c: Buffer) => void (frozen || upstream.write(c)));
    upstream.on('data', (c: Buffer) => void (frozen || client.write(c)));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    freeze: () => (frozen = true),
    close: async () => {
      for (const s of live) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

d.each(each('pure'))('%s: a signal while the server has gone silent', (_name, server) => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    '%s quits within seconds with %d, saying the lock is left (was: waited out every --timeout and retry); the rerun finishes',
    async (sig, exitCode) => {
      const local = tmpDir('ftpship-h-cli3-');
      const files: Record<string, string> = {};
      for (let i = 0; i < 80; i++) files[`p/f${i}.txt`] = `page ${i}`;
      writeTree(local, files);
      const { dir, disk } = target(server);
      const env = { FTPSHIP_PASSWORD: server.password };
      const url = (port: number): string => `ftp://${server.user}@${server.host}:${port}${dir}`;
      const proxy = await freezingProxy(server.port);
      let r: CliResult;
      let tookMs: number;
      try {
        // --timeout 20000: the old way out waited that long for each reply and greeting, then retried.
        const run = startCli(
          ['deploy', local, url(proxy.port), '--parallel', '2', '--timeout', '20000', '--verbose'],
          env,
        );
        const killer = setTimeout(() => run.child.kill('SIGKILL'), 15_000);
        expect(await run.waitForLine(/> STOR /, 10)).toBeDefined();
        proxy.freeze();
        const sentAt = Date.now();
        run.child.kill(sig);
        r = await run.done;
        tookMs = Date.now() - sentAt;
        clearTimeout(killer);
      } finally {
        await proxy.close();
      }
      expect(r.signal).toBeNull();
      expect(r.code).toBe(exitCode);
      expect(tookMs).toBeLessThan(8000); // about a second; before, 20 s per try (killed at 15 s)
      const last = r.stderr.trim().split('\n').pop() ?? '';
      expect(last).toMatch(
        new RegExp(
          `^ftpship: error: deploy cancelled \\(${sig}\\): .*could not be reached on the way out \\(it gave no answer for \\d+ ms, so ftpship stopped waiting\\)`,
        ),
      );
      expect(last).toContain(`the lock ${dir}/.ftpship-state.json.lock is still there`);
      expect(last).toMatch(/rerun to finish the deploy$/);
      expect(r.stderr + r.stdout).not.toContain(server.password);
      // Rerun on this machine, the server answering again: the lock left is taken over, the deploy finishes.
      const rerun = await startCli(['deploy', local, url(server.port)], env).done;
      expect(rerun.code).toBe(0);
      expect(readTree(disk, ['.ftpship-state.json'])).toEqual(readTree(local));
    },
    25_000,
  );
});
