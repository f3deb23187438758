/**
 * The only module that reads the Action's inputs: defaults, validation and normalisation, the password
 * masked before anything is logged, and every resolved value sent to `core.debug`. Returns the engine's
 * options plus the few settings that only the Action uses.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as core from '@actions/core';
import { ConfigError, type DeployOptions, type OptionKey } from '../src/index.js';
import { holdsCertificates } from '../src/engine/option-shape.js';
import { FDA_STATE_NAME } from '../src/engine/options.js';
import {
  holdsHostName,
  hostAfterUser,
  hostSyntax,
  looksLikeHostName,
  urlAsFolder,
} from '../src/engine/resolve.js';
import { percentDecoded, redactUrl } from '../src/url.js';
import { hookSecrets, shownHookUrl } from '../src/engine/hook.js';
import { FDA_DEFAULT_EXCLUDES, FDA_UNSUPPORTED, Input, type LogLevel } from './constants.js';
import { rememberLogin } from './login.js';
import { INPUT_OF, logSafe } from './phrase.js';

export interface ActionInputs {
  /** What `deploy()` gets (without `files`, which `files.ts` collects from `filePatterns`). */
  options: DeployOptions;
  logLevel: LogLevel;
  /** The `files` input: @actions/glob patterns relative to `options.localDir`; undefined for the whole folder. */
  filePatterns?: string[];
}

const PROTOCOLS: Record<string, DeployOptions['secure']> = {
  ftp: false,
  ftps: 'explicit',
  'ftps-legacy': 'implicit',
};
const LOG_LEVELS: readonly LogLevel[] = ['minimal', 'standard', 'verbose'];

export function readInputs(): ActionInputs {
  // Mask first: GitHub masks a secret only in lines printed after setSecret.
  const rawPassword = core.getInput(Input.Password, { trimWhitespace: false });
  if (rawPassword.trim() !== '') core.setSecret(rawPassword);
  // Before anything naming them is printed: messages give the login inputs as written (login.ts).
  rememberLogin({
    password: rawPassword.trim(),
    host: core.getInput(Input.Server),
    user: core.getInput(Input.Username),
  });
  // core's "Input required and not supplied" says neither why nor what to do; the usual two causes are these.
  if (rawPassword.trim() === '')
    throw new ConfigError(
      'the `password` input is empty: set it from a repository secret (password: ${{ secrets.FTP_PASSWORD }}). ' +
        `A ${emptySecretCause()}`,
    );
  const password = rawPassword.trim(); // FTP-Deploy-Action trimmed it too (a pasted secret often ends in a newline)
  if (password !== rawPassword && password !== '') core.setSecret(password);
  if (/[\r\n\0]/.test(password))
    throw new ConfigError(
      'the `password` input holds a line break or NUL inside it, which FTP cannot send; check the secret (was more than one line pasted into it?)',
    );

  // The hook's URL may carry a token: masked before anything else is logged, shown as scheme://host/path.
  const maintenanceUrl = core.getInput(Input.MaintenanceUrl) || undefined;
  if (maintenanceUrl) for (const secret of hookSecrets(maintenanceUrl)) core.setSecret(secret);

  const workspace = path.resolve(process.env.GITHUB_WORKSPACE || process.cwd());
  for (const name of [Input.Server, Input.Port, Input.ServerDir, Input.LocalDir]) refuseQuotes(name);
  const localDir = insideWorkspace(workspace, core.getInput(Input.LocalDir) || './');
  const { secure, port } = readProtocolAndPort();
  const options: DeployOptions = {
    host: readServer(),
    port,
    user: required(Input.Username, 'the FTP user (username: deploy', 'FTP_USERNAME'),
    password,
    secure,
    tls: readTls(workspace, secure),
    localDir,
    remoteDir: serverDir(core.getInput(Input.ServerDir)),
    dryRun: bool(Input.DryRun, false),
    exclude: readExclude() ?? FDA_DEFAULT_EXCLUDES,
    replaceDefaultExcludes: true, // FTP-Deploy-Action: `exclude` replaces the defaults
    keep: list(Input.Keep) ?? [],
    delete: bool(Input.Delete, true),
    replace: bool(Input.Replace, true),
    deleteOnly: bool(Input.DeleteOnly, false),
    maxDelete: integer(Input.MaxDelete, undefined, 0, Number.MAX_SAFE_INTEGER),
    parallel: integer(Input.Parallel, 4, 1, 64),
    atomic: bool(Input.Atomic, true),
    statePath: readStatePath(),
    timeoutMs: integer(Input.Timeout, 30_000, 100, 3_600_000),
    resetState: bool(Input.ResetState, false),
    adopt: bool(Input.Adopt, false),
    verify: bool(Input.Verify, false),
    uploadOnly: bool(Input.UploadOnly, false),
    active: bool(Input.Active, false),
    pipelining: bool(Input.Pipelining, true),
    encoding: readEncoding(),
    maintenance: readMaintenance(),
    maintenanceUrl,
    fileMode: core.getInput(Input.FileMode) || undefined,
    dirMode: core.getInput(Input.DirMode) || undefined,
  };
  rememberLogin({ host: options.host }); // `[::1]` is `::1` from here on
  warnUnsupported();
  // The state is discarded whether or not it could be read: an input left in the workflow after the run that
  // needed it re-sends every file each time, and forgets (so never deletes) what was deployed and is gone locally.
  if (options.resetState)
    core.warning(
      '`reset-state: true` ignores the state on the server, readable or not: every file is sent again, and files ' +
        'deployed earlier that are gone locally stay on the server, no longer tracked (never deleted). Remove the ' +
        'input once this run has re-seeded the state',
    );
  const logLevel = oneOf(Input.LogLevel, LOG_LEVELS, 'standard');
  const filePatterns = list(Input.Files);
  for (const [name, value] of Object.entries({
    ...options,
    password: '***',
    maintenanceUrl: maintenanceUrl && shownHookUrl(maintenanceUrl),
    tls: { ...options.tls, ca: options.tls?.ca ? '(PEM)' : undefined },
    // The content may come from a secret (a key in PHP): as JSON, its quotes and line breaks escaped, the
    // runner's mask (of the text as given) would no longer match it.
    maintenance: options.maintenance && {
      ...options.maintenance,
      content: options.maintenance.content && `(${options.maintenance.content.length} characters)`,
    },
    logLevel,
    filePatterns,
  })) {
    core.debug(logSafe(`${name}: ${JSON.stringify(value)}`));
  }
  return { options, logLevel, filePatterns };
}

