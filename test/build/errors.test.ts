// Bad setups end with a non-zero exit and a message that says what to do.
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { copyProject, projectsDir, runCli, tempDir } from "./helpers.js";

const tmp = tempDir("errors");
const env = { ...process.env, WASI_ADAPTER_CACHE_DIR: path.join(tmp.dir, "cache") };
afterAll(() => tmp.cleanup());

function project(name: string, files: Record<string, string>): string {
  const dir = path.join(tmp.dir, name);
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

const HELLO = 'package handler\n\nimport "net/http"\n\nfunc Handler(w http.ResponseWriter, r *http.Request) { w.Write([]byte("hi")) }\n';

describe("the Go toolchain", () => {
  it("is missing from PATH", async () => {
    const empty = path.join(tmp.dir, "empty-path");
    mkdirSync(empty, { recursive: true });
    const res = await runCli(["build", path.join(projectsDir, "vercel-app")], { ...env, PATH: empty });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("Go was not found: the `go` command is not on PATH");
    expect(res.stderr).toContain("Install Go 1.21 or newer from https://go.dev/dl/");
  });

  it("is too old", async () => {
    const bin = path.join(tmp.dir, "old-go");
    mkdirSync(bin, { recursive: true });
    writeFileSync(path.join(bin, "go"), '#!/bin/sh\necho "go version go1.20.14 linux/amd64"\n');
    chmodSync(path.join(bin, "go"), 0o755);
    const res = await runCli(["build", path.join(projectsDir, "vercel-app")], { ...env, PATH: `${bin}${path.delimiter}${process.env.PATH}` });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("Go 1.20.14 is too old: GOOS=wasip1 needs Go 1.21 or newer");
    expect(res.stderr).toContain("https://go.dev/dl/");
  });
});

describe("the project", () => {
  it("has no go.mod", async () => {
    const dir = project("no-mod", { "api/hello.go": HELLO });
    const res = await runCli(["build", dir], env);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`no go.mod found in ${dir} or any parent directory`);
    expect(res.stderr).toContain("go mod init");
  });

  it("has no functions", async () => {
    const res = await runCli(["build", path.join(projectsDir, "empty")], env);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("no Go functions found");
    expect(res.stderr).toContain("func Handler(w http.ResponseWriter, r *http.Request)");
    expect(res.stderr).toContain("cmd/<name>/main.go");
  });

  it("does not compile: go build's own output with file:line", async () => {
    const dir = copyProject("broken", tmp.dir);
    const res = await runCli(["build", dir, "--target", "netlify"], env);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/built\s+\/api\/ok/);
    expect(res.stderr).toContain("FAILED  /api/bad  (api/bad.go)");
    expect(res.stderr).toContain("api/bad.go:7:28: cannot use 42 (untyped int constant) as string value in argument to w.Header().Set");
    expect(res.stderr).toContain("1 of 2 functions failed to compile");
  });

  it("does not parse", async () => {
    const dir = project("syntax", { "go.mod": "module example.com/syntax\n\ngo 1.21\n", "api/hello.go": `${HELLO}\nfunc broken( {\n` });
    const res = await runCli(["build", dir], env);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/api\/hello\.go:7:\d+: /);
    expect(res.stderr).toContain("Fix the syntax errors above");
  });

  it("has a bad configuration", async () => {
    const dir = project("bad-config", {
      "go.mod": "module example.com/badconfig\n\ngo 1.21\n",
      "api/hello.go": HELLO,
      "wasi-adapter.config.json": JSON.stringify({ mode: "fast", functions: { "api/hello.go": { memroy: 1 } } }),
    });
    const res = await runCli(["build", dir], env);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('wasi-adapter.config.json: "mode" must be "auto", "cgi" or "persistent" (got "fast")');
    expect(res.stderr).toContain('functions["api/hello.go"]: unknown setting "memroy"');
  });

  it("has two files for one route", async () => {
    const dir = project("clash", { "go.mod": "module example.com/clash\n\ngo 1.21\n", "api/users.go": HELLO, "api/users/index.go": HELLO.replace("package handler", "package users") });
    const res = await runCli(["build", dir], env);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("api/users.go and api/users/index.go both want the function path /api/users");
  });
});

describe("the command line", () => {
  it("prints help", async () => {
    const res = await runCli(["--help"], env);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain("wasi-adapter build [dir] [--target vercel|netlify|all]");
    expect(res.stdout).toContain("wasi-adapter dev [dir]");
    expect(res.stdout).toContain("wasi-adapter serve <file.wasm>");
  });

  it("rejects unknown commands and options", async () => {
    const unknown = await runCli(["deploy"], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "deploy"');
    const target = await runCli(["build", ".", "--target", "aws"], env);
    expect(target.code).toBe(2);
    expect(target.stderr).toContain("--target must be vercel, netlify or all");
    const flag = await runCli(["build", "--fast"], env);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("--fast");
  });
});
