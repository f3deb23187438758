/**
 * FtpClient: the command API, modelled on Python's ftplib. One command at a time per client; calls made
 * while another runs wait their turn. Refusals throw FtpReplyError and leave the client usable; socket,
 * timeout and protocol errors close it.
 */
import fs from 'node:fs';
import { Writable, type Readable } from 'node:stream';
import { FtpConnection, type FtpTlsOptions, type Logger, type SocketFactory } from './connection.js';
import {
  FtpArgumentError,
  FtpClosedError,
  FtpProtocolError,
  FtpReplyError,
  FtpTimeoutError,
  IMPLICIT_TLS_PORT_HINT,
  isTransientError,
  LoginStage,
  noteCutWhileLoggingIn,
  noteRepliesBefore,
  RAISE_TIMEOUT_HINT,
} from './errors.js';
import { isSafeName, LIST_FORMATS, mlsdFormat, parseListing, parseNameList, type ListEntry } from './list.js';
import { isPositiveCompletion, ReplyCode, type FtpReply } from './reply.js';
import { transfer, type DataSettings, type FileSource, type ProgressInfo } from './transfer.js';
import { cappedSink } from './sink.js';
import { decodeText, type FtpEncoding } from './encoding.js';
import {
  checkConnectOptions,
  checkLineBreaks,
  checkOffset,
  checkPath,
  checkSink,
  checkSource,
  checkTargetPath,
} from './validate.js';
import { parseMlsdTime } from './list.js';

/** Options of {@link FtpClient.connect}; every one has a documented default. */
export interface FtpConnectOptions {
  /** Host name or IP address of the server. */
  host: string;
  /** Defaults to 21, or 990 for implicit TLS. */
  port?: number;
  /** Default `anonymous`. */
  user?: string;
  /**
   * Never logged nor put in an error (`PASS ***`). With `pipelining` (the default) it goes in the same write
   * as USER; otherwise only when the server asks (331).
   */
  password?: string;
  /** Sent with ACCT only when the server asks for it (332). */
  account?: string;
  /**
   * false: plain FTP; 'explicit': AUTH TLS on the control port (RFC 4217); 'implicit': TLS from the first
   * byte. Any other value (`true`, 'tls') is an FtpArgumentError before connecting, never plain FTP.
   */
  secure?: false | 'explicit' | 'implicit';
  /** Certificate checks for `secure`; verified against the system CAs plus `ca` by default. */
  tls?: FtpTlsOptions;
  /** Default true: EPSV, then PASV. false: active mode, EPRT then PORT (the server connects to us). */
  passive?: boolean;
  /**
   * Default true: once EPSV has worked, send it together with STOR/RETR/LIST in one write, and start an
   * upload's bytes without waiting for the 150 (plain FTP). About one round trip less per transfer; set
   * false for a server that mishandles pipelined commands.
   */
  pipelining?: boolean;
  /**
   * A file to read right after login, its EPSV and RETR in the login's own write (with pipelining, passive
   * mode and no ACCT): one round trip less for the first thing a deploy reads (its state). Taken once with
   * {@link FtpClient.takeReadAtLogin}; `max` caps its size (a larger file fails that read).
   */
  readAtLogin?: { path: string; max: number };
  /**
   * Time allowed for connecting, for each reply, and for a data connection to stay idle (an upload whose
   * source gives no bytes for that long fails too). Default 30 000; at most 2^31 - 1.
   */
  timeoutMs?: number;
  /** Receives every command sent (PASS redacted) and reply received. */
  log?: Logger;
  /** Replaces the TCP socket factory of the control connection (tests). */
  socketFactory?: SocketFactory;
  /** Cap on a listing's size; hostile servers could otherwise exhaust memory. Default 40 MiB. */
  maxListingBytes?: number;
  /**
   * Cap on a listing's lines (entries), as each costs far more memory than its bytes: 8 million short NLST
   * names in 38 MB took 880 MB. Default 200 000; a bigger listing closes the client with FtpProtocolError.
   */
  maxListingEntries?: number;
  /** Cap on one control reply; a longer one closes the client with FtpProtocolError. Default 64 KiB. */
  maxReplyBytes?: number;
  /**
   * How paths and names become bytes and back, in commands, replies and listings alike (ftplib's `encoding`).
   * 'utf8' (default): a name's bytes that are not UTF-8 come back as lone surrogates U+DC80–U+DCFF, one per
   * byte, and go out as those bytes again, so a listed name always names the file it was listed from (shown,
   * each such character prints as U+FFFD). 'latin1': one byte per character, for a server whose names are ISO
   * 8859-1 (no `OPTS UTF8 ON` is sent); a path with a character above U+00FF is then an FtpArgumentError.
   */
  encoding?: FtpEncoding;
}

/** Options of {@link FtpClient.upload}. */
export interface UploadOptions {
  /**
   * Resume: send `REST offset` right before STOR; the source supplies the bytes from `offset` on and the
   * server writes them there. A refusal of REST or of the STOR after it (proftpd without AllowStoreRestart
   * accepts REST, then answers STOR with 451) is an FtpReplyError. Give the remote size (SIZE) or less: past
   * the end, vsftpd fills the gap with zeros, pure-ftpd writes at the end instead, proftpd answers 554.
   */
  offset?: number;
  /** Use APPE (append to the remote file) instead of STOR. Ignores `offset`. */
  append?: boolean;
  /** Called as bytes are sent. */
  onProgress?: (info: ProgressInfo) => void;
  /**
   * Commands run first, whatever their replies (given to `replies`): with pipelining, in the same write as
   * the STOR, which the server runs after them (a `DELE` of the same name: a new file, whatever held the old one).
   */
  before?: { commands: string[]; replies: (r: FtpReply[]) => void };
}

/** Options of {@link FtpClient.download}. */
export interface DownloadOptions {
  /** Resume: send `REST offset` right before RETR; the sink receives the bytes from `offset` on. */
  offset?: number;
  /** Called as bytes arrive. */
  onProgress?: (info: ProgressInfo) => void;
  /**
   * Commands run first, whatever their replies (given to `replies`): with pipelining, in the same write as
   * the RETR, which the server runs after them.
   */
  before?: { commands: string[]; replies: (r: FtpReply[]) => void };
  /**
   * `false`: a refusal as the server gave it, without the look that says whether the path is missing, a
   * folder or a file this user may not read where the server gives no reason (vsftpd: up to three more
   * round trips). For a caller that takes any refusal as "not there" (the deploy's read of its state).
   */
  explain?: boolean;
}

const DEFAULT_MAX_LISTING_BYTES = 40 * 1024 * 1024;
/**
 * The most bytes of pipelined commands sent over TLS before their replies are read. Over TLS, proftpd
 * (mod_tls) and pure-ftpd answer the commands in the first ~4 KiB of one write and then wait on the socket:
 * the rest is never answered, and the batch stalled until the reply timeout, then again on every retry.
 */
const PIPELINE_WINDOW_TLS_BYTES = 2048;
/**
 * The same over plain FTP. ftp-srv takes each chunk it reads (up to 64 KiB) as whole lines, so a line cut at a
 * chunk's end went as two commands with two replies, and every later reply was read as the next command's
 * ("PASV: 229 EPSV OK" after 300 folders of long names were removed at once). Half a chunk: the batches a
 * deploy sends (500 SIZE or RNFR/RNTO pairs) still go in one round trip or a few, which over a slow link is
 * what pipelining is for.
 */
const PIPELINE_WINDOW_PLAIN_BYTES = 32 * 1024;
/** No folder of a website holds that many entries; pure-ftpd itself stops at 10 000. */
const DEFAULT_MAX_LISTING_ENTRIES = 200_000;

/**
 * An FTP/FTPS client session, like Python's ftplib.FTP. Create it with {@link FtpClient.connect}.
 * Errors: FtpReplyError (refused; still usable), FtpArgumentError (refused before sending; still usable);
 * anything else closes the client, and later calls throw FtpClosedError "closed: <cause>".
 */
