/**
 * Servers we cannot run here, emulated by the scripted fake server with a real in-memory tree
 * (`treeHandlers`), each in the replies of its product: Microsoft IIS FTP (DOS LIST, with or without MLSD;
 * names without case; no rename over a file), FileZilla Server 1.x (its FEAT, MLSD and reply texts), a
 * hosting provider's server with no SIZE, MDTM, EPSV or REST and a private address in PASV, and a Unix
 * server whose LIST shows symlinks, names with spaces and year-less dates. For each: a first deploy, an edit,
 * a delete and a case-only rename (Readme.md -> README.md), then a run with nothing to do; the server's
 * tree equals the local one after each.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { deploy, type DeployOptions } from '../src/index.js';
import {
  pasvReply,
  treeHandlers,
  type FakeHandler,
  type FakeServerOptions,
  type FakeSession,
  type TreeStyle,
} from './helpers/fake-server.js';
import { useFakeServer } from './helpers/fake-client.js';
import { recorder } from './helpers/protocol.js';
import { sha256, tmpDir, writeTree } from './helpers/tmp.js';

const fake = useFakeServer();
const STATE = '.ftpship-state.json';

/** A long content as its hash: a failure's diff stays readable. */
const short = (text: string): string => (text.length > 100 ? `sha256:${sha256(text)}` : text);

/** A hosting server's answer to SIZE, a command it does not offer. */
const noSize: FakeHandler = (_a, s) => s.reply("500 'SIZE': command not understood");

/** Deploy options for `local` to /site on the fake server `srv`, with `extra` on top. */
function siteOptions(
  srv: { host: string; port: number },
  local: string,
  extra: Partial<DeployOptions> = {},
): DeployOptions {
  return {
    localDir: local,
    host: srv.host,
    port: srv.port,
    user: 'u',
    password: 'p',
    remoteDir: '/site',
    timeoutMs: 3000,
    retryDelayMs: 10,
    ...extra,
  };
}

/** Every file (`path: content`) and folder (`path/: ''`) under `root`. */
function localTree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string, rel: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        out[`${r}/`] = '';
        walk(path.join(dir, e.name), r);
      } else out[r] = short(fs.readFileSync(path.join(dir, e.name), 'utf8'));
    }
  };
  walk(root, '');
  return out;
}

interface Profile {
  name: string;
  style: TreeStyle;
  features: string[];
  extra?: (srv: { host: string }) => FakeServerOptions['handlers'];
  greeting?: string;
  files?: Record<string, string>;
  /** Warnings each run may give: what the server does is worth one. */
  warns?: RegExp;
}

const RENAME_OVER =
  /^the server refused to rename over an existing file \(RNTO \/site\/[^:]+: 550 Cannot create a file when that file already exists\.\); falling back to delete \+ rename/;
const IIS_FEATURES = [
  'LANG EN*',
  'UTF8',
  'AUTH TLS;TLS-C;SSL;TLS-P;',
  'PBSZ',
  'PROT C;P;',
  'CCC',
  'HOST',
  'SIZE',
  'MDTM',
  'REST STREAM',
];
const IIS: TreeStyle = {
  caseInsensitive: true,
  list: 'dos',
  noListFlags: true,
  pwd: '257 "%s" is current directory.',
  notFound: '550 The system cannot find the file specified.',
  exists: '550 Cannot create a file when that file already exists.',
  noRenameOver: '550 Cannot create a file when that file already exists.',
  start: '125 Data connection already open; Transfer starting.',
};
const now = new Date();
const futureMonth = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][
  (now.getUTCMonth() + 2) % 12
];

