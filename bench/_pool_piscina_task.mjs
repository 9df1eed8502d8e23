// deno-lint-ignore-file explicit-function-return-type explicit-module-boundary-types -- plain Node JavaScript
// The task of bench/_pool_piscina.mjs (piscina runs one exported function).
import { threadId } from "node:worker_threads";
export default function ({ op, v }) {
  if (op === "tid") return threadId;
  if (op === "echo") return v;
  if (op === "length") {
    const b = v instanceof SharedArrayBuffer ? new Uint8Array(v) : v;
    return b.length + b[0];
  }
  return undefined;
}
