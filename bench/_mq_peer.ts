// The other process of the message-queue benchmarks.
// usage: _mq_peer.ts posix|sysv MODE IN [OUT] [MARK]
//   sink   receive from IN until a zero-length message; with MARK (a byte count) and OUT, send
//          one message to OUT once that many bytes have come (the end mark of a timed run)
//   sink-sync  the same with the blocking forms (receiveIntoSync: a kernel waiter, as C's)
//   echo   receive from IN and send each message back on OUT, until a zero-length message
// IN and OUT are queue names (posix) or ids (sysv). Each side takes with the try form first
// and waits only when the queue is empty or full, as a throughput-minded caller does.
import { MessageQueue, SysVMessageQueue, WOULD_BLOCK } from "../mod.ts";
import { type Endpoint, endpoint } from "./_mq_io.ts";

const [kind = "", mode = "", inName = "", outName = "", markArg = ""] = Deno.args;
const open = (target: string): Endpoint =>
  endpoint(
    kind === "posix" ? MessageQueue.open(target) : SysVMessageQueue.openId(Number(target)),
  );
const input = open(inName);
const output = outName ? open(outName) : undefined;
const buf = new Uint8Array(65536);
const mark = markArg === "" ? Infinity : Number(markArg);
let total = 0;
const sync = mode === "sink-sync";
for (;;) {
  const got = sync ? input.receiveSync(buf) : input.tryReceive(buf);
  const n = got === WOULD_BLOCK ? await input.receive(buf) : got;
  if (n === 0) break;
  if (mode === "echo" && output) {
    const msg = buf.subarray(0, n);
    if (output.trySend(msg) === WOULD_BLOCK) await output.send(msg);
  } else {
    total += n;
    if (total >= mark && output) {
      if (sync) output.sendSync(new Uint8Array([1]));
      else await output.send(new Uint8Array([1]));
      total = -Infinity;
    }
  }
}
input.close();
output?.close();
