/**
 * A local folder whose name starts with a dash (`-dist`) reads as options: the usage error says to give it
 * after `--` (it said only "unknown option '-d…'"), and after `--` it is the folder.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { assertBuilt, spawnCli } from './helpers/cli-spawn.js';
import { tmpDir } from './helpers/tmp.js';

describe('a local folder named -dist', () => {
  beforeAll(() => assertBuilt());

  it('without --: exit 2 saying to give it after --; after --: it is the folder deployed', async () => {
    const cwd = tmpDir('ftpship-h-cli3-');
    fs.mkdirSync(path.join(cwd, '-dist'));
    fs.writeFileSync(path.join(cwd, '-dist', 'index.html'), 'home');
    // A port nothing listens on: a deploy that gets as far as connecting fails there (exit 1).
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
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
