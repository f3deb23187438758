/**
 * The maintenance hook (`maintenanceUrl`, CLI `--maintenance-url`): an HTTP POST to the site's owner when live
 * files are about to change (`start`), when they are done (`end`), and when the deploy fails in between
 * (`failed`), timed as the maintenance marker goes up and comes down. Node's own fetch; the URL may carry a
 * token (in its query, or as user:password), so messages show scheme://host/path only.
 */
import { ConfigError, DeployError } from './errors.js';
import { percentDecoded } from '../url.js';
import { sleep } from './pool.js';
import { VERSION } from './version.js';

export type HookEvent = 'start' | 'end' | 'failed';

/** A URL as every message shows it: scheme://host/path, without user, password, query or fragment. */
export function shownHookUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    // Not a URL: what could hold a secret (after `?` or `#`, before `@`) is cut all the same.
    return url
      .trim()
      .replace(/[?#][\s\S]*$/, '')
      .replace(/^([^/]*\/\/)[^/]*@/, '$1')
      .trim();
  }
}

/**
 * What of the hook's URL a log must never show: the URL itself, its password, its query and each value in
 * it (a token), and its user when that holds a key. For masks (the CLI's output, the Action's
 * `core.setSecret`), which hide a word everywhere: a plain word (the user `deploy`, `source=github`) is left
 * out, see {@link plainName}.
 */
export function hookSecrets(url: string): string[] {
  let u: URL;
  try {
    u = new URL(url.trim());
  } catch {
    return [url];
  }
  const values = [...u.searchParams.values()].filter((v) => v.length >= 3);
  const parts = [u.password, percentDecoded(u.password), u.search.slice(1), u.hash.slice(1), ...values];
  if (u.password) parts.push(u.username, percentDecoded(u.username));
  return [...new Set([url, url.trim(), u.href, ...parts])].filter((s) => s.length >= 3 && !plainName(s, u));
}

/**
 * A plain word in the hook URL that is not a secret, so not masked: its user (`deploy`, `admin`), or the
 * value of a parameter not named as a secret (`source=github`, `env=production`). No message shows them
 * (the URL is shown as scheme://host/path), and a mask hides a word everywhere (the runner's in the job's
 * log, every later step included; the CLI's in all it prints): "deploy" made "the *** stopped" and "***ed:
 * did upload 3". A user or value that holds a key (not a plain word), or any value of `token`, `key`,
 * `secret`… is masked.
 */
function plainName(secret: string, u: URL): boolean {
  if (!/^[a-z]{1,16}$/i.test(secret)) return false;
  if (u.password && u.username === secret) return true;
  const named = [...u.searchParams].filter(([, value]) => value === secret);
  return (
    named.length > 0 &&
    named.every(([name]) => !/token|key|secret|sig|auth|pass|pw|hash|hmac|code|cred/i.test(name))
  );
}

