// SAN patterns: exact strings, or `*` wildcards such as spiffe://example.org/ns/*/sa/* or
// *.clients.example.com. A `*` matches one or more characters other than `/`, so it never crosses
// a path segment of a URI. Matching is segment by segment with indexOf: linear, no regular
// expression, no backtracking (SECURITY.md: no backtracking regex on attacker input).

export interface SanMatcher {
  test(value: string): boolean;
}

interface Wild {
  /** Literal pieces of each `/`-separated segment, split at `*`. */
  segments: string[][];
}

export function compileSanPatterns(patterns: readonly string[], where: string): SanMatcher {
  const exact = new Set<string>();
  const wild: Wild[] = [];
  patterns.forEach((p, i) => {
    if (p === '') throw new Error(`${where}[${i}]: empty pattern`);
    if (p.includes('**')) throw new Error(`${where}[${i}]: "**" is not supported; "*" matches within one path segment`);
    if (!p.includes('*')) exact.add(p);
    else wild.push({ segments: p.split('/').map((s) => s.split('*')) });
  });
  return {
    test(value) {
      if (exact.has(value)) return true;
      if (wild.length === 0) return false;
      const segs = value.split('/');
      for (const w of wild) if (matchSegments(w.segments, segs)) return true;
      return false;
    },
  };
}

function matchSegments(pattern: string[][], value: string[]): boolean {
  if (pattern.length !== value.length) return false;
  for (let i = 0; i < pattern.length; i++) if (!matchSegment(pattern[i]!, value[i]!)) return false;
  return true;
}

/** parts = the segment split at `*`; each `*` stands for one or more characters. */
function matchSegment(parts: string[], s: string): boolean {
  if (parts.length === 1) return parts[0] === s;
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  if (!s.startsWith(first) || !s.endsWith(last)) return false;
  const end = s.length - last.length;
  let pos = first.length;
  for (let k = 1; k < parts.length - 1; k++) {
    const part = parts[k]!;
    // The `*` before this piece takes at least one character; the earliest fit leaves the most
    // room for the rest, so no other choice can succeed where it fails.
    const at = s.indexOf(part, pos + 1);
    if (at === -1 || at + part.length > end - 1) return false;
    pos = at + part.length;
  }
  return end - pos >= 1;
}
