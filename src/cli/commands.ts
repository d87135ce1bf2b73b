/**
 * @module cli/commands
 * The command table of `symphainy`: each verb lives in its own module and is listed here.
 */
import type { Command } from './command.js';
import { remoteCommands, serveCommand } from './remote.js';

export const COMMANDS: readonly Command[] = [
  serveCommand,
  ...remoteCommands,
];
