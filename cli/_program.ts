/**
 * The `dipc` command's program: every subcommand as a table (cli/_args.ts parses and explains
 * it). A command loads the modules it needs only when it runs: `dipc ls` loads the inventory,
 * not the queues' send path or the NATS client.
 *
 * @module
 */

import {
  CommandError,
  commandHelp,
  type CommandSpec,
  type Completion,
  oneLine,
  type OptionSpec,
  parse,
  type Parsed,
  programHelp,
  suggestion,
  UsageError,
} from "./_args.ts";
import { VERSION } from "./_version.ts";
import { ClosedError, ErrnoError, ForeignOwnerError } from "../src/errors.ts";
import { IPC_KINDS, type IpcKind } from "../src/_ipc_kinds.ts";
import { LS_COLUMNS } from "./_table.ts";

/** The kinds `mk` makes (a socket is made by the program that listens on it). */
export const MAKEABLE: readonly IpcKind[] = IPC_KINDS.filter((k) => k !== "socket");

/** The kinds that carry messages (`send`, `recv`). */
const CARRIERS = ["mq", "ring", "sysv-mq", "fifo"] as const;

const kindOption: OptionSpec = {
  flags: "-k, --kind <kind>",
  description: "the kind, when the name is ambiguous",
  choices: IPC_KINDS,
  complete: IPC_KINDS,
};
const kindsOption: OptionSpec = {
  flags: "-k, --kind <kinds>",
  description: "only these kinds (a comma list, or the option again)",
  list: true,
  complete: IPC_KINDS,
};
const dirOption = (what: string): OptionSpec => ({
  flags: "-d, --dir <dir>",
  description: `${what} (the option again for more)`,
  list: true,
  complete: "files",
});
const json: OptionSpec = { flags: "--json", description: "print JSON (docs/cli.md)" };
const timeout = (what: string): OptionSpec => ({
  flags: "--timeout <ms>",
  description: what,
});
const carriers: Completion = { objects: CARRIERS };

const load = {
  inspect: () => import("./_inspect.ts"),
  make: () => import("./_make.ts"),
  messages: () => import("./_messages.ts"),
  tools: () => import("./_tools.ts"),
};

// deno-lint-ignore no-explicit-any
type Options = any;
const o = (p: Parsed): Options => p.options;

