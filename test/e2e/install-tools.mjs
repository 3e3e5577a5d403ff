// Installs the platform tooling for the end-to-end tests into test/e2e/tools (its own
// package.json and lockfile, away from the root package): `npm ci`, skipped when the installed
// tree already matches the lockfile.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const tools = fileURLToPath(new URL("./tools/", import.meta.url));
const lock = createHash("sha256").update(readFileSync(`${tools}package-lock.json`)).digest("hex");
const stamp = `${tools}node_modules/.wasi-adapter-installed`;
if (existsSync(stamp) && readFileSync(stamp, "utf8") === lock) {
  console.log("e2e tools: up to date");
} else {
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  execFileSync(npm, ["ci", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: tools, stdio: "inherit" });
  writeFileSync(stamp, lock);
  console.log("e2e tools: installed");
}
