/**
 * The option names the plugin takes, in one place. An unknown name is refused, never ignored: a misspelt
 * `dryrun: true` used to run a real deploy. Both lists are typed against the engine's `DeployOptions`, so an
 * option added there and not sorted into one of them fails `tsc`.
 */
import type { DeployOptions } from '../src/engine/options.js';
import type { GulpDeployOptions } from './options.js';

const TAKEN: Record<keyof GulpDeployOptions, true> = {
  host: true,
  port: true,
  user: true,
  password: true,
  secure: true,
  tls: true,
  active: true,
  remoteDir: true,
  dryRun: true,
  parallel: true,
  keep: true,
  delete: true,
  maxDelete: true,
  statePath: true,
  atomic: true,
  fileMode: true,
  dirMode: true,
  maintenance: true,
  timeoutMs: true,
  retries: true,
  resetState: true,
  verify: true,
  adopt: true,
  uploadOnly: true,
  retryDelayMs: true,
  staleLockMs: true,
  quiet: true,
  onReport: true,
};

const FROM_STREAM = 'the gulp plugin takes its files from the stream; remove';
const NO_EXCLUDE = 'does not apply to piped files: leave them out of gulp.src (e.g. "!dist/**/*.map")';

/** The engine's options that make no sense on a stream, and what to do instead. */
const REFUSED: Record<Exclude<keyof DeployOptions, keyof GulpDeployOptions>, string> = {
  localDir: `${FROM_STREAM} localDir and pipe gulp.src(...) into deploy()`,
  files: `${FROM_STREAM} files and pipe gulp.src(...) into deploy()`,
  exclude: `exclude ${NO_EXCLUDE}`,
  replaceDefaultExcludes: `replaceDefaultExcludes ${NO_EXCLUDE}`,
};

/** Names from the CLI, the Action and other FTP tools, folded as `fold` does, and what they are here. */
const ALIASES: Record<string, string> = {
  server: 'host',
  hostname: 'host',
  username: 'user',
  login: 'user',
  pass: 'password',
  protocol: 'secure',
  serverdir: 'remoteDir',
  remotepath: 'remoteDir',
  remote: 'remoteDir',
  dest: 'remoteDir',
  statename: 'statePath',
  maintenancefile: 'maintenance',
  ca: 'tls: { ca }',
  insecure: 'tls: { rejectUnauthorized: false }',
  tlsname: 'tls: { servername }',
  servername: 'tls: { servername }',
};

export const OPTION_NAMES = Object.keys(TAKEN);

/** Why `options` cannot be taken as they are (a refused or unknown name), or undefined when they can. */
export function checkNames(options: object): string | undefined {
  const names = Object.keys(options);
  const refused = names.find(
    (n): n is keyof typeof REFUSED =>
      Object.hasOwn(REFUSED, n) && (options as Record<string, unknown>)[n] !== undefined,
  );
  if (refused) return REFUSED[refused];
  const unknown = names.filter((n) => !Object.hasOwn(TAKEN, n) && !Object.hasOwn(REFUSED, n));
  if (unknown.length === 0) return undefined;
  const hints = unknown.map((n) => ({ name: show(n), hint: suggest(n) }));
  const listAll = hints.some((h) => !h.hint) ? `; the options are ${OPTION_NAMES.join(', ')}` : '';
  if (hints.length === 1) {
    const [{ name, hint }] = hints;
    return `unknown option ${name}${hint ? `; did you mean ${hint}?` : listAll}`;
  }
  const each = hints.map(({ name, hint }) => (hint ? `${name} (did you mean ${hint}?)` : name));
  return `unknown options ${each.slice(0, -1).join(', ')} and ${each[each.length - 1]}${listAll}`;
}

function show(name: string): string {
  return /^[\w$-]+$/.test(name) ? name : JSON.stringify(name);
}

/** Case, dashes and underscores aside: `dry-run`, `dryrun` and `DRY_RUN` all mean dryRun. */
function fold(name: string): string {
  return name.toLowerCase().replace(/[-_\s]/g, '');
}

/** The option a name most likely meant: a known alias, else the closest name within a few typos. */
function suggest(name: string): string | undefined {
  const folded = fold(name);
  if (Object.hasOwn(ALIASES, folded)) return ALIASES[folded];
  const most = folded.length <= 4 ? 1 : folded.length <= 8 ? 2 : 3;
  let best: { name: string; distance: number } | undefined;
  for (const candidate of OPTION_NAMES) {
    const distance = editDistance(folded, fold(candidate));
    if (distance <= most && (!best || distance < best.distance)) best = { name: candidate, distance };
  }
  return best?.name;
}

/** Edits (insert, delete, substitute, swap two neighbours) that turn `a` into `b`: optimal string alignment. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [
    i,
    ...Array<number>(b.length).fill(0),
  ]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}
