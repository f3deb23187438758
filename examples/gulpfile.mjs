// examples/gulpfile.mjs — in this checkout: npm run build && npx gulp --gulpfile examples/gulpfile.mjs
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import gulp from 'gulp';
import { deploy } from 'ftpship/gulp';
import { startEmbeddedServer } from '../dist/src/embedded-server.js'; // the demo's FTP server (ftp-srv, a dev dependency)

export default async function demo() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ftpship-gulp-demo-'));
  const server = await startEmbeddedServer({ root });
  const options = {
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    remoteDir: '/public_html',
  };
  try {
    // encoding: false keeps images and fonts byte-identical (gulp 5); dot: true takes .htaccess along
    const site = () => gulp.src('site/**', { dot: true, encoding: false }); // gulp runs in the gulpfile's folder
    await pipeline(site(), deploy({ ...options, dryRun: true })); // logs the plan, changes nothing
    await pipeline(site(), deploy(options)); // uploads everything
    await pipeline(site(), deploy(options)); // nothing changed: nothing is sent
  } finally {
    await server.close();
  }
}
