/** The `ftpship` command: deploy, plan, demo. Exit codes: 0 done, 1 failed, 2 usage/config, 3 refused by a guard. */
import fs from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { CliOutput } from './cli-output.js';
import {
  CancelledError,
  ConfigError,
  deploy,
  exitCodeOf,
  formatPlan,
  formatSummary,
  formatEstimate,
  GuardError,
  type DeployOptions,
} from './engine/index.js';
import { holdsCertificates } from './engine/option-shape.js';
import { failureReport as failure } from './json-failure.js';
import { parseTarget, redactUrl } from './url.js';
import { hookSecrets } from './engine/hook.js';
import { cancelOnSignals, quitAtOnce } from './signals.js';

interface DeployFlags {
  dryRun?: boolean;
  json?: boolean;
  parallel?: string;
  exclude?: string[];
  keep?: string[];
  delete: boolean;
  maxDelete?: string;
  state?: string;
  atomic: boolean;
  insecure?: boolean;
  tlsName?: string;
  tlsFingerprint?: string[];
  ca?: string;
  active?: boolean;
  encoding?: string;
  pipelining: boolean;
  timeout?: string;
  retries?: string;
  verbose?: boolean;
  quiet?: boolean;
  passwordStdin?: boolean;
  resetState?: boolean;
  verify?: boolean;
  fileMode?: string;
  dirMode?: string;
  adopt?: boolean;
  uploadOnly?: boolean;
  replace?: boolean;
  deleteOnly?: boolean;
  maintenance?: string;
  maintenanceContent?: string;
  maintenanceUrl?: string;
}

const collect = (value: string, prev: string[] = []): string[] => [...prev, value];

/**
 * A flag that takes one value, given twice with two values (`--ca old.pem … --ca new.pem`, a default in a
 * script and the value meant after it): which one is meant no one can tell, and taking the last one silently
 * deployed with the other's never noticed. The same value twice is that value; two are an error (exit 2),
 * naming both (not the URL's: it may hold a token). --exclude, --keep and --tls-fingerprint are repeatable.
 */
type Twice = Map<string, string[]>;
const once =
  (twice: Twice, flag: string) =>
  (value: string, prev: string | undefined): string => {
    if (prev !== undefined && prev !== value) twice.set(flag, [...(twice.get(flag) ?? [prev]), value]);
    return value;
  };

function givenTwice(twice: Twice): ConfigError | undefined {
  const [flag, given] = [...twice][0] ?? [];
  if (!flag || !given) return undefined;
  const values = [...new Set(given)];
  const shown = /url|content/.test(flag)
    ? ` (not shown: ${flag === '--maintenance-url' ? 'a URL may hold a token' : 'text'})`
    : `, ${values.map((v) => JSON.stringify(v)).join(' and ')}`;
  return new ConfigError(
    `${flag} is given ${values.length === 2 ? 'two' : values.length} different values${shown}; it takes one: give it once, with the value meant`,
  );
}

