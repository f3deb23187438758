export { FtpClient, type FtpConnectOptions, type UploadOptions, type DownloadOptions } from './client.js';
export type { FtpTlsOptions, Logger, SocketFactory } from './connection.js';
export type { FtpEncoding } from './encoding.js';
export {
  FtpReplyError,
  FtpClosedError,
  FtpProtocolError,
  FtpTimeoutError,
  FtpTlsError,
  FtpArgumentError,
  isTransientError,
  repliesBeforeFailure,
  certificateNames,
  LoginStage,
} from './errors.js';
export type { ListEntry, EntryType } from './list.js';
export { parseListing, parseNameList, isSafeName } from './list.js';
export { parseReplies, type FtpReply } from './reply.js';
export type { FileSource, ProgressInfo } from './transfer.js';
