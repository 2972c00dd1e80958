import { ConfigError, loadConfigFile } from '../../config/index.js';
import { configFileArg, parseCommandArgs } from '../args.js';
import { COMMAND_HELP } from '../help.js';
import { routeAuthenticators } from '../../filters/registry.js';
import { EXIT, type CliContext } from '../context.js';

export async function validateCommand(args: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs('validate', {
    args,
    options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    ctx.stdout(COMMAND_HELP.validate!);
    return EXIT.ok;
  }
  const file = configFileArg('validate', values.config, positionals);
  try {
    const loaded = await loadConfigFile(file);
    for (const w of loaded.warnings) ctx.stderr(`warning: ${w}\n`);
    ctx.stdout(`${file}: ok\n`);
    // Public is a decision, not an accident: name the routes that take requests without credentials.
    const open = loaded.config.routes.filter((r) => routeAuthenticators(r.filters).length === 0).map((r) => r.name);
    const total = loaded.config.routes.length;
    ctx.stdout(`routes: ${total}, authenticated: ${total - open.length}, public: ${open.length}${open.length ? ` (${open.join(', ')})` : ''}\n`);
    return EXIT.ok;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const line of err.errors) ctx.stderr(`${line}\n`);
    return EXIT.usage;
  }
}
