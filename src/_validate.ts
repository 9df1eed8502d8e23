/**
 * Argument checks shared by the modules. Each throws TypeError or RangeError, before any system
 * call, with a message naming the argument.
 *
 * @module
 */

import { byteLength } from "../ffi/util.ts";

/** Longest POSIX IPC name, in bytes, including the leading "/" (NAME_MAX). */
export const NAME_MAX = 255;

/** Throws unless `name` is a valid POSIX IPC name: "/" then 1..254 bytes, no other "/", no NUL. */
export function validatePosixName(name: unknown, what = "name"): string {
  if (typeof name !== "string") {
    throw new TypeError(`${what} must be a string, got ${describe(name)}`);
  }
  if (!name.startsWith("/")) {
    throw new TypeError(`${what} ${JSON.stringify(name)} must start with "/"`);
  }
  if (name.length === 1) throw new TypeError(`${what} must have at least one byte after "/"`);
  if (name.indexOf("/", 1) !== -1) {
    throw new TypeError(`${what} ${JSON.stringify(name)} may contain "/" only at the start`);
  }
  if (name.includes("\0")) throw new TypeError(`${what} must not contain a NUL character`);
  if (name === "/." || name === "/..") {
    throw new TypeError(`${what} ${JSON.stringify(name)} is not a valid object name`);
  }
  const bytes = byteLength(name);
  if (bytes > NAME_MAX) {
    throw new RangeError(`${what} is ${bytes} bytes long; at most ${NAME_MAX} are allowed`);
  }
  return name;
}

/** Throws unless `value` is an integer in [min, max]. */
export function validateInteger(
  value: unknown,
  what: string,
  min: number,
  max: number,
): number {
  if (typeof value !== "number") {
    throw new TypeError(`${what} must be a number, got ${describe(value)}`);
  }
  if (!Number.isInteger(value)) {
    throw new RangeError(`${what} must be an integer, got ${value}`);
  }
  if (value < min || value > max) {
    throw new RangeError(`${what} must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

/** Throws unless `mode` is a permission mode 0..0o777. */
export function validateMode(mode: unknown): number {
  return validateInteger(mode, "mode", 0, 0o777);
}

/** Throws unless `value` is a boolean or undefined. */
export function validateBoolean(value: unknown, what: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== "boolean") {
    throw new TypeError(`${what} must be a boolean, got ${describe(value)}`);
  }
  return value;
}

/** Throws unless `options` is an object or undefined. */
export function validateOptions<T extends object>(options: unknown, what = "options"): T {
  if (options === undefined) return {} as T;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError(`${what} must be an object, got ${describe(options)}`);
  }
  return options as T;
}

/** Throws unless `buffer` is a Uint8Array. */
export function validateBuffer(buffer: unknown, what: string): Uint8Array {
  if (!(buffer instanceof Uint8Array)) {
    throw new TypeError(`${what} must be a Uint8Array, got ${describe(buffer)}`);
  }
  if ((buffer.buffer as { detached?: boolean }).detached === true) {
    throw new TypeError(
      `${what} is detached: its buffer was transferred away or its memory closed`,
    );
  }
  return buffer;
}

/** A short description of a value's type, for messages. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "number" || typeof value === "bigint") return `${typeof value} ${value}`;
  return typeof value;
}

/**
 * Checks an options object (as {@linkcode validateOptions}) and that it names only `keys`: a
 * misspelt option, or one another factory takes (`create` given to `open`), is a TypeError
 * instead of being silently ignored.
 *
 * @param options the caller's options (unchecked)
 * @param keys the options this call takes
 * @param call the call as messages name it: "SharedMemory.open"
 */
export function validateOptionKeys<T extends object>(
  options: unknown,
  keys: readonly string[],
  call: string,
): T {
  const o = validateOptions<T>(options);
  for (const k of Object.keys(o)) {
    if (!keys.includes(k)) {
      const hint = k === "create" || k === "exclusive" && !keys.includes("exclusive")
        ? " (creating is the create() factory's job)"
        : "";
      throw new TypeError(
        `${call} takes no option ${JSON.stringify(k)}${hint}; it takes ${
          keys.length ? keys.join(", ") : "none"
        }`,
      );
    }
  }
  return o;
}

/** The options every `create` takes (POSIX and System V alike), checked. */
export interface CreateRule {
  /** Fail with EEXIST when the name exists (default true). */
  exclusive: boolean;
  /** Permission bits of a new object (default 0o600), applied exactly. */
  mode: number;
  /** With `exclusive: false`: accept an existing object another user owns. */
  allowForeignOwner: boolean;
}

/** Checks the options every `create` shares (`exclusive`, `mode`, `allowForeignOwner`). */
export function validateCreateRule(options: {
  exclusive?: unknown;
  mode?: unknown;
  allowForeignOwner?: unknown;
}): CreateRule {
  const exclusive = validateBoolean(options.exclusive ?? true, "exclusive");
  const allowForeignOwner = validateBoolean(options.allowForeignOwner, "allowForeignOwner");
  if (exclusive && allowForeignOwner) {
    throw new TypeError("allowForeignOwner applies only with exclusive: false");
  }
  const mode = options.mode === undefined ? 0o600 : validateMode(options.mode);
  return { exclusive, mode, allowForeignOwner };
}
