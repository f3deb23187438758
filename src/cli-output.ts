/**
 * What the CLI prints: human lines and progress on stderr (a live bar on a TTY, plain lines otherwise),
 * the JSON report on stdout. Every line passes through `redact`, so a password never reaches the terminal.
 */
import type cliProgress from 'cli-progress';
import type { Progress, Reporter } from './engine/index.js';
import { formatBytes } from './engine/index.js';
import { printable, redactSecret } from './engine/report.js';

export interface OutputOptions {
  quiet: boolean;
  verbose: boolean;
  /** Secrets to mask in every line. */
  secrets: string[];
  stderr?: NodeJS.WriteStream;
  /** Running in CI: plain lines even on a terminal (default: the CI environment variable). */
  ci?: boolean;
}

/** CI services set CI (`true`, `1`, a name); some run steps on a terminal (Buildkite, `docker run -t`). */
const inCi = (): boolean => !['', '0', 'false'].includes((process.env.CI ?? '').trim().toLowerCase());

/** A terminal that cannot move the cursor (an editor's shell, TERM=dumb): the live line's codes show as text. */
const dumb = (): boolean => (process.env.TERM ?? '').trim().toLowerCase() === 'dumb';

/** What the live line says after its bar; the bar gets the columns left, so this is never cut off. */
interface LiveText {
  text: string;
  /** Bytes sent over bytes planned (files done over files, when the plan sends no byte). */
  fraction: number;
}

/**
 * The live line at the terminal's width (read at each redraw: a resized window is followed): the words whole,
 * the bar in the columns left (up to 40), none under 10. A bar of 40 put the rate and ETA past column 80, and
 * at 20 columns the bar was all there was. The last column stays free: writing it wraps on some terminals.
 */
function liveLine(options: cliProgress.Options, params: cliProgress.Params, payload: LiveText): string {
  const width = Math.max(1, (params.maxWidth || 80) - 1);
  const size = Math.min(40, width - payload.text.length - 1);
  if (size < 10) return [...payload.text].slice(0, width).join('');
  const full = Math.round(Math.min(1, Math.max(0, payload.fraction)) * size);
  const done = (options.barCompleteChar ?? '#').repeat(full);
  return `${done}${(options.barIncompleteChar ?? '-').repeat(size - full)} ${payload.text}`;
}

export class CliOutput {
  private bar?: cliProgress.SingleBar;
  private lastPlain = 0;
  private readonly started = Date.now();
  /** The first progress report: when bytes were going, and how many had gone. */
  private first?: { at: number; bytes: number };
  private readonly err: NodeJS.WriteStream;
  /** A terminal outside CI: the live progress line. */
  private readonly live: boolean;

  /** Loaded only for a terminal: a pipe or CI never pays for it (nor is it in the CLI's bundle: webpackIgnore). */
  private progressLib?: typeof cliProgress;
  private readonly loading: Promise<void>;

  constructor(private readonly o: OutputOptions) {
    this.err = o.stderr ?? process.stderr;
    this.live = !!this.err.isTTY && !(o.ci ?? inCi()) && !dumb();
    this.loading =
      this.live && !o.quiet && !o.verbose
        ? import(/* webpackIgnore: true */ 'cli-progress').then(
            (m) => {
              this.progressLib = m.default;
            },
            () => undefined,
          )
        : Promise.resolve();
  }

  /** Resolves once the live progress line can be drawn (its library is loaded lazily on a terminal). */
  async ready(): Promise<void> {
    await this.loading;
  }

  /** Every secret masked, as is, URL-encoded or JSON-escaped; a short one only where it stands alone. */
  redact(text: string): string {
    let out = text;
    for (const s of this.o.secrets) out = redactSecret(out, s);
    return out;
  }

  /**
   * The JSON report as printed (--json): every string in it redacted, not the JSON text. A short password (`2`,
   * `version`) masked in the text stood alone as a number or a key (`"exitCode": ***`): stdout was not JSON.
   */
  json(value: unknown): string {
    return `${JSON.stringify(value, (_key, v: unknown) => (typeof v === 'string' ? this.redact(v) : v), 2)}\n`;
  }

  line(text: string): void {
    if (this.o.quiet) return;
    this.endBar();
    this.err.write(`${printable(this.redact(text))}\n`);
  }

  /** Every warning printed, redacted, in order (the CLI's own go into the JSON report's `warnings` too). */
  readonly warnings: string[] = [];

  /** Warnings and errors show even with --quiet. */
  warn(text: string): void {
    this.warnings.push(this.redact(text));
    this.endBar();
    this.err.write(`${printable(this.redact(`warning: ${text}`))}\n`);
  }

  error(text: string): void {
    this.endBar();
    this.err.write(`${printable(this.redact(`ftpship: error: ${text}`))}\n`);
  }

  reporter(): Reporter {
    return {
      info: (m) => this.line(m),
      warn: (m) => this.warn(m),
      debug: (m) => this.o.verbose && this.line(m),
      // The connection number first: with several connections their lines interleave.
      protocol: this.o.verbose ? (l, id) => this.line(`[${id}] ${l}`) : undefined,
      progress: (p) => this.progress(p),
    };
  }

