// Paired (grouped) runs: two or more proxies loaded at the same time, sharing the proxy core.
//
// Why: on this shared VM the host's contention swings a proxy's req/s by 40-60% within minutes,
// and no counter inside the guest shows it (steal stays near 0). Sequential runs of A then B see
// different hosts; their ratio moves between 0.78 and 0.90 for the same two builds. Run A and B
// together on one core instead and every moment of contention hits both alike. Each proxy's
// CPU time per request (its threads' time on CPU from /proc, divided by the requests wrk counted)
// is then measured under identical conditions, and the ratio of the two is the ratio of the
// req/s each would reach with the core to itself (both are CPU-bound at 64 connections).
import { readFileSync, readdirSync } from 'node:fs';
import { runWrk } from './wrk.mjs';
import { parseStat, ticksPerSecond } from './cpu.mjs';
import { median } from './report.mjs';

/**
 * CPU nanoseconds used so far by every thread of `pid`: the sum of /proc/PID/task/TID/schedstat's
 * first field (time on CPU, in ns; finer than the 10 ms ticks of /proc/PID/stat). Falls back to
 * the ticks when schedstat is missing (kernel built without schedstats).
 */
export function processCpuNs(pid) {
  let total = 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // The thread exited while we looked.
      }
    }
    if (total > 0) return total;
  } catch {
    return null;
  }
  return (parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8')).ticks / ticksPerSecond()) * 1e9;
}

/** The pid whose CPU is the proxy's: the target's node process (taskset execs in place). */
export const targetPid = (t) => t.proc?.child?.pid ?? null;

/**
 * One round for a group of proxies (two or more): wrk against every one of them at once, each with
 * `connections`, all pinned to the load core, so every proxy shares the proxy core under the same
 * conditions. Every process in the group is busy for exactly the same windows: a proxy left idle
 * while others ran comes back with a heap V8 shrank meanwhile, which measured as a 5-10% handicap.
 * Returns one run per target: wrk's result plus cpuUsPerReq and cpuShare (the fraction of the wall
 * time that proxy was on a CPU).
 */
export async function groupRound({ targets, connections, seconds, loadCpu, requestFor, warmSeconds = 1 }) {
  const reqs = await Promise.all(targets.map((t) => requestFor(t, seconds + warmSeconds)));
  const load = (secs) => Promise.all(reqs.map((r) => runWrk({ url: r.url, headers: r.headers, connections, seconds: secs, cpu: loadCpu })));
  // Unmeasured joint warm-up: everyone is under load before the measured window starts.
  if (warmSeconds > 0) await load(warmSeconds);
  const pids = targets.map(targetPid);
  const before = pids.map(processCpuNs);
  const t0 = performance.now();
  const runs = await load(seconds);
  const wallNs = (performance.now() - t0) * 1e6;
  const after = pids.map(processCpuNs);
  return runs.map((w, i) => {
    const { raw, ...rest } = w;
    const cpuNs = before[i] === null || after[i] === null ? null : after[i] - before[i];
    return { ...rest, cpuUsPerReq: cpuNs === null || !w.requests ? null : cpuNs / 1000 / w.requests, cpuShare: cpuNs === null ? null : cpuNs / wallNs };
  });
}

/** The value at quantile p (0..1) of xs, nearest rank; null when empty. */
const quantile = (xs, p) => {
  const v = [...xs].sort((x, y) => x - y);
  return v.length ? v[Math.min(v.length - 1, Math.floor(p * v.length))] : null;
};

/**
 * Per target of every group: the median capacity ratio over the rounds (clean rounds only when
 * there are any), its interquartile range, the median µs/request of both sides, and the req/s ratio
 * while sharing. Returns those summaries, the PASS/FAIL check for reference:gatehouse against
 * `targetRatio`, and a markdown table headed by `heading`.
 */
export function reportPaired(results, { heading, targetRatio }) {
  const lines = [];
  const checks = [];
  const summaries = [];
  for (const gr of results) {
    const clean = gr.rounds.filter((r) => !r.disturbed);
    const use = clean.length ? clean : gr.rounds;
    for (const target of gr.targets) {
      const ratios = use.map((r) => r.cpuRatio[target]).filter((x) => x !== null);
      const s = {
        base: gr.base,
        target,
        rounds: ratios.length,
        cleanRounds: clean.length,
        cpuRatio: median(ratios),
        cpuRatioIqr: [quantile(ratios, 0.25), quantile(ratios, 0.75)],
        baseCpuUsPerReq: median(use.map((r) => r.runs[gr.base].cpuUsPerReq)),
        targetCpuUsPerReq: median(use.map((r) => r.runs[target].cpuUsPerReq)),
        rpsRatio: median(use.map((r) => r.rpsRatio[target])),
      };
      summaries.push(s);
      if (s.cpuRatio === null) continue;
      const iqr = `${s.cpuRatioIqr[0].toFixed(3)}-${s.cpuRatioIqr[1].toFixed(3)}`;
      lines.push(
        `| ${target} vs ${gr.base} | ${s.rounds} (${s.cleanRounds} clean) | ${s.baseCpuUsPerReq.toFixed(1)} | ${s.targetCpuUsPerReq.toFixed(1)} | ` +
          `**${s.cpuRatio.toFixed(3)}** | ${iqr} | ${s.rpsRatio.toFixed(3)} |`,
      );
      if (gr.base === 'reference' && target === 'gatehouse') {
        checks.push({
          name: `Gatehouse req/s >= ${targetRatio.toFixed(2)}x reference (paired, CPU per request)`,
          pass: s.cpuRatio >= targetRatio,
          detail: `${s.cpuRatio.toFixed(3)}x (IQR ${iqr}, ${s.rounds} rounds)`,
        });
      }
    }
  }
  const markdown = [
    heading,
    '',
    '| pair | rounds | base CPU µs/req | target CPU µs/req | capacity ratio (median) | IQR | req/s ratio while sharing |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...lines,
    ...checks.map((c) => `- ${c.pass ? 'PASS' : 'FAIL'}: ${c.name}: ${c.detail}`),
  ].join('\n');
  return { summaries, checks, markdown };
}