/** `utf8` or `latin1`, in any case (`UTF8` is `utf8`); anything else goes on to the engine, which names it and the two. */
function readEncoding(): DeployOptions['encoding'] {
  const given = core.getInput(Input.Encoding);
  const value = given.toLowerCase();
  return (value === 'utf8' || value === 'latin1' ? value : given || undefined) as DeployOptions['encoding'];
}

/** FTP-Deploy-Action inputs ftpship leaves out on purpose; the runner passes them on with only a notice. */
function warnUnsupported(): void {
  // Any case: FTP-Deploy-Action read `True` as true too.
  if (core.getInput(FDA_UNSUPPORTED.CleanSlate).toLowerCase() === 'true') {
    core.warning(
      'dangerous-clean-slate is not supported: ftpship never deletes files it did not deploy. Empty the server folder ' +
        'by other means if you need a clean slate; `reset-state: true` re-uploads everything once.',
    );
  }
}

function readMaintenance(): DeployOptions['maintenance'] {
  const file = core.getInput(Input.MaintenanceFile);
  const content = core.getInput(Input.MaintenanceContent, { trimWhitespace: false });
  if (!file) {
    if (content)
      throw new ConfigError(
        'maintenance-content is set but maintenance-file is not: name the file it goes to',
      );
    return undefined;
  }
  return { path: file, content: content || undefined };
}

