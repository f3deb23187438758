/**
 * Unusual file and folder names on real servers, through the CLI; each checks the server's folder on disk
 * against the local tree, byte for byte. Folders named like glob patterns are listed without LIST globbing
 * them (vsftpd); names a server stores otherwise are refused instead of recorded (pure-ftpd turns a tab into
 * `_`), and a name a server refuses gets the --exclude that leaves exactly it out; local files named like
 * ftpship's own temps are never written over or removed as leftovers. Names with shell, URL, glob and
 * listing characters, leading dashes, dots and spaces, and of 255 bytes go up, are replaced and deleted as they are.
 * Skipped, with a message, only when test/servers/.env.json is absent.
 */
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { expect, it } from '@jest/globals';
import { deploy, FtpReplyError } from '../src/index.js';
import { tempPathFor } from '../src/engine/plan.js';
import { outcome, plainClient, realServerSuite, remoteFolders } from './helpers/real-servers.js';
import { cliOn, errors, ok, type CliResult } from './helpers/cli.js';
import { readTree, tmpDir, uniqueName, writeTree } from './helpers/tmp.js';

const { describe: d, env, opts } = realServerSuite('names.realservers');
const target = remoteFolders('names');
const STATE = '.ftpship-state.json';

/** The files the state on the server lists. */
const recorded = (disk: string): string[] =>
  Object.keys(
    (JSON.parse(fs.readFileSync(path.join(disk, STATE), 'utf8')) as { files: Record<string, unknown> }).files,
  );

/** The CLI against `server` in plain FTP, its folder `dir`. */
const cli = cliOn;

d('folders named like glob patterns (vsftpd: LIST only, and LIST globs)', () => {
  it('--verify sees a folder named *, ?, [x] or {x,y} removed by hand, though its parent holds a file of that name and size', async () => {
    const server = env.vsftpd;
    const local = tmpDir();
    const globbed = ['*', '?', '[x]', '{x,y}'];
    writeTree(local, {
      'g/x.txt': 'same',
      'g/x/x.txt': 'same',
      'g/y/x.txt': 'same',
      ...Object.fromEntries(globbed.map((n) => [`g/${n}/x.txt`, 'same'])),
    });
    const { dir, disk } = target(server);
    ok(await cli(server, 'deploy', local, dir));
    expect(readTree(disk, [STATE])).toEqual(readTree(local));

    for (const n of globbed) fs.rmSync(path.join(disk, 'g', n), { recursive: true });
    const r = await cli(server, 'deploy', local, dir, '--verify');
    ok(r);
    // Before: `LIST -a /…/g/*` of the missing folder listed g itself, whose x.txt passed for g/*/x.txt.
    for (const n of globbed) expect(r.stderr).toContain(`drift: g/${n}/x.txt is missing on the server`);
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
  });

  it('the client lists such a folder, not its parent, refuses one that is not there, and stays in its folder', async () => {
    const server = env.vsftpd;
    const { dir, disk } = target(server);
    const c = await plainClient(server);
    try {
      await c.mkd(dir);
      await c.mkd(`${dir}/*`);
      await c.upload(`${dir}/parent.txt`, Buffer.from('p'));
      await c.upload(`${dir}/*/inside.txt`, Buffer.from('i'));
      await c.cwd(dir);
      expect((await c.list(`${dir}/*`)).map((e) => e.name)).toEqual(['inside.txt']);
      expect(await c.nlst(`${dir}/*`)).toEqual(['inside.txt']);
      expect(await c.pwd()).toBe(dir);

      fs.rmSync(path.join(disk, '*'), { recursive: true });
      // Before: both answered with the parent's entries (parent.txt), as if they were the folder's.
      await expect(c.list(`${dir}/*`)).rejects.toBeInstanceOf(FtpReplyError);
      await expect(c.nlst(`${dir}/*`)).rejects.toBeInstanceOf(FtpReplyError);
      expect(await c.pwd()).toBe(dir);
      expect((await c.list(dir)).map((e) => e.name)).toEqual(['parent.txt']);
    } finally {
      await c.quit();
    }
  });
});

