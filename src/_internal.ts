/**
 * The token dipc's own modules pass to constructors that are not public (handles made by
 * factories, guards made by locks, and ends that adopt a descriptor). Without it a constructor
 * refuses with a TypeError naming the public way in: given arguments of a caller's choosing, it
 * would otherwise trust them (and a descriptor number picked at random could be one of Deno's
 * own, later closed).
 *
 * @module
 */

/** Passed (as their last argument) to dipc's non-public constructors. */
export const INTERNAL: unique symbol = Symbol("dipc internal");

/**
 * Throws unless `token` is {@linkcode INTERNAL}.
 *
 * @param token the argument given for it
 * @param instead the public factories to name
 */
export function checkInternal(token: unknown, instead: string): void {
  if (token !== INTERNAL) throw new TypeError(`not a public constructor: use ${instead}`);
}

const BRANDS = new WeakMap<object, string>();

/**
 * Marks `o` as a `kind` dipc made, so that another module can recognise one without importing the
 * module that makes it (the ring's options take a `ChildProcess` without loading the spawner).
 */
export function brand(o: object, kind: string): void {
  BRANDS.set(o, kind);
}

/** Whether `o` was marked as a `kind` by {@linkcode brand}. */
export function hasBrand(o: unknown, kind: string): boolean {
  return typeof o === "object" && o !== null && BRANDS.get(o) === kind;
}
