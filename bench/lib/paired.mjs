// Paired (grouped) runs: two or more proxies loaded at the same time, sharing the proxy core.
//
// Why: on this shared VM the host's contention swings a proxy's req/s by 40-60% within minutes,
// and no counter inside the guest shows it (steal stays near 0). Sequential runs of A then B see
// different hosts; their ratio moves between 0.78 and 0.90 for the same two builds. Run A and B
// together on one core instead and every moment of contention hits both alike. Each proxy's
// CPU time per request (its own utime + stime from /proc, divided by the requests wrk counted)
// is then measured under identical conditions, and the ratio of the two is the ratio of the
// req/s each would reach with the core to itself (both are CPU-bound at 64 connections).
import { readFileSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { runWrk } from './wrk.mjs';

let clkTck = null;
const ticksPerSecond = () => (clkTck ??= Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100);

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
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) / ticksPerSecond()) * 1e9;
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
