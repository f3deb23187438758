import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FtpClient, FtpTlsError, type FtpConnectOptions } from '../src/ftp/index.js';
import { ConfigError, deploy } from '../src/index.js';
import type { EmbeddedServer } from '../src/embedded-server.js';
import { datedCert, selfSignedCert } from './helpers/cert.js';
import { embedded, login } from './helpers/embedded.js';
import { caught, downloadAll } from './helpers/fake-client.js';
import { bytes, sha256, tmpDir } from './helpers/tmp.js';
import { assertBuilt, REPO, spawnCli } from './helpers/cli-spawn.js';

let cert: { key: string; cert: string };
let explicitSrv: EmbeddedServer;
let implicitSrv: EmbeddedServer;
/** Refuses logins over plain FTP, as vsftpd with force_local_logins_ssl=YES. */
let tlsOnlySrv: EmbeddedServer;
const VSFTPD_REFUSAL = 'Non-anonymous sessions must use encryption.';
beforeAll(async () => {
  cert = selfSignedCert();
  explicitSrv = await embedded({ tls: cert });
  implicitSrv = await embedded({ tls: { ...cert, implicit: true } });
  tlsOnlySrv = await embedded({ tls: cert, refusePlainLogin: VSFTPD_REFUSAL });
});
afterAll(async () => {
  await explicitSrv.close();
  await implicitSrv.close();
  await tlsOnlySrv.close();
});

const options = (srv: EmbeddedServer, extra: Partial<FtpConnectOptions>): FtpConnectOptions => ({
  ...login(srv),
  timeoutMs: 5000,
  ...extra,
});

async function roundTrip(client: FtpClient, name: string): Promise<void> {
  const data = bytes(700_000, 11);
  await client.upload(name, data);
  expect(sha256(await downloadAll(client, name))).toBe(sha256(data));
  expect((await client.list()).map((e) => e.name)).toContain(name);
}

