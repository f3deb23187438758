/**
 * Every input and output name of the Action, as declared in `action.yml` (the single source of truth).
 * Inputs are read only in `inputs.ts`; outputs are set only in `main.ts`. `test/action-yml.test.ts` fails
 * when this file and `action.yml` disagree.
 */

/** Input names. FTP-Deploy-Action v4 names keep its meaning; the rest are ftpship's (PRODUCT.md). */
export enum Input {
  // FTP-Deploy-Action v4 names (a workflow switches by changing only its `uses:` line)
  Server = 'server',
  Username = 'username',
  Password = 'password',
  Port = 'port',
  /** ftp | ftps (explicit, AUTH TLS) | ftps-legacy (implicit). */
  Protocol = 'protocol',
  LocalDir = 'local-dir',
  ServerDir = 'server-dir',
  /** FDA's state file name in server-dir; ftpship keeps its state under that name when it is given (FDA's default aside). */
  StateName = 'state-name',
  DryRun = 'dry-run',
  Exclude = 'exclude',
  Timeout = 'timeout',
  LogLevel = 'log-level',
  /** FDA's certificate switch: loose = do not verify (same as insecure), strict = verify. */
  Security = 'security',
  // ftpship's own
  Files = 'files',
  Keep = 'keep',
  Delete = 'delete',
  Replace = 'replace',
  DeleteOnly = 'delete-only',
  MaxDelete = 'max-delete',
  Parallel = 'parallel',
  Atomic = 'atomic',
  StatePath = 'state-path',
  Insecure = 'insecure',
  TlsName = 'tls-name',
  TlsFingerprint = 'tls-fingerprint',
  ResetState = 'reset-state',
  Ca = 'ca',
  FileMode = 'file-mode',
  DirMode = 'dir-mode',
  Adopt = 'adopt',
  Verify = 'verify',
  UploadOnly = 'upload-only',
  MaintenanceFile = 'maintenance-file',
  MaintenanceContent = 'maintenance-content',
  MaintenanceUrl = 'maintenance-url',
  Active = 'active',
  Pipelining = 'pipelining',
  Encoding = 'encoding',
}

/** Output names, set in `main.ts` from the engine's report. */
export enum Output {
  Uploaded = 'uploaded',
  Replaced = 'replaced',
  Deleted = 'deleted',
  Unchanged = 'unchanged',
  FoldersMade = 'folders-made',
  FoldersRemoved = 'folders-removed',
  Bytes = 'bytes',
  Changed = 'changed',
  Plan = 'plan',
  SummaryFile = 'summary-file',
}

/** FTP-Deploy-Action v4 inputs ftpship does not declare; `inputs.ts` warns when a workflow still sets them. */
export enum FDA_UNSUPPORTED {
  CleanSlate = 'dangerous-clean-slate',
}

/** FTP-Deploy-Action v4's default excludes, kept so a switched workflow selects the same files. */
export const FDA_DEFAULT_EXCLUDES = ['**/.git*', '**/.git*/**', '**/node_modules/**'];

export type LogLevel = 'minimal' | 'standard' | 'verbose';
