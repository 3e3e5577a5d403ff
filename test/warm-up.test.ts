import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { warmUp } from "../src/wasi-cgi/engine/warm-up.js";
import { fixture, open, TRAPPING_MODULE } from "./support.js";

const compiled = (name: string, variant: "cgi" | "persistent" = "persistent") =>
  new WebAssembly.Module(readFileSync(fixture(name, variant)));
const options = { args: ["main.wasm"], env: [] };

describe("warm-up (Go's start-up run once on the main thread)", () => {
  it("runs the start-up to its end: the Go side finds no requests and returns", () => {
    let checks = 0;
    expect(warmUp(compiled("hello"), { ...options, enough: () => (checks++, false) })).toBe("ended");
    expect(checks).toBeGreaterThan(0);
  });

  it("runs no handler: a program whose handler exits with status 3 ends with status 0", () => {
    expect(warmUp(compiled("exit3"), options)).toBe("ended");
  });

  it("gives a plain CGI program no request: net/http/cgi refuses it before the handler (which would sleep) runs", () => {
    expect(warmUp(compiled("sleep", "cgi"), options)).toBe("failed");
  });

  it("stops at the first system call once enough() is true", () => {
    let checks = 0;
    expect(warmUp(compiled("hello"), { ...options, enough: () => (checks++, true) })).toBe("stopped");
    expect(checks).toBe(1);
  });

  it("stops where the start-up would block instead of waiting", () => {
    expect(warmUp(compiled("slowstart"), options)).toBe("stopped");
  });

  it("stops a start-up that spins without a system call once its time is up", () => {
    expect(warmUp(compiled("spinstart", "cgi"), options)).toBe("stopped");
  });

  it("reports a module that cannot start as failed, without throwing", () => {
    expect(warmUp(new WebAssembly.Module(TRAPPING_MODULE), options)).toBe("failed");
  });

  it("leaves the instance it warmed up for untouched: its state, output and stderr are its own", async () => {
    const slow = open({ wasm: fixture("slowstart", "persistent"), mode: "persistent", poolSize: 1 });
    const response = await slow.fetch(new Request("http://localhost/api/slowstart"));
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("up");
    // The instance's own start-up wrote this once; the warm-up's copy was dropped.
    expect(slow.log.stderr.join("").match(/slowstart: starting/g)).toHaveLength(1);
  });
});
