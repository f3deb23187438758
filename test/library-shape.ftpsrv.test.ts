/**
 * deploy() from JavaScript: options of the wrong name or type are a ConfigError naming them before any
 * connection (a typo `dryrun` ran a real deploy; `delete: 'false'` deleted orphans), and a reporter that
 * throws cannot crash the process or fail the deploy. Server: ftp-srv in this process.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { CancelledError, ConfigError, deploy, type DeployOptions } from '../src/index.js';
import { deployOptions, useEmbedded } from './helpers/embedded.js';
import { readTree, sha256, tmpDir, uniqueName, writeTree } from './helpers/tmp.js';

const server = useEmbedded();

function site(): string {
  const local = tmpDir();
  writeTree(local, { 'index.html': 'home' });
  return local;
}

async function refusal(options: unknown): Promise<Error> {
  const err = await deploy(options as DeployOptions).then(
    () => new Error('the deploy went ahead'),
    (e: unknown) => e as Error,
  );
  expect(err).toBeInstanceOf(ConfigError);
  return err;
}

describe('options of the wrong name or type: ConfigError naming them, nothing on the server', () => {
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['a misspelt dryRun', { dryrun: true }, /unknown option dryrun; did you mean dryRun\?/],
    // Was "invalid max-delete -1": neither the flag nor the option.
    ['maxDelete: -1', { maxDelete: -1 }, /^invalid --max-delete -1; use a whole number from 0 to /],
    // Was a DeployError (exit 1, "run it again"): the DNS says the name does not exist (.invalid never does).
    [
      'a host that does not exist',
      { host: 'no-such-host.invalid' },
      /^host "no-such-host\.invalid" not found; check the server name$/,
    ],
    ['a name from another tool', { server: 'x' }, /unknown option server; did you mean host\?/],
    [
      'two unknown names',
      { paralel: 2, foo: 1 },
      /unknown options paralel \(did you mean parallel\?\) and foo; the options are /,
    ],
    [
      'delete: "false"',
      { delete: 'false' },
      /invalid delete "false"; use true or false \(a string such as "false" would count as true\)/,
    ],
    ['dryRun: "false"', { dryRun: 'false' }, /invalid dryRun "false"; use true or false/],
    ['replaceDefaultExcludes: 1', { replaceDefaultExcludes: 1 }, /invalid replaceDefaultExcludes 1/],
    ['remoteDir: 42', { remoteDir: 42 }, /invalid remoteDir 42; give it as a string/],
    ['statePath: 7', { statePath: 7 }, /invalid statePath 7; give it as a string/],
    ['tls: "yes"', { tls: 'yes' }, /invalid tls "yes"; give an object/],
    [
      'tls.ca not PEM',
      { secure: 'explicit', tls: { ca: 'not a pem' } },
      /holds no PEM certificate that can be read/,
    ],
    // Each was taken: a misspelt or unknown tls key was ignored, 'false' or 0 still verified, 5 was no CA at all.
    [
      'tls.rejectUnauthorised (misspelt)',
      { secure: 'explicit', tls: { rejectUnauthorised: false } },
      /^unknown option tls\.rejectUnauthorised; did you mean tls\.rejectUnauthorized\?$/,
    ],
    [
      'tls.rejectUnauthorized: "false"',
      { secure: 'explicit', tls: { rejectUnauthorized: 'false' } },
      /^invalid tls\.rejectUnauthorized "false"; use true or false/,
    ],
    ['tls.ca: 5', { tls: { ca: 5 } }, /^invalid tls\.ca 5; give the CA certificate's PEM text/],
    // An infinite or negative stale time took over any deploy's lock at once: two deploys on one target.
    [
      'staleLockMs: -1',
      { staleLockMs: -1 },
      /^invalid staleLockMs -1; use a whole number of milliseconds from 1000 to 604800000/,
    ],
    ['retryDelayMs: "500"', { retryDelayMs: '500' }, /^invalid retryDelayMs "500"; use a whole number/],
    [
      'timeoutMs: Infinity',
      { timeoutMs: Infinity },
      /invalid --timeout Infinity; use a whole number of milliseconds from 100 to 3600000/,
    ],
    // Was "use a whole number from 100 to 3600000", naming no unit: 30 meant as seconds looked in range.
    [
      'timeoutMs: 30 (seconds meant)',
      { timeoutMs: 30 },
      /^invalid --timeout 30; use a whole number of milliseconds from 100 to 3600000 \(30000 is 30 s\); 30 is 30 ms: for 30 s write 30000$/,
    ],
    ['timeoutMs: NaN', { timeoutMs: NaN }, /invalid --timeout NaN/],
    // Each went to the server as written: 'host not found; check the server name' (exit 1), and 'cannot connect
    // to …: USER: 500' for an empty user (a CI secret that is not set reads as '').
    [
      'host with a port',
      { host: '127.0.0.1:2121' },
      /^invalid host "127\.0\.0\.1:2121"; give the port apart \(port: 2121\) and the host alone \(127\.0\.0\.1\)$/,
    ],
    [
      'host with a user',
      { host: 'deploy:pw@127.0.0.1' },
      /^invalid host: it holds a user and a password before 127\.0\.0\.1; give the server name alone \(host: '127\.0\.0\.1'\), the user name in user and the password in password$/,
    ],
    // Went ahead, into folders named `ftp:` and the host on the server.
    [
      'remoteDir a URL (its user and password not shown)',
      { remoteDir: 'ftp://deploy:secret@127.0.0.1/site/' },
      /^invalid remoteDir "ftp:\/\/…\/site\/": a URL, where the folder on the server goes; give the folder alone \(remoteDir: 'site\/'\), and the host, port and secure apart$/,
    ],
    [
      'remoteDir a URL whose password holds a slash',
      { remoteDir: 'ftp://deploy:se/cret@127.0.0.1/site/' },
      /^invalid remoteDir "ftp:\/\/…\/site\/": a URL/,
    ],
    ['user: ""', { user: '' }, /^invalid user "": give the user name to log in as .*or leave user out/],
    // Named the CLI's and the Action's ways to give it, not the option a deploy() caller has.
    [
      'a user and no password',
      { password: undefined },
      /^no password for user "[^"]+"; give one \(ftpship CLI: FTPSHIP_PASSWORD or --password-stdin; Action: the password input; library: the password option\)$/,
    ],
    // The CLI's --maintenance takes a path: a gulpfile's maintenance: '.maintenance' was told "invalid maintenance
    // file undefined; give a file path … such as .maintenance", naming neither the value nor the shape.
    [
      "maintenance: '.maintenance' (a path, not { path })",
      { maintenance: '.maintenance' },
      /^invalid maintenance "\.maintenance"; give an object: maintenance: \{ path: '\.maintenance', content \}/,
    ],
    [
      'maintenance: { path: 7 }',
      { maintenance: { path: 7 } },
      /^invalid --maintenance 7; give a file path relative to the server folder, such as \.maintenance/,
    ],
  ];
  it.each(cases)('%s', async (_, extra, message) => {
    const dir = uniqueName('shape');
    const err = await refusal({ ...deployOptions(server(), site(), dir), ...extra });
    expect(err.message).toMatch(message);
    expect(fs.existsSync(path.join(server().root, dir))).toBe(false);
  });

  it.each([
    ['files: {}', {}],
    ['files: "a.txt"', 'a.txt'],
    ['an entry without a path', [{ contents: Buffer.from('x') }]],
    ['an entry with a string for contents', [{ path: 'u.txt', contents: 'héllo' }]],
    [
      'an entry with both contents and file',
      [{ path: 'u.txt', contents: Buffer.from('x'), file: '/etc/hostname' }],
    ],
    ['a null entry', [null]],
  ])('%s', async (_, files) => {
    const dir = uniqueName('shape');
    const err = await refusal({ ...deployOptions(server(), '', dir), localDir: undefined, files });
    expect(err.message).toMatch(/files must be a list|invalid entry in files/);
    expect(fs.existsSync(path.join(server().root, dir))).toBe(false);
  });

  it('a password that is not a string is never shown (a digits-only one read from JSON is a number)', async () => {
    const err = await refusal({ ...deployOptions(server(), site(), 'x'), password: 87654321 });
    expect(err.message).toBe('invalid password (number); give it as a string');
  });

  it('a large value in a message is cut short (a Buffer by its size)', async () => {
    const err = await refusal({
      ...deployOptions(server(), '', 'x'),
      localDir: undefined,
      files: [{ contents: Buffer.alloc(5_000_000) }],
    });
    expect(err.message.length).toBeLessThan(300);
    expect(err.message).toContain('<Buffer 5000000 bytes>');
  });

  it.each([
    ['in memory (as the gulp plugin gives them)', { path: 'extra.txt', contents: Buffer.from('extra') }],
    ['on disk', { path: 'extra.txt', file: '/etc/hostname' }],
  ])(
    'localDir and files both given, files %s: a ConfigError naming both and which to keep',
    async (_, extra) => {
      // Went ahead with the files alone, the folder not read (a deploy after one of the folder deleted its files).
      const local = site();
      const dir = uniqueName('both');
      const err = await refusal({ ...deployOptions(server(), local, dir), files: [extra] });
      expect(err.message).toBe(
        `localDir (${JSON.stringify(local)}) and files are both given, but files replaces the folder, which would not be read: ` +
          'keep localDir alone to publish the folder, or files alone to publish exactly the files listed ' +
          "(to publish the folder's files and more, list them all in files)",
      );
      expect(fs.existsSync(path.join(server().root, dir))).toBe(false);
    },
  );

  it('no options object at all', async () => {
    expect((await refusal(null)).message).toMatch(/deploy\(\) needs an options object/);
  });
});

describe('a reporter that throws', () => {
  it.each([['protocol'], ['debug'], ['warn'], ['progress']])(
    '%s(): the deploy completes, and the report says the reporter failed',
    async (key) => {
      const local = site();
      writeTree(local, { 'b.txt': 'b' });
      fs.symlinkSync('/nowhere', path.join(local, 'link')); // a warning to report
      const dir = uniqueName('rep');
      const reporter = {
        [key]: () => {
          throw new Error(`${key} broke`);
        },
      };
      const r = await deploy(deployOptions(server(), local, dir), reporter);
      expect(readTree(path.join(server().root, dir), ['.ftpship-state.json'])).toEqual(
        readTree(local, ['link']),
      );
      expect(r.warnings).toContain(`the reporter's ${key}() threw: ${key} broke`);
    },
  );
});

describe('signal: an AbortSignal cancels the deploy', () => {
  it('aborted mid-run: no new transfer starts, CancelledError, the state honest and the lock released; the rerun finishes', async () => {
    const local = tmpDir();
    const files: Record<string, string> = {};
    for (let i = 0; i < 200; i++) files[`d${i % 10}/f${i}.txt`] = `file ${i}`;
    writeTree(local, files);
    const dir = `/${uniqueName()}`;
    const controller = new AbortController();
    const stored: string[] = [];
    const err = await deploy(
      { ...deployOptions(server(), local, dir, { parallel: 2 }), signal: controller.signal },
      {
        protocol: (line) => {
          if (!line.startsWith('> STOR ') || line.includes('.ftpship-state')) return;
          stored.push(line);
          if (stored.length === 5) controller.abort('stop');
        },
      },
    ).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(CancelledError);
    expect(err?.message).toMatch(/^deploy cancelled \(stop\): .*rerun to finish/);
    // Only the transfers already asked for (one per connection, each with the next queued) went out.
    expect(stored.length).toBeLessThanOrEqual(5 + 4);
    const disk = path.join(server().root, dir);
    expect(fs.existsSync(path.join(disk, '.ftpship-state.json.lock'))).toBe(false);
    const state = JSON.parse(fs.readFileSync(path.join(disk, '.ftpship-state.json'), 'utf8')) as {
      files: Record<string, { sha256: string }>;
    };
    for (const [p, f] of Object.entries(state.files))
      expect(sha256(fs.readFileSync(path.join(disk, p)))).toBe(f.sha256);
    const rerun = await deploy(deployOptions(server(), local, dir));
    expect(rerun.counts.unchanged).toBe(Object.keys(state.files).length);
    expect(readTree(disk, ['.ftpship-state.json'])).toEqual(readTree(local));
  });

  it('a file the cancelled run was about to write (never its own), excluded on the rerun, is left as it was', async () => {
    const local = tmpDir();
    const files: Record<string, string> = { 'uploads/cms.jpg': 'local copy' };
    for (let i = 0; i < 40; i++) files[`f${i}.txt`] = `file ${i}`;
    writeTree(local, files);
    const dir = `/${uniqueName()}`;
    const disk = path.join(server().root, dir);
    writeTree(disk, { 'uploads/cms.jpg': 'CMS ORIGINAL' }); // on the server only, written by the site's CMS
    const controller = new AbortController();
    let stored = 0;
    const err = await deploy(
      { ...deployOptions(server(), local, dir, { parallel: 1 }), signal: controller.signal },
      {
        protocol: (line) => {
          if (line.startsWith('> STOR ') && !line.includes('.ftpship-state') && ++stored === 1)
            controller.abort('stop');
        },
      },
    ).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(CancelledError);
    expect(fs.readFileSync(path.join(disk, 'uploads/cms.jpg'), 'utf8')).toBe('CMS ORIGINAL');
    fs.rmSync(path.join(local, 'uploads'), { recursive: true });
    const plan = await deploy(deployOptions(server(), local, dir, { dryRun: true, exclude: ['uploads/'] }));
    expect(plan.files.filter((f) => f.path.startsWith('uploads'))).toEqual([]);
    await deploy(deployOptions(server(), local, dir, { exclude: ['uploads/'] }));
    expect(fs.readFileSync(path.join(disk, 'uploads/cms.jpg'), 'utf8')).toBe('CMS ORIGINAL');
    expect(readTree(disk, ['.ftpship-state.json', 'uploads/cms.jpg'])).toEqual(readTree(local));
  });

  it('aborted before the start: CancelledError, and nothing on the server', async () => {
    const dir = `/${uniqueName()}`;
    const controller = new AbortController();
    controller.abort();
    const err = await deploy({ ...deployOptions(server(), site(), dir), signal: controller.signal }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(CancelledError);
    expect(fs.existsSync(path.join(server().root, dir))).toBe(false);
  });

  /** A deploy under a signal aborted before it starts (with `reason`, or none): its rejection. */
  const abortedDeploy = async (reason?: unknown): Promise<Error | undefined> => {
    const controller = new AbortController();
    controller.abort(reason); // undefined: as abort(), an AbortError
    return deploy({
      ...deployOptions(server(), site(), `/${uniqueName()}`),
      signal: controller.signal,
    }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
  };

  // An Error as the reason (AbortSignal.timeout()'s TimeoutError, abort(new Error('build failed'))) was dropped:
  // "cancelled: nothing was changed", saying neither why nor keeping it as the cause.
  it.each([
    ["abort(new Error('build failed'))", new Error('build failed'), 'build failed'],
    [
      "AbortSignal.timeout()'s reason",
      new DOMException('The operation was aborted due to timeout', 'TimeoutError'),
      'The operation was aborted due to timeout',
    ],
  ])('aborted with %s: the message says why, and the reason is the cause', async (_, reason, why) => {
    const err = await abortedDeploy(reason);
    expect(err).toBeInstanceOf(CancelledError);
    expect(err?.message).toBe(`cancelled (${why}): nothing was changed`);
    expect(err?.cause).toBe(reason);
  });

  it('aborted with no reason (abort()): no reason shown', async () => {
    const err = await abortedDeploy();
    expect(err?.message).toBe('cancelled: nothing was changed');
  });

  it('a signal that is not an AbortSignal is a ConfigError naming it', async () => {
    const err = await refusal({ ...deployOptions(server(), site(), `/${uniqueName()}`), signal: 'SIGINT' });
    expect(err.message).toMatch(/invalid signal "SIGINT"; give an AbortSignal/);
  });
});
