/**
 * FIFOs (named pipes): a pipe with a name in the file system, so two unrelated processes can
 * find it by path. {@linkcode mkfifo} makes one (mode 0600 unless asked, set exactly);
 * {@linkcode openFifoReader} and {@linkcode openFifoWriter} open its ends as
 * {@linkcode PipeReader} and {@linkcode PipeWriter}, with the same `try…`, async and Web Streams
 * forms as anonymous pipes.
 *
 * Opening never blocks the event loop. A reader opens at once and its reads wait until a writer
 * comes and writes; end of stream is reported only once a writer has come and gone. A writer
 * waits for a reader to appear: it watches the FIFO with inotify for an open and also retries
 * on a backoff of up to 50 ms (a reader inside a blocking open is invisible to inotify), and
 * `openFifoWriter` takes a timeout and an AbortSignal like every wait.
 *
 * @example Both ends in one process
 * ```ts
 * import { mkfifo, openFifoReader, openFifoWriter, removeFifo } from "@dipc/dipc";
 *
 * const path = `${await Deno.makeTempDir()}/fifo`;
 * mkfifo(path);
 * using reader = openFifoReader(path);
 * using writer = await openFifoWriter(path, { timeout: 5_000 });
 * await writer.write(new TextEncoder().encode("over the fifo"));
 * writer.close();
 * console.log(await reader.text()); // "over the fifo"
 * removeFifo(path);
 * ```
 *
 * @see {@link https://man7.org/linux/man-pages/man7/fifo.7.html}
 * @module
 */

import { E, IN, O, POLL, S_IFIFO, S_IFMT, STAT } from "../ffi/constants.ts";
import { errno, libc } from "../ffi/load.ts";
import { cString, monotonicNs, OutStruct } from "../ffi/util.ts";
import { ErrnoError } from "./errors.ts";
import { lastError } from "./_errno.ts";
import { INTERNAL } from "./_internal.ts";
import { closeFd, FdSleeper, isFifo } from "./_fd.ts";
import { PipeReader, PipeWriter } from "./pipe.ts";
import { describe, validateMode, validateOptions } from "./_validate.ts";
import {
  deadlineFor,
  sleepCancellable,
  timedOut,
  validateWaitOptions,
  type WaitOptions,
} from "./_wait.ts";
import { WOULD_BLOCK, type WouldBlock } from "./_sentinels.ts";
import { TUNING } from "./_tuning.ts";

export { END_OF_STREAM, type EndOfStream, WOULD_BLOCK, type WouldBlock } from "./_sentinels.ts";

/** Longest pause between two tries of a waiting writer. */
const MAX_BACKOFF_MS = TUNING.fifo.maxBackoffMs;
const statBuf = new OutStruct(STAT.size);

function validatePath(path: unknown): string {
  if (typeof path !== "string") throw new TypeError(`path must be a string, got ${describe(path)}`);
  if (path.length === 0) throw new TypeError("path must not be empty");
  if (path.includes("\0")) throw new TypeError("path must not contain a NUL character");
  return path;
}

/**
 * Makes a FIFO at `path` (`mkfifo(3)`), mode 0600 unless given, applied exactly (not masked by
 * the umask).
 *
 * @param path where to make it
 * @param options mode
 * @throws {ErrnoError} EEXIST (something is there), ENOENT (no such directory), EACCES
 * @see {@link https://man7.org/linux/man-pages/man3/mkfifo.3.html}
 *
 * @example A FIFO, mode 0600
 * ```ts
 * import { mkfifo, removeFifo } from "@dipc/dipc";
 *
 * const path = `${await Deno.makeTempDir()}/jobs.fifo`;
 * mkfifo(path);
 * const st = await Deno.lstat(path);
 * console.log(st.isFile, (st.mode ?? 0) & 0o777); // false 384 (0o600)
 * removeFifo(path);
 * ```
 */