export class FtpClient {
  private readonly data: DataSettings;
  /** The read {@link FtpConnectOptions.readAtLogin} started, until taken. */
  private atLogin?: { path: string; read: Promise<Buffer> };
  private feats = new Map<string, string>();
  /** The greeting's text: it names some servers (pure-ftpd), whose 257 replies are read their own way. */
  private greetingText = '';
  /** The folder the server put us in at login (PWD), when it said. Absolute. */
  loginDir?: string;
  private queue: Promise<unknown> = Promise.resolve();
  /** Set once the server refused `LIST -a` / `NLST -a` and accepted the bare verb. */
  private noListFlags = false;
  /** `OPTS HASH SHA-256` was accepted on this connection. */
  private hashSelected = false;
  /**
   * The TYPE command that set a mode other than binary (send('TYPE A')), until one sets binary again: connect()
   * sets TYPE I, and an offset in another mode is refused (see {@link binaryFor}).
   */
  private notBinary?: string;
  /** What the login waits for, named in a timeout after the greeting (see handshake). */
  private stage: string = LoginStage.Login;

  /** The options without the password and the account, which are in {@link secrets}. */
  private readonly options: FtpConnectOptions;
  /**
   * The password and the account, in a private field: console.log(client), util.inspect() and JSON.stringify()
   * of the client showed them with the other options.
   */
  readonly #secrets: { password?: string; account?: string };

  private constructor(
    readonly connection: FtpConnection,
    options: FtpConnectOptions,
  ) {
    const { password, account, ...shown } = options;
    this.options = shown;
    this.#secrets = { password, account };
    this.data = { passive: options.passive ?? true, pipelining: options.pipelining ?? true };
  }

  /**
   * Connects, secures (if asked), logs in and sets binary mode. The options are checked first: an unknown name
   * (`secrue`) is an FtpArgumentError naming the likely one; deploy()'s own options are passed over.
   */
  static async connect(options: FtpConnectOptions): Promise<FtpClient> {
    checkConnectOptions(options);
    const timeoutMs = options.timeoutMs ?? 30_000;
    const port = options.port ?? (options.secure === 'implicit' ? 990 : 21);
    const tlsOptions = options.tls ?? {};
    const connection = await FtpConnection.open(options.host, port, {
      timeoutMs,
      log: options.log,
      socketFactory: options.socketFactory,
      implicitTls: options.secure === 'implicit' ? tlsOptions : undefined,
      maxReplyBytes: options.maxReplyBytes,
      encoding: options.encoding,
    });
    const client = new FtpClient(connection, options);
    try {
      await client.handshake(tlsOptions);
    } catch (err) {
      connection.close(err as Error);
      throw err;
    }
    connection.loggedIn = true;
    return client;
  }

  private async handshake(tlsOptions: FtpTlsOptions): Promise<void> {
    const c = this.connection;
    // 120 "ready in nnn minutes" comes before the 220; a 421 (too many connections) is a refusal.
    try {
      let greeting = await c.expectReply('(greeting)', [1, 2]);
      while (greeting.code < 200) greeting = await c.expectReply('(greeting)', [1, 2]);
      this.greetingText = greeting.message;
    } catch (err) {
      // Silent from the start: said to be a timeout alone, with no word of implicit TLS (which is that).
      if (!(err instanceof FtpTimeoutError) || this.options.secure === 'implicit') throw err;
      throw new FtpTimeoutError(`${err.message}, not even a greeting${IMPLICIT_TLS_PORT_HINT}`);
    }
    try {
      if (this.options.secure === 'explicit') {
        // G5: a refusal is an error; never continue in plaintext when TLS was asked for.
        this.stage = LoginStage.AuthTls;
        await c.request('AUTH TLS', ReplyCode.AuthOk);
        this.stage = LoginStage.TlsHandshake;
        await c.upgradeToTls(tlsOptions);
      }
      if (this.data.pipelining && this.#secrets.account === undefined) {
        await this.settlePipelined(tlsOptions, true);
      } else {
        this.stage = LoginStage.Login;
        await this.login();
        this.stage = LoginStage.Settings;
        if (this.data.pipelining) await this.settlePipelined(tlsOptions, false);
        else await this.settle(tlsOptions);
      }
    } catch (err) {
      if (err instanceof FtpReplyError) throw this.loginRefused(err);
      // Silent after its greeting: a slow server (a password check can take seconds), not a wrong address.
      const timeout = err instanceof FtpClosedError ? err.cause : err;
      if (!(timeout instanceof FtpTimeoutError)) {
        // Closed or reset with the session up (after TLS): a cut, not a wrong address (see cutWhileLoggingIn).
        const up = this.stage === LoginStage.Login || this.stage === LoginStage.Settings;
        throw up && isTransientError(err) ? noteCutWhileLoggingIn(err) : err;
      }
      const slow = new FtpTimeoutError(
        `${this.connection.host} greeted, then gave no reply to ${this.stage} within ${this.connection.timeoutMs} ms${RAISE_TIMEOUT_HINT}`,
      );
      slow.timeoutMs = this.connection.timeoutMs;
      slow.afterGreeting = this.stage;
      throw slow;
    }
  }

  /**
   * A login refused (530 to USER or PASS), with what to try: a wrong user name or password names the user (never
   * the password); a server that wants TLS says so. A connection limit (proftpd's "530 Sorry, the maximum number
   * of clients …") and other refusals are left as they are.
   */
  private loginRefused(err: FtpReplyError): FtpReplyError {
    if (err.code !== ReplyCode.NotLoggedIn || !/^(?:USER|PASS)\b/.test(err.command)) return err;
    const said = err.serverMessage;
    if (/maximum|too many|limit/i.test(said)) return err;
    const hint =
      /\b(?:TLS|SSL|FTPS|encrypt\w*|clear[\s-]?text)\b/i.test(said) && !this.connection.isTls
        ? " — the server wants TLS: connect with secure: 'explicit' (or 'implicit' on its implicit-TLS port)"
        : ` — check the user name (${JSON.stringify(this.options.user ?? 'anonymous')}) and the password`;
    return hinted(err, hint);
  }

  /** After login, one command at a time: FEAT, PBSZ/PROT (TLS), TYPE I, OPTS UTF8, PWD. */
  private async settle(tlsOptions: FtpTlsOptions): Promise<void> {
    const c = this.connection;
    this.parseFeatures(await c.request('FEAT', [2, 4, 5]));
    if (c.isTls) {
      await c.request('PBSZ 0', 2);
      await c.request('PROT P', 2);
      this.data.tls = tlsOptions;
    }
    await c.request('TYPE I', 2);
    if (this.feats.has('UTF8') && this.encoding === 'utf8')
      await c.request('OPTS UTF8 ON', [2, 5]).catch(() => undefined);
    this.loginDir = this.readPwd(await c.request('PWD', [2, 5]));
  }

  /**
   * The same settings in one write, one round trip instead of five, and with `withLogin` USER and PASS in
   * that write too (one round trip instead of three). OPTS UTF8 ON goes whatever FEAT says (a server
   * without it answers 5xx, which is fine: RFC 2640 servers take UTF-8 paths anyway).
   */
  private async settlePipelined(tlsOptions: FtpTlsOptions, withLogin: boolean): Promise<void> {
    const c = this.connection;
    const tlsCommands = c.isTls ? ['PBSZ 0', 'PROT P'] : [];
    const utf8 = this.encoding === 'utf8' ? ['OPTS UTF8 ON'] : [];
    const commands = ['FEAT', ...tlsCommands, 'TYPE I', ...utf8, 'PWD'];
    const login = [`USER ${this.options.user ?? 'anonymous'}`, `PASS ${this.#secrets.password ?? ''}`];
    // Not for a path no command may carry (its caller says so when it reads it).
    const asked = this.options.readAtLogin;
    const first =
      withLogin && this.data.passive && asked && sendable(c, `RETR ${asked.path}`) ? asked : undefined;
    const read = first ? ['EPSV', `RETR ${first.path}`] : [];
    c.sendPipelined(withLogin ? [...login, ...commands, ...read] : commands);
    if (withLogin) {
      this.stage = LoginStage.Login;
      await this.readLoginReplies();
    }
    this.stage = LoginStage.Settings;
    const replies: FtpReply[] = [];
    for (let i = 0; i < commands.length; i++) replies.push(await c.readReply());
    const [feat, ...rest] = replies;
    this.parseFeatures(feat);
    for (let i = 0; i < tlsCommands.length; i++) {
      if (!isPositiveCompletion(rest[i].code))
        throw new FtpReplyError(rest[i].code, rest[i].message, tlsCommands[i]);
    }
    if (c.isTls) this.data.tls = tlsOptions;
    const type = rest[tlsCommands.length];
    if (!isPositiveCompletion(type.code)) throw new FtpReplyError(type.code, type.message, 'TYPE I');
    this.loginDir = this.readPwd(rest[rest.length - 1]);
    if (first) this.readSent(first.path, first.max);
  }

