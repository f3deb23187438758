// Jest's test environment: Node's, with a temporary folder of its own for each test file (inside the run's,
// made by global-setup.js). Test files run side by side (more than one worker), and some look at what is in
// os.tmpdir() (the gulp plugin's spool folders): another file's folders must not show there.
import fs from 'node:fs';
import path from 'node:path';
import { TestEnvironment } from 'jest-environment-node';

export default class PerFileTmpEnvironment extends TestEnvironment {
  async setup() {
    await super.setup();
    const run = process.env.FTPSHIP_TEST_TMP;
    if (!run) return;
    const dir = fs.mkdtempSync(path.join(run, 'file-'));
    // As the run's folder: tests that run the CLI as another user (nobody) reach their folders in it.
    fs.chmodSync(dir, 0o1777);
    // The worker's own environment (os.tmpdir(), and the processes the tests start), and the test file's copy.
    process.env.TMPDIR = dir;
    this.global.process.env.TMPDIR = dir;
  }
}
