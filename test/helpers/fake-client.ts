/** Per-test fake servers (closed after each test) and a client logged in to one, for the hostile-server tests. */
import { PassThrough, Writable } from 'node:stream';
import { afterEach } from '@jest/globals';
import { FtpClient, type FtpConnectOptions } from '../../src/ftp/index.js';
import { startFakeServer, type FakeServer, type FakeServerOptions } from './fake-server.js';

/**
 * Returns a starter of fake servers; every one a test started is closed after it. (Only the last one was: a
 * test that starts several left the others listening, and the jest worker was force-exited at the end.)
 */
export function useFakeServer(): (options?: FakeServerOptions) => Promise<FakeServer> {
  const servers: FakeServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map(async (s) => s.close()));
  });
  return async (options = {}) => {
    const server = await startFakeServer(options);
    servers.push(server);
    return server;
  };
}

/** Connects and logs in to a fake server (user u, password p; timeout 2 s unless given). */
export async function connectFake(
  srv: FakeServer,
  extra: Partial<FtpConnectOptions> = {},
): Promise<FtpClient> {
  return FtpClient.connect({
    host: srv.host,
    port: srv.port,
    user: 'u',
    password: 'p',
    timeoutMs: 2000,
    ...extra,
  });
}

/** The error a promise rejects with; fails if it resolves. */
export async function caught(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as Error,
  );
}

/** A sink for download(): `text()` is what it has taken so far. */
export function collect(): { sink: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk);
      done();
    },
  });
  return { sink, text: () => Buffer.concat(chunks).toString() };
}

/** Downloads `remote` (from `offset` on, when given) into a buffer. */
export async function downloadAll(client: FtpClient, remote: string, offset?: number): Promise<Buffer> {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (c: Buffer) => chunks.push(c));
  await client.download(remote, sink, { offset });
  return Buffer.concat(chunks);
}

/** The promise's outcome, or a failure after `ms`: a call that hangs fails the test instead of stalling it. */
export async function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, hang]);
  } finally {
    clearTimeout(timer);
  }
}
