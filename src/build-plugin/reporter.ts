// Where build progress goes: the terminal for the CLI, the platform's log for plugins.

export interface Reporter {
  info(line: string): void;
  warn(line: string): void;
  error(text: string): void;
}

export const consoleReporter: Reporter = {
  info: (line) => process.stdout.write(`${line}\n`),
  warn: (line) => process.stderr.write(`${line}\n`),
  error: (text) => process.stderr.write(`${text}\n`),
};

export const silentReporter: Reporter = { info() {}, warn() {}, error() {} };

/** A reporter that remembers every line (tests, plugins that report at the end). */
export function recordingReporter(): Reporter & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (l) => lines.push(l), warn: (l) => lines.push(l), error: (l) => lines.push(l) };
}
