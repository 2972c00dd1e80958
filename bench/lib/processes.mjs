// Child-process and temp-dir bookkeeping for the benchmark harness.
//
// Every process the harness starts and every temp dir it creates is registered here, so one
// cleanup path can tear everything down on normal exit, on error and on Ctrl-C alike.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, existsSync } from 'node:fs';
import net from 'node:net';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

const children = new Set();
const tempDirs = new Set();

/** Process-group ids of the children we started (each is detached, so pgid = its pid). */
export function ourProcessGroups() {
  return new Set([...children].map((p) => p.child.pid).filter(Boolean));
}

export function makeTempDir(prefix = 'gatehouse-bench-') {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

/** Is `cmd` on PATH? */
export function hasCommand(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** A port that was free a moment ago. Racy in theory; fine on a quiet bench machine. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Start `argv` pinned to `cpu` with taskset. Output goes to a log file rather than a pipe so the
 * harness never has to read it (and never competes for CPU) while load is running.
 * Each child gets its own process group (detached) so stop() also reaches grandchildren such as
 * nginx workers, and so a terminal Ctrl-C reaches the harness first and cleanup happens in order.
 */
export function startPinned({ name, argv, cpu, logFile, cwd, env }) {
  const fd = openSync(logFile, 'a');
  const child = spawn('taskset', ['-c', String(cpu), ...argv], {
    cwd,
    env: env ?? process.env,
    stdio: ['ignore', fd, fd],
    detached: true,
  });
  closeSync(fd);
  const proc = {
    name,
    child,
    logFile,
    exited: false,
    exitCode: null,
    signal: null,
    exitPromise: null,
    tail: (lines = 20) => tailFile(logFile, lines),
    stop: (timeoutMs = 5000) => stopProc(proc, timeoutMs),
  };
  proc.exitPromise = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      proc.exited = true;
      proc.exitCode = code;
      proc.signal = signal;
      children.delete(proc);
      resolve();
    });
    // spawn failures (ENOENT on taskset) surface as 'error' without 'exit'.
    child.on('error', (err) => {
      proc.exited = true;
      proc.exitCode = -1;
      proc.spawnError = err;
      children.delete(proc);
      resolve();
    });
  });
  children.add(proc);
  return proc;
}

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

async function stopProc(proc, timeoutMs) {
  if (proc.exited || !proc.child.pid) return;
  // SIGTERM first: nginx does a fast shutdown of its workers, node processes may flush (and
  // --cpu-prof needs a normal exit to write its profile). SIGKILL the group if that stalls.
  killGroup(proc.child.pid, 'SIGTERM');
  const timer = new Promise((r) => setTimeout(r, timeoutMs).unref());
  await Promise.race([proc.exitPromise, timer]);
  if (!proc.exited) {
    killGroup(proc.child.pid, 'SIGKILL');
    await Promise.race([proc.exitPromise, new Promise((r) => setTimeout(r, 1000).unref())]);
  }
  // The leader may exit before its group (nginx workers); make sure nothing is left behind.
  killGroup(proc.child.pid, 'SIGKILL');
}

export function tailFile(file, lines = 20) {
  if (!existsSync(file)) return '';
  const text = readFileSync(file, 'utf8').trimEnd();
  return text.split('\n').slice(-lines).join('\n');
}

/** Stop every registered child and remove every temp dir. Safe to call more than once. */
export async function cleanupAll() {
  await Promise.all([...children].map((p) => p.stop(3000)));
  // BENCH_KEEP_DIR=1: keep the targets' configs and output (e.g. NODE_OPTIONS=--trace-gc logs).
  if (process.env.BENCH_KEEP_DIR === '1') {
    for (const dir of tempDirs) console.log(`kept ${dir} (BENCH_KEEP_DIR=1)`);
    tempDirs.clear();
  }
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

/** Last-resort synchronous cleanup for process 'exit', where no more async work can run. */
export function cleanupSync() {
  for (const p of children) if (p.child.pid) killGroup(p.child.pid, 'SIGKILL');
  children.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

/** One GET (with optional extra headers); resolves to { status, bytes, headers } or rejects on connection errors. */
export function httpGet(url, timeoutMs = 2000, headers = undefined) {
  return new Promise((resolve, reject) => {
    // agent:false so the probe's keep-alive socket does not linger into the measurement.
    const req = http.get(url, { agent: false, timeout: timeoutMs, ...(headers ? { headers } : {}) }, (res) => {
      let bytes = 0;
      res.on('data', (c) => (bytes += c.length));
      res.on('end', () => resolve({ status: res.statusCode, bytes, headers: res.headers }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/**
 * Poll `url` until it answers with any HTTP response, the process exits, or `timeoutMs` passes.
 * Returns null on success or a reason string.
 */
export async function waitForHttp(url, { timeoutMs = 10000, proc } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastErr = 'no answer';
  while (Date.now() < deadline) {
    if (proc?.exited) {
      return proc.spawnError
        ? `could not spawn: ${proc.spawnError.message}`
        : `exited with ${proc.signal ?? `code ${proc.exitCode}`} before answering`;
    }
    try {
      await httpGet(url, 1000);
      return null;
    } catch (err) {
      lastErr = err.code ?? err.message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return `no HTTP answer on ${url} within ${timeoutMs / 1000} s (${lastErr})`;
}
