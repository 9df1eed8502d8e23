/**
 * The threads every pending wait in the process shares.
 *
 * Deno runs each `nonblocking` FFI call on a thread of its blocking pool, and with about 32 such
 * calls pending every other one (timers' work, file reads) stops settling. So no wait in dipc
 * ever makes a pool call of its own. Instead two *reactors* sleep for all of them:
 *
 * - **Descriptors** (pipes, FIFOs, POSIX queues, pidfds, eventfds): one epoll set and one pending
 *   `epoll_pwait2` on one pool thread. A wait registers its descriptor with `EPOLLONESHOT` and
 *   the union of the events its waits want; when the kernel reports it, the matching waits are
 *   settled and the descriptor is re-armed only for the waits still pending. The same call is the
 *   process's fine-grained timer ({@linkcode sleepFor}): its timeout is the earliest such
 *   deadline, with nanosecond precision.
 * - **Shared futex words** (ring channels, semaphores, mutexes, `futexWait`): `futex_waitv`
 *   (Linux 5.16) sleeps on up to 127 words and one private control word. Waits on the same word
 *   and value share one entry. Up to {@linkcode FUTEX_GROUPS} such calls are pending at once;
 *   words beyond that (more than 508 distinct ones) are looked at every
 *   {@linkcode OVERFLOW_POLL_NS}. Without futex_waitv, one call sleeps on the control word in
 *   slices of that length and looks at every word in between.
 *
 * A change to what the kernel must watch (a new word, a word nobody waits on any more) bumps and
 * wakes the control word (or writes the control eventfd); the reactor then returns, rebuilds its
 * set on this thread and sleeps again. Nothing a reactor does takes data: it only settles the
 * promises of waits, whose callers then try again on their own thread. A wake the kernel handed
 * to a word whose waits had all gone is passed on (`FUTEX_WAKE` of one), so no other process's
 * waiter loses it. With no wait pending, no reactor call is pending either, so an idle process
 * exits as usual.
 *
 * So the whole process holds at most 1 + {@linkcode FUTEX_GROUPS} pool threads, whatever the
 * number of waits: ten thousand idle waits cost memory (a few hundred bytes each), not threads.
 *
 * @module
 */

import {
  CLOCK,
  E,
  EFD,
  EPOLL,
  EPOLL_EVENT,
  FUTEX,
  FUTEX_WAITV,
  SYS,
  TIMESPEC,
} from "../ffi/constants.ts";
import { errno, libc } from "../ffi/load.ts";
import { monotonicNs, writeTimespec } from "../ffi/util.ts";
import { lastError } from "./_errno.ts";
import { TUNING } from "./_tuning.ts";

/** How a pending wait is ended from outside: `true` when the kernel reported it woken. */
type Settle = (woken: boolean) => void;

/** A registered wait; `cancel()` removes it without settling it. */
export interface Registration {
  /** Removes the wait (idempotent). Its promise is left to the caller. */
  cancel(): void;
}

// ---------------------------------------------------------------------------------------------
// Descriptors and fine timers: one epoll set.

interface FdWait {
  readonly events: number;
  readonly settle: Settle;
}

interface FdState {
  readonly waits: Set<FdWait>;
  /** Whether epoll knows this descriptor (armed or, after a oneshot report, disarmed). */
  added: boolean;
}

interface Timer {
  readonly at: bigint;
  readonly settle: Settle;
}

const MAX_EVENTS = 64;
/** The control eventfd's epoll data: never a descriptor number. */
const CONTROL = 0xffffffffn;

let epfd = -1;
let controlFd = -1;
const fdStates = new Map<number, FdState>();
const timers = new Set<Timer>();
let fdWaitCount = 0;
/** The pending epoll_pwait2: whether one is in flight, and its timeout when it was issued. */
let epollPending = false;
let epollIssuedUntil: bigint | undefined;
let epollRunning = false;
const eventBytes = new Uint8Array(MAX_EVENTS * EPOLL_EVENT.size);
const eventView = new DataView(eventBytes.buffer);
const ctlBytes = new Uint8Array(EPOLL_EVENT.size);
const ctlView = new DataView(ctlBytes.buffer);
const epollTimeout = new BigInt64Array(TIMESPEC.size / 8);
const one = new Uint8Array(new BigUint64Array([1n]).buffer);
const drain = new Uint8Array(8);

