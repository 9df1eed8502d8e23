/**
 * The `dipc` command's program: every subcommand, parsed by commander. cli/dipc.ts loads this
 * only when a command runs (`dipc --version` needs none of it).
 *
 * @module
 */

import { Command, CommanderError, Option } from "npm:@commander-js/extra-typings@14.0.0";
import {
  ClosedError,
  describeObject,
  END_OF_STREAM,
  ErrnoError,
  ForeignOwnerError,
  IPC_KINDS,
  type IpcKind,
  type IpcObject,
  listIpcObjects,
  MessageQueue,
  mkfifo,
  openFifoReader,
  openFifoWriter,
  PipeReader,
  PipeWriter,
  removeIpcObject,
  RingChannel,
  Semaphore,
  SharedMemory,
  staleIpcObjects,
  SysVMessageQueue,
  SysVSemaphoreSet,
  SysVSharedMemory,
} from "../mod.ts";
import {
  ago,
  CommandError,
  creatorText,
  nameText,
  notesText,
  parseCount,
  parseKind,
  parseMode,
  parseRef,
  resolveOne,
  sizeOrCount,
  table,
  UsageError,
} from "./_refs.ts";
import { completionScript } from "./_completions.ts";
import { printable, printableLine } from "../src/_printable.ts";

import { VERSION } from "./_version.ts";
const enc = new TextEncoder();
const dec = new TextDecoder();
const color = (): boolean => Deno.stdout.isTerminal() && !Deno.noColor;
const say = (line: string): void => console.log(line);

const kindsOption = (): Option<"-k, --kind <kinds...>", undefined, undefined, IpcKind[], false> =>
  new Option("-k, --kind <kinds...>", `only these kinds (${IPC_KINDS.join(", ")})`)
    .argParser((
      v: string,
      prev: IpcKind[] | undefined,
    ) => [...(prev ?? []), ...v.split(",").map(parseKind)]);

// ---- the program ---------------------------------------------------------------------------

