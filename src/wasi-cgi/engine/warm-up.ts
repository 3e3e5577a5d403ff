// V8 compiles a wasm function on its first call, and Go's start-up calls some 700 functions (the
// runtime's, every package's init): on a cold start that compilation takes longer than the
// start-up itself, on the instance's thread, while the first request waits. Compiled code belongs
// to the module, not to an instance, so a throwaway instance that runs Go's start-up on the main
// thread while the instance's worker is still booting leaves that code compiled for it.
import { runInNewContext } from "node:vm";
import { BufferSource, InputFd, OutputFd } from "../wasi/fds.js";
import { WasiHost } from "../wasi/host.js";

/** The longest a warm-up runs: it blocks its thread (V8 ends it, even in a loop that never calls out). */
const MAX_WARM_UP_MS = 100;

export interface WarmUpOptions {
  args: readonly string[];
  env: readonly string[];
  /** Checked at every system call of the throwaway instance: once true, the warm-up stops. */
  enough?: () => boolean;
}

/**
 * How a warm-up ended. "ended": the program ran to its end (the Go side found no requests).
 * "stopped": `enough()` turned true, MAX_WARM_UP_MS passed or the program was about to block.
 * "failed": it could not be instantiated, trapped or exited with a status other than 0 (the real
 * instance reports that, if it has it too).
 */
export type WarmUpEnd = "ended" | "stopped" | "failed";

/** Ends the throwaway instance from inside a system call (unwinds out of the module). */
class WarmUpOver extends Error {}

const stop = (): never => {
  throw new WarmUpOver();
};

/**
 * Runs the module's start-up in a throwaway instance on this thread. It serves nothing: a module
 * with the Go side runs in persistent mode with stdin at end of input, so the loop ends before any
 * handler runs; a plain CGI program gets no request variables (net/http/cgi then refuses to call
 * its handler; a program that reads them itself runs without them). Its output is dropped, and it
 * has no files or sockets to touch. Anything that would block (a sleep, a wait for input) stops
 * it, as do `enough()` and MAX_WARM_UP_MS.
 */
export function warmUp(module: WebAssembly.Module, options: WarmUpOptions): WarmUpEnd {
  const discard = () => {};
  const host = new WasiHost({
    args: options.args,
    env: options.env,
    fds: [new InputFd(new BufferSource(new Uint8Array(0))), new OutputFd(discard), new OutputFd(discard)],
    wait: stop,
  });
  const syscalls = Object.entries(host.imports().wasi_snapshot_preview1!);
  const enough = options.enough ?? (() => false);
  const guarded = Object.fromEntries(syscalls.map(([name, call]) => [name, (...args: never[]) => (enough() ? stop() : call(...args))]));
  const imports = { wasi_snapshot_preview1: guarded, wasi_adapter: { persistent_v1: () => 1 } };
  const run = () => host.start(new WebAssembly.Instance(module, imports));
  try {
    return runInNewContext("run()", { run }, { timeout: MAX_WARM_UP_MS }) === 0 ? "ended" : "failed";
  } catch (error) {
    const timedOut = (error as { code?: unknown } | null)?.code === "ERR_SCRIPT_EXECUTION_TIMEOUT";
    return error instanceof WarmUpOver || timedOut ? "stopped" : "failed";
  }
}
