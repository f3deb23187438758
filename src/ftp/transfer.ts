/**
 * Data connections: passive (EPSV, falling back to PASV) and active (EPRT, falling back to PORT), TLS on
 * the data channel with the control session reused, and the transfer resolver that calls a transfer done
 * only when both the data socket has ended and the 2xx reply has arrived, in either order.
 */
import fs from 'node:fs';
import net from 'node:net';
import type tls from 'node:tls';
import { Readable, Writable } from 'node:stream';
import {
  FtpClosedError,
  FtpReplyError,
  FtpTimeoutError,
  FtpTlsError,
  hostPort,
  isCertificateError,
  noteRepliesBefore,
  RAISE_TIMEOUT_HINT,
  redactCommand,
} from './errors.js';
import { closedByServer, secureSocket, type FtpConnection, type FtpTlsOptions } from './connection.js';
import { pinMismatch, presentedFingerprint } from './pin.js';
import { formatEprt, formatPort, parseEpsv, parsePasv } from './pasv.js';
import { isPositiveCompletion, isPreliminary, ReplyCode, type FtpReply } from './reply.js';

/** How data connections are made; the working strategy is remembered per client. */
export interface DataSettings {
  /** true: EPSV/PASV (we connect); false: EPRT/PORT (the server connects to us). */
  passive: boolean;
  /** TLS options when the data channel is protected (PROT P). */
  tls?: FtpTlsOptions;
  /** Remembered after the first 5xx to EPSV: use PASV from then on, without asking EPSV again. */
  epsvRefused?: boolean;
  /** That 5xx, for the error when PASV is refused too. */
  epsvRefusal?: FtpReply;
  /** Remembered after the first 5xx to EPRT: use PORT from then on. */
  eprtRefused?: boolean;
  /**
   * Send EPSV and the transfer command in one write once EPSV has worked on this connection, and start
   * writing an upload as soon as the data connection is up (plain FTP only). Saves about one round trip per
   * transfer. Default on; switch off for a server that mishandles pipelined commands.
   */
  pipelining?: boolean;
  /** Set after the first 229: EPSV works here, so it may be pipelined. */
  epsvWorks?: boolean;
  /**
   * FEAT lists EPSV: the first transfer pipelines it too. A server that lists it but refuses it gets the
   * transfer again over PASV; the command it received without a data channel fails (425) and changes nothing
   * (proftpd, after a passing 4xx to EPSV, may leave an empty file: see pipelinedPassive).
   */
  epsvAdvertised?: boolean;
}

/** Reported while a transfer runs. */
export interface ProgressInfo {
  /** Data bytes moved so far in this transfer (not counting a resume offset). */
  bytes: number;
}

/** A data connection being set up: the socket arrives once connected (passive) or accepted (active). */
interface PendingData {
  socket: Promise<net.Socket>;
  abort(): void;
}

/** Asks the server for a data channel. Returns before the TCP connection exists (it is made or accepted later). */
export async function openDataChannel(conn: FtpConnection, settings: DataSettings): Promise<PendingData> {
  return settings.passive ? openPassive(conn, settings) : openActive(conn, settings);
}

async function openPassive(conn: FtpConnection, settings: DataSettings): Promise<PendingData> {
  return connectPassive(conn, await enterPassive(conn, settings));
}

/** Connects to the passive data port. */
function connectPassive(conn: FtpConnection, port: number): PendingData {
  // G7: never follow a PASV/EPSV host; always connect to the control connection's peer.
  const host = controlPeer(conn);
  const socket = conn.socketFactory(host, port);
  socket.setNoDelay(true);
  // Errors after the connect are reported through the transfer; never leave one unhandled (a crash).
  socket.on('error', () => {});
  const ready = new Promise<net.Socket>((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('error', (err: NodeJS.ErrnoException) => {
      // Named as the data connection: "connect ECONNREFUSED 127.0.0.1:40021" alone reads as the server down.
      const named: NodeJS.ErrnoException = new Error(
        `cannot open the data connection to ${hostPort(host, port)}: ${err.message}`,
        { cause: err },
      );
      named.code = err.code;
      reject(named);
    });
  });
  ready.catch(() => {});
  return { socket: ready, abort: () => socket.destroy() };
}

/** The address the control connection is connected to: the only host data connections go to or come from. */
function controlPeer(conn: FtpConnection): string {
  return (conn.socket.remoteAddress ?? conn.host).replace(/^::ffff:(?=\d+\.)/, '');
}

/** EPSV, or PASV when EPSV was refused once (RFC 2428; try EPSV whatever FEAT says). Returns the port. */
async function enterPassive(conn: FtpConnection, settings: DataSettings): Promise<number> {
  if (!settings.epsvRefused) {
    conn.send('EPSV');
    const reply = await conn.readFinalReply();
    if (reply.code === ReplyCode.EnteringExtendedPassive) {
      settings.epsvWorks = true;
      return parseEpsv(reply.message);
    }
    if (reply.code < 500) throw new FtpReplyError(reply.code, reply.message, 'EPSV');
    conn.log(`! EPSV refused (${reply.code}); using PASV from now on`);
    settings.epsvRefused = true;
    settings.epsvRefusal = reply;
  }
  const reply = await conn.request('PASV', ReplyCode.EnteringPassive).catch((err: unknown) => {
    throw pasvRefusedOverIpv6(conn, settings, err);
  });
  const { host, port } = parsePasv(reply.message);
  if (host !== controlPeer(conn))
    conn.log(`! PASV named ${host}; connecting to ${controlPeer(conn)} instead`);
  return port;
}

