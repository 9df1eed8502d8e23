/**
 * Every spin count, slice and back-off in dipc, in one table: how long each kind of wait tries
 * on the calling thread before it sleeps, how long it sleeps between looks at its peers, and how
 * its polling backs off. Modules read their settings from here and nowhere else, so the trade-off
 * between CPU burnt and latency is visible, and changed, in one place.
 *
 * A spin is a number of tries of the non-blocking attempt (each a few tens to hundreds of
 * nanoseconds); a slice is a sleep after which a wait looks again (at its peer's liveness, or at
 * a word the kernel cannot wake it for); a back-off doubles a polling sleep from `firstNs` to
 * `maxNs`.
 *
 * @module
 */

/** The table. Values are read once, at module load. */
export const TUNING = {
  /** Generic waits through the wait core (pipes, FIFOs, POSIX queues): tries before sleeping. */
  defaultSpins: 64,
  /** `futexWait`: tries of the word before the first sleep (about 10 µs). */
  futexSpins: 400,
  ring: {
    /** A sender's or receiver's tries before it sleeps (a few µs); `spins` option overrides. */
    spins: 400,
    /** The bounds of the adaptive spin length (the default when `spins` is not given). */
    adaptiveMin: 16,
    adaptiveMax: 20_000,
    /** A waiting side checks its peers are alive after a sleep of this long, in ms. */
    peerCheckMs: 20,
    /** Tries at the multi-producer lock before yielding, and before judging its holder. */
    lockSpins: 64,
    lockTries: 256,
    /** How long `open` waits for a creator to finish `init`, in ms. */
    readyMs: 1000,
  },
  semaphore: {
    /** Tries before a wait sleeps: a hand-off from another process usually lands within them. */
    spins: 400,
    /** Compare-and-swap tries on the value word before giving up (a peer rewriting it nonstop). */
    casTries: 10_000,
  },
  mutex: {
    /** `SharedMutex.lock` tries before it sleeps. */
    spins: 400,
    /** `SharedCondition.wait` tries before it sleeps (a notify usually follows soon). */
    conditionSpins: 2000,
    /** A waiter checks the holder's liveness after a sleep of this long, in ms. */
    ownerCheckMs: 20,
  },
  pthreadMutex: {
    /** Async `PthreadMutex.lock` tries of `pthread_mutex_trylock` before it sleeps. */
    spins: 200,
    /** Its sleeps on the futex word, in ms at most each. */
    sliceMs: 50,
  },
  sysv: {
    /** System V queue and set waits: tries before sleeping (about 100 µs; no polling). */
    spins: 256,
    /** Their polling sleeps, when no kernel waiter can be had: 50 µs doubling to 2 ms. */
    backoff: { firstNs: 50_000n, maxNs: 2_000_000n },
  },
  kernelWaiter: {
    /** How long a wait polls before it moves into the kernel on a thread of its own, in ms. */
    afterMs: 1,
    /** How long an idle kernel waiter's thread lingers for the next wait, in ms. */
    lingerMs: 100,
    /** Slice of a POSIX queue's `mq_timedreceive` in a kernel waiter, in ms. */
    mqSliceMs: 50,
  },
  fifo: {
    /** `openFifoWriter` retries a reader that is still inside a blocking open up to this apart. */
    maxBackoffMs: 50,
  },
  reactor: {
    /** How often futex words beyond the `futex_waitv` groups' room are looked at, in ns. */
    overflowPollNs: 2_000_000n,
  },
} as const;