d('names the server stores otherwise (pure-ftpd: a control character becomes _)', () => {
  it('a tab in a file or folder name fails the deploy naming the path and the --exclude that leaves it out; nothing is recorded under the name', async () => {
    const server = env.pure;
    const local = tmpDir();
    writeTree(local, { 'ok.txt': 'ok', 'tab\there.txt': 'tab' });
    const { dir, disk } = target(server);
    const r = await cli(server, 'deploy', local, dir);
    // Before: exit 0, "tab_here.txt" on the server and "tab\there.txt" in the state.
    expect(r.code).toBe(1);
    // Then (tested after its upload) ok.txt and tab_here.txt were on the server; now nothing is sent.
    expect(errors(r)).toEqual([
      `ftpship: error: the server did not keep the file name "${dir}/tab\\there.txt" when tested: a file whose name held a control character was stored under another name (pure-ftpd turns a control character such as a tab into "_"; some servers drop a double quote); nothing was sent under it; rename it locally or leave it out with --exclude $'/tab\\there\\\\.txt'`,
    ]);
    expect(fs.readdirSync(disk).sort()).toEqual([STATE]);
    const state = JSON.parse(fs.readFileSync(path.join(disk, STATE), 'utf8')) as {
      files: Record<string, unknown>;
    };
    expect(Object.keys(state.files)).not.toContain('tab\there.txt');

    // The option the message gives, as bash reads $'…', leaves exactly that file out.
    ok(await cli(server, 'deploy', local, dir, '--exclude', '/tab\there\\.txt'));
    fs.rmSync(path.join(local, 'tab\there.txt'));
    expect(readTree(disk, [STATE])).toEqual(readTree(local));

    writeTree(local, { 'dir\twith tab/x.txt': 'x' });
    const r2 = await cli(server, 'deploy', local, dir);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain(`the server did not keep the folder name "${dir}/dir\\twith tab"`);
    expect(fs.readdirSync(disk).sort()).toEqual([STATE, `${STATE}.bak`, 'ok.txt']);
  });
});

d('a file name ending in a space: pure-ftpd would store it as name_', () => {
  const refused = (dir: string, rel: string, kind = 'file'): string =>
    `ftpship: error: the server did not keep the ${kind} name "${dir}/${rel}" when tested: a file whose name ended in a space was stored under another name (pure-ftpd turns a trailing space into "_"; Windows servers drop trailing spaces and dots), where it would land on a file or folder of that name; nothing was sent under it; rename it locally or leave it out with --exclude '/${rel.replace(/\./g, '\\.')}'`;
  const leftovers = (disk: string): string[] =>
    fs
      .readdirSync(disk, { recursive: true, encoding: 'utf8' })
      .filter((n) => n.includes('ftpship-name-test'));

  it('the error names the file and its --exclude; nothing is sent, so no copy is left under the name the server would give it', async () => {
    const server = env.pure;
    const local = tmpDir();
    writeTree(local, { 'ok.txt': 'ok', 'note.txt ': 'a note' });
    const { dir, disk } = target(server);
    const r = await cli(server, 'deploy', local, dir);
    expect(r.code).toBe(1);
    expect(errors(r)).toEqual([refused(dir, 'note.txt ')]);
    // Before: a copy "note.txt_" left on the server, which no later deploy removes; then (tested only at
    // its upload) ok.txt went up and the state recorded it: refused now before any file of the site is sent.
    expect(fs.readdirSync(disk).sort()).toEqual([STATE]);
    expect(recorded(disk)).toEqual([]);
    ok(await cli(server, 'deploy', local, dir, '--exclude', '/note\\.txt '));
    fs.rmSync(path.join(local, 'note.txt '));
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
  });

  it("the site's own note.txt_ (deployed before) is not overwritten by note.txt  added later; the state stays true", async () => {
    const server = env.pure;
    const local = tmpDir();
    writeTree(local, { 'note.txt_': 'the underscore file', 'sub/page_': 'page' });
    const { dir, disk } = target(server);
    ok(await cli(server, 'deploy', local, dir));
    writeTree(local, { 'note.txt ': 'the space file, longer', 'sub/page ': 'the other page' });
    const r = await cli(server, 'deploy', local, dir);
    expect(r.code).toBe(1);
    expect(errors(r)).toHaveLength(1);
    expect(errors(r)[0]).toMatch(
      /^ftpship: error: the server did not keep the file name ".*(note\.txt |page )"/,
    );
    // Before: "note.txt_" held the other file's bytes while the state still listed its own (G4), for good.
    expect(fs.readFileSync(path.join(disk, 'note.txt_'), 'utf8')).toBe('the underscore file');
    expect(fs.readFileSync(path.join(disk, 'sub', 'page_'), 'utf8')).toBe('page');
    expect(leftovers(disk)).toEqual([]);
    const verify = await cli(server, 'deploy', local, dir, '--verify', '--exclude', '* ', '--json');
    ok(verify);
    expect((JSON.parse(verify.stdout) as { files: unknown[] }).files).toEqual([]);
  });
});

