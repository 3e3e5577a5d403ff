// `wasi-adapter dev` and `wasi-adapter serve`.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevServer, serveWasm, startDev } from "../../src/build-plugin/dev.js";
import { build } from "../../src/build-plugin/index.js";
import { recordingReporter } from "../../src/build-plugin/reporter.js";
import { tempDir } from "./helpers.js";

const tmp = tempDir("dev");
process.env.WASI_ADAPTER_CACHE_DIR = path.join(tmp.dir, "cache");
afterAll(() => tmp.cleanup());

const app = path.join(tmp.dir, "app");
const files: Record<string, string> = {
  "go.mod": "module example.com/devapp\n\ngo 1.21\n",
  "api/hello.go": `package handler

import "net/http"

func Handler(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hello v1")) }
`,
  "api/users/[id].go": `package users

import "net/http"

func User(w http.ResponseWriter, r *http.Request) { w.Write([]byte("user " + r.URL.Query().Get("id"))) }
`,
  "cmd/site/main.go": `package main

import (
	"net/http"
	"net/http/cgi"
)

func main() {
	cgi.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("site " + r.URL.Path)) }))
}
`,
  "wasi-adapter.config.json": JSON.stringify({ functions: { "cmd/site": { route: "/*" } } }),
  "public/hello.txt": "static hello\n",
};
for (const [rel, text] of Object.entries(files)) {
  mkdirSync(path.dirname(path.join(app, rel)), { recursive: true });
  writeFileSync(path.join(app, rel), text);
}

async function eventually(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("wasi-adapter dev", () => {
  let dev: DevServer;
  const log = recordingReporter();
  beforeAll(async () => {
    dev = await startDev({ dir: app, port: 0, host: "127.0.0.1", reporter: log, debounceMs: 50 });
  }, 60_000);
  afterAll(() => dev.close());

  it("serves every function with production routing", async () => {
    expect(await (await fetch(`${dev.url}/api/hello`)).text()).toBe("hello v1");
    expect(await (await fetch(`${dev.url}/api/users/9`)).text()).toBe("user 9");
    expect(await (await fetch(`${dev.url}/about/team`)).text()).toBe("site /about/team");
    expect(await (await fetch(`${dev.url}/`)).text()).toBe("site /");
    const file = await fetch(`${dev.url}/hello.txt`);
    expect(file.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(await file.text()).toBe("static hello\n"); // public/ before the functions
  });

  it("rebuilds on a Go change, shows compile errors until they are fixed", async () => {
    const file = path.join(app, "api/hello.go");
    const good = readFileSync(file, "utf8");
    writeFileSync(file, good.replace('w.Write([]byte("hello v1"))', "w.Write(42)"));
    let page = "";
    await eventually(async () => {
      const res = await fetch(`${dev.url}/api/users/1`);
      page = await res.text();
      return res.status === 500;
    });
    expect(page).toContain("Build failed");
    expect(page).toMatch(/api\/hello\.go:5:\d+: cannot use 42/);

    writeFileSync(file, good.replace("hello v1", "hello v2"));
    await eventually(async () => (await fetch(`${dev.url}/api/hello`)).status === 200);
    expect(await (await fetch(`${dev.url}/api/hello`)).text()).toBe("hello v2");
    expect(log.lines.some((l) => l.includes("changed, rebuilding"))).toBe(true);
  }, 60_000);
});

describe("wasi-adapter serve", () => {
  it("serves one prebuilt module at every path", async () => {
    const result = await build({ dir: app, targets: ["netlify"], reporter: recordingReporter() });
    const site = result.functions.find((f) => f.fn.source === "cmd/site")!;
    const served = await serveWasm({ file: site.wasm, port: 0, host: "127.0.0.1" });
    try {
      expect(await (await fetch(`${served.url}/any/path?x=1`)).text()).toBe("site /any/path");
    } finally {
      await served.close();
    }
  });
});