const PROFILES: Profile[] = [
  {
    name: 'IIS, LIST only (DOS format)',
    style: IIS,
    features: IIS_FEATURES,
    greeting: '220 Microsoft FTP Service',
    warns: RENAME_OVER,
  },
  {
    name: 'IIS with MLSD',
    style: {
      ...IIS,
      mlsd: (e) => `type=${e.type};modify=${e.modify};${e.type === 'file' ? `size=${e.size};` : ''}`,
    },
    features: [...IIS_FEATURES, 'MLST size*;modify*;type*;'],
    greeting: '220 Microsoft FTP Service',
    warns: RENAME_OVER,
  },
  {
    name: 'FileZilla Server 1.x',
    style: {
      caseInsensitive: true,
      dropTrailing: true,
      pwd: '257 "%s" is current directory.',
      notFound: "550 Couldn't open the file or directory",
      exists: '550 File or directory exists',
      start: '150 Starting data transfer.',
      mlsd: (e) =>
        e.type === 'dir'
          ? `type=dir;modify=${e.modify};perm=elfpcmd;`
          : `type=file;size=${e.size};modify=${e.modify};perm=awrdf;`,
    },
    features: [
      'MDTM',
      'REST STREAM',
      'SIZE',
      'MLST type*;size*;modify*;perm*;',
      'MLSD',
      'AUTH SSL',
      'AUTH TLS',
      'PROT',
      'PBSZ',
      'UTF8',
      'TVFS',
      'EPSV',
      'EPRT',
      'MFMT',
    ],
    greeting: '220-FileZilla Server 1.8.0\r\n220 Please visit https://filezilla-project.org/',
  },
  {
    name: 'a hosting server without SIZE, MDTM, EPSV or REST, naming a private address in PASV',
    style: {},
    features: ['UTF8'],
    // A name ending in a space is looked for once written: without SIZE, in its folder's listing (was: the
    // deploy failed on every run, "the server did not keep the file name").
    files: { 'trail ': 'a name ending in a space' },
    extra: () => ({
      SIZE: noSize,
      MDTM: (_a, s) => s.reply("500 'MDTM': command not understood"),
      EPSV: (_a, s) => s.reply("500 'EPSV': command not understood"),
      REST: (_a, s) => s.reply("500 'REST': command not understood"),
      PASV: async (_a, s) => pasvReply(s, '192.168.1.10'),
    }),
  },
  {
    name: 'a Windows host that refuses to rename over a file and has no SIZE',
    style: IIS,
    features: ['UTF8'],
    extra: () => ({
      SIZE: noSize,
      MDTM: (_a, s) => s.reply("500 'MDTM': command not understood"),
    }),
    warns: RENAME_OVER,
  },
  {
    name: 'a Unix server with a symlink, names with spaces and a year-less date of a future month',
    style: {
      links: new Map([['/site/current', 'releases/v2']]),
      unixDate: () => `${futureMonth} 24 13:40`,
    },
    features: ['EPSV', 'SIZE', 'UTF8'],
    files: { 'trail ': 'a name ending in a space' },
    warns: /^no state file at \/site\/\.ftpship-state\.json, but \/site already holds current: /,
  },
];

