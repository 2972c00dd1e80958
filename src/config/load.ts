// Loading: read → parse YAML (keeping positions) → interpolate ${...} → validate.
// Every failure is a ConfigError whose lines name file:line:col and the key path.
import { dirname, resolve } from 'node:path';
import { LineCounter, isMap, parseDocument, type Scalar } from 'yaml';
import type { GatehouseConfig } from './schema.js';
import { ConfigError, SourceMap, formatIssue, lowerFirst, sortIssues, type Pos } from './issues.js';
import { formatKeyPath, type Segment } from './key-path.js';
import { interpolate } from './interpolate.js';
import { createSecretResolver, describeFsError, envSecrets, fileSecrets, readSmallFile, type Env, type SecretResolver } from './secrets.js';
import { TreeLimitError, yamlToPlain, type Issue } from './yaml-tree.js';
import { validateConfig } from './validate.js';
import { parseDuration } from './units.js';
import { vaultSecrets } from '../secrets/vault.js';
import { literalSecretIssues } from '../upstream/cross-check.js';

export interface LoadedConfig {
  config: GatehouseConfig;
  /** Full lines (FILE:LINE:COL: KEYPATH: MESSAGE) worth showing but not fatal. */
  warnings: string[];
  /** Key paths (routes[0].filters.jwt.secret) whose value came from a secret reference. */
  secretPaths: string[];
  file: string;
}

export interface LoadOptions {
  /** Environment for ${NAME} and ${secret:env:NAME} (default process.env). */
  env?: Env;
  /** Resolver for ${secret:provider:ref} (default: env and file providers). */
  secrets?: SecretResolver;
  /** Folder that relative secret file paths start from (default: the config file's folder, else cwd). */
  baseDir?: string;
}

/** Configs are hand-written; anything near this size is a mistake or an attack. */
export const MAX_CONFIG_BYTES = 10 * 1024 * 1024;

export async function loadConfigFile(path: string, opts: LoadOptions = {}): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readSmallFile(path, MAX_CONFIG_BYTES);
  } catch (err) {
    throw new ConfigError([`${path}: cannot read config file: ${describeFsError(err as NodeJS.ErrnoException)}`]);
  }
  return loadConfigText(text, path, { baseDir: dirname(resolve(path)), ...opts });
}

export async function loadConfigText(text: string, fileName: string, opts: LoadOptions = {}): Promise<LoadedConfig> {
  if (text.length > MAX_CONFIG_BYTES) throw new ConfigError([`${fileName}: config is larger than 10 MiB`]);
  const env = opts.env ?? process.env;

  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
    merge: true,
  });
  const at = (offset: number) => lineCounter.linePos(offset);
  if (doc.errors.length > 0) {
    // After the first syntax error the parser is lost and what follows is mostly echo; duplicate
    // keys, though, are independent findings worth listing together.
    const firstSyntax = doc.errors.find((e) => e.code !== 'DUPLICATE_KEY');
    const shown = doc.errors.filter((e) => e.code === 'DUPLICATE_KEY' || e === firstSyntax);
    throw new ConfigError(
      sortIssues(shown.map((e) => `${fileName}:${fmtPos(at(e.pos[0]))}: ${yamlMessage(e.code, e.message, text, e.pos)}`)),
    );
  }
  const warnings = doc.warnings.map((w) => `${fileName}:${fmtPos(at(w.pos[0]))}: ${lowerFirst(w.message)}`);
  const secrets = opts.secrets ?? (await defaultSecrets(doc.getIn(['secrets', 'vault']), env, opts.baseDir ?? process.cwd()));

  const sourceMap = new SourceMap();
  const errors: Issue[] = [];
  const warnIssues: Issue[] = [];
  const secretPaths = new Set<string>();
  const coercible: Segment[][] = [];
  const secretValues = new Set<string>();
  // Messages quote values (an endpoint URL, a cluster name); none may carry a secret into a log.
  const scrub = (lines: string[]) =>
    secretValues.size === 0 ? lines : lines.map((l) => [...secretValues].reduce((acc, v) => acc.split(v).join('[secret]'), l));

  const interpolateAt = async (s: string, node: Scalar, path: Segment[]) => {
    const r = await interpolate(s, { env, secrets });
    for (const issue of r.issues) {
      const pos = at(offsetOfExpression(text, node, s, issue.index));
      (issue.severity === 'error' ? errors : warnIssues).push({ path, pos, message: issue.message });
    }
    if (r.secret) secretPaths.add(formatKeyPath(path));
    for (const v of r.secretValues) if (v !== '') secretValues.add(v);
    if (r.changed) coercible.push(path);
    return r.value;
  };

  let value: unknown;
  try {
    value = await yamlToPlain(doc, {
      lineCounter,
      sourceMap,
      issues: errors,
      onString(s, node, path) {
        return s.includes('${') ? interpolateAt(s, node, path) : s;
      },
    });
  } catch (err) {
    if (err instanceof TreeLimitError) throw new ConfigError([`${fileName}: ${err.message}`]);
    throw err;
  }
  const format = (issues: Issue[]) => issues.map((i) => formatIssue(fileName, i.pos ?? sourceMap.locate(i.path, i.at), i.path, i.message));

  if (value === null || value === undefined) {
    throw new ConfigError([...format(errors), `${fileName}:1:1: the config is empty`]);
  }
  const result = validateConfig(value, { file: fileName, sourceMap, skipPaths: errors.map((e) => e.path), coercible });
  const allErrors = [...format(errors), ...result.errors];
  if (allErrors.length > 0 || !result.config) throw new ConfigError(scrub(sortIssues(allErrors)));
  return {
    config: result.config,
    warnings: scrub(sortIssues([...warnings, ...format(warnIssues), ...result.warnings, ...format(literalSecretIssues(result.config, secretPaths))])),
    secretPaths: [...secretPaths].sort(),
    file: fileName,
  };
}

