/**
 * The CLI's progress lines: the rate (and the live line's ETA, bytes left over it) counts the time bytes have
 * been going, not the login, hashing, planning or a lock wait before the first byte.
 */
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { CliOutput } from '../src/cli-output.js';

const MiB = 1024 * 1024;

function output(): { out: CliOutput; lines: string[] } {
  const lines: string[] = [];
  const stderr = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
  return { out: new CliOutput({ quiet: false, verbose: false, secrets: [], stderr, ci: true }), lines };
}

describe('progress rate', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('20 s before the first byte (a lock wait, hashing), then 1 MiB/s: 1.0 MiB/s, not 4 MiB over 24 s', () => {
    const { out, lines } = output();
    const progress = out.reporter().progress!;
    jest.advanceTimersByTime(21_000); // the engine's first report comes a second into sending
    progress({ filesDone: 0, filesTotal: 2, bytesDone: 1 * MiB, bytesTotal: 100 * MiB });
    jest.advanceTimersByTime(3_000);
    progress({ filesDone: 1, filesTotal: 2, bytesDone: 4 * MiB, bytesTotal: 100 * MiB });
    // The ETA as the live line has it: 96 MiB left at 1 MiB/s (before: none on a plain line).
    expect(lines.at(-1)).toBe('1/2 files, 4.0 MiB of 100.0 MiB, 1.0 MiB/s, ETA 1m36s\n');
  });

  it('plain lines: no ETA until the rate is measured (the first report), none when all is sent', () => {
    const { out, lines } = output();
    const progress = out.reporter().progress!;
    jest.advanceTimersByTime(21_000);
    progress({ filesDone: 0, filesTotal: 2, bytesDone: 1 * MiB, bytesTotal: 100 * MiB });
    // The whole run's rate (1 MiB over 21 s) would give an ETA of half an hour: none is shown.
    expect(lines.at(-1)).toBe('0/2 files, 1.0 MiB of 100.0 MiB, 48.8 KiB/s\n');
    jest.advanceTimersByTime(5_000);
    progress({ filesDone: 1, filesTotal: 2, bytesDone: 51 * MiB, bytesTotal: 100 * MiB });
    expect(lines.at(-1)).toBe('1/2 files, 51.0 MiB of 100.0 MiB, 10.0 MiB/s, ETA 5s\n');
    jest.advanceTimersByTime(5_000);
    progress({ filesDone: 2, filesTotal: 2, bytesDone: 100 * MiB, bytesTotal: 100 * MiB });
    expect(lines.at(-1)).toBe('2/2 files, 100.0 MiB of 100.0 MiB, 9.9 MiB/s\n');
  });

  it('the first report after bytes went (a small file done at once): the rate over the whole run, for want of better', () => {
    const { out, lines } = output();
    jest.advanceTimersByTime(2_000);
    out.reporter().progress!({ filesDone: 1, filesTotal: 1, bytesDone: 2 * MiB, bytesTotal: 2 * MiB });
    expect(lines.at(-1)).toBe('1/1 files, 2.0 MiB of 2.0 MiB, 1.0 MiB/s\n');
  });
});

describe('plain progress lines (a pipe, a CI log)', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('a 200 MiB file over an hour: a line at least every 30 s, not thousands (one every 2 s)', () => {
    const { out, lines } = output();
    const progress = out.reporter().progress!;
    const total = 200 * MiB;
    const at: number[] = [];
    // The engine reports bytes about once a second while a file goes.
    for (let s = 1; s < 3600; s++) {
      jest.advanceTimersByTime(1_000);
      const before = lines.length;
      progress({ filesDone: 0, filesTotal: 1, bytesDone: Math.round((total * s) / 3600), bytesTotal: total });
      if (lines.length > before) at.push(s);
    }
    progress({ filesDone: 1, filesTotal: 1, bytesDone: total, bytesTotal: total });
    expect(lines.at(-1)).toMatch(/^1\/1 files, 200\.0 MiB of 200\.0 MiB, /);
    expect(lines.length).toBeLessThanOrEqual(200);
    expect(at[0]).toBeLessThanOrEqual(2);
    for (let i = 1; i < at.length; i++) expect(at[i] - at[i - 1]).toBeLessThanOrEqual(30);
    // The first minute still shows progress often: every 2 to 6 s.
    expect(at.filter((s) => s <= 60).length).toBeGreaterThanOrEqual(10);
  });
});