  private progress(p: Progress): void {
    if (this.o.quiet) return;
    const lib = this.progressLib;
    if (this.live && !this.o.verbose) {
      if (!lib) return; // still loading: the bar starts with the next event
      if (!this.bar) {
        this.bar = new lib.SingleBar(
          { stream: this.err, format: liveLine, hideCursor: true, clearOnComplete: true },
          lib.Presets.shades_classic,
        );
        unrefRedraws(this.bar);
        // Ended as the process ends (a stall's exit 70, an exit): the line cleared, the cursor and line wrap
        // given back (they stayed hidden and off in the shell), before the stall's message, on a line of its own.
        process.prependListener('beforeExit', this.endBar);
        process.prependListener('exit', this.endBar);
        // Drawn at once with where the run is: a line printed mid-run (a retry's warning) stops the bar, and the
        // next one started at "0/N files | 0 B" until its first redraw.
        this.bar.start(p.filesTotal, p.filesDone, this.liveText(p, this.rate(p)));
      }
      // The bar follows the bytes, not the files: one large file filled none of it until it was done.
      this.bar.update(p.filesDone, this.liveText(p, this.rate(p)));
      if (p.filesDone >= p.filesTotal) this.endBar();
      return;
    }
    // Every 2 s at first, then a tenth of the time the run has taken, at most 30 s apart: every 2 s, a large
    // file on a slow uplink (an hour) was thousands of lines in a CI log; the last one always shows.
    const now = Date.now();
    const every = Math.min(30_000, Math.max(2_000, (now - this.started) / 10));
    if (now - this.lastPlain < every && p.filesDone < p.filesTotal) return;
    this.lastPlain = now;
    const rate = this.rate(p);
    // The ETA as the live line has it (bytes left over the rate), once the rate is measured over bytes going
    // (see rate()): the whole run's rate before that counts the login and planning, and would overstate it.
    const left = p.bytesTotal - p.bytesDone;
    const eta = left > 0 && this.rateKnown(p) && rate > 0 ? `, ETA ${formatSeconds(left / rate)}` : '';
    this.err.write(
      `${p.filesDone}/${p.filesTotal} files, ${formatBytes(p.bytesDone)} of ${formatBytes(p.bytesTotal)}, ${formatBytes(rate)}/s${eta}\n`,
    );
  }

  /** Whether rate() measured bytes going for a second at least (not the whole run's rate, for want of better). */
  private rateKnown(p: Progress): boolean {
    return this.first !== undefined && Date.now() - this.first.at >= 1000 && p.bytesDone > this.first.bytes;
  }

  private liveText(p: Progress, rate: number): LiveText {
    // From the bytes left, not the files (cli-progress's own ETA): a few large files left after many small ones
    // take most of the time. Once the rate is measured, as on a plain line: the whole run's rate before that
    // counts the login and planning (was: "ETA 39h43m" after a first small file, for a 3 MiB deploy).
    const left = rate > 0 && this.rateKnown(p) ? formatSeconds((p.bytesTotal - p.bytesDone) / rate) : '-';
    return {
      text: `${p.filesDone}/${p.filesTotal} files | ${formatBytes(p.bytesDone)} of ${formatBytes(p.bytesTotal)} | ${formatBytes(rate)}/s | ETA ${left}`,
      fraction:
        p.bytesTotal > 0 ? p.bytesDone / p.bytesTotal : p.filesTotal > 0 ? p.filesDone / p.filesTotal : 1,
    };
  }

  private rate(p: Progress): number {
    const now = Date.now();
    this.first ??= { at: now, bytes: p.bytesDone };
    // From the first report on: the login, hashing, planning or a lock wait before the first byte made the
    // rate low and the ETA long. Until a second has passed since that report, the whole run's rate.
    const since = (now - this.first.at) / 1000;
    if (since >= 1 && p.bytesDone > this.first.bytes)
      return Math.round((p.bytesDone - this.first.bytes) / since);
    return Math.round(p.bytesDone / Math.max(0.001, (now - this.started) / 1000));
  }

  stop(): void {
    this.endBar();
  }

  /** The live line cleared, the cursor and line wrap given back. */
  private readonly endBar = (): void => {
    process.off('beforeExit', this.endBar);
    process.off('exit', this.endBar);
    this.bar?.stop();
    this.bar = undefined;
  };
}

/**
 * cli-progress redraws on a timer it sets again at each redraw, which kept the process alive: a deploy that
 * stalled on a terminal (a bug: a step waiting for what never comes) redrew its line for ever, where elsewhere
 * it ends with exit 70 and says so (run-main.ts). Each redraw's timer now lets the process end.
 */
function unrefRedraws(bar: cliProgress.SingleBar): void {
  const inner = bar as unknown as { render: (...a: unknown[]) => void; timer?: NodeJS.Timeout | null };
  const render = inner.render.bind(bar);
  inner.render = (...a: unknown[]) => {
    render(...a);
    inner.timer?.unref();
  };
}

/** 42s, 3m05s, 1h02m. */
function formatSeconds(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