function addDeployOptions(cmd: Command, twice: Twice): Command {
  const one = (flag: string): ((value: string, prev: string | undefined) => string) => once(twice, flag);
  return cmd
    .argument('<local-dir>', 'the folder to publish')
    .argument('<url>', 'ftp://, ftpes:// (explicit TLS) or ftps:// (implicit TLS) user@host[:port]/folder')
    .option('--json', 'print the JSON report on stdout')
    .option('--parallel <n>', 'connections sharing the queue (default 4)', one('--parallel'))
    .option('--exclude <glob>', 'leave matching local paths out (repeatable)', collect)
    .option('--keep <glob>', 'never delete matching remote paths (repeatable)', collect)
    .option('--no-delete', 'leave orphaned files on the server')
    .option('--no-replace', 'leave changed files already on the server as they are (new files still go up)')
    .option(
      '--delete-only',
      'only delete what ftpship deployed and is gone locally: upload, replace and make nothing',
    )
    .option(
      '--max-delete <n>',
      'refuse (exit 3) a plan that deletes more files than this',
      one('--max-delete'),
    )
    .option('--state <path>', 'state file on the server, absolute or relative to the folder', one('--state'))
    .option('--reset-state', 're-seed an unreadable state: treat the server as empty')
    .option(
      '--adopt',
      'first deploy onto a server that already has the site: compare files there instead of uploading them again',
    )
    .option(
      '--upload-only',
      'upload every file, keep no state file, delete nothing (refused where ftpship keeps a state)',
    )
    .option(
      '--verify',
      'check every deployed file is on the server with its size (and SHA-256, where the server hashes files); upload again what drifted',
    )
    .option(
      '--no-atomic',
      'write changed files in place (no temp + rename): faster, visitors may see torn files',
    )
    .option(
      '--file-mode <mode>',
      'permissions for deployed files, in octal (e.g. 644): SITE CHMOD',
      one('--file-mode'),
    )
    .option(
      '--dir-mode <mode>',
      'permissions for deployed folders, in octal (e.g. 755): SITE CHMOD',
      one('--dir-mode'),
    )
    .option(
      '--maintenance <path>',
      'a file put on the server (relative to the folder) while live files change, removed after',
      one('--maintenance'),
    )
    .option(
      '--maintenance-content <text>',
      'what the maintenance file holds (default: a line of text)',
      one('--maintenance-content'),
    )
    .option(
      '--maintenance-url <url>',
      'POST {"event":"start"|"end"|"failed"} to this http(s) URL around the live changes (as --maintenance)',
      one('--maintenance-url'),
    )
    .option('--insecure', 'do not verify the TLS certificate (unsafe)')
    .option(
      '--tls-name <name>',
      'check the TLS certificate against this name instead of the host (a shared host whose certificate names the provider)',
      one('--tls-name'),
    )
    .option('--ca <file>', 'trust this CA certificate (PEM) for TLS, besides the default CAs', one('--ca'))
    .option(
      '--tls-fingerprint <sha256>',
      'accept only the TLS certificate with this SHA-256 fingerprint, self-signed or not (repeatable: any one matches)',
      collect,
    )
    .option('--active', 'active mode: the server connects back (EPRT/PORT)')
    .option('--no-pipelining', 'send each command alone (for a server that mishandles command batches)')
    .option(
      '--encoding <name>',
      'how names go on the wire: utf8 (default) or latin1 (a server that keeps names as ISO 8859-1 bytes)',
      one('--encoding'),
    )
    .option('--timeout <ms>', 'timeout per reply and idle transfer (default 30000)', one('--timeout'))
    .option('--retries <n>', 'retries of transient failures (default 5)', one('--retries'))
    .option('--password-stdin', 'read the password from standard input')
    .option('--verbose', 'log the FTP dialogue (PASS redacted)')
    .addOption(new Option('--quiet', 'print only warnings and errors').conflicts('verbose'));
}