export function buildProgram(): Command {
  const program = new Command()
    .name("dipc")
    .description("See, make, use and clean up every IPC object on this machine.")
    .version(VERSION)
    .showSuggestionAfterError()
    .exitOverride()
    .configureOutput({
      writeErr: (s) => Deno.stderr.writeSync(enc.encode(s)),
      outputError: (s, write) => write(`dipc: ${s.replace(/^error: /, "").trim()}\n`),
    })
    .addHelpText(
      "after",
      "\nExit codes: 0 success, 1 failure, 2 usage.\nObjects: /name (POSIX), a path (FIFO, " +
        "socket file), 0xKEY or key:N, id:N (System V), fd:N (send, recv).",
    );

  program.command("ls")
    .description("list every IPC object this user can see")
    .addOption(kindsOption())
    .option("-o, --owner <user>", "only objects this user (name or uid) owns")
    .option("--stale", "only provably abandoned objects (what rm --stale removes)")
    .option("--orphans", "with --stale: orphans too (creator dead, nothing attached)")
    .addOption(
      new Option("-s, --sort <field>", "sort by").choices(
        ["kind", "name", "owner", "size", "last-use"] as const,
      ).default("kind" as const),
    )
    .option("-d, --dir <dirs...>", "also look for FIFOs and socket files under these directories")
    .option("--json", "print JSON (docs/cli.md has the schema)")
    .addHelpText("after", "\nExample:\n  dipc ls --kind sysv-shm,shm --stale --orphans --json")
    .action((o) => ls(o));

  program.command("stat")
    .description("everything the system knows about one object")
    .argument("<object>", "what to look at")
    .addOption(
      new Option("-k, --kind <kind>", "the kind, when the name is ambiguous").argParser(parseKind),
    )
    .option("--json", "print JSON")
    .addHelpText("after", "\nExample:\n  dipc stat /jobs --json")
    .action((ref, o) => stat(ref, o));

  program.command("rm")
    .description("remove objects by name, key or id, or every stale one")
    .argument("[objects...]", "what to remove")
    .addOption(
      new Option("-k, --kind <kind>", "the kind, when a name is ambiguous").argParser(parseKind),
    )
    .option("--stale", "every stale object of this user (with objects named: those, if stale)")
    .option(
      "--include-orphans",
      "with --stale: orphans too (System V segments whose creator is dead and that nobody " +
        "has attached, which may be meant to last)",
    )
    .option("-n, --dry-run", "say what would be removed, remove nothing")
    .option("-f, --force", "remove objects that are in use")
    .option("-y, --yes", "do not ask on a terminal")
    .option("--allow-foreign", "remove objects another user owns or created")
    .option("-d, --dir <dirs...>", "with --stale: also socket files under these directories")
    .addHelpText("after", "\nExample:\n  dipc rm --stale --dry-run\n  dipc rm /jobs 0x0000abcd")
    .action((refs, o) => rm(refs, o));

  program.command("mk")
    .description("make an object (mode 0600 unless --mode): prints its name, or key and id")
    .argument("<kind>", `what to make (${IPC_KINDS.filter((k) => k !== "socket").join(", ")})`)
    .argument("[name]", "its name: /name for POSIX kinds, a path for a FIFO")
    .option("--size <bytes>", "size of shared memory")
    .option("--mode <octal>", "permission bits", "600")
    .option("--key <key>", "System V key (default: a random one, as ipcmk does)")
    .option("--max-messages <n>", "queue length (POSIX queue)")
    .option("--message-size <bytes>", "largest message (POSIX queue)")
    .option("--value <n>", "initial value (semaphores)")
    .option("--nsems <n>", "semaphores in a System V set", "1")
    .option("--capacity <bytes>", "ring capacity, a power of two", "65536")
    .option("--multi-producer", "a ring that takes up to 32 senders")
    .addHelpText(
      "after",
      "\nExamples:\n  dipc mk shm /frames --size 1048576\n  dipc mk sysv-mq\n  dipc mk ring /events --capacity 1048576",
    )
    .action((kind, name, o) => mk(kind, name, o));

  program.command("send")
    .description("send messages: the arguments, or standard input (a line each)")
    .argument("<object>", "a queue, ring, FIFO, or fd:N (a pipe)")
    .argument("[messages...]", "messages (default: lines of standard input)")
    .addOption(
      new Option("-k, --kind <kind>", "the kind, when the name is ambiguous").argParser(parseKind),
    )
    .option("-p, --priority <n>", "POSIX queue priority", "0")
    .option("-t, --type <n>", "System V message type", "1")
    .option("--json", "standard input is JSON lines: each must parse")
    .option("--bytes", "standard input is one message of raw bytes")
    .option("--timeout <ms>", "give up a wait for room after this long")
    .addHelpText("after", "\nExample:\n  printf 'a\\nb\\n' | dipc send /jobs --priority 3")
    .action((ref, messages, o) => send(ref, messages, o));

  program.command("recv")
    .description("receive messages and print them, one a line")
    .argument("<object>", "a queue, ring, FIFO, or fd:N (a pipe)")
    .addOption(
      new Option("-k, --kind <kind>", "the kind, when the name is ambiguous").argParser(parseKind),
    )
    .option("-c, --count <n>", "how many messages", "1")
    .option("-f, --follow", "keep receiving until the end of the stream or Ctrl-C")
    .option("--timeout <ms>", "give up a wait after this long (exit 1)")
    .option("-t, --type <n>", "System V type selector (0: any)", "0")
    .option("--json", "print JSON lines with the priority or type")
    .option("--bytes", "write the raw bytes, no newline")
    .addHelpText("after", "\nExample:\n  dipc recv /jobs --count 10 --timeout 1000 --json")
    .action((ref, o) => recv(ref, o));

  program.command("watch")
    .description("a live table of objects, fill levels and message rates (Ctrl-C ends it)")
    .addOption(kindsOption())
    .option("-d, --dir <dirs...>", "also watch FIFOs and socket files under these directories")
    .option("-i, --interval <ms>", "refresh interval", "1000")
    .option("--count <n>", "stop after this many refreshes")
    .addHelpText("after", "\nExample:\n  dipc watch --kind ring,mq --interval 500")
    .action((o) => watch(o));

  program.command("bench")
    .description("run the benchmark suite (or one transport, some sizes) with a progress bar")
    .option("--transport <name>", "only rows whose name contains this (e.g. ring, pipe, socket)")
    .option("--size <bytes...>", "only these message sizes (64, 4096, 65536, 1048576)")
    .option("--reps <n>", "alternating repetitions", "3")
    .addHelpText("after", "\nExample:\n  dipc bench --transport socket --size 4096 --reps 1")
    .action((o) => bench(o));

  program.command("worker")
    .description("serve a process pool's tasks from a NATS work queue (for natsPool)")
    .argument("<module>", "the task module: its exported functions are the tasks")
    .requiredOption("--nats <url>", "the NATS server (host:port or nats://host:port)")
    .option("--name <pool>", "the pool's name", "default")
    .option("--concurrency <n>", "tasks run at once", "1")
    .addHelpText(
      "after",
      "\nRuns until interrupted (SIGINT or SIGTERM: tasks taken and not started go back).\n" +
        "Example:\n  dipc worker --nats nats://10.0.0.5:4222 --name resize ./tasks.ts",
    )
    .action((module, o) => worker(module, o));

  program.command("tour")
    .description("run every example in order")
    .addHelpText("after", "\nExample:\n  dipc tour")
    .action(() => runTool("tour.ts", [], {}));

  program.command("completions")
    .description("print a completion script")
    .argument("<shell>", "bash, zsh or fish")
    .addHelpText("after", "\nExample:\n  source <(dipc completions bash)")
    .action((shell) => {
      if (!["bash", "zsh", "fish"].includes(shell)) {
        throw new UsageError(`no completions for ${JSON.stringify(shell)}: bash, zsh or fish`);
      }
      Deno.stdout.writeSync(
        enc.encode(completionScript(program, shell as "bash" | "zsh" | "fish")),
      );
    });

  return program as unknown as Command;
}

