// Key paths name a place in the config the way users read it: routes[2].match.path.
// Internally a path is a list of segments; ajv reports JSON pointers, converted here.

export type Segment = string | number;

const PLAIN_KEY = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

export function formatKeyPath(path: readonly Segment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (PLAIN_KEY.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** Map key of one step below `parent`; built incrementally while walking a document. */
export const childKey = (parent: string, seg: Segment): string => parent + (typeof seg === 'number' ? '\u0001' : '\u0002') + seg;

/** The map key of a path; arrays and objects never collide because indices are marked. */
export function pathKey(path: readonly Segment[]): string {
  let k = '';
  for (const seg of path) k = childKey(k, seg);
  return k;
}

/** ajv's instancePath ("/routes/2/match") → segments; all-digit segments become indices. */
export function fromPointer(pointer: string, value: unknown): Segment[] {
  if (pointer === '') return [];
  const out: Segment[] = [];
  let cur: unknown = value;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    // Only an array index is a number: an object may well have a key "0".
    const next: Segment = Array.isArray(cur) && /^(0|[1-9][0-9]*)$/.test(seg) ? Number(seg) : seg;
    out.push(next);
    cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[next as string] : undefined;
  }
  return out;
}
