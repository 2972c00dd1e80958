// `gatehouse keys create | hash`: make an API key (shown once, never stored) and the record that
// goes in the config or keys file, or hash an existing key. Keys are read from stdin with `-` so
// they stay out of shell history and `ps`.
import { stringify } from 'yaml';
import { generateKey, hashKey, parseKey } from '../../filters/api-key/key-format.js';
import { parseExpiry } from '../../filters/api-key/key-set.js';
import { parseCommandArgs } from '../args.js';
import { COMMAND_HELP } from '../help.js';
import { CliError, EXIT, type CliContext } from '../context.js';

export async function keysCommand(args: string[], ctx: CliContext, stdin: () => Promise<string> = readStdin): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'create':
      return create(rest, ctx);
    case 'hash':
      return hash(rest, ctx, stdin);
    case undefined:
      ctx.stderr(COMMAND_HELP.keys!);
      return EXIT.usage;
    case '-h':
    case '--help':
      ctx.stdout(COMMAND_HELP.keys!);
      return EXIT.ok;
    default:
      throw new CliError(`gatehouse keys: unknown subcommand "${sub}" (create, hash; see gatehouse keys --help)`);
  }
}

function create(args: string[], ctx: CliContext): number {
  const { values } = parseCommandArgs('keys create', {
    args,
    options: {
      owner: { type: 'string' },
      roles: { type: 'string' },
      'usage-plan': { type: 'string' },
      expires: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    ctx.stdout(COMMAND_HELP.keys!);
    return EXIT.ok;
  }
  const owner = values.owner?.trim();
  if (!owner) throw new CliError('gatehouse keys create: --owner NAME is required (it becomes the identity subject)');
  const roles = values.roles?.split(',').map((r) => r.trim()).filter(Boolean);
  let expires: string | undefined;
  if (values.expires !== undefined) {
    const ms = parseExpiry(values.expires);
    if (Number.isNaN(ms)) throw new CliError(`gatehouse keys create: --expires "${values.expires}" is not an ISO date (e.g. 2027-01-31 or 2027-01-31T12:00:00Z)`);
    if (ms <= Date.now()) throw new CliError(`gatehouse keys create: --expires ${values.expires} is in the past`);
    expires = new Date(ms).toISOString();
  }
  const k = generateKey();
  const record: Record<string, unknown> = { id: k.id, hash: k.hash, owner };
  if (roles?.length) record.roles = roles;
  if (values['usage-plan']) record.usage_plan = values['usage-plan'];
  if (expires) record.expires_at = expires;
  record.created_at = new Date().toISOString();
  if (values.json) {
    ctx.stdout(`${JSON.stringify({ key: k.key, record })}\n`);
    return EXIT.ok;
  }
  ctx.stdout(
    `${k.key}\n` +
      `# ^ the key, shown this once: Gatehouse stores only its hash. Give it to ${owner} now.\n` +
      `# Add this record to the api_key filter's keys list or to its keys_file:\n` +
      stringify([record], { lineWidth: 0 }),
  );
  return EXIT.ok;
}

async function hash(args: string[], ctx: CliContext, stdin: () => Promise<string>): Promise<number> {
  const { values, positionals } = parseCommandArgs('keys hash', {
    args,
    options: { help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    ctx.stdout(COMMAND_HELP.keys!);
    return EXIT.ok;
  }
  if (positionals.length !== 1) throw new CliError('gatehouse keys hash: give one KEY, or - to read it from stdin');
  const key = positionals[0] === '-' ? (await stdin()).trim() : positionals[0]!;
  const parsed = parseKey(key);
  // Never echo the input: it may be a real key with a typo.
  if (parsed === undefined) throw new CliError('gatehouse keys hash: not a Gatehouse API key (expected gh_<id>_<secret>; the checksum or format does not match)');
  ctx.stdout(`id: ${parsed.id}\nhash: ${hashKey(key)}\n`);
  return EXIT.ok;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of process.stdin as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > 64 * 1024) throw new CliError('gatehouse keys hash: stdin is too large for a key');
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}
