/**
 * The two kinds of FTP error (STYLE practice 4):
 * - {@link FtpReplyError}: the server refused a command; the session is still usable.
 * - everything else (socket, timeout, protocol violation) closes the session; later calls fail with
 *   {@link FtpClosedError} ("closed: <cause>") carrying the original error as `cause`.
 */

import { fingerprintHowTo, PIN_MISMATCH } from './pin.js';
import type { FtpReply } from './reply.js';

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

  /** `hint`: what to try, added to the message (not to `serverMessage`). */
  constructor(code: number, serverMessage: string, command: string, hint = '') {
    const cmd = redactCommand(command);
    super(`${cmd ? `${cmd}: ` : ''}${code} ${serverMessage}${hint}`);
    this.code = code;
    this.command = cmd;
    this.serverMessage = serverMessage;
  }
}

/**
 * The control connection sent something that is not FTP, or too much of it: closes the client. A whole reply
 * whose content cannot be read (a PWD naming no folder, a SIZE or MDTM without a number) leaves the dialogue in
 * step: that call fails, and the client stays usable.
 */
export class FtpProtocolError extends Error {
  override name = 'FtpProtocolError';
}

/** What a login waits for after the greeting, as {@link FtpTimeoutError.afterGreeting} names it. */
export const LoginStage = {
  AuthTls: 'AUTH TLS',
  TlsHandshake: 'the TLS handshake',
  Login: 'USER and PASS',
  Settings: 'the session settings (FEAT, TYPE I, PWD)',
} as const;

/**
 * Added to the timeout of a greeting that never came, unless the connection was implicit TLS: a port that
 * speaks implicit TLS stays silent until the client's handshake, which a plain or explicit-TLS client never
 * starts.
 */
/** `host:port` for a message, an IPv6 address in brackets as in a URL: `[::1]:21`, where `::1:21` reads as all address. */
export function hostPort(host: string, port: number | string): string {
  return `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
}

export const IMPLICIT_TLS_PORT_HINT =
  '; a port that speaks implicit TLS (usually 990) stays silent until the client starts TLS: connect to it with implicit TLS';

/**
 * Ends the message of a timeout that named its command: what to do about it. The engine puts its CLI flag
 * (--timeout) in its place.
 */
export const RAISE_TIMEOUT_HINT = '; if the server is only slow, raise timeoutMs';

/** Ends the message of a connection not made in time, before {@link RAISE_TIMEOUT_HINT}. */
export const CHECK_ADDRESS_HINT = '; check the host, the port and the firewall';

/** No answer, or no data, within the timeout. Closes the client. */
export class FtpTimeoutError extends Error {
  override name = 'FtpTimeoutError';
  /** The command that got no reply in time (redacted: `PASS ***`), when one was waiting. */
  command?: string;
  /** The timeout that ran out, in milliseconds. */
  timeoutMs?: number;
  /**
   * Set when the server had greeted (220) and then went silent during the login: what it was asked for
   * ({@link LoginStage}). A slow server, not a wrong host or port.
   */
  afterGreeting?: string;
}

/**
 * The TLS handshake of the control connection failed: an untrusted or mismatched certificate, no common
 * protocol, or a server that answered 234 to AUTH TLS and then did not speak TLS. Closes the client; never
 * followed by a plaintext attempt (G5). `cause` is Node's error (its `code`, e.g. DEPTH_ZERO_SELF_SIGNED_CERT).
 */
export class FtpTlsError extends Error {
  override name = 'FtpTlsError';
  /** SHA-256 fingerprint (`AB:CD:…`) of the certificate the server presented, when it presented one. */
  readonly fingerprint?: string;
  /** The handshake was a data connection's (the control connection's had passed). */
  readonly data?: boolean;

  /**
   * `implicit`: the handshake was the first thing on the connection (implicit TLS), not after a 234 to AUTH
   * TLS; a reply in plain text then means the port speaks plain FTP. `data`: a data connection's handshake.
   * `fingerprint`: the presented certificate's, named with a certificate refused (to pin it, once checked).
   */
  constructor(
    host: string,
    port: number,
    cause: Error,
    {
      implicit = false,
      data = false,
      fingerprint,
    }: { implicit?: boolean; data?: boolean; fingerprint?: string } = {},
  ) {
    const code = (cause as NodeJS.ErrnoException).code ?? '';
    const certProblem = isCertificateError(cause);
    const names = certificateNames(cause);
    const dated = certificateOutOfDate(cause);
    const notTls = /WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|UNKNOWN_PROTOCOL|HTTP_REQUEST/.test(code);
    const pin = code === PIN_MISMATCH;
    const pinIt =
      // Not for a data connection: its certificate is not the control connection's (a pin of it would fail there).
      fingerprint && !pin && !data && (names || certProblem) && !dated
        ? `; the certificate's SHA-256 fingerprint is ${fingerprint}: if you have checked that it is your server's, pin it with the \`fingerprint\` TLS option (--tls-fingerprint ${fingerprint})`
        : '';
    const hint =
      pin && data
        ? ' — nothing was sent on this connection (no file data): the control connection had a pinned certificate and this data connection another, so something on the path may be intercepting data connections'
        : pin
          ? ` — nothing was sent on this connection (no user name or password): if the server's certificate was replaced, check the new one and pin it (${fingerprintHowTo(host, port, implicit)}); otherwise the connection may be intercepted`
          : names
            ? ` — the certificate is for ${names.join(', ')}: connect to one of those names, or check it against one with the \`servername\` TLS option (--tls-name NAME)`
            : dated
              ? ` — the certificate ${dated}: the server must be given a current one (or this machine's clock is wrong); trusting its CA (--ca) does not change that, rejectUnauthorized: false (--insecure) skips every check`
              : certProblem
                ? " — trust the server's CA with the `ca` option (--ca FILE), or opt out with rejectUnauthorized: false (--insecure)"
                : notTls && implicit
                  ? " — the server answered in plain text, not TLS: this port speaks plain FTP first; use explicit TLS on it (`secure: 'explicit'`, ftpes://), or the implicit-TLS port (usually 990)"
                  : notTls
                    ? ' — the server accepted AUTH TLS, then did not answer in TLS'
                    : '';
    const what = data ? 'TLS handshake of a data connection' : 'TLS handshake';
    super(`${what} with ${hostPort(host, port)} failed: ${opensslReason(cause)}${hint}${pinIt}`, { cause });
    if (fingerprint) this.fingerprint = fingerprint;
    if (data) this.data = true;
  }
}

