// The audit trail's cross-checks.
import type { Issue } from './yaml-tree.js';
import type { GatehouseConfig } from './schema.js';

export function checkAudit(cfg: GatehouseConfig, out: { errors: Issue[] }): void {
  const a = cfg.audit;
  if (a?.enabled && (a.sink ?? 'file') === 'file' && a.dir === undefined) {
    out.errors.push({ path: ['audit'], message: 'the file sink needs audit.dir (the folder for the chain files), or set audit.sink: stdout' });
  }
  // An audit-required route without an audit trail would refuse every request.
  cfg.routes.forEach((r, i) => {
    if (r.audit === 'required' && !cfg.audit?.enabled) {
      out.errors.push({ path: ['routes', i, 'audit'], message: 'audit: required needs the audit trail (set audit.enabled: true, and audit.dir or audit.sink: stdout)' });
    }
  });
}