export function mkfifo(path: string, options?: { mode?: number }): void {
  validatePath(path);
  const o = validateOptions<{ mode?: number }>(options);
  const mode = o.mode === undefined ? 0o600 : validateMode(o.mode);
  const c = cString(path);
  const L = libc();
  // The mode is set through a descriptor, never by path: between mkfifo and a chmod by path,
  // another user who can write the directory could put a symlink there and have the mode
  // applied to a file elsewhere. Owner read is granted at first so this open cannot fail.
  if (L.mkfifo(c, mode | 0o400) !== 0) throw lastError("mkfifo", "make FIFO", path);
  const fd = L.open(c, O.RDONLY | O.NONBLOCK | O.NOFOLLOW | O.CLOEXEC, 0);
  if (fd < 0) throw lastError("open", "set the mode of FIFO", path);
  try {
    if (L.fstat(fd, statBuf.clear().bytes) !== 0) throw lastError("fstat", "check FIFO", path);
    const isFifo = (statBuf.u32(STAT.st_mode) & S_IFMT) === S_IFIFO;
    if (!isFifo || statBuf.u32(STAT.st_uid) !== L.geteuid()) {
      throw new ErrnoError(E.EEXIST, "mkfifo", {
        action: "make FIFO",
        object: path,
        detail: "what is there now is not the FIFO this call made (it was replaced)",
      });
    }
    if (L.fchmod(fd, mode) !== 0) throw lastError("fchmod", "set the mode of FIFO", path);
  } finally {
    L.close(fd);
  }
}

/**
 * Removes the FIFO at `path` (`unlink(2)`); open ends keep working.
 *
 * @param path the FIFO
 * @throws {TypeError} when `path` is not a FIFO (nothing is removed)
 * @throws {ErrnoError} ENOENT, EACCES
 *
 * @example Only a FIFO is removed
 * ```ts
 * import { mkfifo, removeFifo } from "@dipc/dipc";
 *
 * const dir = await Deno.makeTempDir();
 * mkfifo(`${dir}/f`);
 * removeFifo(`${dir}/f`);
 * await Deno.writeTextFile(`${dir}/plain`, "not a FIFO");
 * try {
 *   removeFifo(`${dir}/plain`);
 * } catch (e) {
 *   console.log(e instanceof TypeError); // true: nothing was removed
 * }
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function removeFifo(path: string): void {
  validatePath(path);
  const c = cString(path);
  if (libc().lstat(c, statBuf.clear().bytes) !== 0) throw lastError("lstat", "remove FIFO", path);
  if ((statBuf.u32(STAT.st_mode) & S_IFMT) !== S_IFIFO) {
    throw new TypeError(`${JSON.stringify(path)} is not a FIFO; not removed`);
  }
  if (libc().unlink(c) !== 0) throw lastError("unlink", "remove FIFO", path);
}

function openChecked(path: string, flags: number): number {
  const fd = libc().open(cString(path), flags | O.NONBLOCK | O.CLOEXEC, 0);
  if (fd < 0) return -errno();
  let fifo = false;
  try {
    fifo = isFifo(fd, `FIFO ${JSON.stringify(path)}`);
  } finally {
    if (!fifo) libc().close(fd);
  }
  if (!fifo) throw new TypeError(`${JSON.stringify(path)} is not a FIFO`);
  return fd;
}

/**
 * Opens the read end of the FIFO at `path`. It opens at once, writer or not; reads wait for a
 * writer's data, and {@linkcode END_OF_STREAM} comes only after a writer has come and gone.
 *
 * @param path the FIFO
 * @returns the read end
 * @throws {TypeError} when `path` is not a FIFO
 * @throws {ErrnoError} ENOENT, EACCES
 * @see {@link https://man7.org/linux/man-pages/man7/fifo.7.html}
 *
 * @example Read what a writer sends, until it closes
 * ```ts
 * import { END_OF_STREAM, mkfifo, openFifoReader, openFifoWriter, removeFifo } from "@dipc/dipc";
 *
 * const path = `${await Deno.makeTempDir()}/f`;
 * mkfifo(path);
 * using reader = openFifoReader(path); // opens at once, with no writer yet
 * {
 *   using writer = await openFifoWriter(path, { timeout: 5_000 });
 *   await writer.write(new TextEncoder().encode("ping"));
 * }
 * const buf = new Uint8Array(16);
 * const n = await reader.read(buf, { timeout: 5_000 });
 * if (n !== END_OF_STREAM) console.log(new TextDecoder().decode(buf.subarray(0, n))); // "ping"
 * console.log(await reader.read(buf, { timeout: 5_000 }) === END_OF_STREAM); // true
 * removeFifo(path);
 * ```
 */
export function openFifoReader(path: string): PipeReader {
  validatePath(path);
  const fd = openChecked(path, O.RDONLY);
  if (fd < 0) throw new ErrnoError(-fd, "open", { action: "open FIFO for reading", object: path });
  return new PipeReader(INTERNAL, fd, `FIFO ${JSON.stringify(path)}`);
}

