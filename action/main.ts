/** The Action: read the inputs, deploy, set the outputs and the job summary; one failure path. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as core from '@actions/core';
import {
  CancelledError,
  ConfigError,
  deploy,
  formatSummary,
  GuardError,
  type DeployOptions,
  type DeployReport,
} from '../src/index.js';
import { checkAbsoluteExcludes } from '../src/engine/resolve.js';
import { cancelOnSignals } from '../src/signals.js';
import { Output } from './constants.js';
import { logSafe, phrase } from './phrase.js';
import { collectFiles } from './files.js';
import { inputOf, quotedLogin, readInputs } from './inputs.js';
import { withoutLogin } from './login.js';
import { actionReporter } from './reporter.js';
import { commentMarkdown, writeSummary } from './summary.js';

export async function run(): Promise<void> {
  let dryRun = true; // until the inputs say otherwise: nothing is changed before
  // A cancelled workflow: the runner sends SIGINT; the deploy stops cleanly and unlocks. Still running 7.5 s
  // later, it gets SIGTERM (and a kill 2.5 s after that): it quits at once, its last line saying what it left.
  const cancel = cancelOnSignals(
    (sig) =>
      core.warning(
        sig === 'SIGHUP'
          ? `${sig}: the runner's session hung up; stopping the deploy`
          : `${sig}: the workflow was cancelled; stopping the deploy`,
      ),
    (sig) => core.error(quitWord(sig, dryRun)),
  );
  try {
    const { options: inputs, logLevel, filePatterns } = readInputs();
    dryRun = inputs.dryRun === true;
    const options = filePatterns ? await selectFiles(inputs, filePatterns) : inputs;
    const report = await deploy({ ...options, signal: cancel.signal }, actionReporter(logLevel));
    await publish(report);
    core.info(logSafe(phrase(formatSummary(report))));
  } catch (err) {
    // A dry run refused by a guard is still the preview: its plan is reported, then the step fails. A
    // deploy refused so gets its summary too (what would have been deleted), but no counts: nothing was done.
    // The plan file's `refused` says why in the Action's words, as the step's error does.
    if (err instanceof GuardError && err.report)
      await publish({ ...err.report, refused: phrase(err.message) }, err.message);
    core.setFailed(logSafe(phrase(errorText(err)) + loginHint(err)));
    if (err instanceof CancelledError) cancel.exitSoon(1);
  } finally {
    cancel.dispose();
  }
}

/**
 * The `files` input: the files it selects in local-dir, given to deploy() instead of the folder (deploy() refuses
 * both). An exclude written as local-dir's absolute path is refused first, as deploy() refuses it for a folder.
 */
async function selectFiles(inputs: DeployOptions, patterns: string[]): Promise<DeployOptions> {
  checkAbsoluteExcludes(inputs);
  const { localDir, ...options } = inputs;
  return { ...options, files: await collectFiles(localDir as string, patterns, options.exclude ?? []) };
}

/** The last line of a deploy that a second signal (the runner's SIGTERM) ends before it has stopped. */
function quitWord(sig: string, dryRun: boolean): string {
  if (dryRun) return `${sig} while the dry run was stopping: quit at once; a dry run, nothing was changed`;
  return (
    `${sig} while the deploy was stopping: quit at once, without recording the last steps in the state; the lock, ` +
    'if it was taken, is left on the server: the next deploy takes it over once it is stale (2 minutes after ' +
    'this one last refreshed it; at once on this same runner machine). Run the workflow again to finish the deploy'
  );
}

/** An error's message; one about an option's value names the input it came from (not the CLI's flag). */
function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return err instanceof ConfigError ? err.messageFor(inputOf) : err.message;
}

/** A failed login with a user or password in quotes: most likely a secret saved with them. */
function loginHint(err: unknown): string {
  if (!(err instanceof Error) || !/^login to .* failed: 530\b/.test(err.message)) return '';
  const quoted = quotedLogin();
  if (quoted.length === 0) return '';
  const names = quoted.map((n) => `\`${n}\``).join(' and ');
  return (
    `. The ${names} input${quoted.length > 1 ? 's are' : ' is'} in quotes: if the secret was saved with ` +
    'them, save it again without'
  );
}

/**
 * The target as the plan file, `summary-file` and the job summary show it: `ftp://host/dir`, without the user.
 * A later step may post those files (a pull-request comment) where the runner masks nothing, and the Action
 * cannot tell a `username` (or `server`) kept in a secret from one written in the workflow.
 */