export async function main(argv: string[]): Promise<number> {
  const program = new Command('ftpship')
    .description('Fast, safe FTP/FTPS deploys. Password from FTPSHIP_PASSWORD or --password-stdin.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .exitOverride()
    .configureOutput({
      writeErr: (s) => process.stderr.write(s),
      outputError: (s, write) => write(usage(s, argv)),
    });
  let code = 0;
  const twice: Twice = new Map();
  const run = async (
    dry: boolean,
    localDir: string,
    url: string,
    flags: DeployFlags,
    cmd: Command,
  ): Promise<void> => {
    const extra = cmd.args.slice(2);
    code = await runDeploy(localDir, url, { ...flags, dryRun: dry || flags.dryRun }, extra, twice);
  };
  // Excess arguments are let through to be named: most often an unquoted glob the shell expanded.
  addDeployOptions(program.command('deploy').description('deploy a folder'), twice)
    .addOption(new Option('--dry-run', 'plan only: change nothing'))
    .allowExcessArguments()
    .action(async (l: string, u: string, f: DeployFlags, cmd: Command) => run(false, l, u, f, cmd));
  addDeployOptions(
    program.command('plan').description('show what deploy would do (same as deploy --dry-run)'),
    twice,
  )
    .addOption(new Option('--dry-run', 'what plan does anyway').hideHelp())
    .allowExcessArguments()
    .action(async (l: string, u: string, f: DeployFlags, cmd: Command) => run(true, l, u, f, cmd));
  program
    .command('demo')
    .description('deploy a sample site to an embedded FTP server on 127.0.0.1')
    .action(async () => {
      // Not bundled into dist/src/cli.bundle.js (webpackIgnore): loaded from dist/src, with ftp-srv.
      // A signal held while the CLI started is the demo's: it stops on it as on one later (src/demo.ts).
      const { runDemo } = await import(/* webpackIgnore: true */ './demo.js');
      code = await runDemo();
    });
  try {
    const swallowed = optionAsValue(argv, program);
    if (swallowed) program.error(swallowed, { exitCode: 2, code: 'ftpship.optionAsValue' });
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (!(err instanceof CommanderError)) throw err;
    if (err.exitCode === 0) return 0;
    // A usage error with --json (before any `--`): the error as JSON too, as for any other failure.
    const end = argv.indexOf('--');
    if ((end < 0 ? argv : argv.slice(0, end)).includes('--json'))
      process.stdout.write(
        jsonFailure(
          usage(err.message, argv)
            .replace(/^error: /, '')
            .trimEnd(),
          2,
          argv[0] === 'plan' || argv.includes('--dry-run'),
        ),
      );
    return 2;
  }
  return code;
}

async function runDeploy(
  localDir: string,
  url: string,
  flags: DeployFlags,
  extra: string[],
  twice: Twice,
): Promise<number> {
  const secrets: string[] = [];
  const out = new CliOutput({ quiet: !!flags.quiet, verbose: !!flags.verbose, secrets });
  // A hang-up (the terminal closed: what is written may go nowhere, or fail) stops the deploy the same way.
  // A second SIGINT or SIGTERM quits at once: it says so (it ended with no word), and with --json on stdout too.
  const cancel = cancelOnSignals(
    (sig) => out.warn(`${sig}: stopping (recording what was done, releasing the lock); ${quitAtOnce(sig)}`),
    (sig, code) => {
      const message = flags.dryRun
        ? `${sig} again: quit at once; a dry run, nothing was changed`
        : `${sig} again: quit at once, without recording what was done; the lock, if it was taken, is left: run the deploy again to finish (from this machine it takes that lock over at once; from another, once it is stale)`;
      out.error(message);
      if (flags.json) process.stdout.write(out.json(failure(message, code, !!flags.dryRun)));
    },
  );
  let ownWarnings: string[] = [];
  try {
    // A Ctrl-C while the CLI started (held until now): stopped before anything, as one later would stop it.
    if (cancel.signal.aborted) throw cancelledBeforeStart(cancel.signal);
    const repeated = givenTwice(twice);
    if (repeated) throw repeated;
    if (extra.length > 0) throw excessArguments(extra);
    const scheme = /^\s*[a-z][a-z0-9+.-]*:\/\//i;
    if (scheme.test(localDir) && !scheme.test(url))
      throw new ConfigError(
        // What follows the URL is named only when it is a local path: it may be a password (`… "$PW"`).
        `the URL comes second: the local folder first, then the URL (here ${fs.existsSync(url) ? JSON.stringify(url) : 'an argument'} after the URL ${redactUrl(localDir.trim())})`,
      );
    const options = await buildOptions(localDir, url, flags, out, secrets, cancel.signal);
    // The CLI's own warnings (--insecure, a password in the URL, port 990): in the JSON report with the engine's.
    ownWarnings = [...out.warnings];
    const reporter = out.reporter();
    const report = await deploy(
      { ...options, signal: cancel.signal },
      { ...reporter, warn: (m) => reporter.warn?.(asFlags(m)) },
    );
    report.warnings = [...ownWarnings, ...report.warnings.map(asFlags)];
    out.stop();
    // Every path planned (PRODUCT.md step 8): what a dry run would do, what a deploy did.
    for (const l of formatPlan(report)) out.line(l);
    out.line(formatSummary(report));
    const estimate = formatEstimate(report);
    if (estimate) out.line(estimate);
    if (flags.json) process.stdout.write(out.json(report));
    return 0;
  } catch (err) {
    // A refused plan (dry run or not) is still shown: what tripped the guard, and that nothing was done (a run
    // refused before it planned anything, dry or not, only the error: its empty plan would read "would upload 0").
    // With --json, any refused run's report.
    if (err instanceof GuardError && err.report) {
      err.report.warnings = [...ownWarnings, ...err.report.warnings.map(asFlags)];
      if (err.report.refused) err.report.refused = asFlags(err.report.refused);
      if (err.report.files.length > 0) {
        for (const l of formatPlan(err.report)) out.line(l);
        out.line(formatSummary(err.report));
      }
      if (flags.json) process.stdout.write(out.json(err.report));
    }
    const message =
      noUserGiven(withCaFile(asFlags((err as Error).message ?? String(err)), flags), url) +
      lockHelp(err, url, flags);
    out.error(message);
    const code = err instanceof CancelledError ? cancel.exitCode : exitCodeOf(err);
    // --json: stdout is JSON whatever happens (a script reads it): any other failure, the error line.
    if (flags.json && !(err instanceof GuardError && err.report))
      process.stdout.write(out.json(failure(message, code, !!flags.dryRun)));
    if (!(err instanceof CancelledError)) return code;
    cancel.exitSoon(code);
    return code;
  } finally {
    cancel.dispose();
  }
}

async function buildOptions(
  localDir: string,
  url: string,
  f: DeployFlags,
  out: CliOutput,
  secrets: string[],
  signal: AbortSignal,
): Promise<DeployOptions> {
  notEmpty(f);
  // The hook's URL may carry a token: masked in every line printed, whatever prints it.
  if (f.maintenanceUrl) secrets.push(...hookSecrets(f.maintenanceUrl));
  const target = parseTarget(url);
  // A password of blanks alone is no password anyone means (a secret saved as a space); masked in every line
  // printed, it put *** for every space of every message, the error saying so included.
  const blank = (p: string | undefined): boolean => !!p && p.trim() === '';
  if (blank(target.password))
    throw new ConfigError(
      `the password in the URL ${redactUrl(url)} is only blanks (spaces, tabs); give the real password, or leave it out of the URL and set FTPSHIP_PASSWORD`,
    );
  if (target.password) {
    secrets.push(target.password);
    out.warn(
      `the URL ${redactUrl(url)} holds a password; prefer FTPSHIP_PASSWORD or --password-stdin (URLs end up in shell history and logs)`,
    );
  }
  // One line break at its end is the secret's, not the password's (a pasted secret, `echo` into a file): taken
  // off as --password-stdin and the Action take it off. One inside it is still refused. An empty variable (a CI
  // secret that is not set) holds no password: a password in the URL is then the one used.
  const fromEnv = process.env.FTPSHIP_PASSWORD?.replace(/\r?\n$/, '') || undefined;
  if (target.password && !f.passwordStdin && fromEnv !== undefined && fromEnv !== target.password)
    out.warn("FTPSHIP_PASSWORD is set too, and is the one used: unset it to log in with the URL's password");
  const password = f.passwordStdin ? await readStdin(signal) : (fromEnv ?? target.password);
  if (blank(password))
    throw new ConfigError(
      f.passwordStdin
        ? '--password-stdin read a password of blanks alone (spaces, tabs); pipe in the real password'
        : 'FTPSHIP_PASSWORD holds blanks alone (spaces, tabs); set it to the password, or unset it',
    );
  if (target.password && f.passwordStdin && password !== target.password)
    out.warn(
      "--password-stdin gives a password too, and is the one used: drop it to log in with the URL's password",
    );
  if (password) secrets.push(password);
  let ca: Buffer | undefined;
  if (f.ca) {
    try {
      ca = fs.readFileSync(f.ca);
    } catch (err) {
      throw new ConfigError(
        `cannot read the CA file ${JSON.stringify(f.ca)}: ${(err as Error).message}; give a PEM certificate file`,
      );
    }
  }
  if (target.port === 990 && target.secure !== 'implicit') {
    // Port 990 speaks TLS from the first byte: anything else waits there for a greeting until the timeout
    // (FTP-Deploy-Action #149, #382). Only ever upgrades: plain FTP there is not a thing servers do.
    out.warn(
      `port 990 is the implicit-TLS port: connecting with ftps:// (implicit TLS) instead of ${target.secure ? 'ftpes://' : 'ftp://'}`,
    );
    target.secure = 'implicit';
  }
  // With a pin, --insecure is a usage error (resolve): no warning that reads as if the deploy went on.
  if (f.insecure && target.secure && !f.tlsFingerprint)
    out.warn('--insecure: the TLS certificate is NOT verified; anyone on the path can read the password');
  if (f.tlsFingerprint && f.ca && target.secure && !f.insecure)
    out.warn(
      `--ca ${f.ca} is not used: with --tls-fingerprint the certificate is checked against the pin alone`,
    );
  if (f.insecure && f.ca && target.secure)
    out.warn(
      `--ca ${f.ca} is not used: --insecure checks no certificate; drop --insecure to check the server's against it`,
    );
  if (!target.secure && (f.insecure || f.ca))
    out.warn(
      `${f.ca ? '--ca' : '--insecure'} has no effect with ftp://: the connection is not encrypted (the password goes in clear); use ftpes:// for TLS`,
    );
  // Checked here to name the file: the engine's own check knows only the bytes ("the CA given … holds no
  // PEM certificate"), which left a user with several --ca candidates guessing which one was wrong.
  if (ca && target.secure && !holdsCertificates(ca.toString('latin1')))
    throw new ConfigError(
      `the CA file ${JSON.stringify(f.ca)} (--ca) holds no PEM certificate that can be read ` +
        '(-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----); give the CA certificate in PEM form ' +
        `(a key, or a DER .cer file, is not it: \`openssl x509 -inform der -in ${JSON.stringify(f.ca)} -out ca.pem\` converts a DER one)`,
    );
  return {
    localDir,
    host: target.host,
    port: target.port,
    user: target.user,
    password,
    secure: target.secure,
    tls: {
      ca,
      rejectUnauthorized: !f.insecure,
      ...(f.tlsName ? { servername: f.tlsName } : {}),
      ...(f.tlsFingerprint ? { fingerprint: f.tlsFingerprint } : {}),
    },
    remoteDir: target.remoteDir,
    active: !!f.active,
    encoding: f.encoding as DeployOptions['encoding'],
    pipelining: f.pipelining,
    dryRun: !!f.dryRun,
    parallel: num('--parallel', f.parallel, 4),
    exclude: f.exclude,
    keep: f.keep,
    delete: f.delete,
    replace: f.replace,
    deleteOnly: !!f.deleteOnly,
    maxDelete: num('--max-delete', f.maxDelete, 10),
    statePath: f.state,
    atomic: f.atomic,
    timeoutMs: num('--timeout', f.timeout, 30000),
    retries: num('--retries', f.retries, 5),
    resetState: !!f.resetState,
    verify: !!f.verify,
    adopt: !!f.adopt,
    uploadOnly: !!f.uploadOnly,
    maintenance: maintenance(f),
    maintenanceUrl: f.maintenanceUrl,
    fileMode: f.fileMode,
    dirMode: f.dirMode,
  };
}

/**
 * `--state --dry-run`, `--maintenance --json` (the value left out, or an empty variable unquoted): commander takes
 * the next argument as the value whatever it is, so the option after it was lost and the run went on without
 * it: a real deploy for the dry run asked, the state moved to a file named `--dry-run`. An option's own name
 * given where its value goes is a usage error (exit 2, nothing sent); `--state=--dry-run` still gives that text.
 */
function optionAsValue(argv: string[], program: Command): string | undefined {
  const cmd = program.commands.find((c) => c.name() === argv[0]);
  if (!cmd) return undefined;
  const options = cmd.options;
  const names = new Set(['--help', '-h', '--', ...options.flatMap((o) => [o.long, o.short])]);
  const end = argv.indexOf('--');
  for (let i = 1; i < (end < 0 ? argv.length : end); i++) {
    const option = options.find((o) => o.required && (o.long === argv[i] || o.short === argv[i]));
    if (!option) continue;
    const next = argv[i + 1];
    if (next !== undefined && names.has(next.split('=')[0] ?? next))
      return (
        `error: option '${option.flags}' has no value: ${JSON.stringify(next)} after it is an option, not a value; ` +
        `give the value after ${option.long ?? argv[i]}, or write ${option.long ?? argv[i]}=${next} if that is the value meant`
      );
    i++; // the value
  }
  return undefined;
}

/** A usage error's --json document (any command: the error line and exit code 2). */
function jsonFailure(error: string, exitCode: number, dryRun: boolean): string {
  return `${JSON.stringify(failure(error, exitCode, dryRun), null, 2)}\n`;
}

/**
 * A usage error as printed: one line, naming what to do (commander put "(Did you mean --parallel?)" on a line of
 * its own, and said nothing more after "unknown option '--bogus'" or "argument missing").
 */
function usage(message: string, argv: string[]): string {
  const command = ['deploy', 'plan', 'demo'].includes(argv[0] ?? '') ? `ftpship ${argv[0]}` : 'ftpship';
  const line = dashPath(unknownCommand(unknownOption(demoArguments(message))), argv).replace(
    /\n\(Did you mean (.*)\?\)/,
    '; did you mean $1?',
  );
  if (line.includes('; ')) return line;
  const hint = /^error: unknown option /.test(line)
    ? `${command} --help lists the options`
    : /^error: option '.*' argument missing/.test(line)
      ? 'give its value after it'
      : /^error: missing required argument /.test(line)
        ? `give both: ${command} [options] <local-dir> <url>`
        : /^error: option '.*' cannot be used with option /.test(line)
          ? 'give one of them'
          : /^error: unknown command /.test(line)
            ? 'the commands are deploy, plan and demo'
            : '';
  return hint ? line.replace(/\n?$/, `; ${hint}\n`) : line;
}

/**
 * `ftpship demo ./dist ftp://…`: commander said only "too many arguments for 'demo'. Expected 0 arguments but
 * got 2.". What the demo is, and the command that deploys a folder; the arguments not shown (a URL may hold a
 * password).
 */
function demoArguments(message: string): string {
  return message.replace(
    /^error: too many arguments for 'demo'\. Expected 0 arguments but got (\d+)\.(\n?)$/,
    (_all, n: string, end: string) =>
      `error: ftpship demo takes no arguments (${n} given): it deploys its own sample site to an embedded server; ` +
      `to deploy a folder: ftpship deploy [options] <local-dir> <url>${end}`,
  );
}

/**
 * Commander's "unknown option '--password=…'" would print the value given, often a password (`--password=x`,
 * `--password-stdin=x`, `-px`): the value is left out, and an option named like a password gets where it goes.
 */
function unknownOption(message: string): string {
  return message.replace(
    /^error: unknown option '(--[^=']*|-[^-'])([^']*)'/,
    (_all, name: string, value: string) =>
      `error: unknown option '${value ? `${name}${value.startsWith('=') ? '=' : ''}…` : name}'` +
      (/pas+w|pwd|^-p$/i.test(name)
        ? '; the password comes from FTPSHIP_PASSWORD or --password-stdin (piped in: echo "$PW" | ftpship …)'
        : inUrl(name)),
  );
}

