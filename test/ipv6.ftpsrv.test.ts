/**
 * The CLI to a server on ::1 (an ftp-srv of the test's own; the real servers listen on 127.0.0.1 only), with an
 * IPv6 literal in the URL (`ftpes://user@[::1]:port/dir`), over explicit TLS: active mode announces the IPv6
 * address with EPRT |2|::1|port| and the server connects back; passive mode uses EPSV (PASV cannot carry an IPv6
 * address); the dry run and the report name the target with its brackets; a held lock's message gives the
 * command to remove it with the host bracketed.
 */
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { EmbeddedServer } from '../src/embedded-server.js';
import { selfSignedCert } from './helpers/cert.js';
import { assertBuilt, spawnCli, type SpawnResult } from './helpers/cli-spawn.js';
import { deploy } from '../src/index.js';
import { deployOptions, embedded } from './helpers/embedded.js';
import { readTree, tmpDir, writeTree } from './helpers/tmp.js';

const hasCurl = spawnSync('curl', ['--version']).status === 0;

/** ::1 usable here (a host without IPv6 skips, saying so). */
async function ipv6Loopback(): Promise<boolean> {
  const probe = net.createServer();
  return new Promise((resolve) => {
    probe.once('error', () => resolve(false));
    probe.listen(0, '::1', () => probe.close(() => resolve(true)));
  });
}

describe('the CLI to a server on [::1], explicit TLS', () => {
  let srv: EmbeddedServer | undefined;
  let ca = '';
  beforeAll(async () => {
    assertBuilt();
    if (!(await ipv6Loopback())) return;
    const cert = selfSignedCert(); // for localhost and 127.0.0.1: checked against localhost (--tls-name)
    ca = path.join(tmpDir('ftpship-v6-ca-'), 'ca.pem');
    fs.writeFileSync(ca, cert.cert);
    srv = await embedded({ host: '::1', tls: cert });
  });
  afterAll(async () => {
    await srv?.close();
  });

  const url = (dir: string): string => `ftpes://${srv?.user}@[::1]:${srv?.port}/${dir}`;
  const cli = async (args: string[]): Promise<SpawnResult> => {
    const cwd = tmpDir('ftpship-v6-cwd-');
    return spawnCli([...args, '--ca', ca, '--tls-name', 'localhost'], {
      cwd,
      env: { FTPSHIP_PASSWORD: srv?.password, HOME: cwd },
    });
  };

  it('active and passive deploys over IPv6: EPRT |2|::1|…| and EPSV; the dry run and the report name [::1]', async () => {
    if (!srv) return console.log('ipv6.ftpsrv: ::1 cannot be listened on here: skipped');
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home', 'css/site.css': 'body{}' });
    const plan = await cli(['deploy', local, url('v6'), '--dry-run', '--json']);
    expect({ code: plan.code, stderr: plan.stderr }).toMatchObject({ code: 0 });
    expect(JSON.parse(plan.stdout)).toMatchObject({ dryRun: true, target: url('v6'), counts: { upload: 2 } });
    const active = await cli(['deploy', local, url('v6'), '--active', '--verbose', '--json']);
    expect({ code: active.code, stderr: active.code === 0 ? '' : active.stderr }).toEqual({
      code: 0,
      stderr: '',
    });
    expect((JSON.parse(active.stdout) as { target: string }).target).toBe(url('v6'));
    expect(active.stderr).toMatch(/> EPRT \|2\|::1\|\d+\|\n/);
    expect(active.stderr).not.toMatch(/> (EPSV|PASV|PORT)\b/);
    expect(readTree(path.join(srv.root, 'v6'), ['.ftpship-state.json'])).toEqual(readTree(local));
    writeTree(local, { 'index.html': 'home, again' });
    const passive = await cli(['deploy', local, url('v6'), '--verbose']);
    expect({ code: passive.code, stderr: passive.code === 0 ? '' : passive.stderr }).toEqual({
      code: 0,
      stderr: '',
    });
    expect(passive.stderr).toMatch(/> EPSV\n/);
    expect(passive.stderr).not.toMatch(/> (PASV|EPRT|PORT)\b/);
    expect(readTree(path.join(srv.root, 'v6'), ['.ftpship-state.json'])).toEqual(readTree(local));
  });

  it('deploy() with host "[::1]", as a URL writes it: the brackets are taken off; with a port after them, the port goes apart', async () => {
    if (!srv) return;
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home' });
    const tls = { ca: fs.readFileSync(ca), servername: 'localhost' };
    const o = deployOptions(srv, local, 'lib', { host: '[::1]', secure: 'explicit', tls });
    // Was: 'host "[::1]" not found; check the server name' (the name lookup got the brackets).
    const r = await deploy(o);
    expect(r.target).toBe(`ftpes://demo@[::1]:${srv.port}/lib`);
    expect(readTree(path.join(srv.root, 'lib'), ['.ftpship-state.json'])).toEqual(readTree(local));
    await expect(deploy({ ...o, host: `[::1]:${srv.port}` })).rejects.toThrow(
      `invalid host "[::1]:${srv.port}"; give the port apart (port: ${srv.port}) and the host alone (::1)`,
    );
  });

  it('a lock held by another deploy: exit 3; the curl command to remove it, checking the certificate against --tls-name, works', async () => {
    if (!srv) return;
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home' });
    const lock = path.join(srv.root, 'held', '.ftpship-state.json.lock');
    fs.mkdirSync(lock, { recursive: true });
    const now = new Date().toISOString();
    fs.writeFileSync(
      path.join(lock, 'holder.json'),
      JSON.stringify({
        token: 't',
        holder: 'ftpship on elsewhere pid 7',
        host: 'elsewhere',
        pid: 7,
        startedAt: now,
        refreshedAt: now,
      }),
    );
    const r = await cli(['deploy', local, url('held')]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /another deploy holds the lock \/held\/\.ftpship-state\.json\.lock \(ftpship on elsewhere pid 7, /,
    );
    expect(r.stderr).not.toMatch(/[^[]::1:\d/);
    if (!hasCurl) return console.log('ipv6.ftpsrv: no curl here: the printed command not run');
    const curl =
      /remove the lock now with (curl .*) \(it asks for the password\)$/.exec(r.stderr.trim())?.[1] ?? '';
    // The certificate names localhost, not ::1 (--tls-name localhost): curl must check it against that name too.
    // Was "curl --ssl-reqd --cacert … --user demo 'ftp://[::1]:<port>/' …", which curl refused: "SSL: no
    // alternative certificate subject name matches target host name '::1'".
    expect(curl).toBe(
      `curl --ssl-reqd --cacert ${ca} --connect-to 'localhost:${srv.port}:[::1]:${srv.port}' --user demo ` +
        `ftp://localhost:${srv.port}/ -Q 'DELE /held/.ftpship-state.json.lock/holder.json' -Q 'RMD /held/.ftpship-state.json.lock'`,
    );
    // Run as printed, through a shell (its quoting), with the password curl would ask for; not spawnSync: the
    // server runs in this process.
    const removed = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
      const run = `${curl.replace('--user demo', `--user demo:${srv?.password}`)} --silent --show-error --output /dev/null`;
      execFile('sh', ['-c', run], { timeout: 10_000 }, (err, _out, stderr) =>
        resolve({ status: err ? (typeof err.code === 'number' ? err.code : null) : 0, stderr }),
      );
    });
    expect(removed).toEqual({ status: 0, stderr: '' });
    expect(fs.existsSync(lock)).toBe(false);
  });
});