/**
 * PASV refused on a connection over IPv6, EPSV refused before it: a PASV reply carries only an IPv4 address, and
 * servers refuse it over IPv6 (pure-ftpd: "425 You cannot use PASV on IPv6 connections. Use EPSV instead.").
 * That 425 alone read as a passing failure (a deploy retried it, then said to check the network): the error is
 * EPSV's refusal, with PASV's and what to try.
 */
function pasvRefusedOverIpv6(conn: FtpConnection, settings: DataSettings, err: unknown): unknown {
  const epsv = settings.epsvRefusal;
  if (!(err instanceof FtpReplyError) || err.code === 421 || !epsv || net.isIPv4(controlPeer(conn)))
    return err;
  return new FtpReplyError(
    epsv.code,
    epsv.message,
    'EPSV',
    ` — and PASV, the other way to ask for a passive data connection, works only over IPv4: the server refused it ` +
      `on this IPv6 connection (PASV: ${err.code} ${err.serverMessage}); use active mode (--active; deploy() and ` +
      `gulp: active: true; FtpClient: passive: false), or connect to the server over IPv4`,
  );
}

async function openActive(conn: FtpConnection, settings: DataSettings): Promise<PendingData> {
  const localHost = conn.socket.localAddress ?? '127.0.0.1';
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, localHost, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  const peer = controlPeer(conn);
  const accepted = new Promise<net.Socket>((resolve, reject) => {
    server.on('connection', (socket) => {
      // G7: only the server we talk to may open our data connection.
      const from = (socket.remoteAddress ?? '').replace(/^::ffff:(?=\d+\.)/, '');
      socket.on('error', () => {});
      if (from !== peer) {
        conn.log(`! refused a data connection from ${from} (expected ${peer})`);
        socket.destroy();
        return;
      }
      server.close();
      resolve(socket);
    });
    server.once('error', reject);
  });
  accepted.catch(() => {});
  try {
    await announceActivePort(conn, settings, localHost, port);
  } catch (err) {
    server.close();
    throw err;
  }
  return { socket: accepted, abort: () => server.close() };
}

async function announceActivePort(
  conn: FtpConnection,
  settings: DataSettings,
  host: string,
  port: number,
): Promise<void> {
  if (!settings.eprtRefused) {
    conn.send(`EPRT ${formatEprt(host, port)}`);
    const reply = await conn.readFinalReply();
    if (isPositiveCompletion(reply.code)) return;
    if (reply.code < 500) throw new FtpReplyError(reply.code, reply.message, 'EPRT');
    // PORT cannot carry an IPv6 address: that fallback failed with a bare "PORT needs an IPv4 address", and closed
    // the client. The refusal is the error (the client stays usable), with what to do.
    if (!net.isIPv4(host.replace(/^::ffff:/i, '')))
      throw new FtpReplyError(
        reply.code,
        reply.message,
        `EPRT ${formatEprt(host, port)}`,
        ` — the server refused active mode to ${host}, the IPv6 address this machine announced, and PORT (the other ` +
          `way to announce one) carries only IPv4 addresses: use passive mode (FtpClient: passive: true; deploy() ` +
          `and gulp: leave out active: true; CLI: leave out --active), or connect to the server over IPv4`,
      );
    conn.log(`! EPRT refused (${reply.code}); using PORT from now on`);
    settings.eprtRefused = true;
  }
  await conn.request(`PORT ${formatPort(host, port)}`, 2).catch((err: unknown) => {
    // Behind NAT (or a proxy, a VPN) the server sees this client at another address, and refuses to connect to
    // the one announced: vsftpd and proftpd "500 Illegal PORT command", pure-ftpd "500 I won't open a connection
    // to 10.0.0.5 (only to 203.0.113.7)". Said alone, that was no clue what to change.
    if (!(err instanceof FtpReplyError) || err.code < 500) throw err;
    throw new FtpReplyError(
      err.code,
      err.serverMessage,
      err.command,
      ` — the server refused active mode to ${host}, the address this machine announced: a server connects back only to ` +
        `the address it sees this client at, which behind NAT, a proxy or a VPN is another (or it allows no active mode); ` +
        `use passive mode (FtpClient: passive: true; deploy() and gulp: leave out active: true; CLI: leave out --active)`,
    );
  });
}

/** What to try when no data connection can be made, in passive or active mode. */
function dataConnectionHint(passive: boolean): string {
  return passive
    ? "; a firewall or NAT may block the server's passive ports: try active mode (--active; deploy() and gulp: active: true; FtpClient: passive: false)"
    : '; in active mode the server connects back to this machine, which firewalls and NAT usually block: try passive mode (leave out --active or active: true; FtpClient: passive: true)';
}

/**
 * A data connection that could not be made (refused, reset, or none within the timeout), with what to try:
 * passive ports are what firewalls and NAT block most often (FIELD.md #11), active mode the reverse. Keeps
 * the error's kind (FtpTimeoutError) and `code` (ECONNREFUSED…), which say whether it is worth retrying.
 */
