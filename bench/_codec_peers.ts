/**
 * The codec choice of the process pool, measured: dipc's structured-clone codec against npm's
 * msgpackr and cbor-x in their structured-clone modes, `node:v8`'s serializer and JSON, on the
 * values a pool moves. Prints `RESULT codec=… value=… ns=…` lines (encode + decode, one value).
 *
 * Run: deno run --no-lock -A bench/_codec_peers.ts
 * (the npm packages are imported at run time, so they stay out of the project's lock)
 *
 * @module
 */

import { decodeClone, encodeClone } from "../src/_clone_codec.ts";

interface Codec {
  name: string;
  encode(v: unknown): Uint8Array;
  decode(b: Uint8Array): unknown;
  /** What it cannot carry (checked below, so a row never flatters a codec that loses data). */
  json?: boolean;
}

const spec = (name: string): string => name; // computed: not part of the checked graph
const codecs: Codec[] = [{
  name: "dipc clone",
  encode: (v) => encodeClone(v),
  decode: decodeClone,
}];
try {
  const { Packr } = await import(spec("npm:msgpackr@2.1.3"));
  const p = new Packr({ structuredClone: true, useRecords: false });
  codecs.push({
    name: "msgpackr (structuredClone)",
    encode: (v) => p.pack(v),
    decode: (b) => p.unpack(b),
  });
} catch (e) {
  console.error(`msgpackr not measured: ${(e as Error).message}`);
}
try {
  const { Encoder } = await import(spec("npm:cbor-x@1.6.9"));
  const c = new Encoder({ structuredClone: true, useRecords: false });
  codecs.push({
    name: "cbor-x (structuredClone)",
    encode: (v) => c.encode(v),
    decode: (b) => c.decode(b),
  });
} catch (e) {
  console.error(`cbor-x not measured: ${(e as Error).message}`);
}
const v8 = await import(spec("node:v8"));
codecs.push({
  name: "node:v8 serialize",
  encode: (v) => v8.serialize(v),
  decode: (b) => v8.deserialize(b),
});
const enc = new TextEncoder();
const dec = new TextDecoder();
codecs.push({
  name: "JSON (carries less)",
  encode: (v) => enc.encode(JSON.stringify(v)),
  decode: (b) => JSON.parse(dec.decode(b)),
  json: true,
});

const values: Record<string, unknown> = {
  "an empty task's arguments ([])": [],
  "a small record": { id: 12345, name: "resize", tags: ["a", "b"], ratio: 0.75, done: false },
  "1,000 numbers": Array.from({ length: 1000 }, (_, i) => i * 1.5),
  "a 4 KiB Uint8Array": new Uint8Array(4096).fill(7),
  "Map, Set, Date, BigInt": {
    m: new Map([["a", 1], ["b", 2]]),
    s: new Set([1, 2, 3]),
    d: new Date(0),
    n: 2n ** 70n,
  },
  "an Error with a cause": new TypeError("boom", { cause: new RangeError("why") }),
};

function carries(c: Codec, v: unknown): boolean {
  try {
    const back = c.decode(c.encode(v));
    return JSON.stringify(back, (_k, x) => typeof x === "bigint" ? `${x}n` : x) ===
        JSON.stringify(v, (_k, x) => typeof x === "bigint" ? `${x}n` : x) &&
      Object.prototype.toString.call(back) === Object.prototype.toString.call(v) &&
      (!(v instanceof Error) || (back instanceof Error && (back as Error).cause !== undefined));
  } catch {
    return false;
  }
}

for (const [label, v] of Object.entries(values)) {
  for (const c of codecs) {
    if (!carries(c, v)) {
      console.log(
        `RESULT codec=${JSON.stringify(c.name)} value=${JSON.stringify(label)} ns=NaN lost`,
      );
      continue;
    }
    let best = Infinity;
    for (let round = 0; round < 5; round++) {
      const n = 20_000;
      const t0 = performance.now();
      for (let i = 0; i < n; i++) c.decode(c.encode(v));
      best = Math.min(best, ((performance.now() - t0) * 1e6) / n);
    }
    console.log(
      `RESULT codec=${JSON.stringify(c.name)} value=${JSON.stringify(label)} ns=${best.toFixed(0)}`,
    );
  }
}
