// Runs the Action's source (action/main.ts `run()`) in this jest process, the way the runner runs the
// bundle: INPUT_* variables (action.yml defaults filled in), GITHUB_WORKSPACE, GITHUB_OUTPUT and
// GITHUB_STEP_SUMMARY files, and stdout captured as the runner reads it. For changes not yet in the
// committed bundle (action/dist is rebuilt when merged); `runAction` in ./action.ts runs the bundle itself.
import * as core from '@actions/core';
import { run } from '../../action/main.js';
import { runnerEnv, runnerResults, type ActionRun } from './action.js';

/**
 * Runs `run()` with `inputs` (names as in action.yml) on top of action.yml's defaults. `env` overrides the
 * runner variables (a value of '' removes one). Runs one at a time: it swaps process.env and stdout.
 */
export async function runMain(
  workspace: string,
  inputs: Record<string, string>,
  env: Record<string, string> = {},
): Promise<ActionRun> {
  const vars = runnerEnv(workspace, inputs, env);
  const saved = { ...process.env };
  for (const k of Object.keys(process.env))
    if (/^(INPUT_|GITHUB_|RUNNER_|ACTIONS_)/.test(k)) delete process.env[k];
  for (const [k, v] of Object.entries(vars)) if (v !== '') process.env[k] = v;
  // core.summary is a singleton that remembers the first GITHUB_STEP_SUMMARY it saw, and keeps an unwritten buffer.
  (core.summary as unknown as { _filePath?: string })._filePath = undefined;
  core.summary.emptyBuffer();
  let stdout = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  process.exitCode = undefined;
  try {
    await run();
  } finally {
    process.stdout.write = write;
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
  const status = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { status, stdout, stderr: '', ...runnerResults(vars) };
}

/** Every line of the log as the runner reads it: CR, LF and CRLF each end a line. */
export function logLines(run: ActionRun): string[] {
  return run.stdout.split(/\r\n|\r|\n/);
}