function noDataConnection(err: unknown, passive: boolean): unknown {
  if (!(err instanceof Error)) return err;
  const message = `${err.message}${dataConnectionHint(passive)}`;
  if (err instanceof FtpTimeoutError) {
    const explained = new FtpTimeoutError(message);
    explained.timeoutMs = err.timeoutMs;
    return explained;
  }
  const explained: NodeJS.ErrnoException = new Error(message, { cause: err.cause ?? err });
  explained.code = (err as NodeJS.ErrnoException).code;
  return explained;
}

/** Wraps a connected data socket in TLS, reusing the control connection's TLS session. */
function secureData(conn: FtpConnection, socket: net.Socket, options: FtpTlsOptions): tls.TLSSocket {
  const session = conn.tlsSession ?? (conn.socket as tls.TLSSocket).getSession?.();
  const secure = secureSocket(conn.host, options, socket, session);
  // Errors before moveData() listens are reported through the handshake or the transfer; never unhandled.
  secure.on('error', () => {});
  const port = socket.remotePort ?? 0;
  const handshake = onceEvent(secure, 'secureConnect').then(async () => {
    // A pinned certificate: a data connection presenting another one is cut before any byte goes over it.
    const mismatch = pinMismatch(secure, options.fingerprint);
    if (mismatch) {
      secure.destroy();
      throw mismatch;
    }
    // 'secureConnect' fires before OpenSSL's last handshake flight is flushed; a close_notify sent in the
    // same turn (a zero-byte upload) can overtake it, and proftpd answers "alert decode error". One
    // event-loop turn lets the handshake bytes out first.
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (!secure.isSessionReused()) notResumed.add(secure);
    conn.log(
      `! data connection TLS ${secure.getProtocol() ?? ''}, session ${secure.isSessionReused() ? 'reused' : 'not reused'}`,
    );
  });
  handshake.catch(() => {});
  // A certificate refused on a data connection (one the server presents there, when it does not resume the
  // control connection's session) was Node's bare "self-signed certificate": named as the data connection's.
  const explained = handshake.catch((err: Error) => {
    // Our side's refusal: the server's answer to the cut connection (426) must not hide it.
    throw isCertificateError(err)
      ? local(
          new FtpTlsError(conn.host, port, err, { data: true, fingerprint: presentedFingerprint(secure) }),
        )
      : err;
  });
  explained.catch(() => {});
  handshakes.set(secure, explained);
  return secure;
}

/**
 * Failures on our side of a transfer (the download's stream, the upload's source): the error itself, not
 * the server's answer to the cut data connection.
 */
const localFailures = new WeakSet<Error>();

function local<E>(err: E): E {
  if (err instanceof Error) localFailures.add(err);
  return err;
}

/** TLS data sockets whose handshake was a full one: the control connection's session was not resumed. */
const notResumed = new WeakSet<net.Socket>();

/**
 * A transfer refused because its TLS data connection did not resume the control connection's session, which
 * vsftpd, ProFTPD and FileZilla Server require: the session expired (OpenSSL's tickets last 2 hours, a long
 * deploy's connections live longer), or the server no longer knows it (restarted, keys rotated). vsftpd says
 * "522 SSL connection failed: session reuse required" (and hangs up), ProFTPD "425 Unable to build data
 * connection: Operation not permitted", FileZilla Server "425 … TLS session of data connection not resumed".
 * Every later transfer on that control connection offers the same session and fails the same way: the
 * connection is closed with this error (code ERR_FTP_TLS_SESSION_REFUSED, transient), so a retry opens a new
 * one, with a new session. vsftpd's 522 was a permanent refusal, which failed the deploy at once.
 */
function sessionRefused(err: unknown, socket: net.Socket | undefined): unknown {
  if (!(err instanceof FtpReplyError) || !socket || !notResumed.has(socket)) return err;
  const said = err.serverMessage;
  const aboutSession =
    err.code === 522 ||
    /session|reuse|resum/i.test(said) ||
    (err.code === 425 && /not permitted/i.test(said));
  if (!aboutSession) return err;
  const refused: NodeJS.ErrnoException = new Error(
    `${err.message} — the server requires TLS data connections to resume the control connection's TLS session, ` +
      `and this one was not resumed (the session expired, or the server no longer knows it); a new connection ` +
      `starts a new session`,
    { cause: err },
  );
  refused.code = 'ERR_FTP_TLS_SESSION_REFUSED';
  return refused;
}

/** The pending TLS handshake of each data socket; uploads write only after it. */
const handshakes = new WeakMap<net.Socket, Promise<void>>();

/**
 * A local file to upload from `start` on: read straight into a few reused buffers (no stream, no buffer
 * allocated per chunk), the fastest way to send a large file.
 */
export interface FileSource {
  path: string;
  /** The file already open (the caller closes it); otherwise `path` is opened and closed here. */
  fd?: number;
  /** Byte offset to start from (a resume). Default 0. */
  start?: number;
}

