// Turns raw samples into BENCHMARKS.md. A sample is {ok, ms, rssMB, mismatches, detail, out, extra}.
import fs from 'node:fs';

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n ? (n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2) : null;
};

/** Summary of the samples of one (tool, phase): {status, ms, rssMB, n} — status ok|mismatch|failed|none. */
export function summarize(samples = []) {
  if (!samples.length) return { status: 'none' };
  const failed = samples.filter((s) => !s.ok);
  const why = failed[0]?.out
    ?.split('\n')
    .filter((l) => !/^\s+at /.test(l))
    .slice(-3)
    .join(' ');
  if (failed.length === samples.length)
    return { status: 'failed', n: samples.length, failed: failed.length, why };
  const r = summarizeOk(samples.filter((s) => s.ok));
  return failed.length ? { ...r, failed: failed.length, n: samples.length, why } : r;
}

function summarizeOk(samples) {
  const bad = samples.filter((s) => s.mismatches > 0);
  const ms = median(samples.map((s) => s.ms));
  const rssMB = median(samples.map((s) => s.rssMB ?? NaN).filter((x) => !Number.isNaN(x)));
  if (bad.length)
    return {
      status: 'mismatch',
      n: samples.length,
      ms,
      rssMB,
      mismatches: bad[0].mismatches,
      detail: bad[0].detail,
    };
  return { status: 'ok', n: samples.length, ms, rssMB };
}

const sec = (ms) => (ms >= 10000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 1000).toFixed(2)} s`);
export function cell(sum) {
  const f = sum.failed && sum.status !== 'failed' ? ` (${sum.failed}/${sum.n} runs failed)` : '';
  if (sum.status === 'ok') return sec(sum.ms) + f;
  if (sum.status === 'mismatch') return `**mismatch** (${sum.mismatches})${f}`;
  if (sum.status === 'failed') return '**failed**';
  return '—';
}
const ratio = (a, b) => (a.status === 'ok' && b.status === 'ok' ? `${(a.ms / b.ms).toFixed(2)}×` : '—');

function siteSection(row) {
  const L = [];
  const tools = row.tools;
  L.push(`| phase | ${tools.map((t) => t.label).join(' | ')} |`, `|---|${tools.map(() => '---|').join('')}`);
  for (const ph of row.phases)
    L.push(`| ${ph} | ${tools.map((t) => cell(summarize(row.data[t.id]?.[ph]))).join(' | ')} |`);
  const rss = tools.map((t) => {
    const all = row.phases
      .flatMap((ph) => row.data[t.id]?.[ph] ?? [])
      .map((s) => s.rssMB)
      .filter((x) => x != null);
    return all.length ? `${Math.max(...all).toFixed(0)} MB` : '—';
  });
  L.push(`| peak RSS | ${rss.join(' | ')} |`);
  L.push(...cpuRows(row));
  L.push(...ratioTable(row));
  L.push(...mismatchNotes(row));
  return L;
}

/**
 * CPU time per phase (medians, in s): the tool's (all its processes and threads) + the server's (pure-ftpd's
 * sessions during the tool's run). Two cores: when the sum nears twice the wall time, the machine was the
 * limit, and a tool's own CPU is what it adds to the time.
 */
function cpuRows(row) {
  const fmt = (ms) => (ms == null ? '?' : (ms / 1000).toFixed(2));
  const L = [];
  for (const ph of row.phases) {
    const cells = row.tools.map((t) => {
      const ok = (row.data[t.id]?.[ph] ?? []).filter((x) => x.ok);
      const tool = median(ok.map((x) => x.cpuMs).filter((x) => x != null));
      const server = median(ok.map((x) => x.serverCpuMs).filter((x) => x != null));
      return tool == null && server == null ? '—' : `${fmt(tool)} + ${fmt(server)} s`;
    });
    if (cells.some((c) => c !== '—')) L.push(`| CPU, ${ph}: tool + server | ${cells.join(' | ')} |`);
  }
  return L;
}

function ratioTable(row) {
  const ours = row.tools.filter((t) => t.ftpship);
  const peers = row.tools.filter((t) => !t.ftpship);
  if (!ours.length || !peers.length) return [];
  const L = ['', 'Ratio = ftpship time ÷ peer time in the same run (< 1: ftpship is faster).', ''];
  L.push(
    `| ftpship vs | phase | ${peers.map((p) => p.label).join(' | ')} |`,
    `|---|---|${peers.map(() => '---|').join('')}`,
  );
  for (const o of ours)
    for (const ph of row.phases) {
      const a = summarize(row.data[o.id]?.[ph]);
      L.push(
        `| ${o.label} | ${ph} | ${peers.map((p) => ratio(a, summarize(row.data[p.id]?.[ph]))).join(' | ')} |`,
      );
    }
  return L;
}

function mismatchNotes(row) {
  const L = [];
  for (const t of row.tools)
    for (const ph of row.phases) {
      const s = summarize(row.data[t.id]?.[ph]);
      if (s.status === 'mismatch')
        L.push(
          `- ${t.label}, ${ph}: ${s.mismatches} path(s) differ from the local tree (took ${sec(s.ms)}), e.g. ${s.detail.slice(0, 3).join('; ')}`,
        );
      if (s.failed)
        L.push(`- ${t.label}, ${ph}: ${s.failed} of ${s.n} runs failed: \`${(s.why || '').slice(0, 300)}\``);
    }
  return L.length ? ['', ...L] : [];
}

