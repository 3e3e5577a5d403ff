// The plain Web form and what every adapter's handle() accepts.
import { describe, expect, it } from "vitest";
import { handle } from "../../src/adapters/fetch/index.js";
import { handle as netlifyHandle } from "../../src/adapters/netlify/index.js";
import { handle as nodeHandle } from "../../src/adapters/node/index.js";
import { handle as vercelHandle } from "../../src/adapters/vercel/index.js";
import type { HandlerOptions } from "../../src/index.js";
import { fixture, open } from "../support.js";

const echo = open({ wasm: fixture("echo", "persistent"), mode: "persistent", poolSize: 1 });
const remoteOf = async (response: Response) => ((await response.json()) as { remoteAddr: string }).remoteAddr;

describe("fetch adapter", () => {
  it("reads the client from Deno's info, a plain string, or not at all (Bun's server object)", async () => {
    const adapter = handle(echo);
    const request = () => new Request("http://localhost/api/echo");
    expect(await remoteOf(await adapter(request(), { remoteAddr: { transport: "tcp", hostname: "192.0.2.4", port: 4444 } }))).toBe("192.0.2.4:4444");
    expect(await remoteOf(await adapter(request(), { remoteAddr: "::ffff:192.0.2.5" }))).toMatch(/^192\.0\.2\.5(:|$)/);
    expect(await remoteOf(await adapter(request(), { requestIP: () => null, upgrade: () => false }))).toMatch(/^127\.0\.0\.1(:|$)/);
    expect(await remoteOf(await adapter(request()))).toMatch(/^127\.0\.0\.1(:|$)/);
  });

  it("makes its own handler from options, and refuses input that is neither", async () => {
    const adapter = handle({ wasm: fixture("hello", "persistent") });
    const response = await adapter(new Request("http://localhost/api/hello?name=web"));
    expect(await response.json()).toEqual({ message: "hello, web" });
    for (const verb of [handle, nodeHandle, vercelHandle, netlifyHandle]) {
      expect(() => verb({} as HandlerOptions)).toThrow(/needs handler options/);
    }
  });
});
