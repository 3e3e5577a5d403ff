// The pure parts of the build: routes, configuration, flags, naming.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildTags, isSafeFileName, isValidImportDir } from "../../src/build-plugin/compile.js";
import { globMatch, settingsFor, validateConfig } from "../../src/build-plugin/config.js";
import { handlerRoute, programName } from "../../src/build-plugin/detect.js";
import { splitFlags } from "../../src/build-plugin/exec.js";
import { parseGoVersion } from "../../src/build-plugin/go-toolchain.js";
import { parseModulePath } from "../../src/build-plugin/project.js";
import { compareRoutes, matchRoute, netlifyPaths, parseRoute, routeRegExpSource } from "../../src/build-plugin/routes.js";
import { SCANNER_SOURCE } from "../../src/build-plugin/scanner-source.js";
import { tempDir } from "./helpers.js";

const tmp = tempDir("units");
afterAll(() => tmp.cleanup());

describe("routes", () => {
  it("maps handler files like Vercel", () => {
    expect(handlerRoute("api/users.go")).toBe("/api/users");
    expect(handlerRoute("api/index.go")).toBe("/api");
    expect(handlerRoute("api/users/index.go")).toBe("/api/users");
    expect(handlerRoute("api/items/[id].go")).toBe("/api/items/[id]");
  });

  it("turns patterns into regexes, matchers and Netlify paths", () => {
    const item = parseRoute("/api/items/[id]");
    expect(routeRegExpSource(item)).toBe("^/api/items/([^/]+)$");
    expect(matchRoute(item, "/api/items/a%20b")).toEqual({ id: "a b" });
    expect(matchRoute(item, "/api/items/a/b")).toBeNull();
    expect(netlifyPaths(item)).toEqual(["/api/items/:id"]);

    const files = parseRoute("/api/files/[...rest]");
    expect(matchRoute(files, "/api/files/a/b")).toEqual({ rest: "a/b" });
    expect(netlifyPaths(files)).toEqual(["/api/files/*"]);

    const site = parseRoute("/*");
    expect(matchRoute(site, "/")).toEqual({});
    expect(matchRoute(site, "/x/y")).toEqual({});
    expect(netlifyPaths(site)).toEqual(["/*"]);
    expect(netlifyPaths(parseRoute("/app/*"))).toEqual(["/app", "/app/*"]);
    expect(matchRoute(parseRoute("/app/*"), "/apple")).toBeNull();
  });

  it("rejects patterns it cannot serve", () => {
    expect(() => parseRoute("api")).toThrow('must start with "/"');
    expect(() => parseRoute("/a/[...x]/b")).toThrow("must be the last one");
    expect(() => parseRoute("/a/[x")).toThrow("cannot read the segment");
  });

  it("orders static before dynamic before catch-all, segment by segment", () => {
    const sorted = ["/*", "/api/[team]/members", "/api/users/[id]", "/api/users/me", "/api/[...all]", "/api/users/*"]
      .map(parseRoute)
      .sort(compareRoutes)
      .map((r) => r.pattern);
    expect(sorted).toEqual(["/api/users/me", "/api/users/[id]", "/api/users/*", "/api/[team]/members", "/api/[...all]", "/*"]);
  });
});

describe("configuration", () => {
  it("matches globs", () => {
    expect(globMatch("api/**", "api/a/b.go")).toBe(true);
    expect(globMatch("api/*.go", "api/a/b.go")).toBe(false);
    expect(globMatch("api/**/*.go", "api/b.go")).toBe(true);
    expect(globMatch("api/items/[id].go", "api/items/[id].go")).toBe(true);
    expect(globMatch("./cmd/site/", "cmd/site")).toBe(true);
    expect(globMatch(".", ".")).toBe(true);
  });

  it("merges settings: top level, then matching entries in order", () => {
    const config = validateConfig({ maxDuration: 10, env: { A: "1" }, functions: { "api/**": { memory: 512, env: { B: "2" } }, "api/slow.go": { maxDuration: 60 } } }, "test");
    expect(settingsFor(config, "api/slow.go")).toEqual({ maxDuration: 60, memory: 512, env: { A: "1", B: "2" } });
    expect(settingsFor(config, "cmd/x")).toEqual({ maxDuration: 10, env: { A: "1" } });
  });

  it("reports every problem at once", () => {
    expect(() => validateConfig({ target: "aws", memory: -1, functions: { x: { route: "relative" } } }, "cfg")).toThrow(
      /"target" must be "vercel", "netlify" or "all"[\s\S]*"memory" must be a positive number[\s\S]*"route" must be a path starting with "\/"/,
    );
  });
});

describe("Go facts", () => {
  it("reads versions, module paths and program names", () => {
    expect(parseGoVersion("go1.21.0")).toEqual({ major: 1, minor: 21 });
    expect(parseGoVersion("go1.22rc1")).toEqual({ major: 1, minor: 22 });
    expect(parseModulePath('// comment\nmodule "example.com/x" // trailing\n\ngo 1.21\n')).toBe("example.com/x");
    expect(programName("cmd/api", "example.com/x")).toBe("api");
    expect(programName(".", "github.com/acme/Shop-API/v3")).toBe("shop-api");
    expect(programName(".", "v2")).toBe("v2");
  });

  it("knows which names the go command accepts", () => {
    expect(isSafeFileName("[id].go")).toBe(false);
    expect(isSafeFileName("users.go")).toBe(true);
    expect(isValidImportDir("api/[team]")).toBe(false);
    expect(isValidImportDir("api/v1/users")).toBe(true);
  });

  it("splits flags like a shell and finds build tags", () => {
    expect(splitFlags(`-trimpath -ldflags="-s -w" -tags 'a b'`)).toEqual(["-trimpath", "-ldflags=-s -w", "-tags", "a b"]);
    expect(buildTags(["-tags=prod,extra"])).toEqual(["prod", "extra"]);
    expect(buildTags(["-tags", "x"])).toEqual(["x"]);
  });

  it("ships a gofmt-clean scanner", () => {
    const file = path.join(tmp.dir, "scan.go");
    writeFileSync(file, SCANNER_SOURCE);
    expect(execFileSync("gofmt", ["-l", file], { encoding: "utf8" })).toBe("");
  });
});
