export { deploy } from './deploy.js';
export type { DeployOptions, Reporter, Progress, SourceFile } from './options.js';
export { DEFAULT_EXCLUDES, DEFAULT_STATE_NAME } from './options.js';
export type { DeployReport } from './report.js';
export { formatPlan, formatSummary, formatHeld, formatEstimate, formatBytes } from './report.js';
export type { PlanEntry, Action } from './plan.js';
export {
  CancelledError,
  ConfigError,
  DeployError,
  GuardError,
  exitCodeOf,
  type OptionKey,
} from './errors.js';
