// Shadowed-route detection for `gatehouse validate`: a route that an earlier route always wins
// over is dead config, and usually a mistake about which route guards what. Only certain cases
// are reported (false positives would teach people to ignore the warning); a randomized test
// checks that every reported route really never wins.
import type { RouteEntry } from './types.js';
import { compileMatch, type CompiledMatch, type HostMatcher } from './match.js';
import type { PathMatcher, Segment } from './path-match.js';
import type { StringMatcher } from './string-match.js';

export interface ShadowedRoute {
  /** The route that can never match. */
  index: number;
  /** The first earlier route whose match includes every request the shadowed one matches. */
  shadowedBy: number;
}

export function findShadowedRoutes<R>(entries: readonly RouteEntry<R>[]): ShadowedRoute[] {
  const compiled = entries.map((e) => compileMatch(e.match));
  const found: ShadowedRoute[] = [];
  for (let later = 1; later < compiled.length; later++) {
    for (let earlier = 0; earlier < later; earlier++) {
      if (covers(compiled[earlier]!, compiled[later]!)) {
        found.push({ index: later, shadowedBy: earlier });
        break;
      }
    }
  }
  return found;
}

/** True only when every request that `b` matches is certainly matched by `a`. */
export function covers(a: CompiledMatch, b: CompiledMatch): boolean {
  return (
    hostsCover(a.hosts, b.hosts) &&
    (a.methods === undefined || (b.methods !== undefined && [...b.methods].every((m) => a.methods!.has(m)))) &&
    a.headers.every((am) => b.headers.some((bm) => implies(bm, am))) &&
    a.query.every((am) => b.query.some((bm) => implies(bm, am))) &&
    pathCovers(a.path, b.path)
  );
}

function hostsCover(a: HostMatcher | undefined, b: HostMatcher | undefined): boolean {
  if (a === undefined) return true;
  if (b === undefined) return false;
  const underWildcard = (suffix: string, name: string) => name.length > suffix.length && name.endsWith(suffix);
  return (
    [...b.exact].every((h) => a.exact.has(h) || a.suffixes.some((s) => underWildcard(s, h))) &&
    // '*.a.example.com' (kept as '.a.example.com') is inside '*.example.com'.
    b.suffixes.every((t) => a.suffixes.some((s) => t === s || underWildcard(s, t)))
  );
}

/** Whenever a field satisfies `b` it satisfies `a` (same field name). */
function implies(b: StringMatcher, a: StringMatcher): boolean {
  if (b.name !== a.name || a.present !== b.present) return false;
  const aHasValue = a.exact !== undefined || a.prefix !== undefined;
  if (!b.present) return !aHasValue && b.exact === undefined && b.prefix === undefined;
  if (!aHasValue) return true;
  if (b.exact !== undefined) {
    return (a.exact === undefined || a.exact === b.exact) && (a.prefix === undefined || b.exact.startsWith(a.prefix));
  }
  return a.exact === undefined && b.prefix !== undefined && b.prefix.startsWith(a.prefix!);
}

const REST: Segment = { kind: 'rest', name: '' };

function pathCovers(a: PathMatcher | undefined, b: PathMatcher | undefined): boolean {
  if (a === undefined) return true;
  const bm: PathMatcher = b ?? { kind: 'prefix', prefix: '/' };
  // A prefix ending in '/' (other than '/') has no segment form: '/api/' takes '/api/' and below
  // but not '/api'. Compare it as a plain string prefix of everything `b` can match.
  if (a.kind === 'prefix' && isDirPrefix(a.prefix)) return leadingString(bm).startsWith(a.prefix);
  // `b` = '/api/' is conservatively widened to '/api' and below, which also takes '/api'.
  const bSegments =
    bm.kind === 'prefix' && isDirPrefix(bm.prefix) ? [...literals(bm.prefix.slice(0, -1)), REST] : toSegments(bm);
  return segmentsCover(toSegments(a), bSegments);
}

const isDirPrefix = (p: string) => p.length > 1 && p.endsWith('/');

/** Segment form of a matcher without a directory prefix: exact '/a' is '/a', prefix '/a' is '/a/{*}'. */
function toSegments(m: PathMatcher): readonly Segment[] {
  switch (m.kind) {
    case 'exact':
      return literals(m.path);
    case 'prefix':
      return m.prefix === '/' ? [REST] : [...literals(m.prefix), REST];
    case 'template':
      return m.segments;
  }
}

const literals = (path: string): Segment[] => path.slice(1).split('/').map((text) => ({ kind: 'literal', text }));

/** Every path matching `b` is matched by `a`. */
function segmentsCover(a: readonly Segment[], b: readonly Segment[]): boolean {
  for (let i = 0; i < a.length; i++) {
    const as = a[i]!;
    if (as.kind === 'rest') return true;
    const bs = b[i];
    if (bs === undefined || bs.kind === 'rest') return false;
    if (as.kind === 'literal' && (bs.kind !== 'literal' || bs.text !== as.text)) return false;
    // A parameter takes any non-empty segment; an empty literal is the trailing slash.
    if (as.kind === 'param' && bs.kind === 'literal' && bs.text === '') return false;
  }
  return a.length === b.length;
}

/** A string every path matched by `m` starts with. */
function leadingString(m: PathMatcher): string {
  switch (m.kind) {
    case 'exact':
      return m.path;
    case 'prefix':
      return m.prefix;
    case 'template': {
      const fixed: string[] = [];
      for (const seg of m.segments) {
        if (seg.kind === 'literal') fixed.push(seg.text);
        else return fixed.length === 0 ? '/' : '/' + fixed.join('/') + (seg.kind === 'param' ? '/' : '');
      }
      return m.source;
    }
  }
}
