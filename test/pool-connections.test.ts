/**
 * The connection pool on its own, over real sockets to a scripted server: how many connections it opens and
 * when, what it retries and what it does not, which task goes first, and what cancel, abandon and close cut.
 * The deploy tests go through the pool on every run; these pin the branches they cannot reach on purpose
 * (each found by a mutation audit: the deploy suites passed with the branch removed).
 */
import net from 'node:net';
import { describe, expect, it } from '@jest/globals';
import { FtpClient, FtpReplyError } from '../src/ftp/index.js';
import { ConnectionPool, type PoolOptions } from '../src/engine/pool.js';
import { caught, useFakeServer } from './helpers/fake-client.js';
import type { FakeServer, FakeServerOptions, FakeSession } from './helpers/fake-server.js';
import { sleep } from './helpers/fake-server.js';
import { waitFor } from './helpers/wait.js';

const startServer = useFakeServer();

/** A pool of connections to `srv` (logins as u/p), its warnings kept; `over` aborted cuts one still opening. */
function poolOf(
  srv: FakeServer,
  opts: Partial<Omit<PoolOptions, 'reporter'>> = {},
): { pool: ConnectionPool; warnings: string[] } {
  const warnings: string[] = [];
  const pool = new ConnectionPool(
    async (over) => {
      // As the deploy's connect does: `over` aborted cuts a connection still opening, not one logged in.
      let opening = true;
      const cuts: (() => void)[] = [];
      try {
        return await FtpClient.connect({
          host: srv.host,
          port: srv.port,
          user: 'u',
          password: 'p',
          timeoutMs: 10_000,
          socketFactory: (host, port) => {
            const socket = net.connect(port, host);
            if (!opening) return socket;
            const cut = (): void => {
              socket.destroy(new Error('the deploy is over'));
            };
            if (over.aborted) cut();
            over.addEventListener('abort', cut, { once: true });
            cuts.push(() => over.removeEventListener('abort', cut));
            return socket;
          },
        });
      } finally {
        opening = false;
        for (const uncut of cuts) uncut();
      }
    },
    {
      size: 1,
      retries: 3,
      retryDelayMs: 1,
      ...opts,
      reporter: { warn: (m) => warnings.push(m) },
    },
  );
  return { pool, warnings };
}

