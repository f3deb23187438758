/**
 * connect() refuses an option name it does not know, naming it and the option it most likely meant: a misspelt
 * name was ignored, and the session ran on the default (`secrue: 'explicit'` logged in in plain FTP, the password
 * in clear; `pasive: false` stayed passive). deploy()'s own options are passed over (one settings object may
 * serve both), but `active: true` (deploy()'s word) is refused unless `passive: false` says the same.
 */
import { describe, expect, it } from '@jest/globals';
import { FtpArgumentError, FtpClient, type FtpConnectOptions } from '../src/ftp/index.js';
import { caught, connectFake, useFakeServer } from './helpers/fake-client.js';
import { sleep } from './helpers/fake-server.js';

const fake = useFakeServer();

describe('connect(): unknown option names', () => {
  it.each([
    [{ hots: '127.0.0.1' }, 'unknown option hots; did you mean host?'],
    [{ pasive: false }, 'unknown option pasive; did you mean passive?'],
    [{ secrue: 'explicit' }, 'unknown option secrue; did you mean secure?'],
    [{ Secure: 'implicit' }, 'unknown option Secure; did you mean secure?'],
    [{ timout: 5000 }, 'unknown option timout; did you mean timeoutMs?'],
    [{ timeout: 5000 }, 'unknown option timeout; did you mean timeoutMs?'],
    [{ pass: 'not-shown' }, 'unknown option pass; did you mean password?'],
    [{ passwrod: 'not-shown' }, 'unknown option passwrod; did you mean password?'],
    [{ username: 'u' }, 'unknown option username; did you mean user?'],
    [{ pipelinning: false }, 'unknown option pipelinning; did you mean pipelining?'],
    [{ tls: { fingerprnt: 'AB:CD' } }, 'unknown option tls.fingerprnt; did you mean tls.fingerprint?'],
    [
      { tls: { rejectUnauthorised: false } },
      'unknown option tls.rejectUnauthorised; did you mean tls.rejectUnauthorized?',
    ],
    [
      { tls: { minVersion: 'TLSv1.2' } },
      /^unknown option tls.minVersion; the client takes no minimum TLS version .*: remove it$/,
    ],
    [{ tls: 'yes' }, 'invalid tls "yes"; give an object such as { ca, servername }'],
    [
      { tls: { zzz: 1 } },
      /^unknown option tls.zzz; connect\(\) takes tls.ca, tls.rejectUnauthorized, .*tls.fingerprint$/,
    ],
    [
      { tls: { servername: 'ftp.example.com' } },
      "tls is given but secure is not, so the login would be plain FTP (the password in clear): add secure: 'explicit' (AUTH TLS, usually port 21) or 'implicit' (usually port 990), or secure: false for plain FTP",
    ],
    [{ zzz: 1 }, /^unknown option zzz; connect\(\) takes host, port, user, password, .*encoding$/],
    [
      { active: true },
      'active: true is the name deploy() takes; connect() takes passive: false for active mode (EPRT/PORT)',
    ],
    // Each went to the server, or to Node: a user or password not a string hung the login until the timeout
    // ("gave no reply to USER and PASS"); Node's own TypeError for a tls.ca, tls.servername or tls.maxVersion of the
    // wrong kind; rejectUnauthorized: 'false' still verified, and the error said to opt out with false.
    [{ user: 42 }, 'invalid user 42; give the user name as a string, or leave it out (anonymous)'],
    [{ password: 87654321 }, 'invalid password (number); give it as a string, or leave it out'],
    [
      { password: Buffer.from('not-shown') },
      'invalid password (a Buffer); give it as a string, or leave it out',
    ],
    [{ account: 5 }, 'invalid account (number); give it as a string, or leave it out'],
    [
      { secure: 'explicit', tls: { ca: 5 } },
      "invalid tls.ca 5; give the CA certificate's PEM text (a string or a Buffer, or a list of them), or leave it out",
    ],
    [
      { secure: 'explicit', tls: { servername: 5 } },
      'invalid tls.servername 5; give the name on the certificate as a string, or leave it out (the host)',
    ],
    [
      { secure: 'explicit', tls: { maxVersion: 'TLS1.2' } },
      "invalid tls.maxVersion \"TLS1.2\"; give 'TLSv1.3', 'TLSv1.2', 'TLSv1.1' or 'TLSv1', or leave it out",
    ],
    [
      { secure: 'explicit', tls: { rejectUnauthorized: 'false' } },
      'invalid tls.rejectUnauthorized "false"; give true or false (a string such as "false" would count as true), or leave it out',
    ],
  ])('%p is refused before connecting, naming the key (never a value)', async (extra, message) => {
    const srv = await fake();
    const err = await caught(connectFake(srv, extra as Partial<FtpConnectOptions>));
    expect(err).toBeInstanceOf(FtpArgumentError);
    if (typeof message === 'string') expect(err.message).toBe(message);
    else expect(err.message).toMatch(message);
    expect(err.message).not.toContain('not-shown');
    expect(err.message).not.toContain('87654321');
    await sleep(30);
    expect(srv.sessions).toHaveLength(0);
  });

  it("deploy()'s options are passed over: one settings object may serve deploy() and connect()", async () => {
    const srv = await fake();
    const settings = {
      host: srv.host,
      port: srv.port,
      user: 'u',
      password: 'p',
      secure: false as const,
      localDir: 'dist',
      remoteDir: '/site',
      parallel: 2,
      keep: ['uploads/**'],
      active: false,
    };
    const client = await FtpClient.connect(settings);
    expect(await client.pwd()).toBe('/');
    await client.quit();
    // TLS settings with secure: false (a shared config, TLS off for now): plain FTP, as asked.
    const plain = await connectFake(srv, { tls: { servername: 'ftp.example.com' }, secure: false });
    expect(plain.connection.isTls).toBe(false);
    await plain.quit();
    // active: true with passive: false says the same thing twice: taken.
    const active = await connectFake(srv, { active: true, passive: false } as Partial<FtpConnectOptions>);
    await active.quit();
  });
});
