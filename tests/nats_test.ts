// Channels over NATS against a real nats-server (one per test, on loopback): the same tests as
// the local transports (order per sender, end of stream, timeouts, bad input), and what only a
// broker has: a receiver restarted from its durable consumer loses nothing, the broker killed
// and restarted mid-stream, a broker that never comes back fails the channel clearly.
import assert from "node:assert/strict";
import { ClosedError, END_OF_STREAM, ErrnoError, jsonCodec } from "../mod.ts";
import { jetStreamChannel, natsSubjectChannel } from "../src/nats.ts";
import { NATS_SERVER, natsServer } from "../tools/nats_server.ts";
import { natsTest, ROOT, within } from "./_helpers.ts";

const PEER = `${ROOT}tests/fixtures/nats_peer.ts`;

if (NATS_SERVER === undefined) console.error("NATS tests skipped: nats-server is not installed");

natsTest(
  "subject: two senders, each one's order kept; the stream ends after both end",
  async () => {
    await using server = await natsServer();
    await using rx = await natsSubjectChannel(server.url, "jobs.a", "receive", {
      codec: jsonCodec,
      senders: 2,
    });
    const send = async (who: string): Promise<void> => {
      await using tx = await natsSubjectChannel(server.url, "jobs.a", "send", { codec: jsonCodec });
      for (let n = 0; n < 500; n++) {
        if (n % 2 === 0) await tx.send({ who, n });
        else {while (tx.trySend({ who, n }) !== undefined) {
            await new Promise((r) => setTimeout(r, 1));
          }}
      }
      await tx.end();
    };
    const sending = Promise.all([send("a"), send("b")]);
    const next: Record<string, number> = { a: 0, b: 0 };
    for (let m = await rx.receive({ timeout: 30_000 }); m !== END_OF_STREAM;) {
      const { who, n } = m as { who: string; n: number };
      assert.equal(n, next[who], `${who}'s messages in order`);
      next[who] = n + 1;
      m = await rx.receive({ timeout: 30_000 });
    }
    await sending;
    assert.deepEqual(next, { a: 500, b: 500 });
    assert.equal(rx.tryReceive(), END_OF_STREAM);
  },
);

natsTest("subject: a timed-out or aborted receive takes nothing", async () => {
  await using server = await natsServer();
  await using rx = await natsSubjectChannel(server.url, "t", "receive", { codec: jsonCodec });
  await using tx = await natsSubjectChannel(server.url, "t", "send", { codec: jsonCodec });
  const e = await rx.receive({ timeout: 30 }).catch((x: unknown) => x);
  assert.ok(e instanceof DOMException && e.name === "TimeoutError", `${e}`);
  const ac = new AbortController();
  const pending = rx.receive({ signal: ac.signal });
  ac.abort(new Error("stop"));
  await assert.rejects(pending, /stop/);
  await tx.send("kept");
  assert.equal(await rx.receive({ timeout: 10_000 }), "kept");
  // Empty messages are fine here: the end is a header, not an empty message.
  // Closing ends a pending receive with ClosedError.
  const other = await natsSubjectChannel(server.url, "t.other", "receive");
  const pendingClose = other.receive({ timeout: 30_000 }).catch((x: unknown) => x);
  other.close();
  assert.ok((await pendingClose) instanceof ClosedError);
  await using raw = await natsSubjectChannel(server.url, "t", "send");
  await raw.send(new Uint8Array(0));
  await assert.rejects(
    rx.receive({ timeout: 10_000 }),
    SyntaxError,
    "an empty message is not JSON",
  );
});

