/**
 * Text that anyone could have written (a name in /dev/shm, a path, a user name from
 * /etc/passwd, a note), made safe to show on a terminal: the one escaping rule of the inventory,
 * the `dipc` command and dipc's error messages, in the manner of `ls -b`.
 *
 * Printable characters stay as they are. A backslash becomes `\\`; the C0 controls become
 * `\a \b \t \n \v \f \r \e` or `\xHH`; DEL and the C1 controls (U+0080–U+009F, which some
 * terminals obey as escape sequences) become `\xHH` and `\u{HH}`; characters that reorder or hide
 * text (bidirectional overrides and isolates, zero-width characters, the line and paragraph
 * separators, byte-order marks) and lone surrogates become `\u{HHHH}`. A byte that is not part of
 * valid UTF-8 (only names read as bytes have these) becomes `\xHH`. So nothing shown can move the
 * cursor, change colours, end a line, or pass for a different name; and two different names
 * never look alike.
 *
 * @module
 */

const NAMED: Record<number, string> = {
  0x07: "\\a",
  0x08: "\\b",
  0x09: "\\t",
  0x0a: "\\n",
  0x0b: "\\v",
  0x0c: "\\f",
  0x0d: "\\r",
  0x1b: "\\e",
  0x5c: "\\\\",
};

/** Whether code point `c` must be escaped (see the module doc). */
function hidden(c: number): boolean {
  return c < 0x20 || c === 0x5c || (c >= 0x7f && c <= 0x9f) ||
    (c >= 0x200b && c <= 0x200f) || (c >= 0x2028 && c <= 0x202e) ||
    (c >= 0x2060 && c <= 0x206f) || c === 0xfeff || (c >= 0xd800 && c <= 0xdfff) ||
    (c >= 0xfff9 && c <= 0xfffb) || c === 0x061c || c === 0x180e;
}

const hex2 = (n: number): string => n.toString(16).padStart(2, "0");

function escapeCodePoint(c: number): string {
  const named = NAMED[c];
  if (named !== undefined) return named;
  if (c < 0x80) return `\\x${hex2(c)}`;
  return `\\u{${c.toString(16)}}`;
}

/**
 * `text` with everything a terminal could act on escaped (see the module doc).
 *
 * @param text any string
 * @returns the same text, safe to print
 */
export function printable(text: string): string {
  let out = "";
  let plain = 0;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    let width = 1;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
        width = 2;
      }
    }
    if (hidden(c)) {
      out += text.slice(plain, i) + escapeCodePoint(c);
      plain = i + width;
    }
    i += width - 1;
  }
  return plain === 0 ? text : out + text.slice(plain);
}

/**
 * A line of text that may already hold escapes (an error message that quoted a name): every
 * character a terminal could act on is escaped as {@linkcode printable} does, but backslashes are
 * left alone, so what was escaped once is not escaped again.
 *
 * @param text one line
 * @returns the line, safe to print
 */
export function printableLine(text: string): string {
  return printable(text).replace(/\\\\/g, "\\");
}

/**
 * Exact bytes (a name as the file system holds it) as printable text: valid UTF-8 is decoded and
 * escaped as {@linkcode printable} does, and each byte that is not valid UTF-8 becomes `\xHH`.
 *
 * @param bytes the bytes
 * @returns the text
 */
export function printableBytes(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] ?? 0;
    const need = b < 0x80
      ? 0
      : b >= 0xc2 && b <= 0xdf
      ? 1
      : b >= 0xe0 && b <= 0xef
      ? 2
      : b >= 0xf0 && b <= 0xf4
      ? 3
      : -1;
    let c = need === 0 ? b : need === 1 ? b & 0x1f : need === 2 ? b & 0x0f : b & 0x07;
    let ok = need >= 0 && i + need < bytes.length;
    for (let k = 1; ok && k <= need; k++) {
      const next = bytes[i + k] ?? 0;
      if ((next & 0xc0) !== 0x80) ok = false;
      else c = (c << 6) | (next & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    if (
      ok && ((need === 2 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
        (need === 3 && (c < 0x10000 || c > 0x10ffff)))
    ) ok = false;
    if (!ok) {
      out += `\\x${hex2(b)}`;
      i++;
      continue;
    }
    out += hidden(c) ? escapeCodePoint(c) : String.fromCodePoint(c);
    i += need + 1;
  }
  return out;
}

/**
 * `text` quoted for a message, as `JSON.stringify` quotes it, with what JSON leaves raw (DEL, the
 * C1 controls, bidirectional and zero-width characters) escaped too.
 *
 * @param text any string
 * @returns the quoted text
 */
export function quoted(text: string): string {
  return `"${printable(text).replace(/"/g, '\\"')}"`;
}

/** The bytes as lowercase hex (the JSON form of a name that is not valid UTF-8). */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += hex2(b);
  return out;
}

/** The bytes a {@linkcode toHex} string stands for; undefined when it is not such a string. */
export function fromHex(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (typeof text !== "string" || text.length % 2 !== 0 || !/^[0-9a-f]*$/.test(text)) {
    return undefined;
  }
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}
