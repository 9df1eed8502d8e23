// The dipc command's own argument parser: each command is a table (its arguments, its options, an
// example), parsed and explained from that one table, and the completion scripts are generated
// from it too. No npm package: resolving one cost every command about 30 ms before it did any
// work (commander was 40% of `dipc ls`).

import { printableLine } from "../src/_printable.ts";

/** A usage mistake: exit code 2, one line, no stack trace. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** A failure the command reports as such: exit code 1, one line. */
export class CommandError extends Error {
  override name = "CommandError";
}

/** An error's message as one line that is safe on a terminal. */
export function oneLine(e: unknown): string {
  return printableLine((e instanceof Error ? e.message : String(e)).split("\n")[0] ?? "");
}

/** What completes a value: a fixed list, object names the system has, or files. */
export type Completion =
  | readonly string[]
  | { objects: readonly string[] | "all" }
  | "files";

/** One option: `flags` as in "-k, --kind <kind>", "--json" or "-d, --dir <dirs...>". */
export interface OptionSpec {
  flags: string;
  description: string;
  /** The value when the option is not given. */
  default?: string;
  /** The only values accepted. */
  choices?: readonly string[];
  /** A value may be given more than once and as a comma list; they collect into an array. */
  list?: boolean;
  /** What completes its value (default: nothing). */
  complete?: Completion;
}

/** One positional argument: "<object>", "[name]", "[objects...]". */
export interface ArgumentSpec {
  name: string;
  description: string;
  complete?: Completion;
}

/** One subcommand. */
export interface CommandSpec {
  name: string;
  description: string;
  arguments: readonly ArgumentSpec[];
  options: readonly OptionSpec[];
  /** Shown after the options in `dipc help NAME`: at least one example. */
  help: string;
  /** Runs the command with what was parsed. */
  run(parsed: Parsed): Promise<void> | void;
}

/** A parsed command line: positional arguments and options by camelCase name. */
export interface Parsed {
  args: string[];
  options: Record<string, string | string[] | true>;
}

/** An option's parts, from its `flags`. */
export interface OptionParts {
  short?: string;
  long: string;
  /** camelCase key in {@linkcode Parsed.options}. */
  key: string;
  /** The value's name, when it takes one. */
  value?: string;
}

/** The parts of "-k, --kind <kind>". */
export function optionParts(o: OptionSpec): OptionParts {
  const m = /^(?:(-\w), )?(--[a-z][a-z0-9-]*)(?: <([a-z-]+)(?:\.\.\.)?>)?$/.exec(o.flags);
  if (!m || !m[2]) throw new Error(`bad option flags ${o.flags}`);
  const key = m[2].slice(2).replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  return {
    ...(m[1] ? { short: m[1] } : {}),
    long: m[2],
    key,
    ...(m[3] ? { value: m[3] } : {}),
  };
}

const HELP: OptionSpec = { flags: "-h, --help", description: "show this command's help" };