  /**
   * The read whose EPSV and RETR went with the login: runs as the first call on the connection (later ones
   * wait for it). A failure stays in it, for its taker (a refusal leaves the dialogue in step).
   */
  private readSent(path: string, max: number): void {
    const { sink, bytes } = cappedSink(
      max,
      () => new FtpProtocolError(`${path} is larger than ${max} bytes`),
    );
    const read = this.exclusive(async () =>
      transfer(this.connection, this.data, `RETR ${path}`, { sink, sent: true }),
    ).then(bytes);
    read.catch(() => undefined); // taken, or never wanted
    this.atLogin = { path, read };
  }

  /**
   * The read that went with the login (see {@link FtpConnectOptions.readAtLogin}): the path as sent (a relative
   * one is from the login folder) and its bytes, or its failure (a refusal is an FtpReplyError); undefined if
   * none was asked for or it was taken already. Once only.
   */
  takeReadAtLogin(): { path: string; read: Promise<Buffer> } | undefined {
    const first = this.atLogin;
    this.atLogin = undefined;
    return first;
  }

  private readPwd(reply: FtpReply): string | undefined {
    return reply.code === 257 ? pathOf257(reply.message, this.quotesDoubled()) : undefined;
  }

  /**
   * Does the server double a `"` inside the path of a 257 (RFC 959)? pure-ftpd does not: it answers PWD in a
   * folder `a""b` with `"/a""b" is your current location`, which the RFC way reads as `/a"b`, a folder that is
   * not there. Known by its greeting ("Welcome to Pure-FTPd") or by ESTA, a FEAT only it lists.
   */
  private quotesDoubled(): boolean {
    return !/\bPure-FTPd\b/i.test(this.greetingText) && !this.feats.has('ESTA');
  }

  /** The replies to a pipelined USER and PASS: 331 then 230 (or 202), or 230 at once (PASS then ignored). */
  private async readLoginReplies(): Promise<void> {
    const c = this.connection;
    const user = await c.readReply();
    if (user.code === ReplyCode.LoggedIn) {
      await c.readReply(); // PASS after a login without password: refused or acknowledged, either is fine
      return;
    }
    if (user.code !== ReplyCode.NeedPassword) throw new FtpReplyError(user.code, user.message, 'USER');
    const pass = await c.readReply();
    if (pass.code !== ReplyCode.LoggedIn && pass.code !== 202)
      throw new FtpReplyError(pass.code, pass.message, 'PASS');
  }