natsTest("bad arguments throw before anything connects", async () => {
  // Nothing listens on port 1: a connection attempt would be a different error.
  const nowhere = "nats://127.0.0.1:1";
  const bad: Array<() => Promise<unknown>> = [
    () => natsSubjectChannel(nowhere, "a b", "send"),
    () => natsSubjectChannel(nowhere, "a.*", "send"),
    () => natsSubjectChannel(nowhere, "a..b", "send"),
    () => natsSubjectChannel(nowhere, "", "send"),
    () => natsSubjectChannel(nowhere, 7 as unknown as string, "send"),
    () => natsSubjectChannel(nowhere, "a", "both" as "send"),
    () => natsSubjectChannel("not a url!", "a", "send"),
    () => natsSubjectChannel({} as never, "a", "send"),
    () => natsSubjectChannel(nowhere, "a", "send", { senders: 0 }),
    () => natsSubjectChannel(nowhere, "a", "send", { codec: {} as never }),
    () => natsSubjectChannel(nowhere, "a", "send", { stream: "s" } as never),
    () => jetStreamChannel(nowhere, "a", "send", { stream: "bad name" }),
    () => jetStreamChannel(nowhere, "a", "send", { ackWaitMs: 1 }),
    () => jetStreamChannel(nowhere, "a", "send", { window: 0 }),
  ];
  for (const f of bad) {
    const e = await f().catch((x: unknown) => x);
    assert.ok(e instanceof TypeError || e instanceof RangeError, `${f}: ${e}`);
  }
});

natsTest(
  "JetStream: a receiver killed mid-stream, restarted on its durable consumer, loses nothing",
  async () => {
    await using server = await natsServer();
    const opts = { codec: jsonCodec, durable: "worker", ackWaitMs: 500 };
    {
      await using tx = await jetStreamChannel(server.url, "orders", "send", opts);
      for (let n = 0; n < 300; n++) {
        if (n % 3 === 0) await tx.send({ n });
        else {
          while (tx.trySend({ n }) !== undefined) await new Promise((r) => setTimeout(r, 1));
        }
      }
      await tx.end();
    }
    // A receiver in another process takes 100 messages, then is killed without closing.
    const first = await within(
      60_000,
      "the first receiver",
      new Deno.Command(Deno.execPath(), {
        args: ["run", "--quiet", "-A", PEER, "take-and-die", server.url, "orders", "worker", "100"],
        stdout: "piped",
      }).output(),
    );
    const seenFirst = new TextDecoder().decode(first.stdout).trim().split("\n").map(Number);
    assert.deepEqual(seenFirst, Array.from({ length: 100 }, (_, i) => i));
    // Its successor gets everything it did not acknowledge (at least once: perhaps the last one
    // it was handed again), in order, then the end.
    await using rx = await jetStreamChannel(server.url, "orders", "receive", opts);
    const rest: number[] = [];
    for (let m = await rx.receive({ timeout: 30_000 }); m !== END_OF_STREAM;) {
      rest.push((m as { n: number }).n);
      m = await rx.receive({ timeout: 30_000 });
    }
    assert.ok(rest[0] !== undefined && rest[0] <= 100, `resumed at ${rest[0]}`);
    const all = new Set([...seenFirst, ...rest]);
    assert.equal(all.size, 300, "every message, once or more");
    for (let i = 1; i < rest.length; i++) {
      assert.ok((rest[i - 1] ?? 0) < (rest[i] ?? 0), "in order");
    }
  },
);

