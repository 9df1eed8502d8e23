// A nats-server of the test's own (Debian's package), on a free loopback port with JetStream
// and a store in a temporary directory, so a test can kill and restart it.
import { hasCommand } from "./_helpers.ts";

/** Where nats-server is, or undefined (the NATS tests then skip, saying so). */
export const NATS_SERVER: string | undefined = [
  "nats-server",
  "/usr/sbin/nats-server",
  "/usr/bin/nats-server",
]
  .find((c) => c.startsWith("/") ? exists(c) : hasCommand(c));

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A running server: its address, and how to kill and restart it (same port, same store). */
export interface NatsServer extends AsyncDisposable {
  url: string;
  kill(): Promise<void>;
  start(): Promise<void>;
}

/** Starts a server and waits (bounded) until it accepts connections. */
export async function natsServer(): Promise<NatsServer> {
  if (NATS_SERVER === undefined) throw new Error("nats-server is not installed");
  const port = freePort();
  const store = await Deno.makeTempDir({ prefix: "dipc-nats-" });
  let child: Deno.ChildProcess | undefined;
  const start = async (): Promise<void> => {
    child = new Deno.Command(NATS_SERVER as string, {
      args: ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", store],
      stdout: "null",
      stderr: "null",
    }).spawn();
    for (let i = 0;; i++) {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port })).close();
        return;
      } catch (e) {
        if (i > 200) throw new Error(`nats-server did not start on port ${port}: ${e}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    }
  };
  const kill = async (): Promise<void> => {
    if (child === undefined) return;
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
    child = undefined;
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    kill,
    start,
    [Symbol.asyncDispose]: async () => {
      await kill();
      await Deno.remove(store, { recursive: true });
    },
  };
}
