// Warm instances: what persistent mode adds on top of the shared handler suite.
import { readdirSync, readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { getPriority } from "node:os";
import { describe, expect, it } from "vitest";
import { serve } from "../src/adapters/node/index.js";
import { fixture, open, runScript, until } from "./support.js";

const get = (path: string) => new Request(`http://localhost${path}`);

/** How many of this process's threads run at each nice value (Linux: /proc/self/task/<tid>/stat). */
function threadsByNice(): Map<number, number> {
  const counts = new Map<number, number>();
  for (const tid of readdirSync("/proc/self/task")) {
    const fields = readFileSync(`/proc/self/task/${tid}/stat`, "utf8").split(") ")[1]!.split(" ");
    const nice = Number(fields[16]);
    counts.set(nice, (counts.get(nice) ?? 0) + 1);
  }
  return counts;
}

async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, needle: string): Promise<string> {
  let text = "";
  while (!text.includes(needle)) {
    const { done, value } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  return text;
}

describe("persistent mode", () => {
  it("keeps Go globals across requests (cgi mode does not)", async () => {
    const warm = open({ wasm: fixture("counter", "persistent"), mode: "persistent", poolSize: 1 });
    const counts: string[] = [];
    for (let i = 0; i < 5; i++) counts.push(await (await warm.fetch(get("/api/counter"))).text());
    expect(counts).toEqual(["1", "2", "3", "4", "5"]);
    const cold = open({ wasm: fixture("counter", "persistent"), mode: "cgi" });
    for (let i = 0; i < 3; i++) expect(await (await cold.fetch(get("/api/counter"))).text()).toBe("1");
  });

  it("serves a module built for persistent mode as plain CGI just as a net/http/cgi program", async () => {
    const request = () =>
      new Request("http://h.test/api/echo/x%20y?a=1&a=2", { method: "POST", headers: { "x-test": "1", "content-type": "text/plain" }, body: "body bytes" });
    const answers = [];
    for (const wasm of [fixture("echo"), fixture("echo", "persistent")]) {
      const response = await open({ wasm, mode: "cgi" }).fetch(request());
      answers.push({ status: response.status, type: response.headers.get("content-type"), body: await response.json() });
    }
    expect(answers[0]!.status).toBe(200);
    expect(answers[0]!.body).toMatchObject({ method: "POST", rawQuery: "a=1&a=2", bodyLength: 10 });
    expect(answers[1]).toEqual(answers[0]);
  });

  it("streams Server-Sent Events as Go flushes them, before the handler returns", async () => {
    const sse = open({ wasm: fixture("sse", "persistent"), mode: "persistent" });
    await sse.ready();
    const started = performance.now();
    const response = await sse.fetch(get("/api/sse?n=5&ms=200"));
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    const reader = response.body!.getReader();
    const first = await readUntil(reader, "data: 1\n\n");
    const firstAt = performance.now() - started;
    expect(first).toBe("data: 1\n\n");
    const rest = await readUntil(reader, "data: 5\n\n");
    const allAt = performance.now() - started;
    expect(rest).toContain("data: 5");
    // The handler sleeps 4 × 200 ms after the first event: the first must come well before the end.
    expect(allAt - firstAt).toBeGreaterThan(600);
  });

  it("answers 500 for a panic, logs the stack, and goes on serving with the same instance", async () => {
    const panics = open({ wasm: fixture("panic", "persistent"), mode: "persistent", poolSize: 1 });
    const response = await panics.fetch(get("/api/panic"));
    expect(response.status).toBe(500);
    await until(() => panics.log.stderr.join("").includes("fixture panic"));
    const again = await panics.fetch(get("/api/panic"));
    expect(again.status).toBe(500);
    expect(panics.log.errors).toEqual([]);
  });

  it("replaces an instance that exits: that request gets 502, the next is served", async () => {
    const exits = open({ wasm: fixture("exit3", "persistent"), mode: "persistent", poolSize: 1 });
    const response = await exits.fetch(get("/api/exit3"));
    expect(response.status).toBe(502);
    expect(await response.text()).toMatch(/exited with status 3/);
    const counter = open({ wasm: fixture("counter", "persistent"), mode: "persistent", poolSize: 1 });
    expect(await (await counter.fetch(get("/api/counter"))).text()).toBe("1");
  });

  it("cancels r.Context() when the client goes away", async () => {
    const cancel = open({ wasm: fixture("cancel", "persistent"), mode: "persistent" });
    await cancel.ready();
    const client = new AbortController();
    const pending = cancel.fetch(new Request("http://localhost/api/cancel?ms=5000", { signal: client.signal }));
    await new Promise((r) => setTimeout(r, 200));
    client.abort();
    await pending.catch(() => undefined);
    await until(() => cancel.log.stderr.join("").includes("cancelled: context canceled"));
  });

  it("cancels r.Context() on timeout and answers 504", async () => {
    const cancel = open({ wasm: fixture("cancel", "persistent"), mode: "persistent", timeoutMs: 300 });
    const response = await cancel.fetch(get("/api/cancel?ms=5000"));
    expect(response.status).toBe(504);
    await until(() => cancel.log.stderr.join("").includes("cancelled: context canceled"));
    expect(cancel.log.errors).toHaveLength(1);
  });

  it.runIf(process.platform === "linux")("runs the instance's thread 5 nicer than the thread that started it, which keeps its own", async () => {
    const own = getPriority();
    const nicer = Math.min(19, own + 5);
    const before = threadsByNice().get(nicer) ?? 0;
    const hello = open({ wasm: fixture("hello", "persistent"), mode: "persistent", poolSize: 1 });
    expect(await (await hello.fetch(get("/api/hello"))).text()).toContain("hello");
    expect(threadsByNice().get(nicer) ?? 0).toBe(before + 1);
    expect(getPriority()).toBe(own);
  });

  it("serves many concurrent requests from one instance", async () => {
    const sleep = open({ wasm: fixture("sleep", "persistent"), mode: "persistent", poolSize: 1 });
    await sleep.ready();
    const started = performance.now();
    const responses = await Promise.all(Array.from({ length: 50 }, () => sleep.fetch(get("/api/sleep?ms=300"))));
    for (const response of responses) expect(await response.text()).toBe("slept 300");
    // Sequentially this would take 15 s; goroutines overlap the sleeps in one instance.
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it("auto mode picks persistent for a wasiadapter module and cgi for a plain cgi.Serve one", async () => {
    const auto = open({ wasm: fixture("counter", "persistent") });
    await auto.fetch(get("/api/counter"));
    expect(await (await auto.fetch(get("/api/counter"))).text()).toBe("2");
    const plain = open({ wasm: fixture("counter") });
    await plain.fetch(get("/api/counter"));
    expect(await (await plain.fetch(get("/api/counter"))).text()).toBe("1");
  });

  it("refuses persistent mode for a plain CGI module with a message that says what to do", async () => {
    const wrong = open({ wasm: fixture("hello"), mode: "persistent" });
    const response = await wrong.fetch(get("/api/hello"));
    expect(response.status).toBe(502);
    expect(await response.text()).toMatch(/plain CGI program: use mode "cgi" or "auto"/);
  });

  it("grows the pool under CPU-bound load and queues nothing behind a busy instance", async () => {
    const loop = open({ wasm: fixture("loop", "persistent"), mode: "persistent", poolSize: 2, timeoutMs: 1000 });
    await loop.ready();
    const stuck = loop.fetch(get("/api/loop?spin=1"));
    await new Promise((r) => setTimeout(r, 150));
    const served = await loop.fetch(get("/api/loop"));
    expect(await served.text()).toBe("not spinning");
    expect((await stuck).status).toBe(504);
  });

  it("sends the requests that come while the first instance starts to it, not to a second one", async () => {
    const app = open({ wasm: fixture("sleep", "persistent"), mode: "persistent", poolSize: 2 });
    const first = app.fetch(get("/api/sleep?ms=0"));
    await new Promise((r) => setTimeout(r, 5));
    const rest = Array.from({ length: 4 }, () => app.fetch(get("/api/sleep?ms=0")));
    const served = await Promise.all([first, ...rest].map(async (response) => (await response).headers.get("x-served")));
    expect(served.sort()).toEqual(["1", "2", "3", "4", "5"]);
  });

  it("keeps sending work to an instance whose client went away with requests in flight", async () => {
    const app = open({ wasm: fixture("sleep", "persistent"), mode: "persistent", poolSize: 2 });
    await app.ready();
    // A load generator that stops: its connections close while their requests still run in Go
    // (time.Sleep does not watch the context, so their ENDs come 300 ms later).
    const client = new AbortController();
    const gone = Array.from({ length: 8 }, () => app.fetch(new Request("http://localhost/api/sleep?ms=300", { signal: client.signal })));
    await new Promise((r) => setTimeout(r, 20));
    client.abort();
    await Promise.allSettled(gone);
    // The next client's request: still the same instance (its 9th request), not a second one.
    const next = await app.fetch(get("/api/sleep?ms=0"));
    expect(next.headers.get("x-served")).toBe("9");
  });

  it("keeps sending work to an instance that sleeps or keeps reading requests", async () => {
    const app = open({ wasm: fixture("sleep", "persistent"), mode: "persistent", poolSize: 2 });
    await app.ready();
    // Asleep in time.Sleep for longer than a stall: still the instance to send work to.
    const sleeping = app.fetch(get("/api/sleep?ms=400"));
    await new Promise((r) => setTimeout(r, 150));
    expect((await app.fetch(get("/api/sleep?ms=0"))).headers.get("x-served")).toBe("2");
    await sleeping;
    // Busy for longer than a stall, reading request after request (serve(): no fetch overhead,
    // so that the instance always finds the next request waiting).
    const served: string[] = [];
    const until = performance.now() + 400;
    const one = () =>
      new Promise<void>((resolve) =>
        app.serve(
          { method: "GET", url: "http://localhost/api/sleep?ms=0", headers: [] },
          {
            head: (_status, _text, headers) => served.push(headers.find(([name]) => name.toLowerCase() === "x-served")![1]),
            data: () => {},
            end: resolve,
            fail: (status, message) => resolve(void served.push(`${status} ${message}`)),
          },
        ),
      );
    const client = async () => {
      while (performance.now() < until) await one();
    };
    await Promise.all(Array.from({ length: 64 }, client));
    // Each instance counts from 1, so a count seen twice was served by a second instance. A
    // busy instance taken for a stalled one would hand about half the requests to a second; on a
    // loaded machine the OS may deschedule the worker past a stall and let a few go there.
    const elsewhere = served.length - new Set(served).size;
    expect(served.filter((count) => !/^\d+$/.test(count))).toEqual([]);
    expect(served.length).toBeGreaterThan(200);
    expect(elsewhere).toBeLessThan(served.length / 10);
  });

  // Built code in a child process, which stops itself (SIGSTOP) under load: on resuming, every
  // instance's last poll is old, though none of them was busy.
  it("does not grow the pool when the whole process was paused", async () => {
    const script = `
      import { spawn } from "node:child_process";
      import { createHandler } from "./dist/index.js";
      const keepAlive = setInterval(() => {}, 1000);
      const handler = createHandler({ wasm: ${JSON.stringify(fixture("counter", "persistent"))}, mode: "persistent", poolSize: 2 });
      await handler.ready();
      const counts = [];
      let running = true;
      const client = async () => {
        while (running) counts.push(await (await handler.fetch(new Request("http://x/api/counter"))).text());
      };
      const clients = Array.from({ length: 8 }, client);
      const pause = () => new Promise((resolve) =>
        spawn("sh", ["-c", "sleep 0.12; kill -CONT " + process.pid], { stdio: "ignore" }).on("spawn", () => {
          process.kill(process.pid, "SIGSTOP");
          setTimeout(resolve, 30);
        }));
      for (let i = 0; i < 8; i++) {
        await new Promise((r) => setTimeout(r, 20));
        await pause();
      }
      running = false;
      await Promise.all(clients);
      console.log(JSON.stringify({ served: counts.length, instances: counts.filter((count) => count === "1").length }));
      await handler.close();
      clearInterval(keepAlive);`;
    const stdout = await runScript(script);
    const { served, instances } = JSON.parse(stdout) as { served: number; instances: number };
    expect(served).toBeGreaterThan(100);
    // Each instance counts from 1.
    expect(instances).toBe(1);
  });

  describe("flow control: a client that does not read holds back only its own handler", () => {
    const streamed = (log: string[]) => Math.max(0, ...[...log.join("").matchAll(/streamed (\d+) MiB/g)].map((m) => Number(m[1])));

    it("through fetch: Go waits while the body is not read, and finishes when it is", async () => {
      const app = open({ wasm: fixture("stream", "persistent"), mode: "persistent", poolSize: 1 });
      const response = await app.fetch(get("/api/stream?mb=8"));
      await new Promise((r) => setTimeout(r, 600));
      expect(streamed(app.log.stderr)).toBeLessThanOrEqual(2);
      const other = await app.fetch(get("/api/stream?mb=0"));
      expect(other.status).toBe(200);
      expect((await other.arrayBuffer()).byteLength).toBe(0);
      const body = await response.arrayBuffer();
      expect(body.byteLength).toBe(8 * 1024 * 1024);
      await until(() => streamed(app.log.stderr) === 8);
    });

    it("through the Node adapter: a paused socket stops the handler, resuming lets it finish", async () => {
      const app = open({ wasm: fixture("stream", "persistent"), mode: "persistent", poolSize: 1 });
      const server = await serve({ handler: app, port: 0, host: "127.0.0.1" });
      try {
        const { port } = server.address() as AddressInfo;
        const received = await new Promise<number>((resolve, reject) => {
          const req = httpRequest({ host: "127.0.0.1", port, path: "/api/stream?mb=64" }, (res) => {
            res.pause();
            setTimeout(() => {
              try {
                // Socket buffers hold some MiB; without flow control Go would be done with all 64.
                expect(streamed(app.log.stderr)).toBeLessThan(32);
              } catch (error) {
                reject(error);
              }
              let total = 0;
              res.on("data", (chunk: Buffer) => (total += chunk.length));
              res.on("end", () => resolve(total));
              res.resume();
            }, 800);
          });
          req.on("error", reject);
          req.end();
        });
        expect(received).toBe(64 * 1024 * 1024);
        expect(streamed(app.log.stderr)).toBe(64);
      } finally {
        await new Promise((r) => server.close(r));
      }
    });
  });
});
