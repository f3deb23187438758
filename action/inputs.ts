/**
 * The only module that reads the Action's inputs: defaults, validation and normalisation, the password
 * masked before anything is logged, and every resolved value sent to `core.debug`. Returns the engine's
 * options plus the few settings that only the Action uses.
 */
import fs from 'node:fs';
import path from 'node:path';
import * as core from '@actions/core';
import { ConfigError, type DeployOptions } from '../src/index.js';
import { FDA_DEFAULT_EXCLUDES, FDA_UNSUPPORTED, Input, type LogLevel } from './constants.js';

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
  const rawPassword = core.getInput(Input.Password, { required: true, trimWhitespace: false });
  core.setSecret(rawPassword);
  const password = rawPassword.trim(); // FTP-Deploy-Action trimmed it too (a pasted secret often ends in a newline)
  if (password !== rawPassword && password !== '') core.setSecret(password);

  const workspace = path.resolve(process.env.GITHUB_WORKSPACE || process.cwd());
  const localDir = insideWorkspace(workspace, core.getInput(Input.LocalDir) || './');
  const insecure = readInsecure();
  const { secure, port } = readProtocolAndPort();
  const options: DeployOptions = {
    host: readServer(),
    port,
    user: core.getInput(Input.Username, { required: true }),
    password,
    secure,
    tls: { rejectUnauthorized: !insecure, ca: readCa(workspace), ...tlsName() },
    localDir,
    remoteDir: serverDir(core.getInput(Input.ServerDir)),
    dryRun: bool(Input.DryRun, false),
    exclude: list(Input.Exclude) ?? FDA_DEFAULT_EXCLUDES,
    replaceDefaultExcludes: true, // FTP-Deploy-Action: `exclude` replaces the defaults
    keep: list(Input.Keep) ?? [],
    delete: bool(Input.Delete, true),
    maxDelete: integer(Input.MaxDelete, undefined, 0, Number.MAX_SAFE_INTEGER),
    parallel: integer(Input.Parallel, 4, 1, 64),
    atomic: bool(Input.Atomic, true),
    statePath: readStatePath(),
    timeoutMs: integer(Input.Timeout, 30_000, 100, 3_600_000),
    resetState: bool(Input.ResetState, false),
    adopt: bool(Input.Adopt, false),
    uploadOnly: bool(Input.UploadOnly, false),
    maintenance: readMaintenance(),
    fileMode: core.getInput(Input.FileMode) || undefined,
    dirMode: core.getInput(Input.DirMode) || undefined,
  };
  warnUnsupported();
  const logLevel = oneOf(Input.LogLevel, LOG_LEVELS, 'standard');
  const filePatterns = list(Input.Files);
  for (const [name, value] of Object.entries({
    ...options,
    password: '***',
    tls: { ...options.tls, ca: options.tls?.ca ? '(PEM)' : undefined },
    logLevel,
    filePatterns,
  })) {
    core.debug(`${name}: ${JSON.stringify(value)}`);
  }
  return { options, logLevel, filePatterns };
}

/** FTP-Deploy-Action inputs ftpship leaves out on purpose; the runner passes them on with only a notice. */
function warnUnsupported(): void {
  if (core.getInput(FDA_UNSUPPORTED.CleanSlate) === 'true') {
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
  const server = core.getInput(Input.Server, { required: true });
  if (/^[a-z]+:\/\//i.test(server)) {
    throw new ConfigError(
      `invalid server ${JSON.stringify(server)}: give the host name only (e.g. ftp.example.com) and set \`protocol\`, \`port\` and \`server-dir\` apart`,
    );
  }
  return server;
}

function readProtocolAndPort(): { secure: DeployOptions['secure']; port?: number } {
  if (core.getInput(Input.Protocol) === 'sftp')
    throw new ConfigError(
      'protocol sftp is file transfer over SSH, which ftpship does not speak: it deploys over FTP and FTPS. If the server offers FTPS, use protocol ftps',
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

function readInsecure(): boolean {
  const security = oneOf(Input.Security, ['strict', 'loose'], 'strict');
  const insecure = bool(Input.Insecure, false) || security === 'loose';
  if (insecure)
    core.warning(
      "the server certificate is not verified (security: loose or insecure: true): prefer `ca` with the server's certificate",
    );
  return insecure;
}

function readCa(workspace: string): string | undefined {
  const ca = core.getInput(Input.Ca);
  if (!ca || ca.includes('-----BEGIN')) return ca || undefined;
  const file = insideWorkspace(workspace, ca, Input.Ca);
  if (!fs.existsSync(file))
    throw new ConfigError(
      `ca file ${JSON.stringify(ca)} not found; give PEM text or a file path relative to the workspace`,
    );
  return fs.readFileSync(file, 'utf8');
}

function readStatePath(): string | undefined {
  const name = core.getInput(Input.StateName);
  const statePath = core.getInput(Input.StatePath);
  if (name && statePath)
    throw new ConfigError(
      `both state-name (${JSON.stringify(name)}) and state-path (${JSON.stringify(statePath)}) are set; keep one`,
    );
  return statePath || name || undefined;
}

/** FTP-Deploy-Action wants `server-dir` to end in a slash; ftpship accepts both. `./` is the login folder. */
function serverDir(value: string): string {
  if (value === '' || value === '.' || value === './') return '';
  const trimmed = value.replace(/^\.\/+/, '');
  return trimmed === '/' ? '/' : trimmed.replace(/\/+$/, '');
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
  return abs;
}

/** A boolean input; empty means the default (the runner fills in action.yml defaults, tests may not). */
function bool(name: Input, fallback: boolean): boolean {
  return core.getInput(name) === '' ? fallback : core.getBooleanInput(name);
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
      `invalid ${name} ${JSON.stringify(value)}; use a whole number from ${min} to ${max}`,
    );
  }
  return n;
}

function oneOf<T extends string>(name: Input, allowed: readonly T[], fallback: T): T {
  const value = core.getInput(name) || fallback;
  if (!allowed.includes(value as T))
    throw new ConfigError(`invalid ${name} ${JSON.stringify(value)}; use one of ${allowed.join(', ')}`);
  return value as T;
}

/** A multiline input: one entry per line; a YAML-style `- ` prefix is accepted. Undefined when empty. */
function list(name: Input): string[] | undefined {
  const lines = core
    .getMultilineInput(name)
    .map((l) => l.replace(/^-\s+/, '').trim())
    .filter((l) => l !== '');
  return lines.length > 0 ? lines : undefined;
}
