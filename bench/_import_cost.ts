/**
 * What importing dipc costs a program: `deno run` of a program that imports mod.ts (or one entry
 * point) against an empty program, alternating, 15 runs each, medians. The programs are written
 * to a temporary directory and run with `--allow-ffi` (nothing else), as a user would.
 *
 * Run: deno run -A bench/_import_cost.ts
 *
 * @module
 */

import { median } from "./_measure.ts";

import { ROOT as ROOT_PATH } from "../tools/_host.ts";

const ROOT = new URL(`file://${ROOT_PATH}`);
const programs: Record<string, string> = {
  "an empty program": "",
  "import * from mod.ts": `import * as dipc from "${new URL("mod.ts", ROOT).href}"; void dipc;`,
  "import { RingChannel } from @dipc/dipc/ring": `import { RingChannel } from "${
    new URL("src/ring.ts", ROOT).href
  }"; void RingChannel;`,
  "import { ProcessPool } from @dipc/dipc/pool": `import { ProcessPool } from "${
    new URL("src/pool.ts", ROOT).href
  }"; void ProcessPool;`,
  "mod.ts, and one call (RingChannel.temporary)": `import { RingChannel } from "${
    new URL("mod.ts", ROOT).href
  }"; RingChannel.temporary({ capacity: 4096 }).close();`,
};
const dir = await Deno.makeTempDir({ prefix: "dipc-import-" });
try {
  const files: Record<string, string> = {};
  for (const [name, text] of Object.entries(programs)) {
    files[name] = `${dir}/${Object.keys(files).length}.ts`;
    await Deno.writeTextFile(files[name], text + "\n");
  }
  const times: Record<string, number[]> = {};
  const run = async (file: string): Promise<number> => {
    const t = performance.now();
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", "--allow-ffi", file],
      stdout: "null",
      stderr: "inherit",
    }).output();
    if (!out.success) throw new Error(`${file} failed`);
    return performance.now() - t;
  };
  for (const f of Object.values(files)) await run(f); // compile caches warm
  for (let i = 0; i < 15; i++) {
    for (const [name, f] of Object.entries(files)) (times[name] ??= []).push(await run(f));
  }
  const empty = median(times["an empty program"] ?? []);
  console.log("| `deno run`, median of 15 | ms | over an empty program |\n|---|---:|---:|");
  for (const name of Object.keys(programs)) {
    const m = median(times[name] ?? []);
    console.log(
      `| ${name} | ${m.toFixed(1)} | ${
        name === "an empty program" ? "" : `+${(m - empty).toFixed(1)} ms`
      } |`,
    );
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
