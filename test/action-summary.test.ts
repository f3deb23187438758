// The job summary as a pure function of the report: deletions first and marked, the rest collapsed, lists
// capped for huge plans, and no markup injected by file names.
import fs from 'node:fs';
import path from 'node:path';
import * as core from '@actions/core';
import { describe, expect, it } from '@jest/globals';
import type { DeployReport, PlanEntry } from '../src/index.js';
import { MAX_LISTED, SUMMARY_MAX_BYTES, summaryMarkdown, writeSummary } from '../action/summary.js';
import { tmpDir } from './helpers/tmp.js';
import { actionReporter } from '../action/reporter.js';
import { phrase } from '../action/phrase.js';

function report(files: PlanEntry[], dryRun = true): DeployReport {
  const count = (a: string): number => files.filter((f) => f.action === a).length;
  return {
    version: 1,
    dryRun,
    target: 'ftp://deploy@example.com/www',
    counts: {
      mkdir: count('mkdir'),
      upload: count('upload'),
      replace: count('replace'),
      delete: count('delete'),
      rmdir: count('rmdir'),
      unchanged: 7,
    },
    bytes: { planned: 2048, sent: 0 },
    files,
    skipped: [],
    kept: [],
    warnings: [],
    durationMs: 1200,
  };
}

describe('summaryMarkdown', () => {
  it('lists deletions first and marked, then the other changes in a <details> block', () => {
    const md = summaryMarkdown(
      report([
        { path: 'new.html', action: 'upload', size: 2048 },
        { path: 'old.html', action: 'delete', size: 0 },
        { path: 'olddir', action: 'rmdir', size: 0 },
      ]),
    );
    expect(md).toContain('dry run: nothing was changed');
    expect(md).toContain('| 1 | 0 | 1 | 0 | 1 | 7 |');
    expect(md).toContain('2.0 KiB to send');
    const del = md.indexOf(':x: **delete** <code>old.html</code>');
    const rmdir = md.indexOf(':x: **rmdir** <code>olddir</code>');
    const details = md.indexOf('<details><summary>1 other change</summary>');
    expect(del).toBeGreaterThan(0);
    expect(rmdir).toBeGreaterThan(del);
    expect(details).toBeGreaterThan(rmdir);
    expect(md.indexOf('new.html')).toBeGreaterThan(details);
  });

  it(`caps each list at ${MAX_LISTED} entries and counts the rest`, () => {
    const files: PlanEntry[] = [];
    for (let i = 0; i < 20_000; i++)
      files.push({ path: `f/${i}.html`, action: i % 4 === 0 ? 'delete' : 'upload', size: 10 });
    const md = summaryMarkdown(report(files, false));
    expect(md).toContain(`… and ${5000 - MAX_LISTED} more`);
    expect(md).toContain(`… and ${15_000 - MAX_LISTED} more`);
    expect(md.match(/^- /gm)).toHaveLength(2 * MAX_LISTED + 2);
    expect(Buffer.byteLength(md)).toBeLessThan(200_000);
    expect(md).toContain('## ftpship deploy\n');
  });

  it("long paths: the job summary file stays within GitHub's 1 MiB (was: over it, and GitHub showed no summary at all)", async () => {
    // 1,500 changes whose paths are deep folders of long names (1,200 bytes, well under PATH_MAX), with
    // underscores, which the summary writes as entities: 500 listed per section made 3.4 MB.
    const long = (i: number): string =>
      `${Array.from({ length: 5 }, (_v, d) => `level_${d}_${'x_'.repeat(110)}`).join('/')}/file_${i}.html`;
    const files: PlanEntry[] = [];
    for (let i = 0; i < 1500; i++)
      files.push({ path: long(i), action: i % 3 === 0 ? 'delete' : 'upload', size: 10 });
    const file = path.join(tmpDir('ftpship-summary-'), 'summary');
    fs.writeFileSync(file, '');
    const saved = process.env.GITHUB_STEP_SUMMARY;
    process.env.GITHUB_STEP_SUMMARY = file;
    (core.summary as unknown as { _filePath?: string })._filePath = undefined;
    core.summary.emptyBuffer();
    try {
      await writeSummary(report(files, false));
    } finally {
      if (saved === undefined) delete process.env.GITHUB_STEP_SUMMARY;
      else process.env.GITHUB_STEP_SUMMARY = saved;
      (core.summary as unknown as { _filePath?: string })._filePath = undefined;
    }
    const md = fs.readFileSync(file, 'utf8');
    expect(fs.statSync(file).size).toBeLessThanOrEqual(SUMMARY_MAX_BYTES);
    // Still the summary: counts, deletions first, and as many entries as fit, the rest counted.
    // (`includes`, not `toContain`: a failure would print megabytes)
    expect(md.includes('| 1000 | 0 | 500 | 0 | 0 | 7 |')).toBe(true);
    expect(md.includes('### :warning: 500 deletions')).toBe(true);
    const listedDeletions = md.match(/^- :x: \*\*delete\*\* /gm)?.length ?? 0;
    expect(listedDeletions).toBeGreaterThan(0);
    expect(
      md.includes(`- … and ${500 - listedDeletions} more (the full list is in the \`plan\` output file)`),
    ).toBe(true);
    // No shorter than it needs to be: the next longer list would not have fit.
    expect(
      Buffer.byteLength(summaryMarkdown(report(files, false), undefined, 2 * listedDeletions)),
    ).toBeGreaterThan(SUMMARY_MAX_BYTES);
  });

  it('a deploy refused before any plan (an empty one) is not called up to date (was: "Nothing to change: the server is up to date.")', () => {
    const why =
      '--upload-only keeps no state, but ftpship deploys this folder with the state file /www/.ftpship-state.json';
    const md = summaryMarkdown({ ...report([], false), refused: why }, why);
    expect(md).toContain('ftpship deploy refused (nothing was changed)');
    expect(md).not.toContain('up to date');
    expect(summaryMarkdown(report([], false))).toContain('Nothing to change: the server is up to date.');
  });

  it('escapes file names: no HTML or Markdown injection', () => {
    const md = summaryMarkdown(
      report([{ path: '<img src=x onerror=alert(1)>|*x*.html', action: 'delete', size: 0 }]),
    );
    expect(md).not.toContain('<img');
    expect(md).toContain('&#60;img src=x onerror=alert(1)&#62;&#124;&#42;x&#42;.html');
  });

  it('a warning or refusal holding a reply of several lines stays one line (was: a line of server text could start a heading or a list)', () => {
    const reply =
      'the server refused to resume (REST 100: 502-Not here\n# Owned\n- item\r\n| a | b |); uploading whole files instead';
    const md = summaryMarkdown({ ...report([]), warnings: [reply] }, reply);
    expect(md).toContain(
      '- the server refused to resume (REST 100: 502-Not here # Owned - item &#124; a &#124; b &#124;); uploading whole files instead',
    );
    expect(md).toContain('refused:** the server refused to resume (REST 100: 502-Not here # Owned - item');
    expect(md).not.toMatch(/^(# Owned|- item|\| a)/m);
  });

  it('a mode change alone is a change: the preview says how many files and folders get permissions', () => {
    const md = summaryMarkdown({ ...report([]), chmod: { files: 12, dirs: 3 } });
    expect(md).toContain('would be set on 12 file(s) and 3 folder(s)');
    expect(md).not.toContain('Nothing to change');
    const none = summaryMarkdown({ ...report([]), chmod: { files: 0, dirs: 0 } });
    expect(none).toContain('Nothing to change');
    expect(none).not.toContain('Permissions');
  });

  it('warnings name the inputs, not the CLI flags: in the summary and in the log', () => {
    const w =
      '--file-mode 600 not applied: the server does not support SITE CHMOD; drop --file-mode. (--verbose stays)';
    const md = summaryMarkdown({ ...report([]), warnings: [w] });
    expect(md).toContain('the &#96;file-mode&#96; input 600 not applied');
    expect(md).toContain('--verbose stays');
    const out: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => out.push(String(chunk)) > 0) as typeof process.stdout.write;
    try {
      actionReporter('standard').warn?.(w);
    } finally {
      process.stdout.write = write;
    }
    expect(out.join('')).toMatch(
      /::warning::the `file-mode` input 600 not applied: .* drop the `file-mode` input\./,
    );
  });
});

describe('names holding a byte that is not UTF-8 (read from a server listing as a lone surrogate)', () => {
  const acute = 'caf\uDCE9.txt'; // café.txt in latin1 (0xE9)
  const grave = 'caf\uDCE8.txt'; // cafè.txt in latin1 (0xE8)
  const w = (name: string): string => `no state file at x, but /www already holds ${name}: ...`;
  // What a reader sees: the text as written out, UTF-8. Before, both came out as `caf\uFFFD.txt`.
  const written = (text: string): string => Buffer.from(text, 'utf8').toString('utf8');

  it('print differently in the job summary, as \\xNN', () => {
    const md = (name: string): string =>
      written(
        summaryMarkdown({ ...report([{ path: name, action: 'delete', size: 0 }]), warnings: [w(name)] }),
      );
    expect(md(acute)).not.toBe(md(grave));
    expect(md(acute)).toContain('<code>caf&#92;xe9.txt</code>');
    expect(md(acute)).toContain('already holds caf&#92;xe9.txt');
    expect(md(acute)).not.toContain('\uFFFD');
  });

  it('print differently in the Action log', () => {
    const log = (name: string): string => {
      const out: string[] = [];
      const write = process.stdout.write.bind(process.stdout);
      process.stdout.write = ((chunk: string) => out.push(String(chunk)) > 0) as typeof process.stdout.write;
      try {
        actionReporter('standard').warn?.(w(name));
      } finally {
        process.stdout.write = write;
      }
      return written(out.join(''));
    };
    expect(log(acute)).not.toBe(log(grave));
    expect(log(acute)).toContain('already holds caf\\xe9.txt');
  });
});

describe('phrase', () => {
  it.each([
    ['give --state a file name', 'give the `state-path` input a file name'],
    ['move the state with --state to publish', 'move the state with the `state-path` input to publish'],
    ['invalid --tls-name "bad name"; give', 'invalid tls-name "bad name"; give'],
    ['pass its CA with --ca FILE (or --insecure', 'pass its CA with the `ca` input (or the `insecure` input'],
    ['with --tls-name NAME)', 'with the `tls-name` input)'],
    [
      'connect to one of those names, or check the certificate against one with --tls-name localhost',
      'connect to one of those names, or set the `tls-name` input to localhost',
    ],
    ['or pass --max-delete 3 to empty', 'or set `max-delete: 3` to empty'],
    [
      'the plan deletes 5 files, more than --max-delete 1; nothing was changed. Check the local folder and excludes, or raise --max-delete.',
      'the plan deletes 5 files, more than `max-delete` (1) allows; nothing was changed. Check `local-dir` and `exclude`, or raise the `max-delete` input.',
    ],
    ['in place (--no-atomic)', 'in place (`atomic: false`)'],
    ['drop --maintenance', 'drop the `maintenance-file` input'],
    ['deploy once with --verify to find', 'deploy once with the `verify` input to find'],
    ['--password-stdin stays', '--password-stdin stays'],
    // Before: the CLI's and the library's ways in stayed in the Action's log.
    [
      'no password for user "u"; give one (ftpship CLI: FTPSHIP_PASSWORD or --password-stdin; Action: the password input; library: the password option)',
      'no password for user "u"; give one (the password input)',
    ],
    // Before: "a the `verify` input.txt": a file name in a log line is not a flag.
    [
      '2 file(s) deployed earlier now match --exclude (a--verify.txt, b--keep/x)',
      '2 file(s) deployed earlier now match the `exclude` input (a--verify.txt, b--keep/x)',
    ],
    [
      "rename it locally or leave it out with --exclude '/g/\\*'",
      'rename it locally or leave it out with the line /g/\\* in the `exclude` input (which replaces the default excludes)',
    ],
    [
      "leave it out with --exclude '/it'\\''s\\.txt'",
      "leave it out with the line /it's\\.txt in the `exclude` input (which replaces the default excludes)",
    ],
    [
      "leave it out with --exclude $'/tab\\there\\\\.txt'",
      'leave it out with the line /tab?here\\.txt in the `exclude` input (which replaces the default excludes)',
    ],
  ])('%s', (message, phrased) => {
    expect(phrase(message)).toBe(phrased);
  });
});

describe('names holding characters that reorder or hide text (bidi controls, zero-width space)', () => {
  // "invoice<RLO>txt.exe" reads as "invoiceexe.txt": a pull request's dry run could pass one name off as another.
  const disguised = 'invoice\u202Etxt.exe';

  it('show them as \\uNNNN in the job summary and the Action log, never raw', () => {
    const md = summaryMarkdown({
      ...report([{ path: disguised, action: 'upload', size: 1 }]),
      warnings: [`odd name ${disguised}`],
    });
    expect(md).not.toContain('\u202E');
    expect(md).toContain('<code>invoice&#92;u202Etxt.exe</code>');
    const out: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string) => out.push(String(chunk)) > 0) as typeof process.stdout.write;
    try {
      actionReporter('standard').warn?.(`odd name ${disguised}\u200B and \u2066isolated\u2069`);
    } finally {
      process.stdout.write = write;
    }
    expect(out.join('')).toContain('odd name invoice\\u202Etxt.exe\\u200B and \\u2066isolated\\u2069');
  });
});
