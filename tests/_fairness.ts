// Fair shares against a process blocked in the kernel (tests/c/kernel_taker.c): the kernel hands
// each item to a waiter already blocked in the call, so a dipc waiter that only polled would get
// nothing while the C process waits. dipc's waits block in the kernel too (src/_kernel_wait.ts):
// each side must get a share.
import assert from "node:assert/strict";
import { compileTestC, within } from "./_helpers.ts";
import { WOULD_BLOCK } from "../mod.ts";

/**
 * Runs the C taker on `target`, takes with `take` here at the same time, gives `n` items one by
 * one with `give`, and returns how many each side got (every item is counted exactly once).
 */
export async function shareWithKernelWaiter(
  kind: "pmq" | "sysv-msg" | "sysv-sem",
  target: string,
  give: () => void,
  take: (options: { signal: AbortSignal; timeout: number }) => Promise<unknown>,
  n = 40,
): Promise<{ mine: number; theirs: number }> {
  const bin = await compileTestC("kernel_taker");
  const taker = new Deno.Command(bin, { args: [kind, target], stdout: "piped" }).spawn();
  let theirs = 0;
  let text = "";
  const reading = (async (): Promise<void> => {
    for await (const chunk of taker.stdout.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      theirs = (text.match(/^took$/gm) ?? []).length;
    }
  })();
  const stop = new AbortController();
  let mine = 0;
  const taking = (async (): Promise<void> => {
    while (!stop.signal.aborted) {
      try {
        await take({ signal: stop.signal, timeout: 5_000 });
        mine++;
      } catch (e) {
        if (stop.signal.aborted) return;
        if (!(e instanceof DOMException && e.name === "TimeoutError")) throw e;
      }
    }
  })();
  try {
    await within(
      10_000,
      "the C taker starting",
      (async () => {
        while (!text.includes("ready")) await new Promise((r) => setTimeout(r, 5));
      })(),
    );
    // Both sides are blocked in the kernel before the first item comes.
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < n; i++) {
      give();
      await new Promise((r) => setTimeout(r, 15));
    }
    await within(
      10_000,
      "every item taken",
      (async () => {
        while (mine + theirs < n) await new Promise((r) => setTimeout(r, 5));
      })(),
    );
  } finally {
    stop.abort();
    taker.kill("SIGKILL");
    await taker.status;
    await reading;
    await within(10_000, "the taking loop ending", taking);
  }
  assert.equal(mine + theirs, n, `every item once (mine ${mine}, theirs ${theirs})`);
  assert.ok(mine >= n / 4 && theirs >= n / 4, `a fair share each: mine ${mine}, theirs ${theirs}`);
  return { mine, theirs };
}

/**
 * Nothing taken by a wait that ended: the C taker blocks in the kernel on `target` while, for
 * `cycles` rounds, a wait of this process (`take`) ends (by its timeout in even rounds, by an
 * abort in odd ones, after 2–17 ms: past the polling phase, in the kernel waiter's call), and
 * only then one item is given (`give`). Each such item must reach the C taker: none may be taken
 * by the wait that was over, nor kept for this process's next receive (`tryTake` must find
 * nothing at the end).
 */
export async function nothingTakenAfterWait(
  kind: "pmq" | "sysv-msg" | "sysv-sem",
  target: string,
  give: () => void,
  take: (options: { signal?: AbortSignal; timeout?: number }) => Promise<unknown>,
  tryTake: () => unknown,
  cycles = 200,
): Promise<void> {
  const bin = await compileTestC("kernel_taker");
  const taker = new Deno.Command(bin, { args: [kind, target], stdout: "piped" }).spawn();
  let theirs = 0;
  let text = "";
  const reading = (async (): Promise<void> => {
    for await (const chunk of taker.stdout.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      theirs = (text.match(/^took$/gm) ?? []).length;
    }
  })();
  const until = (what: string, done: () => boolean): Promise<void> =>
    within(
      10_000,
      what,
      (async () => {
        while (!done()) await new Promise((r) => setTimeout(r, 1));
      })(),
    );
  try {
    await until("the C taker starting", () => text.includes("ready"));
    await new Promise((r) => setTimeout(r, 200)); // blocked in the kernel by now
    for (let i = 0; i < cycles; i++) {
      const ms = 2 + (i % 16);
      if (i % 2 === 0) {
        await assert.rejects(
          take({ timeout: ms }),
          (e) => e instanceof DOMException && e.name === "TimeoutError",
          `round ${i}: the wait times out`,
        );
      } else {
        const stop = new AbortController();
        const reason = new Error("stop");
        setTimeout(() => stop.abort(reason), ms);
        await assert.rejects(take({ signal: stop.signal }), (e) => e === reason, `round ${i}`);
      }
      give();
      await until(
        `round ${i}: the C taker getting what was given after the wait ended`,
        () => theirs === i + 1,
      );
    }
    assert.equal(tryTake(), WOULD_BLOCK, "nothing kept for this process");
  } finally {
    taker.kill("SIGKILL");
    await taker.status;
    await reading;
  }
  assert.equal(theirs, cycles, "the C taker got every item given after a wait had ended");
}
