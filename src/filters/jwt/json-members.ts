// Duplicate member names in JSON text. JSON.parse (and so jose) keeps the last of two equal names,
// so {"alg":"none",...,"alg":"RS256"} means one thing to a parser that keeps the first and another
// to ours: a token is refused outright when any object in it repeats a name (SECURITY.md, JWT).
// Names are compared after escape decoding: "a\u0062" and "ab" are the same name.

/** Deepest nesting accepted in a token's header or payload. */
export const MAX_DEPTH = 32;

export type MemberCheck = 'ok' | 'duplicate' | 'too_deep' | 'invalid';

/**
 * Scans JSON text that JSON.parse has already accepted and reports whether any object repeats a
 * member name, or nests deeper than MAX_DEPTH. Iterative, one pass, no recursion.
 */
export function checkMembers(text: string): MemberCheck {
  // One frame per open container: a Set of names for an object, undefined for an array.
  const frames: (Set<string> | undefined)[] = [];
  let expectKey = false;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      let escaped = false;
      i++;
      for (; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) {
          escaped = true;
          i++; // skip the escaped character (\" included)
        } else if (d === 0x22) break;
      }
      if (i >= n) return 'invalid';
      const top = frames[frames.length - 1];
      if (expectKey && top !== undefined) {
        let name: string;
        if (escaped) {
          try {
            name = JSON.parse(text.slice(start, i + 1)) as string;
          } catch {
            return 'invalid';
          }
        } else name = text.slice(start + 1, i);
        if (top.has(name)) return 'duplicate';
        top.add(name);
        expectKey = false;
      }
    } else if (c === 0x7b /* { */) {
      if (frames.length >= MAX_DEPTH) return 'too_deep';
      frames.push(new Set());
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      if (frames.length >= MAX_DEPTH) return 'too_deep';
      frames.push(undefined);
      expectKey = false;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      frames.pop();
      expectKey = false;
    } else if (c === 0x2c /* , */) {
      expectKey = frames[frames.length - 1] !== undefined;
    } else if (c === 0x3a /* : */) {
      expectKey = false;
    }
  }
  return frames.length === 0 ? 'ok' : 'invalid';
}
