/**
 * A deploy lock on the server, so two deploys of one target never interleave (FIELD.md row 17).
 * MKD is atomic on every server: the lock is a folder `<state>.lock` holding `holder.json` (who, since
 * when, refreshed every 30 s). A lock older than `staleLockMs` is taken over with a warning; one without a
 * holder yet (a deploy that took it a moment ago) is first given a few seconds to be named.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import {
  FtpProtocolError,
  FtpReplyError,
  isTransientError,
  repliesBeforeFailure,
  type FtpClient,
  type FtpReply,
} from '../ftp/index.js';
import { mlsxFacts } from '../ftp/list.js';
import { DeployError, GuardError } from './errors.js';
import type { Reporter } from './options.js';
import { sleep, type ConnectionPool } from './pool.js';
import { baseName, parentOf, remoteJoin } from './paths.js';
import {
  deleteFile,
  dirExists,
  dropHeldUpload,
  isDataChannelRefusal,
  makeDirs,
  readRemoteFile,
  remoteSize,
  uploadOver,
} from './remote.js';

interface Holder {
  /** Unique per deploy: tells this deploy's holder file from another's. */
  token?: string;
  holder: string;
  host?: string;
  pid?: number;
  startedAt: string;
  refreshedAt: string;
}

const REFRESH_MS = 30_000;
/** How long a lock folder without a holder is given to be named (by a deploy that has just taken it). */
const HOLDER_GRACE_MS = 15_000;
const HOLDER_POLL_MS = 500;
/** After taking over a stale lock, how long other deploys taking it over at the same moment get to show. */
const TAKEOVER_SETTLE_MS = 2_000;

/**
 * The unlock, handed to the body so that its last write (the final state's rename) can carry it: DELE of
 * the holder and RMD of the lock in the same write as RNFR/RNTO, one round trip less. The server runs them in
 * order, after the rename. Not used, the lock is released after the body, as before.
 */
export interface LockRelease {
  /**
   * The unlock's commands, once the holder's refresh is stopped; undefined when they cannot go now (the lock
   * lost). Called right before the write that carries them.
   */
  commands(): Promise<string[] | undefined>;
  /** The replies to those commands: the lock is released when the RMD says so (else it is tried again after). */
  settle(replies: FtpReply[]): void;
  /** Whether the lock is still this deploy's (its holder file names it): for a retry after a cut write. */
  stillOurs(c: FtpClient): Promise<boolean>;
  /**
   * Before each write of the state (a checkpoint, the final one): throws, and stops the run, once the lock is
   * known to be another deploy's or gone. Looks (and refreshes it) only when it was not refreshed for half
   * the stale time: a lock refreshed since cannot have been taken over.
   */
  ensureHeld(c: FtpClient): Promise<void>;
}

/**
 * A file read in the lock's own write (MKD, MKD, EPSV, RETR: one round trip less than reading it after), which
 * the server reads after taking the lock. Given to the body only when this deploy took the lock at once
 * (else it was read before the lock was this deploy's). `refused`: the RETR got a 5xx.
 */
export interface ReadWithLock {
  data?: Buffer;
  refused: boolean;
}

/** A lock this deploy holds: its folder, and the token its holder file names (once written). */
export interface HeldLock {
  path: string;
  holderPath: string;
  token: string;
  /** The claim file, on a server whose MKD cannot tell (see {@link withLock}): removed with the holder. */
  claimPath?: string;
}

/**
 * The tokens of this process's deploys inside {@link withLock} (taking, holding or releasing their lock). A holder
 * naming this process with a token not among them was left by one of its deploys that is over (its unlock cut off
 * with its connection): a long-lived process (gulp watch, a dev server deploying through the library) had every
 * later deploy refused ("another deploy holds the lock", naming itself) until the lock went stale. Kept on
 * `globalThis`: the ESM modules and the CommonJS bundle loaded in one process are not the same module.
 */
const LIVE = Symbol.for('ftpship.liveLockTokens');
const liveTokens = ((globalThis as { [LIVE]?: Set<string> })[LIVE] ??= new Set<string>());

export async function withLock<T>(
  pool: ConnectionPool,
  lockPath: string,
  o: LockOptions,
  rep: Reporter,
  body: (release: LockRelease, read?: ReadWithLock) => Promise<T>,
): Promise<T> {
  const token = crypto.randomUUID();
  liveTokens.add(token);
  try {
    return await lockAndRun(token, pool, lockPath, o, rep, body);
  } finally {
    liveTokens.delete(token);
  }
}

interface LockOptions {
  staleLockMs: number;
  knownDirs?: Set<string>;
  signal?: AbortSignal;
  /** A file to read in the lock's write, with pipelining (the state, which the body reads first). */
  readWithLock?: { path: string; max: number };
  /** Told when the lock could not be released (it stays on the server). */
  lockLeft?: (err: unknown) => void;
  /** Told once the lock is this deploy's, and again (undefined) once it is not (released, or lost). */
  onLock?: (lock: HeldLock | undefined) => void;
}