/** A TLS error about the certificate (untrusted, out of date, for another name), not the connection. */
export function isCertificateError(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return /CERT|SELF_SIGNED|UNABLE_TO|ALTNAME|ISSUER/.test(code) || /certificate/i.test(err.message);
}

/**
 * An error's text without OpenSSL's internals: "wrong version number" for
 * "807C…:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/…:350:\n".
 */
function opensslReason(err: Error): string {
  const reason = (err as { reason?: unknown }).reason;
  if (typeof reason === 'string' && reason !== '' && /:SSL routines:/.test(err.message)) return reason;
  return err.message.trim();
}

/**
 * For a certificate outside its validity dates (CERT_HAS_EXPIRED, CERT_NOT_YET_VALID): "has expired" or "is
 * not valid yet". A CA given with --ca cannot fix it. Undefined for any other error.
 */
export function certificateOutOfDate(err: unknown): string | undefined {
  for (
    let e = err as { code?: unknown; cause?: unknown } | undefined;
    e && typeof e === 'object';
    e = e.cause as typeof e
  ) {
    if (e.code === 'CERT_HAS_EXPIRED') return 'has expired';
    if (e.code === 'CERT_NOT_YET_VALID') return 'is not valid yet';
  }
  return undefined;
}

/**
 * For a certificate that does not hold the name connected to (ERR_TLS_CERT_ALTNAME_INVALID): the names it
 * does hold (DNS names and IP addresses of its subjectAltName, else its CN). Undefined for any other error.
 */