  private async login(): Promise<void> {
    const c = this.connection;
    let reply = await c.request(`USER ${this.options.user ?? 'anonymous'}`, [230, 331, 332]);
    if (reply.code === ReplyCode.NeedPassword) {
      reply = await c.request(`PASS ${this.#secrets.password ?? ''}`, [230, 202, 332]);
    }
    if (reply.code === ReplyCode.NeedAccount) {
      if (this.#secrets.account === undefined) throw new FtpReplyError(reply.code, reply.message, 'PASS');
      await c.request(`ACCT ${this.#secrets.account}`, [2]);
    }
  }

  private parseFeatures(reply: FtpReply): void {
    this.feats = new Map();
    if (reply.code !== 211) return;
    for (const line of reply.message.split('\n').slice(1)) {
      const m = /^\s*(\S+)(?:\s+(.*))?$/.exec(line);
      if (m && !/^end$/i.test(m[1])) this.feats.set(m[1].toUpperCase(), m[2] ?? '');
    }
    this.data.epsvAdvertised = this.feats.has('EPSV');
  }

  /** What FEAT advertised: feature name (upper case) → its parameters. */
  async features(): Promise<Map<string, string>> {
    return new Map(this.feats);
  }

  /**
   * How the server hashes a file itself, if it can: `HASH` with SHA-256 among its algorithms (IETF draft
   * bryan-ftp-hash; proftpd's mod_digest, FileZilla Server), else the older `XSHA256`; undefined when FEAT
   * lists neither.
   */
  get sha256Command(): 'HASH' | 'XSHA256' | undefined {
    if (/(^|;)SHA-256\*?(;|$)/i.test(this.feats.get('HASH') ?? '')) return 'HASH';
    return this.feats.has('XSHA256') ? 'XSHA256' : undefined;
  }

  /**
   * The SHA-256 of a remote file, computed by the server ({@link sha256Command}; selected once with
   * `OPTS HASH SHA-256`). Throws FtpReplyError when the server refuses (no such file, too large…), and
   * FtpProtocolError when it has no such command or its reply holds no whole-file SHA-256.
   */
  async sha256(path: string): Promise<string> {
    const [hash] = await this.sha256All([path]);
    if (typeof hash !== 'string') throw hash;
    return hash;
  }

  /**
   * {@link sha256} of several files, the commands pipelined in one write: one round trip for the lot. Each
   * entry is the hash, or the error for that file (a refusal, or a reply holding no SHA-256).
   */
  async sha256All(paths: string[]): Promise<Array<string | FtpReplyError | FtpProtocolError>> {
    const how = this.requireSha256();
    return this.exclusive(async () => {
      await this.selectSha256(how);
      const commands = paths.map((p) => `${how} ${p}`);
      const replies = await this.pipelineNow(commands);
      return replies.map((reply, i) => {
        if (!isPositiveCompletion(reply.code))
          return new FtpReplyError(reply.code, reply.message, commands[i]);
        try {
          return parseSha256(how, reply, commands[i]);
        } catch (err) {
          return err as FtpProtocolError;
        }
      });
    });
  }

  private requireSha256(): 'HASH' | 'XSHA256' {
    const how = this.sha256Command;
    if (!how)
      throw new FtpProtocolError(
        'the server offers no SHA-256 of its files (FEAT lists neither HASH nor XSHA256)',
      );
    return how;
  }

  /** `OPTS HASH SHA-256`, once per connection (inside an exclusive section). */
  private async selectSha256(how: 'HASH' | 'XSHA256'): Promise<void> {
    if (how !== 'HASH' || this.hashSelected) return;
    await this.connection.request('OPTS HASH SHA-256', 2);
    this.hashSelected = true;
  }

  /**
   * Sends any command (CR, LF, NUL refused) and returns its final reply, whatever its code. A 1xx is passed
   * over: returned, it left the final reply after it to answer the next call (a PWD got a SITE command's 200).
   */
  async send(command: string): Promise<FtpReply> {
    return this.exclusive(async () => {
      this.connection.send(command);
      const reply = await this.connection.readFinalReply();
      this.noteType(command, reply);
      return reply;
    });
  }

  /** Follows the transfer mode a TYPE command sent through send() or pipeline() has set. */
  private noteType(command: string, reply: FtpReply): void {
    const type = /^TYPE\s+(\S+)(?:\s+(\S+))?\s*$/i.exec(command);
    if (!type || !isPositiveCompletion(reply.code)) return;
    const binary = /^I$/i.test(type[1]) || (/^L$/i.test(type[1]) && type[2] === '8');
    this.notBinary = binary ? undefined : command;
  }

  /**
   * Refuses (FtpArgumentError, nothing sent) a resume at `offset` while the session is not in binary mode: in
   * ASCII mode proftpd refuses REST ("501 … not allowed in ASCII mode"), pure-ftpd accepts it and then refuses
   * the transfer (503), vsftpd refuses a download (550) and runs an upload, and byte counts there are not file
   * offsets anyway (line endings are converted). Inside an exclusive section: the mode when the call's turn comes.
   */
  private binaryFor(offset: number | undefined): void {
    if (!offset || this.notBinary === undefined) return;
    throw new FtpArgumentError(
      `cannot resume at offset ${offset}: the session is not in binary mode since ${JSON.stringify(this.notBinary)}, ` +
        `and an offset counts bytes of the file only in binary mode; send('TYPE I') first (the mode connect() sets)`,
    );
  }

  /** The current remote directory (PWD); `""` inside the path is unquoted. */
  async pwd(): Promise<string> {
    const reply = await this.run('PWD', 257);
    const path = pathOf257(reply.message, this.quotesDoubled());
    if (path === undefined)
      throw new FtpProtocolError(
        `the server's reply to PWD names no folder that can be read (RFC 959 puts it in double quotes): ` +
          `${JSON.stringify(`${reply.code} ${reply.message.slice(0, 200)}`)}; the client is still usable: give ` +
          `absolute paths (starting with /), which do not depend on the current folder`,
      );
    return path;
  }

  /** Changes the remote directory (CWD). */
  async cwd(path: string): Promise<void> {
    checkTargetPath(path, 'cwd()', "the folder to go into ('..' for the parent, '/' for the top)");
    await this.run(`CWD ${path}`, 2);
  }

  /**
   * Creates one directory (MKD). Real servers answer 550 when it exists or its parent is missing; a refusal that
   * gives no reason (vsftpd's "Create directory operation failed.") names both, one that says nothing is there
   * (pure-ftpd's and proftpd's "No such file or directory": the parent is missing) says to make the parent first.
   */
  async mkd(path: string): Promise<void> {
    checkTargetPath(path, 'mkd()', 'the path of the folder to make');
    await this.run(`MKD ${path}`, 2).catch((err: unknown) => {
      if (
        err instanceof FtpReplyError &&
        err.code === ReplyCode.FileUnavailable &&
        NOT_THERE.test(err.serverMessage)
      )
        throw hinted(
          err,
          ' — its parent folder is missing: make that first (MKD makes one folder, not the folders above it)',
        );
      if (
        err instanceof FtpReplyError &&
        /exist|no such|not found|denied|permission|quota|space/i.test(err.serverMessage)
      )
        throw err;
      throw withHint(
        err,
        ' — MKD makes one folder: it may be there already (list() its parent), or its parent may be missing (make that first)',
      );
    });
  }

  /**
   * Removes an empty directory (RMD). A refusal (550) says why and what to do, by the server's reason: not empty,
   * nothing there, a file. vsftpd gives none ("Remove directory operation failed.", whatever the cause): the
   * folder is then looked into (NLST), and the error names what it holds, or that there is no folder to enter.
   */
  async rmd(path: string): Promise<void> {
    checkTargetPath(path, 'rmd()', 'the path of the empty folder to remove');
    await this.exclusive(async () => {
      try {
        await this.connection.request(`RMD ${path}`, 2);
      } catch (err) {
        throw await this.rmdRefused(err, path);
      }
    });
  }

  /** The refusal of `RMD path` with why and what to do (inside an exclusive section; see rmd()). */
  private async rmdRefused(err: unknown, path: string): Promise<unknown> {
    if (!(err instanceof FtpReplyError) || err.code !== ReplyCode.FileUnavailable) return err;
    const said = err.serverMessage;
    const notEmpty =
      ' — the folder is not empty: delete what it holds first (rmd() removes only an empty folder)';
    if (/not empty/i.test(said)) return hinted(err, notEmpty);
    if (NOT_THERE.test(said)) return hinted(err, NOTHING_THERE);
    if (/not a directory/i.test(said))
      return hinted(err, ' — it is a file, not a folder: delete() removes a file');
    if (DENIED.test(said)) return err;
    const general = ' — RMD removes only an empty folder: if it holds anything, delete that first';
    if (this.connection.closed) return hinted(err, general);
    // No reason given (vsftpd): a look inside says which. Any failure of the look leaves the refusal as it was.
    const inside = await this.listInsideNow('NLST', path, true).catch(() => undefined);
    if (inside instanceof FtpReplyError)
      return hinted(
        err,
        ' — no folder of that name can be entered: it may be missing, be a file (delete() removes a file), or be a folder this user may not open (check its permissions)',
      );
    const names =
      typeof inside === 'string' ? parseNameList(inside).filter((n) => n !== '.' && n !== '..') : [];
    if (names.length === 0) return hinted(err, general);
    const shown = names
      .slice(0, 3)
      .map((n) => JSON.stringify(n))
      .join(', ');
    const more = names.length > 3 ? ` and ${names.length - 3} more` : '';
    const them = names.length === 1 ? 'it' : 'those';
    return hinted(
      err,
      ` — the folder is not empty: it holds ${shown}${more}; delete ${them} first (rmd() removes only an empty folder)`,
    );
  }

  /**
   * Deletes a file (DELE). A refusal (550) says what to do, by the server's reason: nothing there, or a folder
   * (removed with rmd()): pure-ftpd answers a folder's DELE with "Invalid argument"; vsftpd says "Delete operation
   * failed." whatever the cause.
   */
  async delete(path: string): Promise<void> {
    checkTargetPath(path, 'delete()', 'the path of the file to delete');
    await this.run(`DELE ${path}`, 2).catch((err: unknown) => {
      throw byReason(err, {
        folder: ' — DELE deletes only a file: if it is a folder, remove it with rmd()',
        vague:
          ' — DELE deletes only a file: it may be missing (nlst() of its folder lists what is there), or a folder (remove that with rmd())',
      });
    });
  }

  /**
   * Sets a file's or folder's permissions (`SITE CHMOD 644 path`; `mode` in octal digits). Not in RFC 959:
   * vsftpd, proftpd and pure-ftpd have it; a server without it answers 500, 502 or 504.
   */
  async chmod(path: string, mode: string): Promise<void> {
    checkTargetPath(path, 'chmod()', 'the path of the file or folder');
    // A string only: a number from JavaScript is no mode (0o644 is 420, which reads as the octal mode 420).
    if (typeof mode !== 'string' || !/^[0-7]{3,4}$/.test(mode))
      throw new FtpArgumentError(
        `invalid mode ${JSON.stringify(mode)}; give octal digits as a string, such as '644'`,
      );
    await this.run(`SITE CHMOD ${mode} ${path}`, 2);
  }

  /** Renames (RNFR 350, then RNTO); most servers replace an existing target. */
  async rename(from: string, to: string): Promise<void> {
    checkTargetPath(from, 'rename()', 'the path of the file or folder to rename', 'from');
    checkTargetPath(to, 'rename()', 'its new path', 'to');
    await this.exclusive(async () => {
      this.connection.check(`RNTO ${to}`); // refuse before RNFR, so no rename is left pending on the server
      if (!this.data.pipelining) {
        await this.connection.request(`RNFR ${from}`, 350);
        await this.connection.request(`RNTO ${to}`, 2);
        return;
      }
      // Pipelined: a refused RNFR makes the server answer RNTO with 503; both replies are read.
      const [rnfr, rnto] = await this.pipelineNow([`RNFR ${from}`, `RNTO ${to}`]);
      if (rnfr.code !== 350) throw new FtpReplyError(rnfr.code, rnfr.message, `RNFR ${from}`);
      if (!isPositiveCompletion(rnto.code)) throw new FtpReplyError(rnto.code, rnto.message, `RNTO ${to}`);
    });
  }

  /**
   * Sends several commands in one write and returns every reply, in order, whatever its code (a 1xx is
   * passed over: each command's final reply is its own). For independent commands (MKD of siblings, DELE then
   * RMD): the server runs each one regardless of the others.
   */
  async pipeline(commands: string[]): Promise<FtpReply[]> {
    return this.exclusive(async () => this.pipelineNow(commands));
  }

  private async pipelineNow(commands: string[]): Promise<FtpReply[]> {
    for (const c of commands) this.connection.check(c); // none is sent when one is refused (G7)
    const replies: FtpReply[] = [];
    // In windows, each answered before the next goes out. Without pipelining, each command alone (a window of
    // nothing).
    const window = !this.data.pipelining
      ? 0
      : this.connection.isTls
        ? PIPELINE_WINDOW_TLS_BYTES
        : PIPELINE_WINDOW_PLAIN_BYTES;
    try {
      for (let start = 0; start < commands.length;) {
        let end = start + 1;
        let bytes = Buffer.byteLength(commands[start]) + 2;
        while (end < commands.length && bytes + Buffer.byteLength(commands[end]) + 2 <= window)
          bytes += Buffer.byteLength(commands[end++]) + 2;
        this.connection.sendPipelined(commands.slice(start, end));
        for (let i = start; i < end; i++) {
          replies.push(await this.connection.readFinalReply());
          this.noteType(commands[i], replies[i]);
        }
        start = end;
      }
    } catch (err) {
      // Cut before the last reply (a reset, a close): the replies read go with the error (repliesBeforeFailure).
      throw noteRepliesBefore(err, replies);
    }
    return replies;
  }

  /**
   * A file's size in bytes (SIZE, RFC 3659), in binary mode. A refusal (550) says that a folder has none:
   * vsftpd answers a folder as a missing file, "Could not get file size.".
   */
  async size(path: string): Promise<number> {
    checkTargetPath(path, 'size()', 'the path of a file');
    const reply = await this.run(`SIZE ${path}`, 213).catch((err: unknown) => {
      // proftpd refuses SIZE in ASCII mode ("550 SIZE not allowed in ASCII mode"): not a folder's refusal.
      const ascii = this.notBinary;
      if (ascii !== undefined)
        throw withHint(
          err,
          ` — the session is not in binary mode since ${JSON.stringify(ascii)}: send('TYPE I') first (the mode connect() sets)`,
        );
      throw byReason(err, {
        folder: " — SIZE gives only a file's size: if it is a folder, list() shows what it holds",
        vague:
          " — SIZE gives only a file's size: it may be missing (nlst() of its folder lists what is there), or a folder (list() shows what a folder holds)",
      });
    });
    // ftp-srv answers an empty file's SIZE with "213 File status": its text for a 213 whose size, 0, it reads
    // as none given. Any other text without a number is still refused.
    const text = reply.message.trim();
    const size = text === 'File status' ? 0 : Number(text);
    if (!Number.isSafeInteger(size) || size < 0)
      throw new FtpProtocolError(`bad SIZE reply: ${reply.message}`);
    return size;
  }

  /** A file's modification time (MDTM, RFC 3659), UTC. */
  async mdtm(path: string): Promise<Date> {
    checkTargetPath(path, 'mdtm()', 'the path of a file');
    const reply = await this.run(`MDTM ${path}`, 213);
    const date = parseMlsdTime(reply.message.trim());
    if (!date) throw new FtpProtocolError(`bad MDTM reply: ${reply.message}`);
    return date;
  }

  /**
   * Names in a directory (NLST), dot-files included where the server can show them. `path/name` lines
   * become `name`; unsafe names and lines under any other folder are dropped, as list() drops them (G7).
   * A file's path gives its own name, on every server (see list()).
   */
  async nlst(path?: string): Promise<string[]> {
    checkPath(path, 'path', true);
    checkLineBreaks(path, 'nlst()');
    // Every step in one turn: a call made meanwhile (a rename, an upload) must not run between them.
    return this.exclusive(async () => {
      if (!path) return parseNameList(await this.listWithHiddenNow('NLST'));
      // A folder is listed from inside, with no path after the flag: pure-ftpd 1.0.50 misreads `NLST -a <path>`
      // (`NLST -a /site` from `/` lists `site/…` lines, from `/x` it lists `/x/site` or answers 550, and
      // `NLST -a /` lists the working folder), while a bare `NLST -a` there lists the working folder or is refused.
      const inside = await this.listInsideNow('NLST', path, true);
      if (typeof inside === 'string') return parseNameList(inside);
      // Not a folder to go into (the refusal): a file, or nothing there. pure-ftpd refuses `NLST <file>` (550
      // "Can't check for file existence") and proftpd reads `NLST -a -name` as flags: MLST names a file on both.
      const refused = inside instanceof FtpReplyError ? inside : undefined;
      if (refused && this.feats.has('MLST')) {
        const file = await this.fileEntryNow(path);
        // Neither a folder nor a file: proftpd answered `NLST -a <missing>` with a 450 (a transient code) about
        // "-a <missing>".
        if (file === 'absent') throw nothingToList(refused, 'nlst');
        if (file) return [file.name];
        // Asked for directly, a path with * or [ ] is a pattern (pure-ftpd globs): nothing of that name.
        if (mayGlob(path)) throw refused;
      }
      // Asked for directly, the server names the file in its reply.
      const names = parseNameList(await this.listWithHiddenNow('NLST', path), path);
      // No folder to go into and nothing named: vsftpd lists a missing path as empty (226), not as an error.
      if (refused && names.length === 0) throw nothingToList(refused, 'nlst');
      const found = refused && mayGlob(path) ? ownName(names, path, refused) : names;
      // The path's own name, and no folder to go into: a file, or (vsftpd) a folder this user may not open,
      // which its NLST names as it names a file. Its LIST shows which (see unreadableNow).
      if (refused && found.length === 1 && found[0] === lastPart(path)) {
        const text = await this.listWithHiddenNow('LIST', path);
        if (isOwnFolderLine(text, parseListing(text), path, this.noListFlags))
          throw cannotEnter(refused, 'nlst');
      }
      return found;
    });
  }

  /**
   * Entries of a directory: MLSD when FEAT offers it, else LIST parsed as Unix or DOS/IIS. Unsafe names
   * (`/`, `..`, CR, LF, NUL) are dropped. A listing may be cut short by the server (pure-ftpd stops at
   * 10 000 entries): never take a missing entry as proof that a file is absent. A file's path gives that
   * file's entry alone, on every server: MLSD lists folders only (pure-ftpd and proftpd refuse a file with
   * 550, where vsftpd's LIST names it), so a file is then asked for with MLST.
   */
  async list(path?: string): Promise<ListEntry[]> {
    checkPath(path, 'path', true);
    checkLineBreaks(path, 'list()');
    // Every step in one turn: a call made meanwhile (a rename, an upload) must not run between them.
    return this.exclusive(async () => {
      if (this.feats.has('MLST')) {
        try {
          return parseListing(await this.listTextNow(path ? `MLSD ${path}` : 'MLSD'), true);
        } catch (err) {
          if (!path || !(err instanceof FtpReplyError) || err.code < 500 || this.connection.closed) throw err;
          // Only a refusal of MLSD itself says the path may be no folder: not one of the data connection (a
          // PORT refused behind NAT), whose advice "found nothing at that path" replaced.
          if (!err.command.startsWith('MLSD ')) throw err;
          const file = await this.fileEntryNow(path);
          if (file === 'absent') throw nothingToList(err, 'list');
          if (!file) throw err;
          return [file];
        }
      }
      if (!path || !mayGlob(path)) {
        const text = await this.listWithHiddenNow('LIST', path);
        // vsftpd lists a missing path as empty (226), with no line at all (a folder has `.` and `..` with -a):
        // such a listing is a folder's only if it can be entered.
        if (path && text.trim() === '')
          await this.enterableNow(path).catch((err: unknown) => {
            throw err instanceof FtpReplyError && err.command === `CWD ${path}`
              ? nothingToList(err, 'list')
              : err;
          });
        const entries = parseListing(text);
        if (path) {
          const refused = await this.unreadableNow(path, text, entries);
          if (refused) throw refused;
        }
        return entries;
      }
      const inside = await this.listInsideNow('LIST', path, true);
      if (typeof inside === 'string') return parseListing(inside);
      const text = await this.listWithHiddenNow('LIST', path);
      const entries = parseListing(text);
      if (!(inside instanceof FtpReplyError)) return entries;
      const own = new Set(
        ownName(
          entries.map((e) => e.name),
          path,
          inside,
        ),
      );
      const mine = entries.filter((e) => own.has(e.name));
      if (isOwnFolderLine(text, mine, path, this.noListFlags)) throw cannotEnter(inside, 'list');
      return mine;
    });
  }

  /**
   * vsftpd lists a folder it cannot open (this user has no right to it) as `ls -ld` would: the folder's own
   * line, taken for a folder inside it of the same name. `LIST -a` of a folder it can read starts with `.` and
   * `..`. Such a listing gets the refusal of CWD there (inside an exclusive section); undefined when the
   * listing is the folder's content, or the folder can be entered after all.
   */
  private async unreadableNow(
    path: string,
    text: string,
    entries: ListEntry[],
  ): Promise<FtpReplyError | undefined> {
    if (!isOwnFolderLine(text, entries, path, this.noListFlags)) return undefined;
    try {
      await this.enterableNow(path);
      return undefined;
    } catch (err) {
      if (err instanceof FtpReplyError && err.command === `CWD ${path}` && err.code >= 500)
        return cannotEnter(err, 'list');
      throw err;
    }
  }

  /**
   * The entry of a file (not a folder) by MLST (RFC 3659 7.2), on the control connection: the path is taken
   * literally (no pattern, no flag) and the entry named by its last part. 'absent' when the server refuses
   * (a 5xx: nothing there), undefined when the path is a folder; a 4xx is the error. Inside an exclusive
   * section.
   */
  private async fileEntryNow(path: string): Promise<ListEntry | 'absent' | undefined> {
    const command = `MLST ${path}`;
    this.connection.send(command);
    const reply = await this.connection.readFinalReply();
    if (reply.code >= 400 && reply.code < 500) throw new FtpReplyError(reply.code, reply.message, command);
    if (!isPositiveCompletion(reply.code)) return 'absent';
    const line = reply.message.split('\n').find((l) => l.startsWith(' '));
    const entry = line === undefined ? undefined : mlsdFormat.parse(line.slice(1));
    const name = lastPart(path);
    if (!entry || entry.type === 'dir' || !isSafeName(name)) return undefined;
    return { ...entry, name };
  }

  /**
   * Throws the refusal of `CWD path` (inside an exclusive section); the working folder is then as before. A
   * server whose PWD cannot be read is not asked (false).
   */
  private async enterableNow(path: string): Promise<boolean> {
    const back = this.readPwd(await this.connection.request('PWD', [2, 5]));
    if (back === undefined) return false;
    const commands = [`CWD ${path}`, `CWD ${back}`];
    const [into, out] = await this.pipelineNow(commands);
    if (!isPositiveCompletion(into.code)) throw new FtpReplyError(into.code, into.message, commands[0]);
    if (!isPositiveCompletion(out.code)) throw new FtpReplyError(out.code, out.message, commands[1]);
    return true;
  }

  /**
   * LIST/NLST of a folder from inside (inside an exclusive section): CWD there, the bare verb, then CWD back.
   * pure-ftpd misreads `NLST -a <path>`, and a path may read as a pattern (`*`, `?`, `[`, `{`): vsftpd, when
   * no folder has that name, lists the entries of the parent that match it (`LIST /site/*` of a missing
   * folder `*` lists `/site`), and pure-ftpd globs.
   */
  private async listInsideNow(
    verb: 'LIST' | 'NLST',
    path: string,
    orElse = false,
  ): Promise<string | FtpReplyError | undefined> {
    const back = this.readPwd(await this.connection.request('PWD', [2, 5]));
    // Without the folder to come back to, the old way: a listing that may be the parent's beats a lost
    // working folder for a caller that uses relative paths. With `orElse`, the caller does that itself
    // (undefined).
    if (back === undefined) return orElse ? undefined : this.listWithHiddenNow(verb, path);
    try {
      await this.connection.request(`CWD ${path}`, 2);
    } catch (err) {
      // `orElse`: no folder to go into (a file, or nothing there) is for the caller to ask about directly; the
      // refusal is returned.
      if (orElse && err instanceof FtpReplyError && err.code >= 500) return err;
      throw err;
    }
    try {
      return await this.listWithHiddenNow(verb);
    } finally {
      // After an error that closed the session, there is no folder to go back to: that error is the one.
      if (!this.connection.closed) await this.connection.request(`CWD ${back}`, 2);
    }
  }

  /**
   * LIST/NLST with `-a` first (inside an exclusive section): vsftpd's LIST and proftpd's NLST hide dot-files
   * (`.htaccess`) without it. A server that refuses the flag (a 5xx: `500 unknown option`, `550 -a: no such
   * file`) gets the bare verb, from then on (basic-ftp does the same). A 4xx (425 no data connection, 450
   * busy) says nothing about the flag: it is the error, and the next listing asks with -a again.
   */
  private async listWithHiddenNow(verb: 'LIST' | 'NLST', path?: string): Promise<string> {
    const bare = path ? `${verb} ${path}` : verb;
    if (this.noListFlags) return this.listTextNow(bare);
    try {
      return await this.listTextNow(path ? `${verb} -a ${path}` : `${verb} -a`);
    } catch (err) {
      // Only a refusal of the listing itself: not one of the data connection (a PORT refused behind NAT).
      if (!(err instanceof FtpReplyError) || err.code < 500 || !err.command.startsWith(`${verb} `)) throw err;
      const text = await this.listTextNow(bare);
      this.noListFlags = true;
      return text;
    }
  }

  /** A listing's text (inside an exclusive section). */
  private async listTextNow(command: string): Promise<string> {
    const max = this.options.maxListingBytes ?? DEFAULT_MAX_LISTING_BYTES;
    const maxLines = this.options.maxListingEntries ?? DEFAULT_MAX_LISTING_ENTRIES;
    const chunks: Buffer[] = [];
    let total = 0;
    let lines = 0;
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        total += chunk.length;
        for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) lines++;
        if (total > max)
          done(new FtpProtocolError(`listing longer than ${max} bytes; refusing to buffer more`));
        else if (lines > maxLines)
          done(
            new FtpProtocolError(
              `listing of more than ${maxLines} entries (${command}); refusing to buffer more — raise maxListingEntries if one folder really holds that many`,
            ),
          );
        else {
          chunks.push(chunk);
          done();
        }
      },
    });
    await transfer(this.connection, this.data, command, { sink });
    return decodeText(Buffer.concat(chunks), this.encoding);
  }

  /**
   * Uploads `source` to `remotePath`; resolves with the bytes sent once the data connection has ended and
   * the server has confirmed (2xx), in whichever order they come.
   */
  async upload(
    remotePath: string,
    source: Readable | Buffer | FileSource,
    options: UploadOptions = {},
  ): Promise<number> {
    checkTargetPath(
      remotePath,
      'upload()',
      "the remote file's path (a name alone is in the current folder)",
      'remotePath',
    );
    checkSource(source);
    checkOffset(options.offset);
    // A resume from { path } without `start` sent the local file from its first byte, written from `offset` on:
    // the remote file then held its first `offset` bytes twice (nothing said so). `start: 0` says it is meant.
    if (isFileSource(source) && source.start === undefined && options.offset && !options.append)
      throw new FtpArgumentError(
        `upload with offset ${options.offset} from { path: ${JSON.stringify(source.path)} } and no start would send ` +
          `the file from its first byte; give start: ${options.offset} to send the bytes from there on (or start: 0 ` +
          `if the whole file is to go at that offset)`,
      );
    if (isFileSource(source) && source.fd === undefined) {
      // Opened before STOR: opened during the transfer, a missing or unreadable file failed after the STOR,
      // and the server kept what it had received, nothing: the remote file was truncated to 0 bytes.
      let fd: number;
      try {
        fd = fs.openSync(source.path, 'r');
      } catch (err) {
        throw new FtpArgumentError(
          `cannot read the local file ${JSON.stringify(source.path)} (${(err as Error).message}); nothing was sent`,
        );
      }
      // A folder opens too, and only its first read fails (EISDIR), after the STOR.
      if (fs.fstatSync(fd).isDirectory()) {
        fs.closeSync(fd);
        throw new FtpArgumentError(
          `the local path ${JSON.stringify(source.path)} is a folder, not a file; nothing was sent`,
        );
      }
      try {
        return await this.upload(remotePath, { ...source, fd }, options);
      } finally {
        fs.closeSync(fd);
      }
    }
    const verb = options.append ? 'APPE' : 'STOR';
    let cutAfterWrite: Error | undefined;
    const transferOptions = {
      source,
      restartAt: options.append ? undefined : options.offset,
      onProgress: options.onProgress,
      onCutAfterWrite: (err: Error) => (cutAfterWrite = err),
      before: options.before,
    };
    // The next command waits for this transfer's final reply: pure-ftpd reads the control connection during
    // a transfer (for ABOR) and answers anything else with 500, proftpd with "450 …: data transfer in
    // progress", both before the 226, so commands are never pipelined across one (pipeline.realservers).
    return this.exclusive(async () => {
      this.binaryFor(transferOptions.restartAt);
      try {
        const sent = await transfer(this.connection, this.data, `${verb} ${remotePath}`, transferOptions);
        if (cutAfterWrite && (options.offset !== undefined || !options.append))
          await this.holdsNow(remotePath, (options.offset ?? 0) + sent, cutAfterWrite);
        return sent;
      } catch (err) {
        throw await this.storeRefused(err, `${verb} ${remotePath}`, remotePath);
      }
    }).catch((err: unknown) => {
      throw resumeRefused(err, verb, transferOptions.restartAt);
    });
  }

  /**
   * After an upload whose data connection was reset once every byte was written (IIS resets its TLS data
   * connections so) and which the server confirmed: the file's size on the server must be `expected`. Bytes
   * still on their way when the reset came are lost, and a server that takes a reset for the end of the data
   * confirms what it got: that upload fails with the reset's error (transient: sent again), saying so. A
   * server that cannot say (no SIZE, a refusal, ASCII mode) leaves its confirmation to decide. Inside an
   * exclusive section.
   */
  private async holdsNow(path: string, expected: number, cut: Error): Promise<void> {
    if (this.notBinary !== undefined) return;
    const reply = await this.connection.request(`SIZE ${path}`, [2, 4, 5]);
    const size = reply.code === 213 ? Number(reply.message.trim()) : NaN;
    if (!Number.isSafeInteger(size) || size === expected) return;
    const err: NodeJS.ErrnoException = new Error(
      `${cut.message} — the data connection was reset after the upload was sent, and the server, though it ` +
        `confirmed the upload, holds ${size} of its ${expected} bytes: the rest was lost on the way; send it again`,
      { cause: cut },
    );
    err.code = (cut as NodeJS.ErrnoException).code ?? 'ECONNRESET';
    throw err;
  }

  /**
   * A refused STOR or APPE (550, 553) into a folder that cannot be entered, saying so (inside an exclusive
   * section): vsftpd answers "553 Could not create file." alone, pure-ftpd and proftpd "No such file or directory",
   * which reads as the file's own absence. The folder is looked at (CWD there and back) only after such a refusal;
   * any failure of the look leaves the refusal as it was.
   */
  private async storeRefused(err: unknown, command: string, path: string): Promise<unknown> {
    if (!(err instanceof FtpReplyError) || (err.code !== 550 && err.code !== 553)) return err;
    if (err.command !== command || this.connection.closed || DENIED.test(err.serverMessage)) return err;
    // No folder named (a name alone, or one under /): the current folder or the top, which are there.
    const folder = path.slice(0, path.lastIndexOf('/')).replace(/\/+$/, '');
    if (folder === '') return err;
    try {
      await this.enterableNow(folder);
    } catch (look) {
      if (look instanceof FtpReplyError && look.command === `CWD ${folder}`)
        return hinted(
          err,
          ` — its folder ${JSON.stringify(folder)} cannot be entered: it may be missing (make it first: mkd() makes one folder at a time), be a file, or be a folder this user may not open (check its permissions)`,
        );
    }
    return err;
  }

  /** Downloads `remotePath` into `sink` (which is not ended); resolves with the bytes received. */
  async download(remotePath: string, sink: Writable, options: DownloadOptions = {}): Promise<number> {
    checkTargetPath(remotePath, 'download()', 'the path of the file to download', 'remotePath');
    checkSink(sink);
    checkOffset(options.offset);
    return this.exclusive(async () => {
      this.binaryFor(options.offset);
      try {
        return await transfer(this.connection, this.data, `RETR ${remotePath}`, {
          sink,
          restartAt: options.offset,
          onProgress: options.onProgress,
          before: options.before,
        });
      } catch (err) {
        throw options.explain === false ? err : await this.retrRefused(err, remotePath);
      }
    }).catch((err: unknown) => {
      throw downloadResumeRefused(err, options.offset);
    });
  }

  /**
   * A refused RETR (550) saying which it is, by the server's reason (inside an exclusive section): nothing there
   * (proftpd, pure-ftpd: "No such file or directory"), a folder (proftpd's "Not a regular file", pure-ftpd's "I
   * can only retrieve regular files"); "Permission denied" is kept as it is. vsftpd says "Failed to open file."
   * whatever the cause: the path is then looked at (SIZE, then CWD there and back), and the error says which.
   * Any failure of the look leaves the refusal with a general hint.
   */
  private async retrRefused(err: unknown, path: string): Promise<unknown> {
    if (!(err instanceof FtpReplyError) || err.code !== ReplyCode.FileUnavailable) return err;
    if (err.command !== `RETR ${path}`) return err;
    const said = err.serverMessage;
    if (NOT_THERE.test(said)) return hinted(err, NOTHING_THERE);
    if (A_FOLDER.test(said)) return hinted(err, RETR_FOLDER);
    if (DENIED.test(said)) return err;
    const vague =
      ' — download() takes a file: the path may be missing (nlst() of its folder lists what is there), a folder, or a file this user may not read';
    if (this.connection.closed) return hinted(err, vague);
    try {
      // SIZE needs only the file's metadata (stat), where RETR opens it: a size is a file there but not readable.
      const size = await this.connection.request(`SIZE ${path}`, [2, 4, 5]);
      if (size.code === 213)
        return hinted(
          err,
          ' — a file is there, but the server would not open it: this user may not be allowed to read it (check its permissions)',
        );
      // proftpd refuses SIZE in ASCII mode ("550 SIZE not allowed in ASCII mode"): that says nothing of the path.
      if (size.code !== ReplyCode.FileUnavailable || /ascii/i.test(size.message)) return hinted(err, vague);
      return hinted(err, (await this.enterableNow(path)) ? RETR_FOLDER : vague);
    } catch (look) {
      if (look instanceof FtpReplyError && look.command === `CWD ${path}` && look.code >= 500)
        return hinted(err, NOTHING_THERE);
      return hinted(err, vague);
    }
  }

  /**
   * Says goodbye (QUIT) and closes. Never throws. Waits for a call in progress first (a transfer runs to its
   * end or its timeout); close() stops at once.
   */
  async quit(): Promise<void> {
    if (this.connection.closed) return;
    try {
      // Closed inside its turn: a call made after quit() (not awaited) was sent after the 221 otherwise.
      await this.exclusive(async () => {
        try {
          await this.connection.request('QUIT', 2);
        } finally {
          this.closeBy('quit()');
        }
      });
    } catch {
      // The server may drop the connection before answering QUIT.
    }
    this.closeBy('quit()');
  }

  /**
   * Sends QUIT and closes without waiting for the 221 (one round trip less at the end of a deploy). Waits for
   * any call in progress first. Never throws.
   */
  async disconnect(): Promise<void> {
    await this.queue;
    if (this.connection.closed) return;
    try {
      this.connection.send('QUIT');
      this.connection.endGracefully();
    } catch {
      this.close();
    }
  }

  /**
   * Closes the connection at once. A call in progress fails with FtpClosedError naming the command it was
   * waiting on (a download whose final reply has come, still writing into its stream, too); later calls with
   * FtpClosedError "closed: the client was closed by close(); …".
   */
  close(): void {
    this.closeBy('close()');
  }

  /** Closes at once; a later call's error says by what, and how to go on. */
  private closeBy(how: 'close()' | 'quit()'): void {
    const closed = new Error(`the client was closed by ${how}`);
    const cut = this.connection.inFlight;
    const later = new Error(`${closed.message}; FtpClient.connect() opens a new session`);
    this.connection.stop(closed, later, cut === undefined ? later : new FtpClosedError(closed, cut));
  }

  /** How paths and names become bytes (the `encoding` option): 'utf8' unless 'latin1' was asked for. */
  get encoding(): FtpEncoding {
    return this.connection.encoding;
  }

  /** Commands may go several in one write (the `pipelining` option, on by default). */
  get pipelining(): boolean {
    return this.data.pipelining === true;
  }

  /** True once the client is closed (quit, close, or an error that ended the session). */
  get closed(): boolean {
    return this.connection.closed;
  }

  private async run(command: string, expect: number | readonly number[]): Promise<FtpReply> {
    return this.exclusive(async () => this.connection.request(command, expect));
  }

  /** Runs `task` after every earlier call has finished: one exchange on the control connection at a time. */
  private async exclusive<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(async () => {
      this.connection.assertOpen();
      this.connection.calls++;
      try {
        return await task();
      } finally {
        this.connection.calls--;
      }
    });
    this.queue = result.catch(() => undefined);
    return result;
  }
}

