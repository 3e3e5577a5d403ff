import { Worker } from "node:worker_threads";
import type { WorkerSetup } from "./messages.js";
import { workerSource } from "./worker-source.generated.js";

const workerUrl = new URL(`data:text/javascript,${encodeURIComponent(workerSource)}`);

/**
 * An engine worker (its code is bundled into this package as a string) running `setup`. It keeps
 * the process alive until its engine unrefs it (when it is ready and idle).
 */
export function spawnWorker(setup: WorkerSetup, transfer: Transferable[] = []): Worker {
  const worker = new Worker(workerUrl, { stdout: false, stderr: false });
  worker.postMessage(setup, transfer as never);
  return worker;
}
