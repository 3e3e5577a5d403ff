// The Go toolchain on PATH: is it there, is it new enough, and the environment builds run with.
import { run } from "./exec.js";
import { BuildError } from "./errors.js";

export const MIN_GO = { major: 1, minor: 21 };

export interface GoToolchain {
  /** `go version` output, e.g. "go version go1.26.8 linux/amd64". */
  versionLine: string;
  /** e.g. "go1.26.8", or "devel …" for a development build. */
  version: string;
}

/** Environment for go commands: inherited, without workspace mode, plus overrides (undefined deletes). */
export function goEnv(overrides: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, GOWORK: "off", ...overrides };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  return env;
}

const INSTALL_HINT =
  "Install Go 1.21 or newer from https://go.dev/dl/ (or with your package manager, e.g. `brew install go`, `apt install golang-go`) and make sure the `go` command is on PATH";

/** Parses "go1.26.8", "go1.21", "go1.22rc1"; null for devel builds and anything else. */
export function parseGoVersion(version: string): { major: number; minor: number } | null {
  const m = /^go(\d+)\.(\d+)/.exec(version);
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : null;
}

export async function checkGo(cwd: string): Promise<GoToolchain> {
  const result = await run("go", ["version"], { cwd, env: goEnv() });
  if (result.spawnError?.code === "ENOENT") {
    throw new BuildError(`Go was not found: the \`go\` command is not on PATH.\n${INSTALL_HINT}.`, { cause: result.spawnError });
  }
  if (result.code !== 0) {
    throw new BuildError(`\`go version\` failed (exit status ${result.code}):\n${(result.stderr || result.stdout).trim()}\n${INSTALL_HINT}.`);
  }
  const versionLine = result.stdout.trim();
  const m = /^go version (\S+)/.exec(versionLine);
  if (!m) throw new BuildError(`cannot read the Go version from \`go version\`: ${JSON.stringify(versionLine)}\n${INSTALL_HINT}.`);
  const version = m[1]!;
  if (version.startsWith("devel")) return { versionLine, version };
  const parsed = parseGoVersion(version);
  if (!parsed) throw new BuildError(`cannot read the Go version from \`go version\`: ${JSON.stringify(versionLine)}\n${INSTALL_HINT}.`);
  if (parsed.major < MIN_GO.major || (parsed.major === MIN_GO.major && parsed.minor < MIN_GO.minor)) {
    throw new BuildError(
      `Go ${version.slice(2)} is too old: GOOS=wasip1 needs Go ${MIN_GO.major}.${MIN_GO.minor} or newer.\n` +
        `Install a newer Go from https://go.dev/dl/ (or your package manager) and put it first on PATH (found: ${versionLine}).`,
    );
  }
  return { versionLine, version };
}