describe.each(PROFILES)('$name', (profile) => {
  it.each([
    ['atomic', true],
    ['--no-atomic', false],
  ])(
    '%s: first deploy, an edit, a delete and a case-only rename, a no-op: the server tree equals the local one each time',
    async (_mode, atomic) => {
      const tree = treeHandlers(profile.style);
      tree.dirs.add('/site');
      const srv = await fake({
        features: profile.features,
        greeting: profile.greeting,
        handlers: { ...tree.handlers, ...profile.extra?.({ host: '127.0.0.1' }) },
      });
      const onServer = (): Record<string, string> => {
        const out: Record<string, string> = {};
        for (const [p, v] of Object.entries(tree.tree(srv.files)))
          if (p.startsWith('site/') && ![`site/${STATE}`, `site/${STATE}.bak`, 'site/'].includes(p))
            out[p.slice(5)] = short(v);
        return out;
      };
      const local = tmpDir();
      writeTree(local, {
        'index.html': 'v1',
        'css/site.css': 'body{}',
        'css/old.css': 'old',
        'Readme.md': 'read me',
        'a b.txt': 'spaces',
        '  lead.txt': 'leading spaces',
        'sub dir/x y.txt': 'xy',
        'big.bin': 'b'.repeat(1536 * 1024),
        ...profile.files,
      });
      const options = siteOptions(srv, local, { atomic });
      const first = recorder();
      await deploy(options, first);
      expect(onServer()).toEqual(localTree(local));

      writeTree(local, { 'index.html': 'v2, longer', 'big.bin': 'c'.repeat(1600 * 1024) });
      fs.rmSync(path.join(local, 'css/old.css'));
      fs.renameSync(path.join(local, 'Readme.md'), path.join(local, 'README.md'));
      const second = recorder();
      await deploy(options, second);
      expect(onServer()).toEqual(localTree(local));
      // A copy of the state is kept beside it (FIELD 4.4), on this server too.
      expect(srv.files.get(`/site/${STATE}`)?.toString()).toMatch(/"generator": "ftpship"/);
      expect(srv.files.get(`/site/${STATE}.bak`)?.toString()).toBe(
        srv.files.get(`/site/${STATE}`)?.toString(),
      );

      const third = recorder();
      const again = await deploy(options, third);
      expect(again.files).toEqual([]);
      expect(onServer()).toEqual(localTree(local));
      // The listing and data-connection commands of this server were the ones used.
      if (profile.style.mlsd) expect(srv.verbs()).toContain('MLSD');
      else expect(srv.verbs()).not.toContain('MLSD');
      if (profile.name.startsWith('a hosting')) expect(srv.verbs()).toContain('PASV');
      for (const w of [...first.warnings, ...second.warnings, ...third.warnings])
        expect(w).toMatch(profile.warns ?? /^$/);
    },
  );
});

describe('IIS drops the trailing spaces and dots of names (Windows), in SIZE alike', () => {
  it.each([
    ['atomic', true],
    ['--no-atomic', false],
  ])(
    '%s: a file whose name ends in a space or a dot fails the run before anything is sent, naming its --exclude; excluded, the deploy converges',
    async (_mode, atomic) => {
      const tree = treeHandlers({ ...IIS, dropTrailing: true });
      tree.dirs.add('/site');
      const srv = await fake({ features: IIS_FEATURES, handlers: tree.handlers });
      const local = tmpDir();
      writeTree(local, { 'report.': 'the dot is part of the name', 'index.html': 'i' });
      const options = siteOptions(srv, local, { atomic });
      // Before: a success, the state listing "report." while the server held "report" (SIZE "report." found it).
      await expect(deploy(options)).rejects.toThrow(
        `the server did not keep the file name "/site/report." when tested: a file whose name ended in a dot was stored under another name (pure-ftpd turns a trailing space into "_"; Windows servers drop trailing spaces and dots), where it would land on a file or folder of that name; nothing was sent under it; rename it locally or leave it out with --exclude '/report\\.'`,
      );
      expect([...srv.files.keys()].filter((p) => !p.endsWith(STATE))).toEqual([]);
      await deploy({ ...options, exclude: ['/report\\.'] });
      expect([...srv.files.keys()].filter((p) => !/\.ftpship-state\.json(\.bak)?$/.test(p))).toEqual([
        '/site/index.html',
      ]);
      expect((await deploy({ ...options, exclude: ['/report\\.'] })).files).toEqual([]);
    },
  );
});

