/**
 * Certificate pinning (FIELD.md section 4 item 11): `tls.fingerprint` (CLI --tls-fingerprint) trusts a
 * self-signed certificate by its SHA-256 fingerprint, without --ca and without --insecure. ftp-srv in-process
 * with explicit TLS and a self-signed certificate; its login hook shows that a wrong pin sends no USER/PASS.
 * A scripted server shows a data connection with another certificate refused (no real server does that).
 * The real servers: tls-pin.realservers.test.ts.
 */
import { X509Certificate } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { deploy, FtpClient, FtpTlsError, type DeployOptions } from '../src/index.js';
import { ConfigError, DeployError } from '../src/engine/errors.js';
import { selfSignedCert } from './helpers/cert.js';
import { assertBuilt, spawnCli } from './helpers/cli-spawn.js';
import { deployOptions, login, useEmbedded } from './helpers/embedded.js';
import { startFakeServer, type FakeServer } from './helpers/fake-server.js';
import { readTree, tmpDir, uniqueName, writeTree } from './helpers/tmp.js';

const cert = selfSignedCert();
const other = selfSignedCert();
/** As Node and openssl print it: AB:CD:…, upper case. */
const FP = new X509Certificate(cert.cert).fingerprint256;
const OTHER_FP = new X509Certificate(other.cert).fingerprint256;
const server = useEmbedded({ tls: cert });
const STATE = '.ftpship-state.json';

/** User names ftp-srv was asked to log in (its login hook), across the file's tests. */
const logins: string[] = [];
beforeAll(() => {
  (server().ftpSrv as EventEmitter).on('login', ({ username }: { username: string }) =>
    logins.push(username),
  );
});

function setup(tlsOptions: DeployOptions['tls']): { options: DeployOptions; local: string; dir: string } {
  const local = tmpDir();
  writeTree(local, { 'index.html': 'pinned', 'css/site.css': 'body{}' });
  const dir = `/${uniqueName('h-pin')}`;
  return {
    options: deployOptions(server(), local, dir, { secure: 'explicit', tls: tlsOptions }),
    local,
    dir,
  };
}

