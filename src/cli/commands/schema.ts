import { renderJsonSchema } from '../../config/json-schema.js';
import { parseCommandArgs } from '../args.js';
import { COMMAND_HELP } from '../help.js';
import { EXIT, type CliContext } from '../context.js';

export async function schemaCommand(args: string[], ctx: CliContext): Promise<number> {
  const { values } = parseCommandArgs('schema', { args, options: { help: { type: 'boolean', short: 'h' } }, strict: true });
  ctx.stdout(values.help ? COMMAND_HELP.schema! : renderJsonSchema());
  return EXIT.ok;
}