describe('a hosting server without SIZE, a run cut in its commit phase', () => {
  it('the rerun puts the file whose rename was cut in place, and removes its temp (was: nothing to do, the old file stayed)', async () => {
    const tree = treeHandlers({});
    tree.dirs.add('/site');
    let cut = false;
    const srv = await fake({
      features: ['UTF8'],
      handlers: {
        ...tree.handlers,
        SIZE: noSize,
        EPSV: (_a, s) => s.reply("500 'EPSV': command not understood"),
        PASV: async (_a, s) => pasvReply(s, '10.0.0.7'),
        // The connection drops at the first rename of a file into place.
        RNFR: async (a, s) => {
          if (!cut || !/\/\.ftpship-[0-9a-f]+\.tmp$/.test(a)) return tree.handlers.RNFR(a, s);
          cut = false;
          s.socket.destroy();
        },
      },
    });
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'v1', 'b.txt': 'b1' });
    const options = siteOptions(srv, local, { retries: 0 });
    await deploy(options);
    writeTree(local, { 'a.txt': 'v2', 'b.txt': 'b2' });
    cut = true;
    await expect(deploy(options)).rejects.toThrow(/closed by the server/);
    expect(tree.tree(srv.files)).toMatchObject({ 'site/a.txt': 'v1' }); // its rename was cut
    const rerun = await deploy(options);
    expect(rerun.files.map((f) => `${f.action} ${f.path}`)).toEqual(['replace a.txt']);
    const rest = Object.fromEntries(
      Object.entries(tree.tree(srv.files)).filter(
        ([p]) => p !== `site/${STATE}` && p !== `site/${STATE}.bak`,
      ),
    );
    expect(rest).toEqual({ 'site/': '', 'site/a.txt': 'v2', 'site/b.txt': 'b2' });
    expect((await deploy(options)).files).toEqual([]);
  });
});

describe('a hosting server without SIZE, --maintenance at a path where the site has a file', () => {
  it('is refused before any change, the file kept (was: written over, then deleted)', async () => {
    const tree = treeHandlers({});
    tree.dirs.add('/site');
    const srv = await fake({
      features: ['UTF8'],
      handlers: { ...tree.handlers, SIZE: noSize },
    });
    srv.files.set('/site/.maintenance', Buffer.from('the site keeps its own file here'));
    const local = tmpDir();
    writeTree(local, { 'index.html': 'i' });
    const options = siteOptions(srv, local, { maintenance: { path: '.maintenance' } });
    await expect(deploy(options)).rejects.toThrow(
      /^the maintenance file \.maintenance is already on the server \(\/site\/\.maintenance\), and ftpship did not put it there: .* Nothing was changed\./,
    );
    expect(srv.files.get('/site/.maintenance')?.toString()).toBe('the site keeps its own file here');
    expect(srv.files.has('/site/index.html')).toBe(false);
  });
});

describe('a hosting server without SIZE refuses to delete a file (permissions)', () => {
  it('the run fails naming it, the state keeps it, and once allowed the delete goes (was: reported deleted, left there)', async () => {
    const tree = treeHandlers({});
    tree.dirs.add('/site');
    let refuse = true;
    const srv = await fake({
      features: ['UTF8'],
      handlers: {
        ...tree.handlers,
        SIZE: noSize,
        DELE: async (a, s) =>
          refuse && a.endsWith('/old.txt')
            ? s.reply('550 old.txt: Permission denied')
            : tree.handlers.DELE(a, s),
      },
    });
    const local = tmpDir();
    writeTree(local, { 'index.html': 'i', 'old.txt': 'o' });
    const options = siteOptions(srv, local);
    await deploy(options);
    fs.rmSync(path.join(local, 'old.txt'));
    await expect(deploy(options)).rejects.toThrow(/^delete old\.txt failed: 550 old\.txt: Permission denied/);
    expect(srv.files.has('/site/old.txt')).toBe(true);
    refuse = false;
    const done = await deploy(options);
    expect(done.files.map((f) => `${f.action} ${f.path}`)).toEqual(['delete old.txt']);
    expect(srv.files.has('/site/old.txt')).toBe(false);
  });
});

