/**
 * The shape of `deploy()` options, checked before anything else: an object, known names only (a misspelt
 * `dryrun: true` ran a real deploy), and each value of its type — `delete: 'false'` is a true string and
 * deleted orphans, `dryRun: 'false'` planned only. From JavaScript, or JSON, nothing else stops these.
 */
import { X509Certificate } from 'node:crypto';
import { ConfigError } from './errors.js';
import { editDistance, TLS_NAMES } from '../ftp/validate.js';
import type { DeployOptions } from './options.js';

/** Every option, typed against DeployOptions: one added there and not here fails `tsc`. */
const NAMES: Record<keyof DeployOptions, 'boolean' | 'string' | 'other'> = {
  localDir: 'string',
  files: 'other',
  host: 'string',
  port: 'other',
  user: 'string',
  password: 'string',
  secure: 'other',
  tls: 'other',
  active: 'boolean',
  encoding: 'other',
  remoteDir: 'string',
  dryRun: 'boolean',
  parallel: 'other',
  exclude: 'other',
  replaceDefaultExcludes: 'boolean',
  keep: 'other',
  delete: 'boolean',
  replace: 'boolean',
  deleteOnly: 'boolean',
  maxDelete: 'other',
  statePath: 'string',
  atomic: 'boolean',
  fileMode: 'other',
  dirMode: 'other',
  maintenance: 'other',
  maintenanceUrl: 'string',
  timeoutMs: 'other',
  retries: 'other',
  resetState: 'boolean',
  verify: 'boolean',
  adopt: 'boolean',
  uploadOnly: 'boolean',
  retryDelayMs: 'other',
  staleLockMs: 'other',
  pipelining: 'boolean',
  signal: 'other',
};

export const DEPLOY_OPTION_NAMES = Object.keys(NAMES) as Array<keyof DeployOptions>;

/** Names from the CLI, the Action and other FTP tools, folded as {@link fold} does, and what they are here. */
export const OPTION_ALIASES: Record<string, string> = {
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
  maintenancehook: 'maintenanceUrl',
  hookurl: 'maintenanceUrl',
  charset: 'encoding',
  ca: 'tls: { ca }',
  insecure: 'tls: { rejectUnauthorized: false }',
  tlsname: 'tls: { servername }',
  servername: 'tls: { servername }',
  // vinyl-ftp's names (node-ftp's connection options), for a gulpfile switching from it
  maxconnections: 'parallel',
  secureoptions: 'tls',
  // ftp-deploy's (PR #20) per-operation switches
  allowreplace: 'replace',
  noreplace: 'replace: false',
  allowdelete: 'delete',
  nodelete: 'delete: false',
  tlsfingerprint: 'tls: { fingerprint }',
  fingerprint: 'tls: { fingerprint }',
};

/** Throws a ConfigError naming the first option whose name or type is wrong. */
export function checkShape(o: unknown): asserts o is DeployOptions {
  if (o === null || typeof o !== 'object' || Array.isArray(o))
    throw new ConfigError('deploy() needs an options object, e.g. { host, user, password, localDir }');
  const opts = o as Record<string, unknown>;
  const given = Object.keys(opts).filter((n) => opts[n] !== undefined);
  const unknown = unknownNames(given, DEPLOY_OPTION_NAMES);
  if (unknown) throw new ConfigError(unknown);
  for (const [name, type] of Object.entries(NAMES)) {
    const v = opts[name];
    if (v === undefined || type === 'other' || typeof v === type) continue;
    // The password is never shown, whatever its type (a digits-only one read from JSON is a number).
    const shown = name === 'password' ? `(${typeof v})` : describe(v);
    throw new ConfigError(
      type === 'boolean'
        ? `invalid ${name} ${shown}; use true or false (a string such as "false" would count as true)`
        : `invalid ${name} ${shown}; give it as a string`,
    );
  }
  if (opts.signal !== undefined && !(opts.signal instanceof AbortSignal))
    throw new ConfigError(
      `invalid signal ${describe(opts.signal)}; give an AbortSignal, e.g. the signal of an AbortController`,
    );
  checkFiles(opts.files);
  checkTls(opts.tls, !!opts.secure);
}

function checkFiles(files: unknown): void {
  if (files === undefined) return;
  if (!Array.isArray(files))
    throw new ConfigError('files must be a list of { path, contents } or { path, file }');
  for (const f of files as unknown[]) {
    const e = f as { path?: unknown; contents?: unknown; file?: unknown; skipped?: unknown } | null;
    const ok =
      e !== null &&
      typeof e === 'object' &&
      typeof e.path === 'string' &&
      (e.skipped === undefined
        ? (e.contents === undefined) !== (e.file === undefined)
        : typeof e.skipped === 'string' && e.contents === undefined && e.file === undefined) &&
      (e.contents === undefined || Buffer.isBuffer(e.contents)) &&
      (e.file === undefined || typeof e.file === 'string');
    if (!ok)
      throw new ConfigError(
        `invalid entry in files: ${describe(f)}; give { path: 'a/b.html', contents: <Buffer> } or { path, file: '/abs/on/disk' } (one of the two)`,
      );
  }
}

