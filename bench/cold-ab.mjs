// Cold starts of two or more builds, alternating: `node bench/cold-ab.mjs N label=server.mjs …`.
// Each server is started as `node <server.mjs> <kind> <port>` (kind: $KIND, default persistent;
// bench/server.mjs of another checkout compares that checkout's build) and timed from spawn to its
// first response, as `npm run bench` times cold starts. Prints each label's median and samples.
import { spawn } from "node:child_process";

const [count, ...specs] = process.argv.slice(2);
const builds = specs.map((spec) => spec.split("="));
if (!(Number(count) > 0) || builds.length === 0 || builds.some((build) => build.length !== 2)) {
  console.error("usage: node bench/cold-ab.mjs N label=path/to/server.mjs [label=path/to/server.mjs …]");
  process.exit(2);
}
const kind = process.env.KIND ?? "persistent";
const samples = new Map(builds.map(([label]) => [label, []]));
let port = 7400;

async function coldStart(server) {
  port++;
  const started = performance.now();
  const child = spawn(process.execPath, [server, kind, String(port)], { stdio: ["ignore", "pipe", "inherit"] });
  try {
    await new Promise((resolve, reject) => {
      child.stdout.once("data", resolve);
      child.once("exit", (code) => reject(new Error(`${server} exited with ${code} before listening`)));
    });
    const response = await fetch(`http://127.0.0.1:${port}/api/hello?name=bench`);
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`${server}: the first request answered ${response.status}`);
    return performance.now() - started;
  } finally {
    child.kill("SIGTERM");
    if (child.exitCode === null) await new Promise((resolve) => child.once("exit", resolve));
  }
}

for (let i = 0; i < Number(count); i++) {
  for (const [label, server] of builds) samples.get(label).push(await coldStart(server));
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
for (const [label, values] of samples) {
  console.log(`${label.padEnd(12)} median ${median(values).toFixed(0)} ms   ${values.map((v) => v.toFixed(0)).join(" ")}`);
}
