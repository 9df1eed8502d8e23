// The Deno.serve side of the web server benchmark: one process answering what example 31's
// workers answer (the same body), on 127.0.0.1:PORT. usage: _http_peer.ts PORT
const port = Number(Deno.args[0] ?? 8080);
Deno.serve({ port, hostname: "127.0.0.1", onListen: () => {} }, (req) => {
  const path = new URL(req.url).pathname;
  return new Response(`hello from worker ${Deno.pid}, you asked for ${path}\n`, {
    headers: { "content-type": "text/plain" },
  });
});