function ensureEpoll(): void {
  if (epfd >= 0) return;
  const { epoll_create1, eventfd, close } = libc();
  const ep = epoll_create1(EPOLL.CLOEXEC);
  if (ep < 0) throw lastError("epoll_create1", "make the wait core's epoll set");
  const cfd = eventfd(0, EFD.NONBLOCK | EFD.CLOEXEC);
  if (cfd < 0) {
    close(ep);
    throw lastError("eventfd", "make the wait core's control descriptor");
  }
  ctlView.setUint32(EPOLL_EVENT.events, EPOLL.IN, true);
  ctlView.setBigUint64(EPOLL_EVENT.data, CONTROL, true);
  if (libc().epoll_ctl(ep, EPOLL.CTL_ADD, cfd, ctlBytes) < 0) {
    const e = lastError("epoll_ctl", "watch the wait core's control descriptor");
    close(cfd);
    close(ep);
    throw e;
  }
  epfd = ep;
  controlFd = cfd;
}

/** Makes the pending epoll call return soon (a no-op when none is pending). */
function kickEpoll(): void {
  if (epollPending) libc().write(controlFd, one, 8);
}

/** Arms `fd` in epoll for the union of its waits' events; false when epoll refused it. */
function arm(fd: number, state: FdState): boolean {
  let events = 0;
  for (const w of state.waits) events |= w.events;
  ctlView.setUint32(EPOLL_EVENT.events, (events | EPOLL.ONESHOT) >>> 0, true);
  ctlView.setBigUint64(EPOLL_EVENT.data, BigInt(fd), true);
  const { epoll_ctl } = libc();
  let op = state.added ? EPOLL.CTL_MOD : EPOLL.CTL_ADD;
  for (let tries = 0; tries < 2; tries++) {
    if (epoll_ctl(epfd, op, fd, ctlBytes) === 0) {
      state.added = true;
      return true;
    }
    const e = errno();
    // The descriptor number now names another open file (closed and reused without
    // forgetFd), or epoll already knows it: switch between ADD and MOD once.
    if (op === EPOLL.CTL_MOD && e === E.ENOENT) op = EPOLL.CTL_ADD;
    else if (op === EPOLL.CTL_ADD && e === E.EEXIST) op = EPOLL.CTL_MOD;
    else break;
  }
  return false;
}

/**
 * Settles `settle` once `fd` is ready for any of `events` (or has an error or hang-up). A
 * descriptor epoll cannot watch (a regular file, a closed descriptor) settles at once, so the
 * caller's next try meets the real state.
 */
export function waitFd(fd: number, events: number, settle: Settle): Registration {
  ensureEpoll();
  let state = fdStates.get(fd);
  if (state === undefined) {
    state = { waits: new Set(), added: false };
    fdStates.set(fd, state);
  }
  const wait: FdWait = { events, settle };
  state.waits.add(wait);
  fdWaitCount++;
  if (!arm(fd, state)) {
    state.waits.delete(wait);
    fdWaitCount--;
    // Settled a moment later, not at once: a caller that tries again and again on such a
    // descriptor must not spin the event loop.
    const timer = setTimeout(() => settle(false), 1);
    return { cancel: () => clearTimeout(timer) };
  }
  startEpoll();
  let done = false;
  return {
    cancel(): void {
      if (done) return;
      done = true;
      const s = fdStates.get(fd);
      if (s?.waits.delete(wait)) fdWaitCount--;
      // A oneshot registration still armed for events nobody wants reports once and is then
      // left disarmed: harmless. Only the last wait of the process needs the reactor back.
      if (fdWaitCount === 0 && timers.size === 0) kickEpoll();
    },
  };
}

/**
 * Forgets `fd` before its owner closes it: every wait on it is settled (its caller then finds
 * the object closed) and epoll stops watching it.
 */
export function forgetFd(fd: number): void {
  const state = fdStates.get(fd);
  if (state === undefined) return;
  fdStates.delete(fd);
  fdWaitCount -= state.waits.size;
  if (state.added && epfd >= 0) libc().epoll_ctl(epfd, EPOLL.CTL_DEL, fd, ctlBytes);
  for (const w of state.waits) w.settle(false);
  if (fdWaitCount === 0 && timers.size === 0) kickEpoll();
}

/**
 * Settles after `ns` nanoseconds, measured on the epoll reactor's thread (finer than
 * `setTimeout`'s milliseconds). For backoff sleeps on objects that cannot be polled.
 */
export function sleepFor(ns: bigint, settle: Settle): Registration {
  ensureEpoll();
  const timer: Timer = { at: monotonicNs() + ns, settle };
  timers.add(timer);
  // The pending call sleeps until its own timeout: wake it when this one is sooner.
  if (epollPending && (epollIssuedUntil === undefined || timer.at < epollIssuedUntil)) {
    kickEpoll();
  }
  startEpoll();
  return {
    cancel(): void {
      if (timers.delete(timer) && fdWaitCount === 0 && timers.size === 0) kickEpoll();
    },
  };
}

