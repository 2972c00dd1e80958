// ajv reports every failed keyword of every union branch; users need one plain sentence per place.
// This module picks, for each location, the error that best says what was expected.
import type { ErrorObject } from 'ajv';
import { Duration, Size } from './schema.js';
import { fromPointer, pathKey } from './key-path.js';
import type { Issue } from './yaml-tree.js';
import { lowerFirst } from './issues.js';

/** Unions whose branches mean one thing to a user: report the thing, not the branches. */
const UNION_MESSAGES = new Map<string | undefined, string>([
  [Duration.description, 'expected a duration such as 250ms, 10s, 5m or integer milliseconds'],
  [Size.description, 'expected a size such as 512B, 60KiB, 10MiB or integer bytes'],
]);

/** Patterns of the core schema whose descriptions are not names of the expected thing. */
const PATTERN_MESSAGES = new Map<string, string>([
  ['^/', 'must start with "/"'],
  ['^[A-Z]+$', 'expected an upper-case method name such as GET'],
  ['^[A-Za-z0-9][A-Za-z0-9_.-]*$', 'expected a name of letters, digits, "_", "." and "-", starting with a letter or digit'],
  ['^https?://', 'expected an http:// or https:// URL'],
]);

/** Which error to keep when one location has several (lower wins). */
const PRIORITY: Record<string, number> = { type: 0, anyOf: 1, oneOf: 1, required: 2, additionalProperties: 3, enum: 4, const: 4 };

export function schemaIssues(errors: readonly ErrorObject[], root: unknown): Issue[] {
  const kept = pruneUnions(errors);
  const best = new Map<string, { issue: Issue; rank: number }>();
  const required = new Map<string, { path: Issue['path']; names: string[] }>();
  for (const e of kept) {
    const path = fromPointer(e.instancePath, root);
    if (e.keyword === 'required') {
      const k = pathKey(path);
      const entry = required.get(k) ?? { path, names: [] };
      entry.names.push(String(e.params.missingProperty));
      required.set(k, entry);
      continue;
    }
    const issue = toIssue(e, path);
    if (!issue) continue;
    const k = pathKey(issue.path) + (issue.at ?? '');
    const rank = PRIORITY[e.keyword] ?? 5;
    const prev = best.get(k);
    if (!prev || rank < prev.rank) best.set(k, { issue, rank });
  }
  for (const [k, { path, names }] of required) {
    const message =
      names.length === 1 ? `missing required key "${names[0]}"` : `missing required keys: ${names.map((n) => `"${n}"`).join(', ')}`;
    if (!best.has(k)) best.set(k, { issue: { path, message }, rank: PRIORITY.required! });
  }
  return [...best.values()].map((b) => b.issue);
}

/**
 * Replaces each failed union by the errors of the branch the value was evidently meant for
 * (the one whose type matches), or by one "expected X or Y" line when no branch fits.
 */
function pruneUnions(errors: readonly ErrorObject[]): ErrorObject[] {
  const unions = errors
    .filter((e) => (e.keyword === 'anyOf' || e.keyword === 'oneOf') && !e.params.passingSchemas)
    .sort((a, b) => a.schemaPath.length - b.schemaPath.length);
  const dropped = new Set<ErrorObject>();
  const replaced = new Map<ErrorObject, ErrorObject>();
  for (const u of unions) {
    if (dropped.has(u)) continue;
    const prefix = `${u.schemaPath}/`;
    const inside = errors.filter(
      (e) =>
        e.schemaPath.startsWith(prefix) &&
        (e.instancePath === u.instancePath || e.instancePath.startsWith(`${u.instancePath}/`)) &&
        !dropped.has(e),
    );
    const branches = new Map<number, ErrorObject[]>();
    for (const e of inside) {
      const i = Number(e.schemaPath.slice(prefix.length).split('/')[0]);
      branches.set(i, [...(branches.get(i) ?? []), e]);
    }
    const union = UNION_MESSAGES.get(u.parentSchema?.description);
    const fits = [...branches.entries()].filter(
      ([i, errs]) => !errs.some((e) => e.instancePath === u.instancePath && e.schemaPath === `${prefix}${i}/type`),
    );
    if (union !== undefined || fits.length === 0) {
      for (const e of inside) dropped.add(e);
      const message = union ?? `expected ${branchTypes(u).join(' or ')}, got ${jsonType(u.data)}`;
      replaced.set(u, { ...u, message, keyword: 'anyOf' });
      continue;
    }
    // Several branches accept this type: the one with the fewest complaints is the likely intent.
    fits.sort((a, b) => a[1].length - b[1].length);
    const chosen = new Set(fits[0]![1]);
    for (const e of inside) if (!chosen.has(e)) dropped.add(e);
    dropped.add(u);
  }
  return errors.filter((e) => !dropped.has(e)).map((e) => replaced.get(e) ?? e);
}

