// Bundles the CLI (dist/src/cli.js, built by tsc, and its dependencies) into one file, dist/src/cli.bundle.js,
// which bin/ftpship.js loads: one module instead of ~45 (ftpship's own, commander's, picomatch's) saves the ESM
// loader's resolve/load/link work of each at every start. Run by `npm run build` after tsc. The library
// (dist/src/index.js) is not bundled. `ftpship demo` and cli-progress stay outside (webpackIgnore imports).
// The source map points into dist/src/*.js (shipped, with their own maps to src/*.ts): `node
// --enable-source-maps` names those files and lines in a stack trace.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const distSrc = path.join(root, 'dist', 'src');
const out = path.join(distSrc, 'cli.bundle.js');
const ncc = createRequire(import.meta.url)('@vercel/ncc');

const { code, map } = await ncc(path.join(distSrc, 'cli.js'), {
  cache: false,
  sourceMap: true,
  sourceMapRegister: false,
  quiet: true,
  target: 'es2022',
});
const sourceMap = JSON.parse(map);
// ncc names sources "../" + their path from the project root: make them relative to dist/src, and a
// dependency's relative to the package's node_modules (not to this machine's).
sourceMap.sources = sourceMap.sources.map((s) => {
  if (!s.startsWith('../')) return s;
  const abs = path.resolve(root, s.slice(3));
  const inModules = abs.lastIndexOf(`${path.sep}node_modules${path.sep}`);
  if (inModules >= 0)
    return `../../node_modules/${abs
      .slice(inModules + 14)
      .split(path.sep)
      .join('/')}`;
  return path.relative(distSrc, abs).split(path.sep).join('/');
});
delete sourceMap.sourcesContent; // the files themselves are in dist/src
sourceMap.file = 'cli.bundle.js';
// Each module's own sourceMappingURL comment (tsc's) goes: the bundle's map is the one to read.
const body = `${code.replace(/^\/\/# sourceMappingURL=.*$/gm, '').trimEnd()}\n`;
fs.writeFileSync(`${out}.map`, JSON.stringify(sourceMap));
fs.writeFileSync(out, `${body}//# sourceMappingURL=cli.bundle.js.map\n`);