/** A terminal `columns` wide: what it shows of each redraw (escape codes out, cut at its width as it cuts). */
function terminal(columns: number, env: { TERM?: string } = {}) {
  const writes: string[] = [];
  const stderr = {
    isTTY: true,
    columns,
    write: (s: string) => writes.push(s),
  } as unknown as NodeJS.WriteStream;
  // TERM is read when the output is made: the one asked, whatever the TERM of the shell running the tests.
  const term = process.env.TERM;
  process.env.TERM = env.TERM ?? 'xterm-256color';
  const out = new CliOutput({ quiet: false, verbose: false, secrets: [], stderr, ci: false });
  if (term === undefined) delete process.env.TERM;
  else process.env.TERM = term;
  const esc = String.fromCharCode(27);
  const escapes = new RegExp(`${esc}(?:\\[[0-9;?]*[A-Za-z]|[78])`, 'g');
  const shown = (): string[] =>
    writes
      .join('')
      .split(new RegExp(`${esc}\\[1G|\r|\n`))
      .map((l) => l.replace(escapes, ''))
      .filter((l) => l.trim() !== '')
      .map((l) => [...l].slice(0, columns).join(''));
  return { out, writes, shown };
}

describe('live progress line on a terminal', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('80 columns (the usual terminal): the rate and the ETA are on screen, not cut off past the edge', async () => {
    const { out, shown } = terminal(80);
    await out.ready();
    jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
    const progress = out.reporter().progress!;
    progress({ filesDone: 3, filesTotal: 2000, bytesDone: 1 * MiB, bytesTotal: 200 * MiB });
    jest.advanceTimersByTime(5_000);
    progress({ filesDone: 900, filesTotal: 2000, bytesDone: 81 * MiB, bytesTotal: 200 * MiB });
    const last = shown().at(-1) ?? '';
    expect(last).toContain('900/2000 files');
    expect(last).toMatch(/16\.0 MiB\/s \| ETA 7s/);
    out.stop();
  });

  it('no ETA until the rate is measured, as on a plain line (was: the whole run\'s rate, "ETA 34m" for 100 MiB)', async () => {
    const { out, shown } = terminal(120);
    await out.ready();
    jest.useFakeTimers({ now: Date.now() }); // the clock the output started on
    const progress = out.reporter().progress!;
    jest.advanceTimersByTime(21_000); // login, hashing, planning: no byte went
    progress({ filesDone: 1, filesTotal: 2, bytesDone: 1 * MiB, bytesTotal: 100 * MiB });
    expect(shown().at(-1)).toMatch(/\| ETA -$/);
    jest.advanceTimersByTime(5_000);
    progress({ filesDone: 1, filesTotal: 2, bytesDone: 51 * MiB, bytesTotal: 100 * MiB });
    expect(shown().at(-1)).toMatch(/10\.0 MiB\/s \| ETA 5s$/);
    out.stop();
  });

  it('20 columns: the files and bytes, not a bar alone', async () => {
    const { out, shown } = terminal(20);
    await out.ready();
    jest.useFakeTimers();
    out.reporter().progress!({ filesDone: 1, filesTotal: 4, bytesDone: 1 * MiB, bytesTotal: 2 * MiB });
    jest.advanceTimersByTime(1_000); // the next redraw
    expect(shown().at(-1)).toMatch(/^1\/4 files/);
    out.stop();
  });

  it('one large file half sent: the bar is half full (it followed files done: empty until the file was)', async () => {
    const { out, shown } = terminal(120);
    await out.ready();
    jest.useFakeTimers();
    out.reporter().progress!({ filesDone: 0, filesTotal: 1, bytesDone: 100 * MiB, bytesTotal: 200 * MiB });
    jest.advanceTimersByTime(1_000); // the next redraw
    const bar = (shown().at(-1) ?? '').match(/^[█░]+/u)?.[0] ?? '';
    expect(bar.length).toBeGreaterThan(0);
    expect([...bar].filter((c) => c === '█').length).toBe(bar.length / 2);
    out.stop();
  });

  it('a warning mid-run: the line drawn again after it starts where the run is, not at 0 files and 0 B', async () => {
    const { out, writes } = terminal(120);
    await out.ready();
    const progress = out.reporter().progress!;
    progress({ filesDone: 2, filesTotal: 4, bytesDone: 50 * MiB, bytesTotal: 100 * MiB });
    out.warn('connection 2 reset; retrying');
    const after = writes.length;
    progress({ filesDone: 2, filesTotal: 4, bytesDone: 51 * MiB, bytesTotal: 100 * MiB });
    const redrawn = writes.slice(after).join('');
    expect(redrawn).toContain('2/4 files | 51.0 MiB of 100.0 MiB');
    expect(redrawn).not.toMatch(/0\/4 files|\| 0 B of/);
    out.stop();
  });

  it("TERM=dumb (an editor's shell, no cursor movement): plain lines, no escape codes", async () => {
    const { out, writes } = terminal(80, { TERM: 'dumb' });
    await out.ready();
    out.reporter().progress!({ filesDone: 1, filesTotal: 1, bytesDone: 2 * MiB, bytesTotal: 2 * MiB });
    expect(writes.join('')).not.toContain('\x1b');
    expect(writes.join('')).toMatch(/^1\/1 files, 2\.0 MiB of 2\.0 MiB, /);
  });
});
