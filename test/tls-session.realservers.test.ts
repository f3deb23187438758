/**
 * TLS session reuse on data connections refused by the real servers that require it (vsftpd's
 * require_ssl_reuse, proftpd's default). A session the server no longer knows (its ticket expired: OpenSSL's
 * last 2 hours, and a long deploy's connections live longer; or the server's ticket keys changed) makes the data
 * connection's handshake a full one, which vsftpd answers with "522 SSL connection failed: session reuse
 * required" (and hangs up) and proftpd with "425 Unable to build data connection: Operation not permitted".
 * The scene: the control connection offers a session another server issued, which this one cannot decrypt,
 * as it cannot an expired ticket's.
 */
import fs from 'node:fs';
import { expect, it } from '@jest/globals';
import { FtpClient, isTransientError } from '../src/index.js';
import type { RealServer } from './helpers/real-servers.js';
import { realServerSuite, remoteFolders } from './helpers/real-servers.js';

const { env, describe: d, each } = realServerSuite('tls-session.realservers');
const target = remoteFolders('h-sess');

async function tlsClient(server: RealServer): Promise<FtpClient> {
  return FtpClient.connect({
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    secure: server.implicitTls ? 'implicit' : 'explicit',
    tls: { ca: fs.readFileSync(env.ca) },
    timeoutMs: 10_000,
  });
}

d.each(each('vsftpd', 'vsftpdImplicit', 'proftpdResume'))('%s', (_name, server) => {
  it("a data connection refused for not resuming the control connection's session: a transient error that says so, the connection closed (a retry opens a new one, with a new session)", async () => {
    const { dir, disk } = target(server);
    const other = await tlsClient(server.software === 'vsftpd' ? env.proftpd : env.vsftpd);
    await other.list('/');
    const client = await tlsClient(server);
    await client.mkd(dir);
    try {
      client.connection.tlsSession = other.connection.tlsSession;
      const err = (await client
        .upload(`${dir}/a.txt`, Buffer.from('hello'))
        .catch((e: unknown) => e)) as Error;
      expect(err.message).toMatch(
        /^STOR \S+\/a\.txt: (522 SSL connection failed: session reuse required|425 Unable to build data connection: Operation not permitted) — the server requires TLS data connections to resume the control connection's TLS session, and this one was not resumed \(the session expired, or the server no longer knows it\); a new connection starts a new session$/,
      );
      // Retried: every later transfer on this connection would offer the same session and fail the same way.
      expect(isTransientError(err)).toBe(true);
      expect(client.closed).toBe(true);
    } finally {
      await client.disconnect().catch(() => undefined);
      await other.disconnect();
    }
    const again = await tlsClient(server);
    await again.upload(`${dir}/a.txt`, Buffer.from('hello'));
    await again.disconnect();
    expect(fs.readFileSync(`${disk}/a.txt`, 'utf8')).toBe('hello');
  });
});