/** The hook's URL checked: http or https, nothing else (`undefined` or `''`: no hook). */
export function checkHookUrl(value: unknown): string | undefined {
  if (value === undefined || value === '') return undefined;
  const shown = typeof value === 'string' ? JSON.stringify(shownHookUrl(value)) : String(value);
  const advice = 'give an http:// or https:// URL, such as https://example.com/deploy-hook';
  if (typeof value !== 'string')
    throw ConfigError.about('maintenanceUrl', (name) => `invalid ${name} ${shown}: ${advice}`);
  let u: URL;
  try {
    u = new URL(value.trim());
  } catch {
    throw ConfigError.about('maintenanceUrl', (name) => `invalid ${name} ${shown}: not a URL; ${advice}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw ConfigError.about(
      'maintenanceUrl',
      (name) => `invalid ${name} ${shown}: ${u.protocol} is not HTTP; ${advice}`,
    );
  return value.trim();
}

/** Errors of the connection itself (nothing was answered): retried, at most twice. */
const CONNECTION = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'UND_ERR_SOCKET',
]);

export interface HookOptions {
  /** The target as the report names it (no password). */
  target: string;
  timeoutMs: number;
  /** The deploy's retries: the hook retries a connection error min(2, retries) times. */
  retries: number;
  retryDelayMs: number;
  /** The deploy's cancel: it cuts a `start` under way (not `end` or `failed`). */
  signal?: AbortSignal;
  info: (message: string) => void;
  warn: (message: string) => void;
}

/** One deploy's hook: `start` once, then `end` or `failed` once. */
export class MaintenanceHook {
  /** scheme://host/path: the URL as messages show it. */
  readonly shown: string;
  private readonly url: string;
  private readonly auth?: string;
  private started = false;
  private over = false;

  constructor(
    url: string,
    private readonly o: HookOptions,
  ) {
    this.shown = shownHookUrl(url);
    // fetch refuses a URL with credentials in it: they go as Basic authentication.
    const u = new URL(url);
    if (u.username || u.password) {
      const user = percentDecoded(u.username);
      const pass = percentDecoded(u.password);
      this.auth = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
      u.username = '';
      u.password = '';
    }
    this.url = u.href;
  }

  /** Live files are about to change: throws a DeployError when the hook does not say yes (2xx). */
  async start(counts: Record<string, number>): Promise<void> {
    const outcome = await this.post('start', { target: this.o.target, counts }, this.o.signal);
    if (outcome.ok) {
      this.started = true;
      this.o.info(`maintenance hook ${this.shown}: ${outcome.said}`);
      return;
    }
    // Cut by a timeout or a cancel, the hook may have had it (and be going into maintenance): it is told
    // "failed" as the deploy stops.
    if (outcome.maybeHeard) this.started = true;
    if (this.o.signal?.aborted) throw new DeployError(`cancelled while telling ${this.shown} "start"`);
    throw new DeployError(
      `the maintenance hook ${this.shown} ${outcome.said}: the deploy stopped before changing any live file ` +
        `(none was replaced or deleted; what was uploaded is recorded, and the next deploy goes on from there). ` +
        `${outcome.advice}, or deploy without --maintenance-url`,
    );
  }

  /** The last live change is done: a failure is a warning (the deploy is). */
  async end(counts: Record<string, number>): Promise<void> {
    if (!this.started || this.over) return;
    this.over = true;
    const outcome = await this.post('end', { target: this.o.target, counts });
    if (outcome.ok) this.o.info(`maintenance hook ${this.shown}: ${outcome.said}`);
    else
      this.o.warn(
        `the maintenance hook ${this.shown} ${outcome.said}: the deploy itself is done, but the hook's owner may ` +
          `still be in maintenance mode; end it there by hand (${outcome.advice.toLowerCase()})`,
      );
  }

  /** The deploy failed after `start`: said to the hook (best effort; a failure of its own is a warning). */
  async failed(err: unknown): Promise<void> {
    if (!this.started || this.over) return;
    this.over = true;
    const message = err instanceof Error ? err.message : String(err);
    const error = (message.split(/\r?\n/)[0] ?? '').slice(0, 500);
    const outcome = await this.post('failed', { target: this.o.target, error });
    if (outcome.ok) this.o.info(`maintenance hook ${this.shown}: ${outcome.said}`);
    else
      this.o.warn(
        `the maintenance hook ${this.shown} ${outcome.said}: the hook's owner may still be in maintenance mode; ` +
          `end it there by hand once the site is deployed`,
      );
  }

  /** POSTs `{"event": event, ...body}`; connection errors are asked again (at most twice), answers never. */
  private async post(
    event: HookEvent,
    body: object,
    cancel?: AbortSignal,
  ): Promise<{ ok: boolean; said: string; advice: string; maybeHeard?: boolean }> {
    const tries = 1 + Math.min(2, this.o.retries);
    const asked = (n: number): string => (tries > 1 ? `; asked ${n} times` : '');
    let last = { ok: false, said: '', advice: '' };
    for (let attempt = 0; attempt < tries; attempt++) {
      if (attempt > 0) await sleep(this.o.retryDelayMs * 2 ** (attempt - 1));
      if (cancel?.aborted) return { ok: false, said: `was not told "${event}" (cancelled)`, advice: '' };
      const timeout = AbortSignal.timeout(this.o.timeoutMs);
      try {
        const res = await fetch(this.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': `ftpship/${VERSION}`,
            ...(this.auth ? { authorization: this.auth } : {}),
          },
          body: JSON.stringify({ event, ...body }),
          // A redirected POST becomes a GET elsewhere (and the token would follow): not followed.
          redirect: 'manual',
          // AbortSignal.any: Node 20.3 and later (the deploy's cancel is then checked between tries only).
          signal:
            cancel && typeof AbortSignal.any === 'function' ? AbortSignal.any([timeout, cancel]) : timeout,
        });
        await res.arrayBuffer().catch(() => undefined); // drained: the answer's body is not used
        const said = `answered ${res.status}${res.statusText ? ` ${res.statusText}` : ''} to "${event}"`;
        if (res.ok) return { ok: true, said, advice: '' };
        const redirect = res.status >= 300 && res.status < 400;
        return {
          ok: false,
          said,
          advice: redirect
            ? 'Give the URL it redirects to (a redirect is not followed)'
            : 'Check the hook and its server',
        };
      } catch (err) {
        if (timeout.aborted) {
          return {
            ok: false,
            maybeHeard: true,
            said: `gave no answer to "${event}" within ${this.o.timeoutMs} ms`,
            advice: 'Check the hook and its server, or raise --timeout',
          };
        }
        const cause = (err as Error).cause as NodeJS.ErrnoException | undefined;
        const code = cause?.code ?? (err as NodeJS.ErrnoException).code;
        const why = cause?.message ?? (err as Error).message;
        last = {
          ok: false,
          said: `could not be reached to say "${event}" (${why}${asked(attempt + 1)})`,
          advice: 'Check the URL, and that its server is up',
        };
        if (cancel?.aborted)
          return { ...last, said: `was cut while told "${event}" (cancelled)`, maybeHeard: true };
        if (code === undefined || !CONNECTION.has(code)) return last;
      }
    }
    return last;
  }
}
