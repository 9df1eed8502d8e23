// Shell completion scripts for the dipc command, generated from its command table (so they never
// drift from what the commands accept): subcommands, their options, option values, positional
// arguments (the kinds `mk` makes, not every kind), and object names, which the script asks
// `dipc ls --noheadings --output ref` for as the user types.
import { type ArgumentSpec, type CommandSpec, type Completion, optionParts } from "./_args.ts";

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The ls arguments that list object references, of `kinds` ("all": every kind). */
function lsArgs(kinds: readonly string[] | "all"): string {
  return `ls --noheadings --notruncate --output ref${
    kinds === "all" ? "" : ` --kind ${kinds.join(",")}`
  }`;
}

/** The completion of positional argument `n` (the last variadic one repeats). */
function argumentAt(args: readonly ArgumentSpec[], n: number): Completion | undefined {
  const last = args.at(-1);
  if (n < args.length) return args[n]?.complete;
  return last && last.name.endsWith("...]") ? last.complete : undefined;
}

function bashValues(c: Completion | undefined): string {
  if (c === undefined) return "COMPREPLY=()";
  if (c === "files") return `COMPREPLY=( $(compgen -f -- "$cur") )`;
  if (Array.isArray(c)) return `COMPREPLY=( $(compgen -W ${quote(c.join(" "))} -- "$cur") )`;
  const kinds = (c as { objects: readonly string[] | "all" }).objects;
  return `COMPREPLY=( $(compgen -W "$("\${COMP_WORDS[0]}" ${
    lsArgs(kinds)
  } 2>/dev/null)" -- "$cur") )`;
}

function bash(commands: readonly CommandSpec[]): string {
  const fns = commands.map((c) => {
    const opts = c.options.map((o) => ({ spec: o, parts: optionParts(o) }));
    const words = [...opts.flatMap((o) => [o.parts.long, o.parts.short ?? []].flat()), "--help"];
    const valued = opts.filter((o) => o.parts.value !== undefined);
    const valueCases = valued.map((o) =>
      `    ${[o.parts.short, o.parts.long].filter(Boolean).join("|")}) ${
        bashValues(o.spec.complete)
      }; return 0 ;;`
    ).join("\n");
    const skip = valued.flatMap((o) => [o.parts.short, o.parts.long]).filter(Boolean).join("|");
    const positional = c.arguments.map((_, i) => i);
    if (c.arguments.at(-1)?.name.endsWith("...]")) positional.push(c.arguments.length);
    const argCases = positional.map((i) =>
      `    ${i === c.arguments.length ? "*" : i}) ${bashValues(argumentAt(c.arguments, i))} ;;`
    ).join("\n");
    return `_dipc_${c.name.replace(/-/g, "_")}() {
  case "$prev" in
${valueCases || "    --) ;;"}
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W ${quote(words.join(" "))} -- "$cur") ); return 0
  fi
  local i n=0 w
  for (( i = 2; i < COMP_CWORD; i++ )); do
    w="\${COMP_WORDS[i]}"
    case "$w" in
${skip ? `      ${skip}) (( i++ )) ;;\n` : ""}      -*) ;;
      *) (( n++ )) ;;
    esac
  done
  case "$n" in
${argCases || "    *) COMPREPLY=() ;;"}
    *) COMPREPLY=() ;;
  esac
  return 0
}`;
  }).join("\n");
  const names = commands.map((c) => c.name);
  return `# bash completion for dipc: source <(dipc completions bash)
${fns}
_dipc() {
  local cur prev cmd
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  cmd="\${COMP_WORDS[1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W ${quote(`${names.join(" ")} help --help --version`)} -- "$cur") )
    return 0
  fi
  case "$cmd" in
${commands.map((c) => `    ${c.name}) _dipc_${c.name.replace(/-/g, "_")} ;;`).join("\n")}
    help) COMPREPLY=( $(compgen -W ${quote(names.join(" "))} -- "$cur") ) ;;
    *) COMPREPLY=() ;;
  esac
  return 0
}
complete -F _dipc dipc
`;
}

function zshAction(c: Completion | undefined): string {
  if (c === undefined) return " ";
  if (c === "files") return "_files";
  if (Array.isArray(c)) return `(${c.join(" ")})`;
  const kinds = (c as { objects: readonly string[] | "all" }).objects;
  return `_dipc_objects ${kinds === "all" ? "" : kinds.join(",")}`.trimEnd();
}

