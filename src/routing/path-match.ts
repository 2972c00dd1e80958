// Path matchers: exact, segment-bounded prefix, and segment templates. Everything is compiled to
// plain strings and segment arrays at config load; no RegExp is ever built from config, so match
// cost is linear in the path length whatever the config says (SECURITY.md row 19).
import type { RouteMatchConfig } from '../config/schema.js';
import { normalizePath } from './normalize-path.js';

export type PathMatchConfig = NonNullable<RouteMatchConfig['path']>;
export type Params = Record<string, string>;

export type Segment =
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'param'; readonly name: string }
  /** Always last: the rest of the path after the preceding segments, possibly empty. */
  | { readonly kind: 'rest'; readonly name: string };

export type PathMatcher =
  | { readonly kind: 'exact'; readonly path: string }
  | { readonly kind: 'prefix'; readonly prefix: string }
  | { readonly kind: 'template'; readonly source: string; readonly segments: readonly Segment[] };

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
// Config paths are compared with normalized request paths, so they are normalized the same way;
// the limit only has to exceed any sane config value.
const CONFIG_PATH_LIMIT = 1 << 16;

/** Compiles a path match; throws on a config that could never be matched as written. */
export function compilePath(config: PathMatchConfig): PathMatcher {
  const given = [config.exact, config.prefix, config.template].filter((v) => v !== undefined);
  if (given.length !== 1) throw new Error('path match needs exactly one of exact, prefix or template');
  if (config.exact !== undefined) return { kind: 'exact', path: canonical(config.exact) };
  if (config.prefix !== undefined) return { kind: 'prefix', prefix: canonical(config.prefix) };
  const source = canonical(config.template!);
  return { kind: 'template', source, segments: parseTemplate(source) };
}

function canonical(path: string): string {
  const r = normalizePath(path, CONFIG_PATH_LIMIT);
  if (!r.ok) throw new Error(`invalid path ${JSON.stringify(path)}: ${r.message}`);
  if (r.query !== '' || path.includes('?')) throw new Error(`path ${JSON.stringify(path)} must not contain '?'`);
  return r.path;
}

function parseTemplate(template: string): Segment[] {
  const names = new Set<string>();
  const parts = template.slice(1).split('/');
  return parts.map((part, i): Segment => {
    if (!part.includes('{') && !part.includes('}')) return { kind: 'literal', text: part };
    const rest = part.endsWith('*}');
    const name = part.slice(1, rest ? -2 : -1);
    if (!part.startsWith('{') || !part.endsWith('}') || !PARAM_NAME.test(name)) {
      throw new Error(`template ${template}: '${part}' must be a whole segment {name} or {name*}`);
    }
    if (names.has(name)) throw new Error(`template ${template}: parameter '${name}' appears twice`);
    names.add(name);
    if (rest && i !== parts.length - 1) throw new Error(`template ${template}: {${name}*} must be the last segment`);
    return { kind: rest ? 'rest' : 'param', name };
  });
}

/**
 * True when `path` is under `prefix` on a segment boundary: '/admin' covers '/admin', '/admin/'
 * and '/admin/x' but not '/administrator'; a prefix ending in '/' covers only what starts with it.
 */
export function prefixMatches(prefix: string, path: string): boolean {
  if (!path.startsWith(prefix)) return false;
  return (
    path.length === prefix.length ||
    prefix.charCodeAt(prefix.length - 1) === 0x2f ||
    path.charCodeAt(prefix.length) === 0x2f
  );
}

/** null: no match; undefined: match without parameters; otherwise the template parameters. */
export function matchPath(m: PathMatcher, path: string): Params | undefined | null {
  switch (m.kind) {
    case 'exact':
      return path === m.path ? undefined : null;
    case 'prefix':
      return prefixMatches(m.prefix, path) ? undefined : null;
    case 'template':
      return matchTemplate(m.segments, path);
  }
}

function matchTemplate(segments: readonly Segment[], path: string): Params | null {
  let params: Params | undefined; // created on the first capture: most templates tried do not match
  let pos = 1; // start of the current path segment, just after its '/'
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    if (seg.kind === 'rest') {
      // '/files/{p*}' also matches '/files' (p = ''), exactly like prefix '/files'.
      params ??= newParams();
      params[seg.name] = pos > path.length ? '' : path.slice(pos);
      return params;
    }
    if (pos > path.length) return null; // the path has fewer segments than the template
    let stop = path.indexOf('/', pos);
    if (stop === -1) stop = path.length;
    if (seg.kind === 'literal') {
      if (stop - pos !== seg.text.length || !path.startsWith(seg.text, pos)) return null;
    } else {
      if (stop === pos) return null;
      params ??= newParams();
      params[seg.name] = path.slice(pos, stop);
    }
    pos = stop + 1;
  }
  return pos > path.length ? (params ?? newParams()) : null;
}

// Parameters live on objects whose prototype chain is empty, so that a parameter named like an
// Object.prototype member ('__proto__', 'constructor') stays a plain value and a name the template
// lacks reads as undefined. A constructor is used instead of Object.create(null), which makes a
// dictionary-mode object that is several times slower to create and fill.
const NullProtoParams = function (this: Params) {} as unknown as new () => Params;
NullProtoParams.prototype = Object.create(null) as object;
const newParams = (): Params => new NullProtoParams();
