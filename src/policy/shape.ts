// Reading the untyped policy document: the few shape checks every member needs.
import type { IssueSink } from './errors.js';

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A `string | string[]` member as a list; problems reported at the member (or its index). */
export function stringList(raw: unknown, sink: IssueSink): { value: string; at: (string | number)[] }[] | undefined {
  const list = Array.isArray(raw) ? raw : [raw];
  if (list.length === 0) {
    sink.report('needs at least one value');
    return undefined;
  }
  const out: { value: string; at: (string | number)[] }[] = [];
  const before = sink.count;
  list.forEach((v, i) => {
    const at = Array.isArray(raw) ? [i] : [];
    if (typeof v !== 'string' || v === '') sink.report('must be a non-empty string', ...at);
    else out.push({ value: v, at });
  });
  return sink.count === before ? out : undefined;
}
