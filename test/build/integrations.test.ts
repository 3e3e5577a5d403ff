// The platform integrations: the Vercel runtime (Builder API v3) and the Netlify build plugin.
import { fork } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { download, type Lambda } from "@vercel/build-utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { onBuild } from "../../src/build-plugin/netlify-plugin.js";
import * as runtime from "../../src/build-plugin/vercel-runtime.js";
import { copyProject, listFiles, loadNetlify, netlifyFetch, repoRoot, tempDir } from "./helpers.js";

const tmp = tempDir("integrations");
process.env.WASI_ADAPTER_CACHE_DIR = path.join(tmp.dir, "cache");
afterAll(() => tmp.cleanup());

/** Runs a built Vercel function with the launcher that ships in @vercel/node, as `vercel dev` does. */
async function vercelLauncher(funcDir: string, entry: string): Promise<{ base: string; stop(): void }> {
  const child = fork(path.join(repoRoot, "node_modules/@vercel/node/dist/dev-server.mjs"), [], {
    cwd: funcDir,
    env: { ...process.env, VERCEL_DEV_ENTRYPOINT: entry, VERCEL_DEV_CONFIG: JSON.stringify({ helpers: false }) },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const address = await new Promise<{ port: number }>((resolve, reject) => {
    child.once("message", (m) => resolve(m as { port: number }));
    child.once("exit", (code) => reject(new Error(`the Vercel launcher exited with ${code}`)));
  });
  return { base: `http://127.0.0.1:${address.port}`, stop: () => child.kill() };
}

describe("Vercel runtime", () => {
  let app: string;
  let lambda: Lambda;
  beforeAll(async () => {
    app = copyProject("vercel-app", tmp.dir);
    const result = await runtime.build({ files: {}, entrypoint: "api/users/[id].go", workPath: app, repoRootPath: app, config: {}, meta: {} });
    lambda = result.output as Lambda;
  }, 60_000);

  it("exports the Builder API v3", () => {
    expect(runtime.version).toBe(3);
    expect(typeof runtime.build).toBe("function");
  });

  it("answers a Node.js function with the bundled handler and the module", () => {
    expect(lambda).toMatchObject({ type: "Lambda", launcherType: "Nodejs", handler: "index.js", runtime: "nodejs22.x", shouldAddHelpers: false, supportsResponseStreaming: true });
    expect(Object.keys(lambda.files ?? {}).sort()).toEqual(["handler.wasm", "index.js", "package.json"]);
  });

  it("runs in Vercel's own launcher", async () => {
    const dir = path.join(tmp.dir, "lambda");
    await download(lambda.files!, dir);
    const launcher = await vercelLauncher(dir, "index.js");
    try {
      // The launcher does no routing: the URL is what Vercel's proxy sends after its route.
      const res = await fetch(`${launcher.base}/api/users/5?id=5`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ id: "5", greeting: "hello, 5", path: "/api/users/5" });
      // Without the rewritten query the function still finds the segment in the path.
      expect(await (await fetch(`${launcher.base}/api/users/6`)).json()).toMatchObject({ id: "6" });
    } finally {
      launcher.stop();
    }
  });

  it("refuses a file that is not a handler", async () => {
    await expect(runtime.build({ files: {}, entrypoint: "api/helpers.go", workPath: app, repoRootPath: app, config: {}, meta: {} })).rejects.toThrow(
      "api/helpers.go is not a Go function: it needs an exported func X(http.ResponseWriter, *http.Request)",
    );
  });
});

describe("Netlify build plugin", () => {
  class Failed extends Error {
    constructor(
      message: string,
      readonly options?: { error?: unknown },
    ) {
      super(message);
    }
  }
  const utils = {
    build: {
      failBuild(message: string, options?: { error?: unknown }): never {
        throw new Failed(message, options);
      },
    },
  };

  it("writes the functions during onBuild", async () => {
    const app = copyProject("cmd-app", tmp.dir);
    await onBuild({ constants: { PACKAGE_PATH: app }, inputs: {}, utils });
    const dir = path.join(app, ".netlify/v1/functions");
    expect(listFiles(dir)).toEqual(["api-modern/api-modern.mjs", "api-modern/api-modern.wasm", "legacy/legacy.mjs", "legacy/legacy.wasm"]);
    expect(existsSync(path.join(app, ".vercel"))).toBe(false);
    const res = await netlifyFetch(await loadNetlify(dir), "https://site.netlify.app/api/modern/hello");
    expect(await res.text()).toBe("modern /api/modern/hello");
  });

  it("fails the build with the reason", async () => {
    const app = copyProject("empty", tmp.dir);
    const failure = await onBuild({ constants: { PACKAGE_PATH: app }, inputs: {}, utils }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(Failed);
    expect((failure as Failed).message).toMatch(/^wasi-adapter: no Go functions found/);
    expect((failure as Failed).options?.error).toBeInstanceOf(Error);
  });

  it("ships a manifest naming its inputs", () => {
    const manifest = readFileSync(path.join(repoRoot, "src/build-plugin/netlify/manifest.yml"), "utf8");
    expect(manifest).toMatch(/^name: wasi-adapter$/m);
    expect(manifest).toContain("- name: dir");
    expect(manifest).toContain("- name: functionsDir");
  });
});

describe("the package's main (built by `npm test`'s pretest)", () => {
  const main = path.join(repoRoot, "dist/platform.cjs");
  it("is a Netlify plugin and a Vercel runtime at once", async () => {
    const { createRequire } = await import("node:module");
    const platform = createRequire(import.meta.url)(main) as (() => Record<string, unknown>) & { version: number; build: unknown };
    expect(platform.version).toBe(3);
    expect(typeof platform.build).toBe("function");
    expect(Object.keys(platform())).toEqual(["onBuild"]);
    expect(existsSync(path.join(repoRoot, "dist/manifest.yml"))).toBe(true);
  });
});
