import { describe, expect, it } from "vitest";
import { raisesTieringBudget } from "../src/wasi-cgi/engine/wasm-tiering.js";

describe("wasm tier-up budget", () => {
  it("is raised on V8 11 (Node 20), whose default is low", () => {
    expect(raisesTieringBudget("11.3.244.8-node.38", [])).toBe(true);
    expect(raisesTieringBudget("11.3.244.8-node.38", ["--enable-source-maps", "--wasm-dynamic-tiering"])).toBe(true);
  });

  it("is left alone on later V8, where it did not shorten the start-up", () => {
    expect(raisesTieringBudget("12.4.254.21-node.33", [])).toBe(false);
    expect(raisesTieringBudget("13.6.233.10-node.28", [])).toBe(false);
  });

  it("keeps a budget the user gave node, in either spelling", () => {
    expect(raisesTieringBudget("11.3.244.8-node.38", ["--wasm-tiering-budget=1800000"])).toBe(false);
    expect(raisesTieringBudget("11.3.244.8-node.38", ["--max-old-space-size=512", "--wasm_tiering_budget=1"])).toBe(false);
  });
});
