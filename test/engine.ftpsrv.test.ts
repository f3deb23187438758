import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { deploy, type DeployOptions } from '../src/index.js';
import type { EmbeddedServer } from '../src/embedded-server.js';
import { embedded } from './helpers/embedded.js';
import { bytes, readTree, tmpDir, writeTree } from './helpers/tmp.js';

let srv: EmbeddedServer;
beforeAll(async () => {
  srv = await embedded();
});
afterAll(async () => {
  await srv.close();
});

function opts(localDir: string, remoteDir: string, extra: Partial<DeployOptions> = {}): DeployOptions {
  return {
    localDir,
    host: srv.host,
    port: srv.port,
    user: srv.user,
    password: srv.password,
    remoteDir,
    retryDelayMs: 10,
    ...extra,
  };
}

describe('deploy against ftp-srv', () => {
  it('mirrors a tree, then a rerun changes nothing', async () => {
    const local = tmpDir();
    writeTree(local, {
      'index.html': '<h1>hi</h1>',
      '.htaccess': 'Deny from all',
      'a/b/c/deep.txt': 'deep',
      'img/logo.bin': bytes(200_000),
      'empty.txt': '',
      'sp ace/ü#%.txt': 'odd',
    });
    const r1 = await deploy(opts(local, '/site'));
    expect(r1.counts.upload).toBe(6);
    expect(readTree(path.join(srv.root, 'site'), ['.ftpship-state.json'])).toEqual(readTree(local));
    const stateBefore = fs.statSync(path.join(srv.root, 'site/.ftpship-state.json')).mtimeMs;
    const r2 = await deploy(opts(local, '/site'));
    expect(r2.counts).toEqual({ mkdir: 0, upload: 0, replace: 0, delete: 0, rmdir: 0, unchanged: 6 });
    expect(fs.statSync(path.join(srv.root, 'site/.ftpship-state.json')).mtimeMs).toBe(stateBefore);
  });
});
