/**
 * 32 · Threads versus processes: the same work, what each costs, and what a crash takes down
 *
 * The sum of 1..10,000,000 is split over four workers, first as Web Workers (threads of this
 * process) sharing a `SharedArrayBuffer`, then as four processes sharing dipc shared memory.
 * Both use the same words and the same code: each participant says it is ready, waits for "go",
 * adds its slice and stores its partial sum. Measured for each:
 *
 * - **start**: from creating the four until all four are ready (a thread is a new V8 isolate in
 *   this process; a process is a new Deno runtime);
 * - **communicate**: a round trip through a shared word (`Atomics.wait`/`notify` for threads,
 *   `futexWaitSync`/`futexWake` between processes: the same kernel futex underneath), and a
 *   message round trip (`postMessage` for threads, a seqpacket socket pair for processes);
 * - **a crash**: one participant reads a wild pointer. A thread's fault is the whole process's:
 *   the process dies with SIGSEGV, main thread and the other workers with it, and every partial
 *   sum in its memory is gone (shown in a child process, so this example survives to tell). A
 *   process's fault is its own: the parent sees SIGSEGV for that child, the other three sums are
 *   still in shared memory, and the parent adds the missing slice itself.
 *
 * Run: deno run --allow-ffi --allow-read examples/32_threads_vs_processes.ts
 *
 * @module
 */

import {
  futexWait,
  futexWaitSync,
  futexWake,
  SharedMemory,
  spawnDeno,
  UnixSocket,
} from "../mod.ts";

const N = 10_000_000;
const COUNT = 4;
const ROUNDS = 2000;
// Words of the shared block (Int32Array indexes), then the partial sums (Float64Array).
const READY = 0;
const GO = 1;
const DONE = 2;
const PING = 3;
const PONG = 4;
const SUMS_AT = 64; // byte offset of COUNT float64 partial sums
const BYTES = SUMS_AT + 8 * COUNT;

type Wait = (index: number, value: number) => void;
type Wake = (index: number) => void;

/** Reads a wild pointer: a memory fault (SIGSEGV), as a bug in native code would. */
function fault(): never {
  new Deno.UnsafePointerView(Deno.UnsafePointer.create(16n) as Deno.PointerObject).getInt32();
  throw new Error("unreachable");
}

/** What every participant does, thread or process. */
function participate(
  words: Int32Array,
  sums: Float64Array,
  id: number,
  mode: "work" | "work-only" | "crash",
  wait: Wait,
  wake: Wake,
): void {
  Atomics.add(words, READY, 1);
  wake(READY);
  while (Atomics.load(words, GO) === 0) wait(GO, 0);
  const per = N / COUNT;
  let sum = 0;
  for (let k = id * per + 1; k <= (id + 1) * per; k++) sum += k;
  if (mode === "crash") fault();
  sums[id] = sum;
  Atomics.add(words, DONE, 1);
  wake(DONE);
  if (id !== 0 || mode !== "work") return;
  // Participant 0 answers the shared-word ping-pong: PONG := PING, ROUNDS times.
  for (let r = 1; r <= ROUNDS; r++) {
    while (Atomics.load(words, PING) < r) wait(PING, r - 1);
    Atomics.store(words, PONG, r);
    wake(PONG);
  }
}

/** Waits (async) until `words[index]` reaches `target`, at most 10 s. */
async function until(
  words: Int32Array,
  index: number,
  target: number,
  waitAsync: (index: number, value: number) => Promise<unknown>,
): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (let v = Atomics.load(words, index); v < target; v = Atomics.load(words, index)) {
    if (Date.now() > deadline) throw new Error(`word ${index} stuck at ${v}, wanted ${target}`);
    await waitAsync(index, v);
  }
}

/** The main side's shared-word round trips; returns µs per round trip. */
function pingPong(words: Int32Array, wait: Wait, wake: Wake): number {
  const t0 = performance.now();
  for (let r = 1; r <= ROUNDS; r++) {
    Atomics.store(words, PING, r);
    wake(PING);
    while (Atomics.load(words, PONG) < r) wait(PONG, r - 1);
  }
  return (performance.now() - t0) * 1000 / ROUNDS;
}

