// dipc bench, tour and worker: the commands that run other programs. Loaded only by those
// commands (cli/_program.ts).
import { CommandError, parseCount, parseSize, UsageError } from "./_refs.ts";

const enc = new TextEncoder();

/** dipc tour */
export function tour(): Promise<void> {
  return runTool("tour.ts", [], {});
}

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

/** dipc worker */
export async function worker(
  module: string,
  o: { nats?: string; name: string; concurrency: string },
): Promise<void> {
  if (o.nats === undefined) throw new UsageError("worker needs --nats <url> (dipc help worker)");
  const nats = o.nats;
  const concurrency = parseCount(o.concurrency, "--concurrency", 10_000);
  // Loaded only for this command: the NATS client is not part of any other.
  const { serveNatsTasks } = await import("../src/nats_pool.ts");
  const { taskModuleUrl } = await import("../src/_pool_common.ts");
  const url = taskModuleUrl(module);
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(sig, onSignal);
  try {
    console.error(`dipc worker: serving pool ${JSON.stringify(o.name)} from ${nats}`);
    await serveNatsTasks(nats, () => import(url), {
      name: o.name,
      concurrency,
      signal: stop.signal,
    });
  } finally {
    for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.removeSignalListener(sig, onSignal);
  }
}

/** dipc bench */
export async function bench(
  o: { transport?: string; size?: string[]; reps: string },
): Promise<void> {
  const sizes = (o.size ?? []).map((s) => parseSize(s, "--size"));
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
