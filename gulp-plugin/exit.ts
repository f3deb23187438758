/**
 * The process exiting under a deploy: the gulp CLI calls `process.exit(1)` as soon as a task fails, so another
 * task of a `gulp.parallel` failing, or a step after `deploy()` failing (which fails the task at once), ends the
 * process while the deploy still holds its lock on the server. Nothing asynchronous runs after that, and the
 * next run would wait for the lock to go stale (15 s while not yet named, 2 minutes from another machine). While
 * a deploy holds its lock, an `exit` listener releases it then: a child process logs in, writes the checkpoint
 * the deploy would write at that moment (what was confirmed since its last one: the engine's own text, written
 * as it writes it, temp then rename, and only while the holder file still names this deploy), then removes the
 * lock (holder file first, and only one naming this deploy), within a few seconds at most; the exit waits for
 * it. A rerun sends the rest. Where no such checkpoint can be taken (one of the deploy's own writes of the state
 * still under way), the state is its last checkpoint, as before.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import log from 'fancy-log';
import type { HeldLock } from '../src/engine/lock.js';
import type { DeployOptions } from '../src/engine/options.js';
import type { StateSnapshot } from '../src/engine/state-store.js';
import { printable } from '../src/engine/report.js';
import type { ExitOrders } from './exit-unlock.js';
import { forUser, PLUGIN_NAME } from './options.js';

/** How long the exit may wait for the locks' release. */
const EXIT_UNLOCK_MS = 5000;

interface Entry {
  login: Partial<DeployOptions>;
  lock?: HeldLock;
  /** Takes the checkpoint the deploy would write now (given by the engine once it tracks the state). */
  snapshot?: () => StateSnapshot | undefined;
  quiet: boolean;
}

const entries = new Set<Entry>();

/**
 * The child's script, built: dist/gulp-plugin/exit-unlock.js, beside this module and the way up from the CommonJS
 * bundle (dist/cjs/ftpship.cjs, scripts/build-cjs.mjs) alike; absent when run from the TypeScript source. Not
 * `new URL('./exit-unlock.js', import.meta.url)`: the bundler would take that for a file to copy beside the bundle.
 */
const script = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'gulp-plugin', 'exit-unlock.js');

/**
 * Tracks one deploy's lock until `done()`: hand `onLock` and `onSnapshot` to the engine. A process exit meanwhile
 * records what the deploy has confirmed, then releases the lock it holds then.
 */
export function releaseLockAtExit(
  engine: DeployOptions,
  quiet: boolean,
): {
  onLock: (lock: HeldLock | undefined) => void;
  onSnapshot: (take: () => StateSnapshot | undefined) => void;
  done: () => void;
} {
  const { host, port, user, password, secure, tls, active, encoding } = engine;
  const timeoutMs = Math.min(engine.timeoutMs ?? EXIT_UNLOCK_MS, EXIT_UNLOCK_MS - 500);
  const entry: Entry = {
    login: { host, port, user, password, secure, tls, active, encoding, timeoutMs },
    quiet,
  };
  if (entries.size === 0) process.on('exit', onExit);
  entries.add(entry);
  return {
    onLock: (lock) => (entry.lock = lock),
    onSnapshot: (take) => (entry.snapshot = take),
    done: () => {
      if (!entries.delete(entry)) return;
      if (entries.size === 0) process.removeListener('exit', onExit);
    },
  };
}

function onExit(): void {
  const held = [...entries].filter((e): e is Entry & { lock: HeldLock } => e.lock !== undefined);
  entries.clear();
  if (held.length === 0 || !fs.existsSync(script)) return;
  const orders: ExitOrders = {
    deadline: Date.now() + EXIT_UNLOCK_MS,
    deploys: held.map(({ login, lock, snapshot }) => ({ login, lock, state: snapshot?.() })),
  };
  const child = spawnSync(process.execPath, [script], {
    input: v8.serialize(orders),
    timeout: EXIT_UNLOCK_MS,
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  const lines = (child.stdout ?? '').split('\n').map((line) => line.replace(/^saved /, ''));
  const saved = (child.stdout ?? '').split('\n').map((line) => line.startsWith('saved '));
  held.forEach((e, i) => {
    if (e.quiet && lines[i] === 'released') return;
    const why = lines[i]?.startsWith('left: ')
      ? lines[i].slice('left: '.length)
      : (child.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT'
        ? `no answer within ${EXIT_UNLOCK_MS} ms`
        : `the helper process ${script} failed: ${child.error?.message ?? `exit ${child.status ?? child.signal}`}`;
    const said =
      lines[i] === 'released'
        ? `the process is exiting mid-deploy (the gulp CLI exits as soon as a task fails): the lock ${e.lock.path} ` +
          `was released, and what was ${saved[i] ? 'confirmed by the server until then' : 'done up to the last checkpoint'} ` +
          'is recorded in the state; rerun to finish the deploy (it sends only what was not confirmed)'
        : `the process is exiting mid-deploy (the gulp CLI exits as soon as a task fails), and the lock ${e.lock.path} ` +
          `could not be released (${why}): the next deploy takes it over once it is stale (at once on this machine), ` +
          'or remove that folder by hand; rerun to finish the deploy';
    log.warn(`${PLUGIN_NAME}: ${printable(forUser(said, e.login.password))}`);
  });
}
