/**
 * A misspelt TLS option on a real server: `secrue: 'explicit'` was ignored, and connect() logged in in plain FTP,
 * USER and PASS in clear on the wire. Now it is refused before anything is sent. What the client writes is
 * recorded below TLS (on the TCP socket), so the recorder sees what a listener on the network would.
 */
import fs from 'node:fs';
import net from 'node:net';
import { expect, it } from '@jest/globals';
import { FtpArgumentError, FtpClient, type FtpConnectOptions } from '../src/ftp/index.js';
import { realServerSuite } from './helpers/real-servers.js';

const { describe: d, env, each } = realServerSuite('ftp-connect-names.realservers');

/** connect() with a socket factory that records every byte the client puts on the TCP connection. */
async function connectRecorded(
  options: Record<string, unknown>,
): Promise<{ wire: () => string; result: FtpClient | Error }> {
  const chunks: Buffer[] = [];
  const socketFactory = (host: string, port: number): net.Socket => {
    const socket = net.connect({ host, port });
    const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
    socket.write = ((chunk: unknown, ...rest: unknown[]) => {
      chunks.push(Buffer.from(chunk as Buffer));
      return write(chunk, ...rest);
    }) as typeof socket.write;
    return socket;
  };
  const result = await FtpClient.connect({ ...options, socketFactory } as unknown as FtpConnectOptions).catch(
    (e: unknown) => e as Error,
  );
  return { wire: () => Buffer.concat(chunks).toString('latin1'), result };
}

d.each(each('vsftpd', 'proftpd'))('%s', (_label, server) => {
  const login = (): Record<string, unknown> => ({
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    tls: { ca: fs.readFileSync(env.ca) },
    timeoutMs: 10_000,
  });

  it("secrue: 'explicit' (misspelt) sends nothing, no USER nor PASS in clear; secure: 'explicit' logs in over TLS", async () => {
    // The recorder sees a plain login's password (so its silence below means something).
    const plain = await connectRecorded({ ...login(), secure: false });
    expect(plain.result).toBeInstanceOf(FtpClient);
    await (plain.result as FtpClient).quit();
    expect(plain.wire()).toContain(`PASS ${server.password}\r\n`);

    const misspelt = await connectRecorded({ ...login(), secrue: 'explicit' });
    expect(misspelt.result).toBeInstanceOf(FtpArgumentError);
    expect((misspelt.result as Error).message).toBe('unknown option secrue; did you mean secure?');
    expect(misspelt.wire()).not.toMatch(/USER|PASS/);
    expect(misspelt.wire()).toBe('');

    const tls = await connectRecorded({ ...login(), secure: 'explicit' });
    expect(tls.result).toBeInstanceOf(FtpClient);
    const client = tls.result as FtpClient;
    expect(client.connection.isTls).toBe(true);
    await client.quit();
    expect(tls.wire()).toMatch(/^AUTH TLS\r\n/);
    expect(tls.wire()).not.toMatch(/USER|PASS/);
  });
});
