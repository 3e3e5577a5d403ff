// The core handler against real Go programs, in both engines: what the Go program writes is
// exactly what the Response carries.
import { describe, expect, it } from "vitest";
import { fixture, open, randomBytes, sha256, TRAPPING_MODULE, type Echo } from "./support.js";


describe.each(["cgi", "persistent"] as const)("%s mode", (mode) => {
  const app = (name: string, options: Record<string, unknown> = {}) =>
    open({ wasm: fixture(name, mode), mode, ...options });
  const echo = app("echo");
  const askEcho = async (input: string, init?: RequestInit, info?: { remoteAddr?: string }) => {
    const response = await echo.fetch(new Request(input, init), info);
    expect(response.status).toBe(200);
    return (await response.json()) as Echo;
  };

  it("answers 500 when a responder throws, logged once, and serves the next request", async () => {
    const hello = app("hello");
    const failures: [number, string][] = [];
    const url = "http://localhost/api/hello";
    await new Promise<void>((resolve) => {
      hello.serve({ method: "GET", url, headers: [] }, {
        head() {
          throw new Error("the platform refused the head");
        },
        data() {},
        end() {},
        fail(status, message) {
          failures.push([status, message]);
          resolve();
        },
      });
    });
    expect(failures).toEqual([[500, "wasi-adapter failed: the platform refused the head"]]);
    expect(hello.log.errors.filter((e) => e.includes("the platform refused the head"))).toHaveLength(1);
    const next = await hello.fetch(new Request(url));
    expect(next.status).toBe(200);
    await next.arrayBuffer();
    await hello.close();
  });

  it("answers hello JSON", async () => {
    const hello = app("hello");
    const response = await hello.fetch(new Request("http://localhost/api/hello?name=go"));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(await response.json()).toEqual({ message: "hello, go" });
  });

  it.each(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])("passes the method %s", async (method) => {
    const body = method === "GET" || method === "OPTIONS" ? undefined : `body of ${method}`;
    const seen = await askEcho("http://localhost/api/echo", { method, body });
    expect(seen.method).toBe(method);
    expect(seen.body).toBe(body ?? "");
  });

  it("answers HEAD with headers and no body", async () => {
    const response = await echo.fetch(new Request("http://localhost/api/echo", { method: "HEAD" }));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(await response.text()).toBe("");
  });

  it("passes the URL, repeated query keys and percent-encoded unicode paths", async () => {
    const seen = await askEcho("http://example.test:8080/api/echo/%E2%9C%93/caf%C3%A9?tag=a&tag=b&q=a%20b&empty=");
    expect(seen.path).toBe("/api/echo/✓/café");
    expect(seen.url).toBe("http://example.test:8080/api/echo/%E2%9C%93/caf%C3%A9?tag=a&tag=b&q=a%20b&empty=");
    expect(seen.rawQuery).toBe("tag=a&tag=b&q=a%20b&empty=");
    expect(seen.query).toEqual({ tag: ["a", "b"], q: ["a b"], empty: [""] });
    expect(seen.host).toBe("example.test:8080");
    expect(seen.proto).toBe("HTTP/1.1");
    expect(seen.tls).toBe(false);
  });

  it("passes every header, but never Proxy (httpoxy)", async () => {
    const headers = new Headers({
      "x-custom": "one",
      accept: "application/json",
      "user-agent": "wasi-adapter-test",
      cookie: "a=1; b=2",
      proxy: "http://evil.test",
    });
    headers.append("x-repeated", "first");
    headers.append("x-repeated", "second");
    const seen = await askEcho("https://secure.test/api/echo", { headers }, { remoteAddr: "203.0.113.7" });
    expect(seen.headers["X-Custom"]).toEqual(["one"]);
    expect(seen.headers["Accept"]).toEqual(["application/json"]);
    expect(seen.headers["User-Agent"]).toEqual(["wasi-adapter-test"]);
    expect(seen.headers["Cookie"]).toEqual(["a=1; b=2"]);
    expect(seen.headers["X-Repeated"]).toEqual(["first, second"]);
    expect(seen.headers["Proxy"]).toBeUndefined();
    expect(seen.tls).toBe(true);
    expect(seen.remoteAddr).toMatch(/^203\.0\.113\.7:/);
  });

  it("passes a 4 MB binary body byte-exact", async () => {
    const body = randomBytes(4 * 1024 * 1024);
    const seen = await askEcho("http://localhost/api/echo", {
      method: "POST",
      body,
      headers: { "content-type": "application/octet-stream" },
    });
    expect(seen.bodyLength).toBe(body.length);
    expect(seen.contentLength).toBe(body.length);
    expect(seen.bodySha256).toBe(await sha256(body));
    expect(seen.headers["Content-Type"]).toEqual(["application/octet-stream"]);
  });

  it("de-chunks a streamed body and sets CONTENT_LENGTH", async () => {
    const parts = ["chunk one, ", "chunk two, ", "chunk three"];
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const part of parts) controller.enqueue(new TextEncoder().encode(part));
        controller.close();
      },
    });
    const seen = await askEcho("http://localhost/api/echo", { method: "POST", body: stream, duplex: "half" } as RequestInit);
    expect(seen.body).toBe(parts.join(""));
    expect(seen.contentLength).toBe(parts.join("").length);
  });

  it("keeps status, three Set-Cookie headers and repeated headers", async () => {
    const headers = app("headers");
    const response = await headers.fetch(new Request("http://localhost/api/headers?status=202"));
    expect(response.status).toBe(202);
    expect(response.headers.getSetCookie()).toEqual([
      "a=1; Path=/; HttpOnly",
      "b=2; Path=/; Secure",
      "c=3; Path=/; Max-Age=60; SameSite=Lax",
    ]);
    expect(response.headers.get("x-multi")).toBe("one, two");
    expect(await response.text()).toBe("headers");
  });

  it.each([200, 201, 204, 301, 304, 400, 404, 418, 500, 503, 599])("sends status %i", async (code) => {
    const status = app("status");
    const response = await status.fetch(new Request(`http://localhost/api/status?code=${code}`));
    expect(response.status).toBe(code);
    expect(await response.text()).toBe(code === 204 || code === 304 ? "" : `status ${code}`);
  });

  it("returns random binary bytes exactly", async () => {
    const binary = app("binary");
    const response = await binary.fetch(new Request("http://localhost/api/binary?n=100000"));
    const bytes = new Uint8Array(await response.arrayBuffer());
    expect(bytes.length).toBe(100000);
    expect(await sha256(bytes)).toBe(response.headers.get("x-sha256"));
  });

  it("returns a 10 MB body exactly", async () => {
    const large = app("large");
    const response = await large.fetch(new Request("http://localhost/api/large"));
    const bytes = new Uint8Array(await response.arrayBuffer());
    expect(bytes.length).toBe(10 * 1024 * 1024);
    const expected = new Uint8Array(bytes.length).map((_, i) => i % 251);
    expect(Buffer.compare(bytes, expected)).toBe(0);
  });

  it("lets time.Sleep work", async () => {
    const sleep = app("sleep");
    const started = performance.now();
    const response = await sleep.fetch(new Request("http://localhost/api/sleep?ms=50"));
    expect(await response.text()).toBe("slept 50");
    expect(performance.now() - started).toBeGreaterThanOrEqual(50);
  });

  it("gives the program its environment", async () => {
    const env = app("env", { env: { GREETING: "hej från go ✓" } });
    const response = await env.fetch(new Request("http://localhost/api/env?name=GREETING"));
    expect(await response.text()).toBe("hej från go ✓");
  });

  it("logs what the program writes to stderr", async () => {
    const logging = app("stderr");
    const response = await logging.fetch(new Request("http://localhost/api/stderr"));
    expect(await response.text()).toBe("logged");
    await expect.poll(() => logging.log.stderr.join("")).toMatch(/log line 1[\s\S]*log line 2[\s\S]*log line 3/);
    expect(logging.log.errors).toEqual([]);
  });

  it("serves a chi router app", async () => {
    const router = app("router");
    const user = await router.fetch(new Request("http://localhost/api/router/users/42"));
    expect(user.status).toBe(200);
    expect(user.headers.get("x-router")).toBe("chi");
    expect(await user.json()).toEqual({ id: "42" });
    const created = await router.fetch(
      new Request("http://localhost/api/router/users", { method: "POST", body: JSON.stringify({ name: "ada" }) }),
    );
    expect(created.status).toBe(201);
    expect(await created.json()).toEqual({ name: "ada" });
    const missing = await router.fetch(new Request("http://localhost/api/router/nothing"));
    expect(missing.status).toBe(404);
  });

  it("refuses a body over the limit with 413 without running Go", async () => {
    const logging = app("stderr", { maxBodyBytes: 1024 });
    const declared = await logging.fetch(new Request("http://localhost/api/stderr", { method: "POST", body: randomBytes(2048) }));
    expect(declared.status).toBe(413);
    expect(await declared.text()).toMatch(/larger than the limit of 1024 bytes/);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(randomBytes(1000));
        controller.enqueue(randomBytes(1000));
        controller.close();
      },
    });
    const chunked = await logging.fetch(
      new Request("http://localhost/api/stderr", { method: "POST", body: stream, duplex: "half" } as RequestInit),
    );
    expect(chunked.status).toBe(413);
    expect(logging.log.errors).toHaveLength(2);
    expect(logging.log.errors[0]).toMatch(/^wasi-adapter: 413 POST \/api\/stderr: the request body is larger/);
    expect(logging.log.stderr).toEqual([]);
  });

  it("answers 504 for an endless loop, and serves requests meanwhile and afterwards", async () => {
    const loop = app("loop", { timeoutMs: 1500, poolSize: 2 });
    // Served first: until the instance has polled for requests, it counts as starting and takes
    // them, so "meanwhile" could follow the spinning request onto it.
    expect(await (await loop.fetch(new Request("http://localhost/api/loop"))).text()).toBe("not spinning");
    const stuck = loop.fetch(new Request("http://localhost/api/loop?spin=1"));
    await new Promise((r) => setTimeout(r, 200));
    const meanwhile = await loop.fetch(new Request("http://localhost/api/loop"));
    expect(meanwhile.status).toBe(200);
    expect(await meanwhile.text()).toBe("not spinning");
    const timedOut = await stuck;
    expect(timedOut.status).toBe(504);
    expect(await timedOut.text()).toMatch(/did not finish within 1500 ms/);
    expect(loop.log.errors.filter((line) => line.includes(" 504 "))).toHaveLength(1);
    const afterwards = await loop.fetch(new Request("http://localhost/api/loop"));
    expect(afterwards.status).toBe(200);
    expect(await afterwards.text()).toBe("not spinning");
  });

  it("never throws when the module cannot be loaded", async () => {
    const missing = open({ wasm: "/nonexistent/api.wasm", mode });
    const response = await missing.fetch(new Request("http://localhost/api/x"));
    expect(response.status).toBe(502);
    expect(await response.text()).toMatch(/could not be loaded: cannot read the WebAssembly module \/nonexistent\/api\.wasm/);
    await expect.poll(() => missing.log.errors).toHaveLength(1);
  });
});