/** The edit distance of two short words (for "did you mean"). */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(
        (prev[j] ?? 0) + 1,
        (row[j - 1] ?? 0) + 1,
        (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

/** " (did you mean x?)" when one of `known` is close to `word`, else "". */
export function suggestion(word: string, known: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = distance(word, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(word.length / 3))
    ? ` (did you mean ${best}?)`
    : "";
}

/**
 * Parses `argv` (what follows the command's name) against `spec`: options anywhere, `--` ends
 * them, `--name=value` and `--name value`, `-k value` and `-kvalue`, short flags combined
 * (`-ny`). Throws {@linkcode UsageError} naming the mistake.
 */
export function parse(spec: CommandSpec, argv: readonly string[]): Parsed | "help" {
  const options: Parsed["options"] = {};
  const args: string[] = [];
  const all = [...spec.options.map((o) => ({ spec: o, parts: optionParts(o) }))];
  const byLong = new Map(all.map((o) => [o.parts.long, o]));
  const byShort = new Map(all.flatMap((o) => o.parts.short ? [[o.parts.short, o]] : []));
  const take = (o: (typeof all)[number], value: string | undefined, shown: string): void => {
    const { parts } = o;
    if (parts.value === undefined) {
      if (value !== undefined) throw new UsageError(`${shown} takes no value`);
      options[parts.key] = true;
      return;
    }
    if (value === undefined) throw new UsageError(`${shown} needs a value (<${parts.value}>)`);
    if (o.spec.choices && !o.spec.choices.includes(value)) {
      throw new UsageError(
        `${shown} ${JSON.stringify(value)} is not one of ${o.spec.choices.join(", ")}`,
      );
    }
    if (o.spec.list) {
      const prev = options[parts.key];
      options[parts.key] = [
        ...(Array.isArray(prev) ? prev : []),
        ...value.split(",").filter((v) => v !== ""),
      ];
    } else if (options[parts.key] !== undefined) {
      throw new UsageError(`${shown} given twice`);
    } else options[parts.key] = value;
  };
  let i = 0;
  let optionsEnd = false;
  const next = (): string | undefined => argv[++i];
  for (; i < argv.length; i++) {
    const a = argv[i] as string;
    if (optionsEnd || a === "-" || !a.startsWith("-")) {
      args.push(a);
      continue;
    }
    if (a === "--") {
      optionsEnd = true;
      continue;
    }
    if (a === "--help" || a === "-h") return "help";
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      const name = eq < 0 ? a : a.slice(0, eq);
      const o = byLong.get(name);
      if (!o) {
        throw new UsageError(
          `unknown option ${name} for ${spec.name}${
            suggestion(name, [...byLong.keys(), "--help"])
          }`,
        );
      }
      take(o, eq >= 0 ? a.slice(eq + 1) : o.parts.value ? next() : undefined, name);
      continue;
    }
    // Short options: -k value, -kvalue, -ny.
    for (let c = 1; c < a.length; c++) {
      const name = `-${a[c]}`;
      if (name === "-h") return "help";
      const o = byShort.get(name);
      if (!o) throw new UsageError(`unknown option ${name} for ${spec.name}`);
      if (o.parts.value === undefined) {
        take(o, undefined, name);
        continue;
      }
      take(o, c + 1 < a.length ? a.slice(c + 1) : next(), name);
      break;
    }
  }
  for (const o of all) {
    if (options[o.parts.key] === undefined && o.spec.default !== undefined) {
      options[o.parts.key] = o.spec.list ? [o.spec.default] : o.spec.default;
    }
  }
  const required = spec.arguments.filter((a) => a.name.startsWith("<")).length;
  const variadic = spec.arguments.some((a) => a.name.endsWith("...]") || a.name.endsWith("...>"));
  if (args.length < required) {
    const missing = spec.arguments[args.length]?.name ?? "an argument";
    throw new UsageError(`${spec.name} needs ${missing} (dipc help ${spec.name})`);
  }
  if (!variadic && args.length > spec.arguments.length) {
    throw new UsageError(
      `${spec.name} takes ${spec.arguments.length || "no"} argument${
        spec.arguments.length === 1 ? "" : "s"
      }, got ${JSON.stringify(args[spec.arguments.length])} too`,
    );
  }
  return { args, options };
}

function columns(rows: Array<[string, string]>): string {
  const w = Math.max(0, ...rows.map(([a]) => a.length));
  return rows.map(([a, b]) => `  ${a.padEnd(w)}  ${b}`).join("\n");
}

/** `dipc help NAME`. */
export function commandHelp(spec: CommandSpec): string {
  const usage = [
    `dipc ${spec.name}`,
    ...(spec.options.length > 0 ? ["[options]"] : []),
    ...spec.arguments.map((a) => a.name),
  ].join(" ");
  const args = spec.arguments.map((a): [string, string] => [a.name, a.description]);
  const opts = [...spec.options, HELP].map((o): [string, string] => [
    o.flags,
    o.description + (o.choices ? ` (${o.choices.join(", ")})` : "") +
    (o.default !== undefined ? ` (default: ${o.default})` : ""),
  ]);
  return [
    `Usage: ${usage}`,
    "",
    spec.description,
    ...(args.length > 0 ? ["", "Arguments:", columns(args)] : []),
    "",
    "Options:",
    columns(opts),
    "",
    spec.help.trim(),
    "",
  ].join("\n");
}

/** `dipc --help`. */
export function programHelp(
  commands: readonly CommandSpec[],
  description: string,
  after: string,
): string {
  const rows = commands.map((c): [string, string] => [
    [c.name, ...c.arguments.map((a) => a.name)].join(" "),
    c.description,
  ]);
  rows.push(["help [command]", "show a command's options and an example"]);
  return [
    "Usage: dipc [options] <command> [arguments]",
    "",
    description,
    "",
    "Options:",
    columns([["-V, --version", "print the version"], ["-h, --help", "show this help"]]),
    "",
    "Commands:",
    columns(rows),
    "",
    after.trim(),
    "",
  ].join("\n");
}