async function lockAndRun<T>(
  token: string,
  pool: ConnectionPool,
  lockPath: string,
  o: LockOptions,
  rep: Reporter,
  body: (release: LockRelease, read?: ReadWithLock) => Promise<T>,
): Promise<T> {
  const holderPath = `${lockPath}/holder.json`;
  const claimPath = `${lockPath}/claims`;
  /**
   * The server answered 257 to both MKDs (ftp-srv makes folders as `mkdir -p` does; so may a gateway to an
   * object store): MKD cannot tell who made the lock folder. The deploys that find it without a holder each
   * append a line with their token to the claim file in it (APPE: one short line is one write, and appends do
   * not interleave), then read it: the first line's deploy holds the lock, the others back off as from a held
   * lock. Was: each found no holder yet, and all took the lock. The file stays until the unlock (a deploy
   * claiming later is never first), which removes it before the folder.
   */
  let mkdBlind = false;
  /** The unlock (see {@link unlockCommands}): the RMD's reply, last, says the lock is gone. */
  const unlock = (): string[] =>
    unlockCommands({ path: lockPath, holderPath, ...(mkdBlind ? { claimPath } : {}) });
  /**
   * Appends this deploy's token to the claim file, and reads whose came first. A server that refuses the
   * file (no APPE) leaves the lock as it was before claims: taken, with a warning that runs started at the
   * same moment are not kept apart there (was: refused, every deploy would fail).
   */
  const claim = async (c: FtpClient): Promise<boolean> => {
    let refused: FtpReplyError | undefined;
    const data = await c
      .upload(claimPath, Buffer.from(`${token}\n`), { append: true })
      .then(async () => readRemoteFile(c, claimPath, 64 * 1024, (err) => (refused = err)))
      .catch((err: unknown) => {
        if (!(err instanceof FtpReplyError) || err.code < 500 || isDataChannelRefusal(err)) throw err;
        refused = err;
        return undefined;
      });
    if (!refused) return data?.toString('utf8').split('\n', 1)[0] === token;
    rep.warn?.(
      `the server answers "created" to MKD of a folder that is there already, so the deploy lock ${lockPath} rests on ` +
        `a claim file in it, which it refused (${refused.command}: ${refused.code} ${refused.serverMessage.replace(/\s*\n\s*/g, ' / ')}): ` +
        `deploys started at the same moment are not kept apart on this server; give every workflow that deploys ` +
        `here the same concurrency: group`,
    );
    return true;
  };
  /** A deploy whose claim came first holds the lock; it names itself in a moment. */
  const claimedByOther = (): GuardError =>
    new GuardError(
      `another deploy holds the lock ${lockPath} (it took it a moment ago, as this deploy started); wait for it to finish, then run the deploy again`,
    );
  const me: Holder = {
    token,
    holder: describeHolder(),
    host: os.hostname(),
    pid: process.pid,
    startedAt: new Date().toISOString(),
    refreshedAt: '',
  };
  let holderWritten = false;
  /** A stale lock was taken over: whether this deploy is the one named in it is checked after a pause. */
  let tookOver = false;
  const lost = (): GuardError =>
    new GuardError(`another deploy took the lock ${lockPath} first; try again later`);
  let read: ReadWithLock | undefined;
  /** How long another deploy gives a lock folder without a holder to be named before taking it over. */
  const grace = Math.min(HOLDER_GRACE_MS, o.staleLockMs);
  /**
   * When an attempt of this task sent the MKD that the server answered 257 (made: this deploy's lock folder),
   * before its connection was cut: a retry that finds the folder without a holder knows it for its own.
   */
  let madeAt: number | undefined;
  /**
   * An attempt's connection was cut before any reply to its lock's MKD came back: the server may have made the
   * folder all the same (this deploy's lock, then) or not. A retry that finds the folder naming no one cannot
   * tell it from another deploy's taken at the same moment, whose 257 came back and whose holder is on its way:
   * claiming it at once could leave both deploys holding it (that one overwrites the holder, or is overwritten,
   * and never looks again). So it waits for the grace as for any lock naming no one; only its words say so.
   */
  let mkdUnanswered = false;
  /**
   * The holder's write, started the moment the lock is known to be this deploy's: a deploy killed before it
   * leaves a lock no one is named in, which the next deploy gives 15 s to be named (from another machine,
   * the stale time) before taking it over. On a connection of the pool's, ahead of any other task waiting:
   * with pipelining, one that is free while the lock's own connection still reads the state; else that one,
   * right after. The body waits for it (no upload, folder or state write goes out before the lock names
   * this deploy).
   */
  let naming: Promise<void> | undefined;
  /**
   * A write of the holder (naming this deploy, or a refresh) was cut (no reply to its STOR): the server may not
   * have heard of the cut, and its session of that write waits on for the rest of the data, the
   * holder open, empty or part-written (minutes: the server's data timeout). vsftpd locks it all that time (a
   * STOR or a RETR of that name waits on the lock). The next write removes it first: the name is then a new
   * file, and that session writes on into the one removed.
   */
  let holderCut = false;
  const writeOwnHolder = async (c: FtpClient): Promise<void> => {
    if (holderCut) await dropHeldUpload(c, holderPath);
    holderCut = false;
    await writeHolder(c, holderPath, me).catch((err: unknown) => {
      // A reply (a refusal, a full disk) ends the server's STOR: nothing holds the file, which stays.
      holderCut = !(err instanceof FtpReplyError);
      throw err;
    });
  };
  const nameNow = async (): Promise<void> =>
    (naming ??= pool.run(
      'lock holder',
      async (c) => {
        if (holderWritten) return;
        // Was: every retry after a cut STOR waited on vsftpd's lock of it, and the lock named no deploy all
        // through this one (see holderCut).
        await writeOwnHolder(c);
        holderWritten = true;
      },
      // A cancel ends its backoff: the way out (the unlock) does not wait for it (the retry backoff, a
      // minute at most, outlasted the way out's patience, and the lock was left naming no one).
      'until-cancel',
    ));
  /** MKD twice in one write; with pipelining, the file to read goes in that write too (RETR after them). */
  const mkdTwice = async (c: FtpClient): Promise<FtpReply[]> => {
    const mkds = [`MKD ${lockPath}`, `MKD ${lockPath}`];
    const r = o.readWithLock;
    // Over TLS, servers answer only the first few KiB of one write (see FtpClient.pipeline): short paths only.
    if (!r || !c.pipelining || lockPath.length * 2 + r.path.length > 1500) return c.pipeline(mkds);
    let replies: FtpReply[] | undefined;
    let refused = false;
    try {
      const data = await readRemoteFile(c, r.path, r.max, () => (refused = true), {
        commands: mkds,
        replies: (got) => {
          replies = got;
          // Made, and the second refused (an honest server): this deploy's lock. Named now, while the state
          // is read (a RETR cannot carry the holder's STOR: that one must go only once the MKD said yes).
          if (got[0].code < 300 && got[1].code >= 500) nameNow().catch(() => undefined);
        },
      });
      read = { data, refused };
    } catch (err) {
      // The read failed after the MKDs were answered (a reset, a file over the cap): read again after.
      if (!replies) throw err;
    }
    return replies as FtpReply[];
  };
  /**
   * After a takeover, by the server's clock: the holder file this deploy just wrote tells the server's time now,
   * and the one taken over was written less than the stale time before it. Then this machine's clock is ahead
   * (both that holder's own time and the server's time of its file looked old to it), and that deploy may be
   * alive: its holder is put back, as it was, and this deploy backs off. Was: a live lock taken over, two
   * deploys writing at once until the other's next refresh. Where the server gives no time, as before.
   */
  const checkOwnClock = async (c: FtpClient, other: Holder, stamp: number): Promise<void> => {
    if (!Number.isFinite(stamp)) return;
    const serverNow = await serverTime(c, holderPath);
    if (!(serverNow - stamp < o.staleLockMs)) return;
    await uploadOver(c, holderPath, Buffer.from(JSON.stringify(other)));
    holderWritten = tookOver = false;
    const ahead = Math.round((Date.now() - serverNow) / 60_000);
    throw new GuardError(
      `another deploy holds the lock ${lockPath} (${other.holder}, since ${other.startedAt}): its holder file was ` +
        `written ${Math.round((serverNow - stamp) / 1000)} s ago by the server's clock, under the stale time ` +
        `(${Math.round(o.staleLockMs / 1000)} s); this machine's clock is ${ahead} min ahead of the server's, which made ` +
        `the lock look stale. The lock was given back as it was; set this machine's clock right, then run the deploy again`,
    );
  };
  const taking = pool.run(
    `lock ${lockPath}`,
    async (c) => {
      o.signal?.throwIfAborted(); // cancelled before the lock: not taken
      await makeDirs(c, parentOf(lockPath) || '/', o.knownDirs);
      // MKD twice in one write: a real server refuses the second (the folder exists now). One that says yes
      // to both (ftp-srv answers 257 to MKD of an existing folder) cannot be trusted: look for a holder file.
      read = undefined;
      const sentAt = Date.now();
      const [first, second] = await mkdTwice(c).catch((err: unknown) => {
        // Cut (a reset, a close) after the first MKD's reply, before the second's: made by this attempt all
        // the same (was: the 257 lost, and the retry took its own lock for another deploy's, 15 s later).
        const [made] = repliesBeforeFailure(err);
        if (made && made.code < 300) madeAt ??= sentAt;
        if (!made) mkdUnanswered = true;
        throw err;
      });
      if (first.code >= 400 && first.code < 500)
        throw new FtpReplyError(first.code, first.message, `MKD ${lockPath}`);
      const made = first.code < 300;
      if (made) madeAt ??= sentAt;
      if (made && second.code < 300) mkdBlind = true;
      let other = made && second.code >= 500 ? undefined : await readHolder(c, holderPath);
      /** Another deploy's claim came first: the folder this deploy's MKD "made" is not its lock. */
      let claimLost = false;
      if (mkdBlind && !other) {
        if (await claim(c)) return; // first: this deploy's lock (the file read in the MKDs' write stands)
        claimLost = true;
        read = undefined;
        // Another deploy claimed it first (a moment ago: it names itself next), or one that died before naming
        // itself did (the wait for a holder below ends in a takeover).
        other = await readHolder(c, holderPath);
      }
      // Made by an earlier attempt of this task (257), whose connection was cut before the holder was written:
      // named now, with no wait and no warning (was: 15 s waiting for a holder, then "taking over a stale lock"
      // of its own). Safe while another deploy cannot have taken it over yet: it may take a folder that names
      // no one only after the grace, counted from when it found the folder (after this MKD made it); a holder
      // written within the grace of that MKD's sending is there before any other deploy may remove it. This
      // attempt's MKD refused (5xx) shows a server that refuses to make a folder that is there, so the earlier
      // 257 made it. Written later than that (a slow write): checked after the pause, as after a takeover.
      // A holder naming another deploy: the lock is that deploy's (below).
      if (!made && !other && madeAt !== undefined && Date.now() - madeAt < grace) {
        // Through writeOwnHolder: this write's own STOR, cut, held the name on vsftpd, and its retry waited on
        // it to the end of the retries (a cut MKD reply, then a cut STOR, ran them out).
        const wrote = await writeOwnHolder(c).then(
          () => true,
          (err: unknown) => {
            if (err instanceof FtpReplyError) return false; // the folder went meanwhile: looked at below
            throw err;
          },
        );
        if (wrote) {
          read = undefined;
          holderWritten = true;
          if (Date.now() - madeAt >= grace) tookOver = true;
          return;
        }
      }
      // Named by this deploy: an earlier attempt of this task took the lock over, then lost its connection
      // (a server closing idle ones). Not another deploy's lock: the check after the pause follows.
      if (other?.token === me.token) {
        holderWritten = tookOver = true;
        read = undefined;
        return;
      }
      if (made && !other && !claimLost) return;
      read = undefined; // read before this deploy held the lock
      if (!other) {
        // Up to 15 s of silence otherwise: say what the deploy waits for, once the folder is seen there (a
        // server that refuses the name, pure-ftpd -X, refused the MKD with no folder there: was "the lock is
        // there", then the refusal).
        const graceS = Math.round(grace / 1000);
        // Its own MKD's reply lost with the connection: the folder may well be this deploy's (was: the same words
        // as for another deploy's lock, then "taking over a stale lock ... (unknown holder)" of its own).
        const waiting = (): void =>
          rep.info?.(
            mkdUnanswered
              ? `the lock ${lockPath} is there but names no deploy yet: it may be this deploy's own (the connection was cut before the server answered its MKD), or another deploy's taken at the same moment; waiting up to ${graceS} s for a deploy to name itself in it (so that two deploys never both hold it), else this deploy takes it`
              : `the lock ${lockPath} is there but names no deploy yet: waiting up to ${graceS} s for the deploy that took it to name itself, else it counts as abandoned`,
          );
        const seen = await awaitHolder(c, lockPath, holderPath, grace, o.signal, waiting);
        if (seen === 'ours') {
          if (!mkdBlind || (await claim(c))) return;
          throw claimedByOther();
        }
        if (seen === 'refused') {
          throw new DeployError(
            `cannot create the deploy lock ${lockPath}: ${first.code} ${first.message}; ${lockRefusedHint(lockPath, first.code)}`,
          );
        }
        other = seen;
        if (other?.token === me.token) {
          holderWritten = tookOver = true;
          return;
        }
      }
      const last =
        other && !deadOnThisHost(other)
          ? await lastRefreshed(c, holderPath, other, o.staleLockMs)
          : undefined;
      if (last && !(Date.now() - last.at >= o.staleLockMs)) {
        // When it counts as abandoned: from its last refresh, not its start (a long deploy started long ago
        // may have refreshed it a moment ago), so that a user does not remove a live deploy's lock.
        const seen = last.at;
        const staleAt = Number.isNaN(seen)
          ? ''
          : `: run the deploy again after ${new Date(seen + o.staleLockMs).toISOString()} to take it over`;
        // A deploy of this very process, still running: removing its lock would be wrong advice.
        const ownLive = runningHere(other);
        const held = new GuardError(
          `another deploy holds the lock ${lockPath} (${other?.holder}, since ${other?.startedAt}` +
            `${other?.refreshedAt ? `, last refreshed ${other.refreshedAt}` : ''}); ` +
            (ownLive
              ? 'it is a deploy() of this same process, still running: await it before starting the next one there'
              : `wait for it to finish, or remove the folder if that deploy is dead (stale after ${Math.round(o.staleLockMs / 1000)} s${staleAt})${last.clocks ?? ''}`),
        );
        held.lock = {
          path: lockPath,
          holderPath,
          staleAt: Number.isFinite(seen) ? new Date(seen + o.staleLockMs).toISOString() : undefined,
        };
        throw held;
      }
      if (!other && mkdUnanswered)
        rep.info?.(
          `no deploy named itself in the lock ${lockPath} within ${Math.round(grace / 1000)} s: this deploy takes it (most likely its own, made by the MKD whose answer was lost with the connection)`,
        );
      else
        rep.warn?.(
          `taking over a stale lock ${lockPath} (${other?.holder ?? 'unknown holder'}, last seen ${other?.refreshedAt ?? 'never'})`,
        );
      // Still the holder judged stale? Another deploy may have taken the lock over meanwhile and named itself.
      if (!sameHolder(await readHolder(c, holderPath), other)) throw lost();
      await deleteFile(c, holderPath).catch(async (err: unknown) => {
        if (!(err instanceof FtpReplyError)) throw err;
        // Another deploy named itself meanwhile, or this user may not delete the holder (another account's).
        const now = await readHolder(c, holderPath);
        if (!sameHolder(now, other)) throw lost();
        throw new DeployError(
          `cannot take over the stale lock ${lockPath}: ${err.code} ${err.serverMessage}; remove that folder by hand (another FTP account's deploy may have left it)`,
        );
      });
      await c.rmd(lockPath).catch(() => undefined);
      if (!(await tryMkd(c, lockPath))) throw lost();
      // Made by this deploy: a retry after a cut below names itself in it as after a cut MKD reply (above), and
      // the look after the pause follows all the same. Was: it found the folder naming no one, waited the grace,
      // and warned "taking over a stale lock (unknown holder)" about its own.
      madeAt = Date.now();
      tookOver = true;
      // Named at once: a lock folder with a holder in it cannot be removed by another deploy taking over
      // the same stale lock a moment later (its RMD fails), which an empty one could.
      // Refused: the folder went again (another deploy taking over the same lock removed it). Cut: through
      // writeOwnHolder, so that the retry removes the cut write's file first (vsftpd holds the name).
      await writeOwnHolder(c).catch((err: unknown) => {
        throw err instanceof FtpReplyError ? lost() : err;
      });
      holderWritten = true;
      if (other && last) await checkOwnClock(c, other, last.stamp);
    },
    true,
  );
  await taking.catch((err: unknown) => {
    // The connection kept failing: the bare socket error said neither what failed nor to run again.
    if (!isTransientError(err) || err instanceof FtpReplyError || err instanceof DeployError) throw err;
    throw new DeployError(
      `cannot take the deploy lock ${lockPath}: ${(err as Error).message} (the connection kept failing through ` +
        `the retries: check the network, then run the deploy again; nothing was deployed)`,
      { cause: err },
    );
  });
  if (tookOver) {
    // Several deploys can judge one lock stale at once, and each deletes the holder it finds: the last to
    // name itself wins. Look again once the others have had time to: whoever is not named there backs off.
    // The pause holds no connection: a server closing idle ones (proftpd TimeoutIdle) would cut it.
    // At most a quarter of the stale time, as the refresh (which starts only after this pause): under a short
    // staleLockMs, a holder left unrefreshed through a 2 s pause was stale to other deploys before this one even
    // began, and a third deploy took over a live lock (and this one, its own lock gone, backed off).
    const settle = Math.min(TAKEOVER_SETTLE_MS, o.staleLockMs / 4);
    for (const until = Date.now() + settle; Date.now() < until && !o.signal?.aborted;)
      await sleep(Math.min(HOLDER_POLL_MS / 5, until - Date.now()));
    await pool.run(
      `lock ${lockPath}`,
      async (c) => {
        const named = (await readHolder(c, holderPath))?.token === me.token;
        if (o.signal?.aborted) {
          // Cancelled meanwhile: the lock goes back at once, if it is still this deploy's (no body to run).
          if (named) await c.pipeline(unlock());
          o.signal.throwIfAborted();
        }
        if (!named) throw lost();
      },
      true,
    );
  }
  o.onLock?.({ path: lockPath, holderPath, token: me.token ?? '', ...(mkdBlind ? { claimPath } : {}) });
  // The folder is the lock; who holds it is written before the body starts (begun already, with pipelining,
  // as soon as the MKD's reply said so). Was: beside the body's first steps, after them on the wire; a deploy
  // killed meanwhile (SIGKILL, OOM, a CI runner's hard kill) left a lock naming no one.
  if (!holderWritten)
    await nameNow().catch((err: unknown) => {
      // Cancelled: the deploy says so itself, and the unlock comes next.
      if (!o.signal?.aborted)
        // On one line: pure-ftpd's 552 gives the quota figures on lines of their own.
        rep.warn?.(
          `could not write the lock holder ${holderPath}: ${(err as Error).message.replace(/\s*\n\s*/g, ' / ')}`,
        );
    });
  let released = false;
  /** The holder file is on the server, naming this deploy (written or refreshed at least once). */
  let holderOnServer = holderWritten;
  /** When the holder on the server was last written by this deploy (its `refreshedAt`). */
  let confirmedAt = holderWritten ? Date.parse(me.refreshedAt) : 0;
  /** The lock is another deploy's, or gone: the run stops with this. */
  let lostErr: DeployError | undefined;
  /** No refresh from now on (the unlock is going out, or the lock was lost). */
  let stopRefresh = false;
  let refreshWarned = false;
  /** A connection of its own for the refresh was refused (a server at its limit): refreshed between transfers. */
  let ownRefused = false;
  // eslint-disable-next-line prefer-const -- assigned below, used by the release the body gets first
  let timer: NodeJS.Timeout | undefined;
  /** A refresh asked for (under way, or waiting for a connection). */
  let refreshAsked = false;
  /** A refresh writing on a connection now (one waiting for a connection does not count). */
  let refreshing: Promise<void> | undefined;
  const markLost = (other: Holder | undefined): DeployError => {
    const stale = Math.round(o.staleLockMs / 1000);
    lostErr ??= new DeployError(
      `the deploy lock ${lockPath} is no longer this deploy's: ${
        other
          ? `another deploy took it over (${other.holder}, since ${other.startedAt}), judging it stale (not refreshed for ${stale} s)`
          : 'its holder file or folder was removed (by hand, or by another deploy judging it stale)'
      }. This deploy stopped so as not to write over that deploy's work, and wrote no state since: run it again ` +
        `once no other deploy runs (it sends only what was not confirmed)`,
    );
    stopRefresh = true;
    clearInterval(timer);
    pool.cancel(lostErr);
    return lostErr;
  };
  /** Reads the holder: still this deploy's, it is written again (refreshed), else the lock is lost. */
  const refresh = async (c: FtpClient): Promise<void> => {
    if (stopRefresh) return;
    // One at a time (two writes of the holder at once can trip each other: a delete, then a write, each):
    // the one under way, on another connection, counts.
    if (refreshing) return refreshing;
    const run = (async () => {
      if (holderOnServer) {
        const now = await readHolder(c, holderPath);
        // There, empty or part-written, after this deploy's own write of it was cut: that write's (another
        // deploy taking the lock over writes a whole holder of its own). Was: taken for a lock taken over or
        // removed, and the deploy stopped.
        const ownCut = now === undefined && holderCut && (await remoteSize(c, holderPath)) >= 0;
        if (now?.token !== me.token && !ownCut) throw markLost(now);
      }
      if (stopRefresh) return;
      await writeOwnHolder(c);
      holderOnServer = true;
      confirmedAt = Date.parse(me.refreshedAt);
    })();
    refreshing = run;
    try {
      await run;
    } finally {
      if (refreshing === run) refreshing = undefined;
    }
  };
  const refreshFailed = (err: unknown): void => {
    if (err === lostErr || stopRefresh || refreshWarned) return;
    refreshWarned = true;
    rep.warn?.(
      `could not refresh the deploy lock ${lockPath} (${(err as Error).message.replace(/\s*\n\s*/g, ' ')}); ` +
        `trying again: if it stays unrefreshed for ${Math.round(o.staleLockMs / 1000)} s, another deploy may take it over`,
    );
  };
  const release: LockRelease = {
    commands: async () => {
      if (lostErr) return undefined;
      stopRefresh = true;
      clearInterval(timer);
      await refreshing; // a holder written after the unlock would keep the lock for the next deploy
      return unlock();
    },
    settle: (replies) => {
      if ((replies[replies.length - 1]?.code ?? 500) < 300) {
        released = true;
        o.onLock?.(undefined);
      }
    },
    stillOurs: async (c) => (await readHolder(c, holderPath))?.token === me.token,
    ensureHeld: async (c) => {
      if (lostErr) throw lostErr;
      if (stopRefresh || !holderOnServer || Date.now() - confirmedAt < o.staleLockMs / 2) return;
      // Still this deploy's, but not written again (a refusal): the state write goes on, the refresh warns.
      await refresh(c).catch((err: unknown) => {
        if (err !== lostErr) refreshFailed(err);
      });
      if (lostErr) throw lostErr as DeployError;
    },
  };
  // Cancelled before the lock named this deploy (its holder's write given up): no body; the unlock below
  // removes the folder.
  const running =
    !holderWritten && o.signal?.aborted
      ? Promise.reject(o.signal.reason instanceof Error ? o.signal.reason : new Error('cancelled'))
      : body(release, read);
  // Well within the time after which other deploys judge the lock stale (a staleLockMs under 30 s too), and
  // not behind the uploads: each connection may be sending a big file for longer than that. On a connection
  // doing nothing, else on one of its own; a server at its connection limit refuses that one, and the refresh
  // then takes the next connection a transfer frees, before any upload waiting for one.
  timer = setInterval(
    () => {
      if (refreshAsked || stopRefresh) return;
      refreshAsked = true;
      void (async () => {
        if (!ownRefused) {
          try {
            return await pool.runPromptly(refresh);
          } catch (err) {
            if (err === lostErr || stopRefresh) return;
            ownRefused = true;
          }
        }
        await pool.run(`refresh the lock ${lockPath}`, refresh, true);
      })()
        .catch(refreshFailed)
        .finally(() => (refreshAsked = false));
    },
    Math.min(REFRESH_MS, o.staleLockMs / 4),
  );
  timer.unref();
  try {
    return await running;
  } finally {
    if (lostErr) o.onLock?.(undefined);
    stopRefresh = true;
    clearInterval(timer);
    await refreshing; // a holder written after the unlock would keep the lock for the next deploy
    // Released already, in the final state's write (see LockRelease); lost, it is another deploy's now.
    if (!released && !lostErr)
      await pool
        .run(
          `unlock ${lockPath}`,
          async (c) => {
            const replies = await c.pipeline(unlock());
            const rmd = replies[replies.length - 1];
            // Gone already is released: a retry after the connection dropped with the reply of an unlock the
            // server had done (was: warned "could not remove the lock", the lock gone).
            if (rmd.code >= 300 && (await dirExists(c, lockPath)))
              throw new FtpReplyError(rmd.code, rmd.message, `RMD ${lockPath}`);
            o.onLock?.(undefined);
          },
          true,
        )
        .catch((err: unknown) => {
          o.lockLeft?.(err);
          rep.warn?.(`could not remove the lock ${lockPath}: ${(err as Error).message}`);
        });
  }
}