function zsh(commands: readonly CommandSpec[]): string {
  const subs = commands.map((c) =>
    `    ${quote(`${c.name}:${c.description.replace(/:/g, "\\:")}`)}`
  )
    .join("\n");
  const cases = commands.map((c) => {
    const specs = c.options.map((o) => {
      const p = optionParts(o);
      const names = [p.short, p.long].filter(Boolean) as string[];
      const desc = o.description.replace(/[[\]:'\\]/g, " ");
      const value = p.value === undefined ? "" : `:${p.value}:${zshAction(o.complete)}`;
      const repeat = o.list ? "*" : "";
      return names.length > 1
        ? `'${repeat}(${names.join(" ")})'{${names.join(",")}}'[${desc}]${value}'`
        : `'${repeat}${names[0]}[${desc}]${value}'`;
    });
    specs.push("'(- *)'{-h,--help}'[show help]'");
    c.arguments.forEach((a, i) => {
      const label = a.name.replace(/[<>[\].]/g, "");
      const action = zshAction(a.complete);
      specs.push(
        a.name.endsWith("...]") ? `'*:${label}:${action}'` : `'${i + 1}:${label}:${action}'`,
      );
    });
    return `    ${c.name})\n      _arguments \\\n${
      specs.map((s) => `        ${s}`).join(" \\\n")
    } ;;`;
  }).join("\n");
  return `#compdef dipc
# zsh completion for dipc: dipc completions zsh > "\${fpath[1]}/_dipc"
_dipc_objects() {
  local -a refs
  if [[ -n "$1" ]]; then
    refs=(\${(f)"$(dipc ${lsArgs("all")} --kind "$1" 2>/dev/null)"})
  else
    refs=(\${(f)"$(dipc ${lsArgs("all")} 2>/dev/null)"})
  fi
  compadd -a refs
}
_dipc() {
  local -a subcommands
  subcommands=(
${subs}
  )
  if (( CURRENT == 2 )); then
    _describe 'command' subcommands
    return
  fi
  shift words
  (( CURRENT-- ))
  case "$words[1]" in
${cases}
  esac
}
compdef _dipc dipc
`;
}

function fishValues(c: Completion | undefined): string {
  if (c === undefined) return "";
  if (c === "files") return "-F";
  if (Array.isArray(c)) return `-a ${quote(c.join(" "))}`;
  const kinds = (c as { objects: readonly string[] | "all" }).objects;
  return `-a ${quote(`(dipc ${lsArgs(kinds)} 2>/dev/null)`)}`;
}

function fish(commands: readonly CommandSpec[]): string {
  const lines = [
    "# fish completion for dipc: dipc completions fish > ~/.config/fish/completions/dipc.fish",
    "complete -c dipc -f",
  ];
  for (const c of commands) {
    lines.push(
      `complete -c dipc -n __fish_use_subcommand -a ${c.name} -d ${quote(c.description)}`,
    );
    const when = `-n '__fish_seen_subcommand_from ${c.name}'`;
    for (const o of c.options) {
      const p = optionParts(o);
      const parts = [`complete -c dipc ${when}`, `-l ${p.long.slice(2)}`];
      if (p.short) parts.push(`-s ${p.short.slice(1)}`);
      if (p.value !== undefined) {
        parts.push(
          o.complete === undefined
            ? "-r"
            : o.complete === "files"
            ? "-r -F"
            : `-x ${fishValues(o.complete)}`,
        );
      }
      parts.push(`-d ${quote(o.description)}`);
      lines.push(parts.join(" "));
    }
    // Positional values: the first argument's, and a variadic last one's.
    const first = c.arguments[0]?.complete;
    if (first !== undefined) lines.push(`complete -c dipc ${when} ${fishValues(first)}`);
  }
  return lines.join("\n") + "\n";
}

/** The completion script for `shell`. */
export function completionScript(
  commands: readonly CommandSpec[],
  shell: "bash" | "zsh" | "fish",
): string {
  return shell === "bash" ? bash(commands) : shell === "zsh" ? zsh(commands) : fish(commands);
}
