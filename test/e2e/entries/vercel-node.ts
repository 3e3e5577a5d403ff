// A Vercel Node.js function as a user would write it: the (req, res) adapter over Go modules
// copied into the .func directory. /api/<name>/… picks the module <name>.wasm.
import { fileURLToPath } from "node:url";
import { handle } from "../../../src/adapters/vercel/index.js";

const module = (name: string) => fileURLToPath(new URL(`./${name}.wasm`, import.meta.url));
const apps = {
  echo: handle({ wasm: module("echo") }),
  headers: handle({ wasm: module("headers") }),
  binary: handle({ wasm: module("binary") }),
  sse: handle({ wasm: module("sse") }),
};

export default function (req: Parameters<typeof apps.echo>[0], res: Parameters<typeof apps.echo>[1]) {
  const name = new URL(req.url ?? "/", "http://localhost").pathname.split("/")[2] as keyof typeof apps;
  const app = apps[name];
  if (!app) {
    res.statusCode = 404;
    res.end("no such app\n");
    return;
  }
  return app(req, res);
}
