// The house's rules (docs/ARCHITECTURE.md), checked on the real module graph: no import circle,
// no import that points up a floor, and every library file on a floor.
import assert from "node:assert/strict";
import { circles, edges, floorOf, upward } from "../tools/graph.ts";

Deno.test("the module graph has no circle and no import up a floor", async () => {
  const all = await edges();
  assert.ok(all.length > 300, `${all.length} imports`);
  assert.deepEqual(circles(all), [], "import circles (type-only imports count)");
  assert.deepEqual(
    upward(all).map((e) => `${e.from} → ${e.to}`),
    [],
    "imports from a lower floor to a higher one",
  );
  const files = new Set(all.flatMap((e) => [e.from, e.to]));
  const unplaced = [...files].filter((f) => floorOf(f) < 0);
  assert.deepEqual(unplaced, [], "library files on no floor");
});

Deno.test("the floors are what docs/ARCHITECTURE.md says", async () => {
  const doc = await Deno.readTextFile(new URL("../docs/ARCHITECTURE.md", import.meta.url));
  for (const f of ["ffi/load.ts", "_futex.ts", "src/_ring_sender.ts", "src/ring.ts"]) {
    assert.ok(doc.includes(f), `ARCHITECTURE.md names ${f}`);
  }
  assert.equal(floorOf("ffi/load.ts"), 0);
  assert.ok(floorOf("src/_futex.ts") < floorOf("src/_ring_sender.ts"));
  assert.ok(floorOf("src/_ring_sender.ts") < floorOf("src/ring.ts"));
  assert.ok(floorOf("src/ring.ts") < floorOf("src/_channel_transports.ts"));
  assert.ok(floorOf("src/_channel_transports.ts") < floorOf("src/channel.ts"));
  assert.ok(floorOf("src/channel.ts") < floorOf("mod.ts"));
  assert.ok(floorOf("mod.ts") < floorOf("cli/dipc.ts"));
});
