/**
 * The structured-clone codec: what `structuredClone` carries, as bytes another process decodes.
 * It is {@linkcode cloneCodec} for channels and the process pool's wire format (src/pool.ts),
 * where handles (shared memory, descriptors) travel beside the bytes through `hooks`.
 *
 * Carried: `undefined`, `null`, booleans, numbers (−0 and NaN included), BigInt, strings, Date,
 * RegExp (source and flags), arrays (holes kept), plain objects (own enumerable string keys; a
 * class instance arrives as a plain object, as `structuredClone` does it), Map, Set, ArrayBuffer,
 * every typed array and DataView (the viewed bytes only, not the rest of their buffer), boxed
 * primitives, errors (name, message, stack, `cause`, `errors` of an AggregateError and every
 * other own property, such as `ErrnoError`'s `code`, `errno` and `syscall`, with the class
 * restored when the receiver knows it), and any graph of these, shared references and cycles
 * included. Functions, symbols, promises, weak collections and other host objects are refused
 * with a `DataCloneError` `DOMException`, as `structuredClone` refuses them.
 *
 * Decoding trusts nothing: every length is checked against the bytes there are before anything
 * is allocated, nesting is bounded ({@linkcode MAX_CLONE_DEPTH}), and bytes that are not a
 * valid encoding are a `TypeError` naming the offset.
 *
 * Layout: a version byte (1), then one value. A value is a tag byte and its payload; lengths and
 * counts are unsigned 32-bit little-endian, numbers float64 little-endian. An object, array,
 * Map, Set, error or buffer is numbered in the order it is first met, and a later reference to
 * it is tag `REF` and that number.
 *
 * @module
 */

import * as errors from "./errors.ts";
import type { Codec } from "./_codec.ts";
import { copyRange } from "./_copy.ts";

/** Deepest nesting encoded or decoded. */
export const MAX_CLONE_DEPTH = 1000;

const VERSION = 1;

const T = {
  UNDEFINED: 0,
  NULL: 1,
  FALSE: 2,
  TRUE: 3,
  INT: 4, // i32
  FLOAT: 5, // f64
  BIGINT: 6, // sign byte, u32 byte count, magnitude little-endian
  STRING: 7, // u32 UTF-8 length, bytes
  REF: 8, // u32 object number
  ARRAY: 9, // u32 length, then length values (HOLE for a hole)
  HOLE: 10,
  OBJECT: 11, // u32 count, then count × (key string, value)
  MAP: 12, // u32 count, count × (key, value)
  SET: 13, // u32 count, count × value
  DATE: 14, // f64
  REGEXP: 15, // string source, string flags
  ARRAY_BUFFER: 16, // u32 length, bytes
  VIEW: 17, // u8 kind, u32 byte length, bytes
  ERROR: 18, // string name, string message, value stack, u8 has cause, [cause], object props
  HANDLE: 19, // u32 handle number (hooks)
  BOXED: 20, // u8 kind, then the primitive value
  DOM_EXCEPTION: 21, // string name, string message, value stack
  SHORT_STRING: 22, // u8 UTF-8 length, bytes
} as const;

const VIEWS = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
  DataView,
] as const;
type AnyView = InstanceType<(typeof VIEWS)[number]>;

/** Error classes restored by name; others arrive as `Error` with their `name`. */
const ERROR_CLASSES: Record<string, new (message?: string) => Error> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
  AggregateError: AggregateError as unknown as new (message?: string) => Error,
};
for (const [name, value] of Object.entries(errors)) {
  if (typeof value === "function" && value.prototype instanceof Error) {
    ERROR_CLASSES[name] = value as unknown as new (message?: string) => Error;
  }
}

/** How values that are not data (shared memory, descriptors) travel beside the bytes. */
export interface CloneHooks {
  /** The handle number for `value`, or undefined when it is not a handle. */
  encodeHandle?(value: object): number | undefined;
  /** The value for handle number `n`; throws for a number it did not give. */
  decodeHandle?(n: number): unknown;
}

