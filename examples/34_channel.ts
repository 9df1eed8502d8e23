/**
 * 34 · One program, every transport: the same producer and consumer over a ring, two kinds of
 * queue, a socket, a pipe and a NATS broker
 *
 * The producer and the consumer below are written once, against `Channel`: the producer sends
 * 20,000 JSON messages and ends the stream, the consumer counts them and checks their order.
 * Only the line that opens the channel changes from one transport to the next: a ring in shared
 * memory, a POSIX queue, a System V queue, a seqpacket socket pair, a pipe (each between this
 * process and a child it starts), and, when a NATS server is at hand (`DIPC_NATS_URL`, or
 * Debian's `nats-server`, which this example then starts on loopback), a NATS subject and a
 * JetStream stream. Each line prints the messages per second the consumer saw.
 *
 * Run: deno run --allow-ffi --allow-run --allow-env --allow-net=127.0.0.1 --allow-read --allow-write examples/34_channel.ts
 *
 * @module
 */

import {
  Channel,
  jsonCodec,
  MessageQueue,
  Pipe,
  PipeWriter,
  RingChannel,
  spawnDeno,
  SysVMessageQueue,
  UnixSocket,
} from "../mod.ts";
import { jetStreamChannel, natsSubjectChannel } from "../src/nats.ts";

const COUNT = 20_000;
type Job = { n: number; task: string };

/** The producer: the whole of what it knows about the transport is `channel`. */
async function produce(channel: Channel<unknown>): Promise<void> {
  for (let n = 0; n < COUNT; n++) await channel.send({ n, task: `job ${n}` } satisfies Job);
  await channel.end();
}

/** The consumer: counts and checks the order; returns messages per second. */
async function consume(channel: Channel<unknown>): Promise<number> {
  let expected = 0;
  let t0 = 0;
  for await (const m of channel) {
    if (expected === 0) t0 = performance.now();
    const job = m as Job;
    if (job.n !== expected++) throw new Error(`message ${job.n} came when ${expected - 1} was due`);
  }
  if (expected !== COUNT) throw new Error(`${expected} of ${COUNT} messages came`);
  return COUNT / ((performance.now() - t0) / 1000);
}

const codec = { codec: jsonCodec };
const [role, transport = "", address = ""] = Deno.args;

if (role === "produce") {
  // The child: one line per transport opens the channel; produce() is the same for all.
  using channel = transport === "ring"
    ? Channel.ring(RingChannel.open(address), "send", codec)
    : transport === "posix queue"
    ? Channel.posixQueue(MessageQueue.open(address), codec)
    : transport === "System V queue"
    ? Channel.sysvQueue(SysVMessageQueue.openId(Number(address)), codec)
    : transport === "socket"
    ? Channel.socket(UnixSocket.fromFd(3), codec)
    : transport === "pipe"
    ? Channel.pipe({ writer: PipeWriter.fromFd(3) }, codec)
    : transport === "NATS subject"
    ? await natsSubjectChannel(address, "dipc.example", "send", codec)
    : await jetStreamChannel(address, "dipc.example.js", "send", codec);
  await produce(channel);
} else {
  const report = (name: string, perSecond: number): void =>
    console.log(
      `${name.padEnd(16)} ${Math.round(perSecond).toLocaleString("en-US").padStart(9)} messages/s`,
    );
  const child = (transport: string, address: string, fds = {}) =>
    spawnDeno(import.meta.url, {
      args: ["produce", transport, address],
      fds,
      permissions: { ffi: true, net: ["127.0.0.1"], env: true, read: true },
    });

  {
    using ring = RingChannel.temporary({ capacity: 1 << 16 });
    using rx = Channel.ring(RingChannel.open(ring.name), "receive", codec);
    await using producer = child("ring", ring.name);
    report("ring", await consume(rx));
    await producer.status;
  }
  {
    using q = MessageQueue.temporary({ maxMessages: 10, messageSize: 256 });
    using rx = Channel.posixQueue(MessageQueue.open(q.name), codec);
    await using producer = child("posix queue", q.name);
    report("POSIX queue", await consume(rx));
    await producer.status;
  }
  {
    using q = SysVMessageQueue.temporary();
    using rx = Channel.sysvQueue(SysVMessageQueue.openId(q.id), codec);
    await using producer = child("System V queue", String(q.id));
    report("System V queue", await consume(rx));
    await producer.status;
  }
  {
    const [mine, theirs] = UnixSocket.pair({ type: "seqpacket" });
    using rx = Channel.socket(mine, codec);
    await using producer = child("socket", "", { 3: theirs });
    theirs.close();
    report("socket", await consume(rx));
    await producer.status;
  }
  {
    const pipe = Pipe.create();
    using rx = Channel.pipe({ reader: pipe.reader }, codec);
    await using producer = child("pipe", "", { 3: pipe.writer });
    pipe.writer.close();
    report("pipe", await consume(rx));
    await producer.status;
  }

  // NATS: a server named by DIPC_NATS_URL, or one started here if nats-server is installed.
  let url = Deno.env.get("DIPC_NATS_URL");
  let server: Deno.ChildProcess | undefined;
  let store: string | undefined;
  if (url === undefined) {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    store = await Deno.makeTempDir({ prefix: "dipc-example-nats-" });
    for (const bin of ["nats-server", "/usr/sbin/nats-server"]) {
      try {
        server = new Deno.Command(bin, {
          args: ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", store],
          stdout: "null",
          stderr: "null",
        }).spawn();
        url = `nats://127.0.0.1:${port}`;
        break;
      } catch { /* not there */ }
    }
    for (let i = 0; server && i < 200; i++) {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port })).close();
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 25));
      }
    }
  }
  try {
    if (url === undefined) {
      console.log("NATS             skipped: set DIPC_NATS_URL or install nats-server");
    } else {
      {
        await using rx = await natsSubjectChannel(url, "dipc.example", "receive", codec);
        await using producer = child("NATS subject", url);
        report("NATS subject", await consume(rx));
        await producer.status;
      }
      {
        await using rx = await jetStreamChannel(url, "dipc.example.js", "receive", codec);
        await using producer = child("NATS JetStream", url);
        report("NATS JetStream", await consume(rx));
        await producer.status;
      }
    }
  } finally {
    server?.kill();
    await server?.status;
    if (store) await Deno.remove(store, { recursive: true });
  }
}
