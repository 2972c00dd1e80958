// Running wrk and reading its text report.
import { spawn } from 'node:child_process';
import { busyBetween, cpuTicks, stealBetween } from './cpu.mjs';

// wrk runs in the harness's own process group (it is short-lived and not detached), so a terminal
// Ctrl-C reaches it anyway; this set covers the other exits (SIGTERM to the harness, errors).
const active = new Set();
export function killActiveWrk() {
  for (const child of active) child.kill('SIGKILL');
  active.clear();
}

/**
 * Run `wrk -t1 -c<connections> -d<seconds>s --latency [-H 'Name: value'...] url` pinned to `cpu`.
 * `headers` ({ name: value }) are sent on every request (e.g. a bearer token or a SigV4
 * signature). Resolves to the parsed result plus the raw output (kept for the JSON record and for
 * debugging parse failures). With `watchCpu`, also reports that core's utilisation and CPU µs per
 * request.
 */
export async function runWrk({ url, connections, seconds, cpu, watchCpu = null, timeoutSeconds = 2, headers = {} }) {
  const before = watchCpu === null ? null : cpuTicks(watchCpu);
  const t0 = performance.now();
  const r = await spawnWrk({ url, connections, seconds, cpu, timeoutSeconds, headers });
  const wallUs = (performance.now() - t0) * 1000;
  const after = watchCpu === null ? null : cpuTicks(watchCpu);
  const busy = busyBetween(before, after);
  if (busy !== null) {
    r.proxyCpuUtil = busy;
    r.proxySteal = stealBetween(before, after);
    // Busy fraction x wall time is the CPU time spent on that core (the proxy is alone there);
    // the window includes wrk's start-up and exit, a few ms of idle, which only lowers `busy`.
    r.proxyCpuUsPerReq = r.requests ? (busy * wallUs) / r.requests : null;
  }
  return r;
}

/**
 * wrk's -H arguments. wrk splits each at the first ": " (colon and space), so values may contain
 * anything but a newline. It adds its own Host header unless the table already has one spelled
 * exactly "Host", so a host header is passed under that spelling (a lower-case "host" would be
 * sent in addition to wrk's own: two Host fields).
 */
export function wrkHeaderArgs(headers) {
  const out = [];
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || /[\r\n]/.test(String(value))) throw new Error(`bad header for wrk: ${name}`);
    out.push('-H', `${name.toLowerCase() === 'host' ? 'Host' : name}: ${value}`);
  }
  return out;
}

function spawnWrk({ url, connections, seconds, cpu, timeoutSeconds, headers }) {
  const argv = [
    '-c', String(cpu), 'wrk',
    '-t1', `-c${connections}`, `-d${seconds}s`, `--timeout`, `${timeoutSeconds}s`, '--latency',
    ...wrkHeaderArgs(headers),
    url,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    active.add(child);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', (e) => {
      active.delete(child);
      reject(e);
    });
    child.on('close', (code) => {
      active.delete(child);
      if (code !== 0) return reject(new Error(`wrk exited ${code}: ${err || out}`));
      try {
        resolve({ ...parseWrk(out), raw: out });
      } catch (e) {
        reject(new Error(`${e.message}\n--- wrk output ---\n${out}`));
      }
    });
  });
}

const TIME_UNITS_US = { us: 1, ms: 1e3, s: 1e6, m: 60e6, h: 3600e6 };

/** "812.00us" | "1.23ms" | "2.00s" | "1.00m" -> microseconds. */
export function parseDurationUs(text) {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text.trim());
  if (!m) throw new Error(`unparseable wrk duration "${text}"`);
  // Rounded: 8.04ms * 1e3 is 8039.999999999999 in floating point, which only clutters the JSON.
  return Math.round(Number(m[1]) * TIME_UNITS_US[m[2]] * 100) / 100;
}

/** wrk prints big counts as "12.34k" in some fields; Requests/sec is always a plain number. */
function parseCount(text) {
  const m = /^([\d.]+)([kMG]?)$/.exec(text.trim());
  if (!m) throw new Error(`unparseable wrk count "${text}"`);
  return Number(m[1]) * ({ '': 1, k: 1e3, M: 1e6, G: 1e9 })[m[2]];
}

/**
 * Extract what the report needs from wrk's stdout. Latencies are in microseconds.
 * Errors are kept because a proxy answering 502 quickly would otherwise look fast.
 */
export function parseWrk(out) {
  const num = (re) => {
    const m = re.exec(out);
    return m ? m[1] : null;
  };
  const rps = num(/^Requests\/sec:\s+([\d.]+)/m);
  const p50 = num(/^\s+50%\s+(\S+)/m);
  const p99 = num(/^\s+99%\s+(\S+)/m);
  if (rps === null || p50 === null || p99 === null) throw new Error('wrk output lacks Requests/sec or latency distribution');

  const requests = num(/^\s+(\d+) requests in/m);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = num(/Non-2xx or 3xx responses:\s+(\d+)/);
  return {
    rps: Number(rps),
    p50: parseDurationUs(p50),
    p75: parseDurationUs(num(/^\s+75%\s+(\S+)/m) ?? p50),
    p90: parseDurationUs(num(/^\s+90%\s+(\S+)/m) ?? p99),
    p99: parseDurationUs(p99),
    maxLatency: (() => {
      const m = /Latency\s+\S+\s+\S+\s+(\S+)/.exec(out);
      return m ? parseDurationUs(m[1]) : null;
    })(),
    requests: requests === null ? null : parseCount(requests),
    errors: {
      connect: sock ? Number(sock[1]) : 0,
      read: sock ? Number(sock[2]) : 0,
      write: sock ? Number(sock[3]) : 0,
      timeout: sock ? Number(sock[4]) : 0,
      non2xx: non2xx === null ? 0 : Number(non2xx),
    },
  };
}

/** Total of all error kinds, for "is this run trustworthy?" checks. */
export const errorCount = (r) => Object.values(r.errors).reduce((a, b) => a + b, 0);
