// dipc send and recv: messages through queues, rings, FIFOs and inherited pipes. Loaded only by
// those commands (cli/_program.ts).
import { describeObject } from "../src/_inventory_list.ts";
import { END_OF_STREAM } from "../src/_sentinels.ts";
import { MessageQueue } from "../src/mq.ts";
import { RingChannel } from "../src/ring.ts";
import { SysVMessageQueue } from "../src/sysv_mq.ts";
import { openFifoReader, openFifoWriter } from "../src/fifo.ts";
import { PipeReader, PipeWriter } from "../src/pipe.ts";
import { parseCount, parseKind, parseRef, resolveOne, say, UsageError } from "./_refs.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Where messages go or come from, resolved from what the user typed. */
type Endpoint =
  | { kind: "mq"; name: string }
  | { kind: "ring"; name: string }
  | { kind: "sysv-mq"; id: number }
  | { kind: "fifo"; path: string }
  | { kind: "fd"; fd: number };

function endpoint(ref: string, kindText: string | undefined): Endpoint {
  const kind = kindText === undefined ? undefined : parseKind(kindText);
  const r = parseRef(ref);
  if (r.by === "fd") return { kind: "fd", fd: r.fd };
  const obj = resolveOne(ref, kind);
  switch (obj.kind) {
    case "mq":
      return { kind: "mq", name: obj.name ?? "" };
    case "ring":
      return { kind: "ring", name: obj.name ?? "" };
    case "sysv-mq":
      return { kind: "sysv-mq", id: obj.id ?? -1 };
    case "fifo":
      return { kind: "fifo", path: obj.name ?? "" };
    default:
      throw new UsageError(
        `${describeObject(obj)} carries no messages: a queue, ring, FIFO or fd:N`,
      );
  }
}

async function stdinMessages(o: { json?: true; bytes?: true }): Promise<Uint8Array[]> {
  const all = new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer());
  if (o.bytes) return [all];
  const lines = dec.decode(all).split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines.map((line, i) => {
    if (o.json) {
      try {
        JSON.parse(line);
      } catch {
        throw new UsageError(`line ${i + 1} of standard input is not JSON: ${line.slice(0, 60)}`);
      }
    }
    return enc.encode(line);
  });
}

/** dipc send */
export async function send(ref: string, messages: string[], o: {
  kind?: string;
  priority: string;
  type: string;
  json?: true;
  bytes?: true;
  timeout?: string;
}): Promise<void> {
  const ep = endpoint(ref, o.kind);
  const priority = parseCount(o.priority, "--priority", 32767);
  const type = parseCount(o.type, "--type");
  if (type === 0) throw new UsageError("--type must be 1 or more");
  const timeout = o.timeout === undefined ? {} : { timeout: parseCount(o.timeout, "--timeout") };
  const data = messages.length > 0 ? messages.map((m) => enc.encode(m)) : await stdinMessages(o);
  switch (ep.kind) {
    case "mq": {
      using q = MessageQueue.open(ep.name, { writeOnly: true });
      for (const m of data) await q.send(m, { priority, ...timeout });
      break;
    }
    case "ring": {
      using ch = RingChannel.open(ep.name);
      using tx = ch.sender();
      for (const m of data) await tx.send(m, timeout);
      break;
    }
    case "sysv-mq": {
      using q = SysVMessageQueue.openId(ep.id);
      for (const m of data) await q.send(m, { type, ...timeout });
      break;
    }
    case "fifo":
    case "fd": {
      using w = ep.kind === "fifo"
        ? await openFifoWriter(ep.path, timeout)
        : PipeWriter.fromFd(ep.fd);
      for (const m of data) await w.write(o.bytes ? m : enc.encode(`${dec.decode(m)}\n`), timeout);
      break;
    }
  }
}

/** dipc recv */
export async function recv(ref: string, o: {
  kind?: string;
  count: string;
  follow?: true;
  timeout?: string;
  type: string;
  json?: true;
  bytes?: true;
}): Promise<void> {
  const ep = endpoint(ref, o.kind);
  const count = o.follow ? Infinity : parseCount(o.count, "--count");
  const timeout = o.timeout === undefined ? {} : { timeout: parseCount(o.timeout, "--timeout") };
  const type = Number(o.type);
  if (!Number.isSafeInteger(type)) {
    throw new UsageError(`--type must be a whole number, got ${o.type}`);
  }
  const stop = new AbortController();
  const onInt = (): void => stop.abort(new DOMException("interrupted", "AbortError"));
  Deno.addSignalListener("SIGINT", onInt);
  const wait = { ...timeout, signal: stop.signal };
  const out = (data: Uint8Array, extra: Record<string, unknown>): void => {
    if (o.bytes) Deno.stdout.writeSync(data);
    else if (o.json) say(JSON.stringify({ text: dec.decode(data), ...extra }));
    else say(dec.decode(data));
  };
  try {
    switch (ep.kind) {
      case "mq": {
        using q = MessageQueue.open(ep.name, { readOnly: true });
        for (let n = 0; n < count; n++) {
          const m = await q.receive(wait);
          out(m.data, { priority: m.priority });
        }
        break;
      }
      case "ring": {
        using ch = RingChannel.open(ep.name);
        using rx = ch.receiver();
        for (let n = 0; n < count; n++) {
          const m = await rx.receive(wait);
          if (m === END_OF_STREAM) break;
          out(m, {});
        }
        break;
      }
      case "sysv-mq": {
        using q = SysVMessageQueue.openId(ep.id);
        for (let n = 0; n < count; n++) {
          const m = await q.receive({ type, ...wait });
          out(m.data, { type: typeof m.type === "bigint" ? String(m.type) : m.type });
        }
        break;
      }
      case "fifo":
      case "fd": {
        // A byte stream: a message is a line (all of it with --bytes).
        using r = ep.kind === "fifo" ? openFifoReader(ep.path) : PipeReader.fromFd(ep.fd);
        const buf = new Uint8Array(65536);
        let pending = "";
        let n = 0;
        while (n < count) {
          const got = await r.read(buf, wait);
          if (got === END_OF_STREAM) break;
          if (o.bytes) {
            Deno.stdout.writeSync(buf.subarray(0, got));
            continue;
          }
          pending += dec.decode(buf.subarray(0, got), { stream: true });
          for (let at = pending.indexOf("\n"); at >= 0 && n < count; at = pending.indexOf("\n")) {
            out(enc.encode(pending.slice(0, at)), {});
            pending = pending.slice(at + 1);
            n++;
          }
        }
        if (pending !== "" && n < count) out(enc.encode(pending), {});
        break;
      }
    }
  } catch (e) {
    if (stop.signal.aborted) return; // Ctrl-C: a clean end
    throw e;
  } finally {
    Deno.removeSignalListener("SIGINT", onInt);
  }
}
