/**
 * The control connection: owns the socket, turns bytes into replies, sends commands, applies timeouts,
 * logs the dialogue (PASS redacted) and closes itself on any socket, timeout or protocol error.
 * It sends no FTP commands of its own (STYLE practice 1).
 */
import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import {
  FtpArgumentError,
  FtpClosedError,
  FtpProtocolError,
  FtpReplyError,
  FtpTimeoutError,
  FtpTlsError,
  CHECK_ADDRESS_HINT,
  hostPort,
  RAISE_TIMEOUT_HINT,
  redactCommand,
} from './errors.js';
import { decodeText, encodeText, type FtpEncoding } from './encoding.js';
import { pinMismatch, pinsOf, presentedFingerprint, watchCertificate } from './pin.js';
import {
  DEFAULT_MAX_REPLY_BYTES,
  isPreliminary,
  matchesExpect,
  parseReplies,
  ReplyCode,
  type FtpReply,
} from './reply.js';

/** TLS settings. Certificates are verified unless `rejectUnauthorized` is false. */
export interface FtpTlsOptions {
  /**
   * CA certificate(s) to trust, PEM, added to the ones Node trusts by default (its bundled CAs and
   * NODE_EXTRA_CA_CERTS): a server certificate from a public CA still verifies (a host that moves to one).
   */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Verify the server certificate (default true). */
  rejectUnauthorized?: boolean;
  /** Name to verify the certificate against and to send as SNI; defaults to the host. */
  servername?: string;
  /** Highest TLS version to offer, e.g. 'TLSv1.2' for servers with broken TLS 1.3 session reuse. */
  maxVersion?: tls.SecureVersion;
  /**
   * SHA-256 fingerprint(s) of the server's own certificate (`AB:CD:…`, 64 hex digits with or without colons,
   * optionally after `sha256:`). The certificate must match one, on the control and on every data connection,
   * checked before anything is sent; the chain and the name are then not checked (a self-signed certificate
   * can be trusted this way). A list allows a certificate change: any one matches.
   */
  fingerprint?: string | string[];
}

/** Receives one line per command sent (`> …`, PASS redacted), reply received (`< …`) and event (`! …`). */
export type Logger = (line: string) => void;

/**
 * Opens a TCP socket, for the control connection and for passive data connections; replaceable in tests
 * (STYLE practice 6), e.g. to record which host a data connection goes to.
 */
export type SocketFactory = (host: string, port: number) => net.Socket;

/** `net.connect`. */
export const defaultSocketFactory: SocketFactory = (host, port) => net.connect({ host, port });

interface Waiter {
  resolve: (reply: FtpReply) => void;
  reject: (err: Error) => void;
  timer?: NodeJS.Timeout;
}

const CRLF = Buffer.from('\r\n');

/** Options of {@link FtpConnection.open}. */
export interface FtpConnectionOptions {
  /** Time allowed to connect and for each reply. */
  timeoutMs: number;
  log?: Logger;
  /** TLS from the first byte (implicit FTPS, port 990). */
  implicitTls?: FtpTlsOptions;
  socketFactory?: SocketFactory;
  /** Cap on one control reply; default 64 KiB. */
  maxReplyBytes?: number;
  /** How commands and replies turn into bytes and back (see encoding.ts); default 'utf8'. */
  encoding?: FtpEncoding;
}

/** The control connection (STYLE practice 1): replies in, commands out, one close path for every failure. */
export class FtpConnection {
  /** The current control socket (plain, or TLS after AUTH TLS / implicit TLS). */
  socket: net.Socket;
  /** Set once the connection is closed; later calls fail with FtpClosedError wrapping it. */
  closedBy?: Error;
  /** The newest TLS session of the control connection, reused by data connections. */
  tlsSession?: Buffer;
  /**
   * The server's last 421 ("service not available, closing control connection": an idle timeout, a
   * shutdown), named when it then hangs up: the reason a later call's "closed" error gives.
   */
  private goodbye?: string;
  private buffer = '';
  private readonly queue: FtpReply[] = [];
  /** Commands sent (redacted) whose final reply has not come yet, oldest first: named in a timeout or a close. */
  private readonly awaiting: string[] = [];
  /** A whole reply has come (the greeting, at least). */
  private greeted = false;
  private waiters: Waiter[] = [];
  /** Bytes received after the last line end, decoded once their line is whole (a character may be split). */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** The code of a multiline reply whose first line (`ddd-`) came and whose last has not: `buffer` holds it. */
  private openCode?: string;
  /** Commands sent whose final reply no one has read yet: how many replies may wait in `queue`. */
  private owed = 0;
  /**
   * The client's calls under way (FtpClient runs them one at a time): none, and a hang-up came while the session
   * sat idle, as an idle timeout ends it (see {@link hungUp}).
   */
  calls = 0;
  /** FtpClient.connect() has logged in: from here on, a hang-up with no call under way is the session idle. */
  loggedIn = false;
  /** The transfers under way, each told when the client's close() ends the session ({@link onStop}). */
  private readonly stops = new Set<(closed: Error, pendingError: Error) => void>();

