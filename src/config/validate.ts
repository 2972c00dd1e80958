// Validation: the JSON Schema (the same one committed for editors), then cross-references, then
// warnings. Every problem becomes one line: FILE:LINE:COL: KEYPATH: MESSAGE.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { TSchema } from '@sinclair/typebox';
import { filtersSchema } from '../filters/registry.js';
import { configSchema, type GatehouseConfig } from './schema.js';
import { schemaIssues } from './schema-errors.js';
import { crossCheck } from './cross-check.js';
import { unitIssues } from './unit-bounds.js';
import { shadowWarnings } from './shadowing.js';
import { formatIssue, sortIssues, type SourceMap } from './issues.js';

export { ConfigError } from './issues.js';
import { fromPointer, pathKey, type Segment } from './key-path.js';
import type { Issue } from './yaml-tree.js';

export interface ValidateOptions {
  /** The file name printed in every line. */
  file: string;
  /** Positions of keys and values; without it lines carry no line:col. */
  sourceMap?: SourceMap;
  /** Paths already reported (e.g. a missing env var): their follow-on errors are noise. */
  skipPaths?: readonly (readonly Segment[])[];
  /**
   * Paths whose string value came from interpolation. Environment variables are always strings,
   * so where the schema wants a number or boolean there (`port: ${PORT}`), the string is read as
   * one, the way Compose does.
   */
  coercible?: readonly (readonly Segment[])[];
}

export interface ValidationResult {
  /** Set only when there are no errors. */
  config: GatehouseConfig | undefined;
  errors: string[];
  warnings: string[];
}

let compiled: { schema: TSchema; check: ValidateFunction } | undefined;

/** Compiled once per process: ajv code generation costs milliseconds, validation microseconds. */
function validator() {
  if (!compiled) {
    const schema = configSchema(filtersSchema());
    // strict off: TypeBox schemas carry Symbol-keyed metadata and descriptions ajv need not police.
    const ajv = new Ajv({ allErrors: true, strict: false, verbose: true });
    compiled = { schema, check: ajv.compile(schema) };
  }
  return compiled;
}

export function validateConfig(value: unknown, opts: ValidateOptions): ValidationResult {
  const { schema, check } = validator();
  const format = (issues: Issue[]) =>
    sortIssues(
      issues
        .filter((i) => !isSkipped(i.path, opts.skipPaths))
        .map((i) => formatIssue(opts.file, i.pos ?? opts.sourceMap?.locate(i.path, i.at), i.path, i.message)),
    );

  let valid = check(value);
  if (!valid && opts.coercible?.length && coerce(value, check.errors ?? [], opts.coercible)) valid = check(value);
  if (!valid) {
    return { config: undefined, errors: format(schemaIssues(check.errors ?? [], value)), warnings: [] };
  }
  const config = value as GatehouseConfig;
  const cross = crossCheck(config);
  const errors = format([...cross.errors, ...unitIssues(schema, value)]);
  if (errors.length > 0) return { config: undefined, errors, warnings: format(cross.warnings) };
  return { config, errors, warnings: format([...cross.warnings, ...shadowWarnings(config)]) };
}

function isSkipped(path: readonly Segment[], skip: ValidateOptions['skipPaths']): boolean {
  if (!skip || skip.length === 0) return false;
  return skip.some((s) => s.length <= path.length && pathKey(path.slice(0, s.length)) === pathKey(s));
}

/** Rewrites interpolated strings that failed validation into numbers/booleans; true if any changed. */
function coerce(root: unknown, errors: readonly ErrorObject[], coercible: readonly (readonly Segment[])[]): boolean {
  const wanted = new Set(coercible.map((p) => pathKey(p)));
  let changed = false;
  for (const e of errors) {
    const path = fromPointer(e.instancePath, root);
    if (path.length === 0 || !wanted.has(pathKey(path))) continue;
    const parent = path.slice(0, -1).reduce<unknown>((o, k) => (o as Record<string | number, unknown>)[k], root) as Record<string | number, unknown>;
    const last = path[path.length - 1]!;
    const v = parent[last];
    const typed = typeof v === 'string' ? scalarOf(v) : v;
    if (typed !== v) {
      parent[last] = typed;
      changed = true;
    }
  }
  return changed;
}

/** YAML 1.2 core schema: what the text would have meant written unquoted. */
function scalarOf(s: string): unknown {
  if (/^[-+]?[0-9]+$/.test(s)) {
    const n = Number(s);
    return Number.isSafeInteger(n) ? n : s;
  }
  if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(s)) return Number(s);
  if (/^(true|True|TRUE)$/.test(s)) return true;
  if (/^(false|False|FALSE)$/.test(s)) return false;
  return s;
}
