// Checks messages written by tests/fixtures/mq_sender.ts: every byte, and the order per
// producer (each producer's messages must arrive as 0, 1, 2, …: nothing lost, nothing
// duplicated, nothing reordered).
import assert from "node:assert/strict";

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