  constructor(
    socket: net.Socket,
    readonly host: string,
    readonly timeoutMs: number,
    readonly log: Logger = () => {},
    readonly maxReplyBytes = DEFAULT_MAX_REPLY_BYTES,
    /** Also used for passive data connections. */
    readonly socketFactory: SocketFactory = defaultSocketFactory,
    readonly encoding: FtpEncoding = 'utf8',
  ) {
    this.socket = socket;
    this.attach(socket);
  }

  /** A reply handed to a reader: a final one pays for one command sent. */
  private taken(reply: FtpReply): FtpReply {
    if (!isPreliminary(reply.code)) this.owed = Math.max(0, this.owed - 1);
    return reply;
  }

  /** Connects a plain (or implicit-TLS) socket and waits for it to be established. */
  static async open(host: string, port: number, opts: FtpConnectionOptions): Promise<FtpConnection> {
    const factory = opts.socketFactory ?? defaultSocketFactory;
    const raw = factory(host, port);
    // TCP keepalive on the control connection: it sits idle while a long upload runs on the data
    // connection, and NATs and firewalls drop idle connections (often after a few minutes) without a word:
    // the transfer's 226 then never comes, and the file is sent again. The probes keep the mapping alive
    // (they cost a few bytes per idle period) and show a dead peer as an error instead of silence.
    raw.setKeepAlive(true, KEEPALIVE_MS);
    const socket = opts.implicitTls ? secureSocket(host, opts.implicitTls, raw) : raw;
    const conn = new FtpConnection(
      socket,
      host,
      opts.timeoutMs,
      opts.log,
      opts.maxReplyBytes,
      factory,
      opts.encoding,
    );
    await conn.waitForConnect(opts.implicitTls, port, opts.implicitTls !== undefined);
    return conn;
  }

  /** True once closed, by close() or by an error. */
  get closed(): boolean {
    return this.closedBy !== undefined;
  }

  /** True when the control connection is TLS (explicit after AUTH TLS, or implicit). */
  get isTls(): boolean {
    return this.socket instanceof tls.TLSSocket;
  }

  /**
   * Throws the FtpArgumentError that {@link send} would for `command` (CR, LF, NUL, too long, or a character the
   * encoding cannot send), sending nothing.
   */
  check(command: string): void {
    checkCommand(command);
    this.encode(command);
  }

  /** A command line's bytes, CRLF included; an error names it redacted (`PASS ***`). */
  private encode(command: string): Buffer {
    return Buffer.concat([encodeText(command, this.encoding, redactCommand(command)), CRLF]);
  }

  /** Sends one command line. Refuses CR, LF and NUL inside it (G7) without closing the session. */
  send(command: string): void {
    this.assertOpen();
    checkCommand(command);
    const bytes = this.encode(command);
    const shown = redactCommand(command);
    this.log(`> ${shown}`);
    this.awaiting.push(shown);
    this.owed++;
    this.socket.write(bytes);
  }

  /**
   * Sends several command lines in one write (pipelining): each reply is then read in order. Every command
   * is checked first, so none is sent when one is refused.
   */
  sendPipelined(commands: string[]): void {
    this.assertOpen();
    for (const c of commands) checkCommand(c);
    const bytes = Buffer.concat(commands.map((c) => this.encode(c)));
    for (const shown of commands.map(redactCommand)) {
      this.log(`> ${shown}`);
      this.awaiting.push(shown);
      this.owed++;
    }
    this.socket.write(bytes);
  }

