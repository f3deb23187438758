/**
 * `--json` puts JSON on stdout whatever happens, for a script that reads it: a run that fails without a report
 * prints `{ version, dryRun, error, exitCode }` (the error line of stderr, the exit code); a refused one, its
 * report with `refused`. Before, a failure left stdout empty (not JSON). Against pure-ftpd and real sockets.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { runCli, startCli, type CliResult } from './helpers/cli.js';
import { realServerSuite, remoteFolders } from './helpers/real-servers.js';
import { tmpDir, writeTree } from './helpers/tmp.js';
import { unusedPort } from './helpers/ports.js';

const { describe: d, each } = realServerSuite('cli-json.realservers');
const target = remoteFolders('h-cli3-json');

/** stdout is one JSON object whose `error` is the error line of stderr and `exitCode` the exit code. */
function expectJsonFailure(r: CliResult, code: number, dryRun = false): void {
  expect(r.code).toBe(code);
  const errorLine = r.stderr
    .split('\n')
    .filter((l) => l.startsWith('ftpship: error: ') || l.startsWith('error: '))
    .pop()
    ?.replace(/^(?:ftpship: )?error: /, '');
  expect(errorLine).toBeDefined();
  expect(JSON.parse(r.stdout)).toEqual({ version: 1, dryRun, error: errorLine, exitCode: code });
}

d.each(each('pure'))('%s: --json on a failure', (_name, server) => {
  const site = (): string => {
    const local = tmpDir('ftpship-h-cli3-');
    writeTree(local, { 'index.html': 'home' });
    return local;
  };
  const url = (dir: string, port = server.port): string =>
    `ftp://${server.user}@${server.host}:${port}${dir}`;
  const env = { FTPSHIP_PASSWORD: server.password };

  it('a usage error, a missing folder, a wrong password, a closed port: the error as JSON, with its exit code', async () => {
    const { dir } = target(server);
    expectJsonFailure(await runCli(['deploy', site(), url(dir), '--json', '--bogus=x'], env), 2);
    expectJsonFailure(await runCli(['plan', site(), '--json'], env), 2, true);
    expectJsonFailure(await runCli(['deploy', '/nonexistent/h-cli3', url(dir), '--json'], env), 2);
    const wrong = await runCli(['plan', site(), url(dir), '--json'], { FTPSHIP_PASSWORD: 'wrong-h-cli3' });
    expectJsonFailure(wrong, 2, true);
    expect(wrong.stdout).not.toContain('wrong-h-cli3');
    const port = await unusedPort();
    expectJsonFailure(await runCli(['deploy', site(), url(dir, port), '--json'], env), 1);
    // After --, --json is an argument, not the flag: no JSON.
    const after = await runCli(['deploy', site(), url(dir), '--', '--json'], env);
    expect(after.code).toBe(2);
    expect(after.stdout).toBe('');
  });

  it('cancelled (SIGINT) while the server says nothing: the error as JSON, exit 130', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const run = startCli(['deploy', site(), url('/x', port), '--json', '--verbose'], env);
      await new Promise((r) => setTimeout(r, 800));
      run.child.kill('SIGINT');
      expectJsonFailure(await run.done, 130);
    } finally {
      silent.close();
    }
  });

  it('refused because another deploy holds the lock: the report, with refused (as before)', async () => {
    const { dir, disk } = target(server);
    const lock = path.join(disk, '.ftpship-state.json.lock');
    fs.mkdirSync(lock, { recursive: true });
    const now = new Date().toISOString();
    fs.writeFileSync(
      path.join(lock, 'holder.json'),
      JSON.stringify({
        token: 't',
        holder: 'ftpship on runner-3 pid 5',
        host: 'runner-3',
        pid: 5,
        startedAt: now,
        refreshedAt: now,
      }),
    );
    for (const p of [disk, lock, path.join(lock, 'holder.json')]) fs.chownSync(p, server.uid, server.gid);
    const r = await runCli(['deploy', site(), url(dir), '--json'], env);
    expect(r.code).toBe(3);
    const report = JSON.parse(r.stdout) as { version: number; refused: string; counts: object };
    expect(report.version).toBe(1);
    expect(report.refused).toMatch(/^another deploy holds the lock /);
    expect(report.counts).toBeDefined();
  });

  // The README's exit-code table, for the guards it names besides the lock and --max-delete: the CLI's exit 3 and
  // its report (the library's exitCode is tested elsewhere; nothing tied the CLI to them).
  it('refused by --upload-only over a state, or by a maintenance path already taken: exit 3, the report with refused, nothing changed', async () => {
    const { dir, disk } = target(server);
    const local = site();
    expect((await runCli(['deploy', local, url(dir)], env)).code).toBe(0);
    fs.writeFileSync(path.join(local, 'index.html'), 'home, changed');
    fs.writeFileSync(path.join(disk, 'offline.html'), 'the host page');
    fs.chownSync(path.join(disk, 'offline.html'), server.uid, server.gid);
    const before = fs.readFileSync(path.join(disk, 'index.html'), 'utf8');
    const refusals: Array<[string[], RegExp]> = [
      [['--upload-only'], /^--upload-only keeps no state, but ftpship deploys this folder/],
      [['--maintenance', 'offline.html'], /^the maintenance file offline\.html is already on the server/],
    ];
    for (const [extra, refused] of refusals) {
      const r = await runCli(['deploy', local, url(dir), '--json', ...extra], env);
      expect(r.code).toBe(3);
      const report = JSON.parse(r.stdout) as { refused: string; bytes: { sent: number } };
      expect(report.refused).toMatch(refused);
      expect(report.bytes.sent).toBe(0);
      expect(r.stderr.trim().split('\n').pop()).toBe(`ftpship: error: ${report.refused}`);
    }
    expect(fs.readFileSync(path.join(disk, 'index.html'), 'utf8')).toBe(before);
    expect(fs.readFileSync(path.join(disk, 'offline.html'), 'utf8')).toBe('the host page');
  });
});
