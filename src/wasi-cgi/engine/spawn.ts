import { Worker } from "node:worker_threads";
import type { WorkerSetup } from "./messages.js";
import { workerSource } from "./worker-source.generated.js";

/**
 * One worker started ahead of need, waiting for its setup, so that its start-up is off the cold
 * start's path. A spare that fails or stops before it is taken is dropped: the engine then starts
 * its own worker, and sees through that one's events why it fails.
 */
export class SpareWorker {
  private spare: { worker: Worker; running: Promise<void> } | undefined;

  constructor(private readonly start: () => Worker) {}

  /**
   * Starts the spare now. It does not keep the process alive until it is taken. Resolves once
   * the worker runs, or has stopped (failed to start).
   */
  prestart(): Promise<void> {
    if (this.spare) return this.spare.running;
    const worker = this.start();
    worker.unref();
    const drop = () => {
      if (this.spare?.worker === worker) this.spare = undefined;
    };
    worker.once("error", drop);
    const running = new Promise<void>((resolve) => {
      worker.once("online", resolve);
      worker.once("exit", () => {
        drop();
        resolve();
      });
    });
    this.spare = { worker, running };
    return running;
  }

  /** The spare if it is still usable, or a worker started now. */
  take(): Worker {
    const worker = this.spare?.worker ?? this.start();
    this.spare = undefined;
    return worker;
  }
}

const workerUrl = new URL(`data:text/javascript,${encodeURIComponent(workerSource)}`);

const engineWorkers = new SpareWorker(() => new Worker(workerUrl, { stdout: false, stderr: false }));

/** Starts an engine worker while the module is still being read and compiled. */
export function prestartWorker(): Promise<void> {
  return engineWorkers.prestart();
}

/**
 * An engine worker (its code is bundled into this package as a string) running `setup`. It keeps
 * the process alive until its engine unrefs it (when it is ready and idle).
 */
export function spawnWorker(setup: WorkerSetup, transfer: Transferable[] = []): Worker {
  const worker = engineWorkers.take();
  worker.ref();
  worker.postMessage(setup, transfer as never);
  return worker;
}
