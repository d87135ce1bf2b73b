/**
 * @module cli/command
 * What every `symphainy` verb shares: its shape in the command table, the error that ends
 * the process with a one-line reason, and output helpers.
 */

/** One verb of the `symphainy` command. */
export interface Command {
  readonly name: string;
  /** One usage line: `name <args> [options]   what it does`. */
  readonly usage: string;
  /** Runs the verb with the arguments after its name. Resolves to the process exit code. */
  run(args: string[]): Promise<number | void>;
}

/**
 * Ends the command with `symphainy: <message>` on stderr and `exitCode`:
 * 2 for usage errors, 1 for refused or failed work unless a verb says otherwise.
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export function usageError(message: string): CliError {
  return new CliError(message, 2);
}

/** Parses a JSON argument, or a usage error naming `what`. */
export function jsonArg(arg: string | undefined, what: string): unknown {
  if (arg === undefined) return undefined;
  try {
    return JSON.parse(arg) as unknown;
  } catch {
    throw usageError(`${what} is not valid JSON`);
  }
}

/** Writes `value` to stdout: one JSON line with `--json`, indented JSON otherwise. */
export function printJson(value: unknown, compact: boolean): void {
  process.stdout.write(compact ? `${JSON.stringify(value)}\n` : `${JSON.stringify(value, null, 2)}\n`);
}
