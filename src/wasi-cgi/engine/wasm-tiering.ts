// V8 compiles each wasm function first with its baseline compiler, then, once the function has
// run enough code (its tier-up budget), again with its optimizing compiler on background threads.
// Go's start-up runs a great deal of code once: with the default budget, many of those functions
// go to the optimizing compiler while the start-up is still running, and on a machine with few
// cores those jobs slow the start-up itself. A larger budget leaves code that runs once on the
// baseline tier; code that stays hot (a persistent instance serving requests) still tiers up.
import { setFlagsFromString } from "node:v8";

const FLAG = "--wasm-tiering-budget";
/** Ten times V8's default (1 800 000). */
export const WASM_TIERING_BUDGET = 18_000_000;

let settled = false;

/** Whether node was given a budget of its own (`node --wasm-tiering-budget=N`), which is kept. */
export function userSetTieringBudget(execArgv: readonly string[]): boolean {
  return execArgv.some((arg) => arg.replace(/_/g, "-").startsWith(FLAG));
}

/**
 * Raises V8's wasm tier-up budget for this process, once. V8 reads it when it compiles a module,
 * so call this before compiling; and after the engine's first worker is running, because a
 * worker that starts after V8's flags changed takes about 20 ms longer to start.
 */
export function raiseWasmTieringBudget(execArgv: readonly string[] = process.execArgv): void {
  if (settled) return;
  settled = true;
  if (!userSetTieringBudget(execArgv)) setFlagsFromString(`${FLAG}=${WASM_TIERING_BUDGET}`);
}
