// The package's "main" for platform loaders, which read package.json "main" and ignore "exports":
//  - Vercel loads a Runtime with require(main) and calls .build() (Builder API version 3):
//      "functions": { "api/**/*.go": { "runtime": "wasi-adapter@<version>" } }
//  - Netlify loads a Build plugin from main; when the module is a function it calls it to get
//    the event handlers: [[plugins]] package = "wasi-adapter"
// Applications import the package through "exports" and never see this file.
"use strict";

const runtime = require("./vercel-runtime.cjs");
const { onBuild } = require("./netlify-plugin/index.cjs");

function wasiAdapterNetlifyPlugin() {
  return { onBuild };
}

module.exports = Object.assign(wasiAdapterNetlifyPlugin, {
  version: runtime.version,
  build: runtime.build,
  prepareCache: runtime.prepareCache,
});
