/**
 * N FTP connections sharing one queue. A task borrows a connection, runs, and gives it back. Transient
 * failures (421, 425, 426, resets, timeouts) are retried with backoff on a fresh connection; permanent
 * ones fail at once. When the server refuses extra connections, the pool carries on with fewer.
 */
import { setMaxListeners } from 'node:events';
import { FtpArgumentError, FtpClient, FtpReplyError, isTransientError } from '../ftp/index.js';
import { cutWhileLoggingIn } from '../ftp/errors.js';
import { ConfigError, DeployError, ftpMessage, writeFailed } from './errors.js';
import type { Reporter } from './options.js';

export interface PoolOptions {
  size: number;
  retries: number;
  retryDelayMs: number;
  /**
   * Tasks per connection at once. Default 1, and the engine keeps it: the client runs a connection's tasks one
   * after the other (an upload's EPSV waits for the previous upload's 226: pipelined during the transfer,
   * pure-ftpd answers it 500 and proftpd 450 before the 226), so 2 only queues a second task there.
   */
  depth?: number;
  reporter: Reporter;
}

interface Waiter {
  resolve: (client: FtpClient) => void;
  reject: (err: Error) => void;
  priority: boolean;
}

/** How long {@link ConnectionPool.close} lets connections still opening finish before it cuts them. */
const CLOSE_GRACE_MS = 2000;

export class ConnectionPool {
  private idle: FtpClient[] = [];
  private waiters: Waiter[] = [];
  private live = 0;
  private opening = 0;
  private closed = false;
  /** Why the server refused an extra connection, if it did. */
  private shrunk?: string;
  private shrinkWarned = false;
  /** Set by {@link cancel}: tasks that are not priority fail with it. */
  private cancelled?: Error;
  /** Connections running tasks that are not priority (how many: a connection takes `depth`), cut by {@link cancel}. */
  private readonly busy = new Map<FtpClient, number>();

  /**
   * Aborted by {@link close}: connections still opening are cut (a server over its limit may take them and
   * never greet: the process would wait for their timeout after the deploy), and backoffs end.
   */
  private readonly over = new AbortController();
  /** Aborted by {@link cancel}: the backoffs of tasks that are not priority end. */
  private readonly cancelling = new AbortController();
  /** Connections being opened in the background, which {@link close} gives a moment to finish. */
  private readonly openings = new Set<Promise<FtpClient>>();
  /** Set by {@link abandon}: every task fails with it, priority ones too. */
  private abandoned?: Error;
  /** Aborted by {@link abandon}: the backoffs of priority tasks end too. */
  private readonly abandoning = new AbortController();
  /** Every open connection, idle or running a task (priority ones included), for {@link abandon}. */
  private readonly open = new Set<FtpClient>();

  /** `connect` opens a connection; `signal` aborted, it stops trying and cuts the socket it opened. */
  constructor(
    private readonly connect: (signal: AbortSignal) => Promise<FtpClient>,
    private readonly opts: PoolOptions,
  ) {
    setMaxListeners(0, this.over.signal); // one per connection opening: 64 with --parallel 64
    setMaxListeners(0, this.cancelling.signal); // one per task in a backoff
  }

  /** Connections that failed and were dropped (each has `depth` slots; drop it once). */
  private readonly dead = new WeakSet<FtpClient>();

