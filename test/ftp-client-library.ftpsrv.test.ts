/** The FTP client as a library, on the embedded ftp-srv: a login refused because the session is not TLS. */
import { describe, expect, it } from '@jest/globals';
import { FtpClient, FtpReplyError } from '../src/ftp/index.js';
import { selfSignedCert } from './helpers/cert.js';
import { login, useEmbedded } from './helpers/embedded.js';
import { caught } from './helpers/fake-client.js';

// vsftpd's force_local_logins_ssl says this to a login over plain FTP.
const srv = useEmbedded({
  tls: selfSignedCert(),
  refusePlainLogin: 'Non-anonymous sessions must use encryption.',
});

describe('a login refused for want of TLS', () => {
  it("says to connect with secure: 'explicit', not to check the password", async () => {
    const err = await caught(FtpClient.connect({ ...login(srv()), secure: false, timeoutMs: 5000 }));
    expect(err).toBeInstanceOf(FtpReplyError);
    expect((err as FtpReplyError).code).toBe(530);
    expect(err.message).toMatch(
      / — the server wants TLS: connect with secure: 'explicit' \(or 'implicit' on its implicit-TLS port\)$/,
    );
  });
});