function largeSection(row) {
  const L = [];
  if (row.warmed)
    L.push(
      `_The tools run in turn; before each run the server folder is emptied and \`sync\` flushes the last upload. The file is read once before the first run, so that every tool reads it from the page cache.${row.warmUp ? ' Each tool uploads the file once before the measured runs (not counted), and each run starts one tool further on in the list.' : ''}_`,
      '',
    );
  L.push('| tool | time | throughput | peak RSS | ratio (ftpship ÷ tool) |', '|---|---|---|---|---|');
  const ours = summarize(row.data.ftpship?.upload);
  for (const t of row.tools) {
    const s = summarize(row.data[t.id]?.upload);
    const mbps = s.ms ? `${(row.bytes / 1e6 / (s.ms / 1000)).toFixed(0)} MB/s` : '—';
    const rss = s.rssMB != null && s.status !== 'none' ? `${s.rssMB.toFixed(0)} MB` : '—';
    L.push(
      `| ${t.label} | ${cell(s)} | ${s.status === 'ok' ? mbps : '—'} | ${rss} | ${t.ftpship ? '' : ratio(ours, s)} |`,
    );
  }
  if (row.resume) L.push('', `Resume after a cut: ${row.resume}`);
  L.push(...mismatchNotes({ ...row, phases: ['upload'] }));
  return L;
}

function scaleSection(row) {
  const L = [
    '| files | ' + row.tools.map((t) => `${t.label} time | ${t.label} RSS`).join(' | ') + ' | ratio |',
    '|---|' + row.tools.map(() => '---|---|').join('') + '---|',
  ];
  for (const n of row.sizes) {
    const sums = row.tools.map((t) => summarize(row.data[t.id]?.[`noop-${n}`]));
    const cells = sums.map(
      (s) => `${cell(s)} | ${s.rssMB != null && s.status !== 'none' ? s.rssMB.toFixed(0) + ' MB' : '—'}`,
    );
    L.push(`| ${n} | ${cells.join(' | ')} | ${sums.length > 1 ? ratio(sums[0], sums[1]) : '—'} |`);
  }
  L.push(...mismatchNotes({ ...row, phases: row.sizes.map((n) => `noop-${n}`) }));
  return L;
}

/** Median time of (tool, phase), or null when it did not run or failed (a mismatch still has a time). */
function timeOf(row, tool, phase) {
  const s = summarize(row?.data[tool]?.[phase]);
  return s.status === 'ok' || s.status === 'mismatch' ? s.ms : null;
}
const okOf = (row, tool, phase) => summarize(row?.data[tool]?.[phase]).status === 'ok';
const x = (v) => (v == null ? '—' : `${v.toFixed(2)}×`);
const verdict = (checks) =>
  checks.some((c) => c == null) ? 'not measured' : checks.every(Boolean) ? 'yes' : 'no';