d('a folder name ending in a space: pure-ftpd would make it name_', () => {
  it('each run says so, naming the folder and its --exclude, and makes no folder', async () => {
    const server = env.pure;
    const local = tmpDir();
    writeTree(local, { 'ok.txt': 'ok', 'notes /a.txt': 'a' });
    const { dir, disk } = target(server);
    const expected = [
      `ftpship: error: the server did not keep the folder name "${dir}/notes " when tested: a file whose name ended in a space was stored under another name (pure-ftpd turns a trailing space into "_"; Windows servers drop trailing spaces and dots), where it would land on a file or folder of that name; nothing was sent under it; rename it locally or leave it out with --exclude '/notes '`,
    ];
    for (let run = 0; run < 2; run++) {
      const r = await cli(server, 'deploy', local, dir);
      expect(r.code).toBe(1);
      expect(errors(r)).toEqual(expected);
      // Before: a folder "notes_" made on the server, which no later deploy removes; then (tested only at
      // its MKD) ok.txt went up: refused now before any file or folder of the site is written.
      expect(fs.readdirSync(disk).sort()).toEqual([STATE]);
      expect(recorded(disk)).toEqual([]);
    }
    ok(await cli(server, 'deploy', local, dir, '--exclude', '/notes '));
    fs.rmSync(path.join(local, 'notes '), { recursive: true });
    expect(fs.readdirSync(disk).sort()).toEqual([STATE, `${STATE}.bak`, 'ok.txt']);
  });
});

d('a server folder with a space at the end of a name (a typo): pure-ftpd would make it name_', () => {
  it('is refused (exit 2) naming the folder and the one meant, before anything is created', async () => {
    const server = env.pure;
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a' });
    const name = uniqueName('h-audit-space');
    const made = () => fs.readdirSync(server.home).filter((n) => n.startsWith(name));
    try {
      const r = await cli(server, 'deploy', local, `/${name}%20/in`);
      // Before: exit 1, "cannot create folder /<name> /in … 550", and a folder "<name>_" left on the server.
      expect(r.code).toBe(2);
      expect(r.stderr.split('\n').filter((l) => l !== '')).toEqual([
        `ftpship: error: the server folder "${name} /in" has a name that starts or ends with a space ("${name} "), ` +
          `which FTP servers keep, change or refuse, each their own way; remove the space ("${name}/in")`,
      ]);
      expect(made()).toEqual([]);
    } finally {
      for (const n of made()) fs.rmSync(path.join(server.home, n), { recursive: true, force: true });
    }
  });
});