/** What to move in {@link transfer}. */
export interface TransferOptions {
  /** Send `REST restartAt` right before the command (after EPSV/PASV, as RFC 959 wants it next to the command). */
  restartAt?: number;
  /** Bytes to send (upload), or undefined for downloads. */
  source?: Readable | Buffer | FileSource;
  /** Where received bytes go (download). */
  sink?: Writable;
  onProgress?: (info: ProgressInfo) => void;
  /**
   * Commands to run first, each whatever its reply: pipelined, in the same write as EPSV and the command (one
   * round trip less); else one after the other. `replies` gets their final replies before the transfer goes on.
   */
  before?: { commands: string[]; replies: (r: FtpReply[]) => void };
  /** EPSV and the command went already (with the login): their replies are next. */
  sent?: boolean;
  /**
   * An upload's data connection failed (a reset) after every byte was written, and the server's final reply
   * decided: told the error, so the caller can check what the server holds (the bytes still on their way
   * when the reset came were lost, and a lenient server confirms what it got).
   */
  onCutAfterWrite?: (err: Error) => void;
}

/**
 * Runs one transfer command (STOR, APPE, RETR, LIST, MLSD, NLST) over a new data connection and returns
 * the number of data bytes moved. Preliminary reply 1xx, then data, then 2xx — the last two in any order.
 */
export async function transfer(
  conn: FtpConnection,
  settings: DataSettings,
  command: string,
  options: TransferOptions,
): Promise<number> {
  const { bytes, finished } = await startTransfer(conn, settings, command, options);
  await finished;
  return bytes;
}

/** A transfer whose data has moved; `finished` settles with its final (2xx) reply. */
export interface StartedTransfer {
  bytes: number;
  finished: Promise<void>;
}

/**
 * The first part of {@link transfer}: returns once the data has moved and the final reply is the next one
 * expected, so the caller may send its next command before that reply arrives (the server answers in
 * order). Saves the wait for the 226 between two uploads on one connection.
 */
export async function startTransfer(
  conn: FtpConnection,
  settings: DataSettings,
  command: string,
  options: TransferOptions,
): Promise<StartedTransfer> {
  const stop = stopOnClose(conn, command);
  try {
    const started = await startTransferNow(conn, settings, command, options, stop);
    started.finished.then(stop.off, stop.off);
    return started;
  } catch (err) {
    stop.off();
    throw err;
  }
}

/** How the client's close() ends a transfer: {@link stopOnClose}. */
interface Stop {
  /** Rejects when close() ends the session. */
  stopped: Promise<never>;
  /** The final reply (its code) has come: a close from now on cuts off no command, but our side's work. */
  answered: (reply: FtpReply) => void;
  off: () => void;
}

/**
 * close() fails a transfer at once. While the command waits on its reply, with the error the reply's wait gets
 * (FtpClosedError naming the command); once the final reply has come, nothing else would end the call before
 * its timeout (a download's last bytes going into a stream that took no more), and the error says the server
 * had sent all it had to.
 */
function stopOnClose(conn: FtpConnection, command: string): Stop {
  let answered: number | undefined;
  let off = (): void => {};
  const stopped = new Promise<never>((_, reject) => {
    off = conn.onStop((closed, pendingError) => {
      if (answered === undefined) return reject(pendingError);
      const shown = redactCommand(command);
      const doing = shown.startsWith('RETR ')
        ? `${shown} was writing into the stream given to download(), after the server's ${answered} (it had sent the whole file); the stream may not have taken all of it`
        : `${shown} was still reading its data, after the server's ${answered}`;
      reject(new FtpClosedError(new Error(`${closed.message} while ${doing}`)));
    });
  });
  stopped.catch(() => {});
  return { stopped, answered: (reply) => (answered = reply.code), off: () => off() };
}

