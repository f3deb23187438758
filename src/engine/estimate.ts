/**
 * How long a planned deploy will take in round trips, for the dry run's preview (FIELD.md 4.7: "an estimated
 * duration"). Latency dominates a deploy of many small files, and it is what a dry run can measure (it holds a
 * connection); the upload bandwidth it cannot, so the bytes are reported beside the estimate, not in it.
 *
 * The model follows what execute.ts sends, round trip by round trip:
 * - each connection logs in once (as long as the dry run's login took), all at the same time;
 * - lock with the state re-read, the checkpoints before the first change and the commit, the final state with
 *   the unlock (its backup copy goes beside it, on another connection): about 10;
 * - folders a level at a time, each level's MKDs pipelined in batches of up to 64 spread over the connections;
 * - each upload about 2 on one connection (EPSV and STOR go together; the 226 after the data closes), one
 *   more with TLS (the data connection's handshake), the uploads spread over the connections;
 * - renames, deletes and SITE CHMODs pipelined like the folders (a rename is RNFR + RNTO in one batch);
 * - folders removed a level at a time, deepest first.
 * Checked against bench/ (500 files, RTT 20 ms): see BENCHMARKS.md.
 */
import { depthOf } from './paths.js';
import type { Plan } from './plan.js';

export interface Estimate {
  /** Seconds of round trips and logins; sending the bytes comes on top. */
  seconds: number;
  /** The round trip measured by the dry run (the fastest of a few NOOPs), in ms. */
  rttMs: number;
  /** The dry run's connect and login, in ms. */
  loginMs: number;
  /** Connections the deploy would use. */
  connections: number;
}

/** Round trips of the fixed part of a run that changes something: lock, state checks and saves, unlock. */
const FIXED_ROUND_TRIPS = 10;
/** Round trips per upload on its connection, plus one for the data connection's TLS handshake. */
const PER_UPLOAD = 2;
/** Commands per pipelined batch (as execute.ts). */
const BATCH = 64;

export function estimateDuration(
  plan: Plan,
  m: { rttMs: number; loginMs: number; connections: number; tls?: boolean },
): Estimate {
  const p = Math.max(1, m.connections);
  const nothing = plan.entries.length === 0 && plan.chmods.files.length + plan.chmods.dirs.length === 0;
  const batched = (n: number): number => {
    if (n === 0) return 0;
    const per = Math.min(BATCH, Math.max(1, Math.ceil(n / p)));
    return Math.ceil(Math.ceil(n / per) / p);
  };
  const byLevel = (paths: string[]): number => {
    const levels = new Map<number, number>();
    for (const d of paths) levels.set(depthOf(d), (levels.get(depthOf(d)) ?? 0) + 1);
    let trips = 0;
    for (const n of levels.values()) trips += batched(n);
    return trips;
  };
  const uploads = plan.uploads.length;
  const renames = plan.uploads.filter((u) => u.temp).length;
  const trips = nothing
    ? 0
    : FIXED_ROUND_TRIPS +
      byLevel(plan.mkdirs) +
      Math.ceil(uploads / p) * (PER_UPLOAD + (m.tls ? 1 : 0)) +
      batched(renames + plan.deletes.length + plan.fileToDir.length) +
      batched(plan.chmods.files.length) +
      batched(plan.chmods.dirs.length) +
      byLevel(plan.rmdirs);
  const ms = (nothing ? 0 : m.loginMs) + trips * m.rttMs;
  return {
    seconds: Math.round(ms / 100) / 10,
    rttMs: Math.round(m.rttMs * 10) / 10,
    loginMs: Math.round(m.loginMs),
    connections: p,
  };
}