  /**
   * Opens the first connection, so a wrong password fails fast. The others wait for {@link expand}. A server
   * that says "not now" (421, or a login refused for its connection limit) is asked again, with backoff:
   * other sessions end (a cut deploy's can linger on the server a while). Nothing else is retried here: a
   * wrong host, port or password should be said at once.
   */
  async start(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const first = await this.connect(this.over.signal);
        this.live = 1;
        this.addSlots(first);
        return;
      } catch (err) {
        // Also a connection cut while it logged in (was: the deploy failed at once, "cannot connect", where a
        // drop later on is retried).
        const again = isNotNow(err) || cutWhileLoggingIn(err);
        if (!again || attempt >= this.opts.retries || this.closed || this.cancelled) throw err;
        await this.retryLater('login', err, attempt);
      }
    }
  }

  /** Each connection takes `depth` tasks at once: the client runs them one after the other. */
  private addSlots(client: FtpClient): void {
    this.open.add(client);
    for (let i = 0; i < (this.opts.depth ?? 1); i++) this.release(client);
  }

  /** Tasks that can run at once once every connection is open: connections × depth. */
  get capacity(): number {
    return Math.max(1, this.opts.size * (this.opts.depth ?? 1));
  }

  /** Opens the other connections in the background (once there is work: a no-op deploy needs one). */
  expand(): void {
    for (let i = this.live + this.opening; i < this.opts.size; i++) void this.grow();
  }

  get size(): number {
    return this.live;
  }

  /**
   * Runs `task` on a pooled connection, retrying transient failures. `what` names the path for errors.
   * `priority`: ahead of the other tasks, and run on after a {@link cancel}, backoffs waited out (the way out);
   * 'until-cancel': ahead of the others too, but a cancel ends its backoff and it fails with the last error
   * (the lock's holder: a cancelled deploy runs no body, and its unlock should not wait a minute for it).
   */
  async run<T>(
    what: string,
    task: (client: FtpClient) => Promise<T>,
    priorityOrUntil: boolean | 'until-cancel' = false,
  ): Promise<T> {
    const priority = priorityOrUntil !== false;
    const untilCancel = priorityOrUntil === 'until-cancel';
    for (let attempt = 0; ; attempt++) {
      if (this.abandoned) throw this.abandoned;
      if (this.cancelled && !priority) throw this.cancelled;
      const client = await this.acquire(priority);
      if (this.cancelled && !priority) {
        this.release(client);
        throw this.cancelled;
      }
      if (!priority) this.busy.set(client, (this.busy.get(client) ?? 0) + 1);
      try {
        const result = await task(client);
        if (!priority) this.unbusy(client);
        this.release(client);
        return result;
      } catch (err) {
        if (!priority) this.unbusy(client);
        this.recycle(client);
        if (this.abandoned) throw this.abandoned;
        if (this.cancelled && !priority) throw this.cancelled;
        if (!isRetryable(err, client) || attempt >= this.opts.retries) throw err;
        // Cancelled during the backoff: the task gives up at once (priority ones, the way out, wait it out,
        // unless the way out is abandoned).
        if (untilCancel && this.cancelled) throw err;
        await this.retryLater(
          what,
          err,
          attempt,
          priority && !untilCancel ? this.abandoning.signal : this.cancelling.signal,
        );
        if (untilCancel && (this.cancelled || this.abandoned)) throw err;
      }
    }
  }

  /** Says the retry (one line: OpenSSL's messages carry line breaks), then waits the backoff. */
  private async retryLater(what: string, err: unknown, attempt: number, signal?: AbortSignal): Promise<void> {
    this.opts.reporter.warn?.(
      `${what}: ${ftpMessage(err).replace(/\s*\n\s*/g, ' ')}; retrying (${attempt + 1}/${this.opts.retries})`,
    );
    await sleep(this.backoff(attempt), signal);
  }

  /** The wait before retry `attempt` (0-based): doubling from retryDelayMs, at most 32 times it. */
  private backoff(attempt: number): number {
    return this.opts.retryDelayMs * 2 ** Math.min(attempt, 5);
  }

  /**
   * Runs a short task at once, without retries: on a connection doing nothing, else on one of its own, opened
   * for it and closed after (outside the pool's count; a server at its connection limit refuses it). For the
   * lock's refresh: every connection can be sending a big file for longer than the lock takes to go stale.
   */
  async runPromptly<T>(task: (client: FtpClient) => Promise<T>): Promise<T> {
    const now = this.runIfIdle(task);
    if (now) return now;
    if (this.abandoned) throw this.abandoned;
    if (this.closed) throw new Error('the deploy is over');
    const client = await this.connect(this.over.signal);
    this.open.add(client); // cut by abandon() too
    try {
      if (this.abandoned) throw this.abandoned;
      return await task(client);
    } finally {
      this.open.delete(client);
      await client.disconnect().catch(() => undefined);
    }
  }

  /**
   * Runs a short task at once on a connection doing nothing, without retries; undefined (nothing run) when none
   * is free. For work beside a task that holds a connection and must not wait for another: with one
   * connection, the task's own would never come free.
   */
  runIfIdle<T>(task: (client: FtpClient) => Promise<T>): Promise<T> | undefined {
    const free = this.idle.findIndex((c) => !this.busy.has(c) && !c.closed);
    if (free < 0 || this.abandoned || this.closed) return undefined;
    const [client] = this.idle.splice(free, 1);
    return (async () => {
      try {
        const result = await task(client);
        this.release(client);
        return result;
      } catch (err) {
        this.recycle(client);
        throw err;
      }
    })();
  }

  /**
   * Stops the work: tasks waiting or to come fail with `err`, and the connections running one are cut (a
   * transfer under way stops at once). Priority tasks (the state's checkpoint, the lock) still run, on a
   * fresh connection if need be.
   */
  cancel(err: Error): void {
    if (this.cancelled || this.closed) return;
    this.cancelled = err;
    this.cancelling.abort();
    const [keep, drop] = [[] as Waiter[], [] as Waiter[]];
    for (const w of this.waiters) (w.priority ? keep : drop).push(w);
    this.waiters = keep;
    for (const w of drop) w.reject(err);
    for (const c of this.busy.keys()) c.close();
  }

  /**
   * Gives up the way out of a cancelled deploy (the server stopped answering): every connection is cut, those
   * still opening too, and every task waiting, running or to come fails with `err`, priority ones included.
   */
  abandon(err: Error): void {
    if (this.closed || this.abandoned) return;
    this.abandoned = err;
    this.abandoning.abort();
    this.failWaiters(err);
    for (const c of this.open) c.close();
    this.over.abort();
  }

  private unbusy(client: FtpClient): void {
    const n = (this.busy.get(client) ?? 1) - 1;
    if (n > 0) this.busy.set(client, n);
    else this.busy.delete(client);
  }

  /** The error {@link cancel} was given, once the work is cancelled. */
  get cancelReason(): Error | undefined {
    return this.cancelled;
  }

  /** Says goodbye on every idle connection; connections still opening are closed as they arrive. */
  async close(): Promise<void> {
    this.closed = true;
    const clients = [...new Set(this.idle.splice(0))];
    this.failWaiters(new Error('the deploy is over'));
    const goodbyes = Promise.all(clients.map(async (c) => c.disconnect()));
    // Connections still opening get a moment (a login under way is about done, and says goodbye as it
    // arrives), then are cut: a server over its limit may never greet them, and they would hold the process
    // until their timeout. A cancelled deploy cuts them at once.
    if (this.openings.size > 0 && !this.cancelled) {
      const grace = new AbortController();
      await Promise.race([Promise.allSettled([...this.openings]), sleep(CLOSE_GRACE_MS, grace.signal)]);
      grace.abort();
    }
    this.over.abort();
    await goodbyes;
  }

  private async acquire(priority: boolean): Promise<FtpClient> {
    if (this.abandoned) throw this.abandoned;
    let client = this.idle.pop();
    // Closed while it waited here (a server's idle timeout: proftpd TimeoutIdle, vsftpd idle_session_timeout,
    // pure-ftpd -I): replaced in the background, not handed out to fail and be retried with a warning.
    while (client?.closed) {
      this.recycle(client);
      client = this.idle.pop();
    }
    if (client) return client;
    if (this.live + this.opening === 0) void this.grow();
    return new Promise((resolve, reject) => {
      const w = { resolve, reject, priority };
      if (priority) this.waiters.unshift(w);
      else this.waiters.push(w);
    });
  }

  private release(client: FtpClient): void {
    if (client.closed) {
      this.recycle(client);
      return;
    }
    if (this.closed) {
      // Busy when close() ran (a state load still going when the local scan failed): parked in `idle`,
      // it kept the process alive forever after the error.
      void client.disconnect().catch(() => undefined);
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(client);
    else this.idle.push(client);
  }

  /** A connection failed: drop it and open a replacement in the background. */
  private recycle(client: FtpClient): void {
    if (!client.closed) {
      this.release(client);
      return;
    }
    if (this.dead.has(client)) return;
    this.dead.add(client);
    this.open.delete(client);
    this.idle = this.idle.filter((c) => c !== client);
    this.live--;
    if (!this.closed) void this.grow();
  }

  private async grow(attempt = 0): Promise<void> {
    if (this.closed || this.abandoned) return;
    this.opening++;
    try {
      const connecting = this.connect(this.over.signal);
      this.openings.add(connecting);
      const done = (): void => {
        this.openings.delete(connecting);
      };
      connecting.then(done, done);
      const client = await connecting;
      this.opening--;
      if (this.abandoned) {
        client.close();
        return;
      }
      if (this.closed) {
        await client.disconnect();
        return;
      }
      this.live++;
      this.addSlots(client);
      this.warnShrunk();
    } catch (err) {
      this.opening--;
      if (this.closed || this.abandoned) return;
      // The server's limit (a 421, or a login refused for it) while others are open: final at once.
      if (this.live > 0 && isNotNow(err)) {
        this.shrunk ??= (err as Error).message;
        this.warnShrunk();
        return;
      }
      // A bare close or reset may be the network (a blip cuts every connection, and their replacements too):
      // opened again in the background, with backoff; once the retries are spent it counts as the limit.
      if (attempt >= this.opts.retries || !isTransientError(err)) {
        if (this.live === 0) this.failWaiters(err as Error);
        // Refused for good (a 530 on a later login only): the deploy goes on with fewer, and says so.
        else if (!this.cancelled) {
          this.shrunk ??= (err as Error).message;
          this.warnShrunk();
        }
        return;
      }
      await sleep(this.backoff(attempt), this.over.signal);
      await this.grow(attempt + 1);
    }
  }

  /** Once every connection attempt has settled, says how many connections the server allowed. */
  private warnShrunk(): void {
    if (!this.shrunk || this.shrinkWarned || this.opening > 0) return;
    this.shrinkWarned = true;
    this.opts.reporter.warn?.(
      `the server refused another connection (${this.shrunk}); going on with ${this.live}`,
    );
  }

  private failWaiters(err: Error): void {
    for (const w of this.waiters.splice(0)) w.reject(err);
  }
}

