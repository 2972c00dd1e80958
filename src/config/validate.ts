// Validation: the JSON Schema (the same one committed for editors), then cross-references, then
// warnings. Every problem becomes one line: FILE:LINE:COL: KEYPATH: MESSAGE.
import { Ajv, type ValidateFunction } from 'ajv';
import type { TSchema } from '@sinclair/typebox';
import { filtersSchema } from '../filters/registry.js';
import { configSchema, type GatehouseConfig } from './schema.js';
import { schemaIssues } from './schema-errors.js';
import { crossCheck } from './cross-check.js';
import { unitIssues } from './unit-bounds.js';
import { shadowWarnings } from './shadowing.js';
import { formatIssue, sortIssues, type SourceMap } from './issues.js';
import { pathKey, type Segment } from './key-path.js';
import type { Issue } from './yaml-tree.js';

export interface ValidateOptions {
  /** The file name printed in every line. */
  file: string;
  /** Positions of keys and values; without it lines carry no line:col. */
  sourceMap?: SourceMap;
  /** Paths already reported (e.g. a missing env var): their follow-on errors are noise. */
  skipPaths?: readonly (readonly Segment[])[];
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

  if (!check(value)) {
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