/** `Atomics.waitAsync` as a promise (it answers at once when the word already differs). */
const atomicsWaitAsync = (words: Int32Array) => (index: number, value: number) => {
  const r = Atomics.waitAsync(words, index, value, 100);
  return r.async ? r.value : Promise.resolve(r.value);
};

const total = (sums: Float64Array): number => sums.reduce((a, b) => a + b, 0);
const expected = N * (N + 1) / 2;
const isWorker = typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope ===
  "function";

if (isWorker) {
  // A thread: gets the SharedArrayBuffer and its id in a message.
  const scope = self as unknown as {
    onmessage: ((e: MessageEvent) => void) | null;
    postMessage(m: unknown): void;
  };
  scope.onmessage = (e: MessageEvent) => {
    const { sab, id, mode, echo } = e.data as {
      sab: SharedArrayBuffer;
      id: number;
      mode: "work" | "work-only" | "crash";
      echo?: number;
    };
    if (echo !== undefined) return scope.postMessage({ echo }); // a message round trip
    const words = new Int32Array(sab, 0, 16);
    participate(
      words,
      new Float64Array(sab, SUMS_AT, COUNT),
      id,
      mode,
      (i, v) => void Atomics.wait(words, i, v, 10_000),
      (i) => void Atomics.notify(words, i),
    );
  };
} else if (Deno.args[0] === "process") {
  // A process: gets the shared memory as descriptor 3, a socket as 4, its id as an argument.
  const id = Number(Deno.args[1]);
  using shm = SharedMemory.fromFd(3);
  const words = shm.int32(0, 16);
  participate(
    words,
    shm.view(Float64Array, SUMS_AT, COUNT),
    id,
    Deno.args[2] as "work" | "work-only" | "crash",
    (i, v) => void futexWaitSync(words, i, v, 10_000),
    (i) => void futexWake(words, i),
  );
  if (id === 0 && Deno.args[2] === "work") {
    // Echo messages on the socket until the parent closes it.
    using link = UnixSocket.fromFd(4);
    const buf = new Uint8Array(64);
    for (;;) {
      const r = await link.receiveInto(buf, { timeout: 10_000 });
      if (typeof r === "symbol") break;
      await link.send(buf.subarray(0, r.length));
    }
  }
} else if (Deno.args[0] === "threads-crash") {
  // Four threads, one of which faults: all this process's memory goes with it.
  const sab = new SharedArrayBuffer(BYTES);
  const words = new Int32Array(sab, 0, 16);
  for (let id = 0; id < COUNT; id++) {
    new Worker(import.meta.url, { type: "module" }).postMessage({
      sab,
      id,
      mode: id === 2 ? "crash" : "work-only",
    });
  }
  await until(words, READY, COUNT, atomicsWaitAsync(words));
  console.log("all four threads ready; go");
  Atomics.store(words, GO, 1);
  Atomics.notify(words, GO);
  await until(words, DONE, COUNT, atomicsWaitAsync(words));
  console.log("not reached: the fault ended the process");
} else {
  const fmt = (x: number, digits = 1) => x.toFixed(digits).padStart(7);

  // --- Threads ---
  {
    const sab = new SharedArrayBuffer(BYTES);
    const words = new Int32Array(sab, 0, 16);
    const sums = new Float64Array(sab, SUMS_AT, COUNT);
    const t0 = performance.now();
    const workers = Array.from({ length: COUNT }, (_, id) => {
      const w = new Worker(import.meta.url, { type: "module" });
      w.postMessage({ sab, id, mode: "work" });
      return w;
    });
    const waitAsync = atomicsWaitAsync(words);
    await until(words, READY, COUNT, waitAsync);
    const started = performance.now() - t0;
    Atomics.store(words, GO, 1);
    Atomics.notify(words, GO);
    await until(words, DONE, COUNT, waitAsync);
    const shared = pingPong(
      words,
      (i, v) => void Atomics.wait(words, i, v, 10_000),
      (i) => void Atomics.notify(words, i),
    );
    // Message round trips with worker 1 (worker 0 is done answering pings).
    const w1 = workers[1] as Worker;
    const m0 = performance.now();
    for (let r = 0; r < ROUNDS; r++) {
      const back = new Promise((resolve) => w1.onmessage = resolve);
      w1.postMessage({ echo: r });
      await back;
    }
    const message = (performance.now() - m0) * 1000 / ROUNDS;
    for (const w of workers) w.terminate();
    console.log(`threads   sum ${total(sums)} (${total(sums) === expected ? "right" : "WRONG"})`);
    console.log(`threads   start ${fmt(started)} ms for four Workers`);
    console.log(`threads   shared-word round trip ${fmt(shared)} µs (Atomics.wait/notify)`);
    console.log(`threads   message round trip     ${fmt(message)} µs (postMessage)`);
  }

  // --- Processes ---
  const runProcesses = async (crashing: number | undefined) => {
    using shm = SharedMemory.temporary({ size: BYTES });
    const words = shm.int32(0, 16);
    const sums = shm.view(Float64Array, SUMS_AT, COUNT);
    const [mine, theirs] = UnixSocket.pair({ type: "seqpacket" });
    const t0 = performance.now();
    const children = Array.from({ length: COUNT }, (_, id) =>
      spawnDeno(import.meta.url, {
        args: [
          "process",
          String(id),
          crashing === undefined ? "work" : id === crashing ? "crash" : "work-only",
        ],
        fds: { 3: shm, 4: theirs },
        stderr: "null",
      }));
    theirs.close();
    const waitAsync = (i: number, v: number) => futexWait(words, i, v, { timeout: 100 });
    await until(words, READY, COUNT, waitAsync);
    const started = performance.now() - t0;
    Atomics.store(words, GO, 1);
    futexWake(words, GO);
    const statuses = crashing === undefined ? [] : await Promise.all(
      children.map((c) => c.wait({ timeout: 10_000 }).then((s) => s, () => c.status)),
    );
    await until(words, DONE, crashing === undefined ? COUNT : COUNT - 1, waitAsync);
    if (crashing !== undefined) {
      const died = statuses.map((s, id) => [id, s.signal] as const).filter(([, sig]) => sig);
      const survived = [...sums].filter((s) => s > 0).length;
      let sum = total(sums);
      const per = N / COUNT;
      for (const [id] of died) for (let k = id * per + 1; k <= (id + 1) * per; k++) sum += k;
      console.log(
        `processes crash: participant ${
          died.map(([id, sig]) => `${id} died (${sig})`).join(", ")
        }; ` +
          `the parent and ${COUNT - died.length} others lived, ${survived} partial sums kept in ` +
          `shared memory; the parent added the missing slice: sum ${sum} ` +
          `(${sum === expected ? "right" : "WRONG"})`,
      );
      mine.close();
      await Promise.all(children.map((c) => c.status));
      return;
    }
    const shared = pingPong(
      words,
      (i, v) => void futexWaitSync(words, i, v, 10_000),
      (i) => void futexWake(words, i),
    );
    const buf = new Uint8Array(64);
    const m0 = performance.now();
    for (let r = 0; r < ROUNDS; r++) {
      mine.trySend(buf.subarray(0, 8));
      await mine.receiveInto(buf, { timeout: 10_000 });
    }
    const message = (performance.now() - m0) * 1000 / ROUNDS;
    mine.close();
    for (const c of children) await c.wait({ timeout: 10_000 });
    console.log(`processes sum ${total(sums)} (${total(sums) === expected ? "right" : "WRONG"})`);
    console.log(`processes start ${fmt(started)} ms for four Deno processes`);
    console.log(`processes shared-word round trip ${fmt(shared)} µs (futexWaitSync/futexWake)`);
    console.log(`processes message round trip     ${fmt(message)} µs (seqpacket socket pair)`);
  };
  await runProcesses(undefined);

  // --- A crash in each ---
  await using crashed = spawnDeno(import.meta.url, {
    args: ["threads-crash"],
    permissions: { ffi: true, read: [new URL("../", import.meta.url).pathname] }, // a Worker reads its modules
    stdout: "piped",
    stderr: "null",
  });
  const status = await crashed.wait({ timeout: 20_000 });
  const said = (await crashed.stdout?.text({ timeout: 10_000 }) ?? "").trim();
  console.log(
    `threads   crash: one worker faulted; the whole process ended (${status.signal}), main ` +
      `thread and the other three with it (it had printed "${said}"); no partial sum survived`,
  );
  await runProcesses(2);
}
