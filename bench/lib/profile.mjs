// Reading a V8 .cpuprofile (as written by `node --cpu-prof`) into a self-time table.
import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Self time per function. Frames are keyed by functionName + url + line so that two anonymous
 * functions in one file stay apart, while the many nodes V8 creates for one function (one per
 * distinct call stack) are summed together.
 * Time per sample comes from timeDeltas, so it stays right if the sampling interval drifts.
 */
export function summarizeCpuProfile(file, { top = 15, repoRoot } = {}) {
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  const nodeById = new Map(prof.nodes.map((n) => [n.id, n]));

  const selfUs = new Map(); // node id -> microseconds
  const hits = new Map(); // node id -> sample count
  const { samples, timeDeltas } = prof;
  for (let i = 0; i < samples.length; i++) {
    // timeDeltas[i] is the gap *before* sample i, so the time spent in sample i is the next delta.
    const dt = i + 1 < timeDeltas.length ? timeDeltas[i + 1] : 0;
    selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + Math.max(0, dt));
    hits.set(samples[i], (hits.get(samples[i]) ?? 0) + 1);
  }

  const byFrame = new Map();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const { callFrame: cf } = nodeById.get(id);
    totalUs += us;
    if (cf.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const key = `${cf.functionName}\u0000${cf.url}\u0000${cf.lineNumber}`;
    let row = byFrame.get(key);
    if (!row) {
      row = { functionName: cf.functionName || '(anonymous)', url: cf.url, line: cf.lineNumber + 1, selfUs: 0, samples: 0 };
      byFrame.set(key, row);
    }
    row.selfUs += us;
    row.samples += hits.get(id);
  }

  const busyUs = totalUs - idleUs;
  const rows = [...byFrame.values()].sort((a, b) => b.selfUs - a.selfUs).slice(0, top);
  for (const r of rows) {
    r.pctOfBusy = busyUs ? (100 * r.selfUs) / busyUs : 0;
    r.where = shortUrl(r.url, repoRoot) + (r.url ? `:${r.line}` : '');
  }
  return { file, totalMs: totalUs / 1000, idleMs: idleUs / 1000, busyMs: busyUs / 1000, top: rows };
}

function shortUrl(url, repoRoot) {
  if (!url) return '';
  let u = url.replace(/^file:\/\//, '');
  if (repoRoot && u.startsWith(repoRoot + path.sep)) u = u.slice(repoRoot.length + 1);
  return u;
}

export function formatProfile(summary) {
  const lines = [
    `CPU profile ${summary.file}`,
    `sampled ${(summary.totalMs / 1000).toFixed(1)} s, idle ${(summary.idleMs / 1000).toFixed(1)} s; ` +
      `percentages are of non-idle time (${(summary.busyMs / 1000).toFixed(1)} s)`,
    '',
    ' self%   self ms  samples  function                         where',
  ];
  for (const r of summary.top) {
    lines.push(
      `${r.pctOfBusy.toFixed(1).padStart(6)}  ${(r.selfUs / 1000).toFixed(0).padStart(8)}  ${String(r.samples).padStart(7)}  ${r.functionName.slice(0, 32).padEnd(32)} ${r.where}`,
    );
  }
  return lines.join('\n');
}
