// `gatehouse explain`: what would the gateway decide for this request and this caller, and which
// statement decided. Runs the same routing and evaluator as the live gateway.
import { readFile } from 'node:fs/promises';
import { ConfigError, loadConfigFile } from '../../config/index.js';
import { claimsOfToken, simulate, SimulationError, type IdentityInput, type Simulation } from '../../filters/authz/simulate.js';
import { configFileArg, parseCommandArgs } from '../args.js';
import { COMMAND_HELP } from '../help.js';
import { CliError, EXIT, type CliContext } from '../context.js';

export async function explainCommand(args: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs('explain', {
    args,
    options: {
      config: { type: 'string', short: 'c' },
      method: { type: 'string', short: 'X' },
      path: { type: 'string' },
      host: { type: 'string' },
      header: { type: 'string', short: 'H', multiple: true },
      ip: { type: 'string' },
      time: { type: 'string' },
      identity: { type: 'string' },
      token: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    ctx.stdout(COMMAND_HELP.explain!);
    return EXIT.ok;
  }
  const file = configFileArg('explain', values.config, positionals);
  if (!values.path) throw new CliError('gatehouse explain: --path is required (e.g. --path /orders/7)');
  if (values.identity !== undefined && values.token !== undefined) throw new CliError('gatehouse explain: give --identity or --token, not both');
  const headers: Record<string, string> = {};
  for (const h of values.header ?? []) {
    const colon = h.indexOf(':');
    if (colon <= 0) throw new CliError(`gatehouse explain: --header "${h}" must look like "name: value"`);
    headers[h.slice(0, colon).trim().toLowerCase()] = h.slice(colon + 1).trim();
  }
  let identity: IdentityInput | undefined;
  try {
    if (values.token !== undefined) identity = claimsOfToken(values.token);
    else if (values.identity !== undefined) identity = await readIdentity(values.identity);
  } catch (err) {
    if (err instanceof SimulationError) throw new CliError(`gatehouse explain: ${err.message}`);
    throw err;
  }
  let config;
  try {
    config = (await loadConfigFile(file)).config;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const line of err.errors) ctx.stderr(`${line}\n`);
    return EXIT.usage;
  }
  let sim: Simulation;
  try {
    sim = simulate(
      config,
      { method: values.method ?? 'GET', path: values.path, host: values.host, headers, ip: values.ip, time: values.time },
      identity,
    );
  } catch (err) {
    if (err instanceof SimulationError) throw new CliError(`gatehouse explain: ${err.message}`);
    throw err;
  }
  ctx.stdout(values.json ? JSON.stringify(sim, null, 2) + '\n' : formatSimulation(sim, values.token !== undefined));
  return sim.outcome === 'public' || sim.decision?.allowed ? EXIT.ok : EXIT.failure;
}

async function readIdentity(path: string): Promise<IdentityInput> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new CliError(`gatehouse explain: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    return JSON.parse(text) as IdentityInput;
  } catch (err) {
    throw new CliError(`gatehouse explain: ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

const MARK = { matched: '+', not_attached: ' ', action_mismatch: '-', resource_mismatch: '-', principal_mismatch: '-', condition_failed: '!' } as const;

export function formatSimulation(sim: Simulation, fromToken = false): string {
  const lines: string[] = [];
  switch (sim.outcome) {
    case 'bad_path':
      return 'decision: 400 request.bad_path (the path is refused before routing)\n';
    case 'no_route':
      return 'decision: 404 route.not_found (no route matches)\n';
  }
  lines.push(`route:    ${sim.route}`, `action:   ${sim.action}`, `resource: ${sim.resource}`);
  const id = sim.identity;
  if (id) {
    lines.push(`identity: ${id.subject} (${id.kind}${id.issuer ? `, issuer ${id.issuer}` : ''}) roles [${id.roles.join(', ')}]${id.scopes.length ? ` scopes [${id.scopes.join(' ')}]` : ''}`);
    if (fromToken) lines.push('          (token decoded, NOT verified: explain never authenticates)');
  } else lines.push('identity: anonymous');
  if (sim.outcome === 'public') {
    lines.push('decision: ALLOW (public route: no authenticator and no authz filter)');
    return lines.join('\n') + '\n';
  }
  const d = sim.decision!;
  const by = d.policy ? ` by policy "${d.policy}" statement ${d.statement}` : d.allowed ? ' (allow: authenticated)' : '';
  lines.push(`decision: ${d.allowed ? 'ALLOW' : `DENY ${d.reason}`}${by}${d.condition ? `, condition ${d.condition}` : ''}`);
  if (d.explanation) lines.push(`  explanation: ${d.explanation}`);
  if (d.remediation) lines.push(`  remediation: ${d.remediation}`);
  lines.push('trace:');
  if (sim.trace.length === 0) lines.push('  (no policy applies to this route)');
  for (const t of sim.trace) lines.push(`  ${MARK[t.outcome]} ${t.policy} ${t.statement} ${t.effect} via ${t.via}: ${t.outcome} - ${t.detail}`);
  return lines.join('\n') + '\n';
}
