/**
 * Test helpers for running other programs: C peers (compiled once a module), Python, util-linux,
 * another Deno, a child's first line, a bound on any wait, and the repository over HTTP.
 *
 * @module
 */

import { hasCommand, ROOT } from "../tools/_host.ts";

export { hasCommand } from "../tools/_host.ts";

/** What a finished command left. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

const decoder = new TextDecoder();

/** How long a child of a test may run before it is killed and the test fails, in ms. */
export const CHILD_BOUND_MS = 120_000;

/**
 * Runs a program to completion and captures its output. A program still running after
 * `boundMs` (default {@linkcode CHILD_BOUND_MS}) is killed and the call throws: a hung peer fails
 * its test in bounded time instead of hanging the suite.
 */
export async function run(
  cmd: string,
  args: string[],
  options: { env?: Record<string, string>; stdin?: string; boundMs?: number; cwd?: string } = {},
): Promise<RunResult> {
  const child = new Deno.Command(cmd, {
    args,
    ...(options.cwd ? { cwd: options.cwd } : {}),
    stdout: "piped",
    stderr: "piped",
    stdin: options.stdin === undefined ? "null" : "piped",
    ...(options.env ? { env: options.env } : {}),
  }).spawn();
  if (options.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(options.stdin));
    await w.close();
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // it has just exited
    }
  }, options.boundMs ?? CHILD_BOUND_MS);
  let out: Deno.CommandOutput;
  try {
    out = await child.output();
  } finally {
    clearTimeout(timer);
  }
  if (timedOut) {
    throw new Error(
      `${cmd} ${args.join(" ")} was still running after ${options.boundMs ?? CHILD_BOUND_MS} ms` +
        ` and was killed; its stderr:\n${decoder.decode(out.stderr).slice(-2000)}`,
    );
  }
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

/** Runs a program and throws with its stderr unless it exits 0; returns stdout. */
export async function runOk(
  cmd: string,
  args: string[],
  options: { env?: Record<string, string>; stdin?: string } = {},
): Promise<string> {
  const r = await run(cmd, args, options);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(" ")} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  }
  return r.stdout;
}

/** The test helpers' scratch directory (compiled C peers), made once per test module. */
let scratch: string | undefined;
function scratchDir(): string {
  if (scratch === undefined) {
    const dir = scratch = Deno.makeTempDirSync({ prefix: "dipc-test-" });
    // Removed when the module's tests are done: every test has finished with its binaries.
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
  }
  return scratch;
}

const compiled = new Map<string, string>();

/** Whether gcc is here; C interop tests are skipped (visibly) without it. */
export const HAVE_GCC: boolean = hasCommand("gcc");

/**
 * Compiles a C program once per run and returns the binary's path. Callers check
 * {@linkcode HAVE_GCC} first.
 */
export async function compileC(name: string, source: string): Promise<string> {
  const key = `${name}\0${source}`;
  const done = compiled.get(key);
  if (done) return done;
  const dir = scratchDir();
  await Deno.writeTextFile(`${dir}/${name}.c`, source);
  await runOk("gcc", ["-O2", "-Wall", "-o", `${dir}/${name}`, `${dir}/${name}.c`, "-lrt"]);
  compiled.set(key, `${dir}/${name}`);
  return `${dir}/${name}`;
}

/** Compiles tests/c/NAME.c once per run and returns the binary's path. */
export function compileTestC(name: string): Promise<string> {
  return compileC(name, Deno.readTextFileSync(`${ROOT}tests/c/${name}.c`));
}

/** Debian's Python 3 (with Debian's packages); the one first on PATH may differ. */
export const PYTHON: string = (() => {
  try {
    Deno.statSync("/usr/bin/python3");
    return "/usr/bin/python3";
  } catch {
    return "python3";
  }
})();

/** Whether Python 3 is here. */
export const HAVE_PYTHON: boolean = hasCommand(PYTHON);

/** Whether Debian's Python has `sysv_ipc` (package python3-sysv-ipc). */
export const HAVE_SYSV_IPC: boolean = HAVE_PYTHON &&
  new Deno.Command(PYTHON, { args: ["-c", "import sysv_ipc"], stderr: "null" }).outputSync()
    .success;

/** Runs a Python snippet with arguments; throws unless it exits 0; returns stdout. */
export function python(code: string, ...args: string[]): Promise<string> {
  return runOk(PYTHON, ["-c", code, ...args]);
}

/**
 * Runs a Deno script (a file under tests/fixtures or an absolute path) as a separate process
 * with `--allow-ffi`, optionally under `setpriv` to drop privileges.
 */
export function runDeno(
  script: string,
  args: string[],
  options: { setpriv?: string[]; allow?: string[] } = {},
): Promise<RunResult> {
  const deno = ["run", "--quiet", "--allow-ffi", ...(options.allow ?? []), script, ...args];
  if (options.setpriv) return run("setpriv", [...options.setpriv, "--", Deno.execPath(), ...deno]);
  return run(Deno.execPath(), deno);
}

/** Whether this process can drop capabilities with setpriv (root with CAP_SETPCAP). */
export const CAN_DROP_CAPS: boolean = hasCommand("setpriv") &&
  new Deno.Command("setpriv", { args: ["--bounding-set=-all", "--", "true"], stderr: "null" })
    .outputSync().success;

/** The first line a child writes to its piped stdout (read as it comes; the rest is left). */
export async function firstLine(
  child: Deno.ChildProcess,
  boundMs: number = 60_000,
): Promise<string> {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const timer = setTimeout(() => {
    // A child that never says its first line (hung, or stuck before it): fail, don't hang.
    try {
      child.kill("SIGKILL");
    } catch {
      // gone already
    }
  }, boundMs);
  try {
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
  return text.trim();
}

/**
 * Resolves what `promise` resolves, or rejects once `ms` pass first: every wait on another
 * process or on the wait core has a bound, so a hang fails the test instead of freezing it.
 */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not settled within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Serves this repository over HTTP on loopback, as a web server would serve a tagged tree (for
 * the tests that import or install dipc by URL). Close it with `await using`.
 */
export function serveRepository(): { host: string } & AsyncDisposable {
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    async (req) => {
      const path = decodeURIComponent(new URL(req.url).pathname);
      if (path.includes("..")) return new Response("no", { status: 403 });
      try {
        // As a code host serves them: JSON as JSON (the command imports deno.json for its version).
        const type = path.endsWith(".json") ? "application/json" : "application/typescript";
        return new Response(await Deno.readFile(`${ROOT}${path.slice(1)}`), {
          headers: { "content-type": type },
        });
      } catch {
        return new Response("not found", { status: 404 });
      }
    },
  );
  return {
    host: `127.0.0.1:${server.addr.port}`,
    [Symbol.asyncDispose]: async () => {
      ac.abort();
      await server.finished;
    },
  };
}
