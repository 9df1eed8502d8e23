// The messages of the ring channel tests, made by tests/fixtures/ring_child.ts and
// tests/c/ring_peer.c and checked here: message `seq` of producer `id` has a length that
// depends on (seed, id, seq) only, byte 0 is `id`, and byte j > 0 is (id + 7·seq + j) mod 256.
// A `Tally` checks every byte, the order per producer (nothing lost, duplicated or reordered)
// and keeps an FNV-1a checksum of each producer's stream (length, then bytes, per message).

/** The length of message `seq` of producer `id`: mostly small, every 1000th the largest. */
export function sizeOf(seed: number, id: number, seq: number, max: number): number {
  if (seq % 1000 === 7) return max; // exactly the largest message the channel takes
  if (seq % 1000 === 8) return 1; // one byte: only the producer's id
  let x = Math.imul(seq + 1, 0x9e3779b1) ^ Math.imul(id + 1, 0x85ebca6b) ^ seed;
  x ^= x >>> 15;
  x = Math.imul(x, 0x2c1b3c6d);
  x ^= x >>> 12;
  x >>>= 0;
  const r = x % 1000;
  const y = x >>> 10;
  if (r < 800) return 1 + (y % Math.min(64, max));
  if (r < 990) return Math.min(max, 65 + (y % 960));
  return Math.min(max, 1025 + (y % Math.max(1, max - 1024)));
}

/** Writes message `seq` of producer `id` into `into` (which has its length). */
export function fill(into: Uint8Array, id: number, seq: number): void {
  into[0] = id;
  const base = id + 7 * seq;
  for (let j = 1; j < into.length; j++) into[j] = (base + j) & 255;
}

/** FNV-1a over the length (4 bytes, little-endian) and the bytes of one message. */
export function fnv(h: number, msg: Uint8Array): number {
  const n = msg.length;
  for (let k = 0; k < 4; k++) h = Math.imul(h ^ ((n >>> (8 * k)) & 255), 16777619);
  for (let j = 0; j < n; j++) h = Math.imul(h ^ (msg[j] ?? 0), 16777619);
  return h >>> 0;
}

export const FNV_START = 2166136261;

/** The expected count and checksum of `count` messages of producer `id`. */
export function expected(seed: number, id: number, count: number, max: number): number {
  let h = FNV_START;
  const buf = new Uint8Array(max);
  for (let seq = 0; seq < count; seq++) {
    const m = buf.subarray(0, sizeOf(seed, id, seq, max));
    fill(m, id, seq);
    h = fnv(h, m);
  }
  return h;
}

/** Checks received messages one by one. */
export class Tally {
  readonly next = new Map<number, number>();
  readonly sums = new Map<number, number>();
  total = 0;
  constructor(readonly seed: number, readonly max: number) {}

  /** Checks the `k` messages a batch receive put back to back in `into`. */
  addBatch(into: Uint8Array, lengths: Uint32Array, k: number): void {
    let off = 0;
    for (let j = 0; j < k; j++) {
      const n = lengths[j] ?? 0;
      this.add(into.subarray(off, off + n));
      off += n;
    }
  }

  /** Checks one message; throws at the first thing wrong. */
  add(msg: Uint8Array): void {
    if (msg.length === 0) throw new Error("empty message");
    const id = msg[0] ?? 0;
    const seq = this.next.get(id) ?? 0;
    const want = sizeOf(this.seed, id, seq, this.max);
    if (msg.length !== want) {
      throw new Error(`producer ${id} message ${seq}: ${msg.length} bytes, expected ${want}`);
    }
    const base = id + 7 * seq;
    for (let j = 1; j < msg.length; j++) {
      if (msg[j] !== ((base + j) & 255)) {
        throw new Error(`producer ${id} message ${seq}: byte ${j} is ${msg[j]}`);
      }
    }
    this.sums.set(id, fnv(this.sums.get(id) ?? FNV_START, msg));
    this.next.set(id, seq + 1);
    this.total++;
  }
}
