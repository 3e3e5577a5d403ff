// The package through the real Vercel CLI (vercel from test/e2e/tools), offline: a copy of
// examples/vercel built with `vercel build --yes` against a hand-written .vercel/project.json; its
// buildCommand (`wasi-adapter build --target vercel`, the package linked as node_modules/wasi-adapter)
// writes .vercel/output, which the CLI takes as Build Output API v3. The functions it leaves are
// then served by node:http, as Vercel's Node.js launcher calls a (req, res) default export.
//
// Two changes to the copy's vercel.json, both for offline use:
// - installCommand: the example's `dnf install -y golang && npm install` → a no-op (Go is here,
//   the package is linked);
// - builds: [package.json → @vercel/static-build]: without it the CLI's zero-config detection also
//   schedules @vercel/go for api/*.go, which downloads Go 1.21.13 from dl.google.com (fails offline)
//   and would build those files as native Go functions next to the wasm ones.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, symlink } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyExample, ensureBuilt, scratch, toolsDir, writeJson } from "./support.js";

const vercelBin = join(toolsDir, "node_modules/.bin/vercel");

let work: Awaited<ReturnType<typeof scratch>>;
let site: string;
let output: string;
let buildLog = "";
let server: Server;
let origin: string;

type Handler = (req: IncomingMessage, res: ServerResponse) => unknown;

beforeAll(async () => {
  if (!existsSync(vercelBin)) throw new Error("vercel is not installed: run `npm run e2e:tools` (npm ci --prefix test/e2e/tools)");
  ensureBuilt(["cli.js"]);
  work = await scratch("vercel-cli");
  site = join(work.dir, "site");
  await copyExample("vercel", site);
  await symlink("../wasi-adapter/dist/cli.js", join(site, "node_modules/.bin/wasi-adapter"));
  const config = JSON.parse(await readFile(join(site, "vercel.json"), "utf8")) as Record<string, unknown>;
  config.installCommand = "echo offline: wasi-adapter is linked";
  config.builds = [{ src: "package.json", use: "@vercel/static-build", config: { zeroConfig: true } }];
  await writeJson(join(site, "vercel.json"), config);
  await mkdir(join(site, ".vercel"), { recursive: true });
  await writeJson(join(site, ".vercel/project.json"), { projectId: "prj_local", orgId: "team_local", settings: { framework: null } });

  const env: NodeJS.ProcessEnv = { ...process.env, CI: "1", VERCEL_TELEMETRY_DISABLED: "1", NO_COLOR: "1", FORCE_COLOR: "0" };
  for (const key of ["VERCEL_TOKEN", "VERCEL_ORG_ID", "VERCEL_PROJECT_ID"]) delete env[key];
  try {
    buildLog = execFileSync(vercelBin, ["build", "--yes"], { cwd: site, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 150_000 });
  } catch (error) {
    const e = error as { status?: number; stdout?: string; stderr?: string };
    throw new Error(`vercel build --yes failed (exit ${e.status}):\n${e.stdout ?? ""}\n${e.stderr ?? ""}`);
  }
  output = join(site, ".vercel/output");

  const functions: [RegExp, Handler][] = [];
  for (const [pattern, dir] of [
    [/^\/api\/hello(\?|$)/, "api/hello.func"],
    [/^\/api\/users\/[^/?]+(\?|$)/, "api/users/[id].func"],
  ] as const) {
    const vc = JSON.parse(await readFile(join(output, "functions", dir, ".vc-config.json"), "utf8")) as { handler: string };
    const mod = (await import(pathToFileURL(join(output, "functions", dir, vc.handler)).href)) as { default: Handler };
    functions.push([pattern, mod.default]);
  }
  server = createServer((req, res) => {
    const fn = functions.find(([pattern]) => pattern.test(req.url ?? ""));
    if (!fn) {
      res.writeHead(404).end();
      return;
    }
    void fn[1](req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}, 180_000);

afterAll(async () => {
  if (server) await new Promise((resolve) => server.close(resolve));
  await work?.remove();
});

describe("vercel build --yes (offline)", () => {
  it("runs the wasi-adapter build and keeps its Build Output", async () => {
    expect(buildLog).toMatch(/wasi-adapter: built 2 functions/);
    for (const dir of ["api/hello.func", "api/users/[id].func"]) {
      expect(existsSync(join(output, "functions", dir, "handler.wasm"))).toBe(true);
      const vc = JSON.parse(await readFile(join(output, "functions", dir, ".vc-config.json"), "utf8")) as Record<string, unknown>;
      expect(vc).toMatchObject({ handler: "index.js", launcherType: "Nodejs" });
    }
    expect(existsSync(join(output, "static/index.html"))).toBe(true);
    const config = JSON.parse(await readFile(join(output, "config.json"), "utf8")) as { version: number; routes: { src?: string; dest?: string }[] };
    expect(config.version).toBe(3);
    expect(config.routes).toContainEqual({ src: "^/api/users/([^/]+)$", dest: "/api/users/[id]?id=$1" });
    // no native Go function from @vercel/go next to the wasm ones
    expect(buildLog).not.toContain("Downloading go");
  });
});

describe("the functions vercel build produced", () => {
  it("answers /api/hello", async () => {
    const response = await fetch(`${origin}/api/hello?name=Gopher`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ message: "Hello, Gopher!" });
  });

  it("answers the dynamic route /api/users/[id]", async () => {
    const response = await fetch(`${origin}/api/users/1`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ id: 1, name: "Ada" });
    const missing = await fetch(`${origin}/api/users/99`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: "no such user" });
  });
});
