// The schema's patterns accept "99999999h"; the runtime cannot. Walks the schema beside the value
// (filter schemas included) and checks every Duration and Size against what Node can honour.
import type { TSchema } from '@sinclair/typebox';
import type { Segment } from './key-path.js';
import type { Issue } from './yaml-tree.js';
import { Duration, Size } from './schema.js';
import { MAX_DURATION_MS, parseDuration, parseSize } from './units.js';

interface SchemaNode {
  description?: string;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  additionalProperties?: SchemaNode | boolean;
  patternProperties?: Record<string, SchemaNode>;
}

export function unitIssues(schema: TSchema, value: unknown): Issue[] {
  const issues: Issue[] = [];
  walk(schema as SchemaNode, value, [], issues);
  return issues;
}

function walk(s: SchemaNode, v: unknown, path: Segment[], issues: Issue[]): void {
  if (v === undefined || v === null) return;
  if (s.description === Duration.description && (typeof v === 'number' || typeof v === 'string')) {
    const ms = safe(() => parseDuration(v));
    if (ms !== undefined && ms > MAX_DURATION_MS) {
      issues.push({ path, message: `must be at most ${MAX_DURATION_MS}ms (about 24 days), the longest timer Node.js supports` });
    }
    return;
  }
  if (s.description === Size.description && (typeof v === 'number' || typeof v === 'string')) {
    if (safe(() => parseSize(v)) === undefined) issues.push({ path, message: 'size is too large' });
    return;
  }
  if (Array.isArray(v)) {
    if (s.items) v.forEach((item, i) => walk(s.items!, item, [...path, i], issues));
    return;
  }
  if (typeof v !== 'object') return;
  for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
    const sub =
      s.properties?.[k] ??
      Object.entries(s.patternProperties ?? {}).find(([re]) => new RegExp(re, 'u').test(k))?.[1] ??
      (typeof s.additionalProperties === 'object' ? s.additionalProperties : undefined);
    if (sub) walk(sub, child, [...path, k], issues);
  }
}

function safe<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}