function readServer(): string {
  const server = required(Input.Server, 'the FTP host (server: ftp.example.com', 'FTP_SERVER');
  // A password written into it (ftp://user:pass@host, user:pass@host) is masked, and shown as *** in the error.
  const shown = maskUserInfo(server);
  // `ftp:/host`, `ftp:host`, `ftps//host`: a URL with a slash or its colon missing. Read as a password (not shown)
  // before; shown when what follows is a host name, with the host alone to write.
  const mistyped = /^s?ftpe?s?(?::\/?(?!\/)|\/\/)([^@\s]*)$/i.exec(server);
  const mistypedHost = mistyped?.[1].split(/[:/]/)[0] ?? '';
  if (looksLikeHostName(mistypedHost)) {
    throw new ConfigError(
      `invalid server ${JSON.stringify(server)}: give the host name only (server: ${mistypedHost}) and set \`protocol\`, \`port\` and \`server-dir\` apart`,
    );
  }
  // Not a URL, nor a host name (with a user, port or folder around it), nor made of what one holds: it may be
  // the password, put in the wrong input, and is not shown (nor a piece of it, as "give the host alone (…)" would).
  const safe =
    /^[a-z]+:\/\//i.test(server) ||
    (shown !== server
      ? looksLikeHostName(hostAfterUser(server))
      : hostSyntax(server) || holdsHostName(server) || /^\[[0-9a-f:.]+\](?::\d+)?$/i.test(server));
  if (!safe) {
    throw new ConfigError(
      'invalid server (not shown: it is not a host name alone, and may be a password): give the host name alone, ' +
        'e.g. server: ftp.example.com; the password goes in the `password` input, from a repository secret',
    );
  }
  if (/^[a-z]+:\/\//i.test(server)) {
    // The host to write, when the URL's is one (after any user and password: a password may hold `@`).
    const rest = server.replace(/^[a-z]+:\/\//i, '');
    const host = hostAfterUser(rest);
    const withUser = rest.includes('@');
    throw new ConfigError(
      `invalid server ${JSON.stringify(shown)}: give the host name only (${looksLikeHostName(host) ? `server: ${host}` : 'e.g. ftp.example.com'}) ` +
        'and set `protocol`, `port` and `server-dir` apart' +
        (withUser
          ? '; the user name goes in the `username` input, and the password in `password`, from a repository secret'
          : ''),
    );
  }
  const slash = server.indexOf('/');
  if (slash >= 0 && !server.includes('@')) {
    const folder = server.slice(slash + 1).replace(/^\/+/, '');
    throw new ConfigError(
      `invalid server ${JSON.stringify(server)}: give the host alone (${server.slice(0, slash)})` +
        (folder ? `; the folder goes in the \`server-dir\` input (server-dir: ${folder})` : ''),
    );
  }
  const at = server.lastIndexOf('@');
  if (at >= 0) {
    const host = server
      .slice(at + 1)
      .split('/')[0]
      .replace(/:\d*$/, '');
    throw new ConfigError(
      `invalid server ${JSON.stringify(shown)}: give the host alone (${host || 'e.g. ftp.example.com'}); the user name goes in ` +
        'the `username` input, and the password in `password`, from a repository secret',
    );
  }
  // `[::1]` is how a URL writes an IPv6 literal; the socket wants it bare. A port here would read as a host.
  const bracketed = /^\[([0-9a-f:.]+)\](?::(\d+))?$/i.exec(server);
  const withPort = bracketed ?? /^([^:\s]+):(\d+)$/.exec(server);
  if (withPort?.[2]) {
    throw new ConfigError(
      `invalid server ${JSON.stringify(server)}: put the port in the \`port\` input (port: ${withPort[2]}) and give server the host alone (${withPort[1]})`,
    );
  }
  return bracketed ? bracketed[1] : server;
}

/**
 * The input an engine option came from, for an error about its value (ConfigError.messageFor): the state file's
 * name may come from FTP-Deploy-Action's `state-name` instead of `state-path`.
 */
export function inputOf(option: OptionKey): string | undefined {
  if (option === 'statePath' && !core.getInput(Input.StatePath) && core.getInput(Input.StateName))
    return Input.StateName;
  return INPUT_OF[option];
}

/**
 * The login inputs whose value is in quotes: a secret saved with them. Not refused (a password may hold
 * quotes), but named when the login fails, since a secret's value cannot be seen once saved.
 */
export function quotedLogin(): Input[] {
  return [Input.Username, Input.Password].filter((name) => /^(["']).+\1$/s.test(core.getInput(name)));
}

/**
 * A value in quotes (`'public_html/'`): a repository secret or variable set with its quotes keeps them,
 * and the quotes would be part of the name (server-dir made a folder `'public_html` on the server). The
 * server's value is not shown: it may be a secret.
 */
function refuseQuotes(name: Input): void {
  const value = core.getInput(name);
  if (!/^(["']).*\1$/s.test(value) || value.length < 2) return;
  const shown = name === Input.Server ? '' : ` (${value})`;
  throw new ConfigError(
    `the \`${name}\` input is in quotes${shown}, which would be part of it: remove them (a repository secret ` +
      'or variable set with quotes keeps them; in the workflow, YAML quotes need none inside)',
  );
}

/**
 * A required input. core's own "Input required and not supplied" says neither what to set nor why a value
 * set in the workflow can read as empty (a secret that is not set, or a pull_request run from a fork).
 */
function required(name: Input, what: string, secret: string): string {
  const value = core.getInput(name);
  if (value === '')
    throw new ConfigError(
      `Input required and not supplied: ${name}. Set it to ${what}, or ${name}: \${{ secrets.${secret} }}); ` +
        `a ${emptySecretCause()}`,
    );
  return value;
}

/**
 * Why a secret may read as empty, for the error about an empty input: this run's own cause when the runner's
 * variables show it (a pull_request from a fork gets no secrets; a run Dependabot started gets the Dependabot
 * secrets only, and its branches are this repository's, so a fork check lets it through), else both usual ones.
 */
function emptySecretCause(): string {
  const empty =
    'secret that is not set reads as empty, and so does every secret in a pull_request run from a fork';
  // A preview is no way around it: it logs in and reads the state to plan (a dry run refused there fails too).
  const generic = /^true$/i.test(core.getInput(Input.DryRun))
    ? `${empty}. A dry run needs the server, user and password too: it logs in to read what the server holds`
    : empty;
  if (process.env.GITHUB_ACTOR === 'dependabot[bot]')
    return (
      `${generic}. This run was started by Dependabot, which is given the Dependabot secrets, not the Actions ones: ` +
      "add the secret under Settings, Secrets, Dependabot too, or skip the step for it (if: github.actor != 'dependabot[bot]')"
    );
  const head = forkOfPullRequest();
  if (head)
    return (
      `${generic}. This run is for a pull request from the fork ${head}, which GitHub gives no secrets: run the step ` +
      'for branches of this repository only (if: github.event.pull_request.head.repo.full_name == github.repository)'
    );
  return generic;
}

/**
 * The fork (`owner/repo`) a pull_request run comes from, read from the event payload; undefined if none, and
 * for pull_request_target, whose runs are given the secrets.
 */
function forkOfPullRequest(): string | undefined {
  if (
    !/^pull_request(_review|_review_comment)?$/.test(process.env.GITHUB_EVENT_NAME ?? '') ||
    !process.env.GITHUB_EVENT_PATH
  )
    return undefined;
  try {
    const event = JSON.parse(fs.readFileSync(process.env.GITHUB_EVENT_PATH, 'utf8')) as {
      pull_request?: { head?: { repo?: { full_name?: unknown } } };
    };
    const head = event.pull_request?.head?.repo?.full_name;
    return typeof head === 'string' && head !== process.env.GITHUB_REPOSITORY ? head : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The server input with any password in it (`user:password@`, after a `scheme://`) as ***; the password
 * (as written, and decoded when it is %-encoded) goes to `core.setSecret` first, so the runner masks it too.
 */
function maskUserInfo(server: string): string {
  const shown = redactUrl(server);
  if (shown === server) return server;
  const rest = server.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
  const secret = rest.slice(rest.indexOf(':') + 1, rest.lastIndexOf('@'));
  for (const form of new Set([secret, percentDecoded(secret)])) if (form) core.setSecret(form);
  return shown;
}

function readProtocolAndPort(): { secure: DeployOptions['secure']; port?: number } {
  const given = core.getInput(Input.Protocol);
  if (given.toLowerCase() === 'sftp')
    throw new ConfigError(
      `protocol ${given} is file transfer over SSH, which ftpship does not speak: it deploys over FTP and FTPS. If the server offers FTPS, use protocol ftps`,
    );
  const protocol = oneOf(Input.Protocol, Object.keys(PROTOCOLS), 'ftp');
  let secure = PROTOCOLS[protocol];
  const port = integer(Input.Port, undefined, 1, 65535);
  if (port === 990 && secure !== 'implicit') {
    // Port 990 speaks TLS from the first byte; `ftps` there hangs until the timeout (FTP-Deploy-Action #149, #382).
    core.warning(`port 990 is the implicit-TLS port: using protocol ftps-legacy instead of ${protocol}`);
    secure = 'implicit';
  }
  return { secure, port };
}

/** `tls-name`: the name the certificate is checked against, when it is not `server`'s. */
function tlsName(): { servername?: string } {
  const name = core.getInput(Input.TlsName).trim();
  return name ? { servername: name } : {};
}

/**
 * The certificate inputs. Plain FTP has no certificate: there they only get a warning, not an error, since
 * FTP-Deploy-Action workflows often set `security: loose` with `protocol: ftp` and switching must not break them.
 */
function readTls(workspace: string, secure: DeployOptions['secure']): DeployOptions['tls'] {
  const loose = oneOf(Input.Security, ['strict', 'loose'], 'strict') === 'loose';
  const insecureInput = bool(Input.Insecure, false);
  // Checked only where it is used: with plain FTP a stale `ca` is a warning, as the other inputs are.
  const ca = secure ? readCa(workspace) : core.getInput(Input.Ca) || undefined;
  if (!secure) {
    const set = [insecureInput && Input.Insecure, loose && Input.Security, ca && Input.Ca].filter(
      (n): n is Input => typeof n === 'string',
    );
    if (set.length > 0)
      core.warning(
        `protocol ftp is not encrypted (the password and files go in clear): ${set.map((n) => `the \`${n}\` input`).join(', ')} ` +
          `${set.length === 1 ? 'has' : 'have'} no effect; use protocol ftps if the server offers it`,
      );
  } else if (insecureInput || loose) {
    core.warning(
      "the server certificate is not verified (security: loose or insecure: true): prefer `ca` with the server's certificate",
    );
  }
  // `tls-fingerprint`: one pin a line (two while a certificate changes); checked, also against plain FTP, by the engine.
  const fingerprint = list(Input.TlsFingerprint);
  if (fingerprint && loose && !insecureInput && secure)
    throw new ConfigError(
      'the `tls-fingerprint` input checks the certificate and `security: loose` skips every check: drop `security: loose` (with a pin, the certificate needs no CA and no name check)',
    );
  return {
    rejectUnauthorized: !(insecureInput || loose),
    ca,
    ...tlsName(),
    ...(fingerprint ? { fingerprint } : {}),
  };
}

/** `ca`: PEM text, or a PEM file in the workspace; checked now, or a bad one ends as "not trusted" later. */
function readCa(workspace: string): string | undefined {
  const ca = core.getInput(Input.Ca);
  if (!ca) return undefined;
  const inline = ca.includes('-----BEGIN');
  let pem = ca;
  if (!inline) {
    const file = insideWorkspace(workspace, ca, Input.Ca);
    if (!fs.existsSync(file) || !fs.statSync(file).isFile())
      throw new ConfigError(
        `ca file ${JSON.stringify(ca)} not found; give PEM text or a file path relative to the workspace`,
      );
    pem = fs.readFileSync(file, 'utf8');
  }
  if (!holdsCertificates(pem)) {
    throw new ConfigError(
      `the \`ca\` input${inline ? '' : `: ${JSON.stringify(ca)}`} holds no PEM certificate that can be read ` +
        '(-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----); give the CA certificate in PEM form, ' +
        'as text or as a file in the workspace (a key, or a DER .cer file, is not it)',
    );
  }
  return pem;
}

function readStatePath(): string | undefined {
  const name = core.getInput(Input.StateName);
  const statePath = core.getInput(Input.StatePath);
  if (name && statePath)
    throw new ConfigError(
      `both state-name (${JSON.stringify(name)}) and state-path (${JSON.stringify(statePath)}) are set; keep one`,
    );
  // FTP-Deploy-Action's own default, written out: there the same as no state-name. Taken as none here too, so
  // ftpship reads that file once and keeps its state apart, not in FTP-Deploy-Action's file in its own format
  // (which that tool could no longer read, and which "delete it after the switch" would delete).
  if (!statePath && name.replace(/^\.\/+/, '') === FDA_STATE_NAME) return undefined;
  return statePath || name || undefined;
}

/**
 * FTP-Deploy-Action wants `server-dir` to end in a slash; ftpship accepts both. `./` is the login folder;
 * `/` and `//` are the server's root, as in the CLI's `ftp://host//` (trimming the slashes made `//` the login folder).
 */
function serverDir(value: string): string {
  if (value === '' || value === '.' || value === './') return '';
  // A URL here would become folders named `ftp:` and the host on the server. Shown without its user and password.
  const asUrl = urlAsFolder(value);
  if (asUrl) {
    throw new ConfigError(
      `invalid server-dir "${asUrl.shown}": give the folder alone (server-dir: ${asUrl.folder || './'}); the host goes in \`server\`, the port in \`port\`, and TLS in \`protocol\``,
    );
  }
  const trimmed = value.replace(/^\.\/+/, '');
  return /^\/+$/.test(trimmed) ? '/' : trimmed.replace(/\/+$/, '');
}

/** Resolves `value` against the workspace and refuses anything outside it (symbolic links resolved). */
function insideWorkspace(workspace: string, value: string, name: string = Input.LocalDir): string {
  const abs = path.resolve(workspace, value);
  const real = (p: string): string => (fs.existsSync(p) ? fs.realpathSync(p) : p);
  const rel = path.relative(real(workspace), real(abs));
  if (rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new ConfigError(
      `${name} ${JSON.stringify(value)} is outside the workspace ${workspace}; give a path inside the repository checkout`,
    );
  }
  if (name === Input.LocalDir && !fs.existsSync(abs)) {
    throw new ConfigError(
      `local-dir ${JSON.stringify(value)} does not exist in ${workspace}; did the build step run, and is the path right?`,
    );
  }
  // Left to the engine, this read "local path /home/runner/work/…/index.html is not a folder", naming no input.
  if (name === Input.LocalDir && !fs.statSync(abs).isDirectory()) {
    throw new ConfigError(
      `local-dir ${JSON.stringify(value)} is a file, not a folder; name the folder to publish (such as ./dist/), and ` +
        `the files in it to send with the \`files\` input`,
    );
  }
  return abs;
}

/** A boolean input; empty means the default (the runner fills in action.yml defaults, tests may not). */
function bool(name: Input, fallback: boolean): boolean {
  const value = core.getInput(name);
  if (value === '') return fallback;
  // core.getBooleanInput's error is two lines of YAML 1.2 that never show the value given.
  if (!/^(true|false)$/i.test(value))
    throw new ConfigError(`invalid ${name} ${JSON.stringify(value)}; use true or false`);
  return value.toLowerCase() === 'true';
}

function integer<T extends number | undefined>(
  name: Input,
  fallback: T,
  min: number,
  max: number,
): number | T {
  const value = core.getInput(name);
  if (value === '') return fallback;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) {
    throw new ConfigError(
      `invalid ${name} ${JSON.stringify(value)}; use a whole number from ${min} to ${max}` +
        // FTP-Deploy-Action's timeout is in milliseconds too; `60` or `30s` means seconds to most readers.
        (name === Input.Timeout ? ' (milliseconds: 30000 is 30 s)' : ''),
    );
  }
  return n;
}

/** One of a few words, in any case (`FTPS` is `ftps`). */
function oneOf<T extends string>(name: Input, allowed: readonly T[], fallback: T): T {
  const given = core.getInput(name);
  const value = (given || fallback).toLowerCase();
  if (!allowed.includes(value as T))
    throw new ConfigError(`invalid ${name} ${JSON.stringify(given)}; use one of ${allowed.join(', ')}`);
  return value as T;
}

/**
 * `exclude`: one glob per line, as `keep`, and also the two one-line forms FTP-Deploy-Action 4.0 and 4.1
 * read, which switched workflows still carry (read as one glob each, they excluded nothing, so `.git/config`
 * with the checkout token went up). A notice says how the value was read.
 * - `[a, b, c]`: a YAML flow list written as a string, split at its commas (not those inside `{a,b}` or
 *   `[ab]`). No one means it as a glob: that would be one bracket expression, matching a one-character name.
 * - `a - b - c`: what YAML makes of the form FDA 4.0 documented, `exclude: a` with `- b`, `- c` on the
 *   lines below (a plain scalar folds its lines into one). Split at " - " only in a value without a line
 *   break: a file name may hold " - " (Windows names a copy `x - Copy.txt`), and such a glob stays whole in a
 *   block (`exclude: |`), which keeps its line break. Written on one line, it is split, and the notice shows it.
 */
function readExclude(): string[] | undefined {
  const globs = list(Input.Exclude);
  if (globs?.length !== 1) return globs;
  const [value] = globs;
  const oneLine = !/[\r\n]/.test(core.getInput(Input.Exclude, { trimWhitespace: false }));
  let read: string[];
  let how: string;
  if (/^\[.*\]$/.test(value)) {
    // `[]` is no glob at all, as FTP-Deploy-Action read it: the defaults replaced by nothing.
    read = splitTopLevel(value.slice(1, -1), ',').map((g) => g.trim().replace(/^(['"])(.*)\1$/, '$2'));
    how = "FTP-Deploy-Action's bracketed form, split at its commas";
  } else if (oneLine && value.includes(' - ')) {
    read = value.split(' - ');
    how = 'split at " - " as FTP-Deploy-Action 4.0 did (a value on one line is always split there)';
  } else return globs;
  read = read.map((g) => g.trim()).filter((g) => g !== '');
  core.notice(
    logSafe(
      `the \`exclude\` input ${JSON.stringify(value)} was read as a list of ${read.length} glob${read.length === 1 ? '' : 's'}, ` +
        `${how}: ${read.map((g) => JSON.stringify(g)).join(', ') || 'none'}. Write one glob per line instead: ` +
        '`exclude: |` with each glob on a line of its own below it',
    ),
  );
  return read;
}

/** `line` without a YAML-style comment (see {@link list}); '' when it is one. */
function withoutComment(name: Input, line: string): string {
  const quoted = /^((["']).*?\2)\s+#/.exec(line);
  const kept = line.startsWith('#')
    ? ''
    : quoted
      ? quoted[1]
      : /^(["']).*\1$/.test(line)
        ? line
        : line.replace(/\s+#.*$/, '');
  if (kept !== line) core.debug(`${name}: comment ${JSON.stringify(line.slice(kept.length).trim())} ignored`);
  return kept;
}

/** Splits `text` at `separator` outside `[...]` and `{...}`. */
function splitTopLevel(text: string, separator: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\\') i++;
    else if (ch === '[' || ch === '{') depth++;
    else if ((ch === ']' || ch === '}') && depth > 0) depth--;
    else if (ch === separator && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/**
 * A multiline input: one entry per line; a YAML-style `- ` prefix is accepted, and so are quotes around a
 * line (`"uploads/**"`, as globs are quoted in YAML), with a notice. Comments as YAML writes them, which a
 * block (`exclude: |`) keeps as text: a line starting with `#`, and ` #` to the end of a line outside quotes
 * (`.env # secrets` was one glob, matching nothing, and `.env` went up). `\#` stands for a literal `#`
 * (`\#*#` for Emacs' `#index.html#`, `Issue \#12.md`). Undefined when empty.
 */
function list(name: Input): string[] | undefined {
  const lines = core
    .getMultilineInput(name)
    .map((l) => withoutComment(name, l.replace(/^-\s+/, '').trim()))
    .filter((l) => l !== '')
    .map((l) => l.replace(/\\#/g, '#'));
  // In a block (`keep: |`) the quotes are part of the line: "uploads/**" kept nothing, so uploads were deleted.
  const quoted = lines.filter((l) => /^(["']).+\1$/.test(l));
  if (quoted.length > 0)
    core.notice(
      logSafe(
        `the \`${name}\` input: the quotes around ${quoted.join(', ')} were removed (in a block, ` +
          `\`${name}: |\`, YAML keeps them as part of the line); write each line without quotes`,
      ),
    );
  const unquoted = lines.map((l) => (quoted.includes(l) ? l.slice(1, -1) : l));
  return unquoted.length > 0 ? unquoted : undefined;
}
