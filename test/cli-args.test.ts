/**
 * A local folder whose name starts with a dash (`-dist`) reads as options: the usage error says to give it
 * after `--` (it said only "unknown option '-d…'"), and after `--` it is the folder.
 */
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { assertBuilt, spawnCli } from './helpers/cli-spawn.js';
import { tmpDir } from './helpers/tmp.js';
import { unusedPort } from './helpers/ports.js';

describe('a local folder named -dist', () => {
  beforeAll(() => assertBuilt());

  it('without --: exit 2 saying to give it after --; after --: it is the folder deployed', async () => {
    const cwd = tmpDir('ftpship-h-cli3-');
    fs.mkdirSync(path.join(cwd, '-dist'));
    fs.writeFileSync(path.join(cwd, '-dist', 'index.html'), 'home');
    // A port nothing listens on: a deploy that gets as far as connecting fails there (exit 1).
    const port = await unusedPort();
    const url = `ftp://deploy@127.0.0.1:${port}/site`;
    const env = { FTPSHIP_PASSWORD: 'h-cli3-secret' };
    const r = await spawnCli(['deploy', '-dist', url], { cwd, env });
    expect({ code: r.code, stderr: r.stderr }).toEqual({
      code: 2,
      stderr: `error: unknown option '-d…'; "-dist" is a local path: give it after --, with the options before: ftpship deploy [options] -- -dist <url>\n`,
    });
    const plan = await spawnCli(['plan', '--json', '-dist', url], { cwd, env });
    expect(plan.code).toBe(2);
    expect(plan.stderr).toContain(
      'give it after --, with the options before: ftpship plan [options] -- -dist <url>',
    );
    const after = await spawnCli(['deploy', '--', '-dist', url], { cwd, env });
    expect({ code: after.code, stderr: after.stderr }).toEqual({
      code: 1,
      stderr: `ftpship: error: cannot connect to 127.0.0.1:${port}: connection refused; check the host and port\n`,
    });
  });
});

/**
 * A flag that takes one value given twice with two values (`--ca old.pem … --ca new.pem`): the last one was
 * taken, silently, the other dropped. Now exit 2 naming both; the same value twice is that value, and the
 * repeatable flags (--exclude, --keep, --tls-fingerprint) add up as before.
 */
