/**
 * The job summary: the deploy (or, for a dry run, the pull-request preview) as counts and bytes, deletions
 * first and marked, then the other changes in a collapsed list. Lists are capped: a summary holds 1 MiB.
 */
import * as core from '@actions/core';
import { formatBytes, formatHeld, type DeployReport, type PlanEntry } from '../src/index.js';
import { showBytes } from '../src/ftp/encoding.js';
import { phrase } from './phrase.js';

/** Entries listed per section; the rest is counted (the full list is in the `plan` output file). */
export const MAX_LISTED = 500;

export async function writeSummary(report: DeployReport, refusal?: string): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) {
    core.debug('GITHUB_STEP_SUMMARY is not set: no job summary');
    return;
  }
  await core.summary.addRaw(jobSummaryMarkdown(report, refusal), true).write();
}

/**
 * The most a step's job summary holds, in bytes: GitHub drops a larger one whole ("upload aborted, supports
 * content up to a size of 1024k"), leaving the run with no summary at all.
 */
export const SUMMARY_MAX_BYTES = 1024 * 1024;

/** The job summary's Markdown, with shorter lists when long paths would take it past {@link SUMMARY_MAX_BYTES}. */
export function jobSummaryMarkdown(report: DeployReport, refusal?: string): string {
  // +1: the line break `addRaw(…, true)` adds.
  return fitted(report, refusal, (md) => Buffer.byteLength(md) + 1 <= SUMMARY_MAX_BYTES);
}

/** The summary with the longest lists (at most {@link MAX_LISTED}) that `fits`; the rest counted, as ever. */
function fitted(report: DeployReport, refusal: string | undefined, fits: (md: string) => boolean): string {
  let md = summaryMarkdown(report, refusal);
  for (const listed of [200, 100, 50, 20, 10, 0]) {
    if (fits(md)) break;
    md = summaryMarkdown(report, refusal, listed);
  }
  return md;
}

/** The most a pull-request comment holds (GitHub refuses a longer body): the `summary-file` must fit. */
export const COMMENT_MAX_CHARS = 65_536;

/**
 * The summary as a pull-request comment: the job summary's Markdown, with shorter lists when that is too
 * long for a comment (the rest counted, as ever; the `plan` file has them all).
 */
export function commentMarkdown(report: DeployReport, refusal?: string): string {
  return fitted(report, refusal, (md) => md.length <= COMMENT_MAX_CHARS);
}

/**
 * `refusal`: why a guard refused the plan (a dry run or a deploy refused by `max-delete`), shown above it.
 * `listed`: entries listed per section.
 */
export function summaryMarkdown(report: DeployReport, refusal?: string, listed = MAX_LISTED): string {
  const c = report.counts;
  // A deploy a guard refused did nothing: its plan is shown as a dry run's is.
  const refusedDeploy = refusal !== undefined && !report.dryRun;
  const planned = report.dryRun || refusedDeploy;
  const title = report.dryRun
    ? 'ftpship deploy preview (dry run: nothing was changed)'
    : refusedDeploy
      ? 'ftpship deploy refused (nothing was changed)'
      : 'ftpship deploy';
  const verb = planned ? 'would' : '';
  const bytes = planned
    ? `${formatBytes(report.bytes.planned)} to send`
    : `${formatBytes(report.bytes.sent)} sent`;
  const deletions = report.files.filter((e) => e.action === 'delete' || e.action === 'rmdir');
  const others = report.files.filter((e) => e.action !== 'delete' && e.action !== 'rmdir');
  const out = [
    `## ${title}`,
    '',
    ...(refusal
      ? [
          `**:no_entry: The deploy ${refusedDeploy ? 'was' : 'would be'} refused:** ${prose(phrase(refusal))}`,
          '',
        ]
      : []),
    `Target: ${targetWords(report.target)} · ${bytes} · ${(report.durationMs / 1000).toFixed(1)} s`,
    '',
    '| upload | replace | delete | mkdir | rmdir | unchanged |',
    '|---:|---:|---:|---:|---:|---:|',
    `| ${c.upload} | ${c.replace} | ${c.delete} | ${c.mkdir} | ${c.rmdir} | ${c.unchanged} |`,
    '',
  ];
  const chmods = (report.chmod?.files ?? 0) + (report.chmod?.dirs ?? 0);
  // Not when refused: one refused before a plan was made (the state, the maintenance file's path) has none.
  if (report.files.length === 0 && chmods === 0 && !report.refused && !report.held)
    out.push('Nothing to change: the server is up to date.', '');
  else if (report.estimate) {
    const e = report.estimate;
    out.push(
      `Estimated deploy time: about ${e.seconds.toFixed(1)} s of logins and round trips ` +
        `(${e.rttMs} ms per round trip measured from the runner, ${e.connections} connection${e.connections === 1 ? '' : 's'})` +
        (report.bytes.planned > 0 ? `, plus the time to send ${formatBytes(report.bytes.planned)}.` : '.'),
      '',
    );
  }
  if (report.chmod && chmods > 0)
    out.push(
      `Permissions (\`file-mode\`, \`dir-mode\`): ${planned ? 'would be set' : 'set'} on ${report.chmod.files} file(s) and ${report.chmod.dirs} folder(s).`,
      '',
    );
  if (deletions.length > 0) {
    out.push(
      `### :warning: ${deletions.length} deletion${deletions.length === 1 ? '' : 's'}${verb ? ' planned' : ''}`,
      '',
    );
    out.push(...capped(deletions, listed, (e) => `- :x: **${e.action}** <code>${escape(e.path)}</code>`), '');
  }
  if (others.length > 0) {
    out.push(
      `<details><summary>${others.length} other change${others.length === 1 ? '' : 's'}</summary>`,
      '',
    );
    out.push(
      ...capped(
        others,
        listed,
        (e) => `- ${e.action} <code>${escape(e.path)}</code>${e.size ? ` (${formatBytes(e.size)})` : ''}`,
      ),
    );
    out.push('', '</details>', '');
  }
  if (report.kept.length > 0)
    out.push(
      `${report.kept.length} path(s) deployed earlier left on the server (\`keep\`, \`delete: false\`, \`exclude\`, or a folder holding other files).`,
      '',
    );
  // What `replace: false` or `delete-only` left as it is: not sent, not in the counts above.
  if (report.held)
    out.push(
      `${phrase(formatHeld(report))}: ${planned ? 'they would not be sent' : 'not sent'}; a run without that input sends them.`,
      '',
    );
  if (report.warnings.length > 0)
    out.push('**Warnings**', '', ...capped(report.warnings, listed, (w) => `- ${prose(phrase(w))}`), '');
  return out.join('\n');
}

