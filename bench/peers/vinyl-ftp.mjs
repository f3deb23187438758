// Child process: vinyl-ftp 0.6.1 + gulp 5, the pipeline from BENCH-METHOD.md, then conn.clean.
import { createRequire } from 'node:module';
import path from 'node:path';
import { Writable } from 'node:stream';

const c = JSON.parse(process.argv[2]);
const require = createRequire(path.join(c.peersDir, 'package.json'));
const gulp = require('gulp');
const ftp = require('vinyl-ftp');

const conn = ftp.create({
  host: c.host,
  port: c.port,
  user: c.user,
  password: c.pass,
  parallel: c.parallel ?? 8,
  log: null,
});
const r = c.remoteDir;
const sink = () => new Writable({ objectMode: true, write: (_f, _e, cb) => cb() });
const done = (stream) =>
  new Promise((resolve, reject) => {
    stream.on('error', reject);
    stream.pipe(sink()).on('finish', resolve).on('error', reject);
  });
const fail = (e) => {
  console.error(e);
  process.exit(1);
};

const src = gulp
  .src('**/*', { cwd: c.local, base: c.local, dot: true, encoding: false, buffer: false })
  .on('error', fail);
const diff = conn.differentSize(r).on('error', fail);
await done(src.pipe(diff).pipe(conn.dest(r))).catch(fail);
// Observed: with this usage clean() deletes few or none of the removed files. Apparent cause: vinyl-ftp
// 0.6.1's glob() emits 'end' by hand while entries are still buffered behind the parallel transform.
await done(conn.clean([`${r}/**`], c.local, { base: r })).catch(fail);
process.exit(0);