describe('TLS against ftp-srv', () => {
  it('the embedded server reads the ClientHello as TLS even while its event loop is busy (ftp-srv alone answers it as a command)', async () => {
    assertBuilt();
    // The server in its own process, its event loop kept busy as a jest worker's is.
    const script = `
      import { startEmbeddedServer } from ${JSON.stringify(path.join(REPO, 'dist/src/embedded-server.js'))};
      const srv = await startEmbeddedServer({ root: process.env.ROOT, tls: { key: process.env.KEY, cert: process.env.CERT } });
      setInterval(() => { const t = Date.now(); while (Date.now() - t < 3); }, 0);
      setImmediate(function spin() { const t = Date.now(); while (Date.now() - t < 2); setImmediate(spin); });
      console.log(srv.port);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, ROOT: tmpDir(), KEY: cert.key, CERT: cert.cert },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        child.stdout.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
        child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
      });
      const failures: string[] = [];
      for (let i = 0; i < 30; i++) {
        try {
          const c = await FtpClient.connect({
            host: 'localhost',
            port,
            user: 'demo',
            password: 'demo-password',
            secure: 'explicit',
            tls: { ca: cert.cert },
            timeoutMs: 5000,
          });
          await c.quit();
        } catch (err) {
          failures.push((err as Error).message.slice(0, 60));
        }
      }
      expect(failures).toEqual([]);
    } finally {
      child.kill();
    }
  });

  it('explicit: AUTH TLS, PBSZ 0, PROT P, and TLS data connections', async () => {
    const log: string[] = [];
    const client = await FtpClient.connect(
      options(explicitSrv, { secure: 'explicit', tls: { ca: cert.cert }, log: (l) => log.push(l) }),
    );
    expect(client.connection.isTls).toBe(true);
    await roundTrip(client, 'explicit.bin');
    await client.quit();
    const sent = log.filter((l) => l.startsWith('> ')).map((l) => l.slice(2).split(' ')[0]);
    expect(sent.slice(0, 3)).toEqual(['AUTH', 'USER', 'PASS']);
    expect(sent).toEqual(expect.arrayContaining(['PBSZ', 'PROT']));
    expect(log).toContain('> PROT P');
    expect(log.filter((l) => l.startsWith('! data connection TLS'))).toHaveLength(3);
  });

  it('implicit: TLS from the first byte', async () => {
    const log: string[] = [];
    const client = await FtpClient.connect(
      options(implicitSrv, { secure: 'implicit', tls: { ca: cert.cert }, log: (l) => log.push(l) }),
    );
    expect(client.connection.isTls).toBe(true);
    await roundTrip(client, 'implicit.bin');
    await client.quit();
    expect(log).not.toContain('> AUTH TLS');
    expect(log).toContain('> PROT P');
  });

  it('an untrusted certificate fails by default, with no login attempted', async () => {
    const log: string[] = [];
    const err = await FtpClient.connect(
      options(explicitSrv, { secure: 'explicit', log: (l) => log.push(l) }),
    ).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(FtpTlsError);
    expect((err as Error).message).toMatch(
      /^TLS handshake with 127\.0\.0\.1:\d+ failed: self[- ]signed certificate — trust the server's CA/,
    );
    expect(log.some((l) => l.startsWith('> USER'))).toBe(false);
    const implicitErr = await FtpClient.connect(options(implicitSrv, { secure: 'implicit' })).catch(
      (e: unknown) => e as Error,
    );
    expect(implicitErr).toBeInstanceOf(FtpTlsError);
    expect(String((implicitErr as Error).message)).toMatch(/self[- ]signed certificate/);
  });

  it('CLI: --ca naming a CA that did not sign the certificate: the error names that file, not "pass its CA with --ca" as if none was given', async () => {
    assertBuilt();
    const local = tmpDir();
    fs.writeFileSync(path.join(local, 'a.txt'), 'a');
    const other = path.join(tmpDir(), 'other-ca.pem');
    fs.writeFileSync(other, selfSignedCert().cert);
    const r = await spawnCli(
      ['deploy', local, `ftpes://${explicitSrv.user}@127.0.0.1:${explicitSrv.port}/wrong-ca`, '--ca', other],
      { env: { FTPSHIP_PASSWORD: explicitSrv.password } },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(
        `^ftpship: error: TLS certificate of 127\\.0\\.0\\.1:${explicitSrv.port} not trusted: self[- ]signed certificate; `,
      ),
    );
    expect(r.stderr).toContain(
      `; the CA given (--ca ${JSON.stringify(other)}) does not vouch for it: pass the CA that signed it (with any ` +
        'intermediate certificates) with --ca FILE (or --insecure to skip the check); or, if you have checked',
    );
    expect(fs.existsSync(path.join(explicitSrv.root, 'wrong-ca'))).toBe(false);
  });

  it('CLI: --ca given, to a server whose certificate a CA this machine trusts already vouches for (NODE_EXTRA_CA_CERTS, as for a public CA): verified, the CA given is added to the trusted ones, not put in their place', async () => {
    assertBuilt();
    const local = tmpDir();
    fs.writeFileSync(path.join(local, 'a.txt'), 'a');
    const trusted = path.join(tmpDir(), 'trusted.pem');
    fs.writeFileSync(trusted, cert.cert);
    const other = path.join(tmpDir(), 'other-ca.pem');
    fs.writeFileSync(other, selfSignedCert().cert);
    const url = `ftpes://${explicitSrv.user}@127.0.0.1:${explicitSrv.port}/moved-to-a-known-ca`;
    const r = await spawnCli(['deploy', local, url, '--ca', other], {
      env: { FTPSHIP_PASSWORD: explicitSrv.password, NODE_EXTRA_CA_CERTS: trusted },
    });
    expect(r.stderr).not.toMatch(/error|not trusted/);
    expect(r.code).toBe(0);
    expect(fs.readFileSync(path.join(explicitSrv.root, 'moved-to-a-known-ca', 'a.txt'), 'utf8')).toBe('a');
  });

  it('CLI: --insecure deploys to a self-signed server, and says loudly that the certificate is not verified (G5), in the JSON report too', async () => {
    assertBuilt();
    const local = tmpDir();
    fs.writeFileSync(path.join(local, 'a.txt'), 'a');
    const url = `ftpes://${explicitSrv.user}@127.0.0.1:${explicitSrv.port}/insecure-cli`;
    const warning =
      '--insecure: the TLS certificate is NOT verified; anyone on the path can read the password';
    const r = await spawnCli(['deploy', local, url, '--insecure', '--json'], {
      env: { FTPSHIP_PASSWORD: explicitSrv.password },
    });
    expect(r.code).toBe(0);
    expect(r.stderr.split('\n')).toContain(`warning: ${warning}`);
    expect((JSON.parse(r.stdout) as { warnings: string[] }).warnings).toContain(warning);
    expect(fs.readFileSync(path.join(explicitSrv.root, 'insecure-cli/a.txt'), 'utf8')).toBe('a');
  });

  it('a certificate for another name fails even with the CA trusted', async () => {
    const err = await FtpClient.connect(
      options(explicitSrv, { secure: 'explicit', tls: { ca: cert.cert, servername: 'ftp.example.com' } }),
    ).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(FtpTlsError);
    expect(String((err as Error).message)).toMatch(/ftp\.example\.com/);
    // The hint names what the certificate holds, and the option that checks against it (still verified).
    expect(String((err as Error).message)).toMatch(
      /the certificate is for localhost, 127\.0\.0\.1: connect to one of those names, or check it against one with the `servername` TLS option \(--tls-name NAME\); /,
    );
    // …and its fingerprint, to pin it once checked (the pin needs no name check).
    const fp = new X509Certificate(cert.cert).fingerprint256;
    expect((err as Error).message).toMatch(
      new RegExp(`; the certificate's SHA-256 fingerprint is ${fp}: .* \\(--tls-fingerprint ${fp}\\)$`),
    );
  });

  it('connects by name (localhost) when the CA is given', async () => {
    const client = await FtpClient.connect(
      options(explicitSrv, { host: 'localhost', secure: 'explicit', tls: { ca: cert.cert } }),
    );
    expect(await client.pwd()).toBe('/');
    await client.quit();
  });

  // Port 990 needs root to listen on (CI runs as root).
  (process.getuid?.() === 0 ? it : it.skip)(
    'CLI: ftpes:// or ftp:// to port 990 connects with implicit TLS, with a warning (it used to wait out the timeout)',
    async () => {
      assertBuilt();
      // Port 990 in front of the implicit-TLS server (data connections go to its passive ports directly).
      const open = new Set<net.Socket>();
      const front = net.createServer((s) => {
        const back = net.connect(implicitSrv.port, '127.0.0.1');
        open.add(s).add(back);
        s.pipe(back).pipe(s);
        s.on('error', () => back.destroy());
        back.on('error', () => s.destroy());
      });
      await new Promise<void>((resolve, reject) => {
        front.once('error', reject);
        front.listen(990, '127.0.0.1', resolve);
      });
      try {
        const local = tmpDir();
        fs.writeFileSync(path.join(local, 'a.txt'), 'a');
        const caFile = path.join(tmpDir(), 'ca.pem');
        fs.writeFileSync(caFile, cert.cert);
        for (const scheme of ['ftpes', 'ftp']) {
          const r = await spawnCli(
            ['deploy', local, `${scheme}://${implicitSrv.user}@127.0.0.1:990/p990-${scheme}`, '--ca', caFile],
            { env: { FTPSHIP_PASSWORD: implicitSrv.password }, timeoutMs: 20_000 },
          );
          expect(r.code).toBe(0);
          expect(r.stderr).toContain(
            `port 990 is the implicit-TLS port: connecting with ftps:// (implicit TLS) instead of ${scheme}://`,
          );
          expect(fs.readFileSync(path.join(implicitSrv.root, `p990-${scheme}`, 'a.txt'), 'utf8')).toBe('a');
        }
      } finally {
        for (const sock of open) sock.destroy();
        await new Promise((resolve) => front.close(resolve));
      }
    },
  );

  it('rejectUnauthorized: false opts out', async () => {
    const client = await FtpClient.connect(
      options(explicitSrv, { secure: 'explicit', tls: { rejectUnauthorized: false } }),
    );
    await roundTrip(client, 'insecure.bin');
    await client.quit();
  });
});