async function startTransferNow(
  conn: FtpConnection,
  settings: DataSettings,
  command: string,
  options: TransferOptions,
  stop: Stop,
): Promise<StartedTransfer> {
  conn.check(command); // before EPSV: a refused argument must leave nothing half done
  for (const c of options.before?.commands ?? []) conn.check(c);
  // Pipelined: EPSV and the command in one write. Never with REST: if REST were refused, the server would
  // still run the STOR, from offset 0, over the partial file.
  const pipelined =
    !!options.sent ||
    (!!settings.pipelining &&
      settings.passive &&
      !settings.epsvRefused &&
      (!!settings.epsvWorks || !!settings.epsvAdvertised) &&
      !options.restartAt);
  let pending: PendingData;
  try {
    if (options.before && !pipelined) {
      const replies: FtpReply[] = [];
      try {
        for (const c of options.before.commands) {
          conn.sendPipelined([c]);
          replies.push(await conn.readFinalReply());
        }
      } catch (err) {
        throw noteRepliesBefore(err, replies); // cut: the replies read go with the error (repliesBeforeFailure)
      }
      options.before.replies(replies);
    }
    pending = pipelined
      ? await pipelinedPassive(conn, settings, command, options.before, options.sent)
      : await openDataChannel(conn, settings);
  } catch (err) {
    // EPSV guessed from FEAT and refused: the same transfer over PASV (the dialogue is in step; what went
    // before it has been answered).
    if (pipelined && settings.epsvRefused && err instanceof FtpReplyError && err.command === 'EPSV')
      return startTransfer(conn, settings, command, { ...options, before: undefined, sent: false });
    // Anything but a refusal (a 229/227 that cannot be read, a port that cannot be reached) may leave the
    // dialogue out of step: a pipelined command's reply is still to come, and would answer the next command.
    if (!(err instanceof FtpReplyError) && !conn.closed) conn.close(err as Error);
    throw err;
  }
  // Start the TLS handshake as soon as TCP is up, while the command is on its way (ftp-servers.md).
  const connected = pending.socket.then((raw) => (settings.tls ? secureData(conn, raw, settings.tls) : raw));
  connected.catch(() => {});
  let dataSocket: net.Socket | undefined;
  try {
    if (!pipelined) {
      if (options.restartAt) await conn.request(`REST ${options.restartAt}`, ReplyCode.PendingFurtherInfo);
      conn.send(command);
    }
    const first = conn.readReply();
    const firstOk = first.then((reply) => {
      if (!isPreliminary(reply.code) && !isPositiveCompletion(reply.code)) {
        // 425: the server could not open or accept the data connection, most often a firewall or NAT.
        const hint = reply.code === ReplyCode.CannotOpenData ? dataConnectionHint(settings.passive) : '';
        throw new FtpReplyError(reply.code, reply.message, command, hint);
      }
      return reply;
    });
    // Some servers answer 226 at once (an empty listing); the data socket still has to end.
    const finalOk = firstOk.then(async (reply) => {
      const final = isPositiveCompletion(reply.code) ? reply : await conn.readFinalReply(0);
      if (!isPositiveCompletion(final.code)) throw new FtpReplyError(final.code, final.message, command);
      return final;
    });
    finalOk.then(stop.answered, () => {});
    // Rejects as soon as an error reply (425, 426, 451…) arrives, while we connect or move data, or close()
    // ends the session (its final reply in or not).
    const failEarly = Promise.race([finalOk.then(async () => new Promise<never>(() => {})), stop.stopped]);
    // One timer for the race, cleared whichever side wins (a leftover timer would keep Node alive).
    dataSocket = await withTimeout(
      Promise.race([connected, failEarly]),
      conn.timeoutMs,
      `no data connection with ${conn.host}`,
    ).catch(async (err: unknown) => {
      // A server refusing the command may drop the data port first (proftpd resets it with its 451):
      // its reply, when it says no, is the better error, and leaves the session usable.
      const verdict = await withTimeout(firstOk, conn.timeoutMs, 'no reply').then(
        () => err,
        (replyErr: unknown) => (replyErr instanceof FtpReplyError ? replyErr : err),
      );
      throw verdict instanceof FtpReplyError ? verdict : noDataConnection(verdict, settings.passive);
    });
    // An upload over plain FTP may start before the 150 (the bytes wait in the socket); TLS waits for it,
    // since vsftpd starts its TLS accept only after sending 150.
    const early = pipelined && !settings.tls && options.source !== undefined;
    if (!early) await Promise.race([firstOk, failEarly]);
    // A server refusing the data (552 over quota, 553; ftp-srv's 550 to a resume onto a missing file) may
    // close or reset the data connection just before it says why, while we write or after our last byte:
    // its reply, when one comes soon, is the better error, and leaves the session usable.
    // Not when the failure is our side's (the download's stream failed or took nothing, the upload's source
    // failed, a listing over its cap): the server's answer to the cut data connection (vsftpd "426 Failure
    // writing network stream.") hid the cause (ENOSPC on the local disk). That error closes the client.
    const replyOr = async (err: unknown): Promise<never> => {
      if (localFailures.has(err as Error)) throw err;
      const reply = await withTimeout(finalOk, Math.min(conn.timeoutMs, 2000), 'no reply').then(
        () => undefined,
        (e: unknown) => e,
      );
      throw reply instanceof FtpReplyError ? reply : err;
    };
    const moved = await Promise.race([
      moveData(dataSocket, conn.timeoutMs, options, stop.stopped),
      failEarly,
    ]).catch(replyOr);
    // Once the first reply is in, the final reply's reader is queued: later commands get later replies.
    await Promise.race([firstOk, failEarly]);
    const socket = dataSocket;
    // An upload sent whole (every byte written, the socket ended: close_notify on TLS): the server's final
    // reply decides, however the data connection ends after that (and the caller is told, to compare sizes). IIS resets TLS data connections (no
    // close_notify) once it has the file: the upload failed with "read ECONNRESET" after its 226, the client
    // closed, and every retry failed the same way. Not for downloads and listings: a reset may have cut data
    // still on its way (the server's 226 says it sent the data, not that it arrived).
    //
    // Once the data connection has ended, the reply gets the reply timeout from then on. Nothing is on its way
    // any more (the time bytes may take to drain is the data socket's idle timer's), and a server that sends
    // no reply after cutting it (ftp-srv answers nothing when its data socket is destroyed) held the deploy
    // for the reply timeout and a minute of drain time before its retry.
    const verb = command.split(' ')[0];
    const replyAfter = async (how: string): Promise<FtpReply> =>
      withTimeout(finalOk, conn.timeoutMs, `no reply to ${verb} after the data connection ${how}`);
    const afterData = options.sink
      ? replyOr
      : async (err: unknown): Promise<FtpReply> => {
          // Idle the whole drain time with no reply meanwhile: waited long enough.
          if (err instanceof FtpTimeoutError) throw err;
          conn.log(
            `! data connection ended with an error after the upload was sent (${(err as Error).message}); the reply decides`,
          );
          const code = (err as NodeJS.ErrnoException).code;
          const reply = await replyAfter(code ? `ended with ${code}` : 'failed');
          options.onCutAfterWrite?.(err as Error);
          return reply;
        };
    const done = Promise.race([moved.closed, failEarly]).then(async () => replyAfter('closed'), afterData);
    const bytes = moved.bytes;
    // A backstop: the data socket's idle timer and the reply's own timeout end every wait before it.
    const finished = withTimeout(
      done,
      2 * conn.timeoutMs + drainAllowance(options.sink ? 0 : bytes),
      `no reply to ${verb} after the data ended`,
    ).then(
      () => undefined,
      (failure: unknown) => {
        const err = sessionRefused(failure, socket);
        nameTimeout(err, command);
        cleanUp(err, socket);
        throw err;
      },
    );
    finished.catch(() => {});
    return { bytes, finished };
  } catch (failure) {
    const err = sessionRefused(failure, dataSocket);
    nameTimeout(err, command);
    cleanUp(err, dataSocket);
    throw err;
  }

  function cleanUp(err: unknown, socket: net.Socket | undefined): void {
    pending.abort();
    socket?.destroy();
    void connected.then(
      (s) => s.destroy(),
      () => {},
    );
    // A refusal leaves the dialogue in step; anything else (timeout, reset, local stream error) may not.
    if (err instanceof FtpReplyError || conn.closed) return;
    // Our side's failure (the download's stream, the upload's source): later calls say the client closed itself,
    // and what to do; "closed: disk full" alone read as the server's connection lost. The call itself, and any
    // waiting, fail with the error as it is. (A stream that stalled is a timeout that names the command already.)
    if (localFailures.has(err as Error) && !(err instanceof FtpTimeoutError))
      conn.close(
        new Error(
          `${redactCommand(command)} was cut off on this side (${(err as Error).message}), which leaves the session out of step; FtpClient.connect() opens a new session`,
          { cause: err },
        ),
        err as Error,
      );
    else conn.close(err as Error);
  }
}

