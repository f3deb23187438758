/**
 * The CLI stopped by a signal (Ctrl-C, SIGTERM, a cancelled workflow) while the server does not answer: it quits
 * in about a second with 130 / 143 and a message saying what was left, instead of waiting out every timeout and
 * retry of its way out (the checkpoint, the unlock). The server goes silent behind a TCP proxy in front of
 * pure-ftpd (a network gone: nothing gets through any more, and a new connection is taken but never greeted).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { startCli, type CliResult } from './helpers/cli.js';
import { BIN, spawnCli, type SpawnResult } from './helpers/cli-spawn.js';
import { startFakeServer } from './helpers/fake-server.js';
import { realServerSuite, remoteFolders } from './helpers/real-servers.js';
import { readTree, tmpDir, writeTree } from './helpers/tmp.js';

const { describe: d, each } = realServerSuite('cli-signals.realservers');
const target = remoteFolders('h-cli3-signals');

/** A control-port proxy that, once frozen, passes nothing either way and greets no new connection. */
async function freezingProxy(
  port: number,
): Promise<{ port: number; freeze(): void; close(): Promise<void> }> {
  let frozen = false;
  const live = new Set<net.Socket>();
  const server = net.createServer((client) => {
    live.add(client);
    client.on('error', () => undefined);
    if (frozen) return;
    const upstream = net.connect(port, '127.0.0.1');
    live.add(upstream);
    upstream.on('error', () => undefined);
    client.on('data', (c: Buffer) => void (frozen || upstream.write(c)));
    upstream.on('data', (c: Buffer) => void (frozen || client.write(c)));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    freeze: () => (frozen = true),
    close: async () => {
      for (const s of live) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/**
 * `ftpship deploy local ftp://u@127.0.0.1:port/site --json`, with a module hook that runs `code` (an async
 * function's body) the moment the module dist/src/<module>.js is asked for, while bin/ftpship.js loads.
 */
async function deployWhileLoading(
  local: string,
  port: number,
  module: string,
  code: string,
): Promise<SpawnResult> {
  const dir = tmpDir('ftpship-signals-hook-');
  const hooks = path.join(dir, 'hooks.mjs');
  fs.writeFileSync(
    hooks,
    `export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (/\\/dist\\/src\\/${module}\\.js$/.test(r.url)) { ${code} }
  return r;
}
`,
  );
  const register = path.join(dir, 'register.mjs');
  fs.writeFileSync(
    register,
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
  );
  return spawnCli(['deploy', local, `ftp://u@127.0.0.1:${port}/site`, '--json'], {
    env: { FTPSHIP_PASSWORD: 'secret-signals-hook' },
    command: [process.execPath, '--import', pathToFileURL(register).href, BIN],
  });
}

d.each(each('pure'))('%s: a signal while the server has gone silent', (_name, server) => {
  it.each([
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const)(
    '%s quits within seconds with %d, saying the lock is left (was: waited out every --timeout and retry); the rerun finishes',
    async (sig, exitCode) => {
      const local = tmpDir('ftpship-h-cli3-');
      const files: Record<string, string> = {};
      for (let i = 0; i < 80; i++) files[`p/f${i}.txt`] = `page ${i}`;
      writeTree(local, files);
      const { dir, disk } = target(server);
      const env = { FTPSHIP_PASSWORD: server.password };
      const url = (port: number): string => `ftp://${server.user}@${server.host}:${port}${dir}`;
      const proxy = await freezingProxy(server.port);
      let r: CliResult;
      let tookMs: number;
      try {
        // --timeout 20000: the old way out waited that long for each reply and greeting, then retried.
        const run = startCli(
          ['deploy', local, url(proxy.port), '--parallel', '2', '--timeout', '20000', '--verbose'],
          env,
        );
        const killer = setTimeout(() => run.child.kill('SIGKILL'), 15_000);
        expect(await run.waitForLine(/> STOR /, 10)).toBeDefined();
        proxy.freeze();
        const sentAt = Date.now();
        run.child.kill(sig);
        r = await run.done;
        tookMs = Date.now() - sentAt;
        clearTimeout(killer);
      } finally {
        await proxy.close();
      }
      expect(r.signal).toBeNull();
      expect(r.code).toBe(exitCode);
      expect(tookMs).toBeLessThan(8000); // about a second; before, 20 s per try (killed at 15 s)
      const last = r.stderr.trim().split('\n').pop() ?? '';
      expect(last).toMatch(
        new RegExp(
          `^ftpship: error: deploy cancelled \\(${sig}\\): .*could not be reached on the way out \\(it gave no answer for \\d+ ms, so ftpship stopped waiting\\)`,
        ),
      );
      expect(last).toContain(`the lock ${dir}/.ftpship-state.json.lock is still there`);
      expect(last).toMatch(/rerun to finish the deploy$/);
      expect(r.stderr + r.stdout).not.toContain(server.password);
      // Rerun on this machine, the server answering again: the lock left is taken over, the deploy finishes.
      const rerun = await startCli(['deploy', local, url(server.port)], env).done;
      expect(rerun.code).toBe(0);
      expect(readTree(disk, ['.ftpship-state.json'])).toEqual(readTree(local));
    },
    25_000,
  );
});

/**
 * A second SIGINT quits at once, as documented: it did so with no word at all, and with --json left stdout
 * empty (README: stdout is JSON whatever happens). Now the error line says what was left, and --json prints it.
 */
d.each(each('pure'))('%s: a second SIGINT with --json', (_name, server) => {
  it('quits at once with 130, the error on stderr and as JSON on stdout (was: no word, stdout empty); the rerun finishes', async () => {
    const local = tmpDir('ftpship-h-cli14-');
    const files: Record<string, string> = {};
    for (let i = 0; i < 80; i++) files[`p/f${i}.txt`] = `page ${i}`;
    writeTree(local, files);
    const { dir, disk } = target(server);
    const env = { FTPSHIP_PASSWORD: server.password };
    const url = (port: number): string => `ftp://${server.user}@${server.host}:${port}${dir}`;
    const proxy = await freezingProxy(server.port);
    let r: CliResult;
    try {
      const run = startCli(
        ['deploy', local, url(proxy.port), '--json', '--parallel', '2', '--timeout', '20000', '--verbose'],
        env,
      );
      const killer = setTimeout(() => run.child.kill('SIGKILL'), 15_000);
      expect(await run.waitForLine(/> STOR /, 10)).toBeDefined();
      // Frozen: the first SIGINT's way out waits for the server, so the second comes while it runs.
      proxy.freeze();
      const stopping = run.waitForLine(/^warning: SIGINT: stopping/);
      run.child.kill('SIGINT');
      expect(await stopping).toBeDefined();
      run.child.kill('SIGINT');
      r = await run.done;
      clearTimeout(killer);
    } finally {
      await proxy.close();
    }
    expect([r.signal, r.code]).toEqual([null, 130]);
    const message =
      'SIGINT again: quit at once, without recording what was done; the lock, if it was taken, is left: run the deploy again to finish (from this machine it takes that lock over at once; from another, once it is stale)';
    expect(r.stderr.trim().split('\n').pop()).toBe(`ftpship: error: ${message}`);
    expect(JSON.parse(r.stdout)).toEqual({ version: 1, dryRun: false, error: message, exitCode: 130 });
    // As it says: the rerun, on this machine, takes the lock left over at once and finishes.
    const rerun = await startCli(['deploy', local, url(server.port)], env).done;
    expect(rerun.code).toBe(0);
    expect(readTree(disk, ['.ftpship-state.json'])).toEqual(readTree(local));
  }, 25_000);
});

/**
 * Ctrl-C in the first few hundred ms, while the CLI loads and before the deploy listens for it, ended the process
 * by the signal with no word (the shell's `^C` alone). Now it is held from bin's first line and the deploy stops
 * on it before anything: the same message and exit code as later, nothing on the server.
 */
const WRITES = ['MKD', 'STOR', 'APPE', 'RNFR', 'RNTO', 'DELE', 'RMD', 'SITE'];
const cancelledEarly = (r: { code: number | null; stderr: string; stdout: string }): void => {
  expect(r.code).toBe(130);
  expect(r.stderr.trim().split('\n').pop()).toBe('ftpship: error: cancelled (SIGINT): nothing was changed');
};

describe('SIGINT before the deploy has started', () => {
  it.each([
    ['bin/ftpship.js loads its helpers', 'run-main'],
    ['the CLI itself loads', 'cli(\\.bundle)?'],
  ])(
    'while %s: exit 130 with the message, nothing sent (was: killed by the signal, no message)',
    async (_when, module) => {
      const local = tmpDir('ftpship-h-cli4-early-');
      writeTree(local, { 'a.txt': 'a' });
      const server = await startFakeServer();
      try {
        // A module hook raises SIGINT at the moment that module of dist/src is asked for.
        const r = await deployWhileLoading(
          local,
          server.port,
          module,
          "process.kill(process.pid, 'SIGINT');",
        );
        cancelledEarly(r);
        expect(JSON.parse(r.stdout)).toMatchObject({
          exitCode: 130,
          error: 'cancelled (SIGINT): nothing was changed',
        });
        // Most often not even a connection; a signal the CLI sees only once the deploy has begun (the event loop
        // busy loading) stops it at its login: either way nothing is made or sent.
        expect(server.verbs().filter((v) => WRITES.includes(v))).toEqual([]);
      } finally {
        await server.close();
      }
    },
  );

  it('twice while bin/ftpship.js loads its helpers: exit 130 at once, saying so, with --json on stdout too (was: no word, stdout empty)', async () => {
    const local = tmpDir('ftpship-h-cli14-early-');
    writeTree(local, { 'a.txt': 'a' });
    const server = await startFakeServer();
    try {
      const twice =
        "process.kill(process.pid, 'SIGINT'); await new Promise((done) => setTimeout(done, 100)); " +
        "process.kill(process.pid, 'SIGINT'); await new Promise((done) => setTimeout(done, 100));";
      const r = await deployWhileLoading(local, server.port, 'run-main', twice);
      const message = 'SIGINT again: quit at once while starting; nothing was changed';
      expect({ code: r.code, stderr: r.stderr }).toEqual({
        code: 130,
        stderr: `ftpship: error: ${message}\n`,
      });
      expect(JSON.parse(r.stdout)).toEqual({ version: 1, dryRun: false, error: message, exitCode: 130 });
      expect(server.verbs()).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('during login, the server not yet greeting: exit 130 with the message, not a command sent', async () => {
    const local = tmpDir('ftpship-h-cli4-early-');
    writeTree(local, { 'a.txt': 'a' });
    let connected: () => void = () => undefined;
    const greeted = new Promise<void>((r) => (connected = r));
    const server = await startFakeServer({
      greeting: (s) => {
        connected();
        setTimeout(() => s.reply('220 late'), 3000).unref();
      },
    });
    try {
      const run = startCli(['deploy', local, `ftp://u@127.0.0.1:${server.port}/site`], {
        FTPSHIP_PASSWORD: 'secret-h-cli4',
      });
      await greeted;
      run.child.kill('SIGINT');
      const r = await run.done;
      expect(r.signal).toBeNull();
      cancelledEarly(r);
      expect(server.commands).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('while --password-stdin waits for its pipe to end: exit 130 with the message (was: it waited on; only a second Ctrl-C quit, with no word)', async () => {
    const local = tmpDir('ftpship-h-cli4-early-');
    writeTree(local, { 'a.txt': 'a' });
    const server = await startFakeServer();
    try {
      // The pipe stays open (the command feeding it still running): the password is not read yet. The URL's
      // password gets a warning, printed just before the CLI starts reading the pipe.
      const child = spawn(
        process.execPath,
        [BIN, 'deploy', local, `ftp://u:h-cli4-url@127.0.0.1:${server.port}/site`, '--password-stdin'],
        { env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['pipe', 'pipe', 'pipe'] },
      );
      let stderr = '';
      const warned = new Promise<void>((resolve) =>
        child.stderr.on('data', (c: Buffer) => {
          stderr += c.toString();
          if (stderr.includes('holds a password')) resolve();
        }),
      );
      const closed = new Promise<[number | null, string | null]>((r) =>
        child.on('close', (c, sig) => r([c, sig])),
      );
      child.stdin.write('h-cli4-');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await warned;
      child.kill('SIGINT');
      const [code, signal] = await closed;
      clearTimeout(killer);
      expect(signal).toBeNull();
      cancelledEarly({ code, stderr, stdout: '' });
      expect(server.sessions).toHaveLength(0); // the password was still to come
    } finally {
      await server.close();
    }
  });
});

d.each(each('pure'))('%s: SIGINT after the first line of output', (_name, server) => {
  it('exit 130 with the message; no lock left on the server', async () => {
    const local = tmpDir('ftpship-h-cli4-');
    writeTree(local, { 'a.txt': 'a', 'p/b.txt': 'b' });
    const { dir, disk } = target(server);
    const run = startCli(
      ['deploy', local, `ftp://${server.user}@${server.host}:${server.port}${dir}`, '--verbose'],
      {
        FTPSHIP_PASSWORD: server.password,
      },
    );
    expect(await run.waitForLine(/./)).toBeDefined();
    run.child.kill('SIGINT');
    const r = await run.done;
    expect(r.signal).toBeNull();
    expect(r.code).toBe(130);
    // (--verbose: the dialogue's last lines may come after the error)
    expect(r.stderr).toMatch(/^ftpship: error: (deploy )?cancelled \(SIGINT\)/m);
    expect(fs.existsSync(path.join(disk, '.ftpship-state.json.lock'))).toBe(false);
    expect(r.stderr).not.toContain(server.password);
  });
});
