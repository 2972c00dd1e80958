// Endpoint lists as config and discovery files spell them: "http://host:port" or
// { url, weight?, priority? }.
import type { EndpointSpec } from '../endpoint.js';

export type EndpointEntry = string | { url: string; weight?: number | undefined; priority?: number | undefined };

/** Validates and normalizes entries; throws an Error naming the bad entry. */
export function parseEndpointEntries(entries: unknown, where: string): EndpointSpec[] {
  if (!Array.isArray(entries)) throw new Error(`${where}: expected a list of endpoints`);
  const out: EndpointSpec[] = [];
  const seen = new Set<string>();
  entries.forEach((e: unknown, i) => {
    const at = `${where}[${i}]`;
    const o = typeof e === 'string' ? { url: e } : (e as Record<string, unknown> | null);
    if (o === null || typeof o !== 'object' || typeof o.url !== 'string') throw new Error(`${at}: expected a URL or { url, weight, priority }`);
    let url: URL;
    try {
      url = new URL(o.url);
    } catch {
      throw new Error(`${at}: invalid URL "${o.url}"`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${at}: the scheme must be http or https`);
    if (url.username !== '' || url.password !== '' || url.pathname !== '/' || url.search !== '') throw new Error(`${at}: must be scheme://host:port only`);
    const weight = o.weight === undefined ? 1 : o.weight;
    const priority = o.priority === undefined ? 0 : o.priority;
    if (!Number.isInteger(weight) || (weight as number) < 1 || (weight as number) > 1000) throw new Error(`${at}.weight: expected an integer 1..1000`);
    if (!Number.isInteger(priority) || (priority as number) < 0 || (priority as number) > 10) throw new Error(`${at}.priority: expected an integer 0..10`);
    if (seen.has(url.origin)) return;
    seen.add(url.origin);
    out.push({ origin: url.origin, weight: weight as number, priority: priority as number });
  });
  return out;
}
