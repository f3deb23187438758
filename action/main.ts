/** The Action: read the inputs, deploy, set the outputs and the job summary; one failure path. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as core from '@actions/core';
import { deploy, formatSummary, type DeployReport } from '../src/index.js';
import { Output } from './constants.js';
import { phrase } from './phrase.js';
import { collectFiles } from './files.js';
import { readInputs } from './inputs.js';
import { actionReporter } from './reporter.js';
import { summaryMarkdown, writeSummary } from './summary.js';

export async function run(): Promise<void> {
  try {
    const { options, logLevel, filePatterns } = readInputs();
    if (filePatterns)
      options.files = await collectFiles(options.localDir as string, filePatterns, options.exclude ?? []);
    const report = await deploy(options, actionReporter(logLevel));
    const files = writeReport(report);
    setOutputs(report, files);
    await writeSummary(report);
    core.info(formatSummary(report));
  } catch (err) {
    core.setFailed(phrase(err instanceof Error ? err.message : String(err)));
  }
}

function setOutputs(report: DeployReport, files: { plan: string; summary: string }): void {
  const c = report.counts;
  core.setOutput(Output.Uploaded, c.upload);
  core.setOutput(Output.Replaced, c.replace);
  core.setOutput(Output.Deleted, c.delete);
  core.setOutput(Output.Unchanged, c.unchanged);
  core.setOutput(Output.Bytes, report.dryRun ? report.bytes.planned : report.bytes.sent);
  core.setOutput(
    Output.Changed,
    report.files.length > 0 || (report.chmod?.files ?? 0) + (report.chmod?.dirs ?? 0) > 0,
  );
  core.setOutput(Output.Plan, files.plan);
  core.setOutput(Output.SummaryFile, files.summary);
}

/** The JSON report goes to the runner's temp folder: never into the workspace (a dry run writes nothing there). */
function writeReport(report: DeployReport): { plan: string; summary: string } {
  const dir = fs.mkdtempSync(path.join(process.env.RUNNER_TEMP || os.tmpdir(), 'ftpship-'));
  const plan = path.join(dir, 'report.json');
  fs.writeFileSync(plan, `${JSON.stringify(report, null, 2)}\n`);
  // The job summary's Markdown as a file too, for a step that posts it as a pull-request comment.
  const summary = path.join(dir, 'summary.md');
  fs.writeFileSync(summary, summaryMarkdown(report));
  return { plan, summary };
}
