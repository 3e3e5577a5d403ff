// What only the Vercel adapter does: bodies Vercel's helpers already parsed, client facts from
// Vercel's headers, the Web form behind Vercel's internal URL.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { parse as parseQuery } from "node:querystring";
import { afterAll, describe, expect, it } from "vitest";
import { handle, handleFetch } from "../../src/adapters/vercel/index.js";
import { fixture, logged, open, randomBytes, sha256 } from "../support.js";
import { httpSend, type TestRequest } from "./drivers.js";

const echo = open({ wasm: fixture("echo", "persistent"), mode: "persistent", poolSize: 1 });

interface Seen {
  body?: string;
  bodyLength: number;
  bodySha256: string;
  contentLength: number;
  remoteAddr: string;
  host: string;
  tls: boolean;
  headers: Record<string, string[]>;
}

const servers: Server[] = [];
afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** Serves the Vercel adapter after `prepare` did to req what a platform layer would. */
async function serveWith(prepare: (req: IncomingMessage, res: ServerResponse) => Promise<void> | void): Promise<number> {
  const adapter = handle(echo);
  const server = createServer(async (req, res) => {
    await prepare(req, res);
    await adapter(req as Parameters<typeof adapter>[0], res as Parameters<typeof adapter>[1]);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

/** Reads the whole stream, then leaves only `parsed` as req.body (no replay): an older launcher. */
function drainTo(parse: (raw: Buffer, type: string) => unknown) {
  return async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const value = parse(raw, req.headers["content-type"] ?? "");
    Object.defineProperty(req, "body", { configurable: true, enumerable: true, get: () => value });
  };
}

const post = (body: string | Uint8Array, type: string): TestRequest => ({ method: "POST", path: "/api/echo", body, headers: [["content-type", type]] });

describe("vercel adapter: bodies the platform already parsed", () => {
  it("serializes a parsed JSON body again (same data, compact)", async () => {
    const port = await serveWith(drainTo((raw) => JSON.parse(raw.toString())));
    const seen = (await httpSend(port, post('{ "name": "ada",\n  "langs": ["go", "ts"] }', "application/json"), [])).json<Seen>();
    expect(seen.body).toBe('{"name":"ada","langs":["go","ts"]}');
    expect(seen.contentLength).toBe(seen.body!.length);
  });

  it("serializes a parsed form body again, repeated keys kept", async () => {
    const port = await serveWith(drainTo((raw) => parseQuery(raw.toString())));
    const seen = (await httpSend(port, post("a=1&b=x+y&a=2", "application/x-www-form-urlencoded"), [])).json<Seen>();
    expect(new URLSearchParams(seen.body).getAll("a")).toEqual(["1", "2"]);
    expect(new URLSearchParams(seen.body).get("b")).toBe("x y");
  });

  it("passes a parsed Buffer or string as is", async () => {
    const bytes = randomBytes(5000);
    const port = await serveWith(drainTo((raw, type) => (type.startsWith("text/") ? raw.toString() : raw)));
    const binary = (await httpSend(port, post(bytes, "application/octet-stream"), [])).json<Seen>();
    expect(binary.bodySha256).toBe(await sha256(bytes));
    const text = (await httpSend(port, post("héllo ✓", "text/plain"), [])).json<Seen>();
    expect(text.body).toBe("héllo ✓");
  });

  it("refuses with the fix when the body was consumed and not kept", async () => {
    const port = await serveWith(drainTo(() => undefined));
    const response = await httpSend(port, post(randomBytes(100), "image/png"), []);
    expect(response.status).toBe(500);
    expect(response.text()).toMatch(/consumed before the function ran[\s\S]*shouldAddHelpers": false/);
    expect(logged(echo.log, /^wasi-adapter: 500 POST \/api\/echo: the request body \(image\/png\) was consumed before the function ran/)).toHaveLength(1);
  });

  it("answers 400 when the helpers cannot parse what they consumed", async () => {
    // The getter throws when the adapter reads req.body.
    const broken = await serveWith(async (req) => {
      for await (const _ of req);
      Object.defineProperty(req, "body", {
        configurable: true,
        get: () => {
          throw new Error("Invalid JSON");
        },
      });
    });
    const response = await httpSend(broken, post("{nope", "application/json"), []);
    expect(response.status).toBe(400);
    expect(response.text()).toMatch(/Invalid JSON/);
    expect(logged(echo.log, /^wasi-adapter: 400 POST \/api\/echo: .*Invalid JSON/)).toHaveLength(1);
  });

  it("reads an untouched stream even when req.body is set", async () => {
    const port = await serveWith((req) => {
      Object.assign(req, { body: { ignored: true } });
    });
    const seen = (await httpSend(port, post("raw bytes win", "application/json"), [])).json<Seen>();
    expect(seen.body).toBe("raw bytes win");
  });
});

describe("vercel adapter: client facts", () => {
  it("prefers x-vercel-forwarded-for, then x-forwarded-for, then the socket", async () => {
    const port = await serveWith(() => {});
    const both = (await httpSend(port, { path: "/api/echo", headers: [["x-vercel-forwarded-for", "198.51.100.1"], ["x-forwarded-for", "192.0.2.1, 10.0.0.1"]] }, [])).json<Seen>();
    expect(both.remoteAddr).toMatch(/^198\.51\.100\.1(:|$)/);
    const xff = (await httpSend(port, { path: "/api/echo", headers: [["x-forwarded-for", "192.0.2.1, 10.0.0.1"]] }, [])).json<Seen>();
    expect(xff.remoteAddr).toMatch(/^192\.0\.2\.1(:|$)/);
    const none = (await httpSend(port, { path: "/api/echo" }, [])).json<Seen>();
    expect(none.remoteAddr).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(none.tls).toBe(false);
  });

  it("handleFetch rebuilds the public URL from Vercel's forwarded headers", async () => {
    const adapter = handleFetch(echo);
    const request = new Request("http://127.0.0.1:3000/api/echo?x=1", {
      headers: { "x-forwarded-proto": "https", "x-forwarded-host": "my-app.vercel.app", "x-vercel-forwarded-for": "203.0.113.50", "x-vercel-id": "fra1::xyz" },
    });
    const seen = (await (await adapter(request)).json()) as Seen & { url: string; rawQuery: string };
    expect(seen).toMatchObject({ host: "my-app.vercel.app", tls: true, rawQuery: "x=1" });
    expect(seen.remoteAddr).toMatch(/^203\.0\.113\.50(:|$)/);
    expect(seen.headers["X-Vercel-Id"]).toEqual(["fra1::xyz"]);
    // A forwarded host that would smuggle a path is ignored.
    const smuggled = await adapter(new Request("http://127.0.0.1:3000/api/echo", { headers: { "x-forwarded-host": "evil.test/x?" } }));
    expect(((await smuggled.json()) as Seen).host).toBe("127.0.0.1:3000");
  });

  it("handleFetch answers and logs 400 for a request it cannot rebuild (its body already read)", async () => {
    const request = new Request("http://127.0.0.1:3000/api/echo?x=1", { method: "POST", body: "read", headers: { "x-forwarded-host": "my-app.vercel.app" } });
    await request.text();
    const response = await handleFetch(echo)(request);
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/^the request cannot be served: /);
    expect(logged(echo.log, /^wasi-adapter: 400 POST \/api\/echo: the request cannot be served: /)).toHaveLength(1);
  });
});
