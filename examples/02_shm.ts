/**
 * 02 · POSIX shared memory between two Deno processes
 *
 * The parent creates a named object under /dev/shm (mode 0600), writes a question into it and
 * starts a second Deno process with only the name. The child opens the same object, reads the
 * question and writes its answer next to it; the parent reads the answer without any copy
 * through the kernel. The object is removed when the parent's handle is disposed.
 *
 * Run: deno run --allow-ffi examples/02_shm.ts
 *
 * @module
 */

import { SharedMemory } from "../mod.ts";
import { runChild, show } from "./_child.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const QUESTION = 0; // bytes 0..1023: the parent's question
const ANSWER = 1024; // bytes 1024..2047: the child's answer

function readText(bytes: Uint8Array, offset: number): string {
  const area = bytes.subarray(offset, offset + 1024);
  return decoder.decode(area.subarray(0, area.indexOf(0)));
}

if (Deno.args[0] === "child") {
  using shm = SharedMemory.open(Deno.args[1] ?? "");
  const question = readText(shm.bytes, QUESTION);
  console.log(`opened ${shm.name} (${shm.size} bytes), question: "${question}"`);
  shm.bytes.set(encoder.encode(`pid ${Deno.pid} says: 6 × 7 = 42\0`), ANSWER);
} else {
  using shm = SharedMemory.temporary({ size: 4096 });
  const st = shm.stat(); // fstat: what the kernel reports for /dev/shm/<name>
  console.log(`created ${shm.name}: ${st.size} bytes, mode ${st.mode.toString(8)}, uid ${st.uid}`);
  shm.bytes.set(encoder.encode("what is 6 × 7?\0"), QUESTION);
  show("child", await runChild(import.meta.url, ["child", shm.name]));
  console.log(`answer read from shared memory: "${readText(shm.bytes, ANSWER)}"`);
}