natsTest(
  "JetStream: the broker killed and restarted mid-stream; nothing stored is lost",
  async () => {
    await using server = await natsServer();
    const opts = { codec: jsonCodec, durable: "d", ackWaitMs: 500 };
    await using tx = await jetStreamChannel(server.url, "ledger", "send", opts);
    await using rx = await jetStreamChannel(server.url, "ledger", "receive", opts);
    for (let n = 0; n < 100; n++) await tx.send({ n });
    await server.kill();
    await server.start(); // same port, same store: the stream is still there
    // Sends during and after the outage either succeed or fail clearly; retried until stored.
    for (let n = 100; n < 200; n++) {
      for (let tries = 0;; tries++) {
        try {
          await tx.send({ n }, { timeout: 10_000 });
          break;
        } catch (e) {
          if (tries > 50) throw e;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    }
    await tx.end();
    const got = new Set<number>();
    let last = -1;
    for (let m = await rx.receive({ timeout: 30_000 }); m !== END_OF_STREAM;) {
      const n = (m as { n: number }).n;
      assert.ok(n >= last || got.has(n), "in order, redeliveries aside");
      last = Math.max(last, n);
      got.add(n);
      m = await rx.receive({ timeout: 30_000 });
    }
    assert.equal(got.size, 200);
  },
);

natsTest(
  "a broker that never comes back fails the channel clearly, naming the server",
  async () => {
    await using server = await natsServer();
    const rx = await natsSubjectChannel(server.url, "gone", "receive", { reconnectMs: 500 });
    const tx = await natsSubjectChannel(server.url, "gone", "send", { reconnectMs: 500 });
    await tx.send(new Uint8Array([1]));
    assert.deepEqual(await rx.receive({ timeout: 10_000 }), new Uint8Array([1]));
    const waiting = rx.receive({ timeout: 60_000 }).catch((x: unknown) => x);
    await server.kill();
    const e = await waiting;
    assert.ok(e instanceof ClosedError && e.message.includes("127.0.0.1"), `${e}`);
    assert.throws(() => rx.tryReceive(), ClosedError);
    // The sender fails too, once its client has given up.
    for (
      let i = 0;
      i < 200 && !(await tx.send(new Uint8Array([2])).then(() => false, () => true));
      i++
    ) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await assert.rejects(tx.send(new Uint8Array([3])), ClosedError);
    rx.close();
    tx.close();
    rx.close(); // idempotent
  },
);

Deno.test({
  name: "a silent broker: the factories end at their timeout or abort, naming the server",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    // A TCP server that accepts and never says a word (a NATS server sends INFO first).
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const url = `nats://127.0.0.1:${listener.addr.port}`;
    const accepted: Deno.Conn[] = [];
    const accepting = (async () => {
      for await (const c of listener) accepted.push(c);
    })();
    try {
      for (const make of [natsSubjectChannel, jetStreamChannel]) {
        const e = await within(
          30_000,
          `${make.name} with a timeout`,
          make(url, "silent.a", "receive", { timeout: 300 }).then(() => "made", (x) => x),
        );
        assert.ok(e instanceof DOMException && e.name === "TimeoutError", `${e}`);
        assert.ok(e.message.includes(`127.0.0.1:${listener.addr.port}`), e.message);
      }
      // What the client opened is closed when the timeout passes: each connection ends.
      assert.ok(accepted.length >= 2);
      for (const c of accepted.splice(0)) {
        while ((await within(10_000, "the end", c.read(new Uint8Array(4096)))) !== null) { /**/ }
        c.close();
      }
      for (const make of [natsSubjectChannel, jetStreamChannel]) {
        const ac = new AbortController();
        setTimeout(() => ac.abort(new Error("stop connecting")), 200);
        await assert.rejects(
          within(
            30_000,
            `${make.name} aborted`,
            make(url, "silent.a", "send", { signal: ac.signal }),
          ),
          /stop connecting/,
        );
        await assert.rejects(
          make(url, "silent.a", "send", { signal: AbortSignal.abort(new Error("already")) }),
          /already/,
        );
      }
      // Nobody listening: an error naming the server.
      const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = closed.addr.port;
      closed.close();
      const refused = await natsSubjectChannel(`nats://127.0.0.1:${port}`, "x", "send", {
        timeout: 10_000,
      }).then(() => "made", (x) => x);
      assert.ok(
        refused instanceof ErrnoError && refused.code === "ECONNREFUSED" &&
          refused.syscall === "connect" && refused.message.includes(`127.0.0.1:${port}`),
        `${refused}`,
      );
      // Something that is not a NATS server answers: EPROTO, as for bad bytes from any peer.
      const liar = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const lying = (async () => {
        const c = await liar.accept();
        await c.write(new TextEncoder().encode("HTTP/1.1 400 Bad Request\r\n\r\n"));
        c.close();
      })();
      const proto = await natsSubjectChannel(`nats://127.0.0.1:${liar.addr.port}`, "x", "send", {
        timeout: 10_000,
      }).then(() => "made", (x) => x);
      await lying;
      liar.close();
      assert.ok(
        proto instanceof ErrnoError && proto.code === "EPROTO" &&
          proto.message.includes(`127.0.0.1:${liar.addr.port}`),
        `${proto}`,
      );
      // Bad bounds are refused before anything connects.
      await assert.rejects(natsSubjectChannel(url, "x", "send", { timeout: -1 }), RangeError);
      await assert.rejects(
        natsSubjectChannel(url, "x", "send", { signal: "no" as unknown as AbortSignal }),
        TypeError,
      );
    } finally {
      listener.close();
      await accepting.catch(() => {});
      for (const c of accepted) {
        try {
          c.close();
        } catch {
          // closed already
        }
      }
    }
  },
});
