// V8 compiles each wasm function first with its baseline compiler, then, once the function has
// run enough code (its tier-up budget), again with its optimizing compiler on background threads.
// Go's start-up runs large functions once (runtime.initMetrics, the unicode tables' init), and
// their loops use up a small budget: with V8 11's 1 800 000, or the 13 000 000 of later V8
// versions, some ten of them go to the optimizing compiler (about 60 ms of compiler time for the
// hello fixture) while the start-up is still running, and on a machine with few cores those jobs
// slow the start-up itself. With 50 000 000 none of them does. Code that stays hot (a persistent
// instance serving requests) still tiers up, within the first two seconds under load.
import { setFlagsFromString } from "node:v8";

const FLAG = "--wasm-tiering-budget";
/** The budget of V8 11. */
const V8_11_BUDGET = 1_800_000;
/** Above what Go's start-up functions use up (see `--trace-wasm-compilation-times`). */
const RAISED_BUDGET = 50_000_000;

/**
 * Whether to raise the budget: only on V8 11 (Node 20), and only when node was not given one. On
 * V8 12 (Node 22) the same change did not shorten Go's start-up in a server.
 */
export function raisesTieringBudget(v8Version: string, execArgv: readonly string[]): boolean {
  return v8Version.startsWith("11.") && !execArgv.some((arg) => arg.replace(/_/g, "-").startsWith(FLAG));
}

/** Whether this process compiles with the raised budget. */
const raisesTieringBudgetHere = raisesTieringBudget(process.versions.v8, process.execArgv);

let compiling = 0;

/**
 * Runs `compile` with the raised budget (V8 reads it when it compiles a module). The default is
 * back once no compilation is running: while V8's flags differ from their defaults, Node cannot
 * use its code cache for its own modules, so a worker starts about 20 ms later and loading
 * `fetch` takes twice as long.
 */
export async function withRaisedTieringBudget<T>(compile: () => Promise<T>): Promise<T> {
  if (!raisesTieringBudgetHere) return compile();
  if (compiling++ === 0) setFlagsFromString(`${FLAG}=${RAISED_BUDGET}`);
  try {
    return await compile();
  } finally {
    if (--compiling === 0) setFlagsFromString(`${FLAG}=${V8_11_BUDGET}`);
  }
}
