// The build end to end: fixture projects built for Vercel and Netlify, the generated files, and
// every generated function invoked the way its platform does.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { build, type BuildResult } from "../../src/build-plugin/index.js";
import { createHandler } from "../../src/index.js";
import { packageVersion } from "../../src/build-plugin/package-info.js";
import { recordingReporter } from "../../src/build-plugin/reporter.js";
import {
  copyProject,
  listFiles,
  loadNetlify,
  netlifyFetch,
  runCli,
  startVercelRouter,
  tempDir,
  treeDigest,
  withoutVersion,
} from "./helpers.js";

const version = packageVersion();
const tmp = tempDir("build");
const cacheDir = path.join(tmp.dir, "cache");
process.env.WASI_ADAPTER_CACHE_DIR = cacheDir;

const outputs = (rel: string) => rel === ".vercel" || rel === ".netlify";
let vercelApp: string;
let cmdApp: string;
let sourcesBefore: Record<string, string>;
let first: BuildResult;
let cmdResult: BuildResult;
const servers: Server[] = [];

beforeAll(async () => {
  vercelApp = copyProject("vercel-app", tmp.dir);
  cmdApp = copyProject("cmd-app", tmp.dir);
  sourcesBefore = treeDigest(vercelApp);
  // Different projects, one build cache: built one after the other.
  first = await build({ dir: vercelApp, targets: ["vercel", "netlify"], reporter: recordingReporter() });
  cmdResult = await build({ dir: cmdApp, targets: ["vercel", "netlify"], reporter: recordingReporter() });
}, 120_000);

afterAll(async () => {
  for (const s of servers) s.close();
  tmp.cleanup();
});

const readJson = (file: string) => JSON.parse(readFileSync(file, "utf8"));

describe("detection", () => {
  it("finds every handler file and routes it like Vercel", () => {
    expect(first.functions.map((f) => [f.fn.source, f.fn.id, f.fn.routes.map((r) => r.pattern).join(" "), f.fn.netlifyName])).toMatchInlineSnapshot(`
      [
        [
          "api/index.go",
          "api",
          "/api",
          "api",
        ],
        [
          "api/[team]/members.go",
          "api/[team]/members",
          "/api/[team]/members",
          "api-team-members",
        ],
        [
          "api/echo.go",
          "api/echo",
          "/api/echo",
          "api-echo",
        ],
        [
          "api/files/[...path].go",
          "api/files/[...path]",
          "/api/files/[...path]",
          "api-files-path",
        ],
        [
          "api/hello.go",
          "api/hello",
          "/api/hello",
          "api-hello",
        ],
        [
          "api/users/[id].go",
          "api/users/[id]",
          "/api/users/[id]",
          "api-users-id",
        ],
      ]
    `);
  });

  it("mounts package main programs at their routes and skips ones that serve nothing", () => {
    expect(cmdResult.functions.map((f) => [f.fn.source, f.fn.id, f.fn.routes.map((r) => r.pattern).join(" "), f.fn.program?.serves])).toEqual([
      ["cmd/modern", "api/modern", "/api/modern/*", ["wasiadapter"]],
      ["cmd/legacy", "legacy", "/legacy/*", ["cgi"]],
    ]);
    expect(cmdResult.notes).toEqual(["cmd/tool: skipped, a package main that calls neither cgi.Serve nor wasiadapter.Serve"]);
  });

  it("leaves every user file as it was, and nothing behind but the outputs", () => {
    expect(treeDigest(vercelApp, outputs)).toEqual(sourcesBefore);
  });
});

