// A Deno Worker (a thread) of the Worker pool in bench/_pool_peers.ts: runs bench/_pool_tasks.ts.
import * as tasks from "./_pool_tasks.ts";

const table = tasks as unknown as Record<string, (...a: unknown[]) => unknown>;
// A Worker's global scope, typed here (the default lib types `self` as a window).
const scope = self as unknown as {
  onmessage: ((e: MessageEvent<[number, string, unknown[]]>) => void) | null;
  postMessage(m: unknown): void;
};
scope.onmessage = (e) => {
  const [id, name, args] = e.data;
  const fn = table[name];
  const value = fn?.(...args.map((a) => a instanceof SharedArrayBuffer ? new Uint8Array(a) : a));
  scope.postMessage([id, value]);
};
