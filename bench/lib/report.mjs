// Turning raw wrk runs into medians, ratios, the pass/fail verdict and printable tables.
//
// Ratios are computed per round (each target against the baseline measured in the same round)
// and then the median is taken: on a shared VM the whole machine drifts between rounds, and a
// same-round ratio cancels most of that drift where a ratio of medians would not.

export const REFERENCE = 'reference';
export const NGINX = 'nginx-proxy';
export const DIRECT = 'direct';
export const GATEHOUSE = 'gatehouse';

export const GATEHOUSE_JWT = 'gatehouse-jwt';
export const GATEHOUSE_SIGV4 = 'gatehouse-sigv4';
export const GATEHOUSE_AUTHZ = 'gatehouse-authz';
export const GATEHOUSE_OBSERVED = 'gatehouse-observed';
export const GATEHOUSE_LB3 = 'gatehouse-lb3';

// Targets from the issues.
export const TARGET_RPS_RATIO = 0.9; // Gatehouse req/s >= 0.90 x reference, access log on
export const TARGET_ADDED_P50_RATIO = 1.15; // Gatehouse added p50 @1 conn <= 1.15 x reference's
export const TARGET_JWT_RATIO = 0.95; // issue 3: hot-JWT route req/s >= 0.95 x the no-auth Gatehouse route
export const TARGET_AUTHZ_RATIO = 0.95; // issue 4: 50 policies / 500 statements >= 0.95 x the same route without policies
export const TARGET_LB3_RATIO = 0.95; // issue 6: 3 endpoints, least_request >= 0.95 x one endpoint, round-robin
export const TARGET_OBSERVED_RATIO = 0.93; // issue 7: metrics + access log + tracing (1% sampled) >= 0.93 x metrics only

