// `gatehouse test-policies`: unit tests for authorization policies, run in CI like any other
// test suite. Each *.policy-test.yaml file lists requests, callers and the expected decision; the
// decision is made by the same routing and evaluator the gateway runs.
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { ConfigError, loadConfigFile, type GatehouseConfig } from '../../config/index.js';
import { claimsOfToken, simulate, SimulationError, type IdentityInput, type SimulatedRequest, type Simulation } from '../../filters/authz/simulate.js';
import { parseCommandArgs } from '../args.js';
import { COMMAND_HELP } from '../help.js';
import { CliError, EXIT, type CliContext } from '../context.js';

const SUFFIX = '.policy-test.yaml';

interface PolicyTest {
  name: string;
  request: SimulatedRequest;
  identity?: IdentityInput;
  token?: string;
  expect: 'allow' | 'deny';
  reason?: string;
  policy?: string;
  statement?: string;
}

export async function testPoliciesCommand(args: string[], ctx: CliContext): Promise<number> {
  const { values, positionals } = parseCommandArgs('test-policies', {
    args,
    options: { config: { type: 'string', short: 'c' }, verbose: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    ctx.stdout(COMMAND_HELP['test-policies']!);
    return EXIT.ok;
  }
  if (!values.config) throw new CliError('gatehouse test-policies: missing config file (use -c FILE)');
  let config: GatehouseConfig;
  try {
    config = (await loadConfigFile(values.config)).config;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const line of err.errors) ctx.stderr(`${line}\n`);
    return EXIT.usage;
  }
  const files = await findTestFiles(positionals.length ? positionals : [dirname(values.config)]);
  if (files.length === 0) throw new CliError(`gatehouse test-policies: no *${SUFFIX} files found in ${(positionals.length ? positionals : [dirname(values.config)]).join(', ')}`);
  let passed = 0;
  let failed = 0;
  let broken = 0;
  for (const file of files) {
    const parsed = await readTests(file);
    if ('errors' in parsed) {
      for (const e of parsed.errors) ctx.stderr(`${e}\n`);
      broken++;
      continue;
    }
    for (const t of parsed.tests) {
      const problem = runOne(config, t.test);
      if (problem === undefined) {
        passed++;
        if (values.verbose) ctx.stdout(`ok    ${file}:${t.line}: ${t.test.name}\n`);
      } else {
        failed++;
        ctx.stdout(`FAIL  ${file}:${t.line}: ${t.test.name}: ${problem}\n`);
      }
    }
  }
  ctx.stdout(`${passed} passed, ${failed} failed${broken ? `, ${broken} file(s) invalid` : ''}\n`);
  return broken ? EXIT.usage : failed ? EXIT.failure : EXIT.ok;
}

function runOne(config: GatehouseConfig, t: PolicyTest): string | undefined {
  let sim: Simulation;
  try {
    sim = simulate(config, t.request, t.identity);
  } catch (err) {
    if (err instanceof SimulationError) return err.message;
    throw err;
  }
  if (sim.outcome === 'no_route') return 'no route matches the request';
  if (sim.outcome === 'bad_path') return 'the path is refused before routing (400 request.bad_path)';
  const allowed = sim.outcome === 'public' || sim.decision!.allowed;
  const got = sim.outcome === 'public' ? 'allow (public route)' : describe(sim);
  if ((t.expect === 'allow') !== allowed) return `expected ${t.expect}, got ${got}`;
  const d = sim.decision;
  if (t.reason !== undefined && d?.reason !== t.reason) return `expected reason ${t.reason}, got ${got}`;
  if (t.policy !== undefined && d?.policy !== t.policy) return `expected policy ${t.policy}, got ${got}`;
  if (t.statement !== undefined && d?.statement !== t.statement) return `expected statement ${t.statement}, got ${got}`;
  return undefined;
}

function describe(sim: Simulation): string {
  const d = sim.decision!;
  const who = d.policy ? ` (policy ${d.policy} statement ${d.statement}${d.condition ? `, condition ${d.condition}` : ''})` : '';
  return `${d.allowed ? 'allow' : `deny ${d.reason}`}${who}`;
}

async function findTestFiles(roots: string[]): Promise<string[]> {
  const out: string[] = [];
  const walk = async (p: string, depth: number): Promise<void> => {
    let s;
    try {
      s = await stat(p);
    } catch {
      throw new CliError(`gatehouse test-policies: cannot read ${p}`);
    }
    if (s.isFile()) {
      out.push(p);
      return;
    }
    if (!s.isDirectory() || depth > 8) return;
    for (const e of (await readdir(p, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
      if (e.isDirectory()) await walk(join(p, e.name), depth + 1);
      else if (e.name.endsWith(SUFFIX)) out.push(join(p, e.name));
    }
  };
  for (const r of roots) await walk(r, 0);
  return out;
}

type Parsed = { tests: { test: PolicyTest; line: number }[] } | { errors: string[] };

const TEST_KEYS = new Set(['name', 'request', 'identity', 'token', 'expect', 'reason', 'policy', 'statement']);
const REQUEST_KEYS = new Set(['method', 'path', 'host', 'headers', 'ip', 'scheme', 'time']);

async function readTests(file: string): Promise<Parsed> {
  const lc = new LineCounter();
  const doc = parseDocument(await readFile(file, 'utf8'), { lineCounter: lc, prettyErrors: false });
  const at = (path: (string | number)[]) => {
    const node = doc.getIn(path, true) as YamlNode | undefined;
    const pos = lc.linePos(node?.range?.[0] ?? 0);
    return `${file}:${pos.line}:${pos.col}`;
  };
  if (doc.errors.length) return { errors: doc.errors.map((e) => `${file}:${e.linePos?.[0]?.line ?? 1}:${e.linePos?.[0]?.col ?? 1}: ${e.message.split('\n')[0]}`) };
  const root = doc.toJS() as { tests?: unknown } | null;
  if (!root || typeof root !== 'object' || !Array.isArray(root.tests)) return { errors: [`${file}:1:1: expected a top-level "tests:" list`] };
  const errors: string[] = [];
  const tests: { test: PolicyTest; line: number }[] = [];
  root.tests.forEach((raw: unknown, i: number) => {
    const where = (k?: string) => `${at(k ? ['tests', i, k] : ['tests', i])}: tests[${i}]${k ? `.${k}` : ''}`;
    if (typeof raw !== 'object' || raw === null) return void errors.push(`${where()}: expected a mapping`);
    const t = raw as Record<string, unknown>;
    for (const k of Object.keys(t)) if (!TEST_KEYS.has(k)) errors.push(`${where(k)}: unknown key (expected ${[...TEST_KEYS].join(', ')})`);
    if (typeof t.name !== 'string') errors.push(`${where('name')}: a test needs a name`);
    if (t.expect !== 'allow' && t.expect !== 'deny') errors.push(`${where('expect')}: must be allow or deny`);
    const r = t.request as Record<string, unknown> | undefined;
    if (typeof r !== 'object' || r === null) errors.push(`${where('request')}: a test needs a request with method and path`);
    else {
      for (const k of Object.keys(r)) if (!REQUEST_KEYS.has(k)) errors.push(`${where('request')}: unknown request key "${k}"`);
      if (typeof r.path !== 'string' || !r.path.startsWith('/')) errors.push(`${where('request')}: request.path must start with /`);
      if (r.method !== undefined && typeof r.method !== 'string') errors.push(`${where('request')}: request.method must be a string`);
    }
    if (t.identity !== undefined && t.token !== undefined) errors.push(`${where('token')}: give identity or token, not both`);
    if (t.token !== undefined && typeof t.token !== 'string') errors.push(`${where('token')}: must be a JWT string`);
    if (t.identity !== undefined && (typeof t.identity !== 'object' || t.identity === null || Array.isArray(t.identity))) {
      errors.push(`${where('identity')}: must be a mapping (subject, roles, claims...) or a claims set`);
    }
    let identity = t.identity as IdentityInput | undefined;
    if (typeof t.token === 'string') {
      try {
        identity = claimsOfToken(t.token);
      } catch (err) {
        errors.push(`${where('token')}: ${(err as Error).message}`);
      }
    }
    const line = lc.linePos((doc.getIn(['tests', i], true) as YamlNode | undefined)?.range?.[0] ?? 0).line;
    if (errors.length === 0) {
      const req = r as Record<string, unknown>;
      tests.push({
        line,
        test: {
          name: t.name as string,
          request: { ...(req as unknown as SimulatedRequest), method: (req.method as string | undefined) ?? 'GET' },
          identity,
          expect: t.expect as 'allow' | 'deny',
          reason: t.reason as string | undefined,
          policy: t.policy as string | undefined,
          statement: t.statement as string | undefined,
        },
      });
    }
  });
  return errors.length ? { errors } : { tests };
}