  /**
   * Resolves with the next reply. `timeoutMs` 0 waits forever (the caller watches the time itself).
   * No reply in time closes the connection with an FtpTimeoutError.
   */
  async readReply(timeoutMs = this.timeoutMs): Promise<FtpReply> {
    this.assertOpen();
    const queued = this.queue.shift();
    if (queued) return this.taken(queued);
    return new Promise<FtpReply>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject };
      if (timeoutMs > 0) {
        waiter.timer = setTimeout(() => {
          const command = this.inFlight;
          const err = new FtpTimeoutError(
            command === undefined
              ? `no reply from ${this.host} within ${timeoutMs} ms`
              : `no reply to ${command} from ${this.host} within ${timeoutMs} ms${RAISE_TIMEOUT_HINT}`,
          );
          err.command = command;
          err.timeoutMs = timeoutMs;
          this.close(err);
        }, timeoutMs);
      }
      this.waiters.push(waiter);
    });
  }

  /**
   * The oldest command sent (redacted: `PASS ***`) whose final reply has not come yet: the one a call in
   * progress waits on. Undefined when every command has been answered.
   */
  get inFlight(): string | undefined {
    return this.awaiting[0];
  }

  /**
   * The next reply that is not preliminary. A 1xx says another reply follows; to a command without a data
   * transfer (MKD, SIZE, PWD…) it was taken as the answer, and the final reply after it then answered the
   * next command (a PWD after `150` + `257 "x" created` returned "x"). It is logged and passed over; no final
   * reply within the timeout closes the connection, as for any reply, and so does an endless run of 1xx.
   */
  async readFinalReply(timeoutMs = this.timeoutMs): Promise<FtpReply> {
    let reply = await this.readReply(timeoutMs);
    for (let n = 1; isPreliminary(reply.code); n++) {
      if (n > MAX_PRELIMINARY_REPLIES) {
        const err = new FtpProtocolError(
          `${this.host} sent ${MAX_PRELIMINARY_REPLIES} preliminary (1xx) replies in a row and no final one`,
        );
        this.close(err);
        throw err;
      }
      this.log(`! ${reply.code} is no final reply; waiting for the one that follows it`);
      reply = await this.readReply(timeoutMs);
    }
    return reply;
  }

  /** Sends a command and reads its reply; a reply outside `expect` (a code prefix) is an FtpReplyError. */
  async request(command: string, expect: number | readonly number[]): Promise<FtpReply> {
    this.send(command);
    return this.expectReply(command, expect);
  }

  /**
   * Reads the next reply and checks it against `expect`. Unless `expect` takes a 1xx, preliminary replies are
   * passed over ({@link readFinalReply}).
   */
  async expectReply(
    command: string,
    expect: number | readonly number[],
    timeoutMs?: number,
  ): Promise<FtpReply> {
    const takesPreliminary = [expect].flat().some((e) => String(e).startsWith('1'));
    const reply = takesPreliminary ? await this.readReply(timeoutMs) : await this.readFinalReply(timeoutMs);
    if (!matchesExpect(reply.code, expect)) throw new FtpReplyError(reply.code, reply.message, command);
    return reply;
  }

  /** Wraps the control socket in TLS after `AUTH TLS` was accepted (RFC 4217). */
  async upgradeToTls(options: FtpTlsOptions): Promise<void> {
    this.assertOpen();
    const plain = this.socket;
    plain.removeAllListeners('data');
    // Anything after the 234 came in plaintext: a man in the middle could have put it there, to be read
    // later as if it came over TLS (CVE-2011-0411). Refused, never used.
    const queued = this.queue.map((r) => `${r.code} ${r.message}\n`).join('');
    const early = queued + this.buffer + decodeText(Buffer.concat(this.pending), this.encoding);
    if (early !== '') {
      const cause = new Error(
        `the server sent data before the TLS handshake, right after its 234 to AUTH TLS (${JSON.stringify(early.slice(0, 40))}); it may have been injected, so the connection is dropped`,
      );
      const err = new FtpTlsError(this.host, plain.remotePort ?? 0, cause);
      this.close(err);
      throw err;
    }
    const secure = secureSocket(this.host, options, plain);
    this.socket = secure;
    this.attach(secure);
    await this.waitForConnect(options, plain.remotePort ?? 0);
  }

  /**
   * Closes the connection. A pending call fails with `cause` itself (the timeout, the socket error), later
   * calls with FtpClosedError "closed: <cause>". Idempotent: the first cause wins. `pendingError`, if given,
   * is what a pending call fails with instead of `cause` (close() names the command it cut off).
   */
  close(cause: Error = new Error('the client was closed'), pendingError: Error = cause): void {
    if (this.closedBy) return;
    this.closedBy = cause;
    this.log(`! closed: ${cause.message}`);
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(pendingError);
    }
    this.buffer = '';
    this.pending = [];
    this.pendingBytes = 0;
    this.queue.length = 0;
    this.awaiting.length = 0;
    this.owed = 0;
    this.socket.destroy();
  }

  /**
   * Calls `stop` when the client's close() ends the session ({@link stop}), until the function
   * returned is called: a transfer whose final reply has come waits on no reply that the close would fail.
   */
  onStop(stop: (closed: Error, pendingError: Error) => void): () => void {
    this.stops.add(stop);
    return () => this.stops.delete(stop);
  }

  /**
   * The client's close(): closes as {@link close} does, then tells each transfer under way, which fails at once
   * (a download's last bytes going into a stream that took no more waited for the stream's timeout). `closed`
   * says by what; `pendingError` is what a call waiting on a reply fails with.
   */
  stop(closed: Error, cause: Error, pendingError: Error): void {
    this.close(cause, pendingError);
    for (const stop of [...this.stops]) stop(closed, pendingError);
    this.stops.clear();
  }

  /** Marks the connection closed and ends the socket after what was written (FIN, not a reset). */
  endGracefully(): void {
    if (this.closedBy) return;
    this.closedBy = new Error(
      'the client was closed by disconnect(); FtpClient.connect() opens a new session',
    );
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(this.closedBy);
    }
    this.socket.end();
    // Nothing more is wanted from the server (its 221, its close): the socket no longer keeps the process
    // alive, which then exits once our bytes are written, a round trip earlier. The write and the FIN still
    // go out (pending writes keep the loop alive), and a server that never closes its side is cut anyway.
    unrefSocket(this.socket);
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  /** Throws FtpClosedError ("closed: <cause>") once the connection is closed. */
  assertOpen(): void {
    if (this.closedBy) throw new FtpClosedError(this.closedBy);
  }

  private attach(socket: net.Socket): void {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.close(err));
    socket.on('close', () => this.close(this.hungUp()));
    if (socket instanceof tls.TLSSocket) {
      socket.on('session', (session: Buffer) => {
        this.tlsSession = session;
      });
    }
  }

  /**
   * The server hung up. While the session sat idle (logged in, no call under way, no reply awaited), that is its
   * idle timeout (or a shutdown): a client kept open in a long-lived process (a dev server, a watch) finds it at
   * its next call, whose error says so and how to go on. Over TLS, proftpd hangs up without the 421 that says so.
   */
  private hungUp(): NodeJS.ErrnoException {
    const idle = this.loggedIn && this.calls === 0 && this.awaiting.length === 0 && this.waiters.length === 0;
    if (!idle) return closedByServer(`connection to ${this.host}`, this.goodbye);
    const err = closedByServer(`connection to ${this.host}`, this.goodbye, 'while the session was idle');
    err.message += '; servers end a session left idle for a while: FtpClient.connect() opens a new session';
    return err;
  }

  private onData(chunk: Buffer): void {
    if (this.closedBy) return;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    // Parse only when a line may have ended: a reply dripped byte by byte must not cost O(n²).
    const end = chunk.lastIndexOf(0x0a);
    if (end !== -1) {
      const bytes = this.pending.length === 1 ? chunk : Buffer.concat(this.pending);
      const cut = bytes.length - chunk.length + end + 1;
      const lines = decodeText(bytes.subarray(0, cut), this.encoding);
      this.buffer += lines;
      this.pending = cut < bytes.length ? [bytes.subarray(cut)] : [];
      this.pendingBytes = bytes.length - cut;
      // Inside a multiline reply, parse again only when a line that may end it came (`ddd ` or `ddd` alone):
      // parsing it all again for each line that came on its own cost O(n²), 6 s of a blocked process for a
      // 60 KB reply a hostile server sent a line at a time. Its other lines cannot be wrong; only its length
      // counts, as parseReplies counts it.
      if (this.openCode !== undefined && !endsReply(lines, this.openCode)) {
        if (this.buffer.length > this.maxReplyBytes)
          this.close(this.explained(replyTooLong(this.maxReplyBytes)));
        return;
      }
    } else {
      // The cap counts the reply's characters, as parseReplies does once the line ends: here, the fewest the
      // bytes can be (UTF-8: 3 bytes a character at most for one UTF-16 unit). Counting the bytes themselves
      // refused a reply of multi-byte text only when TCP cut it before its line end: taken whole, refused split.
      const fewest = this.encoding === 'latin1' ? this.pendingBytes : Math.floor(this.pendingBytes / 3);
      if (this.buffer.length + fewest > this.maxReplyBytes) {
        this.close(
          this.explained(
            new FtpProtocolError(
              `server reply longer than ${this.maxReplyBytes} bytes; refusing to buffer more`,
            ),
          ),
        );
      }
      return;
    }
    let parsed;
    try {
      parsed = parseReplies(this.buffer, this.maxReplyBytes);
    } catch (err) {
      this.close(this.explained(err as FtpProtocolError));
      return;
    }
    this.buffer = parsed.rest;
    this.openCode = /^([1-5]\d{2})-/.exec(parsed.rest)?.[1];
    if (parsed.replies.length > 0) this.greeted = true;
    for (const reply of parsed.replies) {
      this.log(`< ${reply.code} ${reply.message}`);
      if (reply.code === ReplyCode.ServiceNotAvailable)
        this.goodbye = `${reply.code} ${reply.message.split('\n')[0]}`;
      if (!isPreliminary(reply.code)) this.awaiting.shift();
      const waiter = this.waiters.shift();
      if (waiter) {
        clearTimeout(waiter.timer);
        waiter.resolve(this.taken(reply));
      } else {
        this.queue.push(reply);
        // Each command owed its final reply and a 1xx before it, the greeting its own: a server that sends
        // more than that (a flood of replies while a transfer runs and none is read) would grow the queue
        // without end, each reply under the cap.
        if (this.queue.length > 2 * this.owed + 8) {
          this.close(
            new FtpProtocolError(
              `${this.host} sent ${this.queue.length} replies that no command asked for; refusing to buffer more`,
            ),
          );
          return;
        }
      }
    }
  }

  /**
   * A reply that cannot be read, with what it answered and what to try: a greeting that is no FTP (an SSH
   * server's `SSH-2.0-…` on port 22) says to check the host and port; a reply over the cap names the cap's
   * option.
   */
  private explained(err: FtpProtocolError): FtpProtocolError {
    const command = this.inFlight;
    const what =
      command !== undefined ? `the reply to ${command}` : this.greeted ? 'a reply' : 'the greeting';
    const tooLong = /^server reply longer than/.test(err.message);
    const hint = tooLong
      ? `: raise maxReplyBytes if this server's replies are really that long`
      : this.greeted
        ? ''
        : `: is this an FTP server? Check the host and port (SFTP, usually on port 22, is another protocol)`;
    return new FtpProtocolError(`${err.message} (${what} from ${this.host})${hint}`);
  }

  /** `tlsOptions`: the socket is TLS, connected with these (their pins are checked here). */
  private async waitForConnect(
    tlsOptions: FtpTlsOptions | undefined,
    port: number,
    implicit = false,
  ): Promise<void> {
    const socket = this.socket;
    const secure = tlsOptions !== undefined;
    const event = secure ? 'secureConnect' : 'connect';
    if (!secure && !socket.connecting && socket.remoteAddress) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const err = new FtpTimeoutError(
          `could not connect to ${hostPort(this.host, port)} within ${this.timeoutMs} ms${CHECK_ADDRESS_HINT}${RAISE_TIMEOUT_HINT}`,
        );
        err.timeoutMs = this.timeoutMs;
        this.close(err);
        reject(err);
      }, this.timeoutMs);
      const done = (err?: Error): void => {
        clearTimeout(timer);
        socket.off(event, onOk);
        socket.off('error', onError);
        socket.off('close', onClose);
        if (err) reject(this.closedBy ?? err);
        else resolve();
      };
      const onOk = (): void => {
        // A pinned certificate is checked here, before any command (USER, PASS) is sent on the socket.
        const mismatch = secure ? pinMismatch(socket as tls.TLSSocket, tlsOptions.fingerprint) : undefined;
        if (mismatch) onError(mismatch);
        else done();
      };
      const onError = (err: Error): void => {
        // Runs before the generic handler, so the session closes with the explained error.
        // A TCP connection (or a name lookup) that failed is no TLS error, even under implicit TLS.
        const tcp = ['connect', 'getaddrinfo'].includes((err as NodeJS.ErrnoException).syscall ?? '');
        const explained = tcp
          ? connectFailed(this.host, port, err as NodeJS.ErrnoException)
          : secure
            ? new FtpTlsError(this.host, port, err, { implicit, fingerprint: presentedFingerprint(socket) })
            : err;
        this.close(explained);
        done(explained);
      };
      const onClose = (): void =>
        done(this.closedBy ?? closedByServer(`connection to ${hostPort(this.host, port)}`));
      socket.once(event, onOk);
      socket.prependOnceListener('error', onError);
      socket.once('close', onClose);
    });
    if (socket instanceof tls.TLSSocket && !this.tlsSession) this.tlsSession = socket.getSession();
  }
}

