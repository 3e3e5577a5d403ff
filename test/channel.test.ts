import { MessageChannel } from "node:worker_threads";
import { afterEach, describe, expect, it } from "vitest";
import { ChannelReader, ChannelWriter, channelBuffer } from "../src/wasi-cgi/engine/channel.js";

const opened: MessageChannel[] = [];

function channel(capacity: number) {
  const ports = new MessageChannel();
  opened.push(ports);
  const buffer = channelBuffer(capacity);
  return {
    writer: new ChannelWriter({ buffer, port: ports.port1 }),
    reader: new ChannelReader({ buffer, port: ports.port2 }),
  };
}

const bytes = (...values: number[]) => new Uint8Array(values);
const drain = (reader: ChannelReader) => {
  const got: (number[] | null)[] = [];
  for (let message = reader.read(); message !== undefined; message = reader.read()) got.push(message && [...message]);
  return got;
};

afterEach(() => {
  for (const ports of opened.splice(0)) {
    ports.port1.close();
    ports.port2.close();
  }
});

describe("channel", () => {
  it("peek shows the same message until it is released, without copying it", () => {
    const { writer, reader } = channel(64);
    writer.write(bytes(1, 2, 3));
    writer.write(bytes(4));
    const first = reader.peek()!;
    expect([...first]).toEqual([1, 2, 3]);
    expect(first.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect([...reader.peek()!]).toEqual([1, 2, 3]);
    reader.release();
    expect([...reader.peek()!]).toEqual([4]);
    reader.release();
    expect(reader.peek()).toBeUndefined();
  });

  it("read hands out copies the writer cannot overwrite", () => {
    const { writer, reader } = channel(32);
    writer.write(bytes(7, 7));
    const copy = reader.read()!;
    expect(copy.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    for (let i = 0; i < 10; i++) {
      writer.write(bytes(i, i, i));
      expect([...reader.read()!]).toEqual([i, i, i]);
    }
    expect([...copy]).toEqual([7, 7]);
  });

  it("keeps a message that is being read: what does not fit meanwhile goes through the port, in order", () => {
    const { writer, reader } = channel(48); // three records of 16 bytes
    writer.write(bytes(1));
    const held = reader.peek()!;
    writer.write(bytes(2));
    writer.write(bytes(3));
    writer.write(bytes(4)); // the ring is full until 1 is released
    expect([...held]).toEqual([1]);
    expect([...reader.peek()!]).toEqual([1]);
    reader.release();
    writer.write(bytes(5)); // fits in the ring again (after the wrap)
    writer.close();
    expect(drain(reader)).toEqual([[2], [3], [4], [5], null]);
  });

  it("wraps around the end of the ring", () => {
    const { writer, reader } = channel(40);
    const got: number[][] = [];
    for (let i = 0; i < 20; i++) {
      writer.write(new Uint8Array(1 + (i % 9)).fill(i));
      const message = reader.peek()!;
      got.push([...message]);
      reader.release();
    }
    expect(got.map((m) => m.length)).toEqual(Array.from({ length: 20 }, (_, i) => 1 + (i % 9)));
    expect(got.every((m, i) => m.every((b) => b === i))).toBe(true);
  });
});