/** Every command, in the order `dipc --help` lists them. */
export const COMMANDS: readonly CommandSpec[] = [
  {
    name: "ls",
    description: "list every IPC object this user can see",
    arguments: [],
    options: [
      kindsOption,
      { flags: "--owner <user>", description: "only objects this user (name or uid) owns" },
      {
        flags: "--stale",
        description: "only provably abandoned objects (what rm --stale removes)",
      },
      { flags: "--orphans", description: "with --stale: orphans too (creator dead, unattached)" },
      {
        flags: "-s, --sort <field>",
        description: "sort by",
        choices: ["kind", "name", "owner", "size", "last-use"],
        default: "kind",
        complete: ["kind", "name", "owner", "size", "last-use"],
      },
      {
        flags: "-o, --output <columns>",
        description: `the columns, in order (a comma list: ${LS_COLUMNS.join(", ")})`,
        list: true,
        complete: LS_COLUMNS,
      },
      { flags: "-n, --noheadings", description: "no header line" },
      { flags: "--notruncate", description: "never shorten a column to fit the terminal" },
      dirOption("also look for FIFOs and socket files under this directory"),
      json,
    ],
    help: "Examples:\n  dipc ls --kind sysv-shm,shm --stale --orphans --json\n" +
      "  dipc ls -o ref,size,fill --noheadings --kind ring\n" +
      "Names wider than the terminal are shortened with … unless --notruncate (COLUMNS sets\n" +
      "the width when standard output is not a terminal).",
    run: async (p) => (await load.inspect()).ls(o(p)),
  },
  {
    name: "stat",
    description: "everything the system knows about one object",
    arguments: [{ name: "<object>", description: "what to look at", complete: { objects: "all" } }],
    options: [kindOption, json],
    help: "A System V set shows each semaphore's value, last pid and waiters (ipcs -s -i).\n" +
      "Example:\n  dipc stat /jobs --json",
    run: async (p) => (await load.inspect()).stat(p.args[0] as string, o(p)),
  },
  {
    name: "limits",
    description: "the system's IPC limits and how much of each is used (ipcs -l, lsipc -g)",
    arguments: [],
    options: [{ flags: "-n, --noheadings", description: "no header line" }, json],
    help: "Example:\n  dipc limits --json",
    run: async (p) => (await load.inspect()).limits(o(p)),
  },
  {
    name: "rm",
    description: "remove objects by name, key or id, or every stale one",
    arguments: [{
      name: "[objects...]",
      description: "what to remove",
      complete: { objects: "all" },
    }],
    options: [
      kindOption,
      {
        flags: "--stale",
        description: "every stale object of this user (or those named, if stale)",
      },
      {
        flags: "--include-orphans",
        description: "with --stale: orphans too (System V segments whose creator is dead and " +
          "that nobody has attached, which may be meant to last)",
      },
      { flags: "-n, --dry-run", description: "say what would be removed, remove nothing" },
      { flags: "-f, --force", description: "remove objects that are in use" },
      { flags: "-y, --yes", description: "do not ask on a terminal" },
      {
        flags: "--keep-going",
        description: "remove what can be found and removed, report the rest (as ipcrm does)",
      },
      { flags: "--allow-foreign", description: "remove objects another user owns or created" },
      dirOption("with --stale: also socket files under this directory"),
      json,
    ],
    help: "All or nothing by default: when one named object cannot be found, nothing is removed\n" +
      "(exit 1). With --keep-going every object that is found is removed and each one that is\n" +
      "not is reported (exit 1 if any was not).\n" +
      "Examples:\n  dipc rm --stale --dry-run\n  dipc rm /jobs 0x0000abcd\n" +
      "  dipc rm --keep-going --json /a /b id:3",
    run: async (p) => (await load.make()).rm(p.args, o(p)),
  },
  {
    name: "mk",
    description: "make a new object (mode 0600 unless --mode): prints its name, or key and id",
    arguments: [
      { name: "<kind>", description: `what to make (${MAKEABLE.join(", ")})`, complete: MAKEABLE },
      {
        name: "[name]",
        description: "its name: /name for POSIX kinds, a path for a FIFO",
        complete: "files",
      },
    ],
    options: [
      { flags: "--size <bytes>", description: "size of shared memory (4096, 64K, 1M, 1MiB…)" },
      { flags: "--mode <octal>", description: "permission bits", default: "600" },
      { flags: "--key <key>", description: "System V key (default: a random one, as ipcmk does)" },
      { flags: "--max-messages <n>", description: "queue length (POSIX queue)" },
      { flags: "--message-size <bytes>", description: "largest message (POSIX queue)" },
      { flags: "--value <n>", description: "initial value (semaphores)" },
      { flags: "--nsems <n>", description: "semaphores in a System V set", default: "1" },
      { flags: "--capacity <bytes>", description: "ring capacity, a power of two", default: "64K" },
      { flags: "--multi-producer", description: "a ring that takes up to 32 senders" },
      json,
    ],
    help:
      "Examples:\n  dipc mk shm /frames --size 1M\n  dipc mk sysv-mq\n  dipc mk ring /events --capacity 1M --json",
    run: async (p) => (await load.make()).mk(p.args[0] as string, p.args[1], o(p)),
  },
  {
    name: "send",
    description: "send messages: the arguments, or standard input (a line each)",
    arguments: [
      {
        name: "<object>",
        description: "a queue, ring, FIFO, or fd:N (a pipe)",
        complete: carriers,
      },
      { name: "[messages...]", description: "messages (default: lines of standard input)" },
    ],
    options: [
      kindOption,
      { flags: "-p, --priority <n>", description: "POSIX queue priority", default: "0" },
      { flags: "-t, --type <n>", description: "System V message type", default: "1" },
      { flags: "--json", description: "standard input is JSON lines: each must parse" },
      { flags: "--bytes", description: "standard input is one message of raw bytes" },
      timeout("give up a wait for room after this long"),
    ],
    help: "Example:\n  printf 'a\\nb\\n' | dipc send /jobs --priority 3",
    run: async (p) => (await load.messages()).send(p.args[0] as string, p.args.slice(1), o(p)),
  },
  {
    name: "recv",
    description: "receive messages and print them, one a line",
    arguments: [
      {
        name: "<object>",
        description: "a queue, ring, FIFO, or fd:N (a pipe)",
        complete: carriers,
      },
    ],
    options: [
      kindOption,
      { flags: "-c, --count <n>", description: "how many messages", default: "1" },
      {
        flags: "-f, --follow",
        description: "keep receiving until the end of the stream or Ctrl-C",
      },
      timeout("give up a wait after this long (exit 1)"),
      { flags: "-t, --type <n>", description: "System V type selector (0: any)", default: "0" },
      { flags: "--json", description: "print JSON lines with the priority or type" },
      { flags: "--bytes", description: "write the raw bytes, no newline" },
    ],
    help: "Example:\n  dipc recv /jobs --count 10 --timeout 1000 --json",
    run: async (p) => (await load.messages()).recv(p.args[0] as string, o(p)),
  },
  {
    name: "watch",
    description: "a live table of objects, fill levels and message rates (Ctrl-C ends it)",
    arguments: [],
    options: [
      kindsOption,
      dirOption("also watch FIFOs and socket files under this directory"),
      { flags: "-i, --interval <ms>", description: "refresh interval", default: "1000" },
      { flags: "--count <n>", description: "stop after this many refreshes" },
    ],
    help: "Example:\n  dipc watch --kind ring,mq --interval 500",
    run: async (p) => (await load.inspect()).watch(o(p)),
  },
  {
    name: "bench",
    description: "run the benchmark suite (or one transport, some sizes) with a progress bar",
    arguments: [],
    options: [
      {
        flags: "--transport <name>",
        description: "only rows whose name contains this (e.g. ring, pipe, socket)",
      },
      {
        flags: "--size <bytes>",
        description: "only these message sizes (64, 4K, 64K, 1M; a comma list)",
        list: true,
      },
      { flags: "--reps <n>", description: "alternating repetitions", default: "3" },
    ],
    help: "Example:\n  dipc bench --transport socket --size 4096 --reps 1",
    run: async (p) => (await load.tools()).bench(o(p)),
  },
  {
    name: "worker",
    description: "serve a process pool's tasks from a NATS work queue (for natsPool)",
    arguments: [{
      name: "<module>",
      description: "the task module: its exported functions are the tasks",
      complete: "files",
    }],
    options: [
      { flags: "--nats <url>", description: "the NATS server (host:port or nats://host:port)" },
      { flags: "--name <pool>", description: "the pool's name", default: "default" },
      { flags: "--concurrency <n>", description: "tasks run at once", default: "1" },
    ],
    help: "Runs until interrupted (SIGINT or SIGTERM: tasks taken and not started go back).\n" +
      "Example:\n  dipc worker --nats nats://10.0.0.5:4222 --name resize ./tasks.ts",
    run: async (p) => (await load.tools()).worker(p.args[0] as string, o(p)),
  },
  {
    name: "tour",
    description: "run every example in order",
    arguments: [],
    options: [],
    help: "Example:\n  dipc tour",
    run: async () => (await load.tools()).tour(),
  },
  {
    name: "completions",
    description: "print a completion script",
    arguments: [{
      name: "<shell>",
      description: "bash, zsh or fish",
      complete: ["bash", "zsh", "fish"],
    }],
    options: [],
    help: "Object names complete from `dipc ls` as you type (for rm, stat, send, recv).\n" +
      "Example:\n  source <(dipc completions bash)",
    run: async (p) => {
      const shell = p.args[0] as string;
      if (!["bash", "zsh", "fish"].includes(shell)) {
        throw new UsageError(`no completions for ${JSON.stringify(shell)}: bash, zsh or fish`);
      }
      const { completionScript } = await import("./_completions.ts");
      const script = completionScript(COMMANDS, shell as "bash" | "zsh" | "fish");
      Deno.stdout.writeSync(new TextEncoder().encode(script));
    },
  },
];

