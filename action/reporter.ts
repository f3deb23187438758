/** Adapts the engine's reporter port to the Actions log, following `log-level`. */
import * as core from '@actions/core';
import { formatBytes, type Progress, type Reporter } from '../src/index.js';
import type { LogLevel } from './constants.js';
import { phrase } from './phrase.js';

/** How often progress lines appear in the log (they are for humans watching a long first deploy). */
const PROGRESS_EVERY_MS = 10_000;

export function actionReporter(level: LogLevel): Reporter {
  let lastProgress = Date.now();
  return {
    info: (m) => (level === 'minimal' ? core.debug(m) : core.info(m)),
    warn: (m) => core.warning(phrase(m)),
    debug: (m) => (level === 'verbose' ? core.info(m) : core.debug(m)),
    // PASS is already redacted by the client; the password is masked by the runner as well.
    protocol: (line, id) =>
      level === 'verbose' ? core.info(`[${id}] ${line}`) : core.debug(`[${id}] ${line}`),
    progress: (p: Progress) => {
      if (level === 'minimal' || Date.now() - lastProgress < PROGRESS_EVERY_MS) return;
      lastProgress = Date.now();
      core.info(
        `progress: ${p.filesDone}/${p.filesTotal} files, ${formatBytes(p.bytesDone)} of ${formatBytes(p.bytesTotal)}`,
      );
    },
  };
}
