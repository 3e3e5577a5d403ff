// The WASI host on its own: syscalls driven directly against a linear memory.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import * as d from "../src/wasi-cgi/wasi/defs.js";
import { BufferSource, InputFd, OutputFd } from "../src/wasi-cgi/wasi/fds.js";
import { WasiHost } from "../src/wasi-cgi/wasi/host.js";
import { fixture } from "./support.js";

type Calls = Record<string, (...args: any[]) => number>;

/** Runs `body` as the module's _start, with the host's imports and a fresh memory. */
function run(options: Partial<ConstructorParameters<typeof WasiHost>[0]>, body: (wasi: Calls, mem: DataView) => void) {
  const memory = new WebAssembly.Memory({ initial: 2 });
  const host = new WasiHost({ args: [], env: [], fds: [], ...options });
  const wasi = host.imports().wasi_snapshot_preview1 as unknown as Calls;
  const exports = { memory, _start: () => body(wasi, new DataView(memory.buffer)) };
  return { exitCode: host.start({ exports } as unknown as WebAssembly.Instance), memory };
}

// `grep -rh "go:wasmimport wasi_snapshot_preview1" $(go env GOROOT)/src` (Go 1.21 to 1.26)
const GO_WASIP1_IMPORTS = `args_get args_sizes_get clock_time_get environ_get environ_sizes_get fd_close fd_fdstat_get
  fd_fdstat_set_flags fd_fdstat_set_rights fd_filestat_get fd_filestat_set_size fd_pread fd_prestat_dir_name fd_prestat_get
  fd_pwrite fd_read fd_readdir fd_seek fd_sync fd_write path_create_directory path_filestat_get path_filestat_set_times
  path_link path_open path_readlink path_remove_directory path_rename path_symlink path_unlink_file poll_oneoff proc_exit
  random_get sched_yield sock_accept sock_shutdown`.split(/\s+/);

const text = (mem: DataView, ptr: number, len: number) => new TextDecoder().decode(new Uint8Array(mem.buffer, ptr, len));

