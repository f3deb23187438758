// A cancelled workflow, as the runner does it: SIGINT to the Action's process, then SIGTERM about 7.5 s later
// if it is still running, then a kill. Run through the Action's source (action/main.ts) in this process: the
// signals are delivered to its listeners with process.emit, and process.exit is replaced (for this file only,
// jest gives each file its own `process`) by a mark in the log, so that what was written before it can be read.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { EmbeddedServer } from '../src/embedded-server.js';
import { actionConnection, actionWorkspace, expectSuccess, type ActionRun } from './helpers/action.js';
import { runMain } from './helpers/action-main.js';
import { embedded } from './helpers/embedded.js';
import { holdingProxy } from './helpers/faults.js';
import { readTree } from './helpers/tmp.js';

let srv: EmbeddedServer;
beforeAll(async () => {
  srv = await embedded();
  // Exits asked for are marked in the log (runMain captures it) where they happen; the deploy then goes on.
  process.exit = ((code?: number) => {
    process.stdout.write(`${EXITED}${Number(code ?? 0)}\n`);
  }) as typeof process.exit;
});
afterAll(async () => {
  await srv.close();
});

const EXITED = '[test: process.exit] ';

/** The last line shown of the log up to the first exit asked for with `code`; undefined if none was. */
function lastLineBeforeExit(stdout: string, code: number): string | undefined {
  const at = stdout.indexOf(`${EXITED}${code}\n`);
  if (at < 0) return undefined;
  // The runner shows ::debug:: lines only with debug logging on.
  const shown = stdout
    .slice(0, at)
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('::debug::'));
  return shown[shown.length - 1];
}

const lastLine = (text: string): string => text.trimEnd().split('\n').slice(-1)[0];

describe('a cancelled workflow', () => {
  it('SIGINT mid-upload: the deploy stops, unlocks, and its last line says so; a rerun converges', async () => {
    const { ws } = actionWorkspace({ 'a.txt': 'a', 'b.txt': 'b', 'c.txt': 'c' });
    const proxy = await holdingProxy(srv.port, /^STOR .*[abc]\.txt/, () => {
      process.emit('SIGINT', 'SIGINT');
      proxy.release();
    });
    try {
      const run = await runMain(ws, { ...actionConnection({ ...srv, port: proxy.port }, 'cancel-int/') });
      expect(run.status).toBe(1);
      expect(run.stdout).toContain('::warning::SIGINT: the workflow was cancelled; stopping the deploy');
      expect(lastLine(run.stdout)).toMatch(/^::error::deploy cancelled \(SIGINT\): .*the lock released/);
    } finally {
      await proxy.close();
    }
    expect(fs.existsSync(path.join(srv.root, 'cancel-int', '.ftpship-state.json.lock'))).toBe(false);
    expectSuccess(await runMain(ws, actionConnection(srv, 'cancel-int/')));
    expect(readTree(path.join(srv.root, 'cancel-int'), ['.ftpship-state.json'])).toEqual(
      readTree(path.join(ws, 'public')),
    );
  });

  it("the runner's SIGTERM while the deploy is still stopping: quits at once, its last line says what it left (was: no word at all)", async () => {
    const { ws } = actionWorkspace({ 'a.txt': 'a', 'b.txt': 'b' });
    let run: ActionRun | undefined;
    const proxy = await holdingProxy(srv.port, /^STOR .*[abc]\.txt/, () => {
      // The way out still under way when the runner's SIGTERM comes.
      process.emit('SIGINT', 'SIGINT');
      process.emit('SIGTERM', 'SIGTERM');
      proxy.release();
    });
    try {
      run = await runMain(ws, actionConnection({ ...srv, port: proxy.port }, 'cancel-term/'));
    } finally {
      await proxy.close();
    }
    expect(lastLineBeforeExit(run?.stdout ?? '', 143)).toMatch(
      /^::error::SIGTERM while the deploy was stopping: quit at once, without recording the last steps in the state; the lock, if it was taken, is left on the server: .*Run the workflow again to finish the deploy$/,
    );
  });

  it('the same during a dry run: says nothing was changed', async () => {
    const { ws } = actionWorkspace({ 'a.txt': 'a' });
    let run: ActionRun | undefined;
    const proxy = await holdingProxy(srv.port, /^(MLSD|LIST|RETR|SIZE)\b/, () => {
      process.emit('SIGINT', 'SIGINT');
      process.emit('SIGTERM', 'SIGTERM');
      proxy.release();
    });
    try {
      run = await runMain(ws, {
        ...actionConnection({ ...srv, port: proxy.port }, 'cancel-dry/'),
        'dry-run': 'true',
      });
    } finally {
      await proxy.close();
    }
    expect(lastLineBeforeExit(run?.stdout ?? '', 143)).toBe(
      '::error::SIGTERM while the dry run was stopping: quit at once; a dry run, nothing was changed',
    );
  });
});