d('a server folder with a tab in its name (%09 in the URL): pure-ftpd would make it name_x', () => {
  it('is refused (exit 2) naming the folder and the character, before anything is created', async () => {
    const server = env.pure;
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a' });
    const name = uniqueName('h-names-tab');
    const made = () => fs.readdirSync(server.home).filter((n) => n.startsWith(name));
    try {
      const r = await cli(server, 'deploy', local, `/${name}%09x/in`);
      // Before: exit 0, the files in "<name>_x/in" on the server, the report naming "<name>%09x/in".
      expect(r.code).toBe(2);
      expect(r.stderr.split('\n').filter((l) => l !== '')).toEqual([
        `ftpship: error: the server folder "${name}\\tx/in" holds a control character ("\\t", U+0009), ` +
          'which FTP servers keep, change or refuse, each their own way; remove it',
      ]);
      expect(made()).toEqual([]);
    } finally {
      for (const n of made()) fs.rmSync(path.join(server.home, n), { recursive: true, force: true });
    }
  });
});

d('names a server refuses (pure-ftpd: 553 to a backslash)', () => {
  it('the error names the file and the --exclude that leaves exactly it out', async () => {
    const server = env.pure;
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'a', 'b.txt': 'b', 'back\\slash.txt': 'x' });
    const { dir, disk } = target(server);
    const r = await cli(server, 'deploy', local, dir);
    expect(r.code).toBe(1);
    // Before: "upload back\\slash.txt failed: 553 Prohibited file name …", a.txt and b.txt sent by then.
    expect(errors(r)).toEqual([
      expect.stringMatching(
        /^ftpship: error: the server refused the file name ".*\/back\\slash\.txt" when tested: a file whose name held a backslash was refused \(553 Prohibited file name: .*\/ftpship-name-test-[0-9a-f]{12}\\_; pure-ftpd refuses any name with a backslash, and Windows servers read it as a folder separator\); nothing was sent; rename it locally or leave it out with --exclude '\/back\\\\slash\\\.txt'$/,
      ),
    ]);
    expect(fs.readdirSync(disk)).toEqual([STATE]);
    ok(await cli(server, 'deploy', local, dir, '--exclude', '/back\\\\slash\\.txt'));
    fs.rmSync(path.join(local, 'back\\slash.txt'));
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
  });
});

d('a name longer than 255 bytes (every real server: its file system refuses it)', () => {
  it('the error says how long the name is and what servers take, naming the file and its --exclude (vsftpd)', async () => {
    const server = env.vsftpd;
    const { dir } = target(server);
    // 200 characters, 404 bytes: a name macOS keeps (255 UTF-16 units), which a Linux file system cannot.
    const long = `${'é'.repeat(200)}.txt`;
    const files = [
      { path: 'ok.txt', contents: Buffer.from('ok') },
      { path: long, contents: Buffer.from('long') },
    ];
    const err = await outcome(deploy({ ...opts(server, '', dir), localDir: undefined, files }));
    // Before: "553 Could not create file. (check the path, …; if the server does not allow this name, …)".
    expect(err?.message).toBe(
      `upload ${long} failed: 553 Could not create file. (check the path, the name and the user's permissions on the server folder ${dir}; its name is 404 bytes long (UTF-8), and most servers' file systems take at most 255 bytes a name; if the server does not allow this name, rename it locally or leave it out with --exclude '/${'é'.repeat(200)}\\.txt')`,
    );
  });

  it('a folder of such a name: the error says how long it is (vsftpd answers only "Create directory operation failed"); renamed, the next run converges', async () => {
    const server = env.vsftpd;
    const { dir, disk } = target(server);
    // 200 characters, 400 bytes: a folder name macOS keeps, deep in the site, after a folder that is made.
    const long = 'é'.repeat(200);
    const at = (folder: string): Array<{ path: string; contents: Buffer }> => [
      { path: 'index.html', contents: Buffer.from('home') },
      { path: 'a/b/ok.txt', contents: Buffer.from('ok') },
      { path: `a/b/${folder}/d/e.txt`, contents: Buffer.from('deep') },
    ];
    const err = await outcome(deploy({ ...opts(server, '', dir), localDir: undefined, files: at(long) }));
    // Before: "…: 550 Create directory operation failed.. Check that the user may write there …", no word on
    // the name's length.
    expect(err?.message).toBe(
      `cannot create folder ${dir}/a/b/${long} on the server: 550 Create directory operation failed. Check that the user may write there and that the folder deployed to is right (CLI: the URL's path; Action: server-dir; library and gulp: remoteDir). Its name is 400 bytes long (UTF-8), and most servers' file systems take at most 255 bytes a name. If the server refuses the name itself, rename the local folder "a/b/${long}" or leave it out with --exclude '/a/b/${long}'.`,
    );
    await deploy({ ...opts(server, '', dir), localDir: undefined, files: at('short') });
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home', 'a/b/ok.txt': 'ok', 'a/b/short/d/e.txt': 'deep' });
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
    expect(recorded(disk).sort()).toEqual(['a/b/ok.txt', 'a/b/short/d/e.txt', 'index.html']);
    expect(
      (await deploy({ ...opts(server, '', dir), localDir: undefined, files: at('short') })).files,
    ).toEqual([]);
  });
});

