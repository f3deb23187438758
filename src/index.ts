/** ftpship: fast, safe FTP/FTPS deploys. The public API: the deploy engine and the FTP/FTPS client. */
export * from './ftp/index.js';
export * from './engine/index.js';