// ---- ls, stat --------------------------------------------------------------------------------

function ownerMatches(o: IpcObject, owner: string | undefined): boolean {
  if (owner === undefined) return true;
  return /^\d+$/.test(owner) ? o.uid === Number(owner) : o.owner === owner;
}

function listed(
  o: { kind?: IpcKind[]; dir?: string[] },
): { objects: IpcObject[]; notes: string[] } {
  return listIpcObjects({
    ...(o.kind ? { kinds: o.kind } : {}),
    dirs: o.dir ?? [],
  });
}

const SORTS: Record<string, (a: IpcObject, b: IpcObject) => number> = {
  kind: (a, b) =>
    IPC_KINDS.indexOf(a.kind) - IPC_KINDS.indexOf(b.kind) || nameText(a).localeCompare(nameText(b)),
  name: (a, b) => nameText(a).localeCompare(nameText(b)),
  owner: (a, b) => a.owner.localeCompare(b.owner),
  size: (a, b) => (b.size ?? -1) - (a.size ?? -1),
  "last-use": (a, b) => (b.lastUse ?? "").localeCompare(a.lastUse ?? ""),
};

function ls(o: {
  kind?: IpcKind[];
  owner?: string;
  stale?: true;
  orphans?: true;
  sort: string;
  dir?: string[];
  json?: true;
}): void {
  const inv = listed(o);
  const objects = inv.objects
    .filter((x) =>
      ownerMatches(x, o.owner) && (!o.stale || x.stale || (o.orphans === true && x.orphan === true))
    )
    .sort(SORTS[o.sort]);
  if (o.json) {
    say(json({ schema: 1, objects, notes: inv.notes }));
    return;
  }
  const rows = [[
    "KIND",
    "NAME",
    "OWNER",
    "MODE",
    "SIZE/COUNT",
    "CREATOR",
    "USERS",
    "LAST USE",
    "NOTES",
  ]];
  for (const x of objects) {
    rows.push([
      x.kind,
      nameText(x),
      printable(x.owner),
      x.mode.toString(8).padStart(4, "0"),
      sizeOrCount(x),
      creatorText(x),
      x.users === null ? "?" : String(x.users),
      ago(x.lastUse),
      notesText(x),
    ]);
  }
  say(objects.length === 0 ? "no IPC objects" : table(rows, color()));
  for (const n of inv.notes) console.error(`note: ${printableLine(n)}`);
}