/**
 * A deploy with nothing to do takes no lock, so it would leave on the server a lock that a deploy killed after
 * its final state write, before its unlock, left there: the folder stayed in the target, and the next deploy
 * with work, from another machine, was refused (exit 3) until the lock went stale. One CWD; a lock whose
 * holder is gone (dead on this machine, or not refreshed for `staleLockMs`) is taken over and released as a
 * deploy with work would do it (with the same warning); one not named yet first gets the same grace to be named.
 * A live lock is left alone.
 * Best effort: a failure is a warning, the deploy itself is done.
 */
export async function releaseAbandonedLock(
  pool: ConnectionPool,
  lockPath: string,
  o: { staleLockMs: number; knownDirs?: Set<string>; signal?: AbortSignal },
  rep: Reporter,
): Promise<void> {
  try {
    // Nothing to release: no lock there, or one whose holder is alive (or may be).
    const leave = await pool.run(`look for ${lockPath}`, async (c) => {
      if (!(await dirExists(c, lockPath))) return true;
      const holderPath = `${lockPath}/holder.json`;
      const holder = await readHolder(c, holderPath);
      if (!holder || deadOnThisHost(holder)) return false;
      return !(Date.now() - (await lastRefreshed(c, holderPath, holder, o.staleLockMs)).at >= o.staleLockMs);
    });
    if (leave) return;
    // Not named (killed between its MKD and its holder): given the grace to be named, as any deploy does.
    await withLock(pool, lockPath, o, rep, async () => undefined);
  } catch (err) {
    if (o.signal?.aborted) throw err;
    if (err instanceof GuardError) return; // a live deploy holds it (named meanwhile, or took it first)
    rep.warn?.(`could not remove the stale lock ${lockPath}: ${(err as Error).message}`);
  }
}