/** How long the command pipelined with a refused EPSV may take to answer before the connection is closed. */
const REPLY_AFTER_EPSV_MS = 3000;

/**
 * EPSV and the transfer command in one write. The 229 gives the port; the command's own replies are read
 * by the caller. A refused EPSV still has the command's reply to consume, so the dialogue stays in step.
 */
async function pipelinedPassive(
  conn: FtpConnection,
  settings: DataSettings,
  command: string,
  before?: TransferOptions['before'],
  sent = false,
): Promise<PendingData> {
  if (!sent) conn.sendPipelined([...(before?.commands ?? []), 'EPSV', command]);
  if (before) {
    const replies: FtpReply[] = [];
    try {
      for (let i = 0; i < before.commands.length; i++) replies.push(await conn.readFinalReply());
    } catch (err) {
      throw noteRepliesBefore(err, replies); // cut: the replies read go with the error (repliesBeforeFailure)
    }
    before.replies(replies);
  }
  const reply = await conn.readFinalReply();
  if (reply.code === ReplyCode.EnteringExtendedPassive) {
    settings.epsvWorks = true;
    return connectPassive(conn, parseEpsv(reply.message));
  }
  if (reply.code >= 500) {
    await conn.readReply();
    conn.log(`! EPSV refused (${reply.code}); using PASV from now on`);
    settings.epsvRefused = true;
    settings.epsvRefusal = reply;
  } else {
    // A passing refusal (4xx). Servers answer the command sent with it at once (425: no data channel), all but
    // proftpd after its 425 "EPSV: Address already in use" (two sessions drew the same passive port): it takes
    // the command for an active-mode transfer, fails that silently and never answers it. Waited for a few
    // seconds only, then the connection is closed (was: the whole timeout, 30 s by default, for each one); the
    // caller's retry makes a new one.
    const wait = conn.timeoutMs > 0 ? Math.min(conn.timeoutMs, REPLY_AFTER_EPSV_MS) : REPLY_AFTER_EPSV_MS;
    await conn.readReply(wait).catch(() => undefined);
  }
  throw new FtpReplyError(reply.code, reply.message, 'EPSV');
}

/** Pumps bytes in the transfer's direction; resolves with the byte count once the data socket has closed. */
/** Bytes moved; `closed` settles when the data socket has closed (already, for downloads). */
interface Moved {
  bytes: number;
  closed: Promise<void>;
}