const TLS_VERSIONS = ['TLSv1.3', 'TLSv1.2', 'TLSv1.1', 'TLSv1'];

function checkTls(tls: unknown, secure: boolean): void {
  if (tls === undefined) return;
  if (tls === null || typeof tls !== 'object' || Array.isArray(tls))
    throw new ConfigError(`invalid tls ${describe(tls)}; give an object such as { ca, servername }`);
  // A misspelt key (`rejectUnauthorised: false`) or one Node's tls takes and ftpship does not (`minVersion`)
  // would be ignored without a word.
  const wrong = Object.keys(tls).find((k) => !TLS_NAMES.includes(k));
  if (wrong === 'minVersion')
    throw new ConfigError(
      "unknown option tls.minVersion; ftpship takes no minimum TLS version (Node's default, TLSv1.2, applies): remove it",
    );
  if (wrong !== undefined) {
    const hint = suggest(wrong, TLS_NAMES);
    throw new ConfigError(
      `unknown option tls.${show(wrong)}; ` +
        (hint === undefined
          ? `tls takes ${TLS_NAMES.join(', ')}`
          : `did you mean ${hint.startsWith('tls') ? hint : `tls.${hint}`}?`),
    );
  }
  const t = tls as Record<string, unknown>;
  // Checked with or without TLS: a wrong type is a mistake either way. 'false' or 0 would still verify.
  if (t.rejectUnauthorized !== undefined && typeof t.rejectUnauthorized !== 'boolean')
    throw new ConfigError(
      `invalid tls.rejectUnauthorized ${describe(t.rejectUnauthorized)}; use true or false (a string such as "false" would count as true)`,
    );
  if (t.maxVersion !== undefined && !TLS_VERSIONS.includes(t.maxVersion as string))
    throw new ConfigError(
      `invalid tls.maxVersion ${describe(t.maxVersion)}; use one of ${TLS_VERSIONS.map((v) => `'${v}'`).join(', ')}`,
    );
  const ca = t.ca;
  if (
    ca !== undefined &&
    !(Array.isArray(ca) ? (ca as unknown[]) : [ca]).every(
      (one) => typeof one === 'string' || Buffer.isBuffer(one),
    )
  )
    throw new ConfigError(
      `invalid tls.ca ${describe(ca)}; give the CA certificate's PEM text (a string or Buffer, e.g. fs.readFileSync('ca.pem')) or a list of them`,
    );
  if (ca === undefined || !secure) return; // unused without TLS (the CLI warns about that)
  for (const one of Array.isArray(ca) ? (ca as unknown[]) : [ca]) {
    if (!(typeof one === 'string' || Buffer.isBuffer(one)) || !holdsCertificates(one.toString()))
      throw new ConfigError(
        'the CA given (tls.ca, --ca) holds no PEM certificate that can be read (-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----); give the CA certificate in PEM form',
      );
  }
}

/** At least one PEM certificate block, and every one of them parses. */
export function holdsCertificates(pem: string): boolean {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  try {
    for (const b of blocks) new X509Certificate(b); // throws on a block that is not a certificate
  } catch {
    return false;
  }
  return blocks.length > 0;
}

/** A value for a message: short (a Buffer by its size, long text cut), whatever was passed. */
function describe(v: unknown): string {
  let text: string;
  try {
    // A Buffer reaches the replacer as its toJSON() form: { type: 'Buffer', data: [...] }.
    const short = (_k: string, x: unknown): unknown => {
      const b = x as { type?: unknown; data?: unknown[] } | null;
      return b?.type === 'Buffer' && Array.isArray(b.data) ? `<Buffer ${b.data.length} bytes>` : x;
    };
    text = JSON.stringify(v, short) ?? String(v);
  } catch {
    text = String(v);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * Why `names` cannot all be taken (the unknown ones, each with the name it most likely meant), or undefined.
 * `known` is the list the caller accepts (the gulp plugin's differs from the engine's).
 */
export function unknownNames(names: string[], known: readonly string[]): string | undefined {
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length === 0) return undefined;
  const hints = unknown.map((n) => ({ name: show(n), hint: suggest(n, known) }));
  const listAll = hints.some((h) => !h.hint) ? `; the options are ${known.join(', ')}` : '';
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
function suggest(name: string, known: readonly string[]): string | undefined {
  const folded = fold(name);
  if (Object.hasOwn(OPTION_ALIASES, folded)) return OPTION_ALIASES[folded];
  const most = folded.length <= 4 ? 1 : folded.length <= 8 ? 2 : 3;
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(folded, fold(candidate));
    if (distance <= most && (!best || distance < best.distance)) best = { name: candidate, distance };
  }
  return best?.name;
}
