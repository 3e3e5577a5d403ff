import { Worker } from "node:worker_threads";
import { workerSource } from "./worker-source.generated.js";
import type { WorkerSetup } from "./messages.js";

/**
 * Starts an engine worker; its code is bundled into this package as a string. The worker keeps
 * the process alive until its engine unrefs it (when it is ready and idle).
 */
export function spawnWorker(setup: WorkerSetup, transfer: Transferable[] = []): Worker {
  const worker = new Worker(workerSource, {
    eval: true,
    workerData: setup,
    transferList: transfer as never,
    stdout: false,
    stderr: false,
  });
  return worker;
}