async function moveData(
  socket: net.Socket,
  idleMs: number,
  options: TransferOptions,
  stopped: Promise<never>,
): Promise<Moved> {
  let bytes = 0;
  const tick = (n: number): void => {
    bytes += n;
    options.onProgress?.({ bytes });
  };
  // A TLS data socket is usable once its handshake is done; a failed handshake fails the transfer here, and
  // so does one the server never answers (the data connection is idle meanwhile: no reply would come).
  const handshake = handshakes.get(socket);
  if (handshake) await withTimeout(handshake, idleMs, 'no TLS handshake on the data connection');
  socket.setTimeout(idleMs);
  const source = { waiting: false };
  const sink = { waiting: false };
  const closed = new Promise<void>((resolve, reject) => {
    if (socket.closed) resolve();
    socket.on('timeout', () => {
      socket.destroy();
      if (source.waiting || sink.waiting) {
        const why = source.waiting
          ? `the upload's source gave no bytes for ${idleMs} ms (a stream that never ends?)`
          : sinkStalled(idleMs);
        reject(local(new FtpTimeoutError(why)));
      } else {
        const idle = new FtpTimeoutError(`data connection idle for ${idleMs} ms`);
        idle.timeoutMs = idleMs;
        reject(idle);
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve());
  });
  // Awaited below, but an upload that fails first would leave this rejection unhandled (a crash).
  closed.catch(() => {});
  if (options.sink) {
    await Promise.all([closed, pipeInto(socket, options.sink, tick, sink, idleMs, stopped)]);
    return { bytes, closed };
  }
  // An upload has done its part once every byte is written and the socket ended (FIN sent): the server's
  // close and its 226 follow; the caller waits for both, but may send its next command meanwhile. Until
  // then, a close or an idle timeout fails it: a source that stops giving bytes must not hang the client.
  // (No error is made once the upload is written: the close that follows is the normal end, every time.)
  let written = false;
  const cut = closed.then(() => {
    if (!written) throw closedByServer('data connection (during the upload)');
  });
  cut.catch(() => {});
  await Promise.race([writeSource(socket, options.source ?? Buffer.alloc(0), tick, source), cut]);
  written = true;
  // Written means handed to the kernel: on a slow uplink, megabytes may still be on their way, and the
  // socket shows no activity while they go. The idle timer gets the time they may take.
  if (!socket.destroyed) socket.setTimeout(idleMs + drainAllowance(bytes));
  return { bytes, closed };
}

/**
 * Extra time, after an upload's last byte was handed to the kernel, for the bytes still in its buffers
 * (and the network's) to reach the server, at {@link DRAIN_FLOOR} bytes/s at least, for at most
 * {@link DRAIN_MAX} bytes (one minute at most): a sender's buffers grow to megabytes (about 1 MiB was
 * measured on a 100 KB/s uplink; Linux allows 4 MiB), which on a slow link take longer than the reply
 * timeout, and nothing shows their progress. A link that died meanwhile can also end the wait sooner: the
 * control connection's keepalive probes fail (with libuv 1.49 and later, within about 25 s).
 */
function drainAllowance(bytes: number): number {
  return Math.ceil((Math.min(bytes, DRAIN_MAX) / DRAIN_FLOOR) * 1000);
}

/** The slowest uplink whose buffered bytes are waited for (bytes/s). */
const DRAIN_FLOOR = 64 * 1024;
/** The most bytes assumed still on their way once written. */
const DRAIN_MAX = 4 * 1024 * 1024;

async function writeSource(
  socket: net.Socket,
  source: Readable | Buffer | FileSource,
  tick: (n: number) => void,
  state: { waiting: boolean },
): Promise<void> {
  if (isFileSource(source)) return writeFile(socket, source, tick);
  const chunks: AsyncIterable<Buffer> | Iterable<Buffer> = Buffer.isBuffer(source) ? slices(source) : source;
  // `waiting`: the idle timeout then names the source, not the server, as the one that stopped.
  state.waiting = true;
  try {
    for await (const chunk of chunks) {
      state.waiting = false;
      // Failed meanwhile (idle timeout, reset): stop reading the source (leaving the loop destroys it).
      if (socket.destroyed) return;
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (buf.length > 0) {
        if (!socket.write(buf)) await drainOrClose(socket);
        tick(buf.length);
      }
      state.waiting = true;
    }
  } catch (err) {
    // Thrown while the source was asked for its next bytes: the source failed, not the connection.
    throw state.waiting ? local(err) : err;
  }
  state.waiting = false;
  // end(), not destroy(): TLS needs close_notify or vsftpd and pure-ftpd answer 426/451.
  socket.end();
}

/** A buffer in FILE_CHUNK pieces (see there: large writes can slow a loopback upload down badly). */
function* slices(buf: Buffer): Iterable<Buffer> {
  for (let at = 0; at < buf.length; at += FILE_CHUNK) yield buf.subarray(at, at + FILE_CHUNK);
}

function isFileSource(source: Readable | Buffer | FileSource): source is FileSource {
  return !Buffer.isBuffer(source) && !(source instanceof Readable) && typeof source.path === 'string';
}

/**
 * 64 KiB writes, eight in flight. With 1 MiB writes (two in flight) a large upload over loopback fell into a
 * slow mode about one run in three whenever another thread was busy (the hashing): the server, short of
 * CPU, shrank its receive window, and the big writes then went out in small pieces that cost the server
 * several times the kernel time (1 GiB: 0.6 s became 1.5-2.2 s). Writes of at most 64 KiB, one loopback
 * segment each, never did, at the same speed otherwise (see BENCHMARKS.md).
 */
const FILE_CHUNK = 64 * 1024;
const FILE_BUFFERS = 8;
/** Chunk buffers given back by finished uploads: reused, so memory once touched is touched again. */
const spare: Buffer[] = [];
const SPARE_MAX = 64;

/**
 * Sends a file through a ring of reused buffers: a buffer is read into again only once the socket has
 * taken its previous bytes (the write callback), so at most FILE_BUFFERS chunks are in flight.
 */
async function writeFile(socket: net.Socket, source: FileSource, tick: (n: number) => void): Promise<void> {
  const read = <T>(op: () => T): T => {
    try {
      return op();
    } catch (err) {
      throw local(err); // the local file, not the connection
    }
  };
  const fd = source.fd ?? read(() => fs.openSync(source.path, 'r'));
  const ring: Buffer[] = [];
  const taken: Array<Promise<void> | undefined> = [];
  let onClose = (): void => {};
  const gone = new Promise<never>((_, reject) => {
    onClose = () => reject(closedByServer('data connection (during the upload)'));
    socket.once('close', onClose);
  });
  gone.catch(() => {});
  try {
    let pos = source.start ?? 0;
    for (let i = 0; ; i = (i + 1) % FILE_BUFFERS) {
      if (taken[i]) await Promise.race([taken[i], gone]);
      ring[i] ??= spare.pop() ?? Buffer.allocUnsafeSlow(FILE_CHUNK);
      const n = read(() => fs.readSync(fd, ring[i], 0, FILE_CHUNK, pos));
      if (n === 0) break;
      pos += n;
      // Counted once the kernel has the bytes (the write callback), not when they are queued here.
      taken[i] = new Promise<void>((resolve, reject) => {
        socket.write(n === FILE_CHUNK ? ring[i] : ring[i].subarray(0, n), (err) => {
          if (err) return reject(err);
          tick(n);
          resolve();
        });
      });
      taken[i]?.catch(() => {});
    }
    await Promise.race([Promise.all(taken), gone]);
    // Every chunk was taken by the socket: the buffers are free for the next upload.
    for (const b of ring) if (spare.length < SPARE_MAX) spare.push(b);
  } finally {
    socket.off('close', onClose);
    if (source.fd === undefined) fs.closeSync(fd);
  }
  socket.end();
}

const sinkStalled = (idleMs: number): string =>
  `the download's stream took no bytes for ${idleMs} ms (a stream that nothing reads?)`;

/**
 * Writes the data into the caller's sink. A sink that fails or is destroyed meanwhile fails the download:
 * its write() then returns false and no 'drain' ever comes. A sink that takes no bytes for `idleMs` fails it
 * too: the data socket's idle timer says so while the socket is open, but not once the server has sent the
 * last bytes and closed it (a small file, read whole before the sink stopped), where the wait had no end.
 */
async function pipeInto(
  socket: net.Socket,
  sink: Writable,
  tick: (n: number) => void,
  state: { waiting: boolean },
  idleMs: number,
  stopped: Promise<never>,
): Promise<void> {
  let onError: (err: Error) => void = () => {};
  let onClose = (): void => {};
  const broken = new Promise<never>((_, reject) => {
    onError = (err) => reject(local(err));
    onClose = () =>
      reject(local(new Error('the stream given to download() closed before the download ended')));
    sink.on('error', onError);
    sink.on('close', onClose);
  });
  broken.catch(() => {});
  try {
    for await (const chunk of socket as AsyncIterable<Buffer>) {
      tick(chunk.length);
      if (!sink.write(chunk)) {
        // `waiting`: the idle timeout then names the stream, not the server, as the one that stopped.
        state.waiting = true;
        let timer: NodeJS.Timeout | undefined;
        const stalled = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(local(new FtpTimeoutError(sinkStalled(idleMs)))), idleMs);
        });
        try {
          await Promise.race([onceEvent(sink, 'drain'), broken, stalled, stopped]);
        } finally {
          clearTimeout(timer);
        }
        state.waiting = false;
      }
    }
    if (sink.errored) throw local(sink.errored);
  } finally {
    sink.off('error', onError);
    sink.off('close', onClose);
  }
}