/*
 * A loop runs while it has waits. Its "running" flag is cleared in the same synchronous step as
 * its last look at the waits, so a wait registered after that look always starts a new loop.
 */
function startEpoll(): void {
  if (epollRunning) return;
  epollRunning = true;
  runEpoll().catch((e) => {
    // Nothing here should throw; if something does, no wait may hang on a dead loop: settle
    // them all (each caller tries again and, if it waits on, starts a fresh loop).
    epollRunning = false;
    epollPending = false;
    const waits = [...fdStates.values()].flatMap((s) => [...s.waits]);
    for (const s of fdStates.values()) s.waits.clear();
    fdWaitCount = 0;
    const due = [...timers];
    timers.clear();
    for (const w of waits) w.settle(false);
    for (const t of due) t.settle(false);
    reportLoopFailure(e);
  });
}

/** A reactor loop failed: say so once on stderr (the waits were settled and will retry). */
function reportLoopFailure(e: unknown): void {
  console.error("dipc: a wait-core loop failed and was restarted:", e);
}

async function runEpoll(): Promise<void> {
  const { epoll_pwait2_async, read } = libc();
  let fruitless = 0;
  for (;;) {
    if (fdWaitCount === 0 && timers.size === 0) {
      epollRunning = false;
      return;
    }
    let until: bigint | undefined;
    for (const t of timers) if (until === undefined || t.at < until) until = t.at;
    let ts: BigInt64Array | null = null;
    if (until !== undefined) {
      const left = until - monotonicNs();
      writeTimespec(epollTimeout, left > 0n ? left : 0n);
      ts = epollTimeout;
    }
    epollPending = true;
    epollIssuedUntil = until;
    let n: number;
    try {
      n = await epoll_pwait2_async(SYS.epoll_pwait2, epfd, eventBytes, MAX_EVENTS, ts, null, 8n);
    } finally {
      epollPending = false;
    }
    let settled = 0;
    for (let i = 0; i < n; i++) {
      const at = i * EPOLL_EVENT.size;
      const revents = eventView.getUint32(at + EPOLL_EVENT.events, true);
      const data = eventView.getBigUint64(at + EPOLL_EVENT.data, true);
      if (data === CONTROL) {
        read(controlFd, drain, 8);
        continue;
      }
      const fd = Number(data);
      const state = fdStates.get(fd);
      if (state === undefined) continue;
      const failed = (revents & (EPOLL.ERR | EPOLL.HUP)) !== 0;
      const hit = [...state.waits].filter((w) => failed || (w.events & revents) !== 0);
      for (const w of hit) {
        state.waits.delete(w);
        fdWaitCount--;
        w.settle(true);
        settled++;
      }
      // The oneshot report disarmed it: re-arm for the waits still pending.
      if (state.waits.size > 0 && !arm(fd, state)) {
        for (const w of state.waits) w.settle(false);
        fdWaitCount -= state.waits.size;
        state.waits.clear();
      }
    }
    const now = monotonicNs();
    for (const t of timers) {
      if (t.at <= now) {
        timers.delete(t);
        t.settle(false);
        settled++;
      }
    }
    // A failing call (EINTR, or worse) that settles nothing must not become a busy loop.
    fruitless = n < 0 && settled === 0 ? fruitless + 1 : 0;
    if (fruitless > 3) await new Promise((r) => setTimeout(r, 1));
    // Let the settled waits run and register again, so one call covers them all.
    await yieldMicrotasks();
  }
}

async function yieldMicrotasks(): Promise<void> {
  for (let i = 0; i < 8; i++) await null;
}

// ---------------------------------------------------------------------------------------------
// Shared futex words: futex_waitv over groups of up to 127 words.

/** futex_waitv calls pending at most (each holds one pool thread while words are waited on). */
export const FUTEX_GROUPS = 4;
/** How often words beyond the groups' room (or all words, without futex_waitv) are looked at. */
export const OVERFLOW_POLL_NS: bigint = TUNING.reactor.overflowPollNs;
const WORDS_PER_GROUP = FUTEX_WAITV.MAX - 1;

interface FutexEntry {
  readonly key: string;
  readonly address: bigint;
  readonly pointer: Deno.PointerObject;
  /** A one-word view, for looking at the value. */
  readonly word: Uint32Array;
  readonly expected: number;
  readonly waits: Set<Settle>;
  group: FutexGroup | undefined;
}

