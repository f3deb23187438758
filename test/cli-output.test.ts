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
    expect(lines.at(-1)).toBe('1/2 files, 4.0 MiB of 100.0 MiB, 1.0 MiB/s\n');
  });

  it('the first report after bytes went (a small file done at once): the rate over the whole run, for want of better', () => {
    const { out, lines } = output();
    jest.advanceTimersByTime(2_000);
    out.reporter().progress!({ filesDone: 1, filesTotal: 1, bytesDone: 2 * MiB, bytesTotal: 2 * MiB });
    expect(lines.at(-1)).toBe('1/1 files, 2.0 MiB of 2.0 MiB, 1.0 MiB/s\n');
  });
});