/** Flags other tools have for what ftpship reads from the URL (`--user bob`, `--port 2121`): where it goes. */
function inUrl(flag: string): string {
  const name = flag.replace(/^-+/, '').toLowerCase();
  const part = /^(u|user|username|login)$/.test(name)
    ? 'the user goes in the URL: ftp://USER@host/folder'
    : /^(port)$/.test(name)
      ? 'the port goes in the URL: ftp://user@host:PORT/folder'
      : /^(host|hostname|server)$/.test(name)
        ? 'the server goes in the URL: ftp://user@HOST/folder'
        : /^(server-?dir|remote-?dir|remote-?path|dir|target)$/.test(name)
          ? "the server folder is the URL's path: ftp://user@host/FOLDER (//FOLDER for an absolute one)"
          : /^(protocol|secure|tls|ssl|ftps|ftpes)$/.test(name)
            ? "TLS is the URL's scheme: ftpes:// (explicit TLS) or ftps:// (implicit TLS)"
            : '';
  return part ? `; ${part}` : '';
}

/**
 * `ftpship deploy -dist ftp://…`: a local folder whose name starts with a dash reads as options ("unknown
 * option '-d…'"). When an argument like that is a path on disk, say how to give it.
 */
function dashPath(message: string, argv: string[]): string {
  if (!/^error: unknown option /.test(message)) return message;
  const end = argv.indexOf('--');
  const dashed = (end < 0 ? argv : argv.slice(0, end)).find(
    (a) => /^-[^-]/.test(a) && !a.includes('=') && fs.existsSync(a),
  );
  if (!dashed) return message;
  const command = argv[0] === 'plan' ? 'plan' : 'deploy';
  return message.replace(
    /\n?$/,
    `; ${JSON.stringify(dashed)} is a local path: give it after --, with the options before: ftpship ${command} [options] -- ${dashed} <url>\n`,
  );
}

