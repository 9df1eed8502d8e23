// The other process of the suite's NATS rows: a Deno program on the same loopback nats-server.
//   _nats_peer.ts produce URL SUBJECT SIZE COUNT channel|direct
//        send COUNT messages of SIZE bytes, then the end (through Channel: end(); directly: an
//        empty message), then leave
//   _nats_peer.ts echo URL DOWN UP SIZE channel|direct
//        send every message from DOWN back on UP until an empty one (direct) or the end
import { connect } from "../src/_nats_client.ts";
import { END_OF_STREAM } from "../mod.ts";
import { natsSubjectChannel } from "../src/nats.ts";

const [mode = "", url = "", a = "", b = "", c = "", d = ""] = Deno.args;
if (mode === "produce") {
  const [subject, size, count, how] = [a, Number(b), Number(c), d];
  const msg = new Uint8Array(size).fill(5);
  if (how === "channel") {
    await using tx = await natsSubjectChannel(url, subject, "send");
    // Try first, wait only when the client holds 4 MiB unflushed: as a throughput-minded sender.
    for (let i = 0; i < count; i++) if (tx.trySend(msg) !== undefined) await tx.send(msg);
    await tx.end();
  } else {
    const nc = await connect({ servers: url });
    let unflushed = 0;
    for (let i = 0; i < count; i++) {
      nc.publish(subject, msg.slice());
      if ((unflushed += size) >= 4 << 20) {
        await nc.flush();
        unflushed = 0;
      }
    }
    nc.publish(subject, new Uint8Array(0));
    await nc.flush();
    await nc.close();
  }
} else if (mode === "echo") {
  const [down, up, how] = [a, b, d];
  if (how === "channel") {
    const nc = await connect({ servers: url }); // one connection for both, as directly
    using rx = await natsSubjectChannel(nc, down, "receive");
    using tx = await natsSubjectChannel(nc, up, "send");
    console.log("ready");
    for (let m = await rx.receive(); m !== END_OF_STREAM; m = await rx.receive()) {
      if (tx.trySend(m) !== undefined) await tx.send(m);
    }
    await nc.close();
  } else {
    const nc = await connect({ servers: url });
    const sub = nc.subscribe(down);
    await nc.flush();
    console.log("ready");
    for await (const m of sub) {
      if (m.data.length === 0) break;
      nc.publish(up, m.data);
    }
    await nc.close();
  }
} else {
  throw new Error(`unknown mode ${mode}`);
}
