// V8 compiles each wasm function first with its baseline compiler, then, once the function has
// run enough code (its tier-up budget), again with its optimizing compiler on background threads.
// Go's start-up runs a great deal of code once. With the budget of V8 11 (Node 20), many of those
// functions go to the optimizing compiler while the start-up is still running, and on a machine
// with few cores those jobs slow the start-up itself. Later V8 versions raised the default to
// 13 000 000; on V8 11 a module is compiled with that budget instead. Code that stays hot (a
// persistent instance serving requests) still tiers up.
import { setFlagsFromString } from "node:v8";

const FLAG = "--wasm-tiering-budget";
/** The budget of V8 11. */
const V8_11_BUDGET = 1_800_000;
/** The budget of later V8 versions. */
const RAISED_BUDGET = 13_000_000;

/** Whether to raise the budget: only on V8 11, and only when node was not given one. */
export function raisesTieringBudget(v8Version: string, execArgv: readonly string[]): boolean {
  return v8Version.startsWith("11.") && !execArgv.some((arg) => arg.replace(/_/g, "-").startsWith(FLAG));
}

/** Whether this process compiles with the raised budget. */
export const raisesTieringBudgetHere = raisesTieringBudget(process.versions.v8, process.execArgv);

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