/** `ftpship ftp://user:pw@host/site ./dist`: commander names the URL as the unknown command, password and all. */
function unknownCommand(message: string): string {
  return message.replace(
    /^error: unknown command '([^']*)'/,
    (_all, name: string) =>
      `error: unknown command '${redactUrl(name)}'` +
      (name.includes('/')
        ? '; the command comes first: ftpship deploy <local-dir> <url> (or ftpship plan …)'
        : ''),
  );
}

/**
 * Arguments after the URL. Names of local files are most often an unquoted glob the shell expanded
 * (`--exclude *.map`): named, with the fix. Anything else is not shown: it may be a password (`--password-stdin
 * "$PW"`, or the password typed after the URL).
 */
function excessArguments(extra: string[]): ConfigError {
  const quote =
    "quote a glob given to an option (--exclude '*.map'), or the shell replaces it with the names it matches";
  const s = extra.length > 1 ? 's' : '';
  if (extra.every((a) => fs.existsSync(a)))
    return new ConfigError(
      `unexpected argument${s} ${extra.map((a) => JSON.stringify(a)).join(' ')} after the URL; ${quote}`,
    );
  return new ConfigError(
    `${extra.length} unexpected argument${s} after the URL (not shown, in case of a password: the password comes from FTPSHIP_PASSWORD or --password-stdin, which takes no value); ${quote}`,
  );
}

