// The bundled Action against real servers started by test/servers/start.sh (skipped when they are not):
// pure-ftpd over explicit TLS with the certificate verified, vsftpd over implicit TLS (ftps-legacy).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { expectSuccess, runAction } from './helpers/action.js';
import { loadRealServers, remoteFolders, type RealServer } from './helpers/real-servers.js';
import { readTree, tmpDir, writeTree } from './helpers/tmp.js';

const servers = loadRealServers('action.realservers');
const d = servers ? describe : describe.skip;
// A folder of its own on each server (was: the whole FTP root emptied, under other test files using it).
const target = remoteFolders('action');

function inputs(server: RealServer, protocol: string, dir: string): Record<string, string> {
  return {
    server: 'localhost',
    port: String(server.port),
    username: server.user,
    password: server.password,
    protocol,
    ca: fs.readFileSync(servers?.ca as string, 'utf8'),
    'local-dir': 'dist/',
    'server-dir': `${dir}/www/`,
  };
}

d('the bundled Action against real servers', () => {
  it.each([
    ['pure', 'ftps'],
    ['vsftpdImplicit', 'ftps-legacy'],
  ] as const)('%s over %s: deploy, change, redeploy', async (key, protocol) => {
    const server = (servers as unknown as Record<string, RealServer>)[key];
    const { dir, disk } = target(server);
    const ws = tmpDir('ftpship-ws-');
    const site = path.join(ws, 'dist');
    writeTree(site, { 'index.html': 'one', 'css/a.css': 'a', 'old.txt': 'old' });
    const first = await runAction(ws, inputs(server, protocol, dir));
    expectSuccess(first);
    expect(first.outputs).toMatchObject({ uploaded: '3', changed: 'true' });
    expect(readTree(path.join(disk, 'www'), ['.ftpship-state.json'])).toEqual(readTree(site));

    fs.writeFileSync(path.join(site, 'index.html'), 'two');
    fs.rmSync(path.join(site, 'old.txt'));
    const second = await runAction(ws, inputs(server, protocol, dir));
    expectSuccess(second);
    expect(second.outputs).toMatchObject({ uploaded: '0', replaced: '1', deleted: '1', unchanged: '1' });
    expect(readTree(path.join(disk, 'www'), ['.ftpship-state.json'])).toEqual(readTree(site));
  });
});
