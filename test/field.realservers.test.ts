/**
 * /work/shared/FIELD.md items that ftp-srv cannot prove (its RMD is recursive, its listings are its own), on
 * pure-ftpd, vsftpd (no MLSD) and proftpd: the field.ftpsrv.test.ts cases whose outcome depends on how the
 * server lists and removes folders. Skipped, with a message, only when test/servers/.env.json is absent.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from '@jest/globals';
import { deploy, type Progress } from '../src/index.js';
import { realServerSuite, remoteFolders, type RealServer } from './helpers/real-servers.js';
import { chaosProxy, releasePassive } from './helpers/chaos.js';
import { linesProxy, loopbackBufferBytes } from './helpers/faults.js';
import { recorder } from './helpers/protocol.js';
import { readTree, sha256, tmpDir, writeTree } from './helpers/tmp.js';

const { describe: d, opts, each } = realServerSuite('field.realservers');
const STATE = '.ftpship-state.json';
const target = remoteFolders('h-field');

d.each(each('pure', 'vsftpd', 'proftpd'))('%s', (_name, server) => {
  it('FIELD.md §3 prefix bug (folder x and file x-y both removed): both go, with a non-recursive RMD', async () => {
    const local = tmpDir();
    writeTree(local, { 'x/a.html': 'a', 'x/sub/b.html': 'b', 'x-y.html': 'xy', 'x.html': 'x' });
    const { dir, disk } = target(server);
    await deploy(opts(server, local, dir));
    fs.rmSync(path.join(local, 'x'), { recursive: true });
    fs.rmSync(path.join(local, 'x-y.html'));
    const r = await deploy(opts(server, local, dir));
    expect(r.files.map((f) => `${f.action} ${f.path}`).sort()).toEqual([
      'delete x-y.html',
      'delete x/a.html',
      'delete x/sub/b.html',
      'rmdir x',
      'rmdir x/sub',
    ]);
    expect(readTree(disk, [STATE])).toEqual({ 'x.html': sha256('x') });
    expect(fs.existsSync(path.join(disk, 'x'))).toBe(false);
  });

  it('FIELD.md §3 state removed by hand (#128, #441): the warning names what the folder holds (dot-files too), --adopt and --state', async () => {
    const local = tmpDir();
    writeTree(local, { 'index.html': 'i', '.htaccess': 'h', 'css/site.css': 'c' });
    const { dir, disk } = target(server);
    await deploy(opts(server, local, dir));
    fs.rmSync(path.join(disk, STATE));
    const rec = recorder();
    const r = await deploy(opts(server, local, dir), rec);
    expect(r.counts).toMatchObject({ upload: 3, delete: 0 });
    expect(rec.warnings).toEqual([
      expect.stringMatching(
        new RegExp(
          `^no state file at ${dir}/\\.ftpship-state\\.json, but ${dir} already holds \\.htaccess, css, index\\.html: ` +
            'this deploy sends every file again and deletes nothing there.*--adopt.*--state',
        ),
      ),
    ]);
    expect(readTree(disk, [STATE])).toEqual(readTree(local));
  });
});

function partition<T>(items: T[], keep: (item: T) => boolean): [T[], T[]] {
  return [items.filter(keep), items.filter((item) => !keep(item))];
}

d.each(each('pure', 'vsftpd', 'proftpd'))(
  '%s: FIELD.md §3 "a 421 no-transfer timeout during a long mkdir phase"',
  (_name, server) => {
    it("each connection's third folder answered 421 and the connection closed (once after the server made it): the deploy reconnects and completes", async () => {
      const local = tmpDir();
      const files: Record<string, string> = {};
      for (let i = 0; i < 12; i++) files[`d${i}/sub/f.txt`] = `file ${i}`;
      writeTree(local, files);
      const { dir, disk } = target(server);
      const mkds = new Map<number, number>();
      const cuts: string[] = [];
      // The 421 comes from a proxy (no real server here has a no-transfer timer short enough): the first cut
      // comes before the server sees the MKD, the second after it made the folder (its 257 never reaches us).
      const proxy = await linesProxy(server.port, (line, connection) => {
        if (!line.startsWith('MKD ') || line.endsWith('.lock') || cuts.length >= 3) return 'pass';
        const n = (mkds.get(connection) ?? 0) + 1;
        mkds.set(connection, n);
        if (n !== 3) return 'pass';
        const folder = line.slice(4);
        cuts.push(folder);
        if (cuts.length === 2) {
          const made = path.join(server.home, folder);
          // (Made already when this MKD is the retry of one whose reply was lost.)
          if (!fs.existsSync(made)) {
            fs.mkdirSync(made);
            fs.chownSync(made, server.uid, server.gid);
          }
        }
        return { reply: '421 No transfer timeout (300 seconds): closing control connection', close: true };
      });
      const rec = recorder();
      try {
        const r = await deploy(
          opts(server, local, dir, { host: '127.0.0.1', port: proxy.port, secure: false, parallel: 2 }),
          rec,
        );
        expect(r.counts).toMatchObject({ upload: 12, mkdir: 24 });
      } finally {
        await proxy.close();
      }
      expect(cuts).toHaveLength(3);
      // The three cuts, each retried. Besides them, on a busy machine, only uploads retried (in CI: pure-ftpd's
      // "425 Unable to identify the local data socket: Address already in use" once; proftpd's "425 EPSV:
      // Address already in use" once, two sessions having drawn the same passive port).
      const [mkdirs, others] = partition(rec.warnings, (w) => w.startsWith('create folders '));
      expect(mkdirs).toHaveLength(3);
      for (const w of mkdirs) expect(w).toMatch(/it said: 421 No transfer timeout.*retrying \([1-5]\/5\)$/);
      for (const w of others) expect(w).toMatch(/^upload .*; retrying \([1-5]\/5\)$/);
      expect(readTree(disk, [STATE])).toEqual(readTree(local));
      const again = await deploy(opts(server, local, dir));
      expect(again.files).toEqual([]);
    });
  },
);

d.each(each('pure', 'vsftpd', 'proftpd'))(
  '%s: FIELD.md §1.1 "Timeout (control socket)" (#137, #192, #305)',
  (_name, server) => {
    it.each(['MKD', 'STOR'])(
      'a connection that stops answering at its %s (open, silent): that command times out, the same deploy goes on over a new connection and completes',
      async (verb) => {
        const local = tmpDir();
        const files: Record<string, string> = {};
        for (let i = 0; i < 8; i++) files[`d${i}/f${i}.txt`] = `file ${i}`;
        writeTree(local, files);
        const { dir, disk } = target(server);
        let seen = 0;
        let held = '';
        const proxy = await chaosProxy(server.port, {
          onCommand: (line) => {
            if (held || !line.startsWith(`${verb} `) || line.includes(STATE)) return;
            if (++seen < 3) return;
            held = line;
            return 'hold';
          },
        });
        const rec = recorder();
        try {
          const r = await deploy(
            opts(server, local, dir, {
              host: '127.0.0.1',
              port: proxy.port,
              secure: false,
              parallel: 2,
              timeoutMs: 2000,
            }),
            rec,
          );
          expect(r.counts).toMatchObject({ upload: 8, mkdir: 8 });
        } finally {
          // A passive port the silent session handed out but never saw used would hold a pure-ftpd login.
          await releasePassive(proxy.unconnected);
          await proxy.close();
        }
        expect(held).not.toBe('');
        expect(rec.warnings).toEqual([expect.stringMatching(/retrying \(1\/\d\)$/)]);
        expect(readTree(disk, [STATE])).toEqual(readTree(local));
        expect((await deploy(opts(server, local, dir))).files).toEqual([]);
      },
    );
  },
);

d.each(each('pure', 'vsftpd', 'proftpdResume', 'proftpd'))(
  '%s: FIELD.md §1.1 "Server sent FIN packet unexpectedly" / "ECONNRESET" in the middle of a large file',
  (_name, server) => {
    it('every connection dropped a third of the way into a 6 MiB file: the same deploy reconnects and the file arrives whole; the last progress counts every byte (was: short of those resumed or found sent)', async () => {
      const local = tmpDir();
      const big = Buffer.alloc(6 * 1024 * 1024);
      for (let i = 0; i < big.length; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, i);
      writeTree(local, { 'big.bin': big, 'index.html': 'home' });
      const { dir, disk } = target(server);
      let dropped = false;
      const proxy = await chaosProxy(server.port, {
        onData: (total) => {
          if (dropped || total < 2 * 1024 * 1024) return;
          dropped = true;
          setImmediate(() => {
            proxy.cutAll();
            proxy.heal();
          });
          return 'hold';
        },
      });
      const rec = recorder();
      const seen: Progress[] = [];
      try {
        const r = await deploy(
          opts(server, local, dir, { host: '127.0.0.1', port: proxy.port, secure: false, parallel: 2 }),
          { ...rec, progress: (p) => seen.push({ ...p }) },
        );
        expect(r.counts).toMatchObject({ upload: 2 });
      } finally {
        await proxy.close();
      }
      expect(dropped).toBe(true);
      expect(rec.warnings.some((w) => /retrying/.test(w))).toBe(true);
      expect(readTree(disk, [STATE])).toEqual(readTree(local));
      expect(fs.readdirSync(disk).filter((n) => n.endsWith('.tmp'))).toEqual([]);
      // Resumed or sent whole (that depends on when the cut session lets go of its part), never at offset 0.
      const rests = rec.log.filter((l) => l.startsWith('> REST ')).map((l) => Number(l.slice(7)));
      for (const at of rests) expect(at).toBeGreaterThan(0);
      expect(seen.at(-1)).toEqual({
        filesDone: 2,
        filesTotal: 2,
        bytesDone: big.length + 4,
        bytesTotal: big.length + 4,
      });
      expect((await deploy(opts(server, local, dir))).files).toEqual([]);
    });
  },
);

d.each(each('pure', 'vsftpd', 'proftpdResume'))(
  '%s: FIELD.md §1.1 "Timeout (data socket)" (#153, #195, #197, #226)',
  (_name, server) => {
    it('a data connection that stops moving 3 MiB into a file of 24 MiB or more, past the loopback buffers (nothing cut, the server session still waiting on it): the upload times out, the same deploy sends the file whole', async () => {
      const local = tmpDir();
      // Past the 3 MiB the proxy passes on, larger than what the loopback buffers take in (tcp_rmem/tcp_wmem
      // differ by machine), so the client's writes back up (its idle timer runs).
      const big = Buffer.alloc(
        Math.max(24, 3 + Math.ceil(loopbackBufferBytes() / 2 ** 20) + 4) * 1024 * 1024,
      );
      for (let i = 0; i < big.length; i += 4) big.writeUInt32LE((i * 40503 + 7) >>> 0, i);
      writeTree(local, { 'big.bin': 'old', 'index.html': 'home' });
      const { dir, disk } = target(server);
      await deploy(opts(server, local, dir));
      writeTree(local, { 'big.bin': big });
      let stalled = false;
      const proxy = await chaosProxy(server.port, {
        onData: (total) => {
          if (stalled || total < 3 * 1024 * 1024) return;
          stalled = true;
          return 'stall';
        },
      });
      const rec = recorder();
      try {
        const r = await deploy(
          opts(server, local, dir, {
            host: '127.0.0.1',
            port: proxy.port,
            secure: false,
            parallel: 2,
            timeoutMs: 2000,
          }),
          rec,
        );
        expect(r.counts).toMatchObject({ replace: 1 });
        expect(stalled).toBe(true);
        expect(rec.warnings[0]).toMatch(/^upload big\.bin: .*retrying \(1\/\d\)$/);
        expect(readTree(disk, [STATE])).toEqual(readTree(local));
      } finally {
        await releasePassive(proxy.unconnected);
        await proxy.close();
      }
      // The stalled session ends with the proxy; whatever it does with its part, the live file stays whole.
      const again = await deploy(opts(server, local, dir));
      expect(again.files).toEqual([]);
      expect(readTree(disk, [STATE])).toEqual(readTree(local));
    });
  },
);

d.each(each('pure', 'vsftpd', 'proftpd'))(
  '%s: FIELD.md §1.3 "550 while deleting folders" / "keep remote-only .htaccess, .well-known"',
  (_name, server) => {
    it('a deployed folder gone locally that holds a dot-file the host added: the file stays, the folder is kept with one warning, the rest is deleted; the rerun has nothing to do', async () => {
      const local = tmpDir();
      writeTree(local, { 'index.html': 'i', 'blog/post.html': 'p', 'blog/img/a.png': 'a' });
      const { dir, disk } = target(server);
      await deploy(opts(server, local, dir));
      const added = path.join(disk, 'blog', '.user.ini');
      fs.writeFileSync(added, 'host');
      fs.chownSync(added, server.uid, server.gid);
      fs.rmSync(path.join(local, 'blog'), { recursive: true });
      const rec = recorder();
      const r = await deploy(opts(server, local, dir), rec);
      expect(r.files.map((f) => `${f.action} ${f.path}`).sort()).toEqual([
        'delete blog/img/a.png',
        'delete blog/post.html',
        'rmdir blog/img',
      ]);
      expect(r.kept).toEqual(['blog']);
      expect(rec.warnings).toEqual([expect.stringMatching(/kept folder blog: /)]);
      expect(readTree(disk, [STATE])).toEqual({
        'index.html': sha256('i'),
        'blog/.user.ini': sha256('host'),
      });
      const again = recorder();
      expect((await deploy(opts(server, local, dir), again)).files).toEqual([]);
      expect(again.warnings).toEqual([]);
    });
  },
);

/**
 * The two-file site of the §1.1 tests, deployed through `proxy` (plain FTP), which is closed after; the deploy
 * must upload both. Returns what it was told.
 */
