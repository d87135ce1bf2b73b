/**
 * @module logger
 * Structured JSON logs with pino. The logger is created once in the composition root and
 * passed in; nothing in `src/` writes to the console.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return destination ? pino({ level }, destination) : pino({ level });
}

/** A logger that writes nothing (tests, benchmarks). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
