#!/usr/bin/env node
import fs from 'node:fs';
import { jsonFailure } from '../dist/src/json-failure.js';
import { holdSignals } from '../dist/src/signals.js';

// Ctrl-C from here on, while the CLI loads (a few hundred ms), is kept for the deploy, which then stops with its
// message and exit code 130 (before, the signal ended the process, with no word): first thing, so the rest of
// the modules load after it (dynamic imports). It also decides, before anything listens for SIGHUP, whether a
// hang-up cancels (exit 129) or stays ignored (started with nohup): src/signals.ts.
// A second SIGINT or SIGTERM meanwhile quits at once, saying so (with --json, on stdout too).
holdSignals((sig, code) => {
  const message = `${sig} again: quit at once while starting; nothing was changed`;
  process.stderr.write(`ftpship: error: ${message}\n`);
  jsonFailure(process.argv.slice(2), message, code);
});
const { prestartHashWorker } = await import('../dist/src/engine/hash-worker.js');
const { runMain } = await import('../dist/src/run-main.js');

const args = process.argv.slice(2);
// A deploy hashes every file on a thread that takes tens of milliseconds to boot: it boots while the CLI loads.
if (['deploy', 'plan'].includes(args[0]) && !args.some((a) => a === '--help' || a === '-h'))
  prestartHashWorker();

// The CLI in one file (dist/src/cli.bundle.js, made by `npm run build` after tsc): loading the ~45 modules
// behind dist/src/cli.js one by one costs every run tens of milliseconds. A bundle older than dist/src/cli.js
// (tsc run alone since) is not used: the modules are.
const bundle = new URL('../dist/src/cli.bundle.js', import.meta.url);
const modules = new URL('../dist/src/cli.js', import.meta.url);
const fresh = (() => {
  try {
    return fs.statSync(bundle).mtimeMs >= fs.statSync(modules).mtimeMs;
  } catch {
    return false;
  }
})();
const { main } = await import(fresh ? bundle.href : modules.href);

runMain(() => main(args), args);
