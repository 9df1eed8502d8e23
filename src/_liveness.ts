/**
 * Is another process still there? Used by everything that waits on a peer that could die
 * without a word (a mutex holder, a ring channel's sender or receiver): a peer is identified by
 * its pid *and* its start time from `/proc/PID/stat`, so a pid the kernel has handed to a new
 * process is not mistaken for the old one.
 *
 * @module
 */

import { E } from "../ffi/constants.ts";
import { errno, libc } from "../ffi/load.ts";
import { readProcStat } from "../ffi/util.ts";

/** A process as peers record it. */
export interface Self {
  /** Its pid. */
  pid: number;
  /** Its start time (clock ticks since boot, low 32 bits), or 0 without `/proc`. */
  start: number;
  /** Whether `/proc` could be read at all. */
  proc: boolean;
}

let self: Self | undefined;

/** This process's pid and start time, read once, and whether `/proc` can be read at all. */
export function me(): Self {
  if (self === undefined) {
    const pid = libc().getpid();
    const st = readProcStat(pid);
    self = { pid, start: st?.startTime ?? 0, proc: st !== undefined };
  }
  return self;
}

/**
 * Whether the process recorded as `pid` and `start` is certainly gone: no such pid, a zombie,
 * or a pid now used by a process that started at another time. A start time that disagrees is
 * believed only when `confirmed` (seen twice, a slice apart) or when `start` is not 0 and the
 * recorder writes it before publishing the pid; callers say which. Without `/proc` (not
 * mounted), only ESRCH from `kill(pid, 0)` counts: a zombie or a reused pid then looks alive.
 *
 * @param pid the recorded pid
 * @param start the recorded start time (0: unknown, only presence is checked)
 * @param confirmed whether a start-time mismatch may be believed
 */
export function processGone(pid: number, start: number, confirmed: boolean): boolean {
  const { pid: mine, proc } = me();
  if (pid === mine) return false;
  if (!proc) return libc().kill(pid, 0) !== 0 && errno() === E.ESRCH;
  const st = readProcStat(pid);
  if (st === undefined || st.state === "Z" || st.state === "X") return true;
  if (start === 0 || st.startTime === start) return false;
  return confirmed;
}