function stat(ref: string, o: { kind?: IpcKind; json?: true }): void {
  const obj = resolveOne(ref, o.kind);
  const system: Record<string, unknown> = {};
  if (obj.id !== null) {
    const s = obj.kind === "sysv-shm"
      ? SysVSharedMemory.statId(obj.id)
      : obj.kind === "sysv-mq"
      ? SysVMessageQueue.statId(obj.id)
      : SysVSemaphoreSet.statId(obj.id);
    Object.assign(system, s);
  }
  if (o.json) {
    say(json({ schema: 1, object: obj, ...(obj.id !== null ? { ipcStat: system } : {}) }));
    return;
  }
  const lines: Array<[string, string]> = [
    ["object", describeObject(obj)],
    ["owner", `${printable(obj.owner)} (uid ${obj.uid})`],
    ["mode", obj.mode.toString(8).padStart(4, "0")],
    ["size / count", sizeOrCount(obj) || "-"],
    ["creator", creatorText(obj)],
    ["users", obj.users === null ? "unknown" : String(obj.users)],
    ["last use", obj.lastUse ?? "never"],
    [
      "stale",
      obj.stale ? "yes" : obj.orphan ? "no (an orphan: creator dead, nothing attached)" : "no",
    ],
  ];
  if (obj.limits) {
    lines.push(["limits", `${obj.limits.maxMessages} messages of ${obj.limits.messageSize} bytes`]);
  }
  if (obj.ring) {
    lines.push([
      "ring",
      `capacity ${obj.ring.capacity}, ${obj.ring.used} bytes queued, ${obj.ring.deaths} sender deaths`,
    ]);
    for (const s of obj.ring.senders) {
      lines.push(["sender", `${s.pid} ${s.alive ? "alive" : "dead"}`]);
    }
    if (obj.ring.receiver) {
      lines.push([
        "receiver",
        `${obj.ring.receiver.pid} ${obj.ring.receiver.alive ? "alive" : "dead"}`,
      ]);
    }
  }
  for (const m of obj.mutexes ?? []) {
    lines.push([
      `mutex @${m.offset}`,
      `${
        m.holder ? `held by ${m.holder.pid}${m.holder.alive ? "" : " (dead)"}` : "free"
      }, ${m.state}`,
    ]);
  }
  for (const [k, v] of Object.entries(system)) {
    const text = v instanceof Date
      ? v.toISOString()
      : v === null
      ? "never"
      : k === "mode" && typeof v === "number"
      ? v.toString(8).padStart(4, "0")
      : k === "key" && typeof v === "number"
      ? `0x${v.toString(16).padStart(8, "0")}`
      : String(v);
    lines.push([k, printableLine(text)]);
  }
  const w = Math.max(...lines.map(([k]) => k.length));
  for (const [k, v] of lines) say(`${k.padEnd(w)}  ${v}`);
}

// ---- rm, mk --------------------------------------------------------------------------------

function confirm(question: string): boolean {
  if (!Deno.stdin.isTerminal()) return true;
  const answer = prompt(`${question} [y/N]`);
  return answer !== null && /^y(es)?$/i.test(answer.trim());
}