describe('a single-value flag given twice', () => {
  let url: string;
  let local: string;
  const env = { FTPSHIP_PASSWORD: 'h-cli4-secret' };
  beforeAll(async () => {
    assertBuilt();
    local = tmpDir('ftpship-h-cli4-');
    fs.writeFileSync(path.join(local, 'index.html'), 'home');
    // A port nothing listens on: a run that gets as far as connecting fails there (exit 1).
    const port = await unusedPort();
    url = `ftp://deploy@127.0.0.1:${port}/site`;
  });

  it.each([
    ['--parallel', '2', '8'],
    ['--max-delete', '0', '10'],
    ['--state', 'a.json', 'b.json'],
    ['--file-mode', '644', '600'],
    ['--dir-mode', '755', '700'],
    ['--maintenance', '.m1', '.m2'],
    ['--tls-name', 'a.example', 'b.example'],
    ['--ca', 'old.pem', 'new.pem'],
    ['--timeout', '5000', '60000'],
    ['--retries', '1', '3'],
    ['--encoding', 'utf8', 'latin1'],
  ])('%s %s, then %s: exit 2 naming both (was: the last one, silently)', async (flag, a, b) => {
    const r = await spawnCli(['deploy', local, url, flag, a, '--json', flag, b], { env });
    expect(r.code).toBe(2);
    const message = `${flag} is given two different values, "${a}" and "${b}"; it takes one: give it once, with the value meant`;
    expect(r.stderr).toBe(`ftpship: error: ${message}\n`);
    expect(JSON.parse(r.stdout)).toEqual({ version: 1, dryRun: false, error: message, exitCode: 2 });
  });

  it('--maintenance-url and --maintenance-content: the values are not shown (a URL may hold a token)', async () => {
    const r = await spawnCli(
      [
        'plan',
        local,
        url,
        '--maintenance-url',
        'https://hooks.example/x?token=h-cli4-tok',
        '--maintenance-url',
        'https://hooks.example/y',
      ],
      { env },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'ftpship: error: --maintenance-url is given two different values (not shown: a URL may hold a token); it takes one: give it once, with the value meant\n',
    );
    const text = await spawnCli(
      ['plan', local, url, '--maintenance', '.m', '--maintenance-content', 'a', '--maintenance-content', 'b'],
      { env },
    );
    expect(text.code).toBe(2);
    expect(text.stderr).toMatch(
      /^ftpship: error: --maintenance-content is given two different values \(not shown/,
    );
  });

  it('the same value twice is that value; repeatable flags add up: the run goes on (to the closed port: exit 1)', async () => {
    const r = await spawnCli(
      [
        'deploy',
        local,
        url,
        ...['--parallel', '2', '--parallel', '2', '--state', 's.json', '--state', 's.json'],
        ...['--exclude', 'a', '--exclude', 'b', '--keep', 'k1', '--keep', 'k2'],
      ],
      { env },
    );
    expect(r.stderr).toMatch(/^ftpship: error: cannot connect to 127\.0\.0\.1:\d+: connection refused/);
    expect(r.code).toBe(1);
  });
});

/**
 * A flag's value left out (`--state --dry-run`, or `--state $S` with S unset): commander took the next
 * argument as the value, so the flag after it was lost and the run went on without it. `--state --dry-run`
 * deployed for real (the dry run lost) and moved the state to a file named "--dry-run"; `--maintenance --json`
 * put a maintenance file "--json" up. Now exit 2 naming both, before anything is sent; `--state=--dry-run`
 * still gives that text as the value.
 */
describe("a flag's value left out, an option after it", () => {
  let url: string;
  let local: string;
  const env = { FTPSHIP_PASSWORD: 'h-cli14-secret' };
  beforeAll(async () => {
    assertBuilt();
    local = tmpDir('ftpship-h-cli14-');
    fs.writeFileSync(path.join(local, 'index.html'), 'home');
    // A port nothing listens on: a run that gets as far as connecting fails there (exit 1).
    const port = await unusedPort();
    url = `ftp://deploy@127.0.0.1:${port}/site`;
  });

  it.each([
    ['deploy', '--state', '<path>', '--dry-run'],
    ['deploy', '--maintenance', '<path>', '--json'],
    ['plan', '--exclude', '<glob>', '--verbose'],
    ['deploy', '--parallel', '<n>', '--no-delete'],
    ['plan', '--ca', '<file>', '--insecure'],
  ])(
    '%s %s %s: exit 2 naming both, nothing sent (was: the run went on without %s)',
    async (command, flag, arg, next) => {
      const r = await spawnCli([command, local, url, flag, next], { env });
      const message = `option '${flag} ${arg}' has no value: "${next}" after it is an option, not a value; give the value after ${flag}, or write ${flag}=${next} if that is the value meant`;
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 2, stderr: `error: ${message}\n` });
      const json = await spawnCli([command, local, url, '--json', flag, next], { env });
      expect(json.code).toBe(2);
      expect(JSON.parse(json.stdout)).toEqual({
        version: 1,
        dryRun: command === 'plan' || next === '--dry-run',
        error: message,
        exitCode: 2,
      });
    },
  );

  it('--state=--dry-run is that value: the run goes on (to the closed port: exit 1)', async () => {
    const r = await spawnCli(['plan', local, url, '--state=--dry-run', '--exclude=--x'], { env });
    expect(r.stderr).toMatch(/^ftpship: error: cannot connect to 127\.0\.0\.1:\d+: connection refused/);
    expect(r.code).toBe(1);
  });
});