d('folder names a server refuses (proftpd: 550 to MKD of a name with *)', () => {
  it('refused before any change, the error naming the folder and the --exclude that leaves exactly it out, not every neighbour', async () => {
    const server = env.proftpd;
    const local = tmpDir();
    writeTree(local, { 'g/a.txt': 'a', 'g/*/x.txt': 'x' });
    const { dir, disk } = target(server);
    const r = await cli(server, 'deploy', local, dir);
    expect(r.code).toBe(1);
    // Before: "cannot create folder …/g/* on the server: 550 …", g/a.txt sent by then.
    expect(errors(r)).toEqual([
      expect.stringMatching(
        /^ftpship: error: the server refused the folder name ".*\/g\/\*" when tested: a folder whose name held "\*" was refused \(550 .*\/ftpship-name-test-[0-9a-f]{12}\*: Invalid directory name; proftpd refuses "\*" in folder names\); nothing was sent; rename it locally or leave it out with --exclude '\/g\/\\\*'$/,
      ),
    ]);
    expect(fs.readdirSync(disk)).toEqual([STATE]);
    ok(await cli(server, 'deploy', local, dir, '--exclude', '/g/\\*'));
    fs.rmSync(path.join(local, 'g', '*'), { recursive: true });
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
  });
});

d('local files named like ftpship temps', () => {
  it('a leftover temp of a cut run that is now a local file is uploaded and kept, not removed as a leftover (proftpd)', async () => {
    const server = env.proftpd;
    const local = tmpDir();
    const names = Array.from({ length: 40 }, (_, i) => `g/f${String(i).padStart(2, '0')}.txt`);
    writeTree(local, Object.fromEntries(names.map((n) => [n, `v1 ${n}`])));
    const { dir, disk } = target(server);
    ok(await cli(server, 'deploy', local, dir));

    // A run cut after it recorded its temps: every file changed (replaced through a temp), and a folder
    // proftpd refuses to make (MKD of a name with `*`: 550, found by the name test) fails it.
    writeTree(local, { ...Object.fromEntries(names.map((n) => [n, `v2 ${n}`])), 'g/*/x.txt': 'x' });
    const cut = await cli(server, 'deploy', local, dir);
    expect(cut.code).toBe(1);
    expect(cut.stderr).toContain(`the server refused the folder name "${dir}/g/*" when tested`);
    const state = JSON.parse(fs.readFileSync(path.join(disk, STATE), 'utf8')) as {
      pending: { temps: Record<string, unknown> };
    };
    const temps = Object.keys(state.pending.temps);
    expect(temps).toHaveLength(40);

    // The site as it was, plus a file with the last temp's name (a copy of the server taken then).
    fs.rmSync(path.join(local, 'g', '*'), { recursive: true });
    writeTree(local, {
      ...Object.fromEntries(names.map((n) => [n, `v1 ${n}`])),
      [temps[39]]: 'a file of the site',
    });
    ok(await cli(server, 'deploy', local, dir, '--parallel', '2'));
    // Before: uploaded, then deleted with the other leftover temps; the state listed it all the same.
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
  });

  it('a local file named as the temp of a changed file is not written over and renamed away (vsftpd)', async () => {
    const server = env.vsftpd;
    const local = tmpDir();
    const sha = crypto.createHash('sha256').update('v2').digest('hex');
    const temp = tempPathFor({ path: 'g/page.html', sha256: sha });
    writeTree(local, { 'g/page.html': 'v1', [temp]: 'a file of the site' });
    const { dir, disk } = target(server);
    ok(await cli(server, 'deploy', local, dir));
    writeTree(local, { 'g/page.html': 'v2' });
    ok(await cli(server, 'deploy', local, dir));
    // Before: page.html went up as that temp, over the file, then was renamed: the file was gone.
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
  });
});

