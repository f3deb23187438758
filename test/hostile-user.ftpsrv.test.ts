/**
 * What a hostile-user session found in the CLI and the engine, each now a clear refusal before any change
 * (or a hint that names the fix): URLs whose `#…`, `?…` or `..` used to be dropped or resolved silently, a
 * state path naming a page of the site or climbing out of the target, a maintenance file that would replace
 * a file ftpship did not deploy, folder modes that lock the deploy out, a password with a line break, and the
 * messages for a target that is a file and for TLS on the wrong port. Server: ftp-srv in this process.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { deploy } from '../src/index.js';
import { runCli } from './helpers/cli.js';
import { spawnCli } from './helpers/cli-spawn.js';
import { deployOptions, useEmbedded } from './helpers/embedded.js';
import { snapshot, tmpDir, uniqueName, writeTree } from './helpers/tmp.js';

const server = useEmbedded();
const env = (): Record<string, string> => ({ FTPSHIP_PASSWORD: server().password });
const url = (dir: string): string => `ftp://${server().user}@127.0.0.1:${server().port}/${dir}`;
const disk = (dir: string): string => path.join(server().root, dir);

function site(): string {
  const local = tmpDir();
  writeTree(local, { 'index.html': 'home', 'about.html': 'about' });
  return local;
}

describe('target URLs', () => {
  it.each([
    ['a #fragment', (d: string) => `${url(d)}#staging`, /has a # in its path.*write # as %23/],
    ['a ?query', (d: string) => `${url(d)}?x=1`, /has a \? in its path.*\? as %3F/],
    ['.. segments', (d: string) => `${url(d)}/../../etc`, /climbs out with \.\./],
    ['%2e%2e', (d: string) => `${url(d)}/%2e%2e/x`, /climbs out with \.\./],
    [
      '%0A in the folder',
      (d: string) => `${url(d)}%0Ax`,
      /^ftpship: error: the folder in the URL "ftp:[^"]*%0Ax" holds CR, LF or NUL/,
    ],
    [
      '%00 in the user',
      (d: string) => url(d).replace('@', '%00@'),
      /^ftpship: error: the user "[^"]*\\u0000" in the URL holds CR, LF or NUL/,
    ],
    [
      'no host (ftp:///site)',
      (d: string) => `ftp:///${d}`,
      /^ftpship: error: no host in URL "ftp:\/\/\/url-[^"]*" \(a third slash/,
    ],
    [
      'a local path for the URL',
      () => './dist',
      /"\.\/dist" has no scheme; .* e\.g\. ftpes:\/\/user@ftp\.example\.com\/public_html$/m,
    ],
    ['port 70000', () => `ftp://${server().user}@127.0.0.1:70000/x`, /invalid port "70000".*1 to 65535/],
    ['port abc', () => `ftp://${server().user}@127.0.0.1:abc/x`, /invalid port "abc"/],
    // Before: "invalid port 0; use a whole number from 1 to 65535", without the URL (WHATWG URL takes port 0).
    [
      'port 0',
      () => `ftp://${server().user}@127.0.0.1:00/x`,
      /invalid port "0" in URL ".*:00\/x"; use a number from 1 to 65535/,
    ],
  ])('%s: exit 2 naming it, nothing deployed', async (_, make, message) => {
    const dir = uniqueName('url');
    const r = await runCli(['deploy', site(), make(dir)], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(fs.existsSync(disk(dir))).toBe(false);
  });

  it('a URL with a space or newline around it deploys; %23 is a # in a folder name', async () => {
    const dir = `${uniqueName('url')}%23b`;
    const r = await runCli(['deploy', site(), ` ${url(dir)}\n`], env());
    expect(r.code).toBe(0);
    expect(fs.readdirSync(disk(dir.replace('%23', '#')))).toContain('index.html');
  });

  it("a port problem in a URL holding a password is not shown (a ':' may be the password's)", async () => {
    const r = await runCli(['deploy', site(), 'ftp://u:se:cret@127.0.0.1:99999/x'], {});
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(/se:cret|cret/);
  });

  it('sftp:// gets a hint that keeps the user', async () => {
    const r = await runCli(['deploy', site(), 'sftp://bob@example.com/site'], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('use ftpes://bob@example.com/site');
  });
});

describe('passwords and counts', () => {
  it('a password with a line break inside: exit 2, saying so, never showing it', async () => {
    const r = await runCli(['deploy', site(), url(uniqueName('pw'))], {
      FTPSHIP_PASSWORD: 'top\nhidden-word',
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/the password holds a line break/);
    expect(r.stderr).not.toMatch(/top|hidden-word/);
  });

  it('--password-stdin with two lines: exit 2, one line about it', async () => {
    const r = await runCli(
      ['deploy', site(), url(uniqueName('pw')), '--password-stdin'],
      {},
      'first\nsecond\n',
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--password-stdin read more than one line/);
    expect(r.stderr).not.toMatch(/first|second/);
  });

  it('a password in the URL and another in FTPSHIP_PASSWORD: a warning says which is used', async () => {
    const dir = uniqueName('pw');
    const withUrl = `ftp://${server().user}:stale@127.0.0.1:${server().port}/${dir}`;
    const r = await runCli(['deploy', site(), withUrl], env());
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/FTPSHIP_PASSWORD is set too, and is the one used/);
    expect(r.stderr).not.toMatch(/stale/);
  });

  it('a password in the URL and another piped to --password-stdin: a warning says which is used', async () => {
    const dir = uniqueName('pw');
    const withUrl = `ftp://${server().user}:stale@127.0.0.1:${server().port}/${dir}`;
    const r = await runCli(['deploy', site(), withUrl, '--password-stdin'], {}, `${server().password}\n`);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /^warning: --password-stdin gives a password too, and is the one used: drop it to log in with the URL's password$/m,
    );
    expect(r.stderr).not.toMatch(/stale/);
  });

  it('an unquoted glob the shell expanded (--exclude *.map: a.map b.map c.map): exit 2 naming the extra names and to quote the glob', async () => {
    const dir = uniqueName('glob');
    const cwd = tmpDir();
    writeTree(cwd, { 'a.map': '', 'b.map': '', 'c.map': '' });
    const args = ['deploy', site(), url(dir), '--exclude', 'a.map', 'b.map', 'c.map'];
    const r = await spawnCli(args, { cwd, env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      `ftpship: error: unexpected arguments "b.map" "c.map" after the URL; quote a glob given to an option (--exclude '*.map'), or the shell replaces it with the names it matches`,
    ]);
    expect(fs.existsSync(disk(dir))).toBe(false);
    // Not local names (--password-stdin "$PW", which takes no value): not shown, in case of a password.
    const pw = await spawnCli(['deploy', site(), url(dir), '--password-stdin', 'Secret-Pw-1'], {
      cwd,
      input: `${server().password}\n`,
    });
    expect(pw.code).toBe(2);
    expect(pw.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^ftpship: error: 1 unexpected argument after the URL \(not shown, in case of a password: the password comes from FTPSHIP_PASSWORD or --password-stdin, which takes no value\); quote a glob/,
      ),
    ]);
    expect(fs.existsSync(disk(dir))).toBe(false);
  });

  it.each([
    ['--password=Secret-Pw-2'],
    ['--password-stdin=Secret-Pw-2'],
    ['--pasword=Secret-Pw-2'],
    ['-pSecret-Pw-2'],
  ])(
    'an unknown option holding a value (%s): exit 2, the value not shown, where the password goes',
    async (option) => {
      const r = await runCli(['deploy', site(), url(uniqueName('opt')), option], {});
      expect(r.code).toBe(2);
      expect(r.stderr).not.toContain('Secret');
      expect(r.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(
          /^error: unknown option '-[-a-z]*(=)?…'; the password comes from FTPSHIP_PASSWORD or --password-stdin \(piped in: echo "\$PW" \| ftpship …\)$/,
        ),
      ]);
    },
  );

  it('a number past what a double holds exactly (99999999999999999999): its range, not "not a whole number"', async () => {
    const r = await runCli(['deploy', site(), url('x'), '--max-delete', '99999999999999999999'], env());
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(
      'ftpship: error: invalid --max-delete 100000000000000000000; use a whole number from 0 to 9007199254740991',
    );
    const p = await runCli(['deploy', site(), url('x'), '--parallel', '-99999999999999999999'], env());
    expect(p.code).toBe(2);
    expect(p.stderr.trim()).toBe(
      'ftpship: error: invalid --parallel -100000000000000000000; use a whole number from 1 to 64',
    );
  });

  it('the URL and the local folder the other way round: exit 2 saying so (was: "./dist" has no scheme, e.g. ftpes://./dist)', async () => {
    const withPw = `ftp://${server().user}:Secret-Pw-4@127.0.0.1:${server().port}/x`;
    const local = site();
    const r = await runCli(['deploy', withPw, local], {});
    expect(r.code).toBe(2);
    expect(r.stderr).not.toContain('Secret');
    expect(r.stderr.trim()).toBe(
      `ftpship: error: the URL comes second: the local folder first, then the URL (here ${JSON.stringify(local)} after the URL ftp://${server().user}:***@127.0.0.1:${server().port}/x)`,
    );
    // Not a local path (a password typed after the URL?): not shown.
    const pw = await runCli(['deploy', url('x'), 'Secret-Pw-5'], {});
    expect(pw.code).toBe(2);
    expect(pw.stderr).not.toContain('Secret');
    expect(pw.stderr).toMatch(
      /the URL comes second: the local folder first, then the URL \(here an argument after the URL/,
    );
  });

  it('the URL given first, without a command (ftpship ftp://u:pw@host/x ./dist): exit 2, the password not shown', async () => {
    const r = await runCli([`ftp://${server().user}:Secret-Pw-3@127.0.0.1:${server().port}/x`, site()], {});
    expect(r.code).toBe(2);
    expect(r.stderr).not.toContain('Secret');
    expect(r.stderr.trim().split('\n')[0]).toBe(
      `error: unknown command 'ftp://${server().user}:***@127.0.0.1:${server().port}/x'; the command comes first: ftpship deploy <local-dir> <url> (or ftpship plan …)`,
    );
  });

  it.each([['S3cr3t!pass'], ['hunter2'], ['p@ssw0rd'], ['pa:ss/word'], ['a:b@c'], ['two words']])(
    'a password where the URL goes (ftpship deploy ./dist "$PW", %s): exit 2 with the expected form, the value not shown (was: echoed whole)',
    async (pw) => {
      const r = await runCli(['deploy', site(), pw], {});
      expect(r.code).toBe(2);
      expect(r.stderr.trim()).toBe(
        'ftpship: error: the second argument is not an ftp://, ftpes:// or ftps:// URL (not shown: it may be a password); ' +
          'give the server as a URL, e.g. ftpes://user@ftp.example.com/public_html, and the password in FTPSHIP_PASSWORD or through --password-stdin',
      );
    },
  );

  it('--timeout -1: the range it must be in; --parallel abc: not a number, with an example that works', async () => {
    const r = await runCli(['deploy', site(), url('x'), '--timeout', '-1'], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'invalid --timeout -1; use a whole number of milliseconds from 100 to 3600000',
    );
    // Seconds meant: the unit, and what to write (was "use a whole number from 100 to 3600000", no unit).
    const s = await runCli(['deploy', site(), url('x'), '--timeout', '30'], env());
    expect(s.code).toBe(2);
    expect(s.stderr).toContain(
      'invalid --timeout 30; use a whole number of milliseconds from 100 to 3600000 (30000 is 30 s); 30 is 30 ms: for 30 s write 30000',
    );
    // The same range whether the number is too small or negative (was: "0 or more", which 0 is not).
    const p = await runCli(['deploy', site(), url('x'), '--parallel', '-2'], env());
    expect(p.code).toBe(2);
    expect(p.stderr).toContain('invalid --parallel -2; use a whole number from 1 to 64');
    const a = await runCli(['deploy', site(), url('x'), '--parallel', 'abc'], env());
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('--parallel "abc" is not a whole number; e.g. --parallel 4');
  });

  it.each([['--ca'], ['--tls-name'], ['--file-mode'], ['--dir-mode']])(
    '%s "" (an unset variable in a script): exit 2 naming the flag, nothing deployed (it was ignored)',
    async (flag) => {
      const dir = uniqueName('empty');
      const r = await runCli(['deploy', site(), url(dir), flag, ''], env());
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(new RegExp(`^ftpship: error: ${flag} "" is empty; give `)),
      ]);
      expect(fs.existsSync(disk(dir))).toBe(false);
    },
  );

  it.each([['555'], ['0644'], ['000']])(
    '--dir-mode %s (owner cannot write or enter): exit 2 before any change',
    async (mode) => {
      const dir = uniqueName('mode');
      const r = await runCli(['deploy', site(), url(dir), '--dir-mode', mode], env());
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/could not be deployed to again; use e\.g\. 755/);
      expect(fs.existsSync(disk(dir))).toBe(false);
    },
  );
});

describe('the state path', () => {
  it('naming a page of the site: exit 2, the page left alone (a copy of a state there is only a warning: deploy.ftpsrv)', async () => {
    const local = site();
    const dir = uniqueName('state');
    await deploy(deployOptions(server(), local, dir));
    const before = snapshot(disk(dir));
    const r = await runCli(['deploy', local, url(dir), '--state', 'about.html'], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /the state path \/.*\/about\.html is the local file about\.html, which the state would replace/,
    );
    expect(snapshot(disk(dir))).toEqual(before);
  });

  it('naming a page of the site only on the server: the unreadable-state message says to point --state elsewhere', async () => {
    const local = site();
    const dir = uniqueName('state');
    await deploy(deployOptions(server(), local, dir));
    fs.writeFileSync(path.join(disk(dir), 'extra.html'), '<h1>not ours</h1>');
    const err = (await deploy(deployOptions(server(), local, dir, { statePath: 'extra.html' })).catch(
      (e: unknown) => e,
    )) as Error;
    expect(err.message).toMatch(
      /extra\.html is not JSON .*so ftpship did not write it.*If it is a file of the site, give --state another path/,
    );
  });

  it.each([
    ['read with the login', {}],
    ['read on its own (no pipelining)', { pipelining: false }],
  ])(
    'a file over 64 MiB at the state path (%s): one message naming it and what to try, nothing changed',
    async (_how, extra) => {
      const local = site();
      const dir = uniqueName('state');
      await deploy(deployOptions(server(), local, dir));
      const big = path.join(disk(dir), 'big.bin');
      fs.writeFileSync(big, Buffer.alloc(64 * 1024 * 1024 + 1));
      const before = snapshot(disk(dir));
      const warnings: string[] = [];
      const err = (await deploy(deployOptions(server(), local, dir, { statePath: 'big.bin', ...extra }), {
        warn: (m) => warnings.push(m),
      }).catch((e: unknown) => e)) as Error & { exitCode?: number };
      // Was, read with the login: "big.bin is larger than 67108864 bytes", with no advice.
      expect(err.message).toMatch(
        /big\.bin is larger than 67108864 bytes: not a file ftpship wrote there; check the path \(--state\), or remove it and rerun with --reset-state/,
      );
      expect(err.exitCode).toBe(1);
      // Was: read again first ("retrying (1/5)"): a size over the limit is no passing failure.
      expect(warnings).toEqual([]);
      expect(snapshot(disk(dir))).toEqual(before);
      fs.rmSync(big);
    },
  );

  it('a relative state path climbing out of the target (../private/state.json) shared by two targets: the second is refused (exit 3)', async () => {
    const base = uniqueName('state');
    const one = site();
    await deploy(deployOptions(server(), one, `${base}/t1`, { statePath: '../private/state.json' }));
    const two = tmpDir();
    writeTree(two, { 'other.html': 'other site' });
    const before = snapshot(disk(base));
    const err = (await deploy(
      deployOptions(server(), two, `${base}/t2`, { statePath: '../private/state.json' }),
    ).catch((e: unknown) => e)) as Error & { exitCode?: number };
    expect(err.exitCode).toBe(3);
    expect(err.message).toMatch(new RegExp(`records deploys to /${base}/t1, not to /${base}/t2`));
    expect(snapshot(disk(base))).toEqual(before);
  });
});

describe('a state path naming a folder (the target, a folder above it)', () => {
  it('--state with a line break: exit 2 naming --state (was: the library option statePath)', async () => {
    const r = await runCli(['deploy', site(), url(uniqueName('statecr')), '--state', 'a\nb.json'], env());
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('ftpship: error: --state "a\\nb.json" holds CR, LF or NUL; remove them');
  });

  it.each([['.'], ['..'], ['../t'], ['sub/..'], ['../..']])(
    '--state %s: exit 2 naming it before any change (the state was written over the target or above it)',
    async (statePath) => {
      const local = site();
      const base = uniqueName('statedir');
      await deploy(deployOptions(server(), local, `${base}/t`));
      writeTree(local, { 'index.html': 'home, changed' });
      const before = snapshot(server().root);
      const r = await runCli(['deploy', local, url(`${base}/t`), '--state', statePath], env());
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(
          new RegExp(
            `^ftpship: error: the state path ${JSON.stringify(statePath).replace(/\./g, '\\.')} names the folder /.* \\(the target folder or one above it\\), not a file; give --state a file name, such as \\.ftpship-state\\.json`,
          ),
        ),
      ]);
      expect(snapshot(server().root)).toEqual(before);
    },
  );

  it.each([[[]], [['--reset-state']]])(
    '--state naming a folder beside the target (../private) %j: exit 2 saying it is a folder, nothing changed',
    async (extra) => {
      const base = uniqueName('statedir');
      writeTree(disk(base), { 'private/notes.txt': 'not the state' });
      const before = snapshot(disk(base));
      const r = await runCli(['deploy', site(), url(`${base}/t`), '--state', '../private', ...extra], env());
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toEqual([
        `ftpship: error: the state path /${base}/private is a folder on the server, not a file; give --state a file name, such as /${base}/private/.ftpship-state.json`,
      ]);
      expect(snapshot(disk(base))).toEqual(before);
    },
  );
});

describe('the maintenance file', () => {
  it('already on the server and not put there by ftpship: refused (exit 3), that file kept; matching --keep: exit 2', async () => {
    const local = site();
    const dir = uniqueName('mnt');
    await deploy(deployOptions(server(), local, dir));
    fs.writeFileSync(path.join(disk(dir), '.htaccess'), 'Deny from all');
    fs.writeFileSync(path.join(local, 'index.html'), 'home, changed');
    const before = snapshot(disk(dir));
    const err = (await deploy(
      deployOptions(server(), local, dir, { maintenance: { path: '.htaccess' } }),
    ).catch((e: unknown) => e)) as Error & { exitCode?: number };
    expect(err.exitCode).toBe(3);
    expect(err.message).toMatch(
      /the maintenance file \.htaccess is already on the server .* ftpship did not put it there/,
    );
    expect(snapshot(disk(dir))).toEqual(before);
    const kept = await runCli(
      ['deploy', local, url(dir), '--maintenance', '.htaccess', '--keep', '.htaccess'],
      env(),
    );
    expect(kept.code).toBe(2);
    expect(kept.stderr).toMatch(/matches --keep, yet it is deleted after the deploy/);
    expect(snapshot(disk(dir))).toEqual(before);
  });
});

describe('the maintenance file of a deploy running now', () => {
  it('on the server with the lock held: says another deploy holds the lock, not that it is a leftover', async () => {
    const local = site();
    const dir = uniqueName('mnt');
    await deploy(deployOptions(server(), local, dir));
    writeTree(disk(dir), { '.maintenance': 'up', '.ftpship-state.json.lock/holder.json': '{}' });
    const err = (await deploy(
      deployOptions(server(), local, dir, { maintenance: { path: '.maintenance' } }),
    ).catch((e: unknown) => e)) as Error & { exitCode?: number };
    expect(err.exitCode).toBe(3);
    expect(err.message).toMatch(/another deploy holds the lock .*it is most likely that deploy's/);
  });
});

describe('messages', () => {
  it('a target that is a file on the server: says a file is there', async () => {
    const dir = uniqueName('file');
    fs.writeFileSync(disk(dir), 'a file, not a folder');
    const r = await runCli(['deploy', site(), url(`${dir}/site`)], env());
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(`cannot create folder /${dir} on the server: a file of that name is there`),
    );
  });

  it('ftps:// (implicit TLS) to a port that greets in plain FTP: says to use ftpes://', async () => {
    const r = await runCli(['deploy', site(), `ftps://${server().user}@127.0.0.1:${server().port}/x`], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /does not speak TLS from the first byte .* Use explicit TLS on this port, usually 21 \(ftpes:\/\/\)$/m,
    );
  });

  const silent = net.createServer(() => undefined); // accepts, never greets: what implicit TLS does to FTP
  afterAll(() => {
    silent.close();
  });
  it('ftpes:// to a port that stays silent (implicit TLS): the timeout says to try ftps://; an IPv6 host in brackets', async () => {
    await new Promise<void>((resolve) => silent.listen(0, '::1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    const r = await runCli(
      ['deploy', site(), `ftpes://u@[::1]:${port}/x`, '--timeout', '300', '--retries', '0'],
      {
        FTPSHIP_PASSWORD: 'pw',
      },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(`no answer from \\[::1\\]:${port}: .*use implicit TLS there: ftps://\\)`),
    );
  });
});

describe('odd but meant', () => {
  it("a server folder ~/site is the login folder's site (FTP servers do not expand ~)", async () => {
    const dir = uniqueName('tilde');
    await deploy(deployOptions(server(), site(), `~/${dir}`));
    expect(fs.readdirSync(disk(dir))).toContain('index.html');
    expect(fs.existsSync(path.join(server().root, '~'))).toBe(false);
  });

  it('a server folder with a backslash: a warning that FTP paths use /', async () => {
    const warnings: string[] = [];
    await deploy(
      { ...deployOptions(server(), site(), `${uniqueName('bs')}\\site`), dryRun: true },
      {
        warn: (m) => warnings.push(m),
      },
    );
    expect(warnings.join('\n')).toMatch(/holds a backslash, .* FTP paths use \//);
  });

  it('an empty local folder onto a fresh target: a warning to check the build output', async () => {
    const warnings: string[] = [];
    const r = await deploy(deployOptions(server(), tmpDir(), uniqueName('empty')), {
      warn: (m) => warnings.push(m),
    });
    expect(r.counts.upload).toBe(0);
    expect(warnings.join('\n')).toMatch(/has no file to publish: check the build output and --exclude/);
  });

  it('an exclude glob "! *.map" (a space after !): exit 2, naming the glob meant', async () => {
    const r = await runCli(['plan', site(), url('x'), '--exclude', '! *.map'], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('write "!*.map"');
  });
});

describe('TLS options without TLS', () => {
  it('--insecure or --ca with ftp://: a warning that they do nothing and the password goes in clear', async () => {
    const ca = path.join(tmpDir(), 'ca.pem');
    fs.writeFileSync(ca, 'unused');
    for (const flags of [['--insecure'], ['--ca', ca]]) {
      const r = await runCli(['plan', site(), url(uniqueName('notls')), ...flags], env());
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(
        new RegExp(`${flags[0]} has no effect with ftp://: the connection is not encrypted`),
      );
    }
  });
});

describe('--ca with --insecure', () => {
  it('a warning that the CA is not used (no certificate is checked), naming the file', async () => {
    const ca = path.join(tmpDir(), 'ca.pem');
    fs.writeFileSync(ca, 'unused');
    const r = await runCli(
      ['plan', site(), url(uniqueName('insecure-ca')).replace(/^ftp:/, 'ftpes:'), '--insecure', '--ca', ca],
      env(),
    );
    expect(r.stderr).toContain(`--ca ${ca} is not used: --insecure checks no certificate`);
  });
});

describe('--no-pipelining', () => {
  it('sends every command alone, batches included (a level of MKDs, the commit), and still deploys', async () => {
    const local = site();
    writeTree(local, { 'a/x.txt': 'x', 'b/y.txt': 'y', 'c/z.txt': 'z' });
    const dir = uniqueName('nopipe');
    await deploy(deployOptions(server(), local, dir));
    writeTree(local, { 'index.html': 'home, changed', 'd/w.txt': 'w', 'e/v.txt': 'v' });
    const r = await runCli(['deploy', local, url(dir), '--no-pipelining', '--verbose'], env());
    expect(r.code).toBe(0);
    // Per connection, a command is never followed by another before a reply.
    const byConnection = new Map<string, string[]>();
    for (const line of r.stderr.split('\n')) {
      const m = /^\[(\d+)\] ([<>]) /.exec(line);
      if (m) byConnection.set(m[1], [...(byConnection.get(m[1]) ?? []), m[2]]);
    }
    expect(byConnection.size).toBeGreaterThan(0);
    for (const dirs of byConnection.values()) expect(dirs.join('')).not.toContain('>>');
    expect(fs.readFileSync(path.join(disk(dir), 'index.html'), 'utf8')).toBe('home, changed');
  });
});