function rm(refs: string[], o: {
  kind?: IpcKind;
  stale?: true;
  includeOrphans?: true;
  dryRun?: true;
  force?: true;
  yes?: true;
  allowForeign?: true;
  dir?: string[];
}): void {
  if (refs.length === 0 && !o.stale) throw new UsageError("name what to remove, or pass --stale");
  if (o.includeOrphans && !o.stale) throw new UsageError("--include-orphans goes with --stale");
  const orphans = o.includeOrphans === true;
  const targets: IpcObject[] = [];
  for (const r of refs) {
    const x = resolveOne(r, o.kind);
    // With --stale, named objects are removed only if they are stale.
    if (o.stale && !x.stale && !(orphans && x.orphan)) {
      say(
        `kept ${describeObject(x)}: not stale${x.orphan ? " (an orphan: --include-orphans)" : ""}`,
      );
    } else targets.push(x);
  }
  if (o.stale && refs.length === 0) {
    const stale = staleIpcObjects({
      includeOrphans: orphans,
      allowForeignOwner: o.allowForeign === true,
      ...(o.kind ? { kinds: [o.kind] } : {}),
      ...(o.dir ? { dirs: o.dir } : {}),
    });
    const seen = new Set(targets.map(describeObject));
    for (const x of stale) if (!seen.has(describeObject(x))) targets.push(x);
  }
  if (targets.length === 0) {
    say("nothing to remove");
    return;
  }
  if (o.dryRun) {
    for (const t of targets) say(`would remove ${describeObject(t)}`);
    return;
  }
  if (!o.yes && !confirm(`remove ${targets.map(describeObject).join(", ")}?`)) {
    throw new CommandError("nothing removed");
  }
  let failed = 0;
  for (const t of targets) {
    try {
      removeIpcObject(t, {
        force: o.force === true,
        allowForeignOwner: o.allowForeign === true,
        ...(o.stale ? { ifStale: true, includeOrphans: orphans } : {}),
      });
      say(`removed ${describeObject(t)}`);
    } catch (e) {
      failed++;
      console.error(`dipc: ${describeObject(t)}: ${oneLine(e)}`);
    }
  }
  if (failed > 0) {
    throw new CommandError(`${failed} of ${targets.length} not removed`, { cause: "reported" });
  }
}

function randomKey(): number {
  return (crypto.getRandomValues(new Uint32Array(1))[0] ?? 1) || 1;
}

function mk(kind: string, name: string | undefined, o: {
  size?: string;
  mode: string;
  key?: string;
  maxMessages?: string;
  messageSize?: string;
  value?: string;
  nsems: string;
  capacity: string;
  multiProducer?: true;
}): void {
  const k = parseKind(kind);
  const mode = parseMode(o.mode);
  const needName = (): string => {
    if (name === undefined) throw new UsageError(`mk ${k} needs a name`);
    return name;
  };
  const sysvKey = o.key === undefined ? randomKey() : parseCount(o.key, "--key", 0xffffffff);
  switch (k) {
    case "shm": {
      if (o.size === undefined) throw new UsageError("mk shm needs --size");
      SharedMemory.create(needName(), { size: parseCount(o.size, "--size"), mode }).close();
      return say(needName());
    }
    case "ring": {
      RingChannel.create(needName(), {
        capacity: parseCount(o.capacity, "--capacity"),
        multiProducer: o.multiProducer === true,
        mode,
      }).close();
      return say(needName());
    }
    case "sem":
      Semaphore.create(needName(), { value: parseCount(o.value ?? "0", "--value"), mode }).close();
      return say(needName());
    case "mq":
      MessageQueue.create(needName(), {
        mode,
        ...(o.maxMessages ? { maxMessages: parseCount(o.maxMessages, "--max-messages") } : {}),
        ...(o.messageSize ? { messageSize: parseCount(o.messageSize, "--message-size") } : {}),
      }).close();
      return say(needName());
    case "fifo":
      mkfifo(needName(), { mode });
      return say(needName());
    case "sysv-shm": {
      if (o.size === undefined) throw new UsageError("mk sysv-shm needs --size");
      const s = SysVSharedMemory.create(sysvKey, { size: parseCount(o.size, "--size"), mode });
      say(`key 0x${s.key.toString(16).padStart(8, "0")} id:${s.id}`);
      return s.close();
    }
    case "sysv-mq": {
      const q = SysVMessageQueue.create(sysvKey, { mode });
      say(`key 0x${q.key.toString(16).padStart(8, "0")} id:${q.id}`);
      return q.close();
    }
    case "sysv-sem": {
      const s = SysVSemaphoreSet.create(sysvKey, {
        count: parseCount(o.nsems, "--nsems", 32000),
        initial: parseCount(o.value ?? "0", "--value", 32767),
        mode,
      });
      say(`key 0x${s.key.toString(16).padStart(8, "0")} id:${s.id}`);
      return s.close();
    }
    case "socket":
      throw new UsageError("a socket is made by the program that listens on it (UnixListener)");
  }
}

