// deno-lint-ignore-file explicit-function-return-type -- plain Node JavaScript
// The pool rows of bench/_pool_peers.ts for Node: piscina (worker threads).
// usage: node _pool_piscina.mjs PISCINA_DIR WORKERS  -> RESULT lines
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
const [dir, workersArg] = process.argv.slice(2);
const require = createRequire(`${dir}/node_modules/`);
const { Piscina } = require("piscina");
const workers = Number(workersArg);
const filename = fileURLToPath(new URL("./_pool_piscina_task.mjs", import.meta.url));
const t0 = performance.now();
const pool = new Piscina({ filename, minThreads: workers, maxThreads: workers });
const seen = new Set();
while (seen.size < workers) {
  for (
    const p of await Promise.all(Array.from({ length: workers * 4 }, () => pool.run({ op: "tid" })))
  ) seen.add(p);
}
console.log(`RESULT row=startup ms=${(performance.now() - t0).toFixed(1)}`);
async function rate(n, arg) {
  const t = performance.now();
  await Promise.all(Array.from({ length: n }, () => pool.run(arg)));
  return n / (performance.now() - t) * 1000;
}
await rate(20000, { op: "empty" }); // warm-up, as bench/_pool_deno.ts
console.log(`RESULT row=empty per_s=${(await rate(20000, { op: "empty" })).toFixed(0)}`);
console.log(
  `RESULT row=4k per_s=${(await rate(10000, { op: "echo", v: new Uint8Array(4096) })).toFixed(0)}`,
);
console.log(
  `RESULT row=1m-copied per_s=${
    (await rate(300, { op: "length", v: new Uint8Array(1 << 20) })).toFixed(0)
  }`,
);
const sab = new SharedArrayBuffer(1 << 20);
console.log(
  `RESULT row=1m-shared per_s=${(await rate(10000, { op: "length", v: sab })).toFixed(0)}`,
);
await pool.destroy();
