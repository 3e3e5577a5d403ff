// One conformance suite, run through every adapter: each driver feeds the adapter what its
// platform would (Requests, real IncomingMessage/ServerResponse pairs over a socket, Netlify
// Contexts and Lambda events) and every expectation is written once.
import { afterAll, describe, expect, it } from "vitest";
import { fixture, open, randomBytes, sha256, type Echo } from "../support.js";
import { allDrivers, type Driver, type TestRequest, type TestResponse } from "./drivers.js";


const persistent = (name: string, options: Record<string, unknown> = {}) =>
  open({ wasm: fixture(name, "persistent"), mode: "persistent", poolSize: 1, ...options });

const apps = {
  echo: persistent("echo"),
  echoCgi: open({ wasm: fixture("echo", "cgi"), mode: "cgi", poolSize: 2 }),
  echoSmall: persistent("echo", { maxBodyBytes: 1024 }),
  headers: persistent("headers"),
  status: persistent("status"),
  binary: persistent("binary"),
  large: persistent("large"),
  sse: persistent("sse"),
  sseCut: persistent("sse", { timeoutMs: 500 }),
  redirect: open({ wasm: fixture("redirect", "cgi"), mode: "cgi", poolSize: 1 }),
  panic: open({ wasm: fixture("panic", "cgi"), mode: "cgi", poolSize: 1 }),
  exit3: persistent("exit3"),
  sleep: persistent("sleep", { timeoutMs: 300 }),
  cancel: persistent("cancel"),
};

/**
 * One quick request first, so the instance that will be replaced after a timeout has served
 * before (see the report: a persistent instance lost on its first request counts as a failed
 * start, and a few of those mark the module broken).
 */
const warm = async (app: (typeof apps)[keyof typeof apps], path: string) => {
  const response = await app.fetch(new Request(`http://localhost${path}`));
  await response.arrayBuffer();
};

const header = (response: TestResponse, name: string) => response.headers[name]?.join(", ");
/** A header value as HTTP carries it and Node and Fetch hold it: one character per byte of its UTF-8. */
const onTheWire = (text: string) => Buffer.from(text).toString("latin1");

