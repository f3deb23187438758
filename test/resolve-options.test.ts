/**
 * deploy()'s options as the library, the gulp plugin and the Action give them (resolveOptions): the defaults a
 * user relies on without writing them, and values refused before anything connects, each error naming the
 * value and what to write. (The CLI's own checks of its flags: cli-args.test.ts.)
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ConfigError } from '../src/engine/errors.js';
import { DEFAULT_EXCLUDES, type DeployOptions } from '../src/engine/options.js';
import { resolveOptions } from '../src/engine/resolve.js';
import { tmpDir } from './helpers/tmp.js';

const base: DeployOptions = { host: 'ftp.example.com', user: 'deploy', password: 'pw', files: [] };
const resolved = (o: Partial<DeployOptions>) => resolveOptions({ ...base, ...o } as DeployOptions);
const refusal = (o: Partial<DeployOptions>): string => {
  try {
    resolved(o);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error(`accepted: ${JSON.stringify(o)}`);
};

describe('defaults', () => {
  it('implicit TLS connects to port 990 unless told otherwise; plain and explicit TLS to 21', () => {
    expect(resolved({ secure: 'implicit' }).port).toBe(990);
    expect(resolved({ secure: 'implicit', port: 2990 }).port).toBe(2990);
    expect(resolved({ secure: 'explicit' }).port).toBe(21);
    expect(resolved({}).port).toBe(21);
  });

  it("FTP-Deploy-Action's state file named as the state (as copied from a workflow, with or without ./): ftpship keeps its own beside it", () => {
    for (const statePath of ['.ftp-deploy-sync-state.json', './.ftp-deploy-sync-state.json']) {
      const o = resolved({ statePath });
      expect(o.statePath).toBe('.ftpship-state.json');
      expect(o.fdaStateNamed).toBe(statePath);
    }
    expect(resolved({ statePath: 'meta/state.json' }).statePath).toBe('meta/state.json');
  });

  it('the default excludes (.git, node_modules) come first, unless replaceDefaultExcludes', () => {
    expect(resolved({ exclude: ['*.map'] }).exclude).toEqual([...DEFAULT_EXCLUDES, '*.map']);
    expect(DEFAULT_EXCLUDES).toEqual(expect.arrayContaining(['**/.git/**', '**/node_modules/**']));
    expect(resolved({ exclude: ['*.map'], replaceDefaultExcludes: true }).exclude).toEqual(['*.map']);
  });

  it('exclude and keep globs typed in NFD (macOS) are read in NFC, as the walk and the state name files', () => {
    const nfd = 'cafe\u0301/**';
    const o = resolved({ exclude: [nfd], keep: [nfd], replaceDefaultExcludes: true });
    expect(o.exclude).toEqual([nfd.normalize('NFC')]);
    expect(o.keep).toEqual([nfd.normalize('NFC')]);
  });
});

describe('refused before anything connects', () => {
  it('port 0 or 65536: a whole number from 1 to 65535', () => {
    for (const port of [0, 65536, 21.5])
      expect(refusal({ port })).toBe(`invalid port ${port}; use a whole number from 1 to 65535`);
  });

  it('a user with an empty password (a secret that is not set reads as empty): says where the password goes', () => {
    for (const password of ['', undefined])
      expect(refusal({ password })).toMatch(
        /^no password for user "deploy"; give one \(ftpship CLI: FTPSHIP_PASSWORD/,
      );
    expect(resolved({ user: undefined, password: '' }).user).toBe('anonymous');
  });

  it('a local folder below a file (ENOTDIR): "does not exist", with the folder the path is read from', () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'file'), 'x');
    const localDir = path.join(dir, 'file', 'dist');
    expect(refusal({ files: undefined, localDir })).toBe(
      `local folder ${JSON.stringify(localDir)} does not exist; check the path (relative to ${process.cwd()})`,
    );
  });
});
