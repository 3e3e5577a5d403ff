import { describe, expect, it } from "vitest";
import { FRAME_REQUEST, FrameReader, RequestEncoder } from "../src/wasi-cgi/engine/frames.js";

const decodeRequest = (frame: Uint8Array) => {
  const frames: { kind: number; id: number; env: string; body: number[] }[] = [];
  new FrameReader((kind, id, payload) => {
    const envLength = new DataView(payload.buffer, payload.byteOffset).getUint32(0, true);
    const env = new TextDecoder().decode(payload.subarray(4, 4 + envLength));
    frames.push({ kind, id, env, body: [...payload.subarray(4 + envLength)] });
  }).push(frame.slice());
  return frames;
};

describe("REQUEST frames", () => {
  it("carry the environ block in UTF-8 and the body, for the id given", () => {
    const encoder = new RequestEncoder();
    const frame = encoder.encode(7, "PATH_INFO=/smörgås\0", new Uint8Array([1, 2, 3]));
    expect(decodeRequest(frame)).toEqual([{ kind: FRAME_REQUEST, id: 7, env: "PATH_INFO=/smörgås\0", body: [1, 2, 3] }]);
  });

  it("reuse one buffer for small frames and give a large one its own", () => {
    const encoder = new RequestEncoder();
    const first = encoder.encode(1, "A=1\0", new Uint8Array(0));
    const second = encoder.encode(2, "B=22\0", new Uint8Array(0));
    expect(second.buffer).toBe(first.buffer);
    expect(decodeRequest(second)).toEqual([{ kind: FRAME_REQUEST, id: 2, env: "B=22\0", body: [] }]);
    const body = new Uint8Array(200 * 1024).fill(9);
    const large = encoder.encode(3, "C=3\0", body);
    expect(large.buffer).not.toBe(first.buffer);
    expect(decodeRequest(large)[0]?.body.length).toBe(body.length);
    expect(decodeRequest(encoder.encode(4, "D=4\0", new Uint8Array([5])))).toEqual([{ kind: FRAME_REQUEST, id: 4, env: "D=4\0", body: [5] }]);
  });
});
