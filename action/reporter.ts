/** Adapts the engine's reporter port to the Actions log, following `log-level`. */
import * as core from '@actions/core';
import { formatBytes, type Progress, type Reporter } from '../src/index.js';
import type { LogLevel } from './constants.js';
import { logSafe, phrase } from './phrase.js';

/** How often progress lines appear in the log (they are for humans watching a long first deploy). */
const PROGRESS_EVERY_MS = 10_000;

export function actionReporter(level: LogLevel): Reporter {
  let lastProgress = Date.now();
  // Every message may carry server text (replies, file names): none may start a workflow command.
  const info = (m: string): void => core.info(logSafe(m));
  const debug = (m: string): void => core.debug(logSafe(m));
  return {
    // Engine messages name CLI flags (`--exclude`, `--state`): the log names the inputs, as for warnings.
    info: (m) => (level === 'minimal' ? debug(phrase(m)) : info(phrase(m))),
    warn: (m) => core.warning(logSafe(phrase(m))),
    debug: (m) => (level === 'verbose' ? info(m) : debug(m)),
    // PASS is already redacted by the client; the password is masked by the runner as well.
    protocol: (line, id) => (level === 'verbose' ? info(`[${id}] ${line}`) : debug(`[${id}] ${line}`)),
    progress: (p: Progress) => {
      if (level === 'minimal' || Date.now() - lastProgress < PROGRESS_EVERY_MS) return;
      lastProgress = Date.now();
      core.info(
        `progress: ${p.filesDone}/${p.filesTotal} files, ${formatBytes(p.bytesDone)} of ${formatBytes(p.bytesTotal)}`,
      );
    },
  };
}