/** The goals of the benchmark issue, checked against this run's medians (ratios within the same run). */
function goalsSection(rows) {
  const by = Object.fromEntries(rows.map((r) => [r.id, r]));
  const L = [
    '## Against the goals of the benchmark issue (this run)',
    '',
    '| row | goal | measured | met |',
    '|---|---|---|---|',
  ];
  const r500 = by['500'];
  if (r500) {
    const q = (a, b, ph) => {
      const ta = timeOf(r500, a, ph);
      const tb = timeOf(r500, b, ph);
      return ta != null && tb != null ? ta / tb : null;
    };
    const full = [q('ftpship-p8', 'lftp-p8', 'full'), q('ftpship', 'lftp-p8', 'full')];
    const fda = [q('ftpship-p8', 'ftp-deploy', 'full'), q('ftpship', 'ftp-deploy', 'full')];
    L.push(
      `| 500 files, RTT 20, full | ≤ 0.6 × lftp8 at \`--parallel 8\`; ≤ 0.8 × lftp8 at the default; ≤ 0.15 × FTP-Deploy | ${x(full[0])}; ${x(full[1])}; ${x(fda[0])} / ${x(fda[1])} | ${verdict([full[0] != null && full[0] <= 0.6, full[1] != null && full[1] <= 0.8, ...fda.map((v) => v != null && v <= 0.15)])} |`,
    );
    for (const [ph, goal] of [
      ['incremental', 0.3],
      ['no-op', 0.4],
    ]) {
      const v = [q('ftpship-p8', 'ftp-deploy', ph), q('ftpship', 'ftp-deploy', ph)];
      const correct = okOf(r500, 'ftpship-p8', ph) && okOf(r500, 'ftpship', ph);
      L.push(
        `| same, ${ph} | ≤ ${goal} × FTP-Deploy${ph === 'incremental' ? ', and correct' : ''} | ${x(v[0])} at \`--parallel 8\`, ${x(v[1])} at the default${correct ? '; tree verified' : '; **tree mismatch**'} | ${verdict([...v.map((r) => r != null && r <= goal), correct])} |`,
      );
    }
  }
  const r2k = by['2000'];
  if (r2k) {
    const full = timeOf(r2k, 'ftpship', 'full');
    const lf = timeOf(r2k, 'lftp-p8', 'full');
    const inc = timeOf(r2k, 'ftpship', 'incremental');
    const li = timeOf(r2k, 'lftp-p8', 'incremental');
    const rf = full != null && lf != null ? full / lf : null;
    const ri = inc != null && li != null ? inc / li : null;
    // The floors, as ratios to lftp8 (see the tools of the row): lftp8 with the SHA-256 of every file beside
    // it (full), and that hashing alone, nothing sent, beside lftp8's incremental time.
    const ff = timeOf(r2k, 'lftp-p8-sha', 'full');
    const hi = timeOf(r2k, 'sha-all', 'incremental');
    const floors = [
      ff != null && lf != null
        ? `full: lftp8 with OpenSSL's SHA-256 of every file beside it ${x(ff / lf)}`
        : '',
      hi != null && li != null
        ? `incremental: OpenSSL's SHA-256 of every file alone, nothing sent, ${x(hi / li)}`
        : '',
    ].filter(Boolean);
    const floorNote = floors.length ? `; floors, ${floors.join('; ')}` : '';
    L.push(
      `| 2000 files, RTT 0, full and incremental | ≤ 1.0 × lftp8 | full ${x(rf)}; incremental ${x(ri)} (lftp's incremental is a mismatch: it skips the same-size edits ftpship sends)${floorNote} | ${verdict([rf != null && rf <= 1, ri != null && ri <= 1])} |`,
    );
  }
  const big = by['1gib'];
  if (big) {
    const ours = summarize(big.data.ftpship?.upload);
    const lftp = summarize(big.data['lftp-put']?.upload);
    const thr = ours.status === 'ok' && lftp.status === 'ok' ? lftp.ms / ours.ms : null;
    const pct = /\((\d+) % of the file\)/.exec(big.resume ?? '')?.[1];
    // The floor: lftp put with OpenSSL's SHA-256 of the file beside it, as a throughput ratio to lftp put alone.
    const hashed = summarize(big.data['lftp-put-sha']?.upload);
    const floor = hashed.status === 'ok' && lftp.status === 'ok' ? lftp.ms / hashed.ms : null;
    const floorNote =
      floor != null ? ` (lftp put with OpenSSL's SHA-256 of the file beside it: ${x(floor)})` : '';
    L.push(
      `| 1 GiB, RTT 0 | throughput ≥ 0.8 × lftp; RSS ≤ 100 MB; resume after a 50 % cut sends ≤ 55 % | ${x(thr)}${floorNote}; ${ours.rssMB?.toFixed(0) ?? '—'} MB; ${pct ?? '—'} % | ${verdict([thr != null && thr >= 0.8, ours.rssMB != null && ours.rssMB <= 100, pct != null && Number(pct) <= 55])} |`,
    );
  }
  const scale = by['20k'];
  if (scale) {
    const pts = scale.sizes.map((n) => ({ n, s: summarize(scale.data.ftpship?.[`noop-${n}`]) }));
    const last = pts[pts.length - 1].s;
    // Linear: time and RSS per file do not grow from the smallest size to the largest (within 1.5×, as
    // a fixed start-up cost only shrinks per file).
    const per = (p, k) => (p.s[k] ?? NaN) / p.n;
    const linear =
      pts.every((p) => p.s.status === 'ok') &&
      per(pts[pts.length - 1], 'ms') <= 1.5 * per(pts[0], 'ms') &&
      per(pts[pts.length - 1], 'rssMB') <= 1.5 * per(pts[0], 'rssMB');
    L.push(
      `| 20 000 small files, no-op | ≤ 3 s and ≤ 250 MB; linear | ${last.ms != null ? sec(last.ms) : '—'}, ${last.rssMB?.toFixed(0) ?? '—'} MB; ${pts.map((p) => (p.s.ms != null ? sec(p.s.ms) : '—')).join(' / ')} for ${pts.map((p) => p.n).join(' / ')} | ${verdict([last.ms != null && last.ms <= 3000, last.rssMB != null && last.rssMB <= 250, linear])} |`,
    );
  }
  const tls = by.tls;
  if (tls) {
    const a = timeOf(tls, 'ftpship-p8', 'full');
    const b = timeOf(tls, 'lftp-p8', 'full');
    L.push(
      `| explicit TLS, 500 files, RTT 20, full | report the ratio to lftp8 | ${x(a != null && b != null ? a / b : null)} | — |`,
    );
  }
  return L.length > 4 ? ['', ...L] : [];
}