/**
 * A usage error is one line saying what to do: commander put "(Did you mean --parallel?)" on a second line,
 * and gave nothing after "unknown option '--bogus'", "argument missing" or "missing required argument".
 */
describe('usage errors: one line, with what to try', () => {
  it.each([
    [
      ['deploy', 'site', 'ftp://u@127.0.0.1:1/x', '--paralel', '3'],
      "unknown option '--paralel'; did you mean --parallel?",
    ],
    [
      ['deploy', 'site', 'ftp://u@127.0.0.1:1/x', '--bogus'],
      "unknown option '--bogus'; ftpship deploy --help lists the options",
    ],
    [['deploi', 'site', 'ftp://u@127.0.0.1:1/x'], "unknown command 'deploi'; did you mean deploy?"],
    [['frobnicate'], "unknown command 'frobnicate'; the commands are deploy, plan and demo"],
    [['demo', '--json'], "unknown option '--json'; ftpship demo --help lists the options"],
    // Was "too many arguments for 'demo'. Expected 0 arguments but got 2.": nothing on what to do. The
    // arguments are not shown: a URL may hold a password.
    [
      ['demo', 'dist', 'ftp://u:h-cli14-pw@127.0.0.1:1/x'],
      'ftpship demo takes no arguments (2 given): it deploys its own sample site to an embedded server; ' +
        'to deploy a folder: ftpship deploy [options] <local-dir> <url>',
    ],
    [['--bogus'], "unknown option '--bogus'; ftpship --help lists the options"],
    [
      ['plan', 'site', 'ftp://u@127.0.0.1:1/x', '--parallel'],
      "option '--parallel <n>' argument missing; give its value after it",
    ],
    [
      ['plan', 'site'],
      "missing required argument 'url'; give both: ftpship plan [options] <local-dir> <url>",
    ],
    [
      ['deploy', 'site', 'ftp://u@127.0.0.1:1/x', '--quiet', '--verbose'],
      "option '--quiet' cannot be used with option '--verbose'; give one of them",
    ],
  ])('%j: exit 2, one line', async (args, message) => {
    const r = await spawnCli(args, { env: { FTPSHIP_PASSWORD: 'h-cli14-secret' } });
    expect({ code: r.code, stderr: r.stderr, stdout: r.stdout }).toEqual({
      code: 2,
      stderr: `error: ${message}\n`,
      stdout: args.includes('--json') ? expect.stringContaining('"exitCode": 2') : '',
    });
    if (!['deploy', 'plan'].includes(args[0] ?? '')) return;
    // With --json, the same line as JSON on stdout.
    const json = await spawnCli([args[0] ?? '', '--json', ...args.slice(1)], {
      env: { FTPSHIP_PASSWORD: 'h-cli14-secret' },
    });
    expect(JSON.parse(json.stdout)).toEqual({
      version: 1,
      dryRun: args[0] === 'plan',
      error: message,
      exitCode: 2,
    });
  });
});

/** Flags other tools have for what ftpship reads from the URL: "unknown option" said nothing of where it goes. */
describe('--user, --port, --server-dir, --protocol', () => {
  it.each([
    [['--user', 'bob'], "unknown option '--user'; the user goes in the URL: ftp://USER@host/folder"],
    [['--port=2121'], "unknown option '--port=…'; the port goes in the URL: ftp://user@host:PORT/folder"],
    [
      ['--server-dir', 'www'],
      "unknown option '--server-dir'; the server folder is the URL's path: ftp://user@host/FOLDER (//FOLDER for an absolute one)",
    ],
    [
      ['--protocol', 'ftps'],
      "unknown option '--protocol'; TLS is the URL's scheme: ftpes:// (explicit TLS) or ftps:// (implicit TLS)",
    ],
  ])('%j: exit 2, saying where it goes in the URL', async (flags, message) => {
    const local = tmpDir('ftpship-h-cli4-');
    const r = await spawnCli(['deploy', local, 'ftp://deploy@127.0.0.1:1/site', ...flags], {
      env: { FTPSHIP_PASSWORD: 'h-cli4-secret' },
    });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 2, stderr: `error: ${message}\n` });
  });
});