export function certificateNames(err: unknown): string[] | undefined {
  // Duck-typed: Node's TLS errors may come from another realm (a test VM), where instanceof Error fails.
  for (
    let e = err as { code?: unknown; cause?: unknown } | undefined;
    e && typeof e === 'object';
    e = e.cause as typeof e
  ) {
    if ((e as NodeJS.ErrnoException).code !== 'ERR_TLS_CERT_ALTNAME_INVALID') continue;
    const cert = (e as { cert?: { subjectaltname?: string; subject?: { CN?: string | string[] } } }).cert;
    const alt = (cert?.subjectaltname ?? '')
      .split(',')
      .map((s) => s.trim().replace(/^(DNS|IP Address):/, ''))
      .filter(Boolean);
    const cn = cert?.subject?.CN;
    const names = alt.length > 0 ? alt : [cn].flat().filter((x): x is string => !!x);
    return names.length > 0 ? names : undefined;
  }
  return undefined;
}

/**
 * An argument refused before anything is sent: CR, LF or NUL in a command, a command line too long, a bad
 * connect setting (`secure: true`), offset, upload source or download stream. The client stays usable.
 */
export class FtpArgumentError extends Error {
  override name = 'FtpArgumentError';
}

/** The client is closed; `cause` says why (a socket error, a timeout, a protocol error, or quit()). */
export class FtpClosedError extends Error {
  override name = 'FtpClosedError';
  /**
   * The command the close cut off before its reply (redacted), for the call that was waiting on it; the
   * server may or may not have carried it out.
   */
  readonly command?: string;

  constructor(cause: Error, command?: string) {
    super(
      command === undefined
        ? `closed: ${cause.message}`
        : `closed: ${cause.message} while ${command} waited for its reply; whether the server carried it out is unknown`,
      { cause },
    );
    if (command !== undefined) this.command = command;
    if (cause.stack) this.stack = `${this.name}: ${this.message}\n  caused by ${cause.stack}`;
  }
}

/**
 * True for errors that mean "try again later, maybe on a new connection": 421, 425, 426, 450–452, resets,
 * hang-ups (code ERR_FTP_CONNECTION_CLOSED), a TLS data connection refused for not resuming the control
 * connection's session (code ERR_FTP_TLS_SESSION_REFUSED: a new connection has a new session), timeouts. Not: other refusals, TLS and protocol errors.
 */
export function isTransientError(err: unknown): boolean {
  if (err instanceof FtpReplyError) return [421, 425, 426, 450, 451, 452].includes(err.code);
  if (err instanceof FtpClosedError)
    return isTransientError(err.cause) || !(err.cause instanceof FtpReplyError);
  if (err instanceof FtpTimeoutError) return true;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return (
    typeof code === 'string' &&
    /^(ERR_FTP_CONNECTION_CLOSED|ERR_FTP_TLS_SESSION_REFUSED|ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|ECONNABORTED|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN)$/.test(
      code,
    )
  );
}

/** Connections cut (closed, reset) once logging in over an established session, by their error: see {@link cutWhileLoggingIn}. */
const cutLoggingIn = new WeakSet<object>();

/**
 * True for a connect that failed by a close or a reset after the server greeted it, and after TLS where asked,
 * while it logged in or settled the session: the host, port and TLS are right, the session was cut (a
 * network drop, a server's hiccup), and a new connection may well work.
 */
export function cutWhileLoggingIn(err: unknown): boolean {
  return typeof err === 'object' && err !== null && cutLoggingIn.has(err);
}

/** Notes `err` as a connect cut while logging in (see {@link cutWhileLoggingIn}); returns `err`, to throw. */
export function noteCutWhileLoggingIn<E>(err: E): E {
  if (typeof err === 'object' && err !== null) cutLoggingIn.add(err);
  return err;
}

/** The replies a write of several commands got before it failed, by its error (see {@link repliesBeforeFailure}). */
const repliesBefore = new WeakMap<object, FtpReply[]>();

/**
 * The final replies that a write of several commands (pipeline(), a download's `before`) got before it failed
 * (a reset, a close, a timeout), in order: the commands they answer were carried out as they say; whether the
 * ones after were is unknown. Empty for any other error.
 */
export function repliesBeforeFailure(err: unknown): FtpReply[] {
  return (typeof err === 'object' && err !== null && repliesBefore.get(err)) || [];
}

/** Notes on `err` the replies got before it (see {@link repliesBeforeFailure}); returns `err`, to throw. */
export function noteRepliesBefore(err: unknown, replies: FtpReply[]): unknown {
  if (typeof err === 'object' && err !== null && replies.length > 0) repliesBefore.set(err, [...replies]);
  return err;
}
