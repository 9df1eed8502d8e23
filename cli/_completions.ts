// Shell completion scripts for the dipc command, generated from its command tree (so they never
// drift from the options the command takes): subcommands, their options, and the kinds.
import type { Command } from "npm:@commander-js/extra-typings@14.0.0";
import { IPC_KINDS } from "../mod.ts";

interface Spec {
  name: string;
  description: string;
  options: Array<{ long?: string; short?: string; description: string; takesValue: boolean }>;
}

function specs(program: Command): Spec[] {
  return program.commands.map((c) => ({
    name: c.name(),
    description: c.description(),
    options: c.options.map((o) => ({
      ...(o.long ? { long: o.long } : {}),
      ...(o.short ? { short: o.short } : {}),
      description: o.description,
      takesValue: o.required || o.optional,
    })),
  }));
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The completion script for `shell`. */
export function completionScript(program: Command, shell: "bash" | "zsh" | "fish"): string {
  const cmds = specs(program);
  const kinds = IPC_KINDS.join(" ");
  if (shell === "bash") {
    const cases = cmds.map((c) => {
      const words = c.options.flatMap((o) => [o.long, o.short]).filter(Boolean).join(" ");
      return `    ${c.name}) opts=${quote(`${words} --help`)} ;;`;
    }).join("\n");
    return `# bash completion for dipc: source <(dipc completions bash)
_dipc() {
  local cur prev cmd opts
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  cmd="\${COMP_WORDS[1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W ${
      quote(`${cmds.map((c) => c.name).join(" ")} help --help --version`)
    } -- "$cur") )
    return 0
  fi
  case "$prev" in
    -k|--kind) COMPREPLY=( $(compgen -W ${quote(kinds)} -- "$cur") ); return 0 ;;
  esac
  if [ "$cmd" = mk ] && [ "$COMP_CWORD" -eq 2 ]; then
    COMPREPLY=( $(compgen -W ${quote(kinds)} -- "$cur") ); return 0
  fi
  if [ "$cmd" = completions ]; then
    COMPREPLY=( $(compgen -W 'bash zsh fish' -- "$cur") ); return 0
  fi
  case "$cmd" in
${cases}
    *) opts='' ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
  else
    COMPREPLY=( $(compgen -f -- "$cur") )
  fi
}
complete -F _dipc dipc
`;
  }
  if (shell === "zsh") {
    const subs = cmds.map((c) => `    ${quote(`${c.name}:${c.description.replace(/:/g, "\\:")}`)}`)
      .join("\n");
    const cases = cmds.map((c) => {
      const args = c.options.map((o) => {
        const names = [o.short, o.long].filter(Boolean) as string[];
        const desc = o.description.replace(/[[\]:']/g, " ");
        const value = o.takesValue ? (o.long === "--kind" ? `:kind:(${kinds})` : ":value:") : "";
        const spec = names.length > 1
          ? `'(${names.join(" ")})'{${names.join(",")}}'[${desc}]${value}'`
          : `'${names[0]}[${desc}]${value}'`;
        return `        ${spec}`;
      }).join(" \\\n");
      return `    ${c.name})\n      _arguments \\\n${
        args || "        '--help[help]'"
      } \\\n        '*:object:_files' ;;`;
    }).join("\n");
    return `#compdef dipc
# zsh completion for dipc: dipc completions zsh > "\${fpath[1]}/_dipc"
_dipc() {
  local -a subcommands
  subcommands=(
${subs}
  )
  if (( CURRENT == 2 )); then
    _describe 'command' subcommands
    return
  fi
  case "$words[2]" in
${cases}
  esac
}
compdef _dipc dipc
`;
  }
  const lines = [
    "# fish completion for dipc: dipc completions fish > ~/.config/fish/completions/dipc.fish",
    "complete -c dipc -f",
  ];
  for (const c of cmds) {
    lines.push(
      `complete -c dipc -n __fish_use_subcommand -a ${c.name} -d ${quote(c.description)}`,
    );
    for (const o of c.options) {
      const parts = [`complete -c dipc -n '__fish_seen_subcommand_from ${c.name}'`];
      if (o.long) parts.push(`-l ${o.long.replace(/^--/, "")}`);
      if (o.short) parts.push(`-s ${o.short.replace(/^-/, "")}`);
      if (o.takesValue) parts.push(o.long === "--kind" ? `-x -a ${quote(kinds)}` : "-r");
      parts.push(`-d ${quote(o.description)}`);
      lines.push(parts.join(" "));
    }
  }
  lines.push(`complete -c dipc -n '__fish_seen_subcommand_from mk' -a ${quote(kinds)}`);
  lines.push(`complete -c dipc -n '__fish_seen_subcommand_from completions' -a 'bash zsh fish'`);
  return lines.join("\n") + "\n";
}
