/** Per-test fake servers (closed after each test) and a client logged in to one, for the hostile-server tests. */
import { PassThrough, Writable } from 'node:stream';
import { afterEach } from '@jest/globals';
import { FtpClient, type FtpConnectOptions } from '../../src/ftp/index.js';
import { startFakeServer, type FakeServer, type FakeServerOptions } from './fake-server.js';

/** Returns a starter of fake servers; the one started last is closed after each test. */
export function useFakeServer(): (options?: FakeServerOptions) => Promise<FakeServer> {
  let server: FakeServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });
  return async (options = {}) => {
    server = await startFakeServer(options);
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
