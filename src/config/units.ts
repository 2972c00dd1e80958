// Duration and size values as the schema spells them (Duration, Size in schema.ts), turned into
// plain numbers once at config compile time so nothing on the request path parses units.

const DURATION_RE = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)$/;
const SIZE_RE = /^([0-9]+)(B|KB|KiB|MB|MiB|GB|GiB)$/;

const MS_PER: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const BYTES_PER: Record<string, number> = {
  B: 1,
  KB: 1_000,
  KiB: 1_024,
  MB: 1_000_000,
  MiB: 1_048_576,
  GB: 1_000_000_000,
  GiB: 1_073_741_824,
};

/**
 * Node's timers fire at once (with a warning) for delays above 2^31-1 ms, so a longer "timeout"
 * would silently mean "no time at all". Validation rejects anything above this.
 */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/** Milliseconds, rounded to the nearest whole millisecond. Throws RangeError on bad input. */
export function parseDuration(v: number | string): number {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`invalid duration ${v}: expected integer milliseconds`);
    return v;
  }
  const m = DURATION_RE.exec(v);
  if (!m) throw new RangeError(`invalid duration "${v}": expected a duration such as 250ms, 10s, 5m or integer milliseconds`);
  const ms = Math.round(Number(m[1]) * MS_PER[m[2]!]!);
  if (!Number.isSafeInteger(ms)) throw new RangeError(`invalid duration "${v}": too large`);
  return ms;
}

/** Bytes. KB/MB/GB are powers of 1000, KiB/MiB/GiB powers of 1024. Throws RangeError on bad input. */
export function parseSize(v: number | string): number {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`invalid size ${v}: expected integer bytes`);
    return v;
  }
  const m = SIZE_RE.exec(v);
  if (!m) throw new RangeError(`invalid size "${v}": expected a size such as 512B, 60KiB, 10MiB or integer bytes`);
  const bytes = Number(m[1]) * BYTES_PER[m[2]!]!;
  if (!Number.isSafeInteger(bytes)) throw new RangeError(`invalid size "${v}": too large`);
  return bytes;
}