d('names another tool stored in latin1, not UTF-8 (the listing has bytes that are not UTF-8)', () => {
  const latin1Target = remoteFolders('h-field-latin1');
  it.each(['pure', 'vsftpd', 'proftpd'] as const)(
    '%s: a first deploy beside one, a deployed folder holding one, and --verify: each one clear warning, the file left alone',
    async (key) => {
      const server = env[key];
      const local = tmpDir();
      writeTree(local, { 'index.html': 'home', 'old/a.txt': 'a', 'café.txt': 'utf-8' });
      const { dir, disk } = latin1Target(server);
      fs.mkdirSync(disk);
      fs.chownSync(disk, server.uid, server.gid);
      const latin1 = (folder: string): Buffer => Buffer.from(`${disk}/${folder}caf\xe9.txt`, 'latin1');
      fs.writeFileSync(latin1(''), 'theirs');
      const warnings = (r: CliResult): string[] =>
        r.stderr.split('\n').filter((l) => l.startsWith('warning:'));

      const first = await cli(server, 'deploy', local, dir);
      ok(first);
      // The byte that is not UTF-8 as \xe9 (was `caf\uFFFD.txt`, the same as any other such name).
      expect(warnings(first).join('\n')).toContain(`${dir} already holds caf\\xe9.txt`);

      fs.writeFileSync(latin1('old/'), 'theirs too');
      fs.rmSync(path.join(local, 'old'), { recursive: true });
      const second = await cli(server, 'deploy', local, dir);
      ok(second);
      expect(warnings(second)).toEqual([
        expect.stringMatching(/^warning: kept folder old: 550 .*remove it by hand if it should go$/),
      ]);

      const verify = await cli(server, 'deploy', local, dir, '--verify', '--json');
      ok(verify);
      expect((JSON.parse(verify.stdout) as { files: unknown[] }).files).toEqual([]);
      expect(fs.readFileSync(latin1(''), 'utf8')).toBe('theirs');
      expect(fs.readFileSync(latin1('old/'), 'utf8')).toBe('theirs too');
      expect(readTree(disk, [STATE, 'caf\uFFFD.txt', 'old'])).toEqual(readTree(local));
    },
  );
});

