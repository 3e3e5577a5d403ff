import { describe, expect, it } from "vitest";
import { RequestTable } from "../src/wasi-cgi/engine/request-table.js";

describe("RequestTable", () => {
  it("numbers requests from 0 and gives an id out again only after its END", () => {
    const table = new RequestTable<string>();
    expect([table.add("a"), table.add("b")]).toEqual([0, 1]);
    expect(table.size).toBe(2);
    expect(table.end(0)).toBe("a");
    expect(table.get(0)).toBeUndefined();
    expect(table.add("c")).toBe(0);
    expect(table.get(0)).toBe("c");
    expect(table.size).toBe(2);
  });

  it("keeps the id of a request answered early taken until the instance ends it", () => {
    const table = new RequestTable<string>();
    const id = table.add("a");
    expect(table.answer(id)).toBe("a");
    expect(table.size).toBe(0);
    expect(table.get(id)).toBeUndefined();
    expect(table.answer(id)).toBeUndefined();
    expect(table.add("b")).toBe(1);
    expect(table.end(id)).toBeUndefined();
    expect(table.add("c")).toBe(id);
  });

  it("ignores an END for an id that is not taken", () => {
    const table = new RequestTable<string>();
    expect(table.end(7)).toBeUndefined();
    expect(table.add("a")).toBe(0);
    expect(table.end(0)).toBe("a");
    expect(table.end(0)).toBeUndefined();
    expect([table.add("b"), table.add("c")]).toEqual([0, 1]);
  });

  it("drains the requests not answered yet and starts over", () => {
    const table = new RequestTable<string>();
    table.add("a");
    table.answer(table.add("b"));
    table.add("c");
    expect(table.drain()).toEqual(["a", "c"]);
    expect(table.size).toBe(0);
    expect(table.add("d")).toBe(0);
  });
});
