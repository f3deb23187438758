import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { FtpClient, FtpClosedError, FtpReplyError } from '../src/index.js';
import type { EmbeddedServer } from '../src/embedded-server.js';
import { embedded, login } from './helpers/embedded.js';
import { bytes, sha256 } from './helpers/tmp.js';
import { downloadAll } from './helpers/fake-client.js';

let srv: EmbeddedServer;
beforeAll(async () => {
  srv = await embedded();
});
afterAll(async () => {
  await srv.close();
});

const connect = async (extra: Partial<Parameters<typeof FtpClient.connect>[0]> = {}) =>
  FtpClient.connect({
    ...login(srv),
    timeoutMs: 5000,
    ...extra,
  });

describe('FtpClient against ftp-srv', () => {
  it("the embedded server's passive ports lie above the kernel's ephemeral range (inside it, ftp-srv answered EPSV 400 'Unable to find valid port' in CI)", async () => {
    const range = '/proc/sys/net/ipv4/ip_local_port_range';
    if (!fs.existsSync(range)) return; // Linux only
    const ephemeralMax = Number(fs.readFileSync(range, 'utf8').trim().split(/\s+/)[1]);
    const log: string[] = [];
    const client = await connect({ log: (l) => log.push(l) });
    for (let i = 0; i < 3; i++) await client.upload(`/ports-${i}.txt`, Buffer.from('p'));
    await client.quit();
    const ports = log.flatMap((l) => /229 .*\(\|\|\|(\d+)\|\)/.exec(l)?.[1] ?? []).map(Number);
    expect(ports).toHaveLength(3);
    for (const port of ports) expect(port).toBeGreaterThan(ephemeralMax);
  });

  it('runs the ftplib command set: pwd, mkd, cwd, upload, size, list, nlst, download, rename, delete, rmd', async () => {
    const log: string[] = [];
    const client = await connect({ log: (l) => log.push(l) });
    expect(await client.pwd()).toBe('/');
    await client.mkd('/site');
    await client.cwd('/site');
    expect(await client.pwd()).toBe('/site');
    const data = bytes(300_000, 7);
    expect(await client.upload('/site/a b#%.bin', data)).toBe(data.length);
    expect(await client.upload('rel.txt', Readable.from([Buffer.from('hello')]))).toBe(5);
    expect(await client.size('/site/a b#%.bin')).toBe(data.length);
    const entries = await client.list('/site');
    expect(entries.map((e) => [e.name, e.type, e.size]).sort()).toEqual([
      ['a b#%.bin', 'file', data.length],
      ['rel.txt', 'file', 5],
    ]);
    expect((await client.nlst('/site')).sort()).toEqual(['a b#%.bin', 'rel.txt']);
    expect(sha256(await downloadAll(client, '/site/a b#%.bin'))).toBe(sha256(data));
    await client.rename('/site/rel.txt', '/site/renamed.txt');
    expect(fs.readFileSync(path.join(srv.root, 'site/renamed.txt'), 'utf8')).toBe('hello');
    await client.delete('/site/renamed.txt');
    await client.delete('/site/a b#%.bin');
    await client.rmd('/site');
    expect(fs.existsSync(path.join(srv.root, 'site'))).toBe(false);
    await client.quit();
    expect(log.some((l) => l.startsWith('> PASS ***'))).toBe(true);
    expect(log.join('\n')).not.toContain(srv.password);
  });

  it('size() of an empty file is 0, though ftp-srv answers "213 File status" for it (its text for a 213 without one)', async () => {
    const client = await connect();
    await client.upload('/size-empty.txt', Buffer.alloc(0));
    // Before: FtpProtocolError "bad SIZE reply: File status".
    expect(await client.size('/size-empty.txt')).toBe(0);
    await client.upload('/size-one.txt', Buffer.from('x'));
    expect(await client.size('/size-one.txt')).toBe(1);
    await client.quit();
  });

  it('a refusal is an FtpReplyError and the client stays usable', async () => {
    const client = await connect();
    const err = await client.size('/missing.txt').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FtpReplyError);
    expect((err as FtpReplyError).code).toBe(550);
    expect((err as FtpReplyError).command).toBe('SIZE /missing.txt');
    expect(await client.pwd()).toBe('/');
    await client.quit();
  });

  it('a resume onto a missing file is a 550 refusal, not a reset, and the client stays usable (20 in a row)', async () => {
    // ftp-srv answers 150, fails to open the file for update, resets the data connection and then sends its
    // 550; a small upload is all written before the reset arrives (it was ECONNRESET in 22 of 30 runs).
    const client = await connect();
    const seen: string[] = [];
    for (let i = 0; i < 20; i++) {
      const err = await client
        .upload(`/resume-missing-${i}.bin`, bytes(1000, i), { offset: 500 })
        .catch((e: unknown) => e);
      seen.push(
        err instanceof FtpReplyError ? `${err.code} ${err.command}` : `not a refusal: ${String(err)}`,
      );
      expect(fs.existsSync(path.join(srv.root, `resume-missing-${i}.bin`))).toBe(false);
    }
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => `550 STOR /resume-missing-${i}.bin`));
    expect(client.closed).toBe(false);
    expect(await client.pwd()).toBe('/');
    await client.quit();
  });

  it('a wrong password is a 530 whose text never holds the password', async () => {
    const err = await connect({ password: 'sekrit-Wrong-42' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FtpReplyError);
    expect((err as FtpReplyError).code).toBe(530);
    expect((err as FtpReplyError).command).toBe('PASS ***');
    expect(String((err as Error).message) + String((err as Error).stack)).not.toContain('sekrit-Wrong-42');
  });

  it('after a socket error every call fails with "closed: <cause>"', async () => {
    const client = await connect();
    client.connection.socket.destroy(new Error('simulated reset'));
    await new Promise((r) => setTimeout(r, 20));
    const err = await client.pwd().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FtpClosedError);
    expect((err as Error).message).toMatch(/^closed: /);
  });

  it('active mode (EPRT, then PORT) moves the same bytes', async () => {
    const client = await connect({ passive: false });
    const data = bytes(100_000, 3);
    await client.upload('/active.bin', data);
    expect(sha256(await downloadAll(client, '/active.bin'))).toBe(sha256(data));
    await client.quit();
  });

  it('refuses CR, LF and NUL in arguments before sending, and stays usable', async () => {
    const log: string[] = [];
    const client = await connect({ log: (l) => log.push(l) });
    await expect(client.delete('x\r\nDELE y')).rejects.toThrow(/CR, LF or NUL/);
    await expect(client.mkd('a\0b')).rejects.toThrow(/CR, LF or NUL/);
    expect(log.some((l) => l.includes('DELE'))).toBe(false);
    expect(await client.pwd()).toBe('/');
    await client.quit();
  });
});