d(
  'folders named like LIST options or globs, NFD (macOS) and long paths: deploy, --verify, removed by hand',
  () => {
    const oddTarget = remoteFolders('h-field-odd');
    it.each(['pure', 'vsftpd', 'proftpd'] as const)(
      '%s: --verify sees nothing wrong, then sees each removed file, and the rerun is a no-op',
      async (key) => {
        const server = env[key];
        const local = tmpDir();
        const long = `${'L'.repeat(240)}/${'M'.repeat(240)}/z.txt`;
        // proftpd refuses a folder named * ("Invalid directory name", one clear error: not here).
        const globs = key === 'proftpd' ? [] : ['*/s.txt', 'a*/b.txt'];
        const names = [
          '-la/t.txt',
          '-R/y.txt',
          '[ab]/c.txt',
          'q?/d.txt',
          'sp ace/ x.txt',
          '#h/%41.txt',
          long,
          ...globs,
        ];
        writeTree(local, Object.fromEntries(names.map((n) => [n, n])));
        writeTree(local, { ['café'.normalize('NFD') + '/x.txt']: 'nfd' });
        const { dir, disk } = oddTarget(server);
        ok(await cli(server, 'deploy', local, dir));
        expect(fs.readdirSync(disk)).toContain('café'.normalize('NFC')); // the spec: paths become NFC
        const files = async (...args: string[]): Promise<string[]> => {
          const r = await cli(server, 'deploy', local, dir, '--json', ...args);
          ok(r);
          return (JSON.parse(r.stdout) as { files: { path: string }[] }).files.map((f) => f.path).sort();
        };
        expect(await files('--verify')).toEqual([]);
        const all = [...names, 'café/x.txt'];
        for (const n of all) fs.rmSync(path.join(disk, n));
        expect(await files('--verify')).toEqual([...all].sort());
        expect(await files()).toEqual([]);
        expect(readTree(disk, [STATE])).toEqual(
          Object.fromEntries(Object.entries(readTree(local)).map(([p, c]) => [p.normalize('NFC'), c])),
        );
      },
    );
  },
);

d('globs typed in NFD (tab-completed on macOS): matched as the NFC paths they name', () => {
  it('--keep of a folder written decomposed keeps it, and --exclude written decomposed leaves its file out (vsftpd)', async () => {
    const server = env.vsftpd;
    const local = tmpDir();
    writeTree(local, { 'index.html': 'home', 'médias/a.txt': 'kept', 'brouillé.txt': 'not sent' });
    const { dir, disk } = target(server);
    ok(await cli(server, 'deploy', local, dir, '--exclude', 'brouillé.txt'));
    fs.rmSync(path.join(local, 'médias'), { recursive: true });
    const r = await cli(
      server,
      'deploy',
      local,
      dir,
      '--keep',
      'médias/'.normalize('NFD'),
      '--exclude',
      'brouillé.txt'.normalize('NFD'),
    );
    ok(r);
    // Before: the keep matched nothing (paths are NFC): médias/a.txt was deleted, and brouillé.txt sent.
    const expected = tmpDir();
    writeTree(expected, { 'index.html': 'home', 'médias/a.txt': 'kept' });
    expect(readTree(disk, [STATE])).toEqual(readTree(expected));
  });
});

