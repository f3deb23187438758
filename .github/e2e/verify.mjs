// Checks for the end-to-end job; each exits 1 with a ::error:: line when the check fails.
//   node verify.mjs tree <server folder> <local folder>   the server holds exactly the deployable local files
//   node verify.mjs outputs key=value …                   the step outputs in $OUTPUTS (toJSON) match
//   node verify.mjs snapshot <folder> <file>              records every file's hash and mtime
//   node verify.mjs same <folder> <file>                  nothing changed since the snapshot
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const STATE = '.ftpship-state.json';
const EXCLUDED = /(^|\/)(\.git[^/]*|node_modules)(\/|$)/; // FTP-Deploy-Action's default excludes

function walk(root, rel = '', out = {}) {
  for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) walk(root, r, out);
    else
      out[r] = crypto
        .createHash('sha256')
        .update(fs.readFileSync(path.join(root, r)))
        .digest('hex');
  }
  return out;
}

function fail(message) {
  console.log(`::error::${message}`);
  process.exit(1);
}

function same(a, b, what) {
  const ja = JSON.stringify(a, Object.keys(a).sort(), 1);
  const jb = JSON.stringify(b, Object.keys(b).sort(), 1);
  if (ja !== jb) fail(`${what} differ:\nexpected ${jb}\nactual   ${ja}`);
  console.log(`ok: ${what}`);
}

const [check, ...args] = process.argv.slice(2);
if (check === 'tree') {
  const [server, local] = args;
  const remote = walk(server);
  delete remote[STATE];
  const wanted = Object.fromEntries(Object.entries(walk(local)).filter(([p]) => !EXCLUDED.test(p)));
  same(remote, wanted, `files on the server (${server}) and deployable files in ${local}`);
} else if (check === 'outputs') {
  const outputs = JSON.parse(process.env.OUTPUTS ?? '{}');
  const wanted = Object.fromEntries(args.map((a) => a.split('=')));
  same(Object.fromEntries(Object.keys(wanted).map((k) => [k, outputs[k]])), wanted, 'step outputs');
  if (!fs.existsSync(outputs.plan ?? ''))
    fail(`the plan output ${JSON.stringify(outputs.plan)} names no file`);
} else if (check === 'snapshot' || check === 'same') {
  const [dir, file] = args;
  const now = Object.fromEntries(
    Object.entries(walk(dir)).map(([p, h]) => [p, `${h} ${fs.statSync(path.join(dir, p)).mtimeMs}`]),
  );
  if (check === 'snapshot') fs.writeFileSync(file, JSON.stringify(now));
  else same(now, JSON.parse(fs.readFileSync(file, 'utf8')), `${dir} before and after`);
} else {
  fail(`unknown check ${check}`);
}