/**
 * A control connection not made (refused, a name not found, no route): Node's "connect ECONNREFUSED 10.0.0.5:21"
 * said nothing to try. Keeps Node's `code` (and its error as `cause`), which say whether to try again.
 */
function connectFailed(host: string, port: number, err: NodeJS.ErrnoException): Error {
  const code = err.code ?? '';
  const why =
    code === 'ECONNREFUSED'
      ? 'connection refused (ECONNREFUSED); check the host and the port, and that the FTP server is running'
      : code === 'ENOTFOUND'
        ? `host ${JSON.stringify(host)} not found (ENOTFOUND); check the server name`
        : `${err.message}${CHECK_ADDRESS_HINT}`;
  const named: NodeJS.ErrnoException = new Error(`cannot connect to ${hostPort(host, port)}: ${why}`, {
    cause: err,
  });
  if (err.code !== undefined) named.code = err.code;
  return named;
}

/** More 1xx replies in a row than any server sends before its final reply (a hostile one could go on forever). */
const MAX_PRELIMINARY_REPLIES = 20;

/** Idle time before the first TCP keepalive probe of a control connection (below the NAT timeouts seen). */
export const KEEPALIVE_MS = 15_000;

/**
 * The server hung up (FIN) with no error: transient, like a reset (code ERR_FTP_CONNECTION_CLOSED). `said`:
 * the reply it gave its reason in (a 421), if any; `when`: when it did, if that says why (while idle).
 */
