import { Worker } from "node:worker_threads";
import type { WorkerSetup } from "./messages.js";
import { workerSource } from "./worker-source.generated.js";

/** A worker started ahead of need, waiting for its setup (see prestartWorker). */
let spare: Worker | undefined;

const workerUrl = new URL(`data:text/javascript,${encodeURIComponent(workerSource)}`);

function startWorker(): Worker {
  return new Worker(workerUrl, { stdout: false, stderr: false });
}

/**
 * Starts a worker now, while the module is still being read and compiled, so that its start-up
 * is off the cold-start path. It does not keep the process alive until it is used.
 */
export function prestartWorker(): void {
  if (spare) return;
  spare = startWorker();
  spare.unref();
}

/**
 * An engine worker (its code is bundled into this package as a string) running `setup`. It keeps
 * the process alive until its engine unrefs it (when it is ready and idle).
 */
export function spawnWorker(setup: WorkerSetup, transfer: Transferable[] = []): Worker {
  const worker = spare ?? startWorker();
  spare = undefined;
  worker.ref();
  worker.postMessage(setup, transfer as never);
  return worker;
}
