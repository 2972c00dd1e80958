import { ConfigError } from '../../config/index.js';
import { configFileArg, parseCommandArgs } from '../args.js';
import { COMMAND_HELP } from '../help.js';
import { EXIT, type CliContext } from '../context.js';

export async function startCommand(args: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs('start', {
    args,
    options: {
      config: { type: 'string', short: 'c' },
      'demo-upstream': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    ctx.stdout(COMMAND_HELP.start!);
    return EXIT.ok;
  }
  const configPath = configFileArg('start', values.config, positionals);
  try {
    // Returns once listening; the gateway's own signal handlers decide when the process ends.
    await ctx.startGateway({ configPath, demoUpstream: values['demo-upstream'] === true });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const line of err.errors) ctx.stderr(`${line}\n`);
      return EXIT.usage;
    }
    // Startup failures (EADDRINUSE, an unreadable certificate) are the operator's to fix, not bugs.
    ctx.stderr(`gatehouse: ${oneLine(err)}\n`);
    return EXIT.failure;
  }
}

export function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/\s*\n\s*/g, '; ') || 'unknown error';
}