export function closedByServer(what: string, said?: string, when?: string): NodeJS.ErrnoException {
  const why = said === undefined ? '' : ` (it said: ${said.slice(0, 200)})`;
  const err: NodeJS.ErrnoException = new Error(
    `${what} closed by the server${when === undefined ? '' : ` ${when}`}${why}`,
  );
  err.code = 'ERR_FTP_CONNECTION_CLOSED';
  return err;
}

/**
 * Throws FtpArgumentError when `command` holds CR, LF or NUL (G7: no command injection through a path).
 * Multi-step exchanges check every command before sending the first, so none is left half done.
 */
export function checkCommand(command: string): void {
  if (/[\r\n\0]/.test(command)) {
    throw new FtpArgumentError(
      `refusing to send a command with CR, LF or NUL in it: ${JSON.stringify(redactCommand(command))}`,
    );
  }
  // Cheap test first: a string of n UTF-16 units is at most 3n UTF-8 bytes.
  if (command.length * 3 <= MAX_COMMAND_BYTES) return;
  const size = Buffer.byteLength(command);
  if (size > MAX_COMMAND_BYTES) {
    const verb = redactCommand(command).split(' ')[0].slice(0, 20);
    throw new FtpArgumentError(
      `refusing to send a ${verb} command of ${size} bytes: servers take at most ${MAX_COMMAND_BYTES} (vsftpd drops the connection, pure-ftpd resets it); shorten the path or name`,
    );
  }
}

