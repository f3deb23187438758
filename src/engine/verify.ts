/**
 * `--verify`: finds drift — files the state lists that the server lacks or holds with another size
 * (changed by hand) — by listing each deployed folder once; such files are then uploaded again. Where the
 * server computes SHA-256 itself (FEAT: `HASH` with SHA-256, or `XSHA256`), each file of the right size is
 * also hashed there, which catches a same-size edit too.
 * A listing may be cut short (pure-ftpd stops at 10 000 entries), so a name missing from it is
 * confirmed with SIZE before it counts as gone.
 */
import { FtpReplyError } from '../ftp/errors.js';
import { isPositiveCompletion, type FtpReply } from '../ftp/reply.js';
import { forEachLimit, type ConnectionPool } from './pool.js';
import { parentOf, remoteJoin } from './paths.js';
import { listFolder, remoteSize, serverHashes } from './remote.js';
import { onlyLeftTemps, type DeployState } from './state.js';

export interface Drift {
  path: string;
  expected: number;
  /** Size on the server, or -1 when missing. */
  actual: number;
  /** The size is right but the server's SHA-256 of the file is not the one deployed. */
  otherContent?: boolean;
}

/** The drifted files, and whether the server's SHA-256 was checked too. */
export async function findDrift(
  pool: ConnectionPool,
  root: string,
  state: DeployState,
): Promise<{ drift: Drift[]; hashed: boolean }> {
  const byDir = new Map<string, string[]>();
  for (const p of Object.keys(state.files)) {
    const dir = parentOf(p);
    byDir.set(dir, [...(byDir.get(dir) ?? []), p]);
  }
  const drift: Drift[] = [];
  const rightSize = new Map<string, number>(); // path → its size on the server
  await forEachLimit([...byDir], pool.capacity, async ([dir, files]) => {
    const sizes = await listSizes(pool, remoteJoin(root, dir));
    for (const p of files) {
      const expected = state.files[p].size;
      let actual = sizes.get(p.slice(dir ? dir.length + 1 : 0));
      if (actual === undefined)
        actual = await pool.run(`SIZE ${p}`, async (c) => remoteSize(c, remoteJoin(root, p)));
      if (expected >= 0 && actual !== expected) drift.push({ path: p, expected, actual });
      else if (actual >= 0) rightSize.set(p, actual);
    }
  });
  // Where the server hashes its files, a same-size edit shows too.
  const hashes = await serverHashes(pool, root, [...rightSize.keys()]);
  for (const [p, actual] of rightSize) {
    const sha = hashes.get(p);
    if (sha !== undefined && sha !== state.files[p].sha256) {
      drift.push({ path: p, expected: state.files[p].size, actual, otherContent: true });
    }
  }
  return { drift: drift.sort((a, b) => (a.path < b.path ? -1 : 1)), hashed: hashes.size > 0 };
}

/** The sizes of a folder's files; none for a folder the server refuses to list (each is then asked with SIZE). */
async function listSizes(pool: ConnectionPool, abs: string): Promise<Map<string, number>> {
  const entries = (await listFolder(pool, abs)) ?? [];
  return new Map(entries.filter((e) => e.type === 'file').map((e) => [e.name, e.size]));
}

/** How many files the spot check asks for. */
const SPOT_CHECK_FILES = 8;

/** What the spot check found. */
export interface SpotCheck {
  /** How many of the files asked for are missing or of another size (0 also when the server cannot say). */
  off: number;
  /** With `probe`: whether that folder is there (its CWD in the same write); undefined when not asked. */
  probed?: boolean;
  /** The replies to the `also` commands, in order. */
  also: FtpReply[];
  /** `leftover` is there, and was left (the lock is there: the deploy that takes it removes it). */
  leftoverKept?: boolean;
}

/**
 * Before a deploy trusts its state, a few of the files it lists are asked for with SIZE (one pipelined write):
 * a site deleted by hand with the state file left behind (file managers hide dot-files) would otherwise
 * get "nothing to do" for ever (G4). `probe`: a folder looked for in the same write (a CWD: the engine uses
 * absolute paths), the lock a deploy with nothing to do looks for (see releaseAbandonedLock), at no extra
 * round trip. The CWD goes last: a SIZE refused by a server that cannot say makes no difference to it.
 * `leftover`: a file asked for with SIZE in the same write (the state's temporary copy a deploy killed before
 * its rename left), deleted at once if it is there and `probe` (the lock) is not: a deploy holding the lock
 * may be writing it. One more round trip, only when it is there. `also`: more commands sent in the same
 * write (the SIZE of a state file beside this one), their replies given back.
 */
export async function spotCheck(
  pool: ConnectionPool,
  root: string,
  state: DeployState,
  /** Paths still local: only those matter (one that would go as an orphan may well be gone). */
  local: { has(path: string): boolean },
  probe?: string,
  leftover?: string,
  also: string[] = [],
): Promise<SpotCheck> {
  // A run was cut: files in flux are expected to be missing, and the rerun's recovery looks at them itself.
  // (Not so for temps a finished run left to other server sessions: no file is in flux.)
  const all =
    state.pending && !onlyLeftTemps(state.pending)
      ? []
      : Object.keys(state.files)
          .filter((p) => state.files[p].size >= 0 && local.has(p))
          .sort();
  const step = Math.max(1, Math.floor(all.length / SPOT_CHECK_FILES));
  const sample = all.filter((_, i) => i % step === 0).slice(0, SPOT_CHECK_FILES);
  const commands = sample.map((p) => `SIZE ${remoteJoin(root, p)}`);
  if (probe !== undefined) commands.push(`CWD ${probe}`);
  if (leftover !== undefined && probe !== undefined) commands.push(`SIZE ${leftover}`);
  const extra = commands.length;
  commands.push(...also);
  if (commands.length === 0) return { off: 0, also: [] };
  let leftoverKept = false;
  const replies = await pool.run('spot check', async (c) => {
    const r = await c.pipeline(commands);
    const lockGone = probe !== undefined && r[sample.length].code >= 500;
    const there = leftover !== undefined && probe !== undefined && r[sample.length + 1].code === 213;
    leftoverKept = there && !lockGone;
    if (there && lockGone)
      await c.delete(leftover).catch((err: unknown) => {
        if (!(err instanceof FtpReplyError)) throw err; // gone meanwhile, or refused: harmless
      });
    return r;
  });
  // The CWD's reply: 2xx there, 5xx not there, anything else cannot tell.
  const cwd = probe === undefined ? undefined : replies[sample.length].code;
  const probed = cwd === undefined || (cwd >= 300 && cwd < 500) ? undefined : isPositiveCompletion(cwd);
  const alsoReplies = replies.slice(extra);
  let off = 0;
  for (const [i, r] of replies.slice(0, sample.length).entries()) {
    if (r.code === 213) {
      if (Number(r.message.trim()) !== state.files[sample[i]].size) off++;
    } else if (r.code === 550) off++;
    else return { off: 0, probed, also: alsoReplies, leftoverKept }; // SIZE not offered (or not in this mode): no spot check
  }
  return { off, probed, also: alsoReplies, leftoverKept };
}
