// What only the Node adapter does: serve(), trustProxy, and edge cases of Node's http objects.
import { connect } from "node:net";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it, vi } from "vitest";
import { handle, serve } from "../../src/adapters/node/index.js";
import type { Responder, ServeRequest, WasiHandler } from "../../src/index.js";
import { fixture, logged, open, runScript } from "../support.js";
import { httpSend } from "./drivers.js";

const echo = open({ wasm: fixture("echo", "persistent"), mode: "persistent", poolSize: 1 });
const servers: Server[] = [];
afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function listen(listener: Parameters<typeof createServer>[1]): Promise<number> {
  const server = createServer(listener);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

/** Sends raw bytes and returns what came back until the server closed or went quiet. */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(text));
    let out = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => (out += chunk));
    socket.on("end", () => resolve(out));
    socket.on("error", reject);
    socket.setTimeout(3000, () => {
      socket.destroy();
      resolve(out);
    });
  });
}

describe("node adapter", () => {
  it("trusts X-Forwarded-* only when told to", async () => {
    const forwarded: [string, string][] = [
      ["x-forwarded-for", "198.51.100.9, 10.0.0.1"],
      ["x-forwarded-proto", "https"],
      ["x-forwarded-host", "public.example.test"],
    ];
    const direct = (await httpSend(await listen(handle(echo)), { path: "/api/echo", headers: forwarded }, [])).json<Record<string, unknown>>();
    expect(direct).toMatchObject({ tls: false, host: "app.example.test" });
    expect(direct.remoteAddr).toMatch(/^127\.0\.0\.1:\d+$/);
    const proxied = (await httpSend(await listen(handle(echo, { trustProxy: true })), { path: "/api/echo", headers: forwarded }, [])).json<Record<string, unknown>>();
    expect(proxied).toMatchObject({ tls: true, host: "public.example.test" });
    expect(proxied.remoteAddr).toMatch(/^198\.51\.100\.9(:|$)/);
  });

  it("drops hop-by-hop headers and those Connection names", async () => {
    const port = await listen(handle(echo));
    const response = await httpSend(
      port,
      {
        path: "/api/echo",
        headers: [
          ["Connection", "close, X-Private"],
          ["X-Private", "secret"],
          ["Keep-Alive", "timeout=5"],
          ["TE", "trailers"],
          ["X-Kept", "yes"],
        ],
      },
      [],
    );
    const seen = response.json<{ headers: Record<string, string[]> }>();
    expect(seen.headers["X-Kept"]).toEqual(["yes"]);
    for (const name of ["Connection", "X-Private", "Keep-Alive", "Te"]) expect(seen.headers[name]).toBeUndefined();
  });

  it("serves absolute-form targets and OPTIONS *, and refuses a Host that is not one", async () => {
    const port = await listen(handle(echo));
    const absolute = await raw(port, "GET http://h.test/api/echo?x=1 HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\n\r\n");
    expect(absolute).toMatch(/^HTTP\/1\.1 200/);
    expect(absolute).toContain('"rawQuery":"x=1"');
    const star = await raw(port, "OPTIONS * HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\n\r\n");
    expect(star).toMatch(/^HTTP\/1\.1 200/);
    expect(star).toContain('"method":"OPTIONS"');
    const badHost = await raw(port, "GET /api/echo HTTP/1.1\r\nHost: evil.test/other?\r\nConnection: close\r\n\r\n");
    expect(badHost).toMatch(/^HTTP\/1\.1 400/);
    expect(badHost).toMatch(/do not make a URL/);
    expect(logged(echo.log, /^wasi-adapter: 400 GET \/api\/echo: the Host "evil\.test\/other\?" and the path do not make a URL$/)).toHaveLength(1);
  });

  it("closes the connection after refusing a body it did not read", async () => {
    const small = open({ wasm: fixture("echo", "persistent"), mode: "persistent", poolSize: 1, maxBodyBytes: 16 });
    const port = await listen(handle(small));
    const reply = await raw(port, `POST /api/echo HTTP/1.1\r\nHost: h.test\r\nContent-Length: 100000\r\n\r\n${"x".repeat(1000)}`);
    expect(reply).toMatch(/^HTTP\/1\.1 413/);
    expect(reply.toLowerCase()).toContain("connection: close");
  });

  it("frames each kind of answer as Node would: a length, none for 204/304 and HEAD, chunks when streamed", async () => {
    const status = open({ wasm: fixture("status", "persistent"), mode: "persistent", poolSize: 1 });
    const port = await listen(handle(status));
    const get = (target: string, method = "GET") => raw(port, `${method} ${target} HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\n\r\n`);
    const whole = (await get("/?code=201")).toLowerCase();
    expect(whole).toMatch(/^http\/1\.1 201 created\r\n/);
    expect(whole).toContain("\r\ncontent-length: 10\r\n");
    expect(whole).not.toContain("transfer-encoding");
    expect(whole.endsWith("\r\n\r\nstatus 201")).toBe(true);
    for (const code of [204, 304]) {
      const empty = (await get(`/?code=${code}`)).toLowerCase();
      expect(empty).toMatch(new RegExp(`^http/1\\.1 ${code} `));
      expect(empty).not.toContain("content-length");
      expect(empty).not.toContain("transfer-encoding");
      expect(empty.endsWith("\r\n\r\n")).toBe(true);
    }
    const head = (await get("/?code=200", "HEAD")).toLowerCase();
    expect(head).toContain("content-type: text/plain; charset=utf-8");
    expect(head).not.toContain("transfer-encoding");
    expect(head.endsWith("\r\n\r\n")).toBe(true);
    await status.close();
    const sse = open({ wasm: fixture("sse", "persistent"), mode: "persistent", poolSize: 1 });
    const ssePort = await listen(handle(sse));
    const streamed = (await raw(ssePort, "GET /?n=2&ms=20 HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\n\r\n")).toLowerCase();
    expect(streamed).toContain("transfer-encoding: chunked");
    expect(streamed).not.toContain("content-length");
    expect(streamed).toContain("data: 1\n\n");
    expect(streamed).toContain("data: 2\n\n");
    await sse.close();
  });

  it("answers and logs 502 when Node refuses the head Go sent, whole or streamed", async () => {
    const failures: string[] = [];
    const fake = (streamed: boolean) =>
      ({
        serve(_request: ServeRequest, responder: Responder) {
          responder.head(200, "", [["x-good", "1"], ["bad name", "x"]]);
          responder.data(Buffer.from("body"), () => {});
          if (streamed) setTimeout(() => responder.end(), 20);
          else responder.end();
          return () => {};
        },
        fetch: () => Promise.reject(new Error("unused")),
        ready: () => Promise.resolve(),
        close: () => Promise.resolve(),
        logFailure: (status: number, method: string, target: string, message: string) => failures.push(`${status} ${method} ${target}: ${message}`),
      }) satisfies WasiHandler;
    for (const streamed of [false, true]) {
      const port = await listen(handle(fake(streamed)));
      const reply = await raw(port, `GET /${streamed} HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\n\r\n`);
      expect(reply).toMatch(/^HTTP\/1\.1 502 /);
      expect(reply).toContain("the Go handler's response cannot be sent");
      expect(reply.toLowerCase()).not.toContain("x-good");
      expect(failures.filter((line) => line.startsWith(`502 GET /${streamed}: the Go handler's response cannot be sent: `))).toHaveLength(1);
    }
    expect(failures).toHaveLength(2);
  });

  it("answers and logs 500 when the handler throws instead of answering", async () => {
    const failures: string[] = [];
    const throwing = {
      serve(): never {
        throw new Error("serve broke");
      },
      fetch: () => Promise.reject(new Error("unused")),
      ready: () => Promise.resolve(),
      close: () => Promise.resolve(),
      logFailure: (status: number, method: string, target: string, message: string) => failures.push(`${status} ${method} ${target}: ${message}`),
    } satisfies WasiHandler;
    const reply = await raw(await listen(handle(throwing)), "GET /boom?q=1 HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\n\r\n");
    expect(reply).toMatch(/^HTTP\/1\.1 500 /);
    expect(reply).toContain("wasi-adapter: serve broke");
    expect(failures).toEqual(["500 GET /boom?q=1: serve broke"]);
  });

  it("keeps the connection alive across requests", async () => {
    const port = await listen(handle(echo));
    const reply = await raw(port, "GET /api/echo?n=1 HTTP/1.1\r\nHost: h.test\r\n\r\nGET /api/echo?n=2 HTTP/1.1\r\nHost: h.test\r\nConnection: close\r\n\r\n");
    expect(reply.match(/HTTP\/1\.1 200/g)).toHaveLength(2);
    expect(reply).toContain('"rawQuery":"n=2"');
  });

  it("serve() listens, stays silent unless asked, and closes the handler it made", async () => {
    const log = vi.spyOn(console, "log");
    const server = await serve({ wasm: fixture("hello", "persistent"), port: 0, host: "127.0.0.1" });
    const { port } = server.address() as AddressInfo;
    const response = await fetch(`http://127.0.0.1:${port}/api/hello?name=node`);
    expect(await response.json()).toEqual({ message: "hello, node" });
    expect(log).not.toHaveBeenCalled();
    log.mockRestore();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));

    const lines: string[] = [];
    const logged = await serve({ handler: echo, port: 0, host: "127.0.0.1", log: (line) => lines.push(line) });
    expect(lines).toEqual([`wasi-adapter: listening on http://127.0.0.1:${(logged.address() as AddressInfo).port}`]);
    logged.closeAllConnections();
    await new Promise((resolve) => logged.close(resolve));
    // A handler passed in stays open.
    const still = await echo.fetch(new Request("http://localhost/api/echo"));
    expect(still.status).toBe(200);
  });

  it("serve() fails for a module that cannot load, and for a port in use", async () => {
    await expect(serve({ wasm: "/nonexistent/app.wasm", port: 0, logger: { error: () => {} } })).rejects.toThrow(/cannot read the WebAssembly module/);
    const first = await serve({ handler: echo, port: 0, host: "127.0.0.1" });
    servers.push(first);
    const { port } = first.address() as AddressInfo;
    await expect(serve({ handler: echo, port, host: "127.0.0.1" })).rejects.toThrow(/EADDRINUSE/);
  });

  it("delivers a large streamed body to a client that reads slowly", async () => {
    const large = open({ wasm: fixture("large", "persistent"), mode: "persistent", poolSize: 1 });
    const port = await listen(handle(large));
    const received = await new Promise<number>((resolve, reject) => {
      const req = httpRequest({ host: "127.0.0.1", port, path: "/api/large" }, (res) => {
        let length = 0;
        res.pause();
        setTimeout(() => res.resume(), 300);
        res.on("data", (chunk: Buffer) => (length += chunk.length));
        res.on("end", () => resolve(length));
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end();
    });
    expect(received).toBe(10 * 1024 * 1024);
  });

  it("writes IPv4-mapped client addresses as plain IPv4", async () => {
    const server = createServer(handle(echo));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "::", resolve));
    const { port } = server.address() as AddressInfo;
    const seen = (await httpSend(port, { path: "/api/echo" }, [])).json<{ remoteAddr: string }>();
    expect(seen.remoteAddr).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  // A script that awaits the start at its top level: nothing else keeps the process alive while
  // the module compiles (the worker waiting for it is unreferenced); it used to end with exit 13.
  it("keeps the process alive for a top-level await of serve() and ready()", async () => {
    const script = `
      import { serve } from "./dist/adapters/node/index.js";
      import { createHandler } from "./dist/index.js";
      const wasm = ${JSON.stringify(fixture("hello", "persistent"))};
      const server = await serve({ wasm, port: 0, host: "127.0.0.1" });
      const handler = createHandler({ wasm });
      await handler.ready();
      console.log("both up");
      await handler.close();
      server.close();`;
    expect((await runScript(script)).trim()).toBe("both up");
  });

  // Built code (npm test builds first): the worker's bundled source does not run under tsx.
  it("serves without loading Node's fetch implementation (about 30 ms of a cold start)", async () => {
    const script = `
      import { createServer, get } from "node:http";
      import { handle } from "./dist/adapters/node/index.js";
      import { createHandler } from "./dist/index.js";
      const handler = createHandler({ wasm: ${JSON.stringify(fixture("hello", "persistent"))} });
      const server = createServer(handle(handler)).listen(0, "127.0.0.1", () => {
        get(\`http://127.0.0.1:\${server.address().port}/api/hello?name=cold\`, (res) => {
          let body = "";
          res.on("data", (chunk) => (body += chunk));
          res.on("end", async () => {
            console.log(JSON.stringify({ body, fetchLoaded: process.moduleLoadList.some((m) => m.includes("undici")) }));
            await handler.close();
            server.close();
          });
        });
      });`;
    const stdout = await runScript(script);
    expect(JSON.parse(stdout)).toEqual({ body: '{"message":"hello, cold"}', fetchLoaded: false });
  });
});
