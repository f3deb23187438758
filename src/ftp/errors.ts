/**
 * The two kinds of FTP error (STYLE practice 4):
 * - {@link FtpReplyError}: the server refused a command; the session is still usable.
 * - everything else (socket, timeout, protocol violation) closes the session; later calls fail with
 *   {@link FtpClosedError} ("closed: <cause>") carrying the original error as `cause`.
 */

/** Replaces the argument of commands that carry secrets, for logs and error messages. */
export function redactCommand(command: string): string {
  return /^(PASS|ACCT)\b/i.test(command) ? `${command.slice(0, 4).toUpperCase()} ***` : command;
}

/** The server answered a command with a reply of an unexpected class. The client stays usable. */
export class FtpReplyError extends Error {
  override name = 'FtpReplyError';
  /** The reply code, e.g. 550. */
  readonly code: number;
  /** The command that was refused, with secrets redacted (`PASS ***`). */
  readonly command: string;
  /** The server's reply text, lines joined with `\n`. */
  readonly serverMessage: string;

  constructor(code: number, serverMessage: string, command: string) {
    const cmd = redactCommand(command);
    super(`${cmd ? `${cmd}: ` : ''}${code} ${serverMessage}`);
    this.code = code;
    this.command = cmd;
    this.serverMessage = serverMessage;
  }
}

/** The control connection sent something that is not FTP, or too much of it. Closes the client. */
export class FtpProtocolError extends Error {
  override name = 'FtpProtocolError';
}

/** No answer, or no data, within the timeout. Closes the client. */
export class FtpTimeoutError extends Error {
  override name = 'FtpTimeoutError';
}

/**
 * The TLS handshake of the control connection failed: an untrusted or mismatched certificate, no common
 * protocol, or a server that answered 234 to AUTH TLS and then did not speak TLS. Closes the client; never
 * followed by a plaintext attempt (G5). `cause` is Node's error (its `code`, e.g. DEPTH_ZERO_SELF_SIGNED_CERT).
 */
export class FtpTlsError extends Error {
  override name = 'FtpTlsError';
  constructor(host: string, port: number, cause: Error) {
    const code = (cause as NodeJS.ErrnoException).code ?? '';
    const certProblem =
      /CERT|SELF_SIGNED|UNABLE_TO|ALTNAME|ISSUER/.test(code) || /certificate/i.test(cause.message);
    const hint = certProblem
      ? " — trust the server's CA with the `ca` option (--ca FILE), or opt out with rejectUnauthorized: false (--insecure)"
      : '';
    super(`TLS handshake with ${host}:${port} failed: ${cause.message}${hint}`, { cause });
  }
}

/** A command argument the client refuses to send (CR, LF or NUL inside it). The client stays usable. */
export class FtpArgumentError extends Error {
  override name = 'FtpArgumentError';
}

/** The client is closed; `cause` says why (a socket error, a timeout, a protocol error, or quit()). */
export class FtpClosedError extends Error {
  override name = 'FtpClosedError';
  constructor(cause: Error) {
    super(`closed: ${cause.message}`, { cause });
    if (cause.stack) this.stack = `${this.name}: ${this.message}\n  caused by ${cause.stack}`;
  }
}

/**
 * True for errors that mean "try again later, maybe on a new connection": 421, 425, 426, 450–452, resets,
 * hang-ups (code ERR_FTP_CONNECTION_CLOSED), timeouts. Not: other refusals, TLS and protocol errors.
 */
export function isTransientError(err: unknown): boolean {
  if (err instanceof FtpReplyError) return [421, 425, 426, 450, 451, 452].includes(err.code);
  if (err instanceof FtpClosedError)
    return isTransientError(err.cause) || !(err.cause instanceof FtpReplyError);
  if (err instanceof FtpTimeoutError) return true;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return (
    typeof code === 'string' &&
    /^(ERR_FTP_CONNECTION_CLOSED|ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|ECONNABORTED|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN)$/.test(
      code,
    )
  );
}