function withoutUser(target: string): string {
  return target.replace(/^([a-z]+:\/\/)[^@/]*@/i, '$1');
}

/**
 * The report as the plan file, `summary-file` and the job summary show it: the target and the server's words
 * without the host (nor a user name that escaping would change). The runner masks a `server` kept in a secret
 * only where it appears as written: the job summary escapes it as HTML (`ftp_1` is `ftp&#95;1` there), and a
 * later step posts the files (a pull-request comment, an artifact) where nothing is masked. The Action cannot
 * tell a `server` kept in a secret from one written in the workflow.
 */
function withoutHost(report: DeployReport): DeployReport {
  return {
    ...report,
    // The port too: it may be a secret as well (the runner masks its value in the job summary, not in the files).
    target: report.target.replace(/^([a-z]+:\/\/)(?:\[[^\]]*\]|[^/:]*)(?::\d+)?/i, '$1***'),
    warnings: report.warnings.map(withoutLogin),
    ...(report.refused === undefined ? {} : { refused: withoutLogin(report.refused) }),
  };
}

/**
 * The report as the plan file, the outputs and the job summary. The deploy is over by now: a runner file
 * that cannot be written costs a warning, not the deploy's result.
 */
async function publish(full: DeployReport, refusal?: string): Promise<void> {
  const report = { ...full, target: withoutUser(full.target) };
  const shared = withoutHost(report);
  const sharedRefusal = refusal === undefined ? undefined : withoutLogin(refusal);
  const done = report.dryRun ? 'the plan stands' : refusal ? 'the deploy was refused' : 'the deploy is done';
  // Not a failure path: the step's result is settled, so each of these only warns.
  const attempt = async <T>(what: string, step: () => T | Promise<T>): Promise<T | undefined> =>
    Promise.resolve()
      .then(step)
      .catch((err: unknown) => {
        core.warning(logSafe(`could not ${what}: ${(err as Error).message}; ${done}`));
        return undefined;
      });
  const files = await attempt('write the report files in RUNNER_TEMP', () =>
    writeReport(shared, sharedRefusal),
  );
  await attempt('set the outputs (GITHUB_OUTPUT)', () =>
    setOutputs(report, files, refusal !== undefined && !report.dryRun),
  );
  await attempt('write the job summary (GITHUB_STEP_SUMMARY)', async () =>
    writeSummary(shared, sharedRefusal),
  );
}

/** `filesOnly`: a deploy a guard refused gets the report files, not the counts of what it did not do. */
function setOutputs(
  report: DeployReport,
  files: { plan: string; summary: string } | undefined,
  filesOnly: boolean,
): void {
  if (files) {
    core.setOutput(Output.Plan, files.plan);
    core.setOutput(Output.SummaryFile, files.summary);
  }
  if (filesOnly) return;
  const c = report.counts;
  core.setOutput(Output.Uploaded, c.upload);
  core.setOutput(Output.Replaced, c.replace);
  core.setOutput(Output.Deleted, c.delete);
  core.setOutput(Output.Unchanged, c.unchanged);
  core.setOutput(Output.FoldersMade, c.mkdir);
  core.setOutput(Output.FoldersRemoved, c.rmdir);
  core.setOutput(Output.Bytes, report.dryRun ? report.bytes.planned : report.bytes.sent);
  core.setOutput(
    Output.Changed,
    report.files.length > 0 || (report.chmod?.files ?? 0) + (report.chmod?.dirs ?? 0) > 0,
  );
}

/** The JSON report goes to the runner's temp folder: never into the workspace (a dry run writes nothing there). */
function writeReport(report: DeployReport, refusal?: string): { plan: string; summary: string } {
  const dir = fs.mkdtempSync(path.join(process.env.RUNNER_TEMP || os.tmpdir(), 'ftpship-'));
  const plan = path.join(dir, 'report.json');
  fs.writeFileSync(plan, `${JSON.stringify(report, null, 2)}\n`);
  // The job summary's Markdown as a file too, for a step that posts it as a pull-request comment (which
  // holds less than a job summary: its lists are cut shorter where needed).
  const summary = path.join(dir, 'summary.md');
  fs.writeFileSync(summary, commentMarkdown(report, refusal));
  return { plan, summary };
}
