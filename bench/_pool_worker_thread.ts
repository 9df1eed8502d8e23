// A Deno Worker (a thread) of the Worker pool in bench/_pool_peers.ts: runs bench/_pool_tasks.ts.
import * as tasks from "./_pool_tasks.ts";

const table = tasks as unknown as Record<string, (...a: unknown[]) => unknown>;
self.onmessage = (e: MessageEvent<[number, string, unknown[]]>) => {
  const [id, name, args] = e.data;
  const fn = table[name];
  const value = fn?.(...args.map((a) => a instanceof SharedArrayBuffer ? new Uint8Array(a) : a));
  self.postMessage([id, value]);
};
