/**
 * 30 · Files as IPC, and why they are not real-time: polling against change notification
 *
 * The simplest IPC needs no kernel object at all: one process appends records to a file, the
 * other reads them. But the reader must find out that something was written. Polling (look at
 * the file's size every 25 ms) finds a record only at its next look, so each record waits half
 * the interval on average, and an idle reader still wakes 40 times a second; change
 * notification (inotify, dipc's `FileWatcher`) wakes the reader when the write happens. A writer
 * process appends ten stamped records at uneven intervals, once for each reader; the reader
 * prints how late it saw each. Records are whole lines appended under an exclusive lock on the
 * file (`LockFile`), so a reader never takes half a record.
 *
 * Run: deno run --allow-ffi --allow-read --allow-write examples/30_file_ipc.ts
 *
 * @module
 */

import { FileWatcher, LockFile, spawnDeno } from "../mod.ts";

const RECORDS = 10;
const POLL_MS = 25;
const now = (): number => performance.timeOrigin + performance.now(); // one clock for both

if (Deno.args[0] === "writer") {
  const path = Deno.args[1] ?? "";
  using lock = LockFile.open(path, { create: false });
  for (let i = 1; i <= RECORDS; i++) {
    await new Promise((r) => setTimeout(r, 7 + (i * 13) % 31)); // uneven gaps
    using _held = await lock.lock({ timeout: 10_000 });
    Deno.writeTextFileSync(path, `${i} ${now().toFixed(3)}\n`, { append: true });
  }
} else {
  const dir = await Deno.makeTempDir({ prefix: "dipc-example-" });
  try {
    for (const how of ["polling every 25 ms", "change notification"]) {
      const path = `${dir}/records.txt`;
      Deno.writeTextFileSync(path, "");
      using lock = LockFile.open(path, { create: false });
      using watcher = FileWatcher.watch(path);
      await using writer = spawnDeno(import.meta.url, {
        args: ["writer", path],
        permissions: { ffi: true, read: [dir], write: [dir] },
      });
      const lags: number[] = [];
      let seen = 0;
      while (seen < RECORDS) {
        if (how.startsWith("polling")) await new Promise((r) => setTimeout(r, POLL_MS));
        else await watcher.next({ timeout: 10_000 });
        using _held = await lock.lock({ shared: true, timeout: 10_000 });
        const lines = Deno.readTextFileSync(path).split("\n").filter(Boolean);
        for (const line of lines.slice(seen)) lags.push(now() - Number(line.split(" ")[1]));
        seen = lines.length;
      }
      await writer.wait({ timeout: 10_000 });
      const mean = lags.reduce((a, b) => a + b, 0) / lags.length;
      console.log(
        `${how.padEnd(20)} saw each record after ${lags.map((l) => l.toFixed(1)).join(", ")} ms`,
      );
      console.log(
        `${"".padEnd(20)} mean ${mean.toFixed(2)} ms, worst ${Math.max(...lags).toFixed(2)} ms`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