/** A time further ahead of this machine's clock than this comes from a clock that is wrong. */
const CLOCK_TOLERANCE_MS = 60_000;

/**
 * When a holder (of another machine, or a process of this one still alive) was last refreshed, as a time of this
 * machine's clock (`at`; NaN: cannot tell, never judged stale), and a word on the clocks where they disagree.
 * The holder's `refreshedAt` is its machine's clock. Where that says stale, or lies ahead of this machine's clock,
 * the holder file's modification time on the server (MDTM, the server's clock) is looked at too, and the later of
 * the two that are not ahead of this clock counts. Was `refreshedAt` alone: a holder machine whose clock was
 * behind by more than the stale time had its live lock taken over at once (two deploys writing at once), and one
 * ahead held a dead lock for as long as its clock was ahead. A clock of this machine's that is behind the server's
 * (both times ahead of it) cannot judge the lock: the refusal says so.
 */
async function lastRefreshed(
  c: FtpClient,
  holderPath: string,
  h: Holder,
  staleMs: number,
): Promise<{ at: number; clocks?: string; stamp: number }> {
  const now = Date.now();
  const usable = (t: number): boolean => Number.isFinite(t) && t <= now + CLOCK_TOLERANCE_MS;
  const own = Date.parse(h.refreshedAt || h.startedAt);
  if (usable(own) && now - own < staleMs) return { at: own, stamp: NaN };
  // No MDTM (NaN): the holder's own time alone, as before.
  const stamp = await serverTime(c, holderPath);
  const seen = [own, stamp].filter(usable);
  const at = seen.length > 0 ? Math.max(...seen) : NaN;
  // The server's time of the holder's last write and the holder's own disagree beyond a write's delay.
  const apart = Number.isFinite(own) && Number.isFinite(stamp) ? stamp - own : 0;
  // Both ahead of this machine's clock: this one is behind (the server's time of the holder file too is
  // ahead). Was: no word on it, and the user waited for a stale time that never came.
  const behind = Number.isFinite(stamp) && seen.length === 0 ? stamp - now : 0;
  const clocks =
    behind > 0
      ? `; this machine's clock is ${Math.round(behind / 60_000)} min behind the server's (which wrote the holder file at ${new Date(stamp).toISOString()}; here it is ${new Date(now).toISOString()}), so whether the lock is stale cannot be told here: set this machine's clock right, then run the deploy again`
      : at === stamp && Math.abs(apart) > CLOCK_TOLERANCE_MS
        ? `; its machine's clock is ${Math.round(Math.abs(apart) / 60_000)} min ${apart > 0 ? 'behind' : 'ahead of'} the server's, so the lock is judged by the server's time of the holder file (${new Date(stamp).toISOString()})`
        : '';
  return { at, stamp, ...(clocks ? { clocks } : {}) };
}

