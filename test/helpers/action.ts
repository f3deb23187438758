// Runs the committed bundle action/dist/index.js the way the runner does: a child `node` process with
// INPUT_* variables (action.yml defaults filled in, as the runner does), GITHUB_WORKSPACE, and GITHUB_OUTPUT
// and GITHUB_STEP_SUMMARY pointing at files that exist. Asynchronous on purpose: the FTP server under test
// runs in the jest process, so a blocking spawnSync would deadlock.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readActionYml } from '../../scripts/gen-action-docs.mjs';
import { tmpDir, writeTree } from './tmp.js';

export const REPO = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BUNDLE = path.join(REPO, 'action', 'dist', 'index.js');

export interface ActionRun {
  status: number | null;
  stdout: string;
  stderr: string;
  /** Parsed from the GITHUB_OUTPUT file. */
  outputs: Record<string, string>;
  /** The GITHUB_STEP_SUMMARY file. */
  summary: string;
}

/** The runner's files for one run and the environment naming them (INPUT_* on top of action.yml's defaults). */
export function runnerEnv(
  workspace: string,
  inputs: Record<string, string>,
  env: Record<string, string> = {},
): Record<string, string> {
  const files = tmpDir('ftpship-runner-');
  const outputFile = path.join(files, 'output');
  const summaryFile = path.join(files, 'summary');
  fs.writeFileSync(outputFile, '');
  fs.writeFileSync(summaryFile, '');
  const defaults = Object.entries(readActionYml().inputs).map(([name, spec]) => [name, spec.default ?? '']);
  return {
    ...Object.fromEntries(
      [...defaults, ...Object.entries(inputs)].map(([name, value]) => [
        `INPUT_${name.replace(/ /g, '_').toUpperCase()}`,
        value,
      ]),
    ),
    GITHUB_WORKSPACE: workspace,
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    RUNNER_TEMP: files,
    ...env,
  };
}

/** Reads what a run left in the runner's files named by `vars` (absent files read as empty). */
export function runnerResults(vars: Record<string, string>): Pick<ActionRun, 'outputs' | 'summary'> {
  const read = (file: string | undefined): string =>
    file && fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  return { outputs: parseOutputs(read(vars.GITHUB_OUTPUT)), summary: read(vars.GITHUB_STEP_SUMMARY) };
}

/** A workspace (the repository checkout) with the site in `public/`. */
export function actionWorkspace(files: Record<string, string | Buffer>): { ws: string; site: string } {
  const ws = tmpDir('ftpship-ws-');
  const site = path.join(ws, 'public');
  writeTree(site, files);
  return { ws, site };
}

/** The connection inputs for a server, deploying `public/` to `serverDir`. */
export function actionConnection(
  srv: { host: string; port: number; user: string; password: string },
  serverDir: string,
): Record<string, string> {
  return {
    server: srv.host,
    port: String(srv.port),
    username: srv.user,
    password: srv.password,
    'local-dir': 'public/',
    'server-dir': serverDir,
  };
}

/** Runs the bundle with `inputs` (names as in action.yml) on top of action.yml's defaults. */
export async function runAction(
  workspace: string,
  inputs: Record<string, string>,
  env: Record<string, string> = {},
): Promise<ActionRun> {
  return startAction(workspace, inputs, env).done;
}

/** {@link runAction}, with the child process at hand (to signal it, as the runner does on a cancel). */
export function startAction(
  workspace: string,
  inputs: Record<string, string>,
  env: Record<string, string> = {},
): { child: ChildProcess; done: Promise<ActionRun> } {
  const vars = runnerEnv(workspace, inputs, env);
  const childEnv: Record<string, string> = { ...inheritedEnv(), ...vars };
  const { child, done } = spawnNode([BUNDLE], workspace, childEnv);
  return { child, done: done.then((r) => ({ ...r, ...runnerResults(vars) })) };
}

/** The jest process's environment without anything a runner would set (this suite may itself run in Actions). */
function inheritedEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || /^(INPUT_|GITHUB_|RUNNER_|ACTIONS_)/.test(k) || k === 'NODE_OPTIONS') continue;
    out[k] = v;
  }
  return out;
}

function spawnNode(
  args: string[],
  cwd: string,
  env: Record<string, string>,
): { child: ChildProcess; done: Promise<{ status: number | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const done = new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
  return { child, done };
}

/** GITHUB_OUTPUT holds `name<<DELIMITER\nvalue\nDELIMITER` records (@actions/core's file command). */
export function parseOutputs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /^([^\n<]+)<<(\S+)\n([\s\S]*?)\n\2$/gm;
  for (const m of text.matchAll(re)) out[m[1]] = m[3];
  return out;
}

/** Fails with the step's whole log when it did not succeed (a bare status mismatch says nothing). */
export function expectSuccess(run: ActionRun): void {
  if (run.status !== 0 || run.stdout.includes('::error::')) {
    throw new Error(`the action failed (exit ${run.status}):\n${run.stdout}\n${run.stderr}`);
  }
}