function cloneError(message: string): DOMException {
  return new DOMException(message, "DataCloneError");
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder("utf-8", { fatal: true });

/** The bytes being written: one buffer, grown by doubling and reused. */
class Writer {
  bytes = new Uint8Array(1024);
  view = new DataView(this.bytes.buffer);
  at = 0;
  seen = new Map<object, number>();
  hooks: CloneHooks | undefined;

  reset(hooks: CloneHooks | undefined): void {
    this.at = 0;
    this.seen.clear();
    this.hooks = hooks;
  }

  room(n: number): void {
    const need = this.at + n;
    if (need <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.bytes.subarray(0, this.at));
    this.bytes = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.room(1);
    this.bytes[this.at++] = v;
  }

  u32(v: number): void {
    this.room(4);
    this.view.setUint32(this.at, v, true);
    this.at += 4;
  }

  f64(v: number): void {
    this.room(8);
    this.view.setFloat64(this.at, v, true);
    this.at += 8;
  }

  raw(src: Uint8Array): void {
    this.room(src.length);
    this.bytes.set(src, this.at);
    this.at += src.length;
  }

  /** A string without its tag: u32 length and UTF-8 (ASCII by hand: cheaper than a call). */
  text(s: string): void {
    const n = s.length;
    this.room(4 + n * 3);
    const b = this.bytes;
    const start = this.at + 4;
    let i = 0;
    if (n < 256) {
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[start + i] = c;
      }
    }
    let written = i;
    if (i < n) written = textEncoder.encodeInto(s, b.subarray(start)).written;
    this.view.setUint32(this.at, written, true);
    this.at = start + written;
  }

  string(s: string): void {
    const n = s.length;
    if (n < 64) {
      // Short strings: ASCII by hand (cheaper than encodeInto's call), UTF-8 otherwise.
      this.room(2 + n * 3);
      const start = this.at;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        this.bytes[start + 2 + i] = c;
      }
      if (i === n) {
        this.bytes[start] = T.SHORT_STRING;
        this.bytes[start + 1] = n;
        this.at = start + 2 + n;
        return;
      }
      const { written } = textEncoder.encodeInto(s, this.bytes.subarray(start + 2));
      if (written < 256) {
        this.bytes[start] = T.SHORT_STRING;
        this.bytes[start + 1] = written;
        this.at = start + 2 + written;
        return;
      }
    }
    this.u8(T.STRING);
    this.text(s);
  }

  value(v: unknown, depth: number): void {
    switch (typeof v) {
      case "undefined":
        return this.u8(T.UNDEFINED);
      case "boolean":
        return this.u8(v ? T.TRUE : T.FALSE);
      case "number":
        if ((v | 0) === v && !Object.is(v, -0)) {
          this.room(5);
          this.bytes[this.at] = T.INT;
          this.view.setInt32(this.at + 1, v, true);
          this.at += 5;
          return;
        }
        this.u8(T.FLOAT);
        return this.f64(v);
      case "string":
        return this.string(v);
      case "bigint":
        this.u8(T.BIGINT);
        return this.bigint(v);
      case "object":
        if (v === null) return this.u8(T.NULL);
        return this.object(v, depth);
      default:
        throw cloneError(`${typeof v} values cannot be cloned`);
    }
  }

  bigint(v: bigint): void {
    const negative = v < 0n;
    let m = negative ? -v : v;
    const digits: number[] = [];
    while (m > 0n) {
      digits.push(Number(m & 0xffn));
      m >>= 8n;
    }
    this.u8(negative ? 1 : 0);
    this.u32(digits.length);
    this.room(digits.length);
    for (const d of digits) this.bytes[this.at++] = d;
  }

  object(o: object, depth: number): void {
    const known = this.seen.get(o);
    if (known !== undefined) {
      this.u8(T.REF);
      return this.u32(known);
    }
    if (depth >= MAX_CLONE_DEPTH) {
      throw cloneError(`values nested more than ${MAX_CLONE_DEPTH} deep cannot be cloned`);
    }
    const handle = this.hooks?.encodeHandle?.(o);
    if (handle !== undefined) {
      this.u8(T.HANDLE);
      return this.u32(handle);
    }
    this.seen.set(o, this.seen.size);
    const d = depth + 1;
    if (Array.isArray(o)) {
      const n = o.length;
      this.u8(T.ARRAY);
      this.u32(n);
      for (let i = 0; i < n; i++) {
        if (i in o) this.value(o[i], d);
        else this.u8(T.HOLE);
      }
      return;
    }
    const proto = Object.getPrototypeOf(o);
    if (proto === Object.prototype || proto === null) return this.plain(o, d);
    if (o instanceof Date) {
      this.u8(T.DATE);
      return this.f64(o.getTime());
    }
    if (o instanceof Map) {
      this.u8(T.MAP);
      this.u32(o.size);
      for (const [k, v] of o) {
        this.value(k, d);
        this.value(v, d);
      }
      return;
    }
    if (o instanceof Set) {
      this.u8(T.SET);
      this.u32(o.size);
      for (const v of o) this.value(v, d);
      return;
    }
    if (o instanceof ArrayBuffer) {
      this.u8(T.ARRAY_BUFFER);
      this.u32(o.byteLength);
      return this.raw(new Uint8Array(o));
    }
    if (ArrayBuffer.isView(o)) {
      const kind = VIEWS.findIndex((c) => o instanceof c);
      if (kind < 0) throw cloneError(`${o.constructor.name} cannot be cloned`);
      this.u8(T.VIEW);
      this.u8(kind);
      this.u32(o.byteLength);
      return this.raw(new Uint8Array(o.buffer, o.byteOffset, o.byteLength));
    }
    if (o instanceof DOMException) {
      this.u8(T.DOM_EXCEPTION);
      this.text(o.name);
      this.text(o.message);
      return this.value(o.stack, d);
    }
    if (o instanceof Error) return this.error(o, d);
    if (o instanceof RegExp) {
      this.u8(T.REGEXP);
      this.text(o.source);
      return this.text(o.flags);
    }
    for (const [kind, type] of BOXES.entries()) {
      if (o instanceof type) {
        this.u8(T.BOXED);
        this.u8(kind);
        return this.value(o.valueOf(), d);
      }
    }
    if (
      typeof o === "function" || o instanceof Promise || o instanceof WeakMap ||
      o instanceof WeakSet || o instanceof WeakRef ||
      (typeof SharedArrayBuffer === "function" && o instanceof SharedArrayBuffer)
    ) {
      throw cloneError(`${o.constructor?.name ?? "this object"} cannot be cloned`);
    }
    return this.plain(o, d);
  }

  plain(o: object, depth: number): void {
    const keys = Object.keys(o);
    this.u8(T.OBJECT);
    this.u32(keys.length);
    const rec = o as Record<string, unknown>;
    for (const k of keys) {
      this.text(k);
      this.value(rec[k], depth);
    }
  }

  error(e: Error, depth: number): void {
    this.u8(T.ERROR);
    this.text(String(e.name));
    this.text(String(e.message));
    this.value(typeof e.stack === "string" ? e.stack : undefined, depth);
    const hasCause = Object.hasOwn(e, "cause");
    this.u8(hasCause ? 1 : 0);
    if (hasCause) this.value(e.cause, depth);
    // Every other own property (enumerable or not: dipc's errors' fields, AggregateError's).
    const keys = Object.getOwnPropertyNames(e).filter((k) =>
      k !== "name" && k !== "message" && k !== "stack" && k !== "cause"
    );
    this.u32(keys.length);
    const rec = e as unknown as Record<string, unknown>;
    for (const k of keys) {
      this.text(k);
      this.value(rec[k], depth);
    }
  }
}

