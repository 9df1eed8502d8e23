/**
 * 22 · A pipeline of three processes passing frames through two ring channels
 *
 * A source process draws 120 frames (64 KiB greyscale images, 256 × 256) straight into the first
 * ring; a filter process takes each frame in place, writes its negative straight into the second
 * ring, and releases it; the parent shows them. No frame is copied through the kernel or through
 * an intermediate buffer: each stage reads and writes shared memory (`reserve`/`commit` and
 * `peek`/`release`). A frame carries its number in its first 4 bytes, and the sink checks every
 * pixel, so a lost, repeated or torn frame would show.
 *
 * Run: deno run --allow-ffi examples/22_pipeline.ts
 *
 * @module
 */

import { END_OF_STREAM, RingChannel } from "../mod.ts";
import { runSelf, show } from "./_child.ts";

const FRAMES = 120;
const SIZE = 256 * 256;
const pixel = (frame: number, i: number): number => (frame + (i >> 8) + (i & 255)) & 255;

const [role, a = "", b = ""] = Deno.args;
if (role === "source") {
  using out = RingChannel.open(a);
  using tx = out.sender();
  for (let f = 0; f < FRAMES; f++) {
    const frame = await tx.reserve(SIZE, { timeout: 10_000 });
    for (let i = 4; i < SIZE; i++) frame[i] = pixel(f, i);
    new DataView(frame.buffer, frame.byteOffset).setUint32(0, f, true);
    tx.commit();
  }
  console.log(`drew ${FRAMES} frames`);
} else if (role === "filter") {
  using input = RingChannel.open(a);
  using output = RingChannel.open(b);
  using rx = input.receiver();
  using tx = output.sender();
  let n = 0;
  for (let frame = await rx.peek(); frame !== END_OF_STREAM; frame = await rx.peek()) {
    const out = await tx.reserve(frame.length, { timeout: 10_000 });
    out.set(frame.subarray(0, 4)); // the frame number
    for (let i = 4; i < frame.length; i++) out[i] = 255 - (frame[i] ?? 0);
    tx.commit();
    rx.release();
    n++;
  }
  console.log(`inverted ${n} frames in place`);
} else {
  const capacity = 1 << 20; // room for 15 frames in flight per stage
  using first = RingChannel.temporary({ capacity });
  using second = RingChannel.temporary({ capacity });
  using rx = second.receiver();
  const t0 = performance.now();
  const stages = [
    runSelf(import.meta.url, ["source", first.name]),
    runSelf(import.meta.url, ["filter", first.name, second.name]),
  ];
  let frames = 0;
  let intact = 0;
  for (let frame = await rx.peek(); frame !== END_OF_STREAM; frame = await rx.peek()) {
    const f = new DataView(frame.buffer, frame.byteOffset).getUint32(0, true);
    let ok = f === frames && frame.length === SIZE;
    for (let i = 4; ok && i < SIZE; i++) ok = frame[i] === 255 - pixel(f, i);
    if (ok) intact++;
    rx.release();
    frames++;
  }
  const ms = performance.now() - t0;
  const [source, filter] = await Promise.all(stages);
  show("source", source ?? "");
  show("filter", filter ?? "");
  console.log(`sink: ${frames} frames, ${intact} intact and in order`);
  console.log(
    `${(frames * SIZE / 1e6).toFixed(1)} MB through 3 processes in ${ms.toFixed(0)} ms ` +
      `(including their start-up)`,
  );
}
