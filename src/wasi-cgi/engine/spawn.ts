import { Worker } from "node:worker_threads";
import type { WorkerSetup } from "./messages.js";
import { workerSource } from "./worker-source.generated.js";

/** A worker started ahead of need, waiting for its setup (see prestartWorker). */
let spare: { worker: Worker; running: Promise<void> } | undefined;

const workerUrl = new URL(`data:text/javascript,${encodeURIComponent(workerSource)}`);

function startWorker(): Worker {
  return new Worker(workerUrl, { stdout: false, stderr: false });
}

/**
 * Starts a worker now, while the module is still being read and compiled, so that its start-up
 * is off the cold-start path. It does not keep the process alive until it is used. Resolves once
 * the worker runs (or failed to start: the engine that takes it sees why).
 */
export function prestartWorker(): Promise<void> {
  if (spare) return spare.running;
  const worker = startWorker();
  worker.unref();
  const running = new Promise<void>((resolve) => {
    worker.once("online", resolve);
    worker.once("exit", () => resolve());
  });
  spare = { worker, running };
  return running;
}

/**
 * An engine worker (its code is bundled into this package as a string) running `setup`. It keeps
 * the process alive until its engine unrefs it (when it is ready and idle).
 */
export function spawnWorker(setup: WorkerSetup, transfer: Transferable[] = []): Worker {
  const worker = spare?.worker ?? startWorker();
  spare = undefined;
  worker.ref();
  worker.postMessage(setup, transfer as never);
  return worker;
}
