/**
 * `ftpship demo`: deploys the bundled example site to an embedded FTP server on 127.0.0.1, changes two
 * files, shows the plan, deploys again, and prints the server's tree.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmbeddedServer, type EmbeddedServer } from './embedded-server.js';
import {
  CancelledError,
  deploy,
  formatEstimate,
  formatPlan,
  formatSummary,
  type DeployOptions,
} from './engine/index.js';
import { cancelOnSignals, quitAtOnce } from './signals.js';

export async function runDemo(
  print: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<number> {
  // Ctrl-C or SIGTERM (one held while the CLI started, too) stops the demo as it stops a deploy: its deploy
  // cancelled, the embedded server closed, its temporary folder removed, exit 130 / 143 with a word. A second
  // signal exits at once: the folder still goes (on 'exit').
  const cancel = cancelOnSignals((sig) =>
    print(`${sig}: stopping the demo (closing the embedded server, removing its files); ${quitAtOnce(sig)}`),
  );
  let work: string | undefined;
  const removeWork = (): void => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  };
  process.on('exit', removeWork);
  let server: EmbeddedServer | undefined;
  try {
    const stopIfCancelled = (): void => {
      if (cancel.signal.aborted) throw new CancelledError('cancelled');
    };
    stopIfCancelled();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'ftpship-demo-'));
    const local = path.join(work, 'site');
    const serverRoot = path.join(work, 'server');
    fs.mkdirSync(serverRoot);
    fs.cpSync(findExampleSite(), local, { recursive: true });
    server = await startEmbeddedServer({ root: serverRoot });
    stopIfCancelled();
    print(
      `embedded FTP server on ftp://${server.user}@${server.host}:${server.port}/ (files in ${serverRoot})`,
    );
    const options: DeployOptions = {
      localDir: local,
      host: server.host,
      port: server.port,
      user: server.user,
      password: server.password,
      remoteDir: '/public_html',
      signal: cancel.signal,
    };
    const reporter = { warn: (m: string) => print(`warning: ${m}`) };
    print('\n1. plan of the first deploy:');
    printPlan(await deploy({ ...options, dryRun: true }), print);
    print(`\n2. ${formatSummary(await deploy(options, reporter))}`);
    stopIfCancelled();
    fs.appendFileSync(path.join(local, 'about.html'), '<!-- edited -->\n');
    fs.writeFileSync(path.join(local, 'blog/second-post.html'), '<h1>Second post</h1>\n');
    print('\n3. changed about.html and added blog/second-post.html; the plan now:');
    printPlan(await deploy({ ...options, dryRun: true }), print);
    print(`\n4. ${formatSummary(await deploy(options, reporter))}`);
    stopIfCancelled();
    print('\n5. the server now holds:');
    for (const line of listTree(path.join(serverRoot, 'public_html'))) print(`  ${line}`);
  } catch (err) {
    // Cancelled: whatever the step stopped with (a deploy's CancelledError, a socket cut by the close).
    if (!cancel.signal.aborted) throw err;
  } finally {
    await server?.close();
    removeWork();
    process.off('exit', removeWork);
    cancel.dispose();
  }
  if (!cancel.signal.aborted) return 0;
  print(
    `ftpship: error: demo cancelled (${String(cancel.signal.reason)}): the embedded server is closed and its temporary files removed`,
  );
  cancel.exitSoon(cancel.exitCode); // a socket still closing does not keep it waiting
  return cancel.exitCode;
}

function printPlan(report: Awaited<ReturnType<typeof deploy>>, print: (l: string) => void): void {
  for (const l of formatPlan(report)) print(l);
  print(`  = ${formatSummary(report)}`);
  const estimate = formatEstimate(report);
  if (estimate) print(`    ${estimate}`);
}

function findExampleSite(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  for (const up of ['../examples/site', '../../examples/site']) {
    const p = path.resolve(here, up);
    if (fs.existsSync(p)) return p;
  }
  throw new Error('the example site (examples/site) is missing from this installation');
}

function listTree(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of fs
    .readdirSync(path.join(root, rel), { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(`${r}/`, ...listTree(root, r));
    else out.push(`${r} (${fs.statSync(path.join(root, r)).size} B)`);
  }
  return out;
}
