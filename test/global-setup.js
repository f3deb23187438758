// Jest's globalSetup: every temporary folder of a test run (tmpDir's, and whatever a spawned ftpship, gulp or
// npm puts in os.tmpdir()) goes into one folder, removed by global-teardown.js when the run ends. Before, each
// run of the suite left its folders in /tmp (about 1 GB).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export default function setup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ftpship-jest-'));
  // As /tmp itself: tests that run the CLI as another user (nobody) reach their folders in it.
  fs.chmodSync(dir, 0o1777);
  process.env.FTPSHIP_TEST_TMP = dir;
  // Read by os.tmpdir() in the test workers and in every process they start.
  process.env.TMPDIR = dir;
}