/**
 * What to try when the lock folder cannot be made. Its name is the state's plus `.lock`: the default starts
 * with a dot, and shared hosts often refuse names starting with one (pure-ftpd -x or -X: 553 "Prohibited
 * directory name"; vsftpd deny_file, proftpd PathDenyFilter: 550). A state named without a dot takes the lock
 * and the temporary files without one too.
 */
/** The case where a state (and so its lock) named with a leading dot is refused by name. */
export const DOT_REFUSED = 'the server refuses names starting with a dot (as pure-ftpd -x or -X does)';

/** What to do then: the state named without its dot (the lock and the temporary files follow it). */
export function dotlessState(statePath: string): string {
  const dotless = remoteJoin(parentOf(statePath) || '/', baseName(statePath).slice(1));
  return `name the state without one: --state ${dotless} (Action: state-path; the lock and the temporary files follow it)`;
}

function lockRefusedHint(lockPath: string, code: number): string {
  const folder = parentOf(lockPath) || '/';
  const write = `check that the user may write to ${folder} (the target folder, or the state's folder)`;
  if (!baseName(lockPath).startsWith('.')) return write;
  const dot = `if ${DOT_REFUSED}, ${dotlessState(lockPath.slice(0, -'.lock'.length))}`;
  // 553 is "file name not allowed"; a refusal for permissions is most often 550.
  return code === 553 ? `${dot}; else ${write}` : `${write}; ${dot}`;
}

