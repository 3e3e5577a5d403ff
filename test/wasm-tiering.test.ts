import { describe, expect, it } from "vitest";
import { userSetTieringBudget } from "../src/wasi-cgi/engine/wasm-tiering.js";

describe("wasm tier-up budget", () => {
  it("keeps a budget the user gave node, in either spelling", () => {
    expect(userSetTieringBudget(["--wasm-tiering-budget=1800000"])).toBe(true);
    expect(userSetTieringBudget(["--max-old-space-size=512", "--wasm_tiering_budget=1"])).toBe(true);
  });

  it("raises it otherwise", () => {
    expect(userSetTieringBudget([])).toBe(false);
    expect(userSetTieringBudget(["--enable-source-maps", "--wasm-dynamic-tiering"])).toBe(false);
  });
});
