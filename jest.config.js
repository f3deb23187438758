/** @type {import('jest').Config} */
export default {
  testEnvironment: '<rootDir>/test/environment.js',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testTimeout: 30000,
  // At least two test files at a time. Jest's default, one less than the cores, is one on CI's two-core
  // runner: the files then ran one after another, and most of their time is spent waiting (on the FTP
  // servers, on the retry backoffs and lock pauses the product takes), not computing. Files share the real
  // servers through folders of their own (remoteFolders()), never the whole FTP root. Two on any machine:
  // the number CI runs with; more files at once against the same three servers (and their client limits)
  // is untried.
  maxWorkers: 2,
  // One temporary folder per run, removed at its end (test/global-setup.js).
  globalSetup: '<rootDir>/test/global-setup.js',
  globalTeardown: '<rootDir>/test/global-teardown.js',
  // ftp-srv leaves a timer behind on close, and a leaked socket must never hang CI: end the run when tests end.
  forceExit: true,
};
