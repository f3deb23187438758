/**
 * The gulp plugin's runs in one process that target one folder under two spellings of remoteDir (`/site` and
 * `site/`, one folder where the login folder is `/`): the later waits for the earlier, never racing it for the
 * server's lock. Real gulp 5 tasks against pure-ftpd (its lock is a real MKD).
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterEach, expect, it, jest } from '@jest/globals';
import gulp from 'gulp';
import { deploy, type GulpDeployOptions } from '../gulp-plugin/index.js';
import type { DeployReport } from '../src/engine/report.js';
import { gulpOptions, runTaskOrThrow } from './helpers/gulp-tasks.js';
import { realServerSuite, remoteFolders, type RealServer } from './helpers/real-servers.js';
import { tmpDir, writeTree } from './helpers/tmp.js';

const { describe, env, opts } = realServerSuite('gulp lock');
const target = remoteFolders('h-gulp4-lock');

afterEach(() => {
  jest.restoreAllMocks();
});

const gulpOpts = (server: RealServer, remoteDir: string, extra: Partial<GulpDeployOptions> = {}) =>
  gulpOptions(opts(server, '', remoteDir), extra);

describe('gulp plugin: two runs to one target spelled two ways', () => {
  it('pure-ftpd: a run to `site/` that starts while one to `/site` deploys waits for it, then deploys', async () => {
    const server = env.pure;
    const { dir, disk } = target(server);
    const local = tmpDir();
    writeTree(local, { 'index.html': 'one', 'css/a.css': 'a{}' });
    const src = (): NodeJS.ReadWriteStream => gulp.src('**/*', { cwd: local, dot: true, encoding: false });
    await runTaskOrThrow(() => src().pipe(deploy(gulpOpts(server, dir))));

    // The first run's maintenance hook is called while it holds the lock; it answers once the second run is
    // waiting, or has failed.
    let holding = (): void => undefined;
    const held = new Promise<void>((resolve) => (holding = resolve));
    let letGo = (): void => undefined;
    const released = new Promise<void>((resolve) => (letGo = resolve));
    const hook = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        holding();
        void released.then(() => res.writeHead(204).end());
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
    const logged: string[] = [];
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      logged.push(String(chunk));
      if (String(chunk).includes('waiting for the deploy')) letGo();
      return true;
    });

    const reports: DeployReport[] = [];
    const first = (): NodeJS.ReadWriteStream => {
      fs.writeFileSync(path.join(local, 'index.html'), 'two');
      return src().pipe(
        deploy(gulpOpts(server, dir, { maintenanceUrl: hookUrl, onReport: (r) => reports.push(r) })),
      );
    };
    const relative = `${dir.slice(1)}/`;
    const second = async (): Promise<void> => {
      await held;
      fs.writeFileSync(path.join(local, 'index.html'), 'three');
      await runTaskOrThrow(() =>
        src().pipe(deploy(gulpOpts(server, relative, { quiet: false, onReport: (r) => reports.push(r) }))),
      ).finally(letGo);
    };
    try {
      await runTaskOrThrow(gulp.parallel(first, second));
    } finally {
      hook.closeAllConnections();
      hook.close();
    }
    // Was: the second run failed at once, "another deploy holds the lock /h-gulp4-lock-…/.ftpship-state.json.lock".
    expect(logged.join('')).toContain(
      `ftpship: waiting for the deploy to 127.0.0.1 ${relative} this process started before this one`,
    );
    expect(reports.map((r) => r.counts.replace)).toEqual([1, 1]);
    expect(fs.readFileSync(path.join(disk, 'index.html'), 'utf8')).toBe('three');
  });
});