async function drainOrClose(socket: net.Socket): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error): void => {
      socket.off('drain', ok);
      socket.off('close', onClose);
      socket.off('error', done);
      if (err) reject(err);
      else resolve();
    };
    const ok = (): void => done();
    const onClose = (): void => done(closedByServer('data connection (during the upload)'));
    socket.once('drain', ok);
    socket.once('close', onClose);
    socket.once('error', done);
  });
}

async function onceEvent(emitter: NodeJS.EventEmitter, event: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error): void => {
      emitter.off(event, ok);
      emitter.off('error', done);
      if (err) reject(err);
      else resolve();
    };
    const ok = (): void => done();
    emitter.once(event, ok);
    emitter.once('error', done);
  });
}

/**
 * Names the transfer's command in a timeout of its own (a data connection idle or never made, no final reply),
 * and what to do about it unless the cause was on this side (the upload's source, the download's stream).
 * Changed in place: the same error may be the connection's cause of closing already.
 */
function nameTimeout(err: unknown, command: string): void {
  if (!(err instanceof FtpTimeoutError) || err.command !== undefined) return;
  err.command = redactCommand(command);
  err.message = `${err.command}: ${err.message}${localFailures.has(err) ? '' : RAISE_TIMEOUT_HINT}`;
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new FtpTimeoutError(`${what} within ${ms} ms`);
      err.timeoutMs = ms;
      reject(err);
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