/**
 * Worth another try on a fresh connection: a transient reply (421, 425, 426, 45x) or any failure that closed
 * the connection (reset, FIN, timeout, protocol error). A refusal on a live connection (530, 550) is final,
 * and so are a local failure (an unreadable file) and a write failure on the server (a full disk's 451).
 */
function isRetryable(err: unknown, client: FtpClient): boolean {
  if (err instanceof DeployError || err instanceof ConfigError || err instanceof FtpArgumentError)
    return false;
  // A 451 saying the server could not write (a full disk) fails the same way on every retry, after the
  // backoffs (15 s at the defaults): said at once.
  if (err instanceof FtpReplyError && writeFailed(err)) return false;
  if (isTransientError(err)) return true;
  return client.closed && !(err instanceof FtpReplyError);
}

/**
 * A login refused for the server's connection limit rather than the credentials: proftpd MaxClientsPerUser
 * and MaxClientsPerHost "530 Sorry, the maximum number of clients (2) for this user are already connected.",
 * FileZilla Server "421 Too many users logged in for this account", pure-ftpd -C "421 Too many connections
 * (2) from this IP", vsftpd max_per_ip "421 There are too many connections from your internet address."
 */
const CONNECTION_LIMIT =
  /\b(?:too many|maximum number|max(?:imum)?[\s_-]*(?:clients|connections|users|sessions|logins)|already connected|connection limit|limit reached)\b/i;

export function isConnectionLimit(err: unknown): boolean {
  return (
    err instanceof FtpReplyError &&
    (err.code === 421 || err.code === 530) &&
    CONNECTION_LIMIT.test(err.serverMessage) &&
    // "Too many failed login attempts", "banned": not a limit that frees itself while we wait.
    !/fail|attempt|incorrect|invalid|banned|denied/i.test(err.serverMessage)
  );
}

/** The server says "not now": 421 (service not available, closing), or a login over its connection limit. */
function isNotNow(err: unknown): boolean {
  return (err instanceof FtpReplyError && err.code === 421) || isConnectionLimit(err);
}

export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Runs `fn` over `items` with at most `limit` at a time; stops at the first error. */
export async function forEachLimit<T>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async (): Promise<void> => {
    while (next < items.length && failed === undefined) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed !== undefined) throw failed;
}