/**
 * The longest command line sent, CRLF not counted: vsftpd takes 4096 bytes with the CRLF and answers a
 * longer line with 500, then drops the connection; pure-ftpd drops it at about 5000, proftpd stops answering.
 */
export const MAX_COMMAND_BYTES = 4094;

/**
 * TLS options for control and data sockets: verified by default, SNI and name check on the control host.
 * Data sockets pass the control connection's `session` (vsftpd, ProFTPD and FileZilla Server require reuse).
 */
export function tlsConnectOptions(
  host: string,
  options: FtpTlsOptions,
  socket?: net.Socket,
  session?: Buffer,
): tls.ConnectionOptions {
  const servername = options.servername ?? (net.isIP(host) ? undefined : host);
  // Pinned: the fingerprint alone decides, after the handshake (pinMismatch), before anything is sent.
  const pinned = pinsOf(options.fingerprint).length > 0;
  return {
    socket,
    host,
    servername,
    ...(options.ca !== undefined ? { secureContext: contextWithCa(options.ca, options.maxVersion) } : {}),
    rejectUnauthorized: pinned ? false : (options.rejectUnauthorized ?? true),
    maxVersion: options.maxVersion,
    ecdhCurve: ECDH_CURVES,
    session,
    // Verify against the configured name even when connecting by IP address.
    checkServerIdentity: (hostname, cert) =>
      pinned ? undefined : tls.checkServerIdentity(options.servername ?? hostname, cert),
  };
}

