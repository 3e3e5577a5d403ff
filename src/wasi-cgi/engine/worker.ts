// Entry point of an engine worker thread: runs the Go instances that serve requests, off the main thread.
import { getPriority, setPriority } from "node:os";
import { parentPort } from "node:worker_threads";
import { BufferSource, type ByteSource, InputFd, OutputFd } from "../wasi/fds.js";
import { WasiHost } from "../wasi/host.js";
import { BELL, ChannelReader, ChannelWriter, HEARTBEAT } from "./channel.js";
import type { RunRequest, WorkerEvent, WorkerSetup } from "./messages.js";

/**
 * How much nicer than the thread that started it this thread runs. Every request waits on the main thread (it
 * passes requests on and writes the answers), so a Go instance woken by the main thread's ring
 * should not take that thread's core from it. Linux keeps a nice value per thread; elsewhere it
 * is the whole process's, so it is left alone there.
 */
const NICER_BY = 5;
if (process.platform === "linux") {
  try {
    setPriority(Math.min(19, getPriority() + NICER_BY));
  } catch {
    // Refused (a sandbox): the instance runs at the process's own priority.
  }
}

/** What this worker runs: the first message it gets. */
let setup: WorkerSetup;
const port = parentPort!;
const post = (event: WorkerEvent, transfer?: ArrayBuffer[]) => port.postMessage(event, transfer);

const OUTPUT_FLUSH_BYTES = 64 * 1024;
/** How long a persistent instance polls for new requests before it sleeps until rung. */
const SPIN_MS = 0.2;

/** Collects written bytes and hands them on in few, large messages. */
class Batcher {
  private buffer = new Uint8Array(OUTPUT_FLUSH_BYTES);
  private length = 0;
  constructor(private readonly emit: (chunk: Uint8Array) => void) {}
  add(bytes: Uint8Array): void {
    if (this.length + bytes.length > this.buffer.length) {
      this.flush();
      if (bytes.length > this.buffer.length) return this.emit(bytes.slice());
    }
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
  }
  flush(): void {
    if (this.length === 0) return;
    const out = this.buffer.slice(0, this.length);
    this.length = 0;
    this.emit(out);
  }
}

/** Runs the instance to its end; a trap is reported, not thrown. Output is flushed after. */
function runToEnd(host: WasiHost, instance: WebAssembly.Instance, stdout?: Batcher): { exitCode: number | null; trap?: string } {
  try {
    return { exitCode: host.start(instance) };
  } catch (error) {
    return { exitCode: null, trap: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  } finally {
    stdout?.flush();
    stderr.flush();
  }
}

const stderr = new Batcher((chunk) => post({ type: "stderr", chunk }, [chunk.buffer as ArrayBuffer]));

function runCgi(): void {
  // Imports are bound to whichever host serves the current request, so that the next instance
  // can be created ahead of time, while the worker is idle.
  let current: Record<string, (...args: never[]) => unknown> = {};
  const template = new WasiHost({ args: [], env: [], fds: [] }).imports().wasi_snapshot_preview1!;
  const preview1 = Object.fromEntries(
    Object.keys(template).map((name) => [name, (...args: never[]) => current[name]!(...args)]),
  );
  const imports = { wasi_snapshot_preview1: preview1, wasi_adapter: { persistent_v1: () => 0 } };
  const instantiate = () => new WebAssembly.Instance(setup.module, imports);
  let spare: WebAssembly.Instance | undefined = instantiate();

  port.on("message", (run: RunRequest) => {
    const stdout = new Batcher((chunk) => post({ type: "stdout", id: run.id, chunk }, [chunk.buffer as ArrayBuffer]));
    const host = new WasiHost({
      args: setup.args,
      env: run.env,
      fds: [new InputFd(new BufferSource(run.body)), new OutputFd((b) => stdout.add(b)), new OutputFd((b) => stderr.add(b))],
      onIdle: () => stdout.flush(),
    });
    current = host.imports().wasi_snapshot_preview1!;
    const instance = spare ?? instantiate();
    spare = undefined;
    post({ type: "done", id: run.id, ...runToEnd(host, instance, stdout) });
    setImmediate(() => {
      spare ??= instantiate();
    });
  });
  post({ type: "ready" });
}

/**
 * stdin of a persistent instance: request frames arriving on the input channel, copied from the
 * ring straight into Go's memory.
 */
class ChannelSource implements ByteSource {
  private chunk: Uint8Array | undefined;
  private offset = 0;
  private closed = false;
  private bell = 0;

  constructor(private readonly input: ChannelReader) {}

  /** Makes `chunk` the next unread bytes, if any have arrived. Each look is a heartbeat. */
  private fill(): boolean {
    if (this.chunk) return true;
    if (this.closed) return false;
    Atomics.store(this.input.cells, HEARTBEAT, Date.now() | 0);
    this.bell = this.input.bell();
    const next = this.input.peek();
    if (next === null) this.closed = true;
    else if (next !== undefined) {
      this.chunk = next;
      this.offset = 0;
    }
    return this.chunk !== undefined;
  }

  read(into: Uint8Array): number {
    let n = 0;
    while (n < into.length && this.fill()) {
      const chunk = this.chunk!;
      const take = Math.min(into.length - n, chunk.length - this.offset);
      into.set(chunk.subarray(this.offset, this.offset + take), n);
      n += take;
      this.offset += take;
      if (this.offset === chunk.length) {
        this.chunk = undefined;
        this.input.release();
      }
    }
    if (n > 0 || into.length === 0) return n;
    return this.closed ? 0 : -1;
  }

  ready(): boolean {
    return this.fill() || this.closed;
  }

  wait(timeoutMs: number): void {
    const start = performance.now();
    const end = start + timeoutMs;
    // A request that follows soon is picked up without a wake-up; later ones ring the bell. No
    // spin while the main thread is busy: it would take the core that thread needs.
    const spinUntil = this.input.writerBusy() ? start : start + Math.min(SPIN_MS, timeoutMs);
    while (performance.now() < spinUntil) if (Atomics.load(this.input.cells, BELL) !== this.bell) return;
    const left = end - performance.now();
    if (left <= 0) return;
    this.input.wait(this.bell, Number.isFinite(left) ? left : undefined);
  }
}

function runPersistent(): void {
  const source = new ChannelSource(new ChannelReader(setup.input!));
  const output = new ChannelWriter(setup.output!);
  // Each write of the Go side (whole frames) goes out at once: the main thread can pass a
  // response on while Go serves the next requests.
  const stdout = new OutputFd((bytes) => {
    output.write(bytes);
    output.ring();
  });
  const host = new WasiHost({
    args: setup.args,
    env: setup.env ?? [],
    fds: [new InputFd(source), stdout, new OutputFd((b) => stderr.add(b))],
    wait: (ms) => source.wait(ms),
    onIdle: () => stderr.flush(),
  });
  const instance = new WebAssembly.Instance(setup.module, {
    ...host.imports(),
    wasi_adapter: { persistent_v1: () => 1 },
  });
  post({ type: "ready" });
  post({ type: "exit", ...runToEnd(host, instance) });
}

port.once("message", (received: WorkerSetup) => {
  setup = received;
  if (setup.mode === "persistent") runPersistent();
  else runCgi();
});
