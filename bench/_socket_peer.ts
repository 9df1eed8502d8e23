// The other process of the dipc socket benchmarks. usage: _socket_peer.ts MODE SIZE [PATH]
//   sink   read until end of stream, SIZE bytes at most per receive (one message per read, as
//          the C harness reads; try first, then wait)
//   echo   read SIZE bytes, send them back, repeat until end of stream
// The socket is descriptor 3 (one end of a pair), or with PATH a stream connection to the
// listener there.
import { END_OF_STREAM, UnixSocket, WOULD_BLOCK } from "../mod.ts";
import { receiveExactly, sendAll } from "./_io.ts";

const [mode = "", sizeArg = "64", path = ""] = Deno.args;
const size = Number(sizeArg);
using socket = path === "" ? UnixSocket.fromFd(3) : await UnixSocket.connect(path);
const buf = new Uint8Array(size);

if (mode === "sink") {
  for (;;) {
    const got = socket.tryReceive(buf);
    const r = got === WOULD_BLOCK ? await socket.receive(buf) : got;
    if (r === END_OF_STREAM) break;
  }
} else if (mode === "echo") {
  while (await receiveExactly(socket, buf)) {
    const wait = sendAll(socket, buf);
    if (wait) await wait;
  }
} else {
  throw new Error(`unknown mode ${mode}`);
}