const DESCRIPTION = "See, make, use and clean up every IPC object on this machine.";
const AFTER = "Exit codes: 0 success, 1 failure, 2 usage.\nObjects: /name (POSIX), a path (FIFO, " +
  "socket file), 0xKEY or key:N, id:N (System V), fd:N (send, recv).";

const out = (text: string): void => void Deno.stdout.writeSync(new TextEncoder().encode(text));

function find(name: string): CommandSpec {
  const c = COMMANDS.find((c) => c.name === name);
  if (!c) {
    const names = [...COMMANDS.map((c) => c.name), "help"];
    throw new UsageError(`unknown command ${JSON.stringify(name)}${suggestion(name, names)}`);
  }
  return c;
}

async function dispatch(args: readonly string[]): Promise<void> {
  const [first, ...rest] = args;
  if (first === undefined || first === "--help" || first === "-h") {
    return out(programHelp(COMMANDS, DESCRIPTION, AFTER));
  }
  if (first === "--version" || first === "-V") return void console.log(VERSION);
  if (first === "help") {
    if (rest.length === 0) return out(programHelp(COMMANDS, DESCRIPTION, AFTER));
    return out(commandHelp(find(rest[0] as string)));
  }
  if (first.startsWith("-")) {
    throw new UsageError(`unknown option ${first}: a command comes first (dipc --help)`);
  }
  const command = find(first);
  const parsed = parse(command, rest);
  if (parsed === "help") return out(commandHelp(command));
  await command.run(parsed);
}

/** Runs the command line `args`; returns the exit code (0, 1 failure, 2 usage). */
export async function main(args: string[]): Promise<number> {
  try {
    await dispatch(args);
    return 0;
  } catch (e) {
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
