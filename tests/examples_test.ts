// Runs every numbered example exactly as its header's "Run:" line says, and checks what it
// printed: the tour must keep working.
import assert from "node:assert/strict";
import { listExamples, ROOT } from "../tools/examples.ts";
import { ipcTest, run } from "./_helpers.ts";

const expectations: Record<string, (out: string) => void> = {
  "01_sysv_shm.ts": (out) => {
    assert.match(out, /\[reader\] key 0x[0-9a-f]+ → shmid \d+, read: "Linux Programming"/);
    assert.match(out, /after shmdt: 0 attachments, mode 600/);
    assert.match(out, /segment removed with IPC_RMID/);
  },
  "02_shm.ts": (out) => {
    assert.match(out, /mode 600/);
    assert.match(out, /question: "what is 6 × 7\?"/);
    assert.match(out, /answer read from shared memory: "pid \d+ says: 6 × 7 = 42"/);
  },
  "03_shm_restart.ts": (out) => {
    assert.match(out, /boot #1: created the object/);
    assert.match(out, /boot #3: found 2 line\(s\) from earlier runs/);
    assert.match(out, /\[shm\] run 3 was pid \d+/);
  },
  "04_shm_race.ts": (out) => {
    assert.match(out, /counter\[0\] \+= 1 +2 × \d+: expected \d+, got \d+, lost \d+/);
    const atomic = /Atomics\.add\(\.\.\.\) +2 × (\d+): expected (\d+), got (\d+), lost 0 /.exec(
      out,
    );
    assert.ok(atomic, "the atomic run loses nothing");
    assert.equal(atomic[2], atomic[3]);
  },
  "05_futex.ts": (out) => {
    assert.match(out, /futexWake woke 1 sleeper/);
    assert.match(out, /\[poller\] poll: saw the event/);
    assert.match(out, /\[sleeper\] sleep: saw the event/);
  },
  "06_pipe.ts": (out) => {
    assert.match(out, /\[child\] 20 Hello Child Process!/);
    assert.match(out, /child exited with code 0/);
  },
  "07_pipe_two_way.ts": (out) => {
    for (let n = 1; n <= 5; n++) {
      assert.match(out, new RegExp(`parent → child: ${n} +child → parent: ${n * n}$`, "m"));
    }
  },
  "08_fifo.ts": (out) => {
    assert.match(out, /\[client \d+\] server pid \d+ says: HELLO FIFO/);
    assert.match(out, /\[client \d+\] server pid \d+ says: NAMED PIPES JOIN STRANGERS/);
    assert.match(out, /served "named pipes join strangers"/);
  },
  "09_sum.ts": (out) => {
    assert.match(out, /total: 50005000 \(expected 50005000\)/);
    assert.equal(out.match(/^pid \d+: /gm)?.length, 10);
  },
  "10_signals.ts": (out) => {
    assert.match(out, /worker: caught SIGINT/);
    assert.match(out, /worker ended with code 0, signal null/);
    assert.match(out, /after SIGINT it is still running/);
    assert.match(out, /after SIGTERM: ended by SIGTERM/);
  },
  "11_process_group.ts": (out) => {
    assert.match(out, /has 4 processes/);
    assert.match(out, /the leader ended by SIGTERM; 0 processes left in the group/);
  },
};

const examples = listExamples();

Deno.test("every example has a title, a summary, a Run: line and an expectation here", () => {
  assert.ok(examples.length >= 11);
  for (const ex of examples) {
    assert.ok(ex.title.length > 0 && ex.summary.length > 0, ex.file);
    assert.equal(ex.args[0], "run", ex.file);
    assert.equal(ex.args.at(-1), ex.file, `${ex.file}: the Run: line runs the file itself`);
    assert.ok(expectations[ex.file.slice("examples/".length)], `${ex.file} has no expectation`);
  }
});

for (const ex of examples) {
  ipcTest(`example ${ex.file} runs as its header says`, async () => {
    const r = await run("sh", [
      "-c",
      `cd "${ROOT}" && "${Deno.execPath()}" "$@"`,
      "sh",
      ...ex.args,
    ]);
    assert.equal(r.code, 0, `${ex.file} failed:\n${r.stderr}\n${r.stdout}`);
    expectations[ex.file.slice("examples/".length)]?.(r.stdout);
  });
}
