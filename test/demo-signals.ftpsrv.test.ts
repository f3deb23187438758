/**
 * `ftpship demo` (the README's first command) stopped by Ctrl-C or SIGTERM. ftp-srv's constructor made those
 * signals close it and `process.exit(0)`: the demo "succeeded", silently, its temporary folder (the example site
 * and the embedded server's files) left in the temp dir. Now it stops as a deploy does: 130 / 143 and a line
 * saying so, and nothing left behind. TMPDIR is a fresh folder per run, to see what is left.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { startCli } from './helpers/cli.js';
import { BIN, REPO, spawnCli } from './helpers/cli-spawn.js';
import { tmpDir } from './helpers/tmp.js';

const cancelled = (sig: string): string =>
  `ftpship: error: demo cancelled (${sig}): the embedded server is closed and its temporary files removed`;

describe('ftpship demo stopped by a signal', () => {
  it.each([
    ['SIGINT', 'during its first plan', 130, /^1\. plan of the first deploy:/],
    ['SIGTERM', 'after its first deploy', 143, /^2\. deployed: /],
    ['SIGHUP', 'during its first plan', 129, /^1\. plan of the first deploy:/],
  ] as const)(
    '%s %s: exit %d with a word, its temporary folder removed (was: exit 0, silent, the folder left)',
    async (sig, _when, exitCode, line) => {
      const temp = tmpDir('ftpship-h-cli6-demo-');
      const run = startCli(['demo'], { TMPDIR: temp });
      const killer = setTimeout(() => run.child.kill('SIGKILL'), 15_000);
      expect(await run.waitForLine(line)).toBeDefined();
      run.child.kill(sig);
      const r = await run.done;
      clearTimeout(killer);
      expect(r.signal).toBeNull();
      expect(r.code).toBe(exitCode);
      expect(r.stderr.trim().split('\n').pop()).toBe(cancelled(sig));
      // What quits at once: the same signal again, except after a hang-up (a closed terminal sends more than one).
      const hint = sig === 'SIGHUP' ? 'SIGINT or SIGTERM to quit at once' : 'again to quit at once';
      expect(r.stderr).toContain(
        `${sig}: stopping the demo (closing the embedded server, removing its files); ${hint}`,
      );
      expect(r.stderr).not.toMatch(/^5\. the server now holds/m);
      expect(fs.readdirSync(temp)).toEqual([]);
    },
  );

  it('SIGINT while the embedded server starts: exit 130 with a word, nothing left (was: killed by the signal, no word, the folder left)', async () => {
    // A module hook raises SIGINT as the demo asks for ftp-srv.
    const dir = tmpDir('ftpship-h-cli6-hook-');
    const hooks = path.join(dir, 'hooks.mjs');
    fs.writeFileSync(
      hooks,
      `export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (/\\/node_modules\\/ftp-srv\\//.test(r.url)) process.kill(process.pid, 'SIGINT');
  return r;
}
`,
    );
    const register = path.join(dir, 'register.mjs');
    fs.writeFileSync(
      register,
      `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
    );
    const temp = tmpDir('ftpship-h-cli6-demo-');
    const r = await spawnCli(['demo'], {
      env: { TMPDIR: temp },
      command: [process.execPath, '--import', pathToFileURL(register).href, BIN],
      timeoutMs: 15_000,
    });
    expect(r.code).toBe(130);
    expect(r.stderr.trim().split('\n').pop()).toBe(cancelled('SIGINT'));
    expect(fs.readdirSync(temp)).toEqual([]);
  });

  it('`npm run demo` given SIGTERM (npm alone, as a CI runner cancelling the step): npm exits 143, the demo stopped and its folder removed (was: the signal never reached the demo, which ran on to its end)', async () => {
    // --ignore-scripts: `predemo` (the build) is not run; the test suite builds first.
    const temp = tmpDir('ftpship-h-cli6-demo-');
    const env: Record<string, string> = { ...(process.env as Record<string, string>), TMPDIR: temp };
    delete env.NODE_OPTIONS;
    const npm = spawn('npm', ['run', 'demo', '--ignore-scripts'], {
      cwd: REPO,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let sent = false;
    const collect = (c: Buffer): void => {
      out += c.toString();
      if (!sent && /^1\. plan of the first deploy:/m.test(out)) {
        sent = true;
        npm.kill('SIGTERM');
      }
    };
    npm.stdout.on('data', collect);
    npm.stderr.on('data', collect);
    const killer = setTimeout(() => npm.kill('SIGKILL'), 15_000);
    const [code, signal] = await new Promise<[number | null, string | null]>((r) =>
      npm.on('close', (c, s) => r([c, s])),
    );
    clearTimeout(killer);
    expect(sent).toBe(true);
    expect([code, signal]).toEqual([143, null]);
    expect(out).toContain(cancelled('SIGTERM'));
    expect(out).not.toMatch(/^5\. the server now holds/m);
    expect(fs.readdirSync(temp)).toEqual([]);
  });
});

describe('the embedded server closed', () => {
  it('leaves no timer behind, so the process ends with its work (was: ftp-srv left a 1 s timer per session)', async () => {
    // Run in a process of its own: jest's worker has timers of its own.
    const script = `
      import fs from 'node:fs';
      import { startEmbeddedServer } from ${JSON.stringify(pathToFileURL(path.join(REPO, 'dist/src/embedded-server.js')).href)};
      import { FtpClient } from ${JSON.stringify(pathToFileURL(path.join(REPO, 'dist/src/ftp/index.js')).href)};
      const srv = await startEmbeddedServer({ root: process.env.ROOT });
      const login = { host: srv.host, port: srv.port, user: srv.user, password: srv.password };
      const ended = await FtpClient.connect(login);
      await ended.quit();
      const open = await FtpClient.connect(login);
      await srv.close();
      open.close();
      await new Promise((r) => setTimeout(r, 50));
      console.log(JSON.stringify(process.getActiveResourcesInfo()));`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, ROOT: tmpDir() },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += String(d)));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    // What is still open but the pipes of its stdio: nothing (was: a Timeout per session).
    expect((JSON.parse(out.trim()) as string[]).filter((r) => r !== 'PipeWrap')).toEqual([]);
  });
});