d('names with shell, URL, glob and listing characters, leading dashes, dots and spaces, 255 bytes', () => {
  const oddTarget = remoteFolders('h-names-odd');
  const names = [
    '#h.txt',
    '%41.txt',
    '%.txt',
    'q?.txt',
    '*',
    '[b].txt',
    '{a,b}',
    '}.txt',
    "it's.txt",
    'say "hi".txt',
    '$HOME`x`',
    '-rf',
    '--',
    '..x',
    '.dot',
    'trailing.',
    ' lead.txt',
    'a  b.txt',
    'x -> y',
    'a;b=c; d',
    'nb\u00a0sp.txt',
    'emoji\u{1F600}',
    `${'n'.repeat(251)}.txt`, // 255 bytes
    `${'\u00e9'.repeat(127)}x`, // 255 bytes in UTF-8
    'g#%/-l/ f.txt',
    'g#%/d./x.txt',
    "g#%/'q'/x -> y",
  ];
  it.each(['pure', 'vsftpd', 'proftpd'] as const)(
    '%s: each under its exact name and bytes, replaced through temps, a rerun sends nothing, deleting half removes exactly those',
    async (key) => {
      const server = env[key];
      const local = tmpDir();
      const { dir, disk } = oddTarget(server);
      const put = (v: string, list: string[]) =>
        writeTree(local, Object.fromEntries(list.map((n) => [n, `${v} ${n}`])));
      const files = async (...args: string[]): Promise<string[]> => {
        const r = await cli(server, 'deploy', local, dir, '--json', ...args);
        ok(r);
        return (JSON.parse(r.stdout) as { files: { path: string }[] }).files.map((f) => f.path);
      };
      put('v1', names);
      await files();
      expect(readTree(disk, [STATE])).toEqual(readTree(local));
      put('v2, longer', names); // each replaced through a temp, renamed over it
      expect((await files()).sort()).toEqual([...names].sort());
      expect(readTree(disk, [STATE])).toEqual(readTree(local));
      expect(await files()).toEqual([]);
      expect(await files('--verify')).toEqual([]);
      const gone = names.filter((_, i) => i % 2 === 0);
      for (const n of gone) fs.rmSync(path.join(local, n));
      await files();
      expect(readTree(disk, [STATE])).toEqual(readTree(local));
      expect(await files()).toEqual([]);
    },
  );
});

d('a path near the longest command servers take (4094 bytes)', () => {
  it('deployed, then its replacement (longer through the temporary name) refused before any change, naming --no-atomic, which sends it (vsftpd)', async () => {
    const server = env.vsftpd;
    const { dir, disk } = target(server);
    // The server path is 4064 bytes: "STOR <path>" fits; "STOR <folder>/.ftpship-<20 hex>.tmp" is 5 bytes over.
    const top = 'z'.repeat(240);
    let rest = 4064 - `${dir}/${top}/`.length - 'f.t'.length;
    const parts: string[] = [];
    while (rest > 0) {
      const n = Math.min(240, rest - 1);
      parts.push('d'.repeat(n));
      rest -= n + 1;
    }
    const rel = [...parts, 'f.t'].join('/');
    expect(`${dir}/${top}/${rel}`.length).toBe(4064);
    const local = tmpDir();
    writeTree(local, { [rel]: 'v1' });
    ok(await cli(server, 'deploy', local, `${dir}/${top}`));
    const onDisk = path.join(disk, top, rel);
    expect(fs.readFileSync(onDisk, 'utf8')).toBe('v1');

    writeTree(local, { [rel]: 'v2' });
    const r = await cli(server, 'deploy', local, `${dir}/${top}`);
    // Before: exit 1 when its turn came, "refusing to send a STOR command of 4096 bytes … shorten the path or name".
    expect(r.code).toBe(2);
    expect(errors(r)).toEqual([
      expect.stringMatching(
        /^ftpship: error: the local path "d+\/.*\/f\.t" is too long for FTP once replaced through its temporary name "\.ftpship-[0-9a-f]{20}\.tmp": FTP servers take command lines of at most 4094 bytes, and that is 5 bytes over; shorten its name or folders by 5 bytes, deploy with --no-atomic \(the file is then written in place\), or leave it out with --exclude '\/d+\/.*\/f\\\.t'$/,
      ),
    ]);
    expect(fs.readFileSync(onDisk, 'utf8')).toBe('v1');
    ok(await cli(server, 'deploy', local, `${dir}/${top}`, '--no-atomic'));
    expect(fs.readFileSync(onDisk, 'utf8')).toBe('v2');
    const again = await cli(server, 'deploy', local, `${dir}/${top}`, '--json');
    ok(again);
    expect((JSON.parse(again.stdout) as { files: unknown[] }).files).toEqual([]);
  });
});
