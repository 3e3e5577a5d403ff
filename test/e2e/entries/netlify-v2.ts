// A Netlify Functions v2 function: each module is read next to the bundle (Netlify's file
// tracer follows `new URL(..., import.meta.url)` and ships it). /api/<name>/… picks <name>.wasm.
import { readFileSync } from "node:fs";
import { handle } from "../../../src/adapters/netlify/index.js";

const names = ["echo", "headers", "binary", "sse"] as const;
const wasm: Record<(typeof names)[number], URL> = {
  echo: new URL("./echo.wasm", import.meta.url),
  headers: new URL("./headers.wasm", import.meta.url),
  binary: new URL("./binary.wasm", import.meta.url),
  sse: new URL("./sse.wasm", import.meta.url),
};
const apps = new Map<string, ReturnType<typeof handle>>();

export default (req: Request, context: Parameters<ReturnType<typeof handle>>[1]) => {
  const name = new URL(req.url).pathname.split("/")[2] as (typeof names)[number];
  if (!names.includes(name)) return new Response("no such app\n", { status: 404 });
  let app = apps.get(name);
  if (!app) apps.set(name, (app = handle({ wasm: readFileSync(wasm[name]) })));
  return app(req, context);
};

export const config = { path: ["/api/echo/*", "/api/headers", "/api/binary", "/api/sse"] };