describe.each(allDrivers().map((driver) => [driver.name, driver] as [string, Driver]))("%s", (_name, driver) => {
  afterAll(() => driver.close());
  const send = (app: (typeof apps)[keyof typeof apps], request: TestRequest) => driver.send(app, request);

  describe.each([
    ["persistent", apps.echo],
    ["cgi", apps.echoCgi],
  ] as const)("echo (%s)", (_mode, echo) => {
    const ask = async (request: TestRequest) => {
      const response = await send(echo, request);
      expect(response.error).toBeUndefined();
      expect(response.status).toBe(200);
      return response.json<Echo>();
    };

    it.each(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])("passes the method %s", async (method) => {
      const body = method === "GET" || method === "OPTIONS" ? undefined : `body of ${method} ✓`;
      const headers: [string, string][] = body ? [["content-type", "text/plain; charset=utf-8"]] : [];
      const seen = await ask({ method, path: "/api/echo", body, headers });
      expect(seen.method).toBe(method);
      expect(seen.body).toBe(body ?? "");
      if (body) expect(seen.contentLength).toBe(Buffer.byteLength(body));
    });

    it("answers HEAD with headers and no body", async () => {
      const response = await send(echo, { method: "HEAD", path: "/api/echo" });
      expect(response.status).toBe(200);
      expect(header(response, "content-type")).toBe("application/json");
      expect(response.body.length).toBe(0);
    });

    it("passes the URL: repeated query keys, percent-encoded unicode path, host, scheme, client", async () => {
      const request: TestRequest = { path: "/api/echo/%E2%9C%93/caf%C3%A9/a%2Fb?tag=a&tag=b&q=a%20b&u=%C3%A5&empty=" };
      const seen = await ask(request);
      expect(seen.path).toBe("/api/echo/✓/café/a/b");
      expect(seen.rawQuery).toBe("tag=a&tag=b&q=a%20b&u=%C3%A5&empty=");
      expect(seen.query).toEqual({ tag: ["a", "b"], q: ["a b"], u: ["å"], empty: [""] });
      expect(seen.host).toBe("app.example.test");
      expect(seen.tls).toBe(driver.knowsHttps);
      expect(seen.remoteAddr.startsWith(driver.expectedClient(request))).toBe(true);
      const plain = await ask({ path: "/api/echo", https: false, host: "plain.example.test:8080" });
      expect(plain.tls).toBe(false);
      expect(plain.host).toBe("plain.example.test:8080");
    });

    it("passes every header (repeats joined), never Proxy or hop-by-hop headers", async () => {
      const seen = await ask({
        path: "/api/echo",
        headers: [
          ["X-Custom", "one"],
          ["Accept", "application/json"],
          ["User-Agent", "wasi-adapter-conformance"],
          ["Accept-Language", "sv-SE, en;q=0.8"],
          ["Cookie", "a=1; b=2"],
          ["X-Repeated", "first"],
          ["X-Repeated", "second"],
          ["X-Unicode-Free", "caf%C3%A9"],
          ["Proxy", "http://evil.test"],
        ],
      });
      expect(seen.headers["X-Custom"]).toEqual(["one"]);
      expect(seen.headers["Accept"]).toEqual(["application/json"]);
      expect(seen.headers["User-Agent"]).toEqual(["wasi-adapter-conformance"]);
      expect(seen.headers["Accept-Language"]).toEqual(["sv-SE, en;q=0.8"]);
      expect(seen.headers["Cookie"]).toEqual(["a=1; b=2"]);
      expect(seen.headers["X-Repeated"]).toEqual(["first, second"]);
      expect(seen.headers["X-Unicode-Free"]).toEqual(["caf%C3%A9"]);
      expect(seen.headers["Proxy"]).toBeUndefined();
      expect(seen.headers["X-Name"]).toBeUndefined();
      if (driver.requestIdHeader) {
        const [name, value] = driver.requestIdHeader;
        expect(seen.headers[name]).toEqual([value]);
      }
    });

    it("passes a UTF-8 header value to Go as the bytes the client sent", async () => {
      const seen = await ask({ path: "/api/echo", headers: [["X-Name", onTheWire("José ✓")]] });
      expect(seen.headers["X-Name"]).toEqual(["José ✓"]);
    });

    it("passes a binary body byte-exact, with and without Content-Length", async () => {
      const body = randomBytes(256 * 1024);
      const headers: [string, string][] = [["content-type", "application/octet-stream"]];
      for (const chunked of [false, true]) {
        const seen = await ask({ method: "POST", path: "/api/echo", body, headers, chunked });
        expect(seen.bodyLength).toBe(body.length);
        expect(seen.contentLength).toBe(body.length);
        expect(seen.bodySha256).toBe(await sha256(body));
      }
    });

    it("passes a 4 MB body", async () => {
      const body = randomBytes(4 * 1024 * 1024);
      const seen = await ask({ method: "PUT", path: "/api/echo", body, headers: [["content-type", "application/octet-stream"]] });
      expect(seen.bodyLength).toBe(body.length);
      expect(seen.bodySha256).toBe(await sha256(body));
    });
  });

  it("keeps the status, three Set-Cookie headers and a repeated header", async () => {
    const response = await send(apps.headers, { path: "/api/headers?status=202" });
    expect(response.status).toBe(202);
    expect(response.headers["set-cookie"]).toEqual(["a=1; Path=/; HttpOnly", "b=2; Path=/; Secure", "c=3; Path=/; Max-Age=60; SameSite=Lax"]);
    expect(header(response, "x-multi")).toBe("one, two");
    expect(response.text()).toBe("headers");
  });

  it("returns a binary body byte-exact", async () => {
    const response = await send(apps.binary, { path: "/api/binary?n=200000" });
    expect(response.status).toBe(200);
    expect(response.body.length).toBe(200000);
    expect(await sha256(response.body)).toBe(header(response, "x-sha256"));
  });

  it("returns a 10 MiB body exactly", async () => {
    const response = await send(apps.large, { path: "/api/large" });
    expect(response.error).toBeUndefined();
    expect(response.body.length).toBe(10 * 1024 * 1024);
    const expected = new Uint8Array(response.body.length).map((_, i) => i % 251);
    expect(Buffer.compare(response.body, expected)).toBe(0);
  });

  it("passes client redirects on and serves local redirects (CGI)", async () => {
    const found = await send(apps.redirect, { path: "/api/redirect/client" });
    expect(found.status).toBe(302);
    expect(header(found, "location")).toBe("https://example.com/elsewhere");
    const moved = await send(apps.redirect, { path: "/api/redirect/client-status" });
    expect(moved.status).toBe(301);
    expect(header(moved, "location")).toBe("https://example.com/moved");
    const local = await send(apps.redirect, { method: "POST", path: "/api/redirect/local", body: "x", headers: [["content-type", "text/plain"]] });
    expect(local.status).toBe(200);
    expect(local.text()).toBe("target from=local GET");
  });

  it.each([100, 103, 200, 201, 202, 204, 206, 301, 302, 303, 304, 307, 308, 400, 401, 403, 404, 405, 409, 410, 418, 422, 429, 500, 501, 502, 503, 504, 599])(
    "sends status %i",
    async (code) => {
      const response = await send(apps.status, { path: `/api/status?code=${code}` });
      // An informational status cannot end a response: the core answers 200.
      expect(response.status).toBe(code < 200 ? 200 : code);
      expect(response.text()).toBe(code < 200 || code === 204 || code === 304 ? "" : `status ${code}`);
    },
  );

  it(driver.streams ? "streams: the first event arrives before the handler returns" : "buffers the whole stream into one answer", async () => {
    const response = await send(apps.sse, { path: "/api/sse?n=3&ms=300" });
    expect(response.status).toBe(200);
    expect(header(response, "content-type")).toBe("text/event-stream");
    expect(response.text()).toBe("data: 1\n\ndata: 2\n\ndata: 3\n\n");
    expect(response.endMs).toBeGreaterThanOrEqual(550);
    if (driver.streams) expect(response.firstChunkMs!).toBeLessThan(response.endMs - 400);
    else expect(response.firstChunkMs).toBeUndefined();
  });

  it("refuses a body over the limit with 413, declared or streamed", async () => {
    const body = randomBytes(2048);
    const headers: [string, string][] = [["content-type", "application/octet-stream"]];
    for (const chunked of [false, true]) {
      const response = await send(apps.echoSmall, { method: "POST", path: "/api/echo", body, headers, chunked });
      expect(response.status).toBe(413);
      expect(response.text()).toMatch(/larger than the limit of 1024 bytes/);
    }
    const fits = await send(apps.echoSmall, { method: "POST", path: "/api/echo", body: body.subarray(0, 1000), headers });
    expect(fits.status).toBe(200);
  });

  it("answers 502 when the Go program fails: a panic (CGI), os.Exit (persistent)", async () => {
    const panicked = await send(apps.panic, { path: "/api/panic" });
    expect(panicked.status).toBe(502);
    expect(panicked.text()).toMatch(/panicked/);
    const exited = await send(apps.exit3, { path: "/api/exit3" });
    expect(exited.status).toBe(502);
    expect(exited.text()).toMatch(/exit/);
  });

  it("answers 502 for a header value no response can carry, logged once, and goes on serving", async () => {
    const logged = apps.headers.log.errors.length;
    const response = await send(apps.headers, { path: "/api/headers?value=%01" });
    expect(response.status).toBe(502);
    expect(response.text()).toContain('the Go program wrote a bad CGI response: invalid CGI header "X-Value: \\u0001"');
    expect(apps.headers.log.errors.slice(logged)).toHaveLength(1);
    expect(apps.headers.log.errors.at(-1)).toMatch(/^wasi-adapter: 502 GET \/api\/headers: the Go program wrote a bad CGI response/);
    const next = await send(apps.headers, { path: "/api/headers?value=fine" });
    expect(next.status).toBe(201);
    expect(header(next, "x-value")).toBe("fine");
  });

  it("sends a header value as the bytes Go wrote: UTF-8 arrives as UTF-8", async () => {
    const response = await send(apps.headers, { path: "/api/headers?value=caf%C3%A9%20%E2%9C%93" });
    expect(response.status).toBe(201);
    expect(header(response, "x-value")).toBe(onTheWire("café ✓"));
  });

  it("answers 504 when the Go handler runs out of time", async () => {
    await warm(apps.sleep, "/api/sleep?ms=1");
    const response = await send(apps.sleep, { path: "/api/sleep?ms=3000" });
    expect(response.status).toBe(504);
    expect(response.text()).toMatch(/did not finish within 300 ms/);
  });

  it(driver.streams ? "breaks the response when Go fails after it started" : "answers 502 when Go fails after it started", async () => {
    await warm(apps.sseCut, "/api/sse?n=1");
    const response = await send(apps.sseCut, { path: "/api/sse?n=50&ms=100" });
    if (driver.streams) {
      expect(response.status).toBe(200);
      expect(response.text()).toMatch(/^data: 1\n\n/);
      expect(response.error).toBeDefined();
    } else {
      expect(response.status).toBe(502);
      expect(response.text()).toMatch(/did not finish within 500 ms/);
    }
  });

  // Lambda invocations have no client connection to lose, so that driver has no such test.
  if (driver.canAbort) it("cancels the Go handler's context when the client goes away", async () => {
    const before = apps.cancel.log.stderr.join("").split("cancelled: ").length;
    const started = performance.now();
    const response = await send(apps.cancel, { path: "/api/cancel?ms=5000", abortAfterMs: 200 });
    expect(response.error).toBeDefined();
    await expect.poll(() => apps.cancel.log.stderr.join("").split("cancelled: ").length, { timeout: 3000 }).toBe(before + 1);
    expect(apps.cancel.log.stderr.join("")).toMatch(/cancelled: context canceled/);
    expect(performance.now() - started).toBeLessThan(3000);
  });
});