/** A server whose `n`-th connection (0-based, in order of arrival) is greeted by `greet(n, session)`. */
async function serverGreeting(
  greet: (n: number, s: FakeSession) => void | Promise<void>,
  handlers: FakeServerOptions['handlers'] = {},
): Promise<FakeServer> {
  let n = 0;
  return startServer({ greeting: async (s) => greet(n++, s), handlers });
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const ok = (s: FakeSession): void => s.reply('220 ready');
const quits = (srv: FakeServer): number => srv.verbs().filter((v) => v === 'QUIT').length;

describe('ConnectionPool: connections opened', () => {
  it('expand() called again while connections are still opening opens no more than the pool size', async () => {
    const srv = await serverGreeting(async (n, s) => {
      if (n > 0) await sleep(100); // the later ones are still opening when expand() runs again
      ok(s);
    });
    const { pool } = poolOf(srv, { size: 3 });
    await pool.start();
    pool.expand();
    pool.expand();
    await waitFor(() => pool.size === 3);
    await pool.close(); // lets connections still opening finish
    expect(srv.sessions.length).toBe(3);
  });

  it('a short task run promptly goes on an idle connection, not on one opened for it', async () => {
    const srv = await serverGreeting((_n, s) => ok(s));
    const { pool } = poolOf(srv, { size: 1 });
    await pool.start();
    const reply = await pool.runPromptly(async (c) => c.send('NOOP'));
    expect(reply.code).toBe(200);
    expect(srv.sessions.length).toBe(1);
    await pool.close();
  });

  it('a server at its connection limit is asked once per extra connection, and the pool goes on with fewer, saying how many', async () => {
    const srv = await serverGreeting((n, s) => {
      if (n === 0) return ok(s);
      s.reply('421 Too many connections (1) from this IP');
      s.close();
    });
    const { pool, warnings } = poolOf(srv, { size: 3, retries: 3 });
    await pool.start();
    pool.expand();
    await waitFor(() => warnings.length > 0);
    await pool.close();
    // Refused for the limit: not retried with backoff as a blip would be (that asked 1 + 2 × 4 times).
    expect(srv.sessions.length).toBe(3);
    expect(warnings).toEqual([
      'the server refused another connection ((greeting): 421 Too many connections (1) from this IP); going on with 1',
    ]);
    expect(pool.size).toBe(1);
  });

  it('the warning of a smaller pool waits for every connection still opening, and counts them', async () => {
    const srv = await serverGreeting(async (n, s) => {
      if (n === 1) {
        s.reply('421 Too many connections (2) from this IP');
        return s.close();
      }
      if (n === 2) await sleep(300); // still opening when the other is refused
      ok(s);
    });
    const { pool, warnings } = poolOf(srv, { size: 3 });
    await pool.start();
    pool.expand();
    await waitFor(() => warnings.length > 0);
    expect(warnings).toEqual([expect.stringMatching(/refused another connection .*; going on with 2$/)]);
    expect(pool.size).toBe(2);
    await pool.close();
  });

  it('a later connection reset once as it opens (a blip) is opened again, not taken for the server limit', async () => {
    const srv = await serverGreeting((n, s) => {
      if (n === 1)
        s.socket.destroy(); // no greeting: reset as it opens
      else ok(s);
    });
    const { pool, warnings } = poolOf(srv, { size: 2 });
    await pool.start();
    pool.expand();
    await waitFor(() => pool.size === 2);
    expect(warnings).toEqual([]);
    expect(srv.sessions.length).toBe(3);
    await pool.close();
  });

  it('a first connection told 421 (service not available) is asked again', async () => {
    const srv = await serverGreeting((n, s) => {
      if (n > 0) return ok(s);
      s.reply('421 Service not available, try again later');
      s.close();
    });
    const { pool, warnings } = poolOf(srv);
    await pool.start();
    expect(pool.size).toBe(1);
    expect(srv.sessions.length).toBe(2);
    expect(warnings).toEqual([expect.stringMatching(/^login: .*421.*retrying \(1\/3\)$/)]);
    await pool.close();
  });

  it('a connection that dies under two tasks at once (depth 2) is replaced once', async () => {
    let noops = 0;
    const srv = await serverGreeting((_n, s) => ok(s), {
      NOOP: (_a, s) => {
        if (noops++ === 0)
          s.socket.destroy(); // the first: the connection dies
        else s.reply('200 NOOP ok');
      },
    });
    const { pool } = poolOf(srv, { size: 1, depth: 2 });
    await pool.start();
    const both = await Promise.all([
      pool.run('a', async (c) => c.send('NOOP')),
      pool.run('b', async (c) => c.send('NOOP')),
    ]);
    expect(both.map((r) => r.code)).toEqual([200, 200]);
    await pool.close();
    expect(srv.sessions.length).toBe(2);
    expect(pool.size).toBe(1);
  });
});

describe('ConnectionPool: tasks', () => {
  it('a priority task goes ahead of a task queued before it', async () => {
    const srv = await serverGreeting((_n, s) => ok(s));
    const { pool } = poolOf(srv, { size: 1 });
    await pool.start();
    const hold = deferred();
    const order: string[] = [];
    const first = pool.run('first', async () => hold.promise);
    const later = pool.run('later', async () => void order.push('later'));
    const urgent = pool.run('urgent', async () => void order.push('urgent'), true);
    await sleep(20);
    hold.resolve();
    await Promise.all([first, later, urgent]);
    expect(order).toEqual(['urgent', 'later']);
    await pool.close();
  });

  it('a refusal (550) on a connection the server then closed is not retried', async () => {
    const srv = await serverGreeting((_n, s) => ok(s), {
      DELE: (_a, s) => {
        s.reply('550 No such file');
        s.close();
      },
    });
    const { pool, warnings } = poolOf(srv, { retries: 3 });
    await pool.start();
    const err = await caught(
      pool.run('x', async (c) => {
        try {
          await c.delete('/x');
        } catch (e) {
          await waitFor(() => c.closed); // the close has arrived too, as the pool looks at the failure
          throw e;
        }
      }),
    );
    expect(err).toBeInstanceOf(FtpReplyError);
    expect((err as FtpReplyError).code).toBe(550);
    expect(srv.verbs().filter((v) => v === 'DELE')).toHaveLength(1);
    expect(warnings).toEqual([]);
    await pool.close();
  });

  it('the backoff between retries doubles up to 32 times the delay, then stays there', async () => {
    const at: number[] = [];
    const srv = await serverGreeting((_n, s) => ok(s), {
      DELE: (_a, s) => {
        at.push(Date.now());
        s.reply('450 Busy, try later'); // transient: retried
      },
    });
    const { pool } = poolOf(srv, { retries: 8, retryDelayMs: 5 });
    await pool.start();
    await caught(pool.run('x', async (c) => c.delete('/busy')));
    const gaps = at.slice(1).map((t, i) => t - at[i]);
    expect(gaps).toHaveLength(8);
    // 5, 10, 20, 40, 80, 160, 160, 160 ms: the last three alike (doubling on, they were 160, 320, 640).
    expect(gaps[7]).toBeLessThan(gaps[5] * 1.6);
    expect(gaps[5]).toBeGreaterThan(gaps[3] * 2.5);
    await pool.close();
  });
});

describe('ConnectionPool: cancel, abandon, close', () => {
  it('a task cut by cancel() fails with the cancel, without a retry or its warning', async () => {
    const srv = await serverGreeting((_n, s) => ok(s), { NOOP: () => undefined }); // never answered
    const { pool, warnings } = poolOf(srv);
    await pool.start();
    const task = pool.run('x', async (c) => c.send('NOOP'));
    await waitFor(() => srv.verbs().includes('NOOP'));
    pool.cancel(new Error('cancelled by a test'));
    expect((await caught(task)).message).toBe('cancelled by a test');
    expect(warnings).toEqual([]);
    await pool.close();
  });

  it('an until-cancel task whose connection fails after a cancel gives up without a retry or its warning', async () => {
    const srv = await serverGreeting((_n, s) => ok(s), {
      NOOP: (_a, s) => {
        s.state.noop = true; // answered never; closed by the test
      },
    });
    const { pool, warnings } = poolOf(srv);
    await pool.start();
    const task = pool.run('holder', async (c) => c.send('NOOP'), 'until-cancel');
    await waitFor(() => srv.sessions[0]?.state.noop === true);
    pool.cancel(new Error('cancelled by a test'));
    srv.sessions[0].close();
    await caught(task);
    expect(warnings).toEqual([]);
    expect(srv.sessions.length).toBeLessThanOrEqual(2); // no retry ran (a replacement may open)
    expect(srv.verbs().filter((v) => v === 'NOOP')).toHaveLength(1);
    await pool.close();
  });

  it('abandon() cuts a priority task running on a server that stopped answering', async () => {
    const srv = await serverGreeting((_n, s) => ok(s), { NOOP: () => undefined });
    const { pool } = poolOf(srv);
    await pool.start();
    const task = pool.run('checkpoint', async (c) => c.send('NOOP'), true);
    await waitFor(() => srv.verbs().includes('NOOP'));
    pool.abandon(new Error('abandoned by a test'));
    // Cut at once (the client's own timeout is 10 s).
    const outcome = await Promise.race([caught(task), sleep(3000).then(() => new Error('still running'))]);
    expect(outcome.message).toBe('abandoned by a test');
  });

  it('close() lets a connection still logging in finish, and it says goodbye', async () => {
    const srv = await serverGreeting(async (n, s) => {
      if (n > 0) await sleep(200);
      ok(s);
    });
    const { pool } = poolOf(srv, { size: 2 });
    await pool.start();
    pool.expand();
    await waitFor(() => srv.sessions.length === 2);
    await pool.close();
    await waitFor(() => quits(srv) === 2, 3000);
    expect(srv.verbs().filter((v) => v === 'PASS')).toHaveLength(2);
  });

  it('a connection whose task ends after close() is closed, not parked', async () => {
    const srv = await serverGreeting((_n, s) => ok(s));
    const { pool } = poolOf(srv);
    await pool.start();
    const hold = deferred();
    let client: FtpClient | undefined;
    const task = pool.run('x', async (c) => {
      client = c;
      await hold.promise;
    });
    await waitFor(() => client !== undefined);
    await pool.close();
    expect(client?.closed).toBe(false);
    hold.resolve();
    await task;
    await waitFor(() => client?.closed === true, 3000);
    await waitFor(() => quits(srv) === 1, 3000);
  });
});