/**
 * A flag given an empty value (`--ca "$CA"` with CA unset) would read as not given: a deploy without the CA,
 * the mode or the name asked for. Say so instead.
 */
function notEmpty(f: DeployFlags): void {
  const empty = (
    [
      ['--ca', f.ca, 'a PEM certificate file'],
      ['--tls-name', f.tlsName, 'a host name the certificate holds'],
      ['--file-mode', f.fileMode, 'octal digits, such as 644'],
      ['--dir-mode', f.dirMode, 'octal digits, such as 755'],
      ['--maintenance-url', f.maintenanceUrl, 'an http:// or https:// URL'],
      ['--encoding', f.encoding, 'utf8 or latin1'],
    ] as const
  ).find(([, value]) => value === '');
  if (empty) throw new ConfigError(`${empty[0]} "" is empty; give ${empty[2]}, or leave ${empty[0]} out`);
}

function maintenance(f: DeployFlags): DeployOptions['maintenance'] {
  if (f.maintenance === undefined) {
    if (f.maintenanceContent !== undefined)
      throw new ConfigError('--maintenance-content needs --maintenance PATH (the file it goes to)');
    return undefined;
  }
  return { path: f.maintenance, content: f.maintenanceContent };
}

/**
 * Another deploy holds the lock: what to run if that deploy is dead (killed on another machine: on this one its
 * lock is taken over at once), as the CLI has no flag to take a lock over: this command again once the lock
 * is stale, or curl to remove the lock now (it asks for the password: never in the command).
 */
