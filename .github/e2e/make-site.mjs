// Writes the fixture site for the end-to-end job: version 1, or version 2 (one file changed, one removed,
// one added, nested). Files under .git*/node_modules check FTP-Deploy-Action's default excludes.
// Usage: node .github/e2e/make-site.mjs <folder> v1|v2
import fs from 'node:fs';
import path from 'node:path';

const [dir, version] = process.argv.slice(2);
const files = {
  'index.html': version === 'v1' ? '<h1>v1</h1>\n' : '<h1>v2</h1>\n',
  'css/site.css': 'body { margin: 0 }\n',
  'img/pixel.bin': Buffer.alloc(70_000, 1),
  ...(version === 'v1' ? { 'old.html': 'old\n' } : { 'blog/2026/new.html': 'new\n' }),
};
fs.rmSync(dir, { recursive: true, force: true });
for (const [rel, content] of Object.entries({
  ...files,
  '.gitignore': 'x\n',
  'node_modules/m/index.js': 'x\n',
})) {
  fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  fs.writeFileSync(path.join(dir, rel), content);
}