async function deployThroughProxy(
  server: RealServer,
  local: string,
  dir: string,
  proxy: { port: number; close: () => Promise<void> },
): Promise<ReturnType<typeof recorder>> {
  const rec = recorder();
  try {
    const r = await deploy(
      opts(server, local, dir, { host: '127.0.0.1', port: proxy.port, secure: false }),
      rec,
    );
    expect(r.counts).toMatchObject({ upload: 2 });
  } finally {
    await proxy.close();
  }
  return rec;
}

d.each(each('pure', 'vsftpd', 'proftpd'))(
  '%s: FIELD.md §1.1 "421 Session Timeout" / "Client is closed" on the way out',
  (_name, server) => {
    it('the connection dropped with the reply of the unlock the server had done: the retry finds the lock gone, no warning that it could not be removed', async () => {
      const local = tmpDir();
      writeTree(local, { 'index.html': 'i', 'css/a.css': 'a' });
      const { dir, disk } = target(server);
      const lock = path.join(disk, `${STATE}.lock`);
      let cut = 0;
      // The server removes the lock (the proxy does it on disk), then the connection drops before its replies.
      const proxy = await linesProxy(server.port, (line) => {
        if (cut > 0 || !/^DELE .*\.lock\/holder\.json$/.test(line)) return 'pass';
        cut++;
        fs.rmSync(lock, { recursive: true, force: true });
        return { reply: '421 Session Timeout (3600 s): closing control connection', close: true };
      });
      const rec = await deployThroughProxy(server, local, dir, proxy);
      expect(cut).toBe(1);
      expect(rec.warnings.filter((w) => /could not remove the lock/.test(w))).toEqual([]);
      expect(fs.existsSync(lock)).toBe(false);
      expect(readTree(disk, [STATE])).toEqual(readTree(local));
      const again = recorder();
      expect((await deploy(opts(server, local, dir), again)).files).toEqual([]);
      expect(again.warnings).toEqual([]);
    });
  },
);

d.each(each('pure', 'vsftpd', 'proftpd'))(
  '%s: FIELD.md §1.1 "Server sent FIN packet unexpectedly" while logging in',
  (_name, server) => {
    it('the first connection cut after USER and PASS, before the session settings were answered: a new one is made and the deploy completes (was: failed at once, "cannot connect")', async () => {
      const local = tmpDir();
      writeTree(local, { 'index.html': 'i', 'css/a.css': 'a' });
      const { dir, disk } = target(server);
      let cut = 0;
      const proxy = await chaosProxy(server.port, {
        onCommand: (line) => {
          if (cut > 0 || line !== 'PWD') return;
          cut++;
          setImmediate(() => {
            proxy.cutAll();
            proxy.heal();
          });
          return 'hold';
        },
      });
      const rec = await deployThroughProxy(server, local, dir, proxy);
      expect(cut).toBe(1);
      expect(rec.warnings).toEqual([expect.stringMatching(/^login: .*closed.*; retrying \(1\/\d+\)$/)]);
      expect(readTree(disk, [STATE])).toEqual(readTree(local));
    });
  },
);
