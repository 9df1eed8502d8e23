/**
 * A private nats-server (Debian's package) on a free loopback port, for the tests and the
 * benchmark suite: JetStream with its store in a temporary directory, so the caller can kill it
 * and start it again on the same port with the same store.
 *
 * @module
 */

import { hasCommand } from "./_host.ts";

/** Where nats-server is, or undefined when it is not installed. */
export const NATS_SERVER: string | undefined = ["nats-server", "/usr/sbin/nats-server"].find(
  hasCommand,
);

/** A running server: its address, and how to kill and restart it (same port, same store). */
export interface NatsServer extends AsyncDisposable {
  url: string;
  kill(): Promise<void>;
  start(): Promise<void>;
}

/**
 * Starts a server and waits (at most 5 s) until it accepts connections.
 *
 * @param options `maxPayload`: the largest message, bytes (the server's default is 1 MiB)
 * @throws when nats-server is not installed or does not start
 */
export async function natsServer(options: { maxPayload?: number } = {}): Promise<NatsServer> {
  if (NATS_SERVER === undefined) throw new Error("nats-server is not installed");
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const dir = await Deno.makeTempDir({ prefix: "dipc-nats-" });
  await Deno.writeTextFile(
    `${dir}/nats.conf`,
    options.maxPayload === undefined ? "" : `max_payload: ${options.maxPayload}\n`,
  );
  let child: Deno.ChildProcess | undefined;
  const start = async (): Promise<void> => {
    child = new Deno.Command(NATS_SERVER as string, {
      args: ["-c", `${dir}/nats.conf`, "-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dir],
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
      await Deno.remove(dir, { recursive: true });
    },
  };
}
