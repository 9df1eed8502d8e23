/**
 * 36 · A CPU-heavy map over a process pool, with a progress line
 *
 * The job most pools are for: the same work on many inputs. Each task reads one file of this
 * repository and hashes it a thousand times over with SHA-256 (a stand-in for real work:
 * thumbnails, compression, parsing). The workers may read this repository and nothing else
 * (`permissions: { read: [root] }`); results come back as they finish (`ordered: false`), and a
 * progress line counts them. The same work in this one process is timed for comparison: with
 * more than one CPU, the pool finishes sooner.
 *
 * Run: deno run --allow-ffi --allow-read examples/36_pool_map.ts
 *
 * @module
 */

import { ProcessPool } from "../mod.ts";

const ROUNDS = 1000;

/** The task: the file's SHA-256, taken `ROUNDS` times over (hex). */
export async function hashFile(path: string): Promise<{ path: string; hex: string }> {
  let digest: ArrayBuffer = (await Deno.readFile(path)).buffer;
  for (let i = 0; i < ROUNDS; i++) digest = await crypto.subtle.digest("SHA-256", digest);
  const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return { path, hex };
}

if (import.meta.main) {
  const root = new URL("..", import.meta.url).pathname;
  const files = [...Deno.readDirSync(`${root}src`)]
    .filter((e) => e.isFile && e.name.endsWith(".ts"))
    .map((e) => `${root}src/${e.name}`)
    .sort();
  await using pool = ProcessPool.create(import.meta.url, { permissions: { read: [root] } });
  await pool.ready({ timeout: 30_000 });

  const t0 = performance.now();
  const byPool = new Map<string, string>();
  const tty = Deno.stdout.isTerminal();
  for await (
    const r of pool.map<{ path: string; hex: string }>("hashFile", files, { ordered: false })
  ) {
    byPool.set(r.path, r.hex);
    const line = `hashed ${byPool.size}/${files.length} files`;
    if (tty) Deno.stdout.writeSync(new TextEncoder().encode(`\r${line}`));
    else if (byPool.size % 10 === 0 || byPool.size === files.length) console.log(line);
  }
  if (tty) console.log();
  const poolMs = performance.now() - t0;

  const t1 = performance.now();
  let same = 0;
  for (const f of files) if ((await hashFile(f)).hex === byPool.get(f)) same++;
  const oneMs = performance.now() - t1;

  const first = byPool.get(files[0] ?? "")?.slice(0, 16);
  console.log(`${files[0]?.slice(root.length)}: ${first}…`);
  console.log(`${same} of ${files.length} digests equal to this process's own`);
  console.log(
    `pool of ${pool.size}: ${poolMs.toFixed(0)} ms; one process, a file after another: ${
      oneMs.toFixed(0)
    } ms ` +
      `(${(oneMs / poolMs).toFixed(1)}× with ${navigator.hardwareConcurrency} CPUs)`,
  );
}