/**
 * ecdhCurve: P-256's key share first (then OpenSSL's usual order): pure-ftpd and vsftpd take only P-256, and a
 * first key share for X25519 (the default) makes them ask again (HelloRetryRequest), a round trip more on every
 * handshake, the data connections' included. Every TLS 1.3 server supports P-256.
 */
const ECDH_CURVES = 'P-256:X25519:X448:P-521:P-384';

/**
 * The secure contexts made for a `ca` (and maxVersion), by their text: made once per process, not per
 * connection. A context holding Node's default CAs takes about 17 ms of CPU to make (2 ms with one CA), and
 * an FTPS deploy makes a data connection per file.
 */
const caContexts = new Map<string, tls.SecureContext>();
const MAX_CA_CONTEXTS = 16;

/** A secure context trusting Node's default CAs and `ca` too (`--ca` adds a CA, G5). */
function contextWithCa(
  ca: NonNullable<FtpTlsOptions['ca']>,
  maxVersion?: tls.SecureVersion,
): tls.SecureContext {
  const given = (Array.isArray(ca) ? ca : [ca]).map((c) =>
    typeof c === 'string' ? c : c.toString('latin1'),
  );
  const key = `${maxVersion ?? ''}\n${given.join('\n')}`;
  let context = caContexts.get(key);
  if (!context) {
    context = tls.createSecureContext({
      ca: [...defaultCas(), ...given],
      maxVersion,
      ecdhCurve: ECDH_CURVES,
    });
    if (caContexts.size >= MAX_CA_CONTEXTS) caContexts.delete(caContexts.keys().next().value as string);
    caContexts.set(key, context);
  }
  return context;
}

let defaults: string[] | undefined;
/**
 * The CAs Node trusts when given none: `tls.getCACertificates('default')` where Node has it (22.15 and later),
 * else its bundled CAs and the file NODE_EXTRA_CA_CERTS names (which Node read at start-up).
 */
function defaultCas(): string[] {
  if (defaults) return defaults;
  const get = (tls as { getCACertificates?: (type: string) => string[] }).getCACertificates;
  if (get) return (defaults = get('default'));
  let extra: string[] = [];
  const file = process.env.NODE_EXTRA_CA_CERTS;
  if (file) {
    try {
      extra =
        fs
          .readFileSync(file, 'latin1')
          .match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
    } catch {
      // Node warned of it at start-up, and trusts none of it either.
    }
  }
  return (defaults = [...tls.rootCertificates, ...extra]);
}

/** tls.connect() with {@link tlsConnectOptions}, recording the certificate's fingerprint for errors and pins. */
export function secureSocket(
  host: string,
  options: FtpTlsOptions,
  socket: net.Socket,
  session?: Buffer,
): tls.TLSSocket {
  const secure = tls.connect(tlsConnectOptions(host, options, socket, session));
  watchCertificate(secure);
  return secure;
}

/** Unrefs a socket, and the plain socket under a TLS one (explicit TLS wraps the socket AUTH TLS went over). */
function unrefSocket(socket: net.Socket): void {
  socket.unref();
  const parent = (socket as net.Socket & { _parent?: net.Socket | null })._parent;
  parent?.unref();
}

/** The error of a reply over the cap, as parseReplies words it. */
function replyTooLong(max: number): FtpProtocolError {
  return new FtpProtocolError(`server reply longer than ${max} bytes; refusing to buffer more`);
}

/** Do these whole lines hold one that ends the multiline reply of `code` (`code text` or `code` alone)? */
function endsReply(lines: string, code: string): boolean {
  for (let at = 0; at < lines.length; at = lines.indexOf('\n', at) + 1) {
    if (lines.startsWith(code, at) && /^(?: |\r?\n)/.test(lines.slice(at + 3, at + 5))) return true;
    if (lines.indexOf('\n', at) === -1) break;
  }
  return false;
}
