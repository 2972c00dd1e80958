// Origin allow-list compiled once: exact origins in a Set, `https://*.example.com` patterns as
// scheme + host-suffix pairs (no regular expressions on the request path).

export interface OriginMatcher {
  readonly any: boolean;
  test(origin: string): boolean;
}

export function compileOrigins(list: readonly string[]): OriginMatcher {
  const any = list.includes('*');
  const exact = new Set<string>();
  const wild: Array<{ prefix: string; suffix: string }> = [];
  for (const o of list) {
    if (o === '*') continue;
    const star = o.indexOf('://*.');
    if (star !== -1) {
      wild.push({ prefix: o.slice(0, star + 3).toLowerCase(), suffix: o.slice(star + 4).toLowerCase() });
    } else {
      exact.add(o.toLowerCase().replace(/\/$/, ''));
    }
  }
  return {
    any,
    test(origin) {
      if (any) return true;
      const o = origin.toLowerCase();
      if (exact.has(o)) return true;
      for (const w of wild) {
        // `https://*.example.com` covers sub.example.com and a.b.example.com, never example.com
        // itself nor evil-example.com (the suffix starts with its dot).
        if (o.startsWith(w.prefix) && o.endsWith(w.suffix) && o.length > w.prefix.length + w.suffix.length) {
          const host = o.slice(w.prefix.length, o.length - w.suffix.length);
          if (!host.includes('/') && !host.includes('@')) return true;
        }
      }
      return false;
    },
  };
}
