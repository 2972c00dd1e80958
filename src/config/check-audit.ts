// The audit trail's cross-checks.
import type { Issue } from './yaml-tree.js';
import type { GatehouseConfig } from './schema.js';

export function checkAudit(cfg: GatehouseConfig, out: { errors: Issue[] }): void {
  // An audit-required route without an audit trail would refuse every request.
  cfg.routes.forEach((r, i) => {
    if (r.audit === 'required' && !cfg.audit?.enabled) {
      out.errors.push({ path: ['routes', i, 'audit'], message: 'audit: required needs the audit trail (set audit.enabled: true and audit.dir)' });
    }
  });
}
