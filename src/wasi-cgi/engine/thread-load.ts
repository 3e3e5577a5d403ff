// Whether this thread (the main thread, which runs the HTTP server) has CPU to spare, from its
// event-loop utilization. An instance waiting for the next request spins only while it does:
// on a busy machine the spin would take the core this thread needs to produce that request.
import { performance } from "node:perf_hooks";

/** The utilization is re-measured over windows of at least this length. */
const WINDOW_MS = 2;
/** Busier than this over the last window: no core to spare. */
const BUSY_ABOVE = 0.5;

export class ThreadLoad {
  private since = performance.eventLoopUtilization();
  private measuredAt = performance.now();
  private busy = false;

  /** Whether the thread was busy for more than half of the last window. */
  isBusy(): boolean {
    const now = performance.now();
    if (now - this.measuredAt >= WINDOW_MS) {
      const current = performance.eventLoopUtilization();
      this.busy = performance.eventLoopUtilization(current, this.since).utilization > BUSY_ABOVE;
      this.since = current;
      this.measuredAt = now;
    }
    return this.busy;
  }
}
