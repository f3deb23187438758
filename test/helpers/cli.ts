/** Runs the built CLI (`node bin/ftpship.js`) as a child process, as a user would. */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from '@jest/globals';
import type { RealServer } from './real-servers.js';

export const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/ftpship.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliRun {
  child: ChildProcess;
  /** Resolves when a stderr line matches (the line), or undefined if the process ends first. */
  waitForLine(re: RegExp, count?: number): Promise<string | undefined>;
  done: Promise<CliResult>;
}

export function startCli(
  args: string[],
  env: Record<string, string> = {},
  input?: string,
  /** `launcher`: a command that runs node (`['nohup']`); `stdin`: a file descriptor instead of a pipe. */
  how: { launcher?: string[]; stdin?: number } = {},
): CliRun {
  const [command, ...pre] = [...(how.launcher ?? []), process.execPath];
  const child = spawn(command, [...pre, BIN, ...args], {
    env: { ...process.env, NODE_OPTIONS: '', ...env },
    stdio: [how.stdin ?? 'pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const watchers: Array<{ re: RegExp; left: number; resolve: (l: string | undefined) => void }> = [];
  let partial = '';
  child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr?.on('data', (c: Buffer) => {
    const text = c.toString();
    stderr += text;
    partial += text;
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      for (const w of [...watchers]) {
        if (w.re.test(line) && --w.left === 0) {
          watchers.splice(watchers.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  if (input !== undefined) child.stdin?.end(input);
  else child.stdin?.end();
  const done = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => {
      for (const w of watchers.splice(0)) w.resolve(undefined);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return {
    child,
    done,
    waitForLine: async (re, count = 1) =>
      new Promise((resolve) => watchers.push({ re, left: count, resolve })),
  };
}

export async function runCli(
  args: string[],
  env: Record<string, string> = {},
  input?: string,
): Promise<CliResult> {
  return startCli(args, env, input).done;
}

/** Expects the CLI to have succeeded (exit 0), printing its stderr when it did not; returns the result. */
export function ok(r: CliResult): CliResult {
  if (r.code !== 0) console.log(r.stderr);
  expect(r.code).toBe(0);
  return r;
}

/** The CLI's `command` against a real server in plain FTP (its test user, FTPSHIP_PASSWORD), its folder `dir`. */
export async function cliOn(
  server: RealServer,
  command: string,
  local: string,
  dir: string,
  ...args: string[]
): Promise<CliResult> {
  return runCli([command, local, `ftp://${server.user}@127.0.0.1:${server.port}${dir}`, ...args], {
    FTPSHIP_PASSWORD: server.password,
  });
}

/** The lines of the CLI's stderr that start with `ftpship:` (what it refused or failed with). */
export function errors(r: CliResult): string[] {
  return r.stderr.split('\n').filter((l) => l.startsWith('ftpship:'));
}
