// The Vercel adapter inside Vercel's own Node launcher: a .func directory (bundle + modules +
// .vc-config.json) served by @vercel/node's startDevServer, the code `vercel dev` runs for Node
// functions, with and without Vercel's helpers.
import { createRequire } from "node:module";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes, sha256, type Echo } from "../support.js";
import { bundle, copyModules, receive, scratch, writeJson } from "./support.js";

interface DevServer {
  port: number;
  pid: number;
  shutdown(): Promise<void>;
}
type StartDevServer = (options: {
  entrypoint: string;
  workPath: string;
  config: Record<string, unknown>;
  meta: Record<string, unknown>;
  files: Record<string, unknown>;
}) => Promise<DevServer | null>;
const { startDevServer } = createRequire(import.meta.url)("@vercel/node") as { startDevServer: StartDevServer };


/** What Vercel's proxy adds before a request reaches a function. */
const proxy = {
  "x-forwarded-host": "wasi-adapter-e2e.vercel.app",
  "x-forwarded-proto": "https",
  "x-forwarded-for": "203.0.113.9",
  "x-vercel-forwarded-for": "203.0.113.9",
  "x-real-ip": "203.0.113.9",
  "x-vercel-id": "arn1::iad1::e2e00-1732330000000-abcdef012345",
};

/** Builds one .func directory: the bundled entry, the modules, and its .vc-config.json. */
async function buildFunc(dir: string, entry: string, modules: string[], shouldAddHelpers: boolean): Promise<string> {
  const func = join(dir, `${entry}-${shouldAddHelpers ? "helpers" : "raw"}.func`);
  await bundle(`${entry}.ts`, join(func, "index.mjs"));
  await copyModules(func, modules);
  await writeJson(join(func, ".vc-config.json"), {
    runtime: "nodejs22.x",
    handler: "index.mjs",
    launcherType: "Nodejs",
    shouldAddHelpers,
    supportsResponseStreaming: true,
    maxDuration: 10,
  });
  return func;
}

async function start(func: string, shouldAddHelpers: boolean): Promise<DevServer> {
  // startDevServer reads the function's settings from `config` (helpers: false is how it is told
  // shouldAddHelpers: false); it does not read .vc-config.json itself.
  const server = await startDevServer({ entrypoint: "index.mjs", workPath: func, config: shouldAddHelpers ? {} : { helpers: false }, meta: {}, files: {} });
  if (!server) throw new Error(`startDevServer did not start ${func}`);
  return server;
}

let work: Awaited<ReturnType<typeof scratch>>;
const servers: Record<string, DevServer> = {};

beforeAll(async () => {
  work = await scratch("vercel");
  const [helpers, raw, web] = await Promise.all([
    buildFunc(work.dir, "vercel-node", ["echo", "headers", "binary", "sse"], true),
    buildFunc(work.dir, "vercel-node", ["echo", "headers", "binary", "sse"], false),
    buildFunc(work.dir, "vercel-web", ["echo"], true),
  ]);
  const [a, b, c] = await Promise.all([start(helpers, true), start(raw, false), start(web, true)]);
  Object.assign(servers, { helpers: a, raw: b, web: c });
});

afterAll(async () => {
  await Promise.all(Object.values(servers).map((server) => server.shutdown()));
  await work?.remove();
});

const call = (server: string, path: string, init: RequestInit = {}) =>
  fetch(`http://127.0.0.1:${servers[server]!.port}${path}`, { ...init, headers: { ...proxy, ...(init.headers as Record<string, string>) } });

describe.each(["helpers", "raw"])("vercel (req, res) in Vercel's launcher, %s", (server) => {
  it("sees the public URL, client and request id", async () => {
    const seen = (await (await call(server, "/api/echo/%E2%9C%93/caf%C3%A9?tag=a&tag=b&q=a%20b")).json()) as Echo;
    expect(seen.path).toBe("/api/echo/✓/café");
    expect(seen.rawQuery).toBe("tag=a&tag=b&q=a%20b");
    expect(seen.query).toEqual({ tag: ["a", "b"], q: ["a b"] });
    expect(seen.host).toBe("wasi-adapter-e2e.vercel.app");
    expect(seen.tls).toBe(true);
    expect(seen.remoteAddr).toMatch(/^203\.0\.113\.9(:|$)/);
    expect(seen.headers["X-Vercel-Id"]).toEqual([proxy["x-vercel-id"]]);
  });

  it.each([
    ["application/json", '{ "spaced" :  [1, 2],\n "kept": "as sent" }'],
    ["application/x-www-form-urlencoded", "b=2&a=1&a=3"],
    ["text/plain; charset=utf-8", "héllo ✓"],
  ])("passes a %s body byte-exact", async (type, body) => {
    const seen = (await (await call(server, "/api/echo/body", { method: "POST", body, headers: { "content-type": type } })).json()) as Echo;
    expect(seen.body).toBe(body);
  });

  it.each(["application/octet-stream", "image/png"])("passes a 1 MiB %s body byte-exact", async (type) => {
    const body = randomBytes(1024 * 1024);
    const seen = (await (await call(server, "/api/echo/binary", { method: "PUT", body, headers: { "content-type": type } })).json()) as Echo;
    expect(seen.bodyLength).toBe(body.length);
    expect(seen.bodySha256).toBe(await sha256(body));
  });

  it("answers HEAD without a body", async () => {
    const response = await call(server, "/api/echo/head", { method: "HEAD" });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(await response.text()).toBe("");
  });

  it("keeps three Set-Cookie headers and the status", async () => {
    const response = await call(server, "/api/headers?status=202");
    expect(response.status).toBe(202);
    expect(response.headers.getSetCookie()).toEqual(["a=1; Path=/; HttpOnly", "b=2; Path=/; Secure", "c=3; Path=/; Max-Age=60; SameSite=Lax"]);
  });

  it("returns a binary body byte-exact", async () => {
    const response = await receive(await call(server, "/api/binary?n=300000"));
    expect(response.body.length).toBe(300000);
    expect(await sha256(response.body)).toBe(response.headers.get("x-sha256"));
  });

  it("streams: the first event arrives before the handler returns", async () => {
    const started = performance.now();
    const response = await receive(await call(server, "/api/sse?n=3&ms=300"), started);
    expect(response.text()).toBe("data: 1\n\ndata: 2\n\ndata: 3\n\n");
    expect(response.firstChunkMs!).toBeLessThan(response.endMs - 400);
  });
});

describe("vercel handleFetch in Vercel's launcher", () => {
  it("sees the public URL, client and request id", async () => {
    const seen = (await (await call("web", "/api/echo/%E2%9C%93?x=1&x=2")).json()) as Echo;
    expect(seen).toMatchObject({ path: "/api/echo/✓", rawQuery: "x=1&x=2", host: "wasi-adapter-e2e.vercel.app", tls: true });
    expect(seen.remoteAddr).toMatch(/^203\.0\.113\.9(:|$)/);
    expect(seen.headers["X-Vercel-Id"]).toEqual([proxy["x-vercel-id"]]);
  });

  it("passes a binary body byte-exact", async () => {
    const body = randomBytes(512 * 1024);
    const seen = (await (await call("web", "/api/echo", { method: "POST", body, headers: { "content-type": "application/octet-stream" } })).json()) as Echo;
    expect(seen.bodySha256).toBe(await sha256(body));
  });
});
