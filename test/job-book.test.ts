import { describe, expect, it } from "vitest";
import { JobBook } from "../src/wasi-cgi/engine/job-book.js";
import type { Job, JobOutcome } from "../src/wasi-cgi/engine/types.js";

describe("JobBook", () => {
  it("hands a job's input over once and keeps nothing of it", () => {
    const book = new JobBook(1000, () => {});
    const ends: JobOutcome[] = [];
    const job: Job = { input: { env: "REQUEST_METHOD=GET\0", body: new Uint8Array([1]) }, onData: () => {}, onEnd: (o) => ends.push(o) };
    book.accept(job, undefined);
    const ticket = book.take()!;
    expect(ticket.takeInput()).toEqual({ env: "REQUEST_METHOD=GET\0", body: new Uint8Array([1]) });
    expect(job.input).toBeUndefined();
    expect(() => ticket.takeInput()).toThrow(/taken already/);
    book.finish(ticket, { kind: "complete" });
    book.finish(ticket, { kind: "timeout" });
    expect(ends).toEqual([{ kind: "complete" }]);
  });
});