export function median(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/**
 * Runs that other processes disturbed (see measure() in run.mjs) are left out of the statistics
 * whenever at least one clean run exists; if none does, all are used and the row says so.
 */
function usable(runs) {
  const clean = runs.filter((r) => !r.disturbed);
  return clean.length ? clean : runs;
}

/** Per-round values of f(targetRun, baselineRun) for rounds where both were measured. */
function perRound(runs, baseRuns, f) {
  const out = [];
  for (const r of runs) {
    const b = baseRuns?.find((x) => x.round === r.round);
    if (b) out.push(f(r, b));
  }
  return out;
}

/**
 * results: { [name]: { label, status, runs: { c64: [run], c1: [run] }, baseline?, measuredAt1? } }
 * where run is a parsed wrk result plus its round number, and `baseline` names the target an
 * authenticated route is compared with (the no-auth gatehouse). Returns one summary row per
 * target, in results order.
 */
export function summarize(results, { connections }) {
  const hi = `c${connections}`;
  const base = (name, c) => (results[name]?.status === 'ok' ? usable(results[name].runs[c]) : null);
  const rows = [];
  for (const [name, t] of Object.entries(results)) {
    if (t.status !== 'ok') {
      rows.push({ name, label: t.label, status: t.status, error: t.error });
      continue;
    }
    const hiRuns = usable(t.runs[hi]);
    const loRuns = usable(t.runs.c1);
    const added = (field) => perRound(loRuns, base(DIRECT, 'c1'), (r, d) => r[field] - d[field]);
    const addedP50 = added('p50');
    // Pair this target's added p50 with the reference's added p50 from the same round.
    const addedRatio = [];
    for (const r of loRuns) {
      const d = base(DIRECT, 'c1')?.find((x) => x.round === r.round);
      const ref = base(REFERENCE, 'c1')?.find((x) => x.round === r.round);
      if (d && ref && ref.p50 - d.p50 > 0) addedRatio.push((r.p50 - d.p50) / (ref.p50 - d.p50));
    }
    // Authenticated routes against their no-auth baseline, same round, same concurrency.
    const vsBase = t.baseline
      ? {
          baseline: t.baseline,
          baselineOk: results[t.baseline]?.status === 'ok',
          rpsVsBaseline: median(perRound(hiRuns, base(t.baseline, hi), (r, b) => r.rps / b.rps)),
          rpsVsBaselineAt1: median(perRound(loRuns, base(t.baseline, 'c1'), (r, b) => r.rps / b.rps)),
          cpuVsBaseline: median(perRound(hiRuns, base(t.baseline, hi), (r, b) => r.proxyCpuUsPerReq / b.proxyCpuUsPerReq)),
          // Extra proxy-core CPU per request that the filter costs, same round.
          cpuAddedVsBaseline: median(perRound(hiRuns, base(t.baseline, hi), (r, b) => r.proxyCpuUsPerReq - b.proxyCpuUsPerReq)),
        }
      : {};
    rows.push({
      name,
      label: t.label,
      status: 'ok',
      ...(t.measuredAt1 === false ? { measuredAt1: false } : {}),
      ...vsBase,
      rounds: hiRuns.length,
      // How many of the runs behind the figures were disturbed (non-zero only if none was clean).
      disturbedUsed: [...hiRuns, ...loRuns].filter((r) => r.disturbed).length,
      cleanRuns: { [hi]: hiRuns.filter((r) => !r.disturbed).length, c1: loRuns.filter((r) => !r.disturbed).length },
      totalRuns: { [hi]: t.runs[hi].length, c1: t.runs.c1.length },
      hi: {
        rps: median(hiRuns.map((r) => r.rps)),
        p50: median(hiRuns.map((r) => r.p50)),
        p99: median(hiRuns.map((r) => r.p99)),
      },
      lo: {
        rps: median(loRuns.map((r) => r.rps)),
        p50: median(loRuns.map((r) => r.p50)),
        p99: median(loRuns.map((r) => r.p99)),
      },
      // CPU time on the proxy core per request: the efficiency figure that still holds when the
      // load core, not the proxy, limits req/s (as it can for nginx). Meaningless for direct.
      cpuUsPerReq: name === DIRECT ? null : median(hiRuns.map((r) => r.proxyCpuUsPerReq)),
      cpuVsNginx: name === DIRECT ? null : median(perRound(hiRuns, base(NGINX, hi), (r, b) => r.proxyCpuUsPerReq / b.proxyCpuUsPerReq)),
      rpsVsReference: median(perRound(hiRuns, base(REFERENCE, hi), (r, b) => r.rps / b.rps)),
      rpsVsNginx: median(perRound(hiRuns, base(NGINX, hi), (r, b) => r.rps / b.rps)),
      rpsVsReferenceAt1: median(perRound(loRuns, base(REFERENCE, 'c1'), (r, b) => r.rps / b.rps)),
      addedP50At1: median(addedP50),
      addedP99At1: median(added('p99')),
      addedP50VsReference: median(addedRatio),
      errors: [...hiRuns, ...loRuns].reduce((n, r) => n + Object.values(r.errors).reduce((a, b) => a + b, 0), 0),
      // Spread of the throughput figure across rounds, so readers can see the noise directly.
      rpsSpread: spread(hiRuns.map((r) => r.rps)),
    });
  }
  return rows;
}

/** (max - min) / median, as a fraction. */
function spread(xs) {
  const m = median(xs);
  if (!m || xs.length < 2) return null;
  return (Math.max(...xs) - Math.min(...xs)) / m;
}

/**
 * The issues' targets. Each is { name, pass: true|false|null, detail }, or { name, info: true,
 * detail } for a figure reported as measured. Core targets (issue: data path) when gatehouse ran;
 * the hot-JWT target and the SigV4 figure (issue 3) when those targets ran.
 */
export function verdict(rows) {
  return [...coreVerdict(rows), ...authVerdict(rows)];
}

function authVerdict(rows) {
  const out = [];
  const ratioDetail = (a, at = '') => {
    const hi = `${a.rpsVsBaseline.toFixed(3)}x`;
    const cpu = a.cpuVsBaseline === null ? '' : `; CPU/req ${a.cpuVsBaseline.toFixed(2)}x (${fmtAdded(a.cpuAddedVsBaseline)})`;
    return `${hi}${at}${cpu}${a.errors > 0 ? `; WARNING: ${a.errors} wrk errors/non-2xx` : ''}`;
  };
  const why = (a) => (a.status !== 'ok' ? a.status : !a.baselineOk ? `${a.baseline} not measured` : `no same-round pair with ${a.baseline}`);
  const j = rows.find((r) => r.name === GATEHOUSE_JWT);
  if (j) {
    const name = `Hot-JWT route req/s >= ${TARGET_JWT_RATIO}x the no-auth Gatehouse route`;
    if (j.status !== 'ok' || j.rpsVsBaseline === null || j.rpsVsBaseline === undefined) out.push({ name, pass: null, detail: why(j) });
    // A route answering 401 fast would look good; errors make the check fail.
    else out.push({ name, pass: j.rpsVsBaseline >= TARGET_JWT_RATIO && j.errors === 0, detail: ratioDetail(j) });
  }
  const z = rows.find((r) => r.name === GATEHOUSE_AUTHZ);
  if (z) {
    const name = `Authz route (50 policies / 500 statements) req/s >= ${TARGET_AUTHZ_RATIO}x the same jwt route without policies`;
    if (z.status !== 'ok' || z.rpsVsBaseline === null || z.rpsVsBaseline === undefined) out.push({ name, pass: null, detail: why(z) });
    else out.push({ name, pass: z.rpsVsBaseline >= TARGET_AUTHZ_RATIO && z.errors === 0, detail: ratioDetail(z) });
  }
  const o = rows.find((r) => r.name === GATEHOUSE_OBSERVED);
  if (o) {
    const name = `Metrics + access log + tracing (1% sampled) req/s >= ${TARGET_OBSERVED_RATIO}x metrics only (access log off, no tracing)`;
    if (o.status !== 'ok' || o.rpsVsBaseline === null || o.rpsVsBaseline === undefined) out.push({ name, pass: null, detail: why(o) });
    else out.push({ name, pass: o.rpsVsBaseline >= TARGET_OBSERVED_RATIO && o.errors === 0, detail: ratioDetail(o) });
  }
  const lb = rows.find((r) => r.name === GATEHOUSE_LB3);
  if (lb) {
    const name = `3 endpoints, least_request req/s >= ${TARGET_LB3_RATIO}x one endpoint, round-robin`;
    if (lb.status !== 'ok' || lb.rpsVsBaseline === null || lb.rpsVsBaseline === undefined) out.push({ name, pass: null, detail: why(lb) });
    else out.push({ name, pass: lb.rpsVsBaseline >= TARGET_LB3_RATIO && lb.errors === 0, detail: ratioDetail(lb) });
  }
  const s = rows.find((r) => r.name === GATEHOUSE_SIGV4);
  if (s) {
    const name = 'SigV4 route req/s vs the no-auth Gatehouse route (reported as measured, no target)';
    if (s.status !== 'ok' || s.rpsVsBaseline === null || s.rpsVsBaseline === undefined) out.push({ name, info: true, detail: why(s) });
    else out.push({ name, info: true, detail: ratioDetail(s) });
  }
  return out;
}

function coreVerdict(rows) {
  const g = rows.find((r) => r.name === GATEHOUSE);
  if (!g) return [];
  const na = (why) => [
    { name: `Gatehouse req/s >= ${TARGET_RPS_RATIO}x reference (access log on)`, pass: null, detail: why },
    { name: `Gatehouse added p50 @1 conn <= ${TARGET_ADDED_P50_RATIO}x reference's`, pass: null, detail: why },
  ];
  if (g.status !== 'ok') return na(g.status);
  const out = [];
  out.push({
    name: `Gatehouse req/s >= ${TARGET_RPS_RATIO}x reference (access log on)`,
    pass: g.rpsVsReference === null ? null : g.rpsVsReference >= TARGET_RPS_RATIO,
    detail: g.rpsVsReference === null ? 'reference not measured' : `${g.rpsVsReference.toFixed(2)}x`,
  });
  out.push({
    name: `Gatehouse added p50 @1 conn <= ${TARGET_ADDED_P50_RATIO}x reference's`,
    pass: g.addedP50VsReference === null ? null : g.addedP50VsReference <= TARGET_ADDED_P50_RATIO,
    detail:
      g.addedP50VsReference === null
        ? 'direct or reference not measured'
        : `${g.addedP50VsReference.toFixed(2)}x (+${fmtUs(g.addedP50At1)} vs reference's added p50)`,
  });
  if (g.errors > 0) out.forEach((c) => (c.detail += `; WARNING: ${g.errors} wrk errors/non-2xx`));
  return out;
}

// ---------- formatting ----------

export function fmtUs(us) {
  if (us === null || us === undefined) return '–';
  if (Math.abs(us) < 100) return `${us.toFixed(1)} µs`;
  if (Math.abs(us) < 1000) return `${Math.round(us)} µs`;
  if (Math.abs(us) < 1e6) return `${(us / 1000).toFixed(2)} ms`;
  return `${(us / 1e6).toFixed(2)} s`;
}
const fmtRps = (x) => (x === null ? '–' : Math.round(x).toLocaleString('en-US'));
const fmtRatio = (x) => (x === null || x === undefined ? '–' : `${x.toFixed(2)}x`);
const fmtAdded = (x) => (x === null || x === undefined ? '–' : `${x >= 0 ? '+' : ''}${fmtUs(x)}`);

function cells(row) {
  if (row.status !== 'ok') return [row.name, row.status, '', '', '', '', '', '', '', ''];
  return [
    // † marks figures that rest on runs other processes disturbed (no clean run was available).
    `${row.name}${row.baseline && row.baseline !== GATEHOUSE ? ` (÷ ${row.baseline})` : ''}${row.disturbedUsed ? ' †' : ''}`,
    fmtRps(row.hi.rps),
    `${fmtUs(row.hi.p50)} / ${fmtUs(row.hi.p99)}`,
    fmtRps(row.lo.rps),
    `${fmtUs(row.lo.p50)} / ${fmtUs(row.lo.p99)}`,
    row.name === REFERENCE ? '1.00x' : fmtRatio(row.rpsVsReference),
    row.name === NGINX ? '1.00x' : fmtRatio(row.rpsVsNginx),
    row.cpuUsPerReq === null ? '–' : `${fmtUs(row.cpuUsPerReq)} (${row.name === NGINX ? '1.00x' : fmtRatio(row.cpuVsNginx)})`,
    row.name === DIRECT ? '(base)' : fmtAdded(row.addedP50At1),
    row.name === DIRECT ? '' : row.name === REFERENCE ? '1.00x' : fmtRatio(row.addedP50VsReference),
  ];
}

const headers = (c) => [
  'target',
  `req/s @${c}`,
  `p50 / p99 @${c}`,
  'req/s @1',
  'p50 / p99 @1',
  `req/s ÷ ref`,
  `req/s ÷ nginx`,
  `CPU/req @${c} (÷ nginx)`,
  'added p50 @1',
  'added ÷ ref',
];

export function consoleTable(rows, { connections }) {
  const data = [headers(connections), ...rows.map((r) => cells(r))];
  const widths = data[0].map((_, i) => Math.max(...data.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(data[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...data.slice(1).map(line)].join('\n');
}

// The authenticated routes' own table: each against its no-auth baseline (the gatehouse target).
const authHeaders = (c) => [
  'target',
  `req/s @${c}`,
  `req/s ÷ baseline @${c}`,
  `p50 / p99 @${c}`,
  `CPU/req @${c}`,
  'CPU/req ÷ baseline',
  'CPU/req added',
  'req/s ÷ baseline @1',
];
function authCells(row) {
  if (row.status !== 'ok') return [row.name, row.status, '', '', '', '', '', ''];
  return [
    `${row.name}${row.baseline && row.baseline !== GATEHOUSE ? ` (÷ ${row.baseline})` : ''}${row.disturbedUsed ? ' †' : ''}`,
    fmtRps(row.hi.rps),
    fmtRatio(row.rpsVsBaseline),
    `${fmtUs(row.hi.p50)} / ${fmtUs(row.hi.p99)}`,
    fmtUs(row.cpuUsPerReq),
    fmtRatio(row.cpuVsBaseline),
    fmtAdded(row.cpuAddedVsBaseline),
    row.measuredAt1 === false ? 'not measured' : fmtRatio(row.rpsVsBaselineAt1),
  ];
}
const authRows = (rows) => rows.filter((r) => r.baseline || r.name === GATEHOUSE);
const hasAuth = (rows) => rows.some((r) => r.baseline);
function baselineCells(row, c) {
  // The no-auth route itself, for reference (ratio 1.00x by definition).
  const cells = authCells({ ...row, rpsVsBaseline: 1, cpuVsBaseline: 1, cpuAddedVsBaseline: 0, rpsVsBaselineAt1: 1 });
  if (row.status === 'ok') cells[0] = `${cells[0]} (no auth)`;
  return cells;
}

/** Console table of the authenticated routes, or '' when none ran. */
export function authConsoleTable(rows, { connections }) {
  if (!hasAuth(rows)) return '';
  const data = [authHeaders(connections), ...authRows(rows).map((r) => (r.baseline ? authCells(r) : baselineCells(r, connections)))];
  const widths = data[0].map((_, i) => Math.max(...data.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(data[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...data.slice(1).map(line)].join('\n');
}

/** Markdown table of the authenticated routes, or '' when none ran. */
export function authMarkdownTable(rows, { connections }) {
  if (!hasAuth(rows)) return '';
  const head = authHeaders(connections);
  const out = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  for (const r of authRows(rows)) out.push(`| ${(r.baseline ? authCells(r) : baselineCells(r, connections)).join(' | ')} |`);
  return out.join('\n');
}

export function markdownTable(rows, { connections }) {
  const head = headers(connections);
  const out = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  for (const r of rows) out.push(`| ${cells(r).join(' | ')} |`);
  if (rows.some((r) => r.disturbedUsed)) out.push('', '† includes runs disturbed by other processes on the machine (no clean run was available).');
  return out.join('\n');
}
