/** ftpship: fast, safe FTP/FTPS deploys. The public API. */
export * from './ftp/index.js';
