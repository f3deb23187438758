/**
 * Run by the gulp plugin (see exit.ts) as a child process while its own process exits under a deploy (the gulp
 * CLI exits as soon as another task fails): logs in and releases the locks that deploy held, so that the next
 * run need not wait for them to go stale. Reads its orders (v8-serialised: the login, the password included,
 * never on the command line) from stdin; writes one line per lock to stdout: `released`, or `left: <why>`.
 */
import v8 from 'node:v8';
import { FtpClient } from '../src/ftp/index.js';
import { releaseHeldLock, type HeldLock } from '../src/engine/lock.js';
import type { DeployOptions } from '../src/engine/options.js';
import { loginOptions, resolveOptions } from '../src/engine/resolve.js';

/** What the plugin sends: each deploy's login options and the lock it holds. */
export type ExitOrders = Array<{ login: Partial<DeployOptions>; lock: HeldLock }>;

async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const orders = v8.deserialize(Buffer.concat(chunks)) as ExitOrders;
  for (const { login, lock } of orders) {
    let line: string;
    try {
      // The lock's path goes with the deploy's encoding, as the deploy sent it.
      const c = await FtpClient.connect(
        loginOptions(resolveOptions({ ...login, files: [] } as DeployOptions)),
      );
      try {
        line = (await releaseHeldLock(c, lock)) ? 'released' : 'left: another deploy holds it now';
      } finally {
        await c.quit().catch(() => c.close());
      }
    } catch (err) {
      line = `left: ${(err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ')}`;
    }
    process.stdout.write(`${line}\n`);
  }
}

void main();