describe('a certificate outside its dates (expired, or not valid yet)', () => {
  // Both were "not trusted … pass its CA with --ca FILE", though the CA was given: no CA makes such a
  // certificate good, and a user following the advice went round in circles.
  it.each([
    ['has expired', '20200101000000Z', '20200102000000Z'],
    ['is not valid yet', '20990101000000Z', '20990102000000Z'],
  ])('%s: the error says so, and that --ca cannot fix it', async (what, from, to) => {
    const dated = datedCert(from, to);
    const srv = await embedded({ tls: dated });
    try {
      const log: string[] = [];
      const err = await caught(
        FtpClient.connect(
          options(srv, { secure: 'explicit', tls: { ca: dated.cert }, log: (l) => log.push(l) }),
        ),
      );
      expect(err).toBeInstanceOf(FtpTlsError);
      expect(err.message).toMatch(
        new RegExp(
          `^TLS handshake with 127\\.0\\.0\\.1:\\d+ failed: .* — the certificate ${what}: the server must be given a current one \\(or this machine's clock is wrong\\); trusting its CA \\(--ca\\) does not change that, rejectUnauthorized: false \\(--insecure\\) skips every check$`,
        ),
      );
      expect(log.some((l) => l.startsWith('> USER'))).toBe(false);
      const local = tmpDir();
      fs.writeFileSync(path.join(local, 'index.html'), 'x');
      const failed = await caught(
        deploy({
          ...login(srv),
          localDir: local,
          remoteDir: '/d',
          secure: 'explicit',
          tls: { ca: dated.cert },
        }),
      );
      expect(failed).toBeInstanceOf(ConfigError);
      expect(failed.message).toBe(
        `the TLS certificate of 127.0.0.1:${srv.port} ${what}: the server needs a current certificate (or this machine's clock is wrong); --ca cannot fix that, --insecure skips every check of the certificate`,
      );
      expect(fs.existsSync(path.join(srv.root, 'd'))).toBe(false);
    } finally {
      await srv.close();
    }
  });
});