const BOXES = [Number, String, Boolean, BigInt] as const;

/** The bytes being read, checked at every step. */
class Reader {
  bytes: Uint8Array = new Uint8Array(0);
  view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  /** Where `bytes` starts in the view's buffer. */
  base = 0;
  at = 0;
  objects: unknown[] = [];
  hooks: CloneHooks | undefined;

  fail(what: string): never {
    throw new TypeError(`not a structured-clone encoding: ${what} at byte ${this.at}`);
  }

  need(n: number): void {
    if (n > this.bytes.length - this.at) {
      this.fail(`${n} bytes claimed, ${this.bytes.length - this.at} left`);
    }
  }

  u8(): number {
    if (this.at >= this.bytes.length) this.fail("the bytes end");
    return this.bytes[this.at++] as number;
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.base + this.at, true);
    this.at += 4;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.base + this.at, true);
    this.at += 8;
    return v;
  }

  /** A count of things that take at least `each` bytes each: no more than the bytes left. */
  count(each: number): number {
    const n = this.u32();
    if (n * each > this.bytes.length - this.at) this.fail(`a count of ${n}`);
    return n;
  }

  textOf(n: number): string {
    this.need(n);
    const start = this.at;
    this.at += n;
    if (n < 32) {
      let s = "";
      for (let i = start; i < start + n; i++) {
        const c = this.bytes[i] as number;
        if (c >= 0x80) return this.utf8(start, n);
        s += String.fromCharCode(c);
      }
      return s;
    }
    return this.utf8(start, n);
  }

  utf8(start: number, n: number): string {
    try {
      return textDecoder.decode(this.bytes.subarray(start, start + n));
    } catch {
      this.at = start;
      return this.fail("a string that is not UTF-8");
    }
  }

  text(): string {
    return this.textOf(this.u32());
  }

  /** A value that must be a string (an error's name or message); tagged. */
  key(): string {
    return this.text();
  }

  value(depth: number): unknown {
    const tag = this.u8();
    switch (tag) {
      case T.UNDEFINED:
        return undefined;
      case T.NULL:
        return null;
      case T.FALSE:
        return false;
      case T.TRUE:
        return true;
      case T.INT: {
        this.need(4);
        const v = this.view.getInt32(this.base + this.at, true);
        this.at += 4;
        return v;
      }
      case T.FLOAT:
        return this.f64();
      case T.SHORT_STRING:
        return this.textOf(this.u8());
      case T.STRING:
        return this.text();
      case T.BIGINT:
        return this.bigint();
      case T.REF: {
        const n = this.u32();
        if (n >= this.objects.length) {
          this.fail(`a reference to object ${n} of ${this.objects.length}`);
        }
        return this.objects[n];
      }
      case T.HANDLE: {
        const n = this.u32();
        const decode = this.hooks?.decodeHandle;
        if (decode === undefined) this.fail("a handle where none can be");
        return decode(n);
      }
      case T.HOLE:
        return this.fail("a hole outside an array");
    }
    if (depth >= MAX_CLONE_DEPTH) this.fail(`nesting deeper than ${MAX_CLONE_DEPTH}`);
    return this.compound(tag, depth + 1);
  }

  bigint(): bigint {
    const sign = this.u8();
    if (sign > 1) this.fail("a BigInt sign");
    const n = this.count(1);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(this.bytes[this.at + i] as number);
    this.at += n;
    return sign ? -v : v;
  }

  compound(tag: number, depth: number): unknown {
    switch (tag) {
      case T.ARRAY: {
        const n = this.count(1);
        const a: unknown[] = new Array(n);
        this.objects.push(a);
        for (let i = 0; i < n; i++) {
          if (this.bytes[this.at] === T.HOLE) {
            this.at++;
            continue;
          }
          a[i] = this.value(depth);
        }
        return a;
      }
      case T.OBJECT: {
        const n = this.count(5);
        const o: Record<string, unknown> = {};
        this.objects.push(o);
        for (let i = 0; i < n; i++) {
          const k = this.text();
          const v = this.value(depth);
          // A key "__proto__" is an own property, as it was sent, not a prototype change.
          if (k === "__proto__") {
            Object.defineProperty(o, k, {
              value: v,
              enumerable: true,
              writable: true,
              configurable: true,
            });
          } else o[k] = v;
        }
        return o;
      }
      case T.MAP: {
        const n = this.count(2);
        const m = new Map<unknown, unknown>();
        this.objects.push(m);
        for (let i = 0; i < n; i++) {
          const k = this.value(depth);
          m.set(k, this.value(depth));
        }
        return m;
      }
      case T.SET: {
        const n = this.count(1);
        const s = new Set<unknown>();
        this.objects.push(s);
        for (let i = 0; i < n; i++) s.add(this.value(depth));
        return s;
      }
      case T.DATE: {
        const d = new Date(this.f64());
        this.objects.push(d);
        return d;
      }
      case T.REGEXP: {
        const source = this.text();
        const flags = this.text();
        let r: RegExp;
        try {
          r = new RegExp(source, flags);
        } catch {
          return this.fail("a regular expression that does not compile");
        }
        this.objects.push(r);
        return r;
      }
      case T.ARRAY_BUFFER: {
        const n = this.count(1);
        const b = copyRange(this.bytes, this.at, this.at + n).buffer;
        this.at += n;
        this.objects.push(b);
        return b;
      }
      case T.VIEW: {
        const kind = this.u8();
        const type = VIEWS[kind];
        if (type === undefined) this.fail(`view kind ${kind}`);
        const n = this.count(1);
        const size = type === DataView
          ? 1
          : (type as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
        if (n % size !== 0) this.fail(`${n} bytes for a ${type.name}`);
        const copy = copyRange(this.bytes, this.at, this.at + n).buffer;
        this.at += n;
        const v: AnyView = type === DataView
          ? new DataView(copy)
          : new (type as Uint8ArrayConstructor)(copy);
        this.objects.push(v);
        return v;
      }
      case T.ERROR:
        return this.error(depth);
      case T.DOM_EXCEPTION: {
        const name = this.text();
        const message = this.text();
        const e = new DOMException(message, name);
        this.objects.push(e);
        const stack = this.value(depth);
        if (typeof stack === "string") {
          Object.defineProperty(e, "stack", { value: stack, writable: true, configurable: true });
        }
        return e;
      }
      case T.BOXED: {
        const kind = this.u8();
        const at = this.objects.length;
        this.objects.push(undefined);
        const v = this.value(depth);
        const ok = (kind === 0 && typeof v === "number") || (kind === 1 && typeof v === "string") ||
          (kind === 2 && typeof v === "boolean") || (kind === 3 && typeof v === "bigint");
        if (!ok) this.fail(`boxed kind ${kind}`);
        const boxed = Object(v);
        this.objects[at] = boxed;
        return boxed;
      }
    }
    return this.fail(`tag ${tag}`);
  }

  error(depth: number): Error {
    const name = this.text();
    const message = this.text();
    const type = Object.hasOwn(ERROR_CLASSES, name) ? ERROR_CLASSES[name] ?? Error : Error;
    // A real Error object (what Error.isError and Object.prototype.toString see) with the
    // class's prototype, made without running the class's own constructor (dipc's errors check
    // their arguments); the fields are set as a constructor sets them: own, not enumerable.
    const e = Reflect.construct(Error, [], type) as Error;
    this.objects.push(e);
    const own = (k: string, value: unknown): void => {
      Object.defineProperty(e, k, { value, writable: true, configurable: true, enumerable: false });
    };
    own("message", message);
    if (Object.getPrototypeOf(e).name !== name) own("name", name);
    const stack = this.value(depth);
    if (typeof stack === "string") own("stack", stack);
    const hasCause = this.u8();
    if (hasCause > 1) this.fail("an error's cause flag");
    if (hasCause === 1) own("cause", this.value(depth));
    const n = this.count(5);
    for (let i = 0; i < n; i++) {
      const k = this.text();
      const v = this.value(depth);
      if (k === "__proto__" || k === "constructor") continue;
      Object.defineProperty(e, k, {
        value: v,
        writable: true,
        configurable: true,
        enumerable: true,
      });
    }
    return e;
  }
}