/**
 * The names of a listing of `path` read as a pattern (vsftpd: `f*.txt` is also `f1.txt`) that are the file
 * itself: that very name. None: nothing of that name is there, and `refused` (the CWD into it) is the error.
 */
function ownName(names: string[], path: string, refused: FtpReplyError): string[] {
  const own = names.filter((n) => n === lastPart(path));
  if (own.length === 0) throw refused;
  return own;
}

/** `command` can be sent as it is (see FtpConnection.check). */
function sendable(c: FtpConnection, command: string): boolean {
  try {
    c.check(command);
    return true;
  } catch {
    return false;
  }
}

/** A { path } source (checked by checkSource): not a Buffer, nor a stream or other async iterable. */
function isFileSource(source: Readable | Buffer | FileSource): source is FileSource {
  return !Buffer.isBuffer(source) && !(Symbol.asyncIterator in source);
}

/**
 * The path in a 257 reply. RFC 959 doubles a `"` inside it (vsftpd, proftpd: `"/a""b" is the current
 * directory`); pure-ftpd does not (`"/a"b" is your current location`), and reading that the RFC way gave
 * `/a`. Read the RFC way only when no `"` is left on the line; else the path runs to the last `"` before a
 * space or the end of the line (pure-ftpd's `"/a" b" is …` is `/a" b`). `doubled` false (a server known not to
 * double them): read that way always, so `"/a""b"` is `/a""b`.
 */
