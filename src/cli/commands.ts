/**
 * @module cli/commands
 * The command table of `symphainy`: each verb lives in its own module and is listed here.
 */
import type { Command } from './command.js';
import { ingestCommand } from './ingest.js';
import { journeyCommands } from './journey.js';
import { remoteCommands, serveCommand } from './remote.js';
import { streamCommand } from './stream.js';
import { workflowCommand } from './workflow.js';

export const COMMANDS: readonly Command[] = [
  serveCommand,
  ...remoteCommands,
  ingestCommand,
  streamCommand,
  workflowCommand,
  ...journeyCommands,
];