interface FutexGroup {
  readonly control: Uint32Array;
  readonly controlPointer: Deno.PointerObject;
  readonly controlAddress: bigint;
  readonly waitv: BigUint64Array;
  readonly entries: Set<FutexEntry>;
  /** The entries the pending call was issued with, in kernel order after the control word. */
  issued: FutexEntry[];
  pending: boolean;
  kicked: boolean;
  /** Whether its loop runs (see startEpoll). */
  running: boolean;
}

const entries = new Map<string, FutexEntry>();
const groups: FutexGroup[] = [];
const overflow = new Set<FutexEntry>();
let haveWaitv: boolean | undefined;
const groupTimeout = new BigInt64Array(TIMESPEC.size / 8);

/** Whether the kernel has futex_waitv (asked once: nr_futexes 0 is EINVAL there, else ENOSYS). */
function kernelHasWaitv(): boolean {
  if (haveWaitv === undefined) {
    const r = libc().futex_waitv_sync(
      SYS.futex_waitv,
      new Uint8Array(FUTEX_WAITV.size),
      0,
      0,
      null,
      0,
    );
    haveWaitv = !(r < 0 && errno() === E.ENOSYS);
  }
  return haveWaitv;
}

function newGroup(): FutexGroup {
  const control = new Uint32Array(1);
  const controlPointer = Deno.UnsafePointer.of(control);
  if (controlPointer === null) throw new Error("no address for a futex control word");
  return {
    control,
    controlPointer,
    controlAddress: BigInt(Deno.UnsafePointer.value(controlPointer)),
    waitv: new BigUint64Array((FUTEX_WAITV.MAX * FUTEX_WAITV.size) / 8),
    entries: new Set(),
    issued: [],
    pending: false,
    kicked: false,
    running: false,
  };
}

/** Makes a group's pending call return soon, once per issue. */
function kickGroup(g: FutexGroup): void {
  if (!g.pending || g.kicked) return;
  g.kicked = true;
  Atomics.add(g.control, 0, 1);
  libc().futex_wake(SYS.futex, g.controlPointer, FUTEX.WAKE | FUTEX.PRIVATE_FLAG, 1, null, null, 0);
}

function place(entry: FutexEntry): void {
  const room = kernelHasWaitv() ? WORDS_PER_GROUP : 0;
  let g = groups.find((x) => x.entries.size < room);
  if (g === undefined && room > 0 && groups.length < FUTEX_GROUPS) {
    g = newGroup();
    groups.push(g);
  }
  if (g === undefined) {
    // Looked at by the first group between slices of OVERFLOW_POLL_NS.
    overflow.add(entry);
    g = groups[0] ?? (groups[0] = newGroup());
    kickGroup(g);
    startGroup(g);
    return;
  }
  entry.group = g;
  g.entries.add(entry);
  kickGroup(g);
  startGroup(g);
}

function drop(entry: FutexEntry): void {
  entries.delete(entry.key);
  overflow.delete(entry);
  const g = entry.group;
  entry.group = undefined;
  if (g === undefined) return;
  g.entries.delete(entry);
  // Stop the kernel from watching a word nobody waits on (its memory may go away next).
  if (g.issued.includes(entry)) kickGroup(g);
}

/**
 * Settles `settle` once the shared 32-bit word at `pointer` may no longer hold `expected`: a
 * `FUTEX_WAKE` on it (`woken` true) or a changed value. `word` is a one-word view of it, used to
 * look at the value (it reads `undefined` once its memory is detached).
 */
export function waitWord(
  pointer: Deno.PointerObject,
  word: Uint32Array,
  expected: number,
  settle: Settle,
): Registration {
  const address = BigInt(Deno.UnsafePointer.value(pointer));
  const key = `${address}:${expected}`;
  let entry = entries.get(key);
  if (entry === undefined) {
    entry = { key, address, pointer, word, expected, waits: new Set(), group: undefined };
    entries.set(key, entry);
    entry.waits.add(settle);
    place(entry);
  } else {
    entry.waits.add(settle);
  }
  const e = entry;
  let done = false;
  return {
    cancel(): void {
      if (done) return;
      done = true;
      if (e.waits.delete(settle) && e.waits.size === 0 && entries.get(e.key) === e) drop(e);
    },
  };
}