function pathOf257(message: string, doubled = true): string | undefined {
  // A server that does not double them: the path runs to the last `"` before a space or the line's end.
  const undoubled = doubled ? null : /^[^"\n]*"(.*)"(?=\s|$)/m.exec(message);
  if (undoubled) return undoubled[1];
  const quoted = /^[^"]*"((?:[^"]|"")*)"(?=\s|$)(?=[^"\n]*(?:\n|$))/.exec(message);
  if (quoted) return quoted[1].replace(/""/g, '"');
  const raw = /^[^"\n]*"(.*)"(?=\s|$)/m.exec(message);
  if (raw) return raw[1];
  const first = /"((?:[^"]|"")*)"/.exec(message);
  if (first) return first[1].replace(/""/g, '"');
  // No quotes on the first line at all (`257 /home/user is the current directory`, some embedded and old
  // servers): its first word, when that is an absolute path (Unix, or `C:/`, `C:\`).
  const bare = /^\s*((?:\/|[A-Za-z]:[\\/])\S*)/.exec(message.split('\n')[0]);
  return bare && !message.split('\n')[0].includes('"') ? bare[1] : undefined;
}

/**
 * A resume or append the server refused, with what to try: proftpd without AllowStoreRestart answers the STOR
 * after REST, and APPE, with "451 …: Append/Restart not permitted, try again" (trying again only fails again),
 * and an offset past the end with "554 REST: invalid … argument". Other errors as they are.
 */
function resumeRefused(err: unknown, verb: 'STOR' | 'APPE', offset: number | undefined): unknown {
  if (!(err instanceof FtpReplyError) || (verb === 'STOR' && !offset)) return err;
  const rest = err.command.startsWith('REST ');
  if (!rest && !err.command.startsWith(`${verb} `)) return err;
  const hint =
    err.code === 554 && offset
      ? ` — the offset ${offset} may be past the end of the remote file: give at most its size (size())`
      : rest || [451, 500, 502, 504].includes(err.code)
        ? ` — the server may not allow ${verb === 'APPE' ? 'appending' : 'resuming'} (proftpd: AllowStoreRestart on allows it): upload the whole file instead (${verb === 'APPE' ? 'no append' : 'no offset'})`
        : '';
  return hinted(err, hint);
}

/**
 * A download from an offset the server refused, with what to try: past the end of the file, pure-ftpd answers
 * "554 Restart offset 20 is too large for file size 10", proftpd "554 REST: invalid <path> argument" (which
 * names neither the offset nor the size); a server without REST answers it with 500 or 502. Other errors as
 * they are.
 */
function downloadResumeRefused(err: unknown, offset: number | undefined): unknown {
  if (!(err instanceof FtpReplyError) || !offset) return err;
  const hint =
    err.code === 554
      ? ` — the offset ${offset} may be past the end of the remote file: give at most its size (size())`
      : err.command.startsWith('REST ') && [500, 502, 504].includes(err.code)
        ? ` — the server may not resume downloads (REST ${offset} refused): download the whole file (no offset)`
        : '';
  return hinted(err, hint);
}

/**
 * The server's words for "nothing is there": "No such file or directory" (proftpd, pure-ftpd), pure-ftpd's
 * "Can't check for file existence" (SIZE, MLSD of a missing path), "not found", "does not exist".
 */
const NOT_THERE = /no such file|not found|does(?: not|n't) exist|can't check for file existence/i;
const NOTHING_THERE = ' — nothing is at that path: check it (nlst() of its folder lists what is there)';
/** The server's words for "a folder, not a file": "Is a directory", pure-ftpd's "Invalid argument" (DELE), "not a regular file". */
const A_FOLDER = /director|invalid argument|regular file/i;
const RETR_FOLDER =
  ' — it is a folder, not a file: download() takes a file (list() shows what the folder holds)';
/** A refusal for want of rights: the server said why, and no hint of ours is better. */
const DENIED = /denied|permission|not permitted/i;

/**
 * A 550 refusal of DELE or SIZE with what to do, by the server's reason: nothing there; a folder (`folder`: "Is a
 * directory", "Invalid argument", "not a regular file"); none given (`vague`: vsftpd says "Delete operation failed."
 * and "Could not get file size." whatever the cause). A refusal for want of rights stays as it is.
 */
function byReason(err: unknown, hints: { folder: string; vague: string }): unknown {
  if (!(err instanceof FtpReplyError) || err.code !== ReplyCode.FileUnavailable) return err;
  const said = err.serverMessage;
  if (NOT_THERE.test(said)) return hinted(err, NOTHING_THERE);
  if (A_FOLDER.test(said)) return hinted(err, hints.folder);
  if (DENIED.test(said)) return err;
  return hinted(err, hints.vague);
}

/**
 * The end of the error of list() or nlst() of a path that is neither a folder nor a file: the refusal is of the
 * step that found it (vsftpd's "CWD …: 550 Failed to change directory.", pure-ftpd's "MLSD …: 550 Can't check
 * for file existence"), not of the call made.
 */
/**
 * A LIST taken with `-a` (`flagless` false) that holds only a folder named as the path's last part and no `.`
 * line: the server listed the path itself, not what is in it (see FtpClient's unreadableNow).
 */
function isOwnFolderLine(text: string, entries: ListEntry[], path: string, flagless: boolean): boolean {
  if (flagless || entries.length !== 1) return false;
  const [entry] = entries;
  if (entry.type !== 'dir' || entry.name !== lastPart(path)) return false;
  return !text
    .split(/\r?\n/)
    .some((line) => LIST_FORMATS.find((f) => f.test(line))?.parse(line)?.name === '.');
}

/** The refusal of CWD into a folder that was listed as its own line: this user may not open it. */
function cannotEnter(err: FtpReplyError, call: 'list' | 'nlst'): FtpReplyError {
  return hinted(
    err,
    ` — ${call}() cannot enter that folder to list it: this user may not be allowed to (check its permissions)`,
  );
}

function nothingToList(err: FtpReplyError, call: 'list' | 'nlst'): FtpReplyError {
  if (DENIED.test(err.serverMessage)) return err; // there may be something, not for this user
  return hinted(err, ` — ${call}() found nothing at that path: no folder to list, and no file of that name`);
}

/** A 550 refusal with `hint` added to its message (see {@link hinted}); else `err`. */
function withHint(err: unknown, hint: string): unknown {
  if (!(err instanceof FtpReplyError) || err.code !== ReplyCode.FileUnavailable) return err;
  return hinted(err, hint);
}

/**
 * A refusal with `hint` (what to try) added to its message, its code, command and the server's text as they
 * were (a hint given before is replaced); `err` itself when `hint` is empty.
 */
function hinted(err: FtpReplyError, hint: string): FtpReplyError {
  return hint ? new FtpReplyError(err.code, err.serverMessage, err.command, hint) : err;
}

/** A path's last part: `a/b.txt/` gives `b.txt`. */
function lastPart(path: string): string {
  return path.replace(/\/+$/, '').replace(/^.*\//, '');
}

/** A path some server's LIST or NLST reads as a pattern (glob characters). */
function mayGlob(path: string): boolean {
  return /[*?[{]/.test(path);
}

/**
 * The whole-file SHA-256 in a reply: `HASH` answers "213 SHA-256 0-<end> <hex> <path>" (proftpd puts a
 * "Computing…" line first), `XSHA256` the hex digits alone.
 */
function parseSha256(how: 'HASH' | 'XSHA256', reply: FtpReply, command: string): string {
  const m =
    how === 'HASH'
      ? /^SHA-256 0-\d+ ([0-9a-f]{64}) /im.exec(reply.message)
      : /(?:^|\s)([0-9a-f]{64})(?:\s|$)/i.exec(reply.message);
  if (!m) throw new FtpProtocolError(`no SHA-256 in the reply to ${command}: ${reply.message.slice(0, 200)}`);
  return m[1].toLowerCase();
}
