// How the dipc command names objects, and how it prints them. Thin: every fact comes from
// the inventory (src/_inventory_list.ts, its reading half) and the transport modules; this file only turns words into objects and
// objects into lines.
import {
  describeObject,
  type IpcInventory,
  type IpcObject,
  listIpcObjects,
  printableName,
} from "../src/_inventory_list.ts";
import { IPC_KINDS, type IpcKind } from "../src/_ipc_kinds.ts";
import { printable } from "../src/_printable.ts";
import { CommandError, UsageError } from "./_args.ts";

export { CommandError, oneLine, UsageError } from "./_args.ts";

/** What a user typed to name an object. */
export type ObjectRef =
  | { by: "name"; name: string }
  | { by: "path"; path: string }
  | { by: "key"; key: number }
  | { by: "id"; id: number }
  | { by: "fd"; fd: number };

const KIND_HELP = `one of ${IPC_KINDS.join(", ")}`;

/** Checks a --kind value. */
export function parseKind(value: string): IpcKind {
  if (!(IPC_KINDS as readonly string[]).includes(value)) {
    throw new UsageError(`unknown kind ${JSON.stringify(value)}: ${KIND_HELP}`);
  }
  return value as IpcKind;
}

/** A non-negative integer option, in decimal, hex (0x…) or octal (0o…); a usage error else. */
export function parseCount(value: string, what: string, max = Number.MAX_SAFE_INTEGER): number {
  const n = /^(0x[0-9a-f]+|0o[0-7]+|\d+)$/i.test(value.trim()) ? Number(value.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < 0 || n > max) {
    throw new UsageError(
      `${what} must be a whole number from 0 to ${max}, got ${JSON.stringify(value)}`,
    );
  }
  return n;
}

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kib: 1024,
  kb: 1000,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  mb: 1000 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  gb: 1000 ** 3,
  t: 1024 ** 4,
  tib: 1024 ** 4,
  tb: 1000 ** 4,
};

/**
 * A size in bytes, as `ipcmk` reads one: a whole number, or one with a suffix (K, M, G, T or
 * KiB… for powers of 1024, KB… for powers of 1000; any case); a usage error else.
 */
export function parseSize(value: string, what: string, max = Number.MAX_SAFE_INTEGER): number {
  const m = /^(\d+|0x[0-9a-f]+)\s*([a-z]*)$/i.exec(value.trim());
  const unit = m ? SIZE_UNITS[(m[2] ?? "").toLowerCase()] : undefined;
  const n = m && unit !== undefined ? Number(m[1]) * unit : NaN;
  if (!Number.isSafeInteger(n) || n > max) {
    throw new UsageError(
      `${what} must be a size in bytes such as 4096, 64K or 1M (at most ${max}), got ${
        JSON.stringify(value)
      }`,
    );
  }
  return n;
}

/** A mode such as 600, 0600 or 0o600 (always octal, as chmod reads it). */
export function parseMode(value: string): number {
  const digits = value.replace(/^0o/i, "");
  if (!/^[0-7]{1,4}$/.test(digits)) {
    throw new UsageError(`mode must be octal digits such as 600, got ${JSON.stringify(value)}`);
  }
  return parseInt(digits, 8);
}

/**
 * Reads an object reference: `/name` (a POSIX name), a path with more than one slash or
 * starting with `.` (a FIFO or socket file), `0x1234abcd` or `key:N` (a System V key), `id:N`
 * (a System V id), `fd:N` (an inherited descriptor, for send and recv).
 */
export function parseRef(text: string): ObjectRef {
  const t = text.trim();
  const num = (s: string, what: string): number => parseCount(s, what, 0xffffffff);
  if (/^key:/i.test(t)) return { by: "key", key: num(t.slice(4), "a key") };
  if (/^0x[0-9a-f]+$/i.test(t)) return { by: "key", key: num(t, "a key") };
  if (/^id:/i.test(t)) return { by: "id", id: num(t.slice(3), "an id") };
  if (/^fd:/i.test(t)) return { by: "fd", fd: num(t.slice(3), "a descriptor") };
  if (/^\/[^/\0]+$/.test(t) && t.length <= 255) return { by: "name", name: t };
  if ((t.startsWith("/") || t.startsWith(".")) && !t.includes("\0")) {
    return { by: "path", path: t.startsWith(".") ? `${Deno.cwd()}/${t}` : t };
  }
  throw new UsageError(
    `cannot tell what ${JSON.stringify(text)} names: use /name (POSIX), a path (FIFO or ` +
      "socket file), 0xKEY or key:N, id:N (System V)",
  );
}

/** The objects `ref` names in `inv`, narrowed to `kind` when given. */
export function findObjects(inv: IpcInventory, ref: ObjectRef, kind?: IpcKind): IpcObject[] {
  return inv.objects.filter((o) => {
    if (kind !== undefined && o.kind !== kind) return false;
    switch (ref.by) {
      case "name":
        return o.name === ref.name && o.id === null;
      case "path":
        return o.name === ref.path.replace(/\/+$/, "");
      case "key":
        return o.key === ref.key && ref.key !== 0;
      case "id":
        return o.id === ref.id;
      case "fd":
        return false;
    }
  });
}