export function writeReport(file, meta, rows) {
  const L = ['# ftpship benchmarks', ''];
  L.push(`Generated by \`node bench/run.js${meta.argv ? ' ' + meta.argv : ''}\` on ${meta.date}.`, '');
  L.push(`- Machine: ${meta.cpu}, ${meta.cores} cores, ${meta.memGB} GB RAM, ${meta.os}`);
  L.push(
    `- Versions: ${Object.entries(meta.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  L.push(
    `- Server: ${meta.server}; latency emulated by bench/lib/latency-proxy.js (RTT/2 per direction on every chunk and close)`,
  );
  L.push(
    `- Each figure: median of ${meta.runs} run(s), wall time of the tool's process (startup included); peak RSS from /usr/bin/time -v.`,
    "- CPU rows (site tables): the tool's CPU time (user + system, all its processes and threads, from /usr/bin/time -v) + the server's (pure-ftpd's sessions during that run, from /proc), medians; on two cores, a sum near twice the wall time means the machine's CPU was the limit.",
  );
  L.push(
    '- After every phase the server folder is compared with the local one byte for byte (tool state files excluded); a difference is shown as **mismatch**, never as a time.',
  );
  if (meta.notes?.length) L.push(...meta.notes.map((n) => `- ${n}`));
  for (const row of rows) {
    L.push('', `## ${row.title}`, '');
    if (row.skipped) {
      L.push(`Skipped: ${row.skipped}`);
      continue;
    }
    if (row.notes?.length) L.push(...row.notes.map((n) => `_${n}_`), '');
    L.push(
      ...(row.kind === 'large'
        ? largeSection(row)
        : row.kind === 'scale'
          ? scaleSection(row)
          : siteSection(row)),
    );
  }
  L.push(...goalsSection(rows));
  if (meta.epilogue?.length) L.push('', ...meta.epilogue);
  fs.writeFileSync(file, L.join('\n') + '\n');
}
