// node:util parseArgs with its errors turned into one short line each.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliError } from './context.js';

export function parseCommandArgs<T extends ParseArgsConfig>(command: string, config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    throw new CliError(`gatehouse ${command}: ${describeParseError(err as Error & { code?: string })} (see gatehouse ${command} --help)`);
  }
}

function describeParseError(err: Error & { code?: string }): string {
  const quoted = /'([^']+)'/.exec(err.message)?.[1] ?? '';
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${quoted}`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument "${quoted}"`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const name = quoted.replace(/ <value>$/, '');
      return /does not take an argument/.test(err.message) ? `option ${name} takes no value` : `option ${name} needs a value`;
    }
    default:
      return err.message.toLowerCase();
  }
}

/** The config file from `-c FILE`, `--config FILE` or a single positional FILE. */
export function configFileArg(command: string, config: string | undefined, positionals: string[]): string {
  if (config !== undefined && positionals.length > 0) {
    throw new CliError(`gatehouse ${command}: give the config file once, either as -c FILE or as FILE`);
  }
  if (positionals.length > 1) throw new CliError(`gatehouse ${command}: unexpected argument "${positionals[1]}"`);
  const file = config ?? positionals[0];
  if (file === undefined || file === '') throw new CliError(`gatehouse ${command}: missing config file (use -c FILE)`);
  return file;
}
