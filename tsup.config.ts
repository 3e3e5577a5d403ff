import { defineConfig } from "tsup";

export default defineConfig({
  entry: {
    index: "src/index.ts",
    "adapters/vercel/index": "src/adapters/vercel/index.ts",
    "adapters/netlify/index": "src/adapters/netlify/index.ts",
    "adapters/node/index": "src/adapters/node/index.ts",
    "adapters/fetch/index": "src/adapters/fetch/index.ts",
    cli: "src/cli.ts",
    build: "src/build-plugin/index.ts",
    "netlify-plugin/index": "src/build-plugin/netlify-plugin.ts",
    "vercel-runtime": "src/build-plugin/vercel-runtime.ts",
  },
  // Supplied by the Vercel CLI when it runs the runtime.
  external: ["@vercel/build-utils"],
  format: ["esm", "cjs"],
  dts: true,
  clean: true,
  target: "node20",
  platform: "node",
  // ESM output shares one copy of the core between entry points (one module cache per process).
  splitting: true,
  sourcemap: false,
});
