import { Worker } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import { SpareWorker } from "../src/wasi-cgi/engine/spawn.js";

const started: Worker[] = [];

/** A SpareWorker whose workers run `code` (CommonJS), each recorded in `started`. */
function spares(code: string): SpareWorker {
  return new SpareWorker(() => {
    const worker = new Worker(code, { eval: true });
    started.push(worker);
    return worker;
  });
}

const IDLE = "require('node:worker_threads').parentPort.on('message', () => {})";

afterEach(async () => {
  await Promise.all(started.splice(0).map((worker) => worker.terminate()));
});

describe("spare worker", () => {
  it("hands out the worker it started ahead", async () => {
    const pool = spares(IDLE);
    await pool.prestart();
    const taken = pool.take();
    expect(started).toEqual([taken]);
    expect(taken.threadId).toBeGreaterThan(0);
  });

  it("drops a spare that failed before it was taken, without an unhandled error, and starts another", async () => {
    const pool = spares("throw new Error('the worker cannot start')");
    void pool.prestart();
    await new Promise((resolve) => started[0]!.once("exit", resolve));
    const taken = pool.take();
    expect(started).toHaveLength(2);
    expect(taken).toBe(started[1]);
    const failure = await new Promise<Error>((resolve) => taken.once("error", resolve));
    expect(failure.message).toBe("the worker cannot start");
  });

  it("drops a spare that stopped before it was taken", async () => {
    const pool = spares("process.exit(0)");
    void pool.prestart();
    await new Promise((resolve) => started[0]!.once("exit", resolve));
    pool.take();
    expect(started).toHaveLength(2);
  });

  it("starts one spare however often it is asked", async () => {
    const pool = spares(IDLE);
    await Promise.all([pool.prestart(), pool.prestart()]);
    expect(started).toHaveLength(1);
  });
});
