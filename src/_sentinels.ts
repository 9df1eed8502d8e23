/**
 * The two results that are not data, defined once for every module: a `try…` form that would
 * have to wait returns {@linkcode WOULD_BLOCK}; a read or receive after the last writer or sender
 * has gone returns {@linkcode END_OF_STREAM}. Both are unique symbols, so TypeScript rejects a
 * comparison with the one a method cannot return, and neither is falsy-confusable with data
 * (`0`, an empty array) the way `null`, `false` or `undefined` would be.
 *
 * They are registered symbols (`Symbol.for`), so two copies of dipc loaded in one process (from
 * a URL and from a registry, say) still agree on them.
 *
 * @module
 */

/** What every `try…` form returns when it would have to wait: nothing was done or taken. */
export const WOULD_BLOCK: unique symbol = Symbol.for("dipc.WOULD_BLOCK");
/** The type of {@linkcode WOULD_BLOCK}. */
export type WouldBlock = typeof WOULD_BLOCK;

/**
 * What a read or receive returns once the stream has ended: every writer or sender is gone and
 * everything they sent has been taken. Async iteration ends there instead.
 */
export const END_OF_STREAM: unique symbol = Symbol.for("dipc.END_OF_STREAM");
/** The type of {@linkcode END_OF_STREAM}. */
export type EndOfStream = typeof END_OF_STREAM;
