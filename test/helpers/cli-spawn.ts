/**
 * Spawns the built CLI (`node bin/ftpship.js …` from dist/: `npm test` builds first) asynchronously, so an
 * ftp-srv in the jest process keeps serving, with a chosen cwd and a clean environment (no inherited
 * FTPSHIP_PASSWORD or NODE_OPTIONS).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = path.join(REPO, 'bin', 'ftpship.js');

export interface SpawnResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Throws a clear message when dist/ is missing; warns when it looks older than src/ (run `npm run build`;
 * `npm test` does). Only a warning: in a shared checkout src/ may change while the suite runs.
 */
export function assertBuilt(): void {
  const dist = path.join(REPO, 'dist', 'src');
  if (!fs.existsSync(path.join(dist, 'cli.js')))
    throw new Error('dist/src/cli.js is missing: run `npm run build` first (npm test does it)');
  const newest = (dir: string, ext: string): number =>
    Math.max(
      0,
      ...fs.readdirSync(dir, { withFileTypes: true }).map((e) => {
        const p = path.join(dir, e.name);
        return e.isDirectory()
          ? newest(p, ext)
          : e.name.endsWith(ext) && !e.name.endsWith('.d.ts')
            ? fs.statSync(p).mtimeMs
            : 0;
      }),
    );
  const bundle = path.join(dist, 'cli.bundle.js');
  if (!fs.existsSync(bundle) || fs.statSync(bundle).mtimeMs < fs.statSync(path.join(dist, 'cli.js')).mtimeMs)
    console.warn(
      'dist/src/cli.bundle.js is missing or older than dist/src/cli.js: the CLI tests run the modules, not the bundle users run (run `npm run build`)',
    );
  if (newest(path.join(REPO, 'src'), '.ts') > newest(dist, '.js') + 2000) {
    console.warn(
      'dist/ looks older than src/: the CLI tests run the last build (run `npm run build`, or `npm test`)',
    );
  }
}

export async function spawnCli(
  args: string[],
  opts: {
    env?: Record<string, string | undefined>;
    cwd?: string;
    input?: string;
    command?: string[];
    timeoutMs?: number;
  } = {},
): Promise<SpawnResult> {
  const started = Date.now();
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({
    ...process.env,
    FTPSHIP_PASSWORD: undefined,
    NODE_OPTIONS: undefined,
    ...opts.env,
  })) {
    if (v !== undefined) env[k] = v;
  }
  const [cmd, ...pre] = opts.command ?? [process.execPath, BIN];
  const child = spawn(cmd, [...pre, ...args], {
    cwd: opts.cwd ?? REPO,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  child.stdin.on('error', () => {});
  child.stdin.end(opts.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 25_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, stdout, stderr, ms: Date.now() - started };
}
