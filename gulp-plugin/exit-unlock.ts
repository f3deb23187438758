/**
 * Run by the gulp plugin (see exit.ts) as a child process while its own process exits under a deploy (the gulp
 * CLI exits as soon as another task fails): logs in, writes the deploy's checkpoint taken at the exit (if any,
 * and only while the lock is still that deploy's), and releases the locks that deploy held, so that the next
 * run need not wait for them to go stale nor send again what was confirmed. Reads its orders (v8-serialised:
 * the login, the password included, never on the command line) from stdin; writes one line per lock to stdout:
 * `released` or `left: <why>`, after `saved ` when the checkpoint was written.
 */
import v8 from 'node:v8';
import { FtpClient, FtpReplyError } from '../src/ftp/index.js';
import { holdsLock, releaseHeldLock, type HeldLock } from '../src/engine/lock.js';
import type { DeployOptions } from '../src/engine/options.js';
import { writeRemoteFileAtomic } from '../src/engine/remote.js';
import { loginOptions, resolveOptions } from '../src/engine/resolve.js';
import type { StateSnapshot } from '../src/engine/state-store.js';

/**
 * What the plugin sends: each deploy's login options, the lock it holds, and its checkpoint taken at the exit;
 * and when the plugin stops waiting for this process (epoch ms).
 */
export interface ExitOrders {
  deadline: number;
  deploys: Array<{ login: Partial<DeployOptions>; lock: HeldLock; state?: StateSnapshot }>;
}

async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const { deadline, deploys } = v8.deserialize(Buffer.concat(chunks)) as ExitOrders;
  for (const { login, lock, state } of deploys) {
    let line: string;
    let saved = '';
    // The lock's path goes with the deploy's encoding, as the deploy sent it.
    const connect = async (): Promise<FtpClient> =>
      FtpClient.connect(loginOptions(resolveOptions({ ...login, files: [] } as DeployOptions)));
    try {
      const start = Date.now();
      let c = await connect();
      // The checkpoint costs about as many round trips as the login again (the holder read, STOR, RNFR/RNTO),
      // the unlock as many once more: on a link too slow for all three in the time left, only the unlock.
      const roomForState = deadline - Date.now() > 3 * (Date.now() - start) + 500;
      try {
        // Written only while the lock is this deploy's (no state goes over another deploy's), and before the
        // unlock. Failed, the state is the last checkpoint, and the unlock goes on (on a new connection if that
        // one broke).
        if (state && roomForState) {
          try {
            if (await holdsLock(c, lock)) {
              await writeRemoteFileAtomic(
                c,
                state.path,
                Buffer.from(state.data),
                { ...state.quirks },
                () => {},
              );
              saved = 'saved ';
            }
          } catch (err) {
            if (!(err instanceof FtpReplyError)) {
              c.close();
              c = await connect();
            }
          }
        }
        line = (await releaseHeldLock(c, lock)) ? 'released' : 'left: another deploy holds it now';
      } finally {
        await c.quit().catch(() => c.close());
      }
    } catch (err) {
      line = `left: ${(err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ')}`;
    }
    process.stdout.write(`${saved}${line}\n`);
  }
}

void main();
