// The secrets section's cross-checks.
import type { Issue } from './yaml-tree.js';
import type { GatehouseConfig } from './schema.js';
import { parseDuration } from './units.js';
import { MAX_OVERLAP_MS } from '../secrets/history.js';

export function checkSecrets(cfg: GatehouseConfig, out: { errors: Issue[] }): void {
  const overlap = cfg.secrets?.overlap;
  if (overlap === undefined) return;
  let ms: number;
  try {
    ms = parseDuration(overlap);
  } catch {
    ms = Infinity; // too large to be a number of milliseconds
  }
  if (ms > MAX_OVERLAP_MS) {
    out.errors.push({
      path: ['secrets', 'overlap'],
      message: 'must be at most 24h: the previous value of a rotated secret stays valid that long (0 refuses it at once)',
    });
  }
}
