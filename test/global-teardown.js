// Jest's globalTeardown: removes the run's temporary folder made by global-setup.js.
import fs from 'node:fs';
import path from 'node:path';

export default function teardown() {
  const dir = process.env.FTPSHIP_TEST_TMP;
  if (dir && path.basename(dir).startsWith('ftpship-jest-'))
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}