async function tryMkd(c: import('../ftp/index.js').FtpClient, path: string): Promise<boolean> {
  try {
    await c.mkd(path);
    return true;
  } catch (err) {
    if (err instanceof FtpReplyError && err.code >= 500) return false;
    throw err;
  }
}

/** Whether `lock` is still the deploy's that took it: its holder file names that deploy's token. */
export async function holdsLock(c: FtpClient, lock: HeldLock): Promise<boolean> {
  return lock.token !== '' && (await readHolder(c, lock.holderPath))?.token === lock.token;
}

/**
 * Releases a lock a deploy holds, from a connection of its own (the gulp plugin's, while the process exits under
 * the deploy): unless its holder file names another deploy (which took it over), the holder goes, then the folder.
 * True when the lock is gone.
 */
export async function releaseHeldLock(c: FtpClient, lock: HeldLock): Promise<boolean> {
  const holder = await readHolder(c, lock.holderPath);
  if (holder && holder.token !== lock.token) return false;
  const replies = await c.pipeline(unlockCommands(lock));
  const rmd = replies[replies.length - 1];
  return rmd.code < 300 || !(await dirExists(c, lock.path));
}

/** The unlock, one write: the holder (and the claim file), then the folder that is the lock (its RMD last). */
function unlockCommands(lock: Omit<HeldLock, 'token'>): string[] {
  return [
    `DELE ${lock.holderPath}`,
    ...(lock.claimPath ? [`DELE ${lock.claimPath}`] : []),
    `RMD ${lock.path}`,
  ];
}