describe('a pinned certificate (tls.fingerprint, --tls-fingerprint)', () => {
  it('the right pin deploys to a self-signed server without a CA, data connections included', async () => {
    const { options, local, dir } = setup({ fingerprint: FP });
    const r = await deploy(options);
    expect(r.counts.upload).toBe(2);
    expect(readTree(path.join(server().root, dir), [STATE])).toEqual(readTree(local));
  });

  it('a wrong pin fails at the handshake, exit 1: no USER or PASS reached the server, nothing changed', async () => {
    const { options, dir } = setup({ fingerprint: OTHER_FP });
    const before = logins.length;
    const log: string[] = [];
    const err = await deploy(options, { protocol: (l) => log.push(l) }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(DeployError);
    expect(err).not.toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).toContain(
      `the TLS certificate of 127.0.0.1:${server().port} is not the one pinned with --tls-fingerprint: ` +
        `its SHA-256 fingerprint is ${FP}, the pin is ${OTHER_FP}. Nothing was sent (no user name, no password) and nothing was changed.`,
    );
    expect(msg).toContain('openssl s_client -connect 127.0.0.1:');
    expect(msg).not.toContain(server().password);
    expect(logins.length).toBe(before);
    expect(log.filter((l) => /^> (USER|PASS)/.test(l))).toEqual([]);
    expect(fs.existsSync(path.join(server().root, dir))).toBe(false);
  });

  it("pins in other forms: plain lower-case hex after sha256:, openssl's line; a list matches any one", async () => {
    const plain = FP.replace(/:/g, '').toLowerCase();
    const { options, local, dir } = setup({ fingerprint: [OTHER_FP, `sha256:${plain}`] });
    await deploy(options);
    expect(readTree(path.join(server().root, dir), [STATE])).toEqual(readTree(local));
    const again = setup({ fingerprint: `sha256 Fingerprint=${FP.toLowerCase()}` });
    expect((await deploy(again.options)).counts.upload).toBe(2);
  });

  it('without a pin, an untrusted certificate names its fingerprint and how to pin it, keeping --ca', async () => {
    const { options } = setup(undefined);
    const err = await deploy(options).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(
      /^TLS certificate of 127\.0\.0\.1:\d+ not trusted: self[- ]signed certificate; pass its CA with --ca FILE \(or --insecure to skip the check\)/,
    );
    expect((err as Error).message).toContain(
      `; or, if you have checked that this certificate (SHA-256 fingerprint ${FP}) is your server's, pin it with --tls-fingerprint ${FP}`,
    );
  });

  it('FtpClient: tls.fingerprint pins the control and data connections; a wrong one is an FtpTlsError', async () => {
    const client = await FtpClient.connect({
      ...login(server()),
      secure: 'explicit',
      tls: { fingerprint: FP },
    });
    try {
      expect(Array.isArray(await client.list('/'))).toBe(true);
    } finally {
      await client.close();
    }
    const before = logins.length;
    const err = await FtpClient.connect({
      ...login(server()),
      secure: 'explicit',
      tls: { fingerprint: OTHER_FP },
    }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(FtpTlsError);
    expect((err as Error).message).toContain(
      `the server's certificate has SHA-256 fingerprint ${FP}, which is not pinned (${OTHER_FP}) — nothing was sent on this connection (no user name or password)`,
    );
    expect(logins.length).toBe(before);
  });

  it('bad values are usage errors naming the value and the form: malformed, with plain FTP, with --insecure', async () => {
    const { options } = setup({ fingerprint: 'AB:CD' });
    await expect(deploy(options)).rejects.toThrow(
      new ConfigError(
        'invalid --tls-fingerprint "AB:CD"; give the SHA-256 fingerprint of the server\'s certificate: 64 hex digits, ' +
          'with or without colons (AB:CD:…:EF, optionally after "sha256:"), as printed by: ' +
          'openssl s_client -connect HOST:21 -starttls ftp </dev/null | openssl x509 -noout -fingerprint -sha256',
      ),
    );
    // A SHA-1 fingerprint (20 bytes) is no SHA-256 one.
    const sha1 = new X509Certificate(cert.cert).fingerprint;
    await expect(deploy(setup({ fingerprint: sha1 }).options)).rejects.toThrow(
      /^invalid --tls-fingerprint "/,
    );
    await expect(deploy({ ...setup({ fingerprint: FP }).options, secure: false })).rejects.toThrow(
      /--tls-fingerprint pins a TLS certificate, but this connection is plain FTP/,
    );
    await expect(deploy(setup({ fingerprint: FP, rejectUnauthorized: false }).options)).rejects.toThrow(
      /--tls-fingerprint checks the certificate and --insecure skips every check: drop --insecure/,
    );
    await expect(
      FtpClient.connect({ ...login(server()), secure: 'explicit', tls: { fingerprint: 'nope' } }),
    ).rejects.toThrow(/^invalid tls\.fingerprint "nope"; give the SHA-256 fingerprint/);
  });

  it('CLI: a self-signed certificate, without --ca, a pin or --insecure, is refused (exit 2) before anything is made (PRODUCT.md G5)', async () => {
    assertBuilt();
    const srv = server();
    const local = tmpDir();
    writeTree(local, { 'index.html': 'checked' });
    const dir = uniqueName('h-untrusted');
    const r = await spawnCli(['deploy', local, `ftpes://${srv.user}@127.0.0.1:${srv.port}/${dir}`], {
      env: { FTPSHIP_PASSWORD: srv.password },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ftpship: error: TLS certificate of 127\.0\.0\.1:\d+ not trusted: /m);
    expect(fs.existsSync(path.join(srv.root, dir))).toBe(false);
    // That --insecure then deploys, loudly: ftp-tls.ftpsrv.test.ts.
  });

  it('CLI: --tls-fingerprint deploys (colon form), a wrong pin exits 1, a malformed one exits 2', async () => {
    assertBuilt();
    const srv = server();
    const local = tmpDir();
    writeTree(local, { 'index.html': 'cli' });
    const url = (scheme: string, dir: string): string =>
      `${scheme}://${srv.user}@127.0.0.1:${srv.port}/${dir}`;
    const env = { env: { FTPSHIP_PASSWORD: srv.password } };
    const dir = uniqueName('h-pin');
    const ok = await spawnCli(['deploy', local, url('ftpes', dir), '--tls-fingerprint', FP], env);
    expect(ok.code).toBe(0);
    expect(readTree(path.join(srv.root, dir), [STATE])).toEqual(readTree(local));
    const wrong = await spawnCli(
      [
        'deploy',
        local,
        url('ftpes', uniqueName('h-pin')),
        '--tls-fingerprint',
        OTHER_FP,
        '--tls-fingerprint',
        OTHER_FP.replace(/:/g, ''),
      ],
      env,
    );
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(`its SHA-256 fingerprint is ${FP}, the pins are ${OTHER_FP}, ${OTHER_FP}`);
    expect(wrong.stderr + wrong.stdout).not.toContain(srv.password);
    const bad = await spawnCli(
      ['deploy', local, url('ftpes', uniqueName('h-pin')), '--tls-fingerprint', 'xyz'],
      env,
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('invalid --tls-fingerprint "xyz"; give the SHA-256 fingerprint');
    expect(bad.stderr).toContain('openssl x509 -noout -fingerprint -sha256');
    const plain = await spawnCli(
      ['deploy', local, url('ftp', uniqueName('h-pin')), '--tls-fingerprint', FP],
      env,
    );
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain('but this connection is plain FTP');
    const insecure = await spawnCli(
      ['deploy', local, url('ftpes', uniqueName('h-pin')), '--tls-fingerprint', FP, '--insecure'],
      env,
    );
    expect(insecure.code).toBe(2);
    expect(insecure.stderr).toBe(
      'ftpship: error: --tls-fingerprint checks the certificate and --insecure skips every check: drop --insecure (with a pin, the certificate needs no CA and no name check)\n',
    );
  });
});

/** A scripted FTPS server: `listing` is the certificate its LIST data connections present, STOR's `other`. */
async function pinServer(listing: {
  key: string;
  cert: string;
}): Promise<{ srv: FakeServer; received: () => number }> {
  let received = -1;
  const made = new Set<string>();
  const srv = await startFakeServer({
    handlers: {
      AUTH: async (_a, s) => {
        s.reply('234 AUTH TLS OK');
        await s.startTls(cert);
      },
      PBSZ: (_a, s) => s.reply('200 PBSZ=0'),
      PROT: (_a, s) => s.reply('200 Protection level set to P'),
      SIZE: (_a, s) => s.reply('550 No such file'),
      // As real servers do: a folder that is there already is refused (the deploy lock relies on it).
      MKD: (a, s) =>
        s.reply(made.has(a) ? '550 Create directory operation failed' : (made.add(a), `257 "${a}" created`)),
      RMD: (a, s) => s.reply(made.delete(a) ? '250 Removed' : '550 No such directory'),
      // An empty folder, listed over TLS with `listing`.
      LIST: async (_a, s) => {
        s.reply('150 Here comes the listing');
        const secure = new tls.TLSSocket(await s.dataSocket(), { isServer: true, ...listing });
        secure.on('error', () => {});
        secure.on('secure', () => secure.end());
        await new Promise((resolve) => secure.on('close', resolve));
        s.reply('226 Done');
      },
      STOR: async (_a, s) => {
        s.reply('150 Ok to send data');
        const secure = new tls.TLSSocket(await s.dataSocket(), { isServer: true, ...other });
        secure.on('error', () => {});
        received = (await s.readAll(secure).catch(() => Buffer.alloc(0))).length;
        s.reply('426 Connection closed; transfer aborted');
      },
    },
  });
  return { srv, received: () => received };
}

/** Logging in to a scripted server over explicit TLS, pinned to `cert` (FP). */
const pinnedLogin = (srv: FakeServer) => ({
  host: '127.0.0.1',
  port: srv.port,
  user: 'u',
  password: 'p',
  secure: 'explicit' as const,
  tls: { fingerprint: FP },
  timeoutMs: 5000,
});

describe('a data connection with another certificate than the pinned control connection', () => {
  it('is refused before any byte of the file goes over it', async () => {
    const { srv, received } = await pinServer(cert);
    try {
      const client = await FtpClient.connect(pinnedLogin(srv));
      const err = await client
        .upload('a.txt', Buffer.from('secret file contents'))
        .catch((e: unknown) => e as Error);
      client.close();
      expect(err).toBeInstanceOf(FtpTlsError);
      expect((err as Error).message).toContain(`TLS handshake of a data connection with 127.0.0.1:`);
      expect((err as Error).message).toContain(
        `the server's certificate has SHA-256 fingerprint ${OTHER_FP}, which is not pinned (${FP}) — nothing was sent on this connection (no file data): the control connection had a pinned certificate and this data connection another`,
      );
      expect(received()).toBe(0);
    } finally {
      await srv.close();
    }
  });
});

describe('at deploy level, a data connection with another certificate than the pinned control connection', () => {
  async function run(srv: FakeServer): Promise<Error> {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'secret file contents' });
    return deploy({ ...pinnedLogin(srv), localDir: local, retries: 0 }).then(
      () => new Error('deployed'),
      (e: unknown) => e as Error,
    );
  }

  const advice =
    `its SHA-256 fingerprint is ${OTHER_FP}, the pin is ${FP}. ` +
    'ftpship checks the pins on every connection, data connections included, and sent nothing over this one. ' +
    'Something on the path may be intercepting data connections, or a load balancer or proxy in front of the ' +
    'server presents another certificate on them: ask the host. If that certificate is theirs, add its ' +
    `fingerprint (${OTHER_FP}) to --tls-fingerprint, beside the pin; if not, do not deploy over this network`;

  it('an upload: says the pins are checked on every connection, the fingerprint presented, what to do (was: "upload index.html failed:" and the client\'s message)', async () => {
    const { srv, received } = await pinServer(cert);
    try {
      const err = await run(srv);
      expect(err).toBeInstanceOf(DeployError);
      expect(err.message).toBe(
        `a data connection to 127.0.0.1 (to upload index.html) presented another TLS certificate than ` +
          `the pinned one of the control connection: ${advice}`,
      );
      expect(received()).toBe(0);
    } finally {
      await srv.close();
    }
  });

  it('the first listing: the same (was: "cannot read the state file" and the client\'s message)', async () => {
    const { srv } = await pinServer(other);
    try {
      const err = await run(srv);
      expect(err).toBeInstanceOf(DeployError);
      expect(err.message).toBe(
        `a data connection to 127.0.0.1 presented another TLS certificate than ` +
          `the pinned one of the control connection: ${advice}`,
      );
      expect(srv.verbs()).not.toContain('STOR');
    } finally {
      await srv.close();
    }
  });
});
