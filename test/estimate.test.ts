/**
 * The dry run's estimated duration (FIELD.md 4.7): the model over real plans (planChanges on generated trees),
 * as properties, and the preview on ftp-srv — the CLI line, the JSON report, the job summary. How close it
 * comes to a real deploy is measured in bench/ (BENCHMARKS.md), not here: no timed tests.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { deploy } from '../src/index.js';
import { estimateDuration } from '../src/engine/estimate.js';
import { planChanges, type Plan } from '../src/engine/plan.js';
import { formatEstimate } from '../src/engine/report.js';
import { treeFromFiles } from '../src/engine/select.js';
import { emptyState } from '../src/engine/state.js';
import { summaryMarkdown } from '../action/summary.js';
import { deployOptions, useEmbedded } from './helpers/embedded.js';
import { tmpDir, uniqueName, writeTree } from './helpers/tmp.js';

const server = useEmbedded();

function planFor(paths: string[], atomic = true): Plan {
  const local = treeFromFiles(paths.map((p) => ({ path: p, contents: Buffer.from(p) })));
  return planChanges(local, emptyState('x'), {
    delete: true,
    atomic,
    isKept: () => false,
    reserved: new Set(),
    resumeThreshold: 1024 * 1024,
  });
}

const segment = fc.constantFrom('a', 'b', 'css', 'js', 'img', 'x1', 'deep');
const relPath = fc
  .array(segment, { minLength: 0, maxLength: 3 })
  .chain((dirs) => fc.nat({ max: 50 }).map((n) => [...dirs, `f${n}.txt`].join('/')));
const site = fc.uniqueArray(relPath, { minLength: 1, maxLength: 120 });
const measured = fc.record({
  rttMs: fc.double({ min: 0.05, max: 300, noNaN: true }),
  loginMs: fc.double({ min: 0, max: 2000, noNaN: true }),
  connections: fc.integer({ min: 1, max: 16 }),
});

describe('estimateDuration', () => {
  it('nothing to do costs nothing', () => {
    expect(estimateDuration(planFor([]), { rttMs: 50, loginMs: 300, connections: 4 }).seconds).toBe(0);
  });

  it('grows with the round trip, never with more connections, and at least by the uploads each connection makes', () => {
    fc.assert(
      fc.property(site, measured, (paths, m) => {
        const plan = planFor(paths);
        const e = estimateDuration(plan, m);
        const slower = estimateDuration(plan, { ...m, rttMs: m.rttMs * 2 });
        const tls = estimateDuration(plan, { ...m, tls: true });
        expect(tls.seconds).toBeGreaterThanOrEqual(e.seconds); // a handshake per data connection on top
        const wider = estimateDuration(plan, { ...m, connections: m.connections + 1 });
        expect(slower.seconds).toBeGreaterThanOrEqual(e.seconds);
        expect(wider.seconds).toBeLessThanOrEqual(e.seconds + 0.05); // rounding to 0.1 s
        // At least a login plus two round trips per upload on the busiest connection.
        const floor = m.loginMs + Math.ceil(paths.length / m.connections) * 2 * m.rttMs;
        expect(e.seconds * 1000).toBeGreaterThanOrEqual(floor - 50);
      }),
      { numRuns: 200 },
    );
  });

  it('one more file never makes it shorter', () => {
    fc.assert(
      fc.property(site, relPath, measured, (paths, extra, m) => {
        fc.pre(
          !paths.includes(extra) &&
            !paths.some((p) => p.startsWith(`${extra}/`) || extra.startsWith(`${p}/`)),
        );
        const e = estimateDuration(planFor(paths), m).seconds;
        expect(estimateDuration(planFor([...paths, extra]), m).seconds).toBeGreaterThanOrEqual(e - 0.05);
      }),
      { numRuns: 200 },
    );
  });
});

describe('the dry run preview', () => {
  it('measures the round trip on its connection and reports the estimate: JSON, CLI line, job summary', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'x', 'css/site.css': 'body{}', 'js/app.js': 'app()' });
    const dir = `/${uniqueName()}`;
    const sentCommands: string[] = [];
    const r = await deploy(deployOptions(server(), local, dir, { dryRun: true, parallel: 3 }), {
      protocol: (line) => sentCommands.push(line),
    });
    expect(sentCommands.filter((l) => l === '> NOOP')).toHaveLength(3);
    expect(r.estimate).toBeDefined();
    const e = r.estimate!;
    expect(e.connections).toBe(3);
    expect(e.rttMs).toBeGreaterThan(0);
    expect(e.loginMs).toBeGreaterThan(0);
    // At least the login it measured (rounded to 0.1 s: on loopback the whole estimate can round to 0.0).
    expect(e.seconds * 1000 + 50).toBeGreaterThanOrEqual(e.loginMs);
    expect(formatEstimate(r)).toMatch(
      /^estimate: about \d+\.\d s of logins and round trips \([\d.]+ ms per round trip, 3 connections\), plus the time to send 12 B$/,
    );
    expect(summaryMarkdown(r)).toMatch(
      /Estimated deploy time: about \d+\.\d s .*plus the time to send 12 B\./,
    );

    // A real deploy reports none (it has its own duration).
    const done = await deploy(deployOptions(server(), local, dir));
    expect(done.estimate).toBeUndefined();
    const again = await deploy(deployOptions(server(), local, dir, { dryRun: true }));
    expect(formatEstimate(again)).toBe('estimate: nothing to do');
  });
});
