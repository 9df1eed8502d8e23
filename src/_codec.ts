/**
 * The message codecs of {@linkcode Channel} (src/channel.ts re-exports them), and the one check
 * of a caller's codec, shared by every channel factory (local and NATS).
 *
 * @module
 */

import { describe, validateBuffer } from "./_validate.ts";

/** How a channel's values become bytes and back. */
export interface Codec<T> {
  /** The codec's name, for messages. */
  readonly name: string;
  /** The bytes of `value`; throws TypeError for a value the codec cannot carry. */
  encode(value: T): Uint8Array;
  /**
   * The value of `bytes` (a view valid only during the call: copy what must outlive it).
   * Throws for bytes that are not a valid encoding; bytes come from a peer, so they are
   * untrusted.
   */
  decode(bytes: Uint8Array): T;
}

/** Messages as bytes, unchanged: `decode` returns a copy the caller owns. */
export const bytesCodec: Codec<Uint8Array<ArrayBuffer>> = Object.freeze({
  name: "bytes",
  encode(value: Uint8Array<ArrayBuffer>): Uint8Array {
    return validateBuffer(value, "message");
  },
  decode(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
    // A plain Uint8Array copy whatever the bytes are (a Node Buffer's slice() is a view).
    const copy = new Uint8Array(bytes.length);
    copy.set(bytes);
    return copy;
  },
});

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Messages as strings, UTF-8; bytes that are not UTF-8 are a TypeError on receipt. */
export const textCodec: Codec<string> = Object.freeze({
  name: "text",
  encode(value: string): Uint8Array {
    if (typeof value !== "string") {
      throw new TypeError(`a text channel sends strings, got ${describe(value)}`);
    }
    return encoder.encode(value);
  },
  decode(bytes: Uint8Array): string {
    return decoder.decode(bytes);
  },
});

/**
 * Messages as JSON text (what `JSON.stringify` takes; `undefined`, functions and symbols are
 * refused rather than sent as nothing). Bytes that are not JSON are a SyntaxError on receipt.
 */
export const jsonCodec: Codec<unknown> = Object.freeze({
  name: "json",
  encode(value: unknown): Uint8Array {
    const text = JSON.stringify(value);
    if (text === undefined) {
      throw new TypeError(`a JSON channel cannot send ${describe(value)}`);
    }
    return encoder.encode(text);
  },
  decode(bytes: Uint8Array): unknown {
    return JSON.parse(decoder.decode(bytes));
  },
});

/** A caller's codec (default {@linkcode bytesCodec}), checked: TypeError unless it has both functions. */
export function validateCodec<T>(codec: unknown): Codec<T> {
  const c = codec ?? bytesCodec;
  if (
    typeof c !== "object" || c === null ||
    typeof (c as Codec<T>).encode !== "function" || typeof (c as Codec<T>).decode !== "function"
  ) {
    throw new TypeError(`codec must have encode and decode functions, got ${describe(codec)}`);
  }
  return c as Codec<T>;
}