// ---- send, recv --------------------------------------------------------------------------

/** Where messages go or come from, resolved from what the user typed. */
type Endpoint =
  | { kind: "mq"; name: string }
  | { kind: "ring"; name: string }
  | { kind: "sysv-mq"; id: number }
  | { kind: "fifo"; path: string }
  | { kind: "fd"; fd: number };

function endpoint(ref: string, kind: IpcKind | undefined): Endpoint {
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

async function send(ref: string, messages: string[], o: {
  kind?: IpcKind;
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

async function recv(ref: string, o: {
  kind?: IpcKind;
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

// ---- watch ---------------------------------------------------------------------------------

async function watch(
  o: { kind?: IpcKind[]; dir?: string[]; interval: string; count?: string },
): Promise<void> {
  const interval = Math.max(100, parseCount(o.interval, "--interval"));
  const count = o.count === undefined ? Infinity : parseCount(o.count, "--count");
  const tty = Deno.stdout.isTerminal();
  let stopped = false;
  const onInt = (): void => void (stopped = true);
  Deno.addSignalListener("SIGINT", onInt);
  const last = new Map<string, { at: number; sent: number; count: number }>();
  try {
    for (let n = 0; n < count && !stopped; n++) {
      const now = performance.now();
      const { objects } = listed(o);
      const rows = [["KIND", "NAME", "OWNER", "SIZE/COUNT", "FILL", "RATE", "USERS", "LAST USE"]];
      for (const x of objects) {
        const id = `${x.kind} ${nameText(x)}`;
        const sent = x.ring ? x.ring.sent : 0;
        const prev = last.get(id);
        let rate = "";
        if (prev && now > prev.at) {
          const secs = (now - prev.at) / 1000;
          if (x.ring) rate = `${Math.round(((sent - prev.sent) >>> 0) / secs)} B/s`;
          else if (x.count !== null && (x.kind === "mq" || x.kind === "sysv-mq")) {
            rate = `${((x.count - prev.count) / secs).toFixed(1)} msg/s net`;
          }
        }
        last.set(id, { at: now, sent, count: x.count ?? 0 });
        const fill = x.ring
          ? `${Math.round(100 * x.ring.used / x.ring.capacity)}%`
          : x.limits && x.count !== null
          ? `${Math.round(100 * x.count / x.limits.maxMessages)}%`
          : "";
        rows.push([
          x.kind,
          nameText(x),
          printable(x.owner),
          sizeOrCount(x),
          fill,
          rate,
          x.users === null ? "?" : String(x.users),
          ago(x.lastUse),
        ]);
      }
      const text = table(rows, color());
      if (tty) {
        Deno.stdout.writeSync(
          enc.encode(`\x1b[H\x1b[2J${new Date().toLocaleTimeString()}  (Ctrl-C ends)\n${text}\n`),
        );
      } else say(`${new Date().toISOString()}\n${text}\n`);
      if (n + 1 < count) {
        for (let waited = 0; waited < interval && !stopped; waited += 50) {
          await new Promise((r) => setTimeout(r, Math.min(50, interval - waited)));
        }
      }
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onInt);
  }
}

// ---- bench, tour -------------------------------------------------------------------------

async function runTool(
  script: string,
  args: string[],
  env: Record<string, string>,
  onErrLine?: (line: string) => void,
): Promise<void> {
  const url = new URL(`../tools/${script}`, import.meta.url);
  if (url.protocol !== "file:") {
    throw new CommandError(
      `this dipc runs from ${url.origin}, not from a checkout: ${
        script === "tour.ts"
          ? "the tour runs the examples"
          : "the benchmark suite builds and runs the C baselines"
      } of a clone of the repository (git clone, then deno task ${
        script === "tour.ts" ? "tour" : "bench:suite"
      })`,
    );
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-ffi",
      "--allow-run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-net",
      url.href,
      ...args,
    ],
    env,
    stdout: "inherit",
    stderr: onErrLine ? "piped" : "inherit",
  }).spawn();
  if (onErrLine) {
    let rest = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      for (let at = rest.indexOf("\n"); at >= 0; at = rest.indexOf("\n")) {
        onErrLine(rest.slice(0, at));
        rest = rest.slice(at + 1);
      }
    }
  }
  const status = await child.status;
  if (!status.success) throw new CommandError(`${script} failed (exit ${status.code})`);
}

async function worker(
  module: string,
  o: { nats: string; name: string; concurrency: string },
): Promise<void> {
  const concurrency = parseCount(o.concurrency, "--concurrency", 10_000);
  // Loaded only for this command: the NATS client is not part of any other.
  const { serveNatsTasks } = await import("../src/nats_pool.ts");
  const { taskModuleUrl } = await import("../src/_pool_common.ts");
  const url = taskModuleUrl(module);
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(sig, onSignal);
  try {
    console.error(`dipc worker: serving pool ${JSON.stringify(o.name)} from ${o.nats}`);
    await serveNatsTasks(o.nats, () => import(url), {
      name: o.name,
      concurrency,
      signal: stop.signal,
    });
  } finally {
    for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.removeSignalListener(sig, onSignal);
  }
}

async function bench(o: { transport?: string; size?: string[]; reps: string }): Promise<void> {
  const sizes = (o.size ?? []).map((s) => parseCount(s, "--size"));
  const reps = parseCount(o.reps, "--reps", 100);
  const env: Record<string, string> = { DIPC_BENCH_REPS: String(reps) };
  if (o.transport) env.DIPC_BENCH_ONLY = o.transport;
  if (sizes.length > 0) env.DIPC_BENCH_SIZES = sizes.join(",");
  const tty = Deno.stderr.isTerminal();
  await runTool("bench_suite.ts", [], env, (line) => {
    const m = /^step (\d+) of (\d+): (.*)$/.exec(line);
    if (!m) return void (line && console.error(line));
    const [done, total] = [Number(m[1]), Number(m[2])];
    const width = 30;
    const filled = Math.round(width * done / total);
    const bar = `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total} ${m[3]}`;
    if (tty) Deno.stderr.writeSync(enc.encode(`\r\x1b[2K${bar}${done === total ? "\n" : ""}`));
    else console.error(bar);
  });
}

// ---- errors and exit codes -----------------------------------------------------------------

/** An error's message as one line that is safe on a terminal. */
function oneLine(e: unknown): string {
  return printableLine((e instanceof Error ? e.message : String(e)).split("\n")[0] ?? "");
}

/**
 * JSON for the terminal: exact (names keep their characters, as JSON escapes; a name that is
 * not UTF-8 has `nameHex`), with what JSON leaves raw and a terminal could obey (DEL, the C1
 * controls, bidirectional and zero-width characters) written as \u escapes.
 */
function json(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(
    /[\u007f-\u009f\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** Runs the command line `args`; returns the exit code (0, 1 failure, 2 usage). */
export async function main(args: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(args, { from: "user" });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Commander printed its message already; help and --version are not failures.
      return e.exitCode === 0 ? 0 : 2;
    }
    const usage = e instanceof UsageError || e instanceof TypeError || e instanceof RangeError;
    const known = usage || e instanceof CommandError || e instanceof ErrnoError ||
      e instanceof ForeignOwnerError || e instanceof ClosedError ||
      (e instanceof DOMException && e.name === "TimeoutError") ||
      e instanceof Deno.errors.NotCapable ||
      e instanceof Deno.errors.NotFound || e instanceof Deno.errors.PermissionDenied;
    if (!(e instanceof CommandError && e.cause === "reported")) {
      console.error(`dipc: ${oneLine(e)}`);
    }
    if (!known) console.error("dipc: (an unexpected error; please report it)");
    return usage ? 2 : 1;
  }
}