/** Advice the engine words for every way in at once: the CLI prints its own part (was: the Action's too). */
describe("an error's advice for the CLI", () => {
  it('no password: FTPSHIP_PASSWORD or --password-stdin, without "Action: the password input"', async () => {
    const r = await spawnCli([
      'deploy',
      tmpDir('ftpship-h-cli4-'),
      'ftp://deploy@127.0.0.1:1/site',
      '--json',
    ]);
    const message = 'no password for user "deploy"; give one (FTPSHIP_PASSWORD or --password-stdin)';
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 2, stderr: `ftpship: error: ${message}\n` });
    expect(JSON.parse(r.stdout)).toMatchObject({ error: message, exitCode: 2 });
  });
});

/**
 * --encoding (the library's `encoding`): utf8 or latin1; another value is a usage error naming it and the two
 * (was: "unknown option '--encoding'"), and with latin1 what the URL or the password holds that latin1 cannot
 * send is refused before connecting. A closed port: a run that gets as far as connecting fails there (exit 1).
 */
describe('--encoding', () => {
  let url: string;
  let local: string;
  const env = { FTPSHIP_PASSWORD: 'h-enc6-secret' };
  beforeAll(async () => {
    assertBuilt();
    local = tmpDir('ftpship-h-enc6-');
    fs.writeFileSync(path.join(local, 'index.html'), 'home');
    const port = await unusedPort();
    url = `ftp://deploy@127.0.0.1:${port}`;
  });
  const accepted =
    "use 'utf8' (the default: UTF-8 names) or 'latin1' (a server that keeps names as ISO 8859-1 bytes)";

  it.each([
    [
      'cp1252',
      ` (ftpship has no "cp1252"; 'latin1' is the nearest, the same bytes but for € and the other characters cp1252 puts at 0x80-0x9F)`,
    ],
    ['UTF-8', " (did you mean 'utf8'?)"],
    ['iso-8859-1', " (did you mean 'latin1'?)"],
    ['ascii', ''],
  ])('--encoding %s: exit 2 naming the value and the accepted ones', async (value, hint) => {
    const r = await spawnCli(['deploy', local, `${url}/site`, '--encoding', value, '--json'], { env });
    const message = `invalid --encoding ${JSON.stringify(value)}; ${accepted}${hint}`;
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 2, stderr: `ftpship: error: ${message}\n` });
    expect(JSON.parse(r.stdout)).toMatchObject({ error: message, exitCode: 2 });
  });

  it('--encoding "": exit 2, not the default taken silently', async () => {
    const r = await spawnCli(['plan', local, `${url}/site`, '--encoding', ''], { env });
    expect({ code: r.code, stderr: r.stderr }).toEqual({
      code: 2,
      stderr: 'ftpship: error: --encoding "" is empty; give utf8 or latin1, or leave --encoding out\n',
    });
  });

  it('--encoding latin1 and utf8 are taken (the run goes on to the closed port: exit 1)', async () => {
    for (const value of ['latin1', 'utf8']) {
      const r = await spawnCli(['deploy', local, `${url}/café`, '--encoding', value], { env });
      expect(r.stderr).toMatch(/^ftpship: error: cannot connect to 127\.0\.0\.1:\d+: connection refused/);
      expect(r.code).toBe(1);
    }
  });

  it('with --encoding latin1, a server folder or password latin1 cannot send: exit 2 before connecting, the password not shown', async () => {
    const folder = await spawnCli(['deploy', local, `${url}/%E6%97%A5%E6%9C%AC`, '--encoding', 'latin1'], {
      env,
    });
    expect({ code: folder.code, stderr: folder.stderr }).toEqual({
      code: 2,
      stderr: `ftpship: error: the server folder "日本" holds "日" (U+65E5), which --encoding latin1 cannot send (only U+0000 to U+00FF): use a name in ISO 8859-1 characters, or the default encoding, utf8\n`,
    });
    const password = await spawnCli(['deploy', local, `${url}/site`, '--encoding', 'latin1'], {
      env: { FTPSHIP_PASSWORD: 'h-enc6-€uro' },
    });
    expect({ code: password.code, stderr: password.stderr }).toEqual({
      code: 2,
      stderr:
        'ftpship: error: the password holds a character that --encoding latin1 cannot send (only U+0000 to U+00FF); use the default encoding, utf8, or a password in ISO 8859-1 characters\n',
    });
  });
});

