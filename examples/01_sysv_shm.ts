/**
 * 01 · System V shared memory, the classic program: ftok → shmget → shmat → write → shmdt → RMID
 *
 * A writer derives a key from a file with ftok(path, 'R'), creates a segment with shmget
 * (mode 0600, not the 0666 textbooks use), attaches it with shmat, writes "Linux Programming" and
 * detaches. A second process derives the same key from the same file, attaches read-only and
 * prints what it finds. The writer then shows what IPC_STAT says and removes the segment.
 *
 * Run: deno run --allow-ffi --allow-read --allow-write examples/01_sysv_shm.ts
 *
 * @module
 */

import { ftok, SysVSharedMemory } from "../mod.ts";
import { runChild, show } from "./_child.ts";

const SIZE = 4096;

if (Deno.args[0] === "reader") {
  const [, path] = Deno.args;
  const key = ftok(path ?? "", "R");
  using shm = SysVSharedMemory.open(key, { readOnly: true });
  const bytes = shm.read(0, 64);
  const text = new TextDecoder().decode(bytes.subarray(0, bytes.indexOf(0)));
  console.log(`key 0x${(key >>> 0).toString(16)} → shmid ${shm.id}, read: "${text}"`);
} else {
  const dir = await Deno.makeTempDir({ prefix: "dipc-example-" });
  const path = `${dir}/hello.txt`;
  await Deno.writeTextFile(path, "the file ftok derives the key from\n");
  const key = ftok(path, "R"); // (1) IPC key
  const shm = SysVSharedMemory.create(key, { size: SIZE }); // (2)+(3)
  try {
    console.log(`writer: key 0x${(key >>> 0).toString(16)}, shmid ${shm.id}, ${shm.size} bytes`);
    shm.bytes.set(new TextEncoder().encode("Linux Programming\0")); // strcpy(shmaddr, …)
    shm.close(); // (4) shmdt: the segment stays, detached
    const st = SysVSharedMemory.statId(shm.id);
    console.log(`after shmdt: ${st.attachments} attachments, mode ${st.mode.toString(8)}`);
    show(
      "reader",
      await runChild(import.meta.url, ["reader", path], { ffi: true, read: [path] }),
    );
    const after = SysVSharedMemory.statId(shm.id);
    console.log(
      `IPC_STAT: creator pid ${after.creatorPid}, last attach/detach by pid ${after.lastPid} ` +
        `(the reader), ${after.attachments} attachments now`,
    );
  } finally {
    SysVSharedMemory.remove(shm.id); // (5) shmctl(IPC_RMID)
    await Deno.remove(dir, { recursive: true });
  }
  console.log("segment removed with IPC_RMID");
}