const writer = new Writer();
const reader = new Reader();
const EMPTY = new Uint8Array(0);
let busy = false;
let readerBusy = false;

/**
 * Encodes `value` and hands the bytes to `use` while they are valid (a scratch buffer reused by
 * the next encoding): the pool sends them from there without a copy. `head`, when given, is
 * written first (a message header), and is part of the bytes `use` gets.
 *
 * @throws {DOMException} DataCloneError for what cannot be cloned
 */
export function withEncoded<R>(
  value: unknown,
  hooks: CloneHooks | undefined,
  use: (bytes: Uint8Array) => R,
  head?: Uint8Array,
): R {
  // A hook or getter that encodes again while this encoding runs gets a writer of its own.
  const w = busy ? new Writer() : writer;
  const outer = !busy;
  busy = true;
  try {
    w.reset(hooks);
    if (head !== undefined) w.raw(head);
    w.u8(VERSION);
    w.value(value, 0);
    return use(w.bytes.subarray(0, w.at));
  } finally {
    w.seen.clear();
    w.hooks = undefined;
    if (outer) busy = false;
  }
}

/**
 * Encodes `value` into new bytes.
 *
 * @throws {DOMException} DataCloneError for what cannot be cloned
 */
export function encodeClone(value: unknown, hooks?: CloneHooks): Uint8Array<ArrayBuffer> {
  return withEncoded(value, hooks, (b) => copyRange(b));
}