describe('a hosting server without SIZE that will not write over a file nor rename, --no-atomic', () => {
  it('the state, written in place again, replaces the old copy (was: the 500 to SIZE read as "not there", the run failed)', async () => {
    const tree = treeHandlers({});
    tree.dirs.add('/site');
    const srv = await fake({
      features: ['UTF8'],
      handlers: {
        ...tree.handlers,
        SIZE: noSize,
        RNFR: (_a, s) => s.reply('550 Operation not permitted'),
        // proftpd AllowOverwrite off.
        STOR: async (a, s) =>
          srv.files.has(a.startsWith('/') ? a : `/site/${a}`)
            ? s.reply(`550 ${a}: Overwrite permission denied`)
            : tree.handlers.STOR(a, s),
      },
    });
    const local = tmpDir();
    writeTree(local, { 'index.html': 'v1' });
    const options = siteOptions(srv, local, { atomic: false });
    await deploy(options);
    writeTree(local, { 'index.html': 'v2' });
    const second = await deploy(options);
    expect(second.files.map((f) => `${f.action} ${f.path}`)).toEqual(['replace index.html']);
    expect(srv.files.get('/site/index.html')?.toString()).toBe('v2');
    expect(JSON.stringify(JSON.parse(srv.files.get(`/site/${STATE}`)?.toString() ?? '{}'))).toContain(
      sha256('v2'),
    );
    expect((await deploy(options)).files).toEqual([]);
  });
});

describe('IIS refuses to rename over a file: the state file is replaced by delete + rename', () => {
  it('a deploy that replaces no site file gives no warning; one that replaces a site file warns once (was: every deploy warned)', async () => {
    const tree = treeHandlers(IIS);
    tree.dirs.add('/site');
    const srv = await fake({ features: IIS_FEATURES, handlers: tree.handlers });
    const local = tmpDir();
    writeTree(local, { 'index.html': 'v1' });
    const options = siteOptions(srv, local);
    const first = recorder();
    await deploy(options, first);
    expect(first.warnings).toEqual([]);
    writeTree(local, { 'new.html': 'added' });
    const second = recorder();
    expect((await deploy(options, second)).files.map((f) => `${f.action} ${f.path}`)).toEqual([
      'upload new.html',
    ]);
    expect(second.warnings).toEqual([]);
    writeTree(local, { 'index.html': 'v2', 'new.html': 'changed' });
    const third = recorder();
    await deploy(options, third);
    expect(third.warnings).toHaveLength(1);
    expect(third.warnings[0]).toMatch(RENAME_OVER);
    expect(srv.files.get('/site/index.html')?.toString()).toBe('v2');
    expect(srv.files.get('/site/new.html')?.toString()).toBe('changed');
  });
});

describe('a hosting server without SIZE, the connection lost in the final state write after the unlock', () => {
  it('the temporary copy still there fails the run (was: the 500 to SIZE read as "gone", success reported with the old state)', async () => {
    const tree = treeHandlers({});
    tree.dirs.add('/site');
    let cut = false;
    const srv = await fake({
      features: ['UTF8'],
      handlers: {
        ...tree.handlers,
        SIZE: noSize,
        // The final rename of the state refused, the unlock sent after it in the same write done (its holder
        // and folder removed), and every reply lost with the connection.
        RNTO: async (a, s) => {
          const final = srv.files.get('/site/a.txt')?.toString() === 'v2';
          if (!cut || !final || !a.endsWith(`/${STATE}`)) return tree.handlers.RNTO(a, s);
          cut = false;
          for (const f of [...srv.files.keys()]) if (f.includes(`/${STATE}.lock/`)) srv.files.delete(f);
          tree.dirs.delete(`/site/${STATE}.lock`);
          s.socket.destroy();
        },
      },
    });
    const local = tmpDir();
    writeTree(local, { 'a.txt': 'v1' });
    const options = siteOptions(srv, local);
    await deploy(options);
    writeTree(local, { 'a.txt': 'v2' });
    cut = true;
    await expect(deploy(options)).rejects.toThrow(
      /^the connection was lost while the final state \/site\/\.ftpship-state\.json was put in place and the lock released, and its temporary copy is still there: /,
    );
    expect(srv.files.has(`/site/${STATE}.tmp`)).toBe(true);
    // The rerun records the change.
    await deploy(options);
    expect(srv.files.has(`/site/${STATE}.tmp`)).toBe(false);
    expect((await deploy(options)).files).toEqual([]);
  });
});