describe("cgi mode only", () => {
  const app = (name: string, options: Record<string, unknown> = {}) => open({ wasm: fixture(name), mode: "cgi", ...options });

  it("re-dispatches a local redirect as a GET", async () => {
    const redirect = app("redirect");
    const response = await redirect.fetch(new Request("http://localhost/api/redirect/local", { method: "POST", body: "x" }));
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("target from=local GET");
  });

  it("turns a client redirect into 302, or keeps the status given", async () => {
    const redirect = app("redirect");
    const found = await redirect.fetch(new Request("http://localhost/api/redirect/client"));
    expect(found.status).toBe(302);
    expect(found.headers.get("location")).toBe("https://example.com/elsewhere");
    const moved = await redirect.fetch(new Request("http://localhost/api/redirect/client-status"));
    expect(moved.status).toBe(301);
    expect(moved.headers.get("location")).toBe("https://example.com/moved");
  });

  it("stops an endless local redirect with 502", async () => {
    const redirect = app("redirect");
    const response = await redirect.fetch(new Request("http://localhost/api/redirect/loop"));
    expect(response.status).toBe(502);
    expect(await response.text()).toMatch(/more than 10 local redirects/);
    expect(redirect.log.errors).toHaveLength(1);
  });

  it("answers 502 for a panic and logs the stderr tail once", async () => {
    const panics = app("panic");
    const response = await panics.fetch(new Request("http://localhost/api/panic"));
    expect(response.status).toBe(502);
    expect(await response.text()).toMatch(/the Go handler panicked \(exit status 2\)/);
    expect(panics.log.errors).toHaveLength(1);
    expect(panics.log.errors[0]).toMatch(/502 GET \/api\/panic[\s\S]*stderr tail[\s\S]*fixture panic/);
  });

  it("answers 502 for a module that traps, and logs it once", async () => {
    const traps = open({ wasm: TRAPPING_MODULE, mode: "cgi" });
    const response = await traps.fetch(new Request("http://localhost/api/trap"));
    expect(response.status).toBe(502);
    expect(await response.text()).toMatch(/the Go program crashed: RuntimeError: unreachable/);
    expect(traps.log.errors).toHaveLength(1);
    const again = await traps.fetch(new Request("http://localhost/api/trap"));
    expect(again.status).toBe(502);
  });

  it("answers 502 for os.Exit(3)", async () => {
    const exits = app("exit3");
    const response = await exits.fetch(new Request("http://localhost/api/exit3"));
    expect(response.status).toBe(502);
    expect(await response.text()).toMatch(/exited with status 3/);
    expect(exits.log.errors).toHaveLength(1);
  });

  it("answers 502 for output without a CGI header block", async () => {
    const raw = app("noheader");
    const response = await raw.fetch(new Request("http://localhost/api/noheader"));
    expect(response.status).toBe(502);
    expect(await response.text()).toMatch(/bad CGI response: the module's output has no CGI header block/);
    expect(raw.log.errors).toHaveLength(1);
  });

  it("starts a fresh instance per request: globals do not survive", async () => {
    const counter = app("counter");
    for (let i = 0; i < 3; i++) {
      const response = await counter.fetch(new Request("http://localhost/api/counter"));
      expect(await response.text()).toBe("1");
    }
  });

  it("runs concurrent requests in parallel workers", async () => {
    const sleep = app("sleep", { poolSize: 4 });
    await sleep.ready();
    const started = performance.now();
    const responses = await Promise.all(
      [1, 2, 3, 4].map(() => sleep.fetch(new Request("http://localhost/api/sleep?ms=400"))),
    );
    for (const response of responses) expect(await response.text()).toBe("slept 400");
    // One at a time would take at least 1600 ms.
    expect(performance.now() - started).toBeLessThan(1500);
  });
});
