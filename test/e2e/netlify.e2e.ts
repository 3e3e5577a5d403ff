// The Netlify adapters inside Netlify's own local runtime: a site with a v2 function and a v1
// (Lambda-compatible) function, served by NetlifyDev from @netlify/dev (installed into
// test/e2e/tools by `npm run e2e:tools`), offline.
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomBytes, sha256, type Echo } from "../support.js";
import { bundle, copyModules, receive, scratch, toolsDir } from "./support.js";

interface NetlifyDevLike {
  start(): Promise<unknown>;
  stop(): Promise<void>;
  handleAndIntrospect(request: Request): Promise<{ response: Response; type: string } | undefined>;
}


const devEntry = join(toolsDir, "node_modules/@netlify/dev/dist/main.js");
let dev: NetlifyDevLike;
let work: Awaited<ReturnType<typeof scratch>>;

beforeAll(async () => {
  if (!existsSync(devEntry)) throw new Error("@netlify/dev is not installed: run `npm run e2e:tools` (npm ci --prefix test/e2e/tools)");
  work = await scratch("netlify");
  const site = work.dir;
  await writeFile(join(site, "netlify.toml"), '[build]\npublish = "public"\n');
  await mkdir(join(site, "public"), { recursive: true });
  await writeFile(join(site, "public/index.html"), "<!doctype html><title>site</title>\n");
  const v2 = join(site, "netlify/functions/go-api");
  await bundle("netlify-v2.ts", join(v2, "go-api.mjs"));
  await copyModules(v2, ["echo", "headers", "binary", "sse"]);
  const v1 = join(site, "netlify/functions/go-lambda");
  await bundle("netlify-lambda.ts", join(v1, "go-lambda.mjs"));

  const { NetlifyDev } = (await import(pathToFileURL(devEntry).href)) as { NetlifyDev: new (options: object) => NetlifyDevLike };
  dev = new NetlifyDev({
    projectRoot: site,
    // the address of a framework dev server, if any: nothing listens there, only functions answer
    serverAddress: "http://127.0.0.1:9",
    edgeFunctions: { enabled: false },
    geolocation: { enabled: false },
    images: { enabled: false },
    environmentVariables: { enabled: false },
    blobs: { enabled: false },
    database: { enabled: false },
    aiGateway: { enabled: false },
    logger: { log: () => {}, warn: () => {}, error: (...args: unknown[]) => console.error(...args) },
  });
  await dev.start();
});

afterAll(async () => {
  await dev?.stop();
  await work?.remove();
});

/** A request as it arrives at Netlify's edge from a client. */
async function call(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("x-forwarded-for", "198.51.100.20");
  const request = new Request(`https://wasi-adapter-e2e.netlify.app${path}`, { ...init, headers });
  const matched = await dev.handleAndIntrospect(request);
  if (!matched) throw new Error(`NetlifyDev matched nothing for ${path}`);
  expect(matched.type).toBe("function");
  return matched.response;
}

describe("netlify v2 in NetlifyDev", () => {
  it("sees the URL, client and request id", async () => {
    const seen = (await (await call("/api/echo/%E2%9C%93/caf%C3%A9?tag=a&tag=b&q=a%20b")).json()) as Echo;
    expect(seen.path).toBe("/api/echo/✓/café");
    expect(seen.rawQuery).toBe("tag=a&tag=b&q=a%20b");
    expect(seen.query).toEqual({ tag: ["a", "b"], q: ["a b"] });
    expect(seen.host).toBe("wasi-adapter-e2e.netlify.app");
    expect(seen.tls).toBe(true);
    expect(seen.remoteAddr).toMatch(/^198\.51\.100\.20(:|$)/);
    expect(seen.headers["X-Nf-Request-Id"]?.[0]).toMatch(/^\w{10,}$/);
  });

  it("passes a text body and the method", async () => {
    const seen = (await (await call("/api/echo/body", { method: "PATCH", body: "héllo ✓", headers: { "content-type": "text/plain; charset=utf-8" } })).json()) as Echo;
    expect(seen).toMatchObject({ method: "PATCH", body: "héllo ✓" });
  });

  it("keeps three Set-Cookie headers and the status", async () => {
    const response = await call("/api/headers?status=202");
    expect(response.status).toBe(202);
    expect(response.headers.getSetCookie()).toEqual(["a=1; Path=/; HttpOnly", "b=2; Path=/; Secure", "c=3; Path=/; Max-Age=60; SameSite=Lax"]);
  });

  it("returns a binary body byte-exact", async () => {
    const response = await receive(await call("/api/binary?n=300000"));
    expect(response.body.length).toBe(300000);
    expect(await sha256(response.body)).toBe(response.headers.get("x-sha256"));
  });

  it("streams: the first event arrives before the handler returns", async () => {
    const started = performance.now();
    const response = await receive(await call("/api/sse?n=3&ms=300"), started);
    expect(response.text()).toBe("data: 1\n\ndata: 2\n\ndata: 3\n\n");
    expect(response.firstChunkMs!).toBeLessThan(response.endMs - 400);
  });
});

describe("netlify lambda in NetlifyDev", () => {
  it("sees the URL, client and a text body", async () => {
    const response = await call("/.netlify/functions/go-lambda/echo?tag=a&tag=b", { method: "POST", body: "lambda ✓", headers: { "content-type": "text/plain" } });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    const seen = (await response.json()) as Echo;
    expect(seen).toMatchObject({ method: "POST", path: "/.netlify/functions/go-lambda/echo", body: "lambda ✓", tls: true, host: "wasi-adapter-e2e.netlify.app" });
    expect(seen.query).toEqual({ tag: ["a", "b"] });
    expect(seen.remoteAddr).toMatch(/^198\.51\.100\.20(:|$)/);
  });

  it("returns a binary body base64-encoded with isBase64Encoded (NetlifyDev passes it on undecoded)", async () => {
    const response = await call("/.netlify/functions/go-lambda/binary?n=3000");
    const text = await response.text();
    const bytes = Buffer.from(text, "base64");
    expect(bytes.length).toBe(3000);
    expect(bytes.toString("base64")).toBe(text);
    expect(await sha256(bytes)).toBe(response.headers.get("x-sha256"));
  });

  it("keeps a request body it can only get as text", async () => {
    // NetlifyDev reads the request body as text and marks it base64 by content type; a body
    // whose bytes are valid UTF-8 and sent as text survives, arbitrary bytes do not (a tool limit).
    const body = randomBytes(64).reduce((text, byte) => text + String.fromCharCode(97 + (byte % 26)), "");
    const seen = (await (await call("/.netlify/functions/go-lambda/echo", { method: "POST", body, headers: { "content-type": "application/json" } })).json()) as Echo;
    expect(seen.body).toBe(body);
  });
});
