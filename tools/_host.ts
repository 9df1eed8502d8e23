/**
 * What this machine has, asked one way for the tools and the tests.
 *
 * @module
 */

import { readProcText } from "../ffi/util.ts";

/** The repository root, as a path ending in "/": the one place it is worked out. */
export const ROOT: string = new URL("..", import.meta.url).pathname;

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

/**
 * A file of `/proc`, or "" when it cannot be read. Read through FFI: Deno 2.9 wants --allow-all
 * for `/proc/loadavg` and `/proc/stat` even with --allow-read (the callers have --allow-ffi).
 */
function procText(file: string): string {
  try {
    return readProcText(`/proc/${file}`);
  } catch {
    return "";
  }
}

/** The one-minute load average (`/proc/loadavg`); NaN when it cannot be read. */
export function loadAverage(): number {
  return Number(procText("loadavg").split(/\s+/)[0] || NaN);
}

/** Total and idle jiffies of every CPU together (`/proc/stat`'s first line). */
function cpuJiffies(): { total: number; idle: number } {
  const first = procText("stat").split("\n")[0] ?? "";
  const f = first.split(/\s+/).slice(1).map(Number);
  const idle = (f[3] ?? 0) + (f[4] ?? 0); // idle + iowait
  return { total: f.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0), idle };
}

/** What {@linkcode waitForQuiet} found before a measurement. */
export interface Quiet {
  /** The one-minute load average when it returned. */
  load: number;
  /** The share of CPU time idle in the last window it measured (0 to 1). */
  idle: number;
  /** Whether that window was idle enough (false: it gave up waiting). */
  quiet: boolean;
}

/**
 * Waits until the machine is quiet: a window of `windowMs` in which every CPU together was at
 * least `idleShare` idle (the one-minute load average lags a minute behind, and counts the
 * measurement that just ended); gives up after `maxMs`, saying so.
 */
export async function waitForQuiet(
  { windowMs = 250, idleShare = 0.9, maxMs = 60_000 } = {},
): Promise<Quiet> {
  const until = Date.now() + maxMs;
  for (;;) {
    const a = cpuJiffies();
    await new Promise((r) => setTimeout(r, windowMs));
    const b = cpuJiffies();
    const idle = b.total > a.total ? (b.idle - a.idle) / (b.total - a.total) : 1;
    if (idle >= idleShare || Date.now() >= until) {
      return { load: loadAverage(), idle, quiet: idle >= idleShare };
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}
