// ThreadLoad: whether the main thread has CPU to spare (an instance spins only then).
import { describe, expect, it } from "vitest";
import { ThreadLoad } from "../src/wasi-cgi/engine/thread-load.js";

const busyFor = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end);
};
const idleFor = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("ThreadLoad", () => {
  it("is busy after the event loop ran code for most of the window, and not after it waited", async () => {
    const load = new ThreadLoad();
    await idleFor(20);
    expect(load.isBusy()).toBe(false);
    busyFor(20);
    expect(load.isBusy()).toBe(true);
    await idleFor(30);
    expect(load.isBusy()).toBe(false);
  });
});