/** Exactly one object for `text`, or a CommandError/UsageError saying why not. */
export function resolveOne(text: string, kind?: IpcKind): IpcObject {
  const ref = parseRef(text);
  if (ref.by === "fd") throw new UsageError("a descriptor is not an object this command takes");
  const dirs = ref.by === "path" ? [ref.path.replace(/\/[^/]*$/, "") || "/"] : [];
  // A name is also looked up directly: a POSIX queue where /dev/mqueue is not mounted is found
  // through mq_open though it cannot be listed.
  const names = ref.by === "name" ? [ref.name] : [];
  const found = findObjects(listIpcObjects({ dirs, names }), ref, kind);
  if (found.length === 0) {
    throw new CommandError(
      `no ${kind ?? "IPC object"} ${printable(text)} (dipc ls lists what there is)`,
    );
  }
  if (found.length > 1) {
    throw new UsageError(
      `${text} names ${found.length} objects (${found.map(describeObject).join(", ")}): ` +
        "say which with --kind",
    );
  }
  return found[0] as IpcObject;
}

// ---- printing ----------------------------------------------------------------------------

/** Bytes for people: 4096 → "4 KiB". */
export function bytes(n: number | null): string {
  if (n === null) return "";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1 && Number.isInteger(v / 1024)) {
    v /= 1024;
    u++;
  }
  if (v >= 10240 && u < units.length - 1) {
    v /= 1024;
    u++;
    return `${v.toFixed(1)} ${units[u]}`;
  }
  return `${v} ${units[u]}`;
}

/** "2 s ago", "3 min ago", or the date. */
export function ago(isoTime: string | null, now = Date.now()): string {
  if (isoTime === null) return "";
  const s = Math.max(0, Math.round((now - Date.parse(isoTime)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return isoTime.slice(0, 10);
}

/** The "size or count" column: what matters for each kind. */
export function sizeOrCount(o: IpcObject): string {
  switch (o.kind) {
    case "mq":
    case "sysv-mq":
      return `${o.count ?? "?"} msg${o.count === 1 ? "" : "s"}${
        o.size ? `, ${bytes(o.size)}` : ""
      }`;
    case "sem":
      return o.count === null ? "" : `value ${o.count}`;
    case "sysv-sem":
      return `${o.count ?? "?"} sem${o.count === 1 ? "" : "s"}`;
    default:
      return bytes(o.size);
  }
}

/** How full a ring or a POSIX queue is, as a percentage ("" for other kinds). */
export function fillText(o: IpcObject): string {
  if (o.ring) return `${Math.round(100 * o.ring.used / o.ring.capacity)}%`;
  if (o.limits && o.count !== null && o.limits.maxMessages > 0) {
    return `${Math.round(100 * o.count / o.limits.maxMessages)}%`;
  }
  return "";
}

/** The creator column: "1234 alive", "1234 dead", or what else is known. */
export function creatorText(o: IpcObject): string {
  if (o.creator) return `${o.creator.pid} ${o.creator.alive ? "alive" : "dead"}`;
  if (o.ring) {
    const ends = [...o.ring.senders, ...(o.ring.receiver ? [o.ring.receiver] : [])];
    if (ends.length === 0) return "-";
    const seen = new Map(ends.map((p) => [p.pid, p.alive]));
    return [...seen].map(([pid, alive]) => `${pid} ${alive ? "alive" : "dead"}`).join(", ");
  }
  return "-";
}

/** Extra facts for the last column: a ring's ends, mutex holders, a socket's state. */
export function notesText(o: IpcObject): string {
  const parts: string[] = [];
  if (o.ring) {
    const n = o.ring.senders.length;
    const dead = o.ring.senders.filter((p) => !p.alive).length;
    parts.push(
      `${n} sender${n === 1 ? "" : "s"}${dead > 0 ? ` (${dead} dead)` : ""}, ` +
        (o.ring.receiver
          ? `receiver ${o.ring.receiver.pid}${o.ring.receiver.alive ? "" : " (dead)"}`
          : "no receiver"),
    );
  }
  for (const m of o.mutexes ?? []) {
    parts.push(
      `mutex @${m.offset}: ${
        m.holder ? `held by ${m.holder.pid}${m.holder.alive ? "" : " (dead)"}` : "free"
      }`,
    );
  }
  if (o.socket) {
    parts.push(o.socket.listening ? "listening" : o.socket.bound ? "bound" : "no listener");
  }
  if (o.stale) parts.push("stale");
  else if (o.orphan) parts.push("orphan");
  return parts.join("; ");
}

/** The name column: the name (escaped), or the key and id of a System V object. */
export function nameText(o: IpcObject): string {
  return printableName(o);
}

/** What the commands accept to name `o`: /name, a path, or id:N (System V). */
export function refText(o: IpcObject): string {
  if (o.id !== null) return `id:${o.id}`;
  return nameText(o);
}

/** Prints one line to standard output. */
export const say = (line: string): void => console.log(line);

/** Whether standard output takes colour. */
export const color = (): boolean => Deno.stdout.isTerminal() && !Deno.noColor;

/**
 * JSON for the terminal: exact (names keep their characters, as JSON escapes; a name that is
 * not UTF-8 has `nameHex`), with what JSON leaves raw and a terminal could obey (DEL, the C1
 * controls, bidirectional and zero-width characters) written as \u escapes.
 */
export function json(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(
    /[\u007f-\u009f\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
