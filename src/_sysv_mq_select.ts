/**
 * The message types of System V queues and the selector a receive passes to `msgrcv`: types are
 * a C `long` (numbers up to 2⁵³ − 1, bigints beyond, never rounded), a receive picks by type
 * (0, a type, the lowest up to a bound, or any other type with `except`) and may cut a long
 * message (`truncate`). One place for the rules, used by sysv_mq.ts.
 *
 * @module
 */

import { MSG } from "../ffi/constants.ts";
import { validateBoolean, validateInteger, validateOptions } from "./_validate.ts";

/**
 * Largest message type given as a number (exact JS integers). Types are a C `long`: up to
 * {@linkcode MAX_MESSAGE_TYPE_BIG} (2⁶³ − 1) as a bigint; received types beyond this come back as
 * bigints, never rounded.
 */
export const MAX_MESSAGE_TYPE: number = Number.MAX_SAFE_INTEGER;
/** Largest message type (`LONG_MAX` on 64-bit Linux), as a bigint. */
export const MAX_MESSAGE_TYPE_BIG: bigint = 0x7fff_ffff_ffff_ffffn;

/** A message type: a number up to 2⁵³ − 1, or a bigint up to 2⁶³ − 1. */
export type SysVMessageType = number | bigint;

const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);

/** A type as received: a number when it is exact as one, else the bigint. */
export function typeOf(raw: bigint): SysVMessageType {
  return raw <= MAX_SAFE_BIG && raw >= -MAX_SAFE_BIG ? Number(raw) : raw;
}

/**
 * The type at the start of a received `struct msgbuf`, read without making a bigint when it
 * fits a number exactly (every type a receive sees is positive).
 */
export function typeAt(view: DataView): SysVMessageType {
  const lo = view.getUint32(0, true);
  const hi = view.getInt32(4, true);
  if (hi >= 0 && hi < 0x200000) return hi * 0x1_0000_0000 + lo; // below 2^53
  return typeOf(view.getBigInt64(0, true));
}

/** Which message a receive takes. */
export interface SysVReceiveOptions {
  /**
   * The type selector: 0 (default) the first message; > 0 the first of that type; < 0 the first
   * of the lowest type that is at most its absolute value.
   */
  type?: SysVMessageType;
  /** With a positive `type`: the first message of any *other* type (`MSG_EXCEPT`). */
  except?: boolean;
  /** Cut a message longer than the buffer to fit (`MSG_NOERROR`) instead of failing with E2BIG. */
  truncate?: boolean;
}

export function validateType(type: unknown): bigint {
  if (type === undefined) return 1n;
  if (typeof type === "bigint") {
    if (type < 1n || type > MAX_MESSAGE_TYPE_BIG) {
      throw new RangeError(`type must be 1..${MAX_MESSAGE_TYPE_BIG}, got ${type}`);
    }
    return type;
  }
  return BigInt(validateInteger(type, "type", 1, MAX_MESSAGE_TYPE));
}

export interface Selector {
  type: bigint;
  flags: number;
  /** Names the selector's kernel waiter (made once, not on every try). */
  key: string;
}

export function selector(type: bigint, flags: number): Selector {
  return { type, flags, key: `${type}:${flags}` };
}

export function validateSelector(options: unknown): Selector {
  const o = validateOptions<SysVReceiveOptions>(options);
  let type = 0n;
  if (typeof o.type === "bigint") {
    if (o.type < -MAX_MESSAGE_TYPE_BIG || o.type > MAX_MESSAGE_TYPE_BIG) {
      throw new RangeError(`type must be within ±${MAX_MESSAGE_TYPE_BIG}, got ${o.type}`);
    }
    type = o.type;
  } else if (o.type !== undefined) {
    type = BigInt(validateInteger(o.type, "type", -MAX_MESSAGE_TYPE, MAX_MESSAGE_TYPE));
  }
  const except = validateBoolean(o.except, "except");
  const truncate = validateBoolean(o.truncate, "truncate");
  if (except && type <= 0n) throw new TypeError("except needs a positive type");
  return selector(type, (except ? MSG.EXCEPT : 0) | (truncate ? MSG.NOERROR : 0));
}

export const ANY: Selector = selector(0n, 0);