/**
 * Opens the write end of the FIFO at `path` if a reader has it open now.
 *
 * @param path the FIFO
 * @returns the write end, or {@linkcode WOULD_BLOCK} when no reader has it open (ENXIO)
 * @throws {TypeError} when `path` is not a FIFO
 * @throws {ErrnoError} ENOENT, EACCES
 *
 * @example No reader yet: WOULD_BLOCK
 * ```ts
 * import { mkfifo, openFifoReader, removeFifo, tryOpenFifoWriter, WOULD_BLOCK } from "@dipc/dipc";
 *
 * const path = `${await Deno.makeTempDir()}/f`;
 * mkfifo(path);
 * console.log(tryOpenFifoWriter(path) === WOULD_BLOCK); // true
 * using reader = openFifoReader(path);
 * const writer = tryOpenFifoWriter(path);
 * if (writer !== WOULD_BLOCK) writer.close();
 * console.log(writer !== WOULD_BLOCK, reader.closed); // true false
 * removeFifo(path);
 * ```
 */
export function tryOpenFifoWriter(path: string): PipeWriter | WouldBlock {
  validatePath(path);
  const fd = openChecked(path, O.WRONLY);
  if (fd === -E.ENXIO) return WOULD_BLOCK;
  if (fd < 0) throw new ErrnoError(-fd, "open", { action: "open FIFO for writing", object: path });
  return new PipeWriter(INTERNAL, fd, `FIFO ${JSON.stringify(path)}`);
}

/**
 * Opens the write end of the FIFO at `path`, waiting until a reader has it open. inotify
 * reports each completed open of the FIFO, so a reader that opens non-blocking is seen at once;
 * a reader still inside a blocking `open` (which waits for a writer) is found by retries spaced
 * up to 50 ms apart.
 *
 * @param path the FIFO
 * @param options `signal` and `timeout` (ms)
 * @returns the write end
 * @throws {TypeError} when `path` is not a FIFO
 * @throws {ErrnoError} ENOENT, EACCES
 * @throws {DOMException} `TimeoutError` when no reader came in time
 * @throws the signal's reason when aborted
 *
 * @example Wait for a reader, with a timeout
 * ```ts
 * import { mkfifo, openFifoWriter, removeFifo } from "@dipc/dipc";
 *
 * const path = `${await Deno.makeTempDir()}/f`;
 * mkfifo(path);
 * try {
 *   await openFifoWriter(path, { timeout: 50 }); // nobody reads
 * } catch (e) {
 *   console.log((e as DOMException).name); // "TimeoutError"
 * }
 * removeFifo(path);
 * ```
 */
export async function openFifoWriter(path: string, options?: WaitOptions): Promise<PipeWriter> {
  validatePath(path);
  const opts = validateWaitOptions(options);
  const first = tryOpenFifoWriter(path);
  if (first !== WOULD_BLOCK) return first;
  const L = libc();
  const watch = L.inotify_init1(IN.NONBLOCK | IN.CLOEXEC);
  if (watch < 0) throw lastError("inotify_init1", "watch FIFO", path);
  const sleeper = new FdSleeper(watch, POLL.IN);
  const events = new Uint8Array(4096);
  try {
    if (L.inotify_add_watch(watch, cString(path), IN.OPEN) < 0) {
      throw lastError("inotify_add_watch", "watch FIFO", path);
    }
    const deadline = deadlineFor(opts.timeout);
    // inotify reports an open once it has completed; a reader blocked in a blocking open (as
    // `cat fifo` is, waiting for a writer) never completes it, so retry on a short backoff too.
    for (let backoff = 1;; backoff = Math.min(backoff * 2, MAX_BACKOFF_MS)) {
      while (L.read(watch, events, events.length) > 0) {
        /* drain: only "something opened" counts */
      }
      const w = tryOpenFifoWriter(path);
      if (w !== WOULD_BLOCK) return w;
      const now = monotonicNs();
      if (deadline !== undefined && now >= deadline) {
        throw timedOut(`waiting for a reader of FIFO ${JSON.stringify(path)}`);
      }
      const slice = now + BigInt(backoff) * 1_000_000n;
      const until = deadline !== undefined && deadline < slice ? deadline : slice;
      await sleepCancellable(sleeper, 0, until, opts.signal);
    }
  } finally {
    sleeper.close();
    closeFd(watch);
  }
}