function startGroup(g: FutexGroup): void {
  if (g.running) return;
  g.running = true;
  runGroup(g).catch((e) => {
    g.running = false;
    g.pending = false;
    for (const entry of [...g.entries]) settleEntry(entry, false);
    if (g === groups[0]) { for (const entry of [...overflow]) settleEntry(entry, false); }
    reportLoopFailure(e);
  });
}

/** Settles every wait on `entry` and forgets it. */
function settleEntry(entry: FutexEntry, woken: boolean): void {
  const waits = [...entry.waits];
  entry.waits.clear();
  drop(entry);
  for (const s of waits) s(woken);
}

/** Settles the entries whose word no longer holds the expected value (or has no memory). */
function settleChanged(list: Iterable<FutexEntry>): void {
  for (const entry of [...list]) {
    const v = entry.word[0];
    if (v === undefined || v !== entry.expected) settleEntry(entry, false);
  }
}

async function runGroup(g: FutexGroup): Promise<void> {
  const { futex_waitv_async, futex_wait_async, futex_wake } = libc();
  let fruitless = 0;
  const first = g === groups[0];
  for (;;) {
    if (g.entries.size === 0 && !(first && overflow.size > 0)) {
      g.running = false;
      return;
    }
    // Words that waited for room move into this group as it frees up.
    if (kernelHasWaitv()) {
      for (const entry of overflow) {
        if (g.entries.size >= WORDS_PER_GROUP) break;
        overflow.delete(entry);
        entry.group = g;
        g.entries.add(entry);
      }
    }
    settleChanged(g.entries);
    if (first) settleChanged(overflow);
    if (g.entries.size === 0 && !(first && overflow.size > 0)) continue;
    const issued = [...g.entries];
    const controlValue = Atomics.load(g.control, 0);
    const words = FUTEX_WAITV.size / 8;
    g.waitv[0] = BigInt(controlValue);
    g.waitv[1] = g.controlAddress;
    g.waitv[2] = BigInt(FUTEX_WAITV.SIZE_U32 | FUTEX_WAITV.PRIVATE);
    issued.forEach((entry, i) => {
      const at = (i + 1) * words;
      g.waitv[at] = BigInt(entry.expected);
      g.waitv[at + 1] = entry.address;
      g.waitv[at + 2] = BigInt(FUTEX_WAITV.SIZE_U32);
    });
    const slices = (first && overflow.size > 0) || !kernelHasWaitv();
    let ts: BigInt64Array | null = null;
    if (slices) {
      writeTimespec(groupTimeout, monotonicNs() + OVERFLOW_POLL_NS);
      ts = groupTimeout;
    }
    g.issued = issued;
    g.pending = true;
    g.kicked = false;
    let r: number;
    try {
      r = kernelHasWaitv()
        ? await futex_waitv_async(
          SYS.futex_waitv,
          g.waitv,
          issued.length + 1,
          0,
          ts,
          CLOCK.MONOTONIC,
        )
        : await futex_wait_async(
          SYS.futex,
          g.controlPointer,
          FUTEX.WAIT_BITSET | FUTEX.PRIVATE_FLAG,
          controlValue,
          ts,
          null,
          FUTEX.BITSET_MATCH_ANY,
        );
    } finally {
      g.pending = false;
      g.issued = [];
    }
    // A changed control word (a kick, even one that came before the thread slept) is progress.
    let settled = Atomics.load(g.control, 0) !== controlValue ? 1 : 0;
    if (kernelHasWaitv() && r > 0 && r <= issued.length) {
      // futex_waitv reports the *last* woken word of its list: any word before it may have been
      // woken too, so those are settled as woken as well (at worst spuriously); none after it
      // was.
      for (let i = 0; i < r; i++) {
        const entry = issued[i];
        if (entry === undefined) continue;
        if (entry.waits.size > 0 && entries.get(entry.key) === entry) {
          settleEntry(entry, true);
          settled++;
        } else if (i === r - 1) {
          // Nobody here wants this wake any more: pass it on to another waiter of the word.
          futex_wake(SYS.futex, entry.pointer, FUTEX.WAKE, 1, null, null, 0);
        }
      }
    }
    const before = entries.size;
    settleChanged(g.entries);
    if (first) settleChanged(overflow);
    settled += before - entries.size;
    fruitless = r < 0 && settled === 0 && !slices ? fruitless + 1 : 0;
    if (fruitless > 3) await new Promise((res) => setTimeout(res, 1));
    await yieldMicrotasks();
  }
}

/** How many reactor calls are pending now (each holds one pool thread): for tests. */
export function reactorThreads(): number {
  return (epollPending ? 1 : 0) + groups.filter((g) => g.pending).length;
}