/**
 * Decodes bytes made by {@linkcode encodeClone} (untrusted: a TypeError for anything else),
 * from `start` to the end of `bytes`.
 */
export function decodeClone(bytes: Uint8Array, hooks?: CloneHooks, start: number = 0): unknown {
  // A hook that decodes again while this decoding runs gets a reader of its own.
  const r = readerBusy ? new Reader() : reader;
  const outer = !readerBusy;
  readerBusy = true;
  r.bytes = bytes;
  // One view a buffer, kept while the same buffer comes back (a ring's mapping, a slab): a
  // DataView is an allocation, which costs more than the decoding of a small message.
  if (r.view.buffer !== bytes.buffer) r.view = new DataView(bytes.buffer);
  r.base = bytes.byteOffset;
  r.at = start;
  r.hooks = hooks;
  try {
    if (bytes.length <= start) r.fail("no bytes");
    const version = r.u8();
    if (version !== VERSION) {
      r.at = start;
      r.fail(`version ${version} (this dipc reads ${VERSION})`);
    }
    const v = r.value(0);
    if (r.at !== bytes.length) r.fail(`${bytes.length - r.at} bytes after the value`);
    return v;
  } finally {
    r.objects.length = 0;
    r.hooks = undefined;
    r.bytes = EMPTY;
    if (outer) readerBusy = false;
  }
}

/**
 * Messages as structured clones: objects, arrays, Map, Set, Date, RegExp, BigInt, typed arrays,
 * errors (with their class, `cause` and fields), shared references and cycles. What cannot be
 * cloned is a `DataCloneError` on send; bytes that are not an encoding are a `TypeError` on
 * receipt.
 */
export const cloneCodec: Codec<unknown> = Object.freeze({
  name: "clone",
  encode(value: unknown): Uint8Array {
    return encodeClone(value);
  },
  decode(bytes: Uint8Array): unknown {
    return decodeClone(bytes);
  },
});
