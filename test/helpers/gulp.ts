/** Helpers for the gulp plugin tests: a consumer folder that resolves `ftpship` like an installed package. */
import fs from 'node:fs';
import path from 'node:path';
import { tmpDir } from './tmp.js';

export const repoRoot = path.resolve(process.cwd());

/** The built plugin must exist: the package's exports map points into dist/. */
export function requireBuild(): void {
  const built = path.join(repoRoot, 'dist/gulp-plugin/index.js');
  if (!fs.existsSync(built))
    throw new Error(`${built} is missing: run \`npm run build\` before these tests (npm test does)`);
}

/**
 * A folder outside the repo with `node_modules/ftpship` (this checkout) and `node_modules/gulp` linked in,
 * so `import { deploy } from 'ftpship/gulp'` goes through package.json's exports map as it does for a user.
 */
export function consumerDir(): string {
  const dir = tmpDir('ftpship-gulp-consumer-');
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(repoRoot, path.join(dir, 'node_modules/ftpship'), 'dir');
  for (const dep of ['gulp', 'vinyl', '@types'])
    fs.symlinkSync(path.join(repoRoot, 'node_modules', dep), path.join(dir, 'node_modules', dep), 'dir');
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
  return dir;
}
