// The `gatehouse` command. Every outcome is an exit code and, on failure, one line per problem;
// stack traces are for bugs, and even those print as one line (exit 70).
import { CliError, EXIT, processContext, type CliContext } from './context.js';
import { COMMAND_HELP, MAIN_HELP } from './help.js';
import { packageVersion } from './version.js';
import { startCommand, oneLine } from './commands/start.js';
import { validateCommand } from './commands/validate.js';
import { schemaCommand } from './commands/schema.js';
import { keysCommand } from './commands/keys.js';
import { explainCommand } from './commands/explain.js';
import { testPoliciesCommand } from './commands/test-policies.js';
import { auditCommand } from './commands/audit.js';

type Command = (args: string[], ctx: CliContext) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  start: startCommand,
  validate: validateCommand,
  schema: schemaCommand,
  keys: (args, ctx) => keysCommand(args, ctx),
  explain: explainCommand,
  'test-policies': testPoliciesCommand,
  audit: auditCommand,
};

export async function main(argv: string[], ctx: CliContext = processContext): Promise<number> {
  try {
    return await dispatch(argv, ctx);
  } catch (err) {
    if (err instanceof CliError) {
      ctx.stderr(`${err.message}\n`);
      return err.code;
    }
    ctx.stderr(`gatehouse: internal error: ${oneLine(err)}\n`);
    return EXIT.internal;
  }
}

async function dispatch(argv: string[], ctx: CliContext): Promise<number> {
  const [first, ...rest] = argv;
  switch (first) {
    case undefined:
      ctx.stderr(MAIN_HELP);
      return EXIT.usage;
    case '-h':
    case '--help':
      ctx.stdout(MAIN_HELP);
      return EXIT.ok;
    case '-v':
    case '--version':
      ctx.stdout(`${packageVersion()}\n`);
      return EXIT.ok;
    case 'help': {
      const topic = rest[0];
      if (topic === undefined) ctx.stdout(MAIN_HELP);
      else if (COMMAND_HELP[topic]) ctx.stdout(COMMAND_HELP[topic]);
      else throw unknownCommand(topic);
      return EXIT.ok;
    }
  }
  if (first.startsWith('-')) throw new CliError(`gatehouse: unknown option ${first} (see gatehouse --help)`);
  const command = Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined;
  if (!command) throw unknownCommand(first);
  return command(rest, ctx);
}

function unknownCommand(name: string): CliError {
  return new CliError(`gatehouse: unknown command "${name}" (commands: ${Object.keys(COMMANDS).join(', ')}; see gatehouse --help)`);
}
