/**
 * @module cli
 * The `symphainy` command. `serve` runs the server (what `npm start` runs); remote verbs talk
 * to a running server (`--url`, `--key`); offline verbs run an intent on a private embedded
 * store. Human-readable by default, `--json` for scripts; a non-zero exit with a one-line
 * reason on bad input. Verbs are listed in `cli/commands.ts`.
 */
import { CliError } from './cli/command.js';
import { COMMANDS } from './cli/commands.js';

function usage(): string {
  return [
    'usage: symphainy <command> [options]',
    ...COMMANDS.map((c) => `  ${c.usage}`),
    'remote options: --url <server> (default http://127.0.0.1:8787) --key <api key> --json',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) throw new CliError(`unknown command ${name}\n${usage()}`, 2);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`usage: symphainy ${command.usage}\n`);
    return 0;
  }
  return (await command.run(rest)) ?? 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (e: unknown) => {
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`symphainy: ${message.split('\n')[0]}\n`);
    // A parseArgs refusal (unknown option, missing value) is a usage error.
    const code = e instanceof CliError ? e.exitCode : (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? 2 : 1;
    process.exit(code);
  },
);
