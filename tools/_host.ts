/**
 * What this machine has, asked one way for the tools and the tests.
 *
 * @module
 */

/** Whether `cmd` is a program on the PATH (or a path to one), as `sh`'s `command -v` finds. */
export function hasCommand(cmd: string): boolean {
  return new Deno.Command("sh", { args: ["-c", `command -v ${cmd}`], stdout: "null" })
    .outputSync().success;
}

/** A file of `/proc/PID/…`, trimmed; "?" when it cannot be read (gone, not permitted). */
function procFile(pid: number | "self", file: string): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/${file}`).trim();
  } catch {
    return "?";
  }
}

/** The pids of `pid`'s children (every thread's), from /proc. */
export function childrenOf(pid: number): number[] {
  const found: number[] = [];
  try {
    for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
      const list = procFile(pid, `task/${t.name}/children`);
      for (const c of list === "?" ? [] : list.split(/\s+/).filter(Boolean)) found.push(Number(c));
    }
  } catch {
    // gone meanwhile
  }
  return found;
}

/** `pid`'s command line, spaces between its arguments (cut at 200 characters). */
export function commandOf(pid: number): string {
  return procFile(pid, "cmdline").split("\0").join(" ").trim().slice(0, 200);
}

/** One line a thread of `pid`: its id, name, state and the kernel function it waits in. */
export function threadLines(pid: number, pad: string): string[] {
  const lines: string[] = [];
  try {
    for (const t of Deno.readDirSync(`/proc/${pid}/task`)) {
      const stat = procFile(pid, `task/${t.name}/stat`);
      const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0] ?? "?";
      lines.push(
        `${pad}thread ${t.name} ${procFile(pid, `task/${t.name}/comm`)}: state ${state}, in ` +
          procFile(pid, `task/${t.name}/wchan`),
      );
    }
  } catch {
    lines.push(`${pad}(threads unreadable)`);
  }
  return lines;
}

/**
 * What `pid` and its descendants are blocked in: a line a process (its command line) and one a
 * thread, indented by depth; what a watchdog prints about a step that passed its bound.
 */
export function blockedIn(pid: number, depth = 1): string[] {
  const pad = "  ".repeat(depth);
  return [
    `${pad}process ${pid}: ${commandOf(pid)}`,
    ...threadLines(pid, `${pad}  `),
    ...childrenOf(pid).flatMap((c) => blockedIn(c, depth + 1)),
  ];
}