describe("WASI host", () => {
  it("provides every import Go's runtime and syscall package can declare", () => {
    const preview1 = new WasiHost({ args: [], env: [], fds: [] }).imports().wasi_snapshot_preview1!;
    for (const name of GO_WASIP1_IMPORTS) expect(typeof preview1[name], name).toBe("function");
    const module = new WebAssembly.Module(readFileSync(fixture("router")));
    const declared = WebAssembly.Module.imports(module).filter((i) => i.module === "wasi_snapshot_preview1");
    expect(declared.length).toBeGreaterThan(15);
    for (const { name } of declared) expect(GO_WASIP1_IMPORTS, name).toContain(name);
  });

  it("lays out args and environ as UTF-8, sizes in bytes", () => {
    run({ args: ["prog", "ünïcødé"], env: ["A=1", "GRÜSS=gott ✓"] }, (wasi, mem) => {
      expect(wasi.args_sizes_get!(0, 4)).toBe(0);
      expect(mem.getUint32(0, true)).toBe(2);
      const argBytes = mem.getUint32(4, true);
      expect(argBytes).toBe(new TextEncoder().encode("prog\0ünïcødé\0").length);
      expect(wasi.args_get!(100, 200)).toBe(0);
      expect(text(mem, mem.getUint32(104, true), argBytes - 5)).toBe("ünïcødé\0");
      expect(wasi.environ_sizes_get!(0, 4)).toBe(0);
      expect(mem.getUint32(0, true)).toBe(2);
      expect(wasi.environ_get!(300, 400)).toBe(0);
      expect(text(mem, mem.getUint32(304, true), mem.getUint32(4, true) - 4)).toBe("GRÜSS=gott ✓\0");
    });
  });

  it("reads stdin, captures stdout and stderr, and ends at EOF", () => {
    const out: string[] = [];
    const err: string[] = [];
    const fds = [
      new InputFd(new BufferSource(new TextEncoder().encode("request body"))),
      new OutputFd((b) => out.push(new TextDecoder().decode(b))),
      new OutputFd((b) => err.push(new TextDecoder().decode(b))),
    ];
    run({ fds }, (wasi, mem) => {
      mem.setUint32(0, 100, true); // iovec: buf 100, len 7
      mem.setUint32(4, 7, true);
      expect(wasi.fd_read!(0, 0, 1, 8)).toBe(0);
      expect(mem.getUint32(8, true)).toBe(7);
      expect(text(mem, 100, 7)).toBe("request");
      mem.setUint32(4, 64, true);
      expect(wasi.fd_read!(0, 0, 1, 8)).toBe(0);
      expect(mem.getUint32(8, true)).toBe(5);
      expect(wasi.fd_read!(0, 0, 1, 8)).toBe(0);
      expect(mem.getUint32(8, true)).toBe(0);
      new Uint8Array(mem.buffer).set(new TextEncoder().encode("Status: 200\r\n"), 100);
      mem.setUint32(4, 13, true);
      expect(wasi.fd_write!(1, 0, 1, 8)).toBe(0);
      expect(mem.getUint32(8, true)).toBe(13);
      expect(wasi.fd_write!(2, 0, 1, 8)).toBe(0);
    });
    expect(out.join("")).toBe("Status: 200\r\n");
    expect(err.join("")).toBe("Status: 200\r\n");
  });

  it("keeps fd flags so Go's non-blocking stdio sees what it set, and reports character devices", () => {
    const fds = [new InputFd(new BufferSource(new Uint8Array())), new OutputFd(() => {}), new OutputFd(() => {})];
    run({ fds }, (wasi, mem) => {
      expect(wasi.fd_fdstat_set_flags!(1, d.FDFLAGS_NONBLOCK)).toBe(0);
      expect(wasi.fd_fdstat_get!(1, 0)).toBe(0);
      expect(mem.getUint8(0)).toBe(d.FILETYPE_CHARACTER_DEVICE);
      expect(mem.getUint16(2, true)).toBe(d.FDFLAGS_NONBLOCK);
      expect(wasi.fd_fdstat_get!(7, 0)).toBe(d.ERRNO_BADF);
    });
  });

  it("ends preopen probing with EBADF and refuses paths without throwing", () => {
    run({}, (wasi) => {
      expect(wasi.fd_prestat_get!(3, 0)).toBe(d.ERRNO_BADF);
      expect(wasi.path_open!(3, 0, 0, 0, 0, 0n, 0n, 0, 0)).toBe(d.ERRNO_BADF);
      expect(wasi.sock_accept!(3, 0, 0)).toBe(d.ERRNO_BADF);
      expect(wasi.fd_read!(9, 0, 0, 0)).toBe(d.ERRNO_BADF);
    });
  });

  it("reads both clocks and random bytes", () => {
    run({}, (wasi, mem) => {
      expect(wasi.clock_time_get!(d.CLOCKID_REALTIME, 0n, 0)).toBe(0);
      const wall = Number(mem.getBigUint64(0, true) / 1_000_000n);
      expect(Math.abs(wall - Date.now())).toBeLessThan(1000);
      expect(wasi.clock_time_get!(d.CLOCKID_MONOTONIC, 0n, 8)).toBe(0);
      expect(wasi.clock_time_get!(d.CLOCKID_MONOTONIC, 0n, 16)).toBe(0);
      expect(mem.getBigUint64(16, true)).toBeGreaterThanOrEqual(mem.getBigUint64(8, true));
      expect(wasi.clock_time_get!(99, 0n, 0)).toBe(d.ERRNO_INVAL);
      expect(wasi.random_get!(1000, 100_000)).toBe(0);
      const bytes = new Uint8Array(mem.buffer, 1000, 100_000);
      expect(new Set(bytes).size).toBeGreaterThan(200);
    });
  });

  it("sleeps in poll_oneoff for a relative clock subscription", () => {
    run({}, (wasi, mem) => {
      mem.setBigUint64(0, 42n, true); // userdata
      mem.setUint8(8, d.EVENTTYPE_CLOCK);
      mem.setUint32(16, d.CLOCKID_MONOTONIC, true);
      mem.setBigUint64(24, 30_000_000n, true); // 30 ms
      const started = performance.now();
      expect(wasi.poll_oneoff!(0, 100, 1, 200)).toBe(0);
      expect(performance.now() - started).toBeGreaterThanOrEqual(29);
      expect(mem.getUint32(200, true)).toBe(1);
      expect(mem.getBigUint64(100, true)).toBe(42n);
      expect(mem.getUint8(110)).toBe(d.EVENTTYPE_CLOCK);
      expect(wasi.poll_oneoff!(0, 100, 0, 200)).toBe(d.ERRNO_INVAL);
    });
  });

  it("answers an fd_read subscription at once when stdin has data", () => {
    const fds = [new InputFd(new BufferSource(new Uint8Array([1])))];
    run({ fds }, (wasi, mem) => {
      mem.setBigUint64(0, 7n, true);
      mem.setUint8(8, d.EVENTTYPE_FD_READ);
      mem.setUint32(16, 0, true);
      mem.setBigUint64(48, 8n, true); // a 10 s timeout that must not be waited for
      mem.setUint8(56, d.EVENTTYPE_CLOCK);
      mem.setBigUint64(72, 10_000_000_000n, true);
      const started = performance.now();
      expect(wasi.poll_oneoff!(0, 200, 2, 400)).toBe(0);
      expect(performance.now() - started).toBeLessThan(1000);
      expect(mem.getUint32(400, true)).toBe(1);
      expect(mem.getBigUint64(200, true)).toBe(7n);
      expect(mem.getUint8(210)).toBe(d.EVENTTYPE_FD_READ);
    });
  });

  it("ends the run with proc_exit's code", () => {
    expect(run({}, (wasi) => void wasi.proc_exit!(3)).exitCode).toBe(3);
    expect(run({}, () => {}).exitCode).toBe(0);
  });
});
