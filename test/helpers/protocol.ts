/** Assertions over the protocol log a deploy's reporter receives (`> CMD arg` / `< code text`). */
import { expect } from '@jest/globals';
import type { Reporter } from '../../src/index.js';

const STATE = '.ftpship-state.json';

/** A reporter that keeps the protocol log and the warnings of a deploy. */
export function recorder(): Reporter & { log: string[]; warnings: string[] } {
  const log: string[] = [];
  const warnings: string[] = [];
  return { log, warnings, protocol: (l) => log.push(l), warn: (m) => warnings.push(m) };
}

/** The arguments of every `verb` command sent. */
export const sent = (log: string[], verb: string): string[] =>
  log.filter((l) => l.startsWith(`> ${verb} `)).map((l) => l.slice(verb.length + 3));

/** No command that changes the server (STOR, MKD, DELE, RMD, RNFR) in the log: a refused plan changed nothing. */
export function expectNothingChanged(log: string[]): void {
  for (const verb of ['STOR', 'MKD', 'DELE', 'RMD', 'RNFR']) expect(sent(log, verb)).toEqual([]);
}

/** Each folder below `root` made once, after its parent; each file stored after its folder was made. */
export function expectParentsFirst(log: string[], root: string): void {
  // ftpship's own lock folder is made with MKD twice on purpose (the second must fail on an honest server).
  const mkds = sent(log, 'MKD').filter((m) => !m.endsWith('.lock'));
  const seen = new Set<string>();
  for (const m of mkds) {
    expect(seen.has(m)).toBe(false);
    seen.add(m);
    const parent = m.slice(0, m.lastIndexOf('/'));
    if (parent.length > root.length) expect(seen.has(parent)).toBe(true);
  }
  // Every file went into a folder that already existed (made earlier in the log, or pre-existing).
  for (const [i, l] of log.entries()) {
    if (!l.startsWith('> STOR ')) continue;
    const p = l.slice(7);
    const parent = p.slice(0, p.lastIndexOf('/'));
    if (parent.length > root.length && mkds.includes(parent))
      expect(log.indexOf(`> MKD ${parent}`)).toBeLessThan(i);
  }
}

/**
 * No CWD between the first and the last STOR of a site file (ftpship's own state/lock files aside), except
 * an existence check right after a refused MKD.
 */
export function expectNoCwdWhileUploading(log: string[]): void {
  const isSiteStor = (l: string): boolean => l.startsWith('> STOR ') && !l.includes(STATE);
  const first = log.findIndex(isSiteStor);
  const last = log.length - 1 - [...log].reverse().findIndex(isSiteStor);
  expect(first).toBeGreaterThanOrEqual(0);
  for (let i = first; i <= last; i++) {
    if (!log[i].startsWith('> CWD ')) continue;
    const prevReply = log
      .slice(0, i)
      .reverse()
      .find((l) => l.startsWith('< '));
    expect(`${prevReply} then ${log[i]}`).toMatch(/^< 55\d .* then > CWD /);
  }
}

/** Logins seen in the log; waits up to `ms` for `want` of them (the pool opens extra connections in the background). */
export async function loginsSeen(log: string[], want: number, ms = 5000): Promise<number> {
  const count = (): number => log.filter((l) => l.startsWith('> USER ')).length;
  for (const end = Date.now() + ms; count() < want && Date.now() < end;)
    await new Promise((r) => setTimeout(r, 25));
  return count();
}