/** The server's time of a file (MDTM), in ms; NaN where the server gives none (no MDTM, an unreadable reply). */
async function serverTime(c: FtpClient, path: string): Promise<number> {
  try {
    return (await c.mdtm(path)).getTime();
  } catch (err) {
    if (err instanceof FtpReplyError || err instanceof FtpProtocolError) return NaN;
    throw err;
  }
}

async function readHolder(c: import('../ftp/index.js').FtpClient, path: string): Promise<Holder | undefined> {
  // Empty: named by no one yet, and not read. A deploy killed after its STOR, before its data connection,
  // leaves a server session waiting for that connection with the file open (vsftpd locks it, and a RETR
  // waits for that session to give up: a minute).
  if ((await remoteSize(c, path)) === 0) return undefined;
  const data = await readRemoteFile(c, path, 64 * 1024);
  if (!data) return undefined;
  try {
    return JSON.parse(data.toString('utf8')) as Holder;
  } catch {
    return undefined;
  }
}

/**
 * A lock folder whose holder is not known yet: polled until its holder shows (returned), the folder goes
 * (released by a deploy that just finished: made again here, 'ours', or 'refused' when this user cannot make
 * it at all), or `ms` pass with neither (undefined: abandoned by a deploy that died before naming itself).
 * The `ms` count per folder: one seen gone, then made again by another deploy before this one's MKD, or one
 * whose MLST facts changed between two looks, is that deploy's lock of a moment ago, and gets its own `ms` from
 * now (was: the old folder's grace, run out already, and that deploy's lock was taken over while it named
 * itself).
 */
