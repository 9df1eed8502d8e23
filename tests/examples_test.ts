// Runs every numbered example exactly as its header's "Run:" line says, and checks what it
// printed: the tour must keep working.
import assert from "node:assert/strict";
import { listExamples, ROOT } from "../tools/examples.ts";
import { ipcTest, run } from "./_helpers.ts";

const expectations: Record<string, (out: string) => void> = {
  "00_hello.ts": (out) => {
    assert.match(out, /^hello\nfrom\nprocess \d+\nthe child exited with code 0\n$/);
  },
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
  "12_sysv_mq.ts": (out) => {
    assert.match(out, /\[A\] msgsnd type 1 "hello B, from A" with IPC_NOWAIT: sent/);
    assert.match(out, /\[A\] pid \d+ exits; msqid \d+ holds 2 messages/);
    assert.match(out, /\[B\] msqid \d+: msgrcv type 1 got "hello B, from A"/);
    assert.match(out, /the parent takes what B left: type 2/);
  },
  "13_mailbox.ts": (out) => {
    // Part 1: six messages, each received once, by either child.
    const part1 = out.slice(0, out.indexOf("2. "));
    for (let i = 1; i <= 6; i++) {
      assert.equal(part1.match(new RegExp(`got "message ${i}"`, "g"))?.length, 1, `message ${i}`);
    }
    // Part 2: within each receiver, priorities never rise.
    const part2 = out.slice(out.indexOf("2. "), out.indexOf("3. "));
    for (const p of ["P2", "P3"]) {
      const prios = [...part2.matchAll(new RegExp(`${p} got "[^"]+" \\(priority (\\d+)\\)`, "g"))]
        .map((m) => Number(m[1]));
      assert.deepEqual(prios, [...prios].sort((a, b) => b - a), `${p}: ${prios}`);
    }
    assert.match(part2, /got "alarm" \(priority 9\)/);
    // Part 3: addressed delivery.
    assert.match(out, /P2 got "for P2 #1" \(type 2\)/);
    assert.match(out, /P3 got "for P3 #2" \(type 3\)/);
    assert.doesNotMatch(out, /P2 got "for P3|P3 got "for P2/);
  },
  "14_direct_indirect.ts": (out) => {
    assert.match(out, /P2 did "task for P2"\n.*P3 did "task for P3"/);
    const counts = /P2 did (\d+), P3 did (\d+)/.exec(out);
    assert.ok(counts, out);
    assert.equal(Number(counts[1]) + Number(counts[2]), 6);
    for (let i = 1; i <= 6; i++) assert.match(out, new RegExp(`did "task ${i}"`));
  },
  "15_blocking.ts": (out) => {
    assert.match(out, /non-blocking receive, empty queue: Symbol\(dipc.WOULD_BLOCK\)/);
    assert.match(out, /blocking receive, empty queue: waited \d+ ms, got "hello from pid \d+"/);
    assert.match(out, /non-blocking send, full queue \(2 of 2\): Symbol\(dipc.WOULD_BLOCK\)/);
    assert.match(out, /blocking send, full queue: waited \d+ ms/);
    assert.match(out, /100 ms timeout, full queue: TimeoutError/);
    assert.match(out, /held afterwards: two, three, WOULD_BLOCK/);
    assert.match(
      out,
      /full queue → Symbol\(dipc.WOULD_BLOCK\), receive type 2 .* → Symbol\(dipc.WOULD_BLOCK\)/,
    );
  },
  "16_race_fixed.ts": (out) => {
    const race = /unprotected +expected (\d+), got (\d+), lost (\d+)/.exec(out);
    assert.ok(race && Number(race[3]) > 0, `the unprotected counter loses updates: ${race?.[0]}`);
    for (const fix of ["mutex", "semaphore", "atomics"]) {
      const m = new RegExp(`${fix} +expected (\\d+), got (\\d+), lost 0 `).exec(out);
      assert.ok(m && m[1] === m[2], `${fix} loses nothing`);
    }
  },
  "17_counting_semaphore.ts": (out) => {
    assert.equal((out.match(/ enters /g) ?? []).length, 10);
    assert.equal((out.match(/ leaves /g) ?? []).length, 10);
    assert.match(out, /at most [123] inside at once \(limit 3\); semaphore value now 3/);
    assert.doesNotMatch(out, /\([4-9] inside\)/);
  },
  "18_monitor_buffer.ts": (out) => {
    const sums = [...out.matchAll(/consumer \d: 200 items, sum (\d+)/g)].map((m) => Number(m[1]));
    const [a = 0, b = 0] = sums;
    assert.equal(sums.length, 2);
    assert.match(out, /summing to 239800; consumers took 239800/);
    assert.equal(a + b, 239800, "the consumers' own sums add up");
    assert.match(out, /and 0 items are left/);
  },
  "19_owner_death.ts": (out) => {
    assert.equal((out.match(/child killed: SIGKILL/g) ?? []).length, 2);
    assert.equal((out.match(/next locker: ownerDied true/g) ?? []).length, 2);
    assert.equal((out.match(/A=900 B=1100 \(total 2000\)/g) ?? []).length, 2);
    assert.match(out, /SharedMutex state: consistent/);
  },
  "21_bounded_buffer.ts": (out) => {
    assert.match(out, /consumer took 20 items, sum 210, in order/);
    assert.match(out, /producer +item \d+: full \(in − out \+ 16 = 80 > 64/, "found it full");
    assert.match(out, /consumer +empty \(in == out == \d+\)/, "the consumer found it empty");
    // One coherent timeline: numbered in order, and every item is sent before it is taken.
    const lines = [...out.matchAll(/^ +(\d+) +\+ *[\d.]+ ms +(\w+) +(.*)$/gm)];
    assert.deepEqual(lines.map((l) => Number(l[1])), lines.map((_, i) => i), "one order");
    for (let n = 1; n <= 20; n++) {
      const sent = lines.findIndex((l) => l[3] === `sends item ${n}`);
      const took = lines.findIndex((l) => l[3] === `took item ${n}`);
      assert.ok(sent >= 0 && took > sent, `item ${n} is taken after it is sent`);
    }
  },
  "22_pipeline.ts": (out) => {
    assert.match(out, /drew 120 frames/);
    assert.match(out, /inverted 120 frames in place/);
    assert.match(out, /sink: 120 frames, 120 intact and in order/);
  },
  "23_zero_copy.ts": (out) => {
    const sums = [
      ...out.matchAll(
        /reading (.+?), .*: (\d+) messages of 1 MiB in \d+ ms .*; checksum (\w+), the same as sent/g,
      ),
    ];
    assert.equal(sums.length, 4, "all four ways arrive intact");
    assert.deepEqual(sums.map((m) => [m[1], m[2]]), [
      ["the header", "4096"],
      ["the header", "4096"],
      ["every word", "256"],
      ["every word", "256"],
    ]);
    assert.equal(sums[0]?.[3], sums[1]?.[3], "copied and zero-copy carry the same bytes");
    assert.equal(sums[2]?.[3], sums[3]?.[3], "copied and zero-copy carry the same bytes");
    assert.match(out, /zero-copy ran [\d.]+× as fast as copying when only headers are read/);
  },
  "24_producer_killed.ts": (out) => {
    for (const label of ["killed while sending", "killed holding a reservation"]) {
      const m = new RegExp(
        `${label}: received (\\d+) messages \\(at least (\\d+) were committed before the kill\\), (\\d+) whole and in order, then ECONNRESET \\(a sender died\\)`,
      ).exec(out);
      assert.ok(m, label);
      assert.equal(m[1], m[3], `${label}: every message whole`);
      assert.ok(Number(m[1]) >= Number(m[2]), `${label}: nothing committed was lost`);
    }
  },
  "25_trust_no_peer.ts": (out) => {
    assert.match(out, /received "message 0"/);
    assert.match(out, /EPROTO: the record word at position \d+ holds 1073741808/);
    assert.match(out, /next receive: Symbol\(dipc.END_OF_STREAM\) \(the channel is not trusted/);
    assert.match(out, /before close the escaped buffer reads 7/);
    assert.match(out, /after close it reads 0/);
    assert.match(out, /a 100 ms wait ended "timed-out"/);
    assert.match(out, /then all 1000 woke/);
  },
  "26_socketpair.ts": (out) => {
    assert.match(out, /parent asked "ping", child answered "4 bytes, reversed: gnip"/);
    assert.match(out, /child answered "22 bytes, reversed: \?riap tekcos a si tahw"/);
    assert.match(out, /child: end of stream, exiting/);
    assert.match(out, /child exited with code 0/);
  },
  "27_pass_fds.ts": (out) => {
    assert.match(out, /the file holds "a file opened by the parent"/);
    assert.match(
      out,
      /parent read from its pipe: "hello through the parent's own pipe, from process \d+"/,
    );
    assert.match(out, /counter in shared memory: 42/);
  },
  "28_peer_credentials.ts": (out) => {
    assert.equal((out.match(/: served$/gm) ?? []).length, 2);
    assert.match(out, /saying "hello from a stranger": refused/);
    assert.match(out, /\[worker 1\] welcome, worker 1/);
    assert.match(out, /\[the stranger\] \(hung up\)/);
  },
  "29_poll_server.ts": (out) => {
    assert.match(out, /6 clients, 30 requests answered in \d+ loop rounds by one process/);
    assert.match(out, /every request answered: true/);
  },
  "30_file_ipc.ts": (out) => {
    for (const how of ["polling every 25 ms", "change notification"]) {
      const seen = new RegExp(`${how} +saw each record after ((?:[\\d.]+(?:, )?){10}) ms`).exec(
        out,
      );
      assert.ok(seen, `${how}: all ten records`);
    }
    assert.match(out, /mean [\d.]+ ms, worst [\d.]+ ms/);
  },
  "31_web_server.ts": (out) => {
    for (const way of ["inherit", "handover"]) {
      assert.match(
        out,
        new RegExp(`${way}: 300 of 300 requests answered by \\d+ worker processes \\(3 started`),
      );
    }
    // Deno.serve workers: one killed and replaced, then both restarted under load (5 started).
    assert.match(
      out,
      /prefork: all \d+ requests answered by \d+ Deno\.serve worker processes \(5 started/,
    );
  },
  "32_threads_vs_processes.ts": (out) => {
    for (const who of ["threads", "processes"]) {
      assert.match(out, new RegExp(`${who} +sum 50000005000000 \\(right\\)`));
      assert.match(out, new RegExp(`${who} +start +[\\d.]+ ms`));
      assert.match(out, new RegExp(`${who} +shared-word round trip +[\\d.]+ µs`));
      assert.match(out, new RegExp(`${who} +message round trip +[\\d.]+ µs`));
    }
    assert.match(out, /threads +crash: .*the whole process ended \(SIGSEGV\)/);
    assert.match(out, /had printed "all four threads ready; go"/);
    assert.match(
      out,
      /processes crash: participant 2 died \(SIGSEGV\); the parent and 3 others lived, 3 partial sums kept .* sum 50000005000000 \(right\)/,
    );
  },
  "33_stale_objects.ts": (out) => {
    assert.match(out, /the sender of the first ring was killed \(SIGKILL\)/);
    assert.match(
      out,
      /first +ring: 40 bytes queued, sender dead, mapped by 0 process\(es\): stale/,
    );
    assert.match(
      out,
      /second ring: 0 bytes queued, receiver alive, mapped by 1 process\(es\): in use/,
    );
    assert.match(out, /removed the stale ring\nthe ring in use is refused: EBUSY\n/);
    assert.match(out, /rings of this example left: 1 \(the one in use\)/);
  },
  "35_pool_sum.ts": (out) => {
    assert.match(out, /^total: 50000005000000 \(expected 50000005000000\)$/m);
    assert.equal([...out.matchAll(/^pid \d+: +\d+\.\.\d+ += \d+$/gm)].length, 10);
  },
  "36_pool_map.ts": (out) => {
    const [, same, of] = out.match(/^(\d+) of (\d+) digests equal to this process's own$/m) ?? [];
    assert.ok(Number(of) > 10 && same === of, out);
    assert.match(out, new RegExp(`^hashed ${of}/${of} files$`, "m"));
    assert.match(out, /^pool of \d+: \d+ ms; one process, a file after another: \d+ ms/m);
  },
  "37_pool_crash.ts": (out) => {
    assert.match(
      out,
      /^item 7: WorkerExitError: .* was killed by SIGSEGV while running "squareOrCrash"$/m,
    );
    assert.match(out, /^19 of 20 completed: 0 1 4 9 16 25 36 64 81 /m);
    assert.match(out, /^workers started to replace one that died: 1$/m);
    assert.match(out, /^and the pool goes on: squareOrCrash\(12\) = 144$/m);
  },
  "38_pool_nats.ts": (out) => {
    // Measured when a server is at hand (CI installs nats-server), said so otherwise.
    if (/^NATS pool skipped: /m.test(out)) return;
    assert.match(out, /^killed local worker \d+ mid-map$/m);
    assert.match(out, /^60 results, sum of squares 70210 \(expected 70210\)$/m);
    assert.match(out, /^the command's worker is serving too$/m);
    assert.match(out, /^served by \d+ workers: /m);
    assert.match(out, /^local workers started again: [1-9]/m);
  },
  "34_channel.ts": (out) => {
    for (const t of ["ring", "POSIX queue", "System V queue", "socket", "pipe"]) {
      assert.match(out, new RegExp(`^${t} +[\\d,]+ messages/s$`, "m"), t);
    }
    // NATS: measured when a server is at hand (CI installs nats-server), said so otherwise.
    assert.match(
      out,
      /^(NATS subject +[\d,]+ messages\/s\nNATS JetStream +[\d,]+ messages\/s|NATS +skipped: .*)$/m,
    );
  },
  "20_polling_vs_interrupts.ts": (out) => {
    const cpu = [...out.matchAll(/(poller|sleeper) +CPU time +(\d+) ms/g)].map((m) => Number(m[2]));
    const [poller = 0, sleeper = 0] = cpu;
    assert.equal(cpu.length, 2);
    assert.ok(poller > sleeper, "busy polling costs more CPU than sleeping");
  },
};

const examples = listExamples();

Deno.test("every example has a title, a summary, a Run: line and an expectation here", () => {
  assert.ok(examples.length >= 24);
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

Deno.test("the README's second program is examples/00_hello.ts, word for word", () => {
  const readme = Deno.readTextFileSync(`${ROOT}README.md`);
  const block = /```ts ignore\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(block, "the README shows the program");
  const file = Deno.readTextFileSync(`${ROOT}examples/00_hello.ts`);
  const code = file.slice(file.indexOf(" */\n") + 4).replace('"../mod.ts"', '"@dipc/dipc"');
  assert.equal(block.trim(), code.trim());
});
