// The version printed by --version: package.json's, found by walking up from this module so it
// works from src/ (tsx) and dist/src/ (tsc output) alike.
import { readFileSync } from 'node:fs';

export function packageVersion(): string {
  for (let dir = new URL('./', import.meta.url); ; dir = new URL('../', dir)) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'gatehouse' && pkg.version) return pkg.version;
    } catch {
      // not here: keep walking up
    }
    if (dir.pathname === '/') return 'unknown';
  }
}