async function awaitHolder(
  c: import('../ftp/index.js').FtpClient,
  lockPath: string,
  holderPath: string,
  ms: number,
  signal?: AbortSignal,
  /** Called once, when the folder is first seen there without a holder (the wait begins). */
  waiting?: () => void,
): Promise<Holder | 'ours' | 'refused' | undefined> {
  let until = Date.now() + ms;
  /** The folder's identity when first looked at, where the server tells it (see {@link folderIdentity}). */
  let seen: string | undefined;
  for (;;) {
    // Cancelled while waiting on another deploy's lock: nothing of this deploy's is there to clean up.
    signal?.throwIfAborted();
    if (!(await dirExists(c, lockPath))) {
      if (await tryMkd(c, lockPath)) return 'ours';
      if (!(await dirExists(c, lockPath))) return 'refused';
      until = Date.now() + ms; // another deploy's folder, made since the old one went
      seen = undefined;
    }
    // Gone and made again between two looks (by another deploy, a moment ago): a new folder, a new grace.
    const id = await folderIdentity(c, lockPath);
    if (id !== undefined) {
      if (seen !== undefined && id !== seen) until = Date.now() + ms;
      seen = id;
    }
    const holder = await readHolder(c, holderPath);
    if (holder) return holder;
    if (Date.now() >= until) return undefined;
    waiting?.();
    waiting = undefined;
    await new Promise((resolve) => setTimeout(resolve, HOLDER_POLL_MS));
  }
}

/**
 * What tells one lock folder from the one made again at its path after it went: MLST's `unique` (device and
 * inode) and `modify` facts (pure-ftpd, proftpd). Undefined where the server does not say (vsftpd has no MLST).
 */
async function folderIdentity(c: FtpClient, path: string): Promise<string | undefined> {
  if (!(await c.features()).has('MLST')) return undefined;
  const reply = await c.send(`MLST ${path}`);
  if (reply.code >= 300) return undefined;
  const entry = reply.message.split('\n').find((l) => l.startsWith(' '));
  const facts = mlsxFacts(entry?.slice(1) ?? '');
  const id = `${facts.get('unique') ?? ''} ${facts.get('modify') ?? ''}`;
  return id === ' ' ? undefined : id;
}

async function writeHolder(c: import('../ftp/index.js').FtpClient, path: string, me: Holder): Promise<void> {
  me.refreshedAt = new Date().toISOString();
  await uploadOver(c, path, Buffer.from(JSON.stringify(me)));
}

/** The same holder file as read before (both absent counts as the same). */
function sameHolder(a: Holder | undefined, b: Holder | undefined): boolean {
  return (
    a?.token === b?.token &&
    a?.startedAt === b?.startedAt &&
    a?.refreshedAt === b?.refreshedAt &&
    a?.pid === b?.pid
  );
}

/** A holder naming a deploy of this process that is still running (its token is live). */
function runningHere(h: Holder | undefined): boolean {
  return !!h?.token && h.host === os.hostname() && h.pid === process.pid && liveTokens.has(h.token);
}

/**
 * A holder on this very machine whose process is gone (killed) cannot come back: its lock is stale. So is one
 * naming this process and a deploy of it that is over (see {@link liveTokens}).
 */
function deadOnThisHost(h: Holder | undefined): boolean {
  if (!h || h.host !== os.hostname() || !h.pid) return false;
  if (h.pid === process.pid) return h.token !== undefined && h.token !== '' && !liveTokens.has(h.token);
  try {
    process.kill(h.pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
  // A process killed a moment ago can linger as a zombie until reaped: on Linux, state Z is dead too.
  try {
    return /^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${h.pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function describeHolder(): string {
  const run = process.env.GITHUB_RUN_ID
    ? ` (GitHub run ${process.env.GITHUB_REPOSITORY ?? ''}#${process.env.GITHUB_RUN_ID})`
    : '';
  return `ftpship on ${os.hostname()} pid ${process.pid}${run}`;
}