/**
 * A server holding /site (EPSV, SIZE) whose STOR of the state's backup copy goes through `copy`, given the
 * session and the usual store; every other command as usual.
 */
async function copyServer(
  copy: (s: FakeSession, store: () => Promise<void>) => Promise<void>,
): Promise<Awaited<ReturnType<typeof fake>>> {
  const tree = treeHandlers({});
  tree.dirs.add('/site');
  const store: FakeHandler = async (arg, s) => tree.handlers.STOR?.(arg, s);
  return fake({
    features: ['UTF8', 'EPSV', 'SIZE'],
    handlers: {
      ...tree.handlers,
      STOR: async (arg, s) =>
        arg.endsWith(`${STATE}.bak`) ? copy(s, async () => store(arg, s)) : store(arg, s),
    },
  });
}

describe("the state's backup copy refused by the server (FIELD 4.4)", () => {
  it('a warning, the deploy goes on and writes its state; no older copy is left (it would misstate what is live)', async () => {
    let refuse = false;
    const srv = await copyServer(async (s, store) =>
      refuse ? s.reply('452 Insufficient storage space') : store(),
    );
    const local = tmpDir();
    writeTree(local, { 'index.html': 'v1' });
    const options = siteOptions(srv, local);
    await deploy(options);
    expect(srv.files.get(`/site/${STATE}.bak`)?.toString()).toBe(srv.files.get(`/site/${STATE}`)?.toString());
    const first = srv.files.get(`/site/${STATE}`)?.toString();

    refuse = true;
    writeTree(local, { 'index.html': 'v2' });
    const rec = recorder();
    const r = await deploy(options, rec);
    expect(r.counts.replace).toBe(1);
    expect(rec.warnings).toEqual([
      `could not keep a copy of the state at /site/${STATE}.bak (452 Insufficient storage space); the deploy goes on, and the state itself is written as always`,
    ]);
    expect(srv.files.has(`/site/${STATE}.bak`)).toBe(false);
    expect(srv.files.get(`/site/${STATE}`)?.toString()).not.toBe(first);
    expect(srv.files.get('/site/index.html')?.toString()).toBe('v2');
  });
});

describe("the state's backup copy, its connection lost (FIELD 4.4)", () => {
  it('written again on the state’s own connection, before the state goes in place; no warning, the copy is the final state', async () => {
    let cut = false;
    let copies = 0;
    const srv = await copyServer(async (s, store) => {
      copies++;
      // The first copy's connection dies on its STOR (a reset: no reply).
      if (cut && copies === 2) s.socket.destroy();
      else await store();
    });
    const local = tmpDir();
    writeTree(local, { 'index.html': 'v1', 'a.txt': 'a' });
    const options = siteOptions(srv, local);
    await deploy(options);
    expect(copies).toBe(1);

    cut = true;
    writeTree(local, { 'index.html': 'v2' });
    const rec = recorder();
    const r = await deploy(options, rec);
    expect(r.counts.replace).toBe(1);
    expect(copies).toBe(3); // the cut one, then again beside the state
    expect(rec.warnings).toEqual([]);
    expect(srv.files.get(`/site/${STATE}.bak`)?.toString()).toBe(srv.files.get(`/site/${STATE}`)?.toString());
    expect(JSON.parse(srv.files.get(`/site/${STATE}`)?.toString() ?? '{}').files['index.html']).toMatchObject(
      {
        size: 2,
        sha256: sha256('v2'),
      },
    );
  });
});
