// Checks messages written by tests/fixtures/mq_sender.ts: every byte, and the order per
// producer (each producer's messages must arrive as 0, 1, 2, …: nothing lost, nothing
// duplicated, nothing reordered).
import assert from "node:assert/strict";
import { WOULD_BLOCK, type WouldBlock } from "../mod.ts";
import { ROOT, runDeno } from "./_helpers.ts";

const SENDER = `${ROOT}tests/fixtures/mq_sender.ts`;

export class Tally {
  readonly next: number[];
  total = 0;

  constructor(producers: number) {
    this.next = new Array(producers).fill(0);
  }

  /** Checks one received message. */
  add(msg: Uint8Array): void {
    assert.ok(msg.length >= 8, `message of ${msg.length} bytes`);
    const view = new DataView(msg.buffer, msg.byteOffset, msg.length);
    const p = view.getUint32(0, true);
    const i = view.getUint32(4, true);
    assert.equal(i, this.next[p], `producer ${p}: got message ${i}, expected ${this.next[p]}`);
    assert.equal(msg.length, 8 + (i % 61), `producer ${p} message ${i}: length`);
    for (let k = 8; k < msg.length; k++) {
      if (msg[k] !== ((p * 31 + i + k) & 0xff)) {
        assert.fail(`producer ${p} message ${i}: byte ${k} is corrupt`);
      }
    }
    this.next[p] = i + 1;
    this.total++;
  }
}

/**
 * Starts one sender process of `n` messages on the queue `target` and receives them with
 * `receiveInto`, cancelling thousands of receives along the way; checks each message with a
 * {@linkcode Tally}. Every fourth receive starts aborted (it must reject and take nothing); the
 * others are aborted right after the call, in a microtask or on the next timer, racing the
 * sender every way.
 */
export async function receiveWithCancels(
  kind: "posix" | "sysv",
  target: string,
  receiveInto: (buf: Uint8Array, options: { signal: AbortSignal }) => Promise<{ length: number }>,
  n: number,
): Promise<void> {
  const sender = runDeno(SENDER, [kind, target, "0", String(n)]);
  const tally = new Tally(1);
  const buf = new Uint8Array(128);
  let cancelled = 0;
  let preAborted = 0;
  for (let k = 0; tally.total < n; k++) {
    const ac = new AbortController();
    const how = k % 4;
    if (how === 0) {
      ac.abort();
      preAborted++;
    }
    const p = receiveInto(buf, { signal: ac.signal });
    if (how === 1) ac.abort();
    else if (how === 2) queueMicrotask(() => ac.abort());
    else if (how === 3) setTimeout(() => ac.abort(), 0);
    try {
      tally.add(buf.subarray(0, (await p).length));
    } catch (e) {
      if (!ac.signal.aborted) throw e;
      cancelled++;
    }
  }
  assert.ok(cancelled >= preAborted && preAborted >= n / 4, `${cancelled} cancelled`);
  const r = await sender;
  assert.equal(r.stdout.trim(), `sent ${n}`, r.stderr);
  assert.equal(tally.total, n);
}

/** A queue as {@linkcode fromFourSenders} reads it. */
export interface Receiver {
  tryReceiveInto(into: Uint8Array): { length: number } | WouldBlock;
  receiveInto(into: Uint8Array, options: { timeout: number }): Promise<{ length: number }>;
}

/**
 * Starts four sender processes (tests/fixtures/mq_sender.ts) of `n` messages each on the queue
 * `target`, receives all 4 × `n` here, and checks every message, the order per sender and what
 * each sender reported.
 */
export async function fromFourSenders(
  kind: "posix" | "sysv",
  target: string,
  q: Receiver,
  n: number,
): Promise<void> {
  const senders = [0, 1, 2, 3].map((p) => runDeno(SENDER, [kind, target, String(p), String(n)]));
  const tally = new Tally(4);
  const buf = new Uint8Array(128);
  while (tally.total < 4 * n) {
    const got = q.tryReceiveInto(buf);
    const len = got === WOULD_BLOCK ? await q.receiveInto(buf, { timeout: 60_000 }) : got;
    tally.add(buf.subarray(0, len.length));
  }
  for (const r of await Promise.all(senders)) assert.equal(r.stdout.trim(), `sent ${n}`, r.stderr);
  assert.deepEqual(tally.next, [n, n, n, n]);
}
