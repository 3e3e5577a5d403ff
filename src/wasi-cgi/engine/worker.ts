// Entry point of an engine worker thread: runs Go instances so that the main thread never does.
import { type MessagePort, parentPort, receiveMessageOnPort, workerData } from "node:worker_threads";
import { BufferSource, type ByteSource, InputFd, OutputFd } from "../wasi/fds.js";
import { WasiHost } from "../wasi/host.js";
import type { RunRequest, WorkerEvent, WorkerSetup } from "./messages.js";

const setup = workerData as WorkerSetup;
const port = parentPort!;
const post = (event: WorkerEvent, transfer?: ArrayBuffer[]) => port.postMessage(event, transfer);

const OUTPUT_FLUSH_BYTES = 64 * 1024;

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

function describeTrap(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
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
    let exitCode: number | null = null;
    let trap: string | undefined;
    try {
      exitCode = host.start(instance);
    } catch (error) {
      trap = describeTrap(error);
    }
    stdout.flush();
    stderr.flush();
    post({ type: "done", id: run.id, exitCode, trap });
    setImmediate(() => {
      spare ??= instantiate();
    });
  });
  post({ type: "ready" });
}

/** stdin of a persistent instance: chunks posted by the main thread on a MessagePort. */
class PortSource implements ByteSource {
  private chunks: Uint8Array[] = [];
  private offset = 0;
  private closed = false;
  private seen = 0;
  constructor(
    private readonly inbox: MessagePort,
    private readonly doorbell: Int32Array,
  ) {}

  private drain(): void {
    this.seen = Atomics.load(this.doorbell, 0);
    for (let m = receiveMessageOnPort(this.inbox); m; m = receiveMessageOnPort(this.inbox)) {
      if (m.message === null) this.closed = true;
      else this.chunks.push(new Uint8Array(m.message as ArrayBuffer));
    }
  }

  read(into: Uint8Array): number {
    if (this.chunks.length === 0) this.drain();
    let n = 0;
    while (n < into.length && this.chunks.length > 0) {
      const head = this.chunks[0]!;
      const take = Math.min(into.length - n, head.length - this.offset);
      into.set(head.subarray(this.offset, this.offset + take), n);
      n += take;
      this.offset += take;
      if (this.offset === head.length) {
        this.chunks.shift();
        this.offset = 0;
      }
    }
    if (n > 0 || into.length === 0) return n;
    return this.closed ? 0 : -1;
  }

  ready(): boolean {
    Atomics.store(this.doorbell, 1, Date.now() | 0);
    if (this.chunks.length === 0) this.drain();
    return this.chunks.length > 0 || this.closed;
  }

  wait(timeoutMs: number): void {
    Atomics.wait(this.doorbell, 0, this.seen, Number.isFinite(timeoutMs) ? Math.max(0, timeoutMs) : undefined);
  }
}

function runPersistent(): void {
  const source = new PortSource(setup.port!, new Int32Array(setup.doorbell!));
  const stdout = new Batcher((chunk) => post({ type: "stdout", id: 0, chunk }, [chunk.buffer as ArrayBuffer]));
  const host = new WasiHost({
    args: setup.args,
    env: setup.env ?? [],
    fds: [new InputFd(source), new OutputFd((b) => stdout.add(b)), new OutputFd((b) => stderr.add(b))],
    wait: (ms) => source.wait(ms),
    onIdle: () => {
      stdout.flush();
      stderr.flush();
    },
  });
  const instance = new WebAssembly.Instance(setup.module, {
    ...host.imports(),
    wasi_adapter: { persistent_v1: () => 1 },
  });
  post({ type: "ready" });
  let exitCode: number | null = null;
  let trap: string | undefined;
  try {
    exitCode = host.start(instance);
  } catch (error) {
    trap = describeTrap(error);
  }
  stdout.flush();
  stderr.flush();
  post({ type: "exit", exitCode, trap });
}

if (setup.mode === "persistent") runPersistent();
else runCgi();