/** The report's URL scheme (the CLI's) as the `protocol` input that gives it. */
const PROTOCOLS: Record<string, string> = { ftp: 'ftp', ftpes: 'ftps', ftps: 'ftps-legacy' };

/**
 * The target in the Action's words: the report's URL is the CLI's, where `ftps://` is `protocol:
 * ftps-legacy` and `ftpes://` is `protocol: ftps`. Without the host: it is the `server` input, which may be a
 * secret, and the runner's mask would not find it escaped (main.ts takes the host and port out of the URL).
 */
function targetWords(target: string): string {
  const m = /^([a-z]+):\/\/(?:[^@/]*@)?(?:\[[^\]]*\]|[^/:]*)(?::(\d+))?(\/.*)?$/i.exec(target);
  const protocol = m && PROTOCOLS[m[1].toLowerCase()];
  if (!m || !protocol) return `<code>${escape(target)}</code>`;
  const [, , port, path = '/'] = m;
  let folder = path;
  try {
    folder = decodeURIComponent(path);
  } catch {
    // A `%` that is no escape: the path as it is.
  }
  // `/dir` is relative to the login folder (`server-dir: dir`), `//dir` absolute (`server-dir: /dir`).
  const serverDir = folder === '/' ? './' : folder.startsWith('//') ? folder.slice(1) : folder.slice(1);
  return `\`server-dir\` <code>${escape(serverDir)}</code> (${port ? `\`port: ${port}\`, ` : ''}\`protocol: ${protocol}\`)`;
}

function capped<T extends PlanEntry | string>(
  items: T[],
  listed: number,
  line: (item: T) => string,
): string[] {
  const lines = items.slice(0, listed).map(line);
  if (items.length > listed)
    lines.push(`- … and ${items.length - listed} more (the full list is in the \`plan\` output file)`);
  return lines;
}

/**
 * Paths and server text go into HTML and Markdown: neither may inject markup. `~` (strikethrough) and `$`
 * (math) too: GitHub reads Markdown between the tags of `<code>` as well. A byte of a name that is not UTF-8
 * shows as `\xNN` (as `�`, two names could read the same).
 */
function escape(text: string): string {
  return showBytes(text).replace(/[&<>"'`|*_[\]\\~$]/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

/**
 * Text outside `<code>` (warnings, a refusal), which names paths: a word holding `@name`
 * (`node_modules/@babel/…`) or `#123` (`owner/repo#123`) goes in `<code>`, where GitHub makes no mention
 * nor issue link of it. Escaped, an `@` still mentions: the `summary-file` posted as a pull-request
 * comment would notify that user or organisation. Line breaks become spaces: one list item, one line.
 */
function prose(text: string): string {
  return text
    .split(/(\s+)/)
    .map((word) => {
      // A server's reply of several lines: a line of its own could start a heading, list or table.
      if (/^\s+$/.test(word)) return /[\r\n]/.test(word) ? ' ' : word;
      const [, lead, core, trail] = /^([("']*)(.*?)([)"',;:.!?]*)$/s.exec(word) as RegExpExecArray;
      return /@\w|#\d/.test(core)
        ? `${escape(lead)}<code>${escape(core)}</code>${escape(trail)}`
        : escape(word);
    })
    .join('');
}
