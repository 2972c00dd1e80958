// CPU accounting from /proc.
//
// Two uses: CPU time per request on the proxy core (an efficiency figure that stays meaningful
// when the load core, not the proxy, limits req/s), and catching other work on the machine. The
// bench box is shared (builds, test runs), and a compiler on the proxy core silently halves a
// proxy's throughput. So the harness waits for other processes to go quiet before each run and
// checks afterwards how much CPU they took during it.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * Busy, steal and total jiffies of one core from /proc/stat. Idle and iowait count as not busy;
 * steal (the hypervisor ran another guest while this vCPU wanted to run) is not our CPU time
 * either, so it is kept apart: on a shared VM it is the noise no process list shows.
 */
export function cpuTicks(cpu) {
  const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith(`cpu${cpu} `));
  if (!line) return null;
  // user nice system idle iowait irq softirq steal (guest time is already inside user)
  const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3] - f[4] - f[7], steal: f[7], total };
}

export const busyBetween = (a, b) => (a && b && b.total > a.total ? (b.busy - a.busy) / (b.total - a.total) : null);
export const stealBetween = (a, b) => (a && b && b.total > a.total ? (b.steal - a.steal) / (b.total - a.total) : null);

let clkTck = null;
export const ticksPerSecond = () =>
  (clkTck ??= Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100);

/** { ppid, pgrp, ticks (utime + stime, all threads) } from the text of /proc/PID/stat. */
export function parseStat(text) {
  // The command name may itself contain spaces and parentheses; fields resume after the last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // f[0] is field 3 (state): ppid = field 4, pgrp = field 5, utime = 14, stime = 15.
  return { ppid: Number(f[1]), pgrp: Number(f[2]), ticks: Number(f[11]) + Number(f[12]) };
}

/** pid -> { pgrp, ppid, ticks (utime + stime, all threads) } for every process. */
export function processSnapshot() {
  const snap = new Map();
  for (const name of readdirSync('/proc')) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue; // not a pid directory
    let text;
    try {
      text = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    snap.set(Number(name), parseStat(text));
  }
  return snap;
}

function cmdline(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ').slice(0, 60);
  } catch {
    return `pid ${pid}`;
  }
}

/**
 * CPU used by processes that are not ours between two snapshots, as a fraction of one core over
 * `wallMs`, plus the biggest offenders. `isOurs(pid, info)` decides ownership. Kernel threads are
 * skipped: under load they mostly do our own network and log I/O work. Processes that both start
 * and exit between the snapshots are missed; a build step long enough to matter is not.
 */
export function foreignCpu(before, after, isOurs, wallMs) {
  const hz = ticksPerSecond();
  const users = [];
  let ticks = 0;
  for (const [pid, a] of after) {
    if (pid === 2 || a.ppid === 2 || isOurs(pid, a)) continue;
    const d = a.ticks - (before.get(pid)?.ticks ?? 0);
    if (d > 0) {
      ticks += d;
      users.push({ pid, ticks: d });
    }
  }
  const seconds = wallMs / 1000;
  users.sort((x, y) => y.ticks - x.ticks);
  return {
    coreFraction: ticks / hz / seconds,
    top: users.slice(0, 3).map((u) => ({ pid: u.pid, cmd: cmdline(u.pid), coreFraction: u.ticks / hz / seconds })),
  };
}

export const describeForeign = (f) =>
  `${Math.round(f.coreFraction * 100)}% of a core: ` +
  f.top
    .filter((u) => u.coreFraction >= 0.01)
    .slice(0, 2)
    .map((u) => `${u.cmd} (${Math.round(u.coreFraction * 100)}%)`)
    .join(', ');

/**
 * Wait (up to maxWaitMs) until processes other than ours use less than `threshold` of a core.
 * Returns the last one-second sample and whether it was quiet, for the record.
 */
export async function awaitQuiet(isOurs, { threshold = 0.05, maxWaitMs = 30000, onWait } = {}) {
  const deadline = Date.now() + maxWaitMs;
  const sample = async (ms) => {
    const before = processSnapshot();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, ms));
    return foreignCpu(before, processSnapshot(), isOurs, performance.now() - t0);
  };
  let f = await sample(500);
  let waited = false;
  while (f.coreFraction > threshold && Date.now() < deadline) {
    if (!waited && onWait) onWait(f);
    waited = true;
    f = await sample(1000);
  }
  return { foreign: f, quiet: f.coreFraction <= threshold, waited };
}