function lockHelp(err: unknown, url: string, f: DeployFlags): string {
  if (!(err instanceof GuardError) || !err.lock) return '';
  let t: ReturnType<typeof parseTarget>;
  try {
    t = parseTarget(url);
  } catch {
    return '';
  }
  const q = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);
  const implicit = t.secure === 'implicit' || t.port === 990;
  const host = t.host.includes(':') ? `[${t.host}]` : t.host;
  // A certificate checked against --tls-name, not the host: curl checks the name of its URL's host, and is sent
  // to the real one with --connect-to (without, it refused the certificate, as for another name).
  const name = t.secure && !f.insecure && f.tlsName ? f.tlsName : undefined;
  const curl = [
    'curl',
    ...(t.secure === 'explicit' && !implicit ? ['--ssl-reqd'] : []),
    ...(t.secure && f.insecure ? ['--insecure'] : t.secure && f.ca ? ['--cacert', q(f.ca)] : []),
    ...(name ? ['--connect-to', q(`${name}:${t.port}:${host}:${t.port}`)] : []),
    '--user',
    q(t.user),
    q(`${implicit ? 'ftps' : 'ftp'}://${name ?? host}:${t.port}/`),
    '-Q',
    q(`DELE ${err.lock.holderPath}`),
    '-Q',
    q(`RMD ${err.lock.path}`),
  ].join(' ');
  // With a time, the engine's message says already when to run again (the lock is stale then, and taken over).
  const when = err.lock.staleAt ? '' : ' run this same command again in a few minutes, or';
  return `. If that deploy is dead (killed, its machine gone):${when} remove the lock now with ${curl} (it asks for the password)`;
}

/**
 * An engine message as the CLI prints it. It names an option by its CLI flag (ConfigError.about); one names it as
 * the library spells it (`statePath "a\nb" holds CR…`, worded with the URL's user and folder): here, the flag.
 * Advice worded for every way in at once ("CLI: ftpes://; Action: protocol ftps; library: secure 'explicit'"):
 * the CLI's part alone, as the Action and the gulp plugin give theirs.
 */