describe('a server that refuses logins over plain FTP (FIELD.md #8; vsftpd force_local_logins_ssl)', () => {
  const site = (): string => {
    const local = tmpDir();
    fs.writeFileSync(path.join(local, 'index.html'), 'tls only');
    return local;
  };
  const HINT =
    "Connect with explicit TLS on the same port (CLI: ftpes://; Action: protocol ftps; library: secure 'explicit')";

  it('deploy() over ftp: a configuration error saying to use explicit TLS, not "check the user and password"; explicit TLS then deploys, and a wrong password there is still a wrong password', async () => {
    const local = site();
    const err = await caught(deploy({ ...login(tlsOnlySrv), localDir: local, remoteDir: '/plain' }));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(
      `127.0.0.1:${tlsOnlySrv.port} refuses a login over plain FTP (PASS: 530 ${VSFTPD_REFUSAL}): it requires TLS. ${HINT}`,
    );
    expect(fs.existsSync(path.join(tlsOnlySrv.root, 'plain'))).toBe(false);

    const tls = { ca: cert.cert };
    const report = await deploy({
      ...login(tlsOnlySrv),
      localDir: local,
      remoteDir: '/tls',
      secure: 'explicit',
      tls,
    });
    expect(report.counts.upload).toBe(1);
    expect(fs.readFileSync(path.join(tlsOnlySrv.root, 'tls', 'index.html'), 'utf8')).toBe('tls only');
    const wrong = await caught(
      deploy({
        ...login(tlsOnlySrv),
        password: 'not-the-password',
        localDir: local,
        remoteDir: '/tls',
        secure: 'explicit',
        tls,
      }),
    );
    expect(wrong).toBeInstanceOf(ConfigError);
    expect(wrong.message).toMatch(
      /^login to 127\.0\.0\.1:\d+ as "demo" failed: 530 Login incorrect; check the user and password$/,
    );
  });

  it('CLI: ftp:// fails with exit 2 and one line naming ftpes://', async () => {
    assertBuilt();
    const r = await spawnCli(
      ['deploy', site(), `ftp://${tlsOnlySrv.user}@127.0.0.1:${tlsOnlySrv.port}/cli`],
      {
        env: { FTPSHIP_PASSWORD: tlsOnlySrv.password },
        timeoutMs: 20_000,
      },
    );
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([
      `ftpship: error: 127.0.0.1:${tlsOnlySrv.port} refuses a login over plain FTP (PASS: 530 ${VSFTPD_REFUSAL}): it requires TLS. Connect with explicit TLS on the same port (ftpes://)`,
    ]);
    expect(r.stderr).not.toContain(tlsOnlySrv.password);
  });
});