const fmtPos = (p: Pos) => `${p.line}:${p.col}`;

/**
 * The file offset of the n-th `${` of a scalar's value: the n-th `${` of its source text.
 * Exact for plain, quoted and block scalars unless an escape sequence spells `${`.
 */
function offsetOfExpression(text: string, node: Scalar, value: string, index: number): number {
  const [start, end] = node.range ?? [0, 0];
  let n = 0;
  for (let i = value.indexOf('${'); i >= 0 && i < index; i = value.indexOf('${', i + 2)) n++;
  const raw = text.slice(start, end);
  let j = raw.indexOf('${');
  for (; j >= 0 && n > 0; n--) j = raw.indexOf('${', j + 2);
  return j >= 0 ? start + j : start;
}

function yamlMessage(code: string, message: string, text: string, pos: [number, number]): string {
  if (code === 'DUPLICATE_KEY') {
    // The error marks only the key's first character; the key runs to its ':' indicator.
    const key = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\n]*?)\s*:(?:\s|$)/.exec(text.slice(pos[0]))?.[1];
    return key ? `duplicate key ${key.startsWith('"') || key.startsWith("'") ? key : JSON.stringify(key)}` : 'duplicate key';
  }
  if (code === 'MULTIPLE_DOCS') return 'only one YAML document is allowed (remove the ---)';
  const eol = text.indexOf('\n', pos[0]);
  const line = text.slice(text.lastIndexOf('\n', pos[0] - 1) + 1, eol < 0 ? undefined : eol);
  // `{ port: ${PORT} }` is the classic: inside [ ] and { } an unquoted { starts a mapping.
  const hint = line.includes('${') ? ' (quote values that contain ${...} inside [ ] or { })' : '';
  return lowerFirst(message.replace(/\.$/, '')) + hint;
}


/**
 * env and file providers, plus Vault when `secrets.vault` names an address and a token. That
 * section is read first, with env and file references only, since the other references need it.
 * A malformed section is left for validation to report (and vault references then fail).
 */
async function defaultSecrets(vaultNode: unknown, env: Env, baseDir: string): Promise<SecretResolver> {
  const base = [envSecrets(env), fileSecrets(baseDir)];
  const raw = isMap(vaultNode) ? (vaultNode.toJSON() as Record<string, unknown>) : undefined;
  if (!raw) return createSecretResolver(base);
  const baseResolver = createSecretResolver(base);
  const str = async (v: unknown) => (typeof v === 'string' ? (await interpolate(v, { env, secrets: baseResolver })).value : undefined);
  const address = await str(raw.address);
  const token = await str(raw.token);
  if (!address || !token || token.includes('${')) {
    // Say why ${secret:vault:...} cannot resolve, rather than "unknown provider vault".
    const incomplete = { name: 'vault', get: () => Promise.reject(new Error('vault: secrets.vault needs an address and a token that resolve (env or file references only)')) };
    return createSecretResolver([...base, incomplete]);
  }
  const timeout = typeof raw.timeout === 'string' || typeof raw.timeout === 'number' ? safeDuration(raw.timeout) : undefined;
  return createSecretResolver([
    ...base,
    vaultSecrets({ address, token, mount: (await str(raw.mount)) ?? 'secret', namespace: await str(raw.namespace), timeoutMs: timeout ?? 5000 }),
  ]);
}

function safeDuration(v: string | number): number | undefined {
  try {
    return parseDuration(v);
  } catch {
    return undefined;
  }
}
