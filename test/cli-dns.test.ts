/**
 * A DNS lookup that fails for now (EAI_AGAIN: the DNS server does not answer) is exit 1, "run it again", as
 * README's exit-code table says; a name the DNS says does not exist is exit 2 (cli.ftpsrv.test.ts).
 * Produced for real: the CLI runs in a mount namespace of its own (`unshare -rm`) whose /etc/resolv.conf names
 * a DNS server on loopback where nothing listens, so the system resolver (glibc's getaddrinfo) gets no answer.
 * Skipped, saying so, where user namespaces are not allowed.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { assertBuilt, BIN, spawnCli } from './helpers/cli-spawn.js';
import { tmpDir, writeTree } from './helpers/tmp.js';

const unshare = spawnSync('unshare', ['-rm', 'true']).status === 0;
if (!unshare) console.log('cli-dns: `unshare -rm` is not allowed here: skipping the EAI_AGAIN test');
const d = unshare ? describe : describe.skip;

d('a DNS server that does not answer (EAI_AGAIN)', () => {
  beforeAll(() => assertBuilt());

  it('exit 1 with one line naming the host, saying the lookup failed for now and to run it again', async () => {
    const dir = tmpDir('ftpship-h-cli3-dns-');
    const resolv = path.join(dir, 'resolv.conf');
    // 127.0.0.2:53: nothing there (the port answers "unreachable"); one try of one second.
    fs.writeFileSync(resolv, 'nameserver 127.0.0.2\noptions timeout:1 attempts:1\n');
    const site = path.join(dir, 'site');
    writeTree(site, { 'index.html': 'hi' });
    const password = 'pa:ss@w%rd#1';
    const r = await spawnCli(['deploy', site, 'ftp://deploy@ftp.example.com/public_html', '--json'], {
      command: [
        'unshare',
        '-rm',
        'sh',
        '-c',
        'mount --bind "$0" /etc/resolv.conf && exec "$@"',
        resolv,
        process.execPath,
        BIN,
      ],
      env: { FTPSHIP_PASSWORD: password },
    });
    expect({ code: r.code, stderr: r.stderr }).toEqual({
      code: 1,
      stderr:
        'ftpship: error: cannot look up host "ftp.example.com": the DNS lookup failed for now (EAI_AGAIN); check the network and its DNS, then run the deploy again\n',
    });
    expect(r.stdout).not.toContain(password);
  });
});
