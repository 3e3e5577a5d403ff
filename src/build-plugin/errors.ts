// Build errors: the message says what happened and what to do about it.

export class BuildError extends Error {
  override name = "BuildError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Several functions failed to compile; the message holds every compiler output. */
export class CompileError extends BuildError {
  override name = "CompileError";
  constructor(
    message: string,
    readonly failures: { source: string; output: string }[],
  ) {
    super(message);
  }
}
