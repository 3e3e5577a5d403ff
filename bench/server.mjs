// One benchmark server: `node bench/server.mjs <js|persistent|cgi> <port>`.
// "js" answers the hello fixture's JSON in plain JavaScript (the ceiling for anything hosted in
// Node); the others serve the hello fixture through wasi-adapter's Node adapter.
// GET /__stats answers {"served": n, "rss": bytes, "heap": bytes | null} without touching Go.
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";

const [kind, portText] = process.argv.slice(2);
const root = fileURLToPath(new URL("../", import.meta.url));
let served = 0;

async function listener() {
  if (kind === "js") {
    return (req, res) => {
      const name = new URL(req.url, "http://x").searchParams.get("name") ?? "world";
      const body = JSON.stringify({ message: `hello, ${name}` });
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      res.end(body);
    };
  }
  const { createHandler } = await import(`${root}dist/index.js`);
  const { handle } = await import(`${root}dist/adapters/node/index.js`);
  const wasm = `${root}fixtures/.build/hello${kind === "persistent" ? ".persistent" : ""}.wasm`;
  const handler = createHandler({ wasm, mode: kind, poolSize: Number(process.env.POOL) || undefined, logger: { stderr: () => {}, error: (m) => console.error(m) } });
  // No `await handler.ready()`: the server listens at once and a first request waits for the
  // instance, as the first invocation of a serverless function does.
  return handle(handler);
}

const serve = await listener();
createServer((req, res) => {
  if (req.url === "/__stats") {
    res.writeHead(200, { "content-type": "application/json" });
    const { rss } = process.memoryUsage();
    // With --expose-gc: the JS heap that survives a full GC (a leak shows here, V8's sizing does not).
    // Not in the RSS runs: a forced full GC brings V8's growth of the young generation forward.
    globalThis.gc?.();
    return res.end(JSON.stringify({ served, rss, heap: globalThis.gc ? process.memoryUsage().heapUsed : null }));
  }
  served++;
  serve(req, res);
}).listen(Number(portText), "127.0.0.1", () => console.log("listening"));
process.on("SIGTERM", () => process.exit(0));