describe("Vercel output", () => {
  it("writes config.json with the dynamic routes after the filesystem phase", () => {
    expect(readJson(path.join(vercelApp, ".vercel/output/config.json"))).toMatchInlineSnapshot(`
      {
        "routes": [
          {
            "handle": "filesystem",
          },
          {
            "dest": "/api/users/[id]?id=$1",
            "src": "^/api/users/([^/]+)$",
          },
          {
            "dest": "/api/files/[...path]?path=$1",
            "src": "^/api/files/(.+)$",
          },
          {
            "dest": "/api/[team]/members?team=$1",
            "src": "^/api/([^/]+)/members$",
          },
        ],
        "version": 3,
      }
    `);
    expect(readJson(path.join(cmdApp, ".vercel/output/config.json"))).toMatchInlineSnapshot(`
      {
        "routes": [
          {
            "handle": "filesystem",
          },
          {
            "dest": "/api/modern",
            "src": "^/api/modern(?:/.*)?$",
          },
          {
            "dest": "/legacy",
            "src": "^/legacy(?:/.*)?$",
          },
        ],
        "version": 3,
      }
    `);
  });

  it("writes one self-contained .func per function", () => {
    const files = listFiles(path.join(vercelApp, ".vercel/output"));
    expect(files.filter((f) => f.endsWith("index.js")).map((f) => f.replace(/\/index\.js$/, ""))).toEqual([
      "functions/api/[team]/members.func",
      "functions/api/echo.func",
      "functions/api/files/[...path].func",
      "functions/api/hello.func",
      "functions/api/users/[id].func",
      "functions/api.func",
    ]);
    for (const func of files.filter((f) => f.endsWith(".vc-config.json")).map((f) => path.dirname(f))) {
      expect(listFiles(path.join(vercelApp, ".vercel/output", func))).toEqual([".vc-config.json", "handler.wasm", "index.js", "package.json"]);
      expect(readJson(path.join(vercelApp, ".vercel/output", func, "package.json"))).toEqual({ type: "module" });
      const code = readFileSync(path.join(vercelApp, ".vercel/output", func, "index.js"), "utf8");
      expect(code).not.toMatch(/from\s+["'](wasi-adapter|\.\.?\/)/); // adapter and core are bundled in
    }
  });

  it("writes .vc-config.json from the configuration", () => {
    const vc = (app: string, id: string) => withoutVersion(readJson(path.join(app, ".vercel/output/functions", `${id}.func`, ".vc-config.json")), version);
    expect(vc(vercelApp, "api/users/[id]")).toMatchInlineSnapshot(`
      {
        "framework": {
          "slug": "wasi-adapter",
          "version": "<version>",
        },
        "handler": "index.js",
        "launcherType": "Nodejs",
        "runtime": "nodejs22.x",
        "shouldAddHelpers": false,
        "supportsResponseStreaming": true,
      }
    `);
    expect(vc(cmdApp, "legacy")).toMatchObject({ maxDuration: 30, runtime: "nodejs22.x" });
    expect(vc(cmdApp, "api/modern")).toMatchObject({ memory: 512 });
  });
});

describe("Vercel functions answer through Vercel's routing", () => {
  let vercel: Awaited<ReturnType<typeof startVercelRouter>>;
  let cmd: Awaited<ReturnType<typeof startVercelRouter>>;
  beforeAll(async () => {
    vercel = await startVercelRouter(path.join(vercelApp, ".vercel/output"));
    cmd = await startVercelRouter(path.join(cmdApp, ".vercel/output"));
    servers.push(vercel.server, cmd.server);
  });

  it("serves handler files, two with the same function name in one package", async () => {
    const hello = await fetch(`${vercel.base}/api/hello?name=vercel`);
    expect(hello.status).toBe(200);
    expect(hello.headers.get("content-type")).toBe("application/json");
    expect(await hello.json()).toEqual({ message: "hello, vercel", from: "hello.go" });
    expect(await (await fetch(`${vercel.base}/api`)).json()).toEqual({ from: "index.go", path: "/api" });
  });

  it("gives dynamic segments to Go as query parameters", async () => {
    expect(await (await fetch(`${vercel.base}/api/users/42?x=1`)).json()).toEqual({ id: "42", greeting: "hello, 42", path: "/api/users/42" });
    expect(await (await fetch(`${vercel.base}/api/acme/members`)).text()).toBe("members of acme (helper in a dynamic directory)");
    expect(await (await fetch(`${vercel.base}/api/files/docs/a%20b.txt`)).text()).toBe("file docs/a b.txt");
  });

  it("passes the body, headers and client through", async () => {
    const res = await fetch(`${vercel.base}/api/echo?q=1`, { method: "POST", body: "ping", headers: { "x-test": "yes" } });
    expect(await res.json()).toMatchObject({ method: "POST", path: "/api/echo", query: "q=1", body: "ping", header: "yes", remoteAddr: expect.stringMatching(/^203\.0\.113\.9/) });
  });

  it("serves main programs under their prefix, CGI and persistent", async () => {
    expect(await (await fetch(`${cmd.base}/legacy/a/b`)).text()).toBe("legacy GET /legacy/a/b hits=1");
    expect(await (await fetch(`${cmd.base}/legacy/a/b`)).text()).toBe("legacy GET /legacy/a/b hits=1"); // fresh instance each time
    const counts = [];
    for (let i = 0; i < 3; i++) counts.push(await (await fetch(`${cmd.base}/api/modern/count`)).text());
    expect(counts.at(-1)).not.toBe("count=1"); // one instance served several requests
    expect(await (await fetch(`${cmd.base}/api/modern/env`)).text()).toBe("GREETING=hi");
    expect(cmd.seen).toContain("/api/modern");
  });

  it("has no function for other paths", async () => {
    expect((await fetch(`${vercel.base}/api/nothing/here`)).status).toBe(404);
  });
});

describe("Netlify output", () => {
  it("writes v2 functions with config.path and the module beside them", () => {
    const dir = path.join(vercelApp, ".netlify/v1/functions");
    expect(listFiles(dir)).toEqual([
      "api/api.mjs",
      "api/api.wasm",
      "api-echo/api-echo.mjs",
      "api-echo/api-echo.wasm",
      "api-files-path/api-files-path.mjs",
      "api-files-path/api-files-path.wasm",
      "api-hello/api-hello.mjs",
      "api-hello/api-hello.wasm",
      "api-team-members/api-team-members.mjs",
      "api-team-members/api-team-members.wasm",
      "api-users-id/api-users-id.mjs",
      "api-users-id/api-users-id.wasm",
    ]);
    const code = readFileSync(path.join(dir, "api-users-id/api-users-id.mjs"), "utf8");
    expect(code).toMatch(/readFileSync\d*\(new URL\("\.\/api-users-id\.wasm", import\.meta\.url\)\)/);
    expect(withoutVersion(code.slice(code.lastIndexOf("export const config")), version)).toMatchInlineSnapshot(`
      "export const config = {
        "path": [
          "/api/users/:id"
        ],
        "preferStatic": true,
        "generator": "wasi-adapter@<version>"
      };
      "
    `);
  });

  it("invokes every function with (Request, Context)", async () => {
    const fns = await loadNetlify(path.join(vercelApp, ".netlify/v1/functions"));
    expect(fns.map((f) => [f.name, f.mod.config.path])).toEqual([
      ["api", ["/api"]],
      ["api-echo", ["/api/echo"]],
      ["api-files-path", ["/api/files/*"]],
      ["api-hello", ["/api/hello"]],
      ["api-team-members", ["/api/:team/members"]],
      ["api-users-id", ["/api/users/:id"]],
    ]);
    const site = "https://site.netlify.app";
    expect(await (await netlifyFetch(fns, `${site}/api/hello?name=netlify`)).json()).toEqual({ message: "hello, netlify", from: "hello.go" });
    expect(await (await netlifyFetch(fns, `${site}/api`)).json()).toEqual({ from: "index.go", path: "/api" });
    expect(await (await netlifyFetch(fns, `${site}/api/users/7`)).json()).toEqual({ id: "7", greeting: "hello, 7", path: "/api/users/7" });
    expect(await (await netlifyFetch(fns, `${site}/api/acme/members`)).text()).toBe("members of acme (helper in a dynamic directory)");
    expect(await (await netlifyFetch(fns, `${site}/api/files/x/y.txt`)).text()).toBe("file x/y.txt");
    const echo = await netlifyFetch(fns, `${site}/api/echo`, { method: "PUT", body: "payload", headers: { "x-test": "nf" } });
    expect(await echo.json()).toMatchObject({ method: "PUT", body: "payload", header: "nf", host: "site.netlify.app", remoteAddr: expect.stringMatching(/^198\.51\.100\.4/) });
  });

  it("serves main programs at path and path/*", async () => {
    const fns = await loadNetlify(path.join(cmdApp, ".netlify/v1/functions"));
    expect(fns.map((f) => [f.name, f.mod.config.path])).toEqual([
      ["api-modern", ["/api/modern", "/api/modern/*"]],
      ["legacy", ["/legacy", "/legacy/*"]],
    ]);
    expect(await (await netlifyFetch(fns, "https://site.netlify.app/legacy/x")).text()).toBe("legacy GET /legacy/x hits=1");
    expect(await (await netlifyFetch(fns, "https://site.netlify.app/api/modern/env")).text()).toBe("GREETING=hi");
  });
});

describe("build cache", () => {
  it("rebuilds an unchanged project from the cache", async () => {
    const again = await build({ dir: vercelApp, targets: ["vercel", "netlify"], reporter: recordingReporter() });
    expect(again.cacheHits).toBe(again.functions.length);
    expect(again.functions.every((f) => f.cached)).toBe(true);
  });

  it("says so on the command line", async () => {
    const res = await runCli(["build", vercelApp, "--target", "vercel"], { ...process.env, WASI_ADAPTER_CACHE_DIR: cacheDir });
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/built 6 functions \(6 from cache\)/);
    expect(res.stdout.match(/^\s+cached\s/gm)).toHaveLength(6);
  });

  it("rebuilds after a Go file changed", async () => {
    const helper = path.join(vercelApp, "lib/greet/greet.go");
    const original = readFileSync(helper, "utf8");
    writeFileSync(helper, original.replace('"hello, %s"', '"hi, %s"'));
    try {
      const changed = await build({ dir: vercelApp, targets: ["netlify"], reporter: recordingReporter() });
      expect(changed.cacheHits).toBe(0);
      const handler = createHandler({ wasm: path.join(vercelApp, ".netlify/v1/functions/api-hello/api-hello.wasm") });
      try {
        const res = await handler.fetch(new Request("https://x.test/api/hello?name=z"));
        expect(await res.json()).toMatchObject({ message: "hi, z" });
      } finally {
        await handler.close();
      }
    } finally {
      writeFileSync(helper, original);
    }
  });
});

describe("merging into another builder's .vercel/output", () => {
  it("keeps the other builder's functions, routes and static files", async () => {
    const app = copyProject("cmd-app", path.join(tmp.dir, "merge"));
    const out = path.join(app, ".vercel/output");
    mkdirSync(path.join(out, "functions/render.func"), { recursive: true });
    mkdirSync(path.join(out, "static"), { recursive: true });
    writeFileSync(path.join(out, "static/index.html"), "<h1>site</h1>");
    writeFileSync(path.join(out, "functions/render.func/.vc-config.json"), JSON.stringify({ runtime: "nodejs22.x", handler: "index.js", launcherType: "Nodejs" }));
    writeFileSync(path.join(out, "functions/render.func/index.js"), "export default (req, res) => res.end('render')");
    writeFileSync(
      path.join(out, "config.json"),
      JSON.stringify({ version: 3, routes: [{ src: "^/old$", status: 308, headers: { Location: "/" } }, { handle: "filesystem" }, { src: "^/.*$", dest: "/render" }], framework: { version: "1.0.0" } }),
    );
    await build({ dir: app, targets: ["vercel"], reporter: recordingReporter() });
    const config = readJson(path.join(out, "config.json"));
    expect(config).toEqual({
      version: 3,
      framework: { version: "1.0.0" },
      routes: [
        { src: "^/old$", status: 308, headers: { Location: "/" } },
        { handle: "filesystem" },
        { src: "^/api/modern(?:/.*)?$", dest: "/api/modern" },
        { src: "^/legacy(?:/.*)?$", dest: "/legacy" },
        { src: "^/.*$", dest: "/render" },
      ],
    });
    expect(existsSync(path.join(out, "static/index.html"))).toBe(true);
    expect(existsSync(path.join(out, "functions/render.func/index.js"))).toBe(true);
    expect(existsSync(path.join(out, "functions/legacy.func/handler.wasm"))).toBe(true);

    // Building again replaces our part only.
    await build({ dir: app, targets: ["vercel"], reporter: recordingReporter() });
    expect(readJson(path.join(out, "config.json"))).toEqual(config);
    expect(existsSync(path.join(out, "functions/render.func/index.js"))).toBe(true);
  });

  it("starts clean over its own earlier output", async () => {
    const out = path.join(vercelApp, ".vercel/output");
    mkdirSync(path.join(out, "functions/api/stale.func"), { recursive: true });
    writeFileSync(path.join(out, "functions/api/stale.func/.vc-config.json"), JSON.stringify({ framework: { slug: "wasi-adapter", version } }));
    await build({ dir: vercelApp, targets: ["vercel"], reporter: recordingReporter() });
    expect(existsSync(path.join(out, "functions/api/stale.func"))).toBe(false);
    expect(readJson(path.join(out, "config.json")).routes[0]).toEqual({ handle: "filesystem" });
  });
});