function branchTypes(u: ErrorObject): string[] {
  const branches = Array.isArray(u.schema) ? (u.schema as { type?: string | string[] }[]) : [];
  const types = branches.flatMap((b) => (b.type === undefined ? [] : Array.isArray(b.type) ? b.type : [b.type]));
  return types.length > 0 ? [...new Set(types)] : ['one of the allowed forms'];
}

function toIssue(e: ErrorObject, path: Issue['path']): Issue | undefined {
  const p = e.params as Record<string, unknown>;
  const s = (e.parentSchema ?? {}) as { description?: string; properties?: Record<string, unknown> };
  switch (e.keyword) {
    case 'anyOf':
    case 'oneOf':
      if (p.passingSchemas) return { path, message: 'matches more than one allowed form' };
      return { path, message: e.message ?? 'does not match any allowed form' };
    case 'type':
      return { path, message: `expected ${[p.type].flat().join(' or ')}, got ${jsonType(e.data)}` };
    case 'additionalProperties': {
      const key = String(p.additionalProperty);
      const known = Object.keys(s.properties ?? {});
      const hint = known.length > 0 ? ` (expected one of: ${known.join(', ')})` : '';
      return { path: [...path, key], at: 'key', message: `unknown key "${key}"${hint}` };
    }
    case 'pattern':
      return { path, message: describePattern(String(p.pattern), s.description) };
    case 'minimum':
      return { path, message: `must be at least ${p.limit}` };
    case 'maximum':
      return { path, message: `must be at most ${p.limit}` };
    case 'exclusiveMinimum':
      return { path, message: `must be greater than ${p.limit}` };
    case 'exclusiveMaximum':
      return { path, message: `must be less than ${p.limit}` };
    case 'minItems':
      return { path, message: p.limit === 1 ? 'must not be empty' : `must have at least ${p.limit} items` };
    case 'maxItems':
      return { path, message: `must have at most ${p.limit} items` };
    case 'minLength':
      return { path, message: p.limit === 1 ? 'must not be empty' : `must be at least ${p.limit} characters` };
    case 'maxLength':
      return { path, message: `must be at most ${p.limit} characters` };
    case 'minProperties':
      return { path, message: p.limit === 1 ? 'must not be empty' : `must have at least ${p.limit} keys` };
    case 'enum':
      return { path, message: `expected one of: ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` };
    case 'const':
      return { path, message: `expected ${JSON.stringify(p.allowedValue)}` };
    case 'format':
      return { path, message: `expected a valid ${p.format}` };
    case 'uniqueItems':
      return { path, message: `items [${p.j}] and [${p.i}] are the same` };
    case 'if':
      return undefined; // the failing then/else keyword says what is wrong
    default:
      return { path, message: (e.message ?? 'is invalid').toLowerCase() };
  }
}

function describePattern(pattern: string, description: string | undefined): string {
  const known = PATTERN_MESSAGES.get(pattern);
  if (known) return known;
  if (description) return `expected ${lowerFirst(description)}`;
  return `must match the pattern ${pattern}`;
}


export function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}
