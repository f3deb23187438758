// Builds the CommonJS entry points, for `require('ftpship')` and `require('ftpship/gulp')` (package.json's
// `require` conditions): most gulpfiles are CommonJS, and Node 20 cannot require() an ES module. Run by
// `npm run build` after tsc. One bundle, dist/cjs/ftpship.cjs, made by ncc from the ES modules tsc wrote
// (dist/src, dist/gulp-plugin), holds both: the library and the plugin share one engine (one copy of its code in
// the package, one set of error classes), and two small files pick their half of it. The runtime dependencies
// stay outside (require()d from node_modules, as the ES modules import them). The hashing thread's code is
// inline (src/engine/hash-worker.ts), so no file goes with it; the gulp plugin's exit helper
// (gulp-plugin/exit.ts) runs dist/gulp-plugin/exit-unlock.js, the ES module, in a child process. No source map:
// the bundle is tsc's output with its names, readable as it is.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const ncc = require('@vercel/ncc');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const out = path.join(root, 'dist', 'cjs');

fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });
// The entry, an ES module beside the bundle (the package is "type": "module"), removed once bundled.
const entry = path.join(out, 'entry.js');
fs.writeFileSync(
  entry,
  "export * as library from '../src/index.js';\nexport * as gulp from '../gulp-plugin/index.js';\n",
);
try {
  const { code, assets } = await ncc(entry, {
    cache: false,
    esm: false,
    externals: Object.keys(pkg.dependencies),
    quiet: true,
    target: 'es2022',
  });
  const extra = Object.keys(assets ?? {});
  if (extra.length > 0) throw new Error(`ncc wants files beside the CommonJS bundle: ${extra.join(', ')}`);
  // Printed again without comments (TypeScript's printer: names and code as they were), which takes the
  // bundle from ~190 kB to ~110 kB in the package; the commented modules are in dist/src and dist/gulp-plugin.
  const ts = require('typescript');
  const file = ts.createSourceFile('ftpship.cjs', code, ts.ScriptTarget.ES2022, false, ts.ScriptKind.JS);
  const body = ts.createPrinter({ removeComments: true }).printFile(file);
  fs.writeFileSync(
    path.join(out, 'ftpship.cjs'),
    `// The library and the gulp plugin, CommonJS: see scripts/build-cjs.mjs.\n${body}`,
  );
} finally {
  fs.rmSync(entry, { force: true });
}
const pick = (half, what) =>
  `'use strict';\n// ${what}, CommonJS: see scripts/build-cjs.mjs.\nmodule.exports = require('./ftpship.cjs').${half};\n`;
fs.writeFileSync(path.join(out, 'index.cjs'), pick('library', "require('ftpship')"));
fs.writeFileSync(path.join(out, 'gulp.cjs'), pick('gulp', "require('ftpship/gulp')"));

// Their types, for TypeScript compiling to CommonJS (package.json's `require` conditions): tsc's declarations
// of dist/src and dist/gulp-plugin, each copied as a .d.cts (a CommonJS module's types, whatever the package's
// "type"), with their relative imports renamed to match. The ES modules' own .d.ts files were refused there
// ("TS1479: … an ECMAScript module and cannot be imported with 'require'").
const types = path.join(out, 'types');
for (const dir of ['src', 'gulp-plugin']) {
  const from = path.join(root, 'dist', dir);
  for (const file of fs.readdirSync(from, { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.d.ts')) continue;
    const text = fs.readFileSync(path.join(from, file), 'utf8');
    const target = path.join(types, dir, file.replace(/\.d\.ts$/, '.d.cts'));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, text.replace(/(['"])(\.\.?\/[^'"]*)\.js\1/g, '$1$2.cjs$1'));
  }
}
fs.writeFileSync(path.join(out, 'index.d.cts'), "export * from './types/src/index.cjs';\n");
fs.writeFileSync(path.join(out, 'gulp.d.cts'), "export * from './types/gulp-plugin/index.cjs';\n");