function asFlags(message: string): string {
  return message
    .replace(/^statePath (".*" holds CR, LF or NUL)/, '--state $1')
    .replace(/\((?:ftpship )?CLI: ([^;()]*); Action: [^()]*\)/g, '($1)')
    .replace(/; CLI: ([^,()]*), Action: [^,()]*, library: [^()]*\)/g, ': $1)')
    .replace(/\((ftpes:\/\/ or ftps:\/\/); Action: [^()]*\)/g, '($1)')
    .replace(/ \(Action: state-path; ([^()]*)\)/g, ' ($1)')
    .replace(/\(--active; deploy\(\) and gulp: active: true; FtpClient: passive: false\)/g, '(--active)')
    .replace(/\(leave out --active or active: true; FtpClient: passive: true\)/g, '(leave out --active)');
}

/**
 * A login refused as "anonymous" to a URL that names no user (`ftp://host/dir`): the user was never given, so
 * "check the user and password" points nowhere; where the user and the password go, instead.
 */
function noUserGiven(message: string, url: string): string {
  let shown: string;
  try {
    const u = new URL(url.trim());
    if (u.username !== '') return message;
    u.username = 'USER';
    u.password = '';
    shown = redactUrl(u.href);
  } catch {
    return message;
  }
  return message.replace(
    /^(login to .* as "anonymous" failed: .*); check the user and password$/s,
    (_all, head: string) =>
      `${head}; the URL names no user, so ftpship logged in as "anonymous": give the user in the URL ` +
      `(${shown}) and the password in FTPSHIP_PASSWORD or --password-stdin`,
  );
}

/** Names the --ca file where the engine speaks of "the CA given" (it has only the file's bytes). */
function withCaFile(message: string, flags: DeployFlags): string {
  return flags.ca === undefined
    ? message
    : message.replace(/\bthe CA given\b(?! \()/g, `the CA given (--ca ${JSON.stringify(flags.ca)})`);
}

/**
 * A count given as a flag; `example` is a sensible value to show. Any whole number goes on to the engine,
 * which checks the range and names it (`invalid --parallel 0; use a whole number from 1 to 64`).
 */
function num(flag: string, value: string | undefined, example: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  // One past what a number holds exactly (1e20) is still a whole number: the engine says its range.
  if (!/^-?\d+$/.test(value.trim()) || !Number.isInteger(n)) {
    throw new ConfigError(`${flag} ${JSON.stringify(value)} is not a whole number; e.g. ${flag} ${example}`);
  }
  return n;
}

/** A run stopped by a signal before its deploy began (while the CLI loaded, or read the password). */
function cancelledBeforeStart(signal: AbortSignal): CancelledError {
  return new CancelledError(`cancelled (${String(signal.reason)}): nothing was changed`);
}

async function readStdin(signal: AbortSignal): Promise<string> {
  if (process.stdin.isTTY)
    throw new ConfigError('--password-stdin needs the password piped in, e.g. echo "$PW" | ftpship deploy …');
  const chunks: Buffer[] = [];
  // A Ctrl-C while the pipe has not ended (the command feeding it still running) stops the wait.
  const reading = (async () => {
    for await (const c of process.stdin) chunks.push(c as Buffer);
  })();
  reading.catch(() => undefined); // raced below; cut short by a signal, its end is not awaited
  let onAbort = (): void => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(cancelledBeforeStart(signal));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([reading, aborted]);
  } catch (err) {
    process.stdin.destroy();
    throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  const text = Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
  if (!text) throw new ConfigError('--password-stdin read an empty password; pipe the password in');
  if (/[\r\n]/.test(text))
    throw new ConfigError(
      '--password-stdin read more than one line; pipe in the password alone, on one line (e.g. printf %s "$PW" |)',
    );
  return text;
}

/** The version in package.json (next to dist/ in the package, or the checkout when run from src/). */
function packageVersion(): string {
  for (const up of ['../../package.json', '../package.json']) {
    try {
      const pkg = JSON.parse(fs.readFileSync(new URL(up, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'ftpship' && pkg.version) return pkg.version;
    } catch {
      // try the next place
    }
  }
  return 'unknown';
}