/**
 * --ca naming a file that holds no PEM certificate (a private key, a DER .cer export): the error said "the CA
 * given (tls.ca, --ca) holds no PEM certificate", not which file; now it names the file and how to convert a
 * DER one. Checked before connecting (exit 2), for ftpes:// and ftps:// alike.
 */
describe('--ca with a file that is no PEM certificate', () => {
  it.each(['key.pem', 'ca.der'])('%s: exit 2 naming the file, before connecting', async (name) => {
    assertBuilt();
    const dir = tmpDir('ftpship-h-ca-');
    const local = path.join(dir, 'site');
    fs.mkdirSync(local);
    fs.writeFileSync(path.join(local, 'index.html'), 'home');
    const file = path.join(dir, name);
    fs.writeFileSync(
      file,
      name === 'ca.der'
        ? Buffer.from([0x30, 0x82, 0x03, 0x0b, 0x30, 0x82, 0x01, 0xf3, 0xa0, 0x03, 0x02, 0x01, 0x02])
        : '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n',
    );
    // A port nothing listens on: had the run gone on to connect, it would fail there (exit 1).
    const port = await unusedPort();
    for (const scheme of ['ftpes', 'ftps']) {
      const r = await spawnCli(['deploy', local, `${scheme}://deploy@127.0.0.1:${port}/site`, '--ca', file], {
        env: { FTPSHIP_PASSWORD: 'h-ca-secret' },
      });
      expect({ code: r.code, stderr: r.stderr }).toEqual({
        code: 2,
        stderr:
          `ftpship: error: the CA file ${JSON.stringify(file)} (--ca) holds no PEM certificate that can be read ` +
          '(-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----); give the CA certificate in PEM form (a key, or a ' +
          `DER .cer file, is not it: \`openssl x509 -inform der -in ${JSON.stringify(file)} -out ca.pem\` converts a DER one)\n`,
      });
    }
  });
});

describe('an IPv6 address in the URL without its brackets', () => {
  beforeAll(() => assertBuilt());

  it.each([
    // Was: invalid port ":1:2121" — the address's colons were read as the port's.
    [
      'ftp://deploy@::1:2121/site',
      'the host in the URL "ftp://deploy@::1:2121/site" is an IPv6 address without the brackets a URL puts around one (its colons read as the port\'s); write ftp://deploy@[::1]:2121/site (port 2121), or ftp://deploy@[::1:2121]/site',
    ],
    [
      'ftp://deploy:h-v6-secret@2001:db8::5/site',
      'the host in the URL "ftp://deploy:***@2001:db8::5/site" is an IPv6 address without the brackets a URL puts around one (its colons read as the port\'s); write ftp://deploy:***@[2001:db8::5]/site',
    ],
    // Was: invalid port ":1".
    [
      'ftpes://deploy@[::1/site',
      'the host in the URL "ftpes://deploy@[::1/site" is an IPv6 address whose [ has no closing ]; write ftpes://deploy@[::1]/site',
    ],
  ])('%s: exit 2, saying how to write it', async (url, message) => {
    const local = tmpDir('ftpship-h-net14-');
    const r = await spawnCli(['deploy', local, url], { env: { FTPSHIP_PASSWORD: 'p' } });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 2, stderr: `ftpship: error: ${message}\n` });
  });
});
