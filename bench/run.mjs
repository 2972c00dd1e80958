#!/usr/bin/env node
// Gatehouse data-path benchmark: Gatehouse side by side with a direct run, Node's practical
// ceiling (bench/reference-proxy.mjs) and nginx as a reverse proxy, plus Gatehouse with an
// authenticator on the route (jwt with a hot token, sigv4) reported against plain Gatehouse
// (bench/lib/auth-targets.mjs). Method and reasons are in
// BENCHMARKS.md and /work/shared/PERFORMANCE.md; in short: proxy pinned to one core, wrk and the
// upstream on the other, every target primed, rounds interleaved in rotating order, medians of
// same-round ratios reported.
//
//   npm run bench                       full run (build first)
//   node bench/run.mjs                  same, without rebuilding
//   node bench/run.mjs --profile        full run, then a CPU profile of Gatehouse under load
//   node bench/run.mjs --profile-only   just the profile
//   node bench/run.mjs --paired         paired runs only (a full run ends with them too): proxies loaded at once on the proxy core
//                                       (reference:gatehouse, plus the gatehouse-compare targets of
//                                       BENCH_COMPARE_ROOT); CPU per request compared under the same
//                                       host conditions (bench/lib/paired.mjs says why)
//   BENCH_QUICK=1 node bench/run.mjs    smoke test (2 s prime, 3 s runs, 1 round)
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { cleanupAll, cleanupSync, freePort, hasCommand, httpGet, makeTempDir, ourProcessGroups } from './lib/processes.mjs';
import { BODY_BYTES, startUpstream } from './lib/nginx.mjs';
import { directTarget, gatehouseTarget, nginxProxyTarget, referenceTarget } from './lib/targets.mjs';
import { gatehouseJwtTarget, gatehouseSigv4Target } from './lib/auth-targets.mjs';
import { gatehouseRateLimitMemoryTarget, gatehouseRateLimitRedisTarget } from './lib/ratelimit-targets.mjs';
import { gatehouseAuthzTarget } from './lib/authz-target.mjs';
import { gatehouseLb3Target } from './lib/resilience-targets.mjs';
import { gatehouseHttpsTarget } from './lib/tls-targets.mjs';
import { gatehouseObservedTarget, gatehouseQuietTarget } from './lib/observability-targets.mjs';
import { runWrk, killActiveWrk } from './lib/wrk.mjs';
import { awaitQuiet, describeForeign, foreignCpu, processSnapshot } from './lib/cpu.mjs';
import { authConsoleTable, authMarkdownTable, consoleTable, fmtUs, markdownTable, summarize, TARGET_RPS_RATIO, verdict } from './lib/report.mjs';
import { formatProfile, summarizeCpuProfile } from './lib/profile.mjs';
import { groupRound, reportPaired } from './lib/paired.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const resultsDir = path.join(repoRoot, 'bench', 'results');

const INSTALL_HINT =
  'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wrk nginx';

// ---------- settings ----------

const { values: flags } = parseArgs({
  options: {
    profile: { type: 'boolean', default: false },
    'profile-only': { type: 'boolean', default: false },
    paired: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (flags.help) {
  // The header comment of this file is the usage text.
  const lines = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1);
  console.log(lines.slice(0, lines.findIndex((l) => !l.startsWith('//'))).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'));
  console.log(`Environment:
  BENCH_QUICK=1            2 s prime, 3 s runs, 1 round (smoke test); explicit knobs below still win
  BENCH_PRIME_SECONDS=10   load applied to each target before measuring (JIT warm-up)
  BENCH_DURATION_SECONDS=10  length of each measured wrk run
  BENCH_ROUNDS=3           interleaved rounds; medians are over rounds
  BENCH_CONNECTIONS=64     the high-concurrency level (1 connection is always measured too)
  BENCH_QUIET_WAIT_SECONDS=30  before each run, wait up to this long for other processes to go quiet
  BENCH_FOREIGN_MAX=0.05   other processes' CPU (fraction of one core) above which a run counts as disturbed
  BENCH_STEAL_MAX=0.03     hypervisor steal on the proxy core (fraction) above which a run counts as disturbed
  BENCH_RETRIES=2          re-runs of a disturbed measurement before it is kept (flagged)
  BENCH_TARGETS=a,b,...    subset of targets by name (direct,reference,gatehouse,gatehouse-jwt,gatehouse-authz,gatehouse-sigv4,nginx-proxy;
                           gatehouse-ratelimit-memory,gatehouse-ratelimit-redis;gatehouse-quiet,gatehouse-observed;gatehouse-lb3;
                           also gatehouse-sigv4-presigned, which is not in the default list)
  BENCH_AUTH_AT1=1         also measure the auth targets at 1 connection (default: only the high level)
  BENCH_COMPARE_ROOT=DIR[,DIR2]  add gatehouse-compare (gatehouse-compare2...): other built checkouts, reported against this build's gatehouse
  BENCH_PROXY_CPU=0 BENCH_LOAD_CPU=1   cores for the proxy and for wrk + upstream
  BENCH_PROFILE_TARGET=gatehouse  what --profile profiles (gatehouse, reference, gatehouse-jwt, gatehouse-sigv4)
  BENCH_COMPARE_NODE_ARGS='--flag ...'  node flags for the gatehouse-compare targets only
  BENCH_PAIRS=gatehouse-https-undici:gatehouse-https  the builtin upstream client against undici on an https upstream (--paired)
  BENCH_EXTRA_PROXY=script.mjs  adds extra-proxy: a script taking the reference's --port/--upstream (e.g. a prototype)
  BENCH_NODE_ARGS='--flag ...'  node flags for every Node target (e.g. --trace-gc, which NODE_OPTIONS refuses)
  BENCH_KEEP_DIR=1         keep the temp dir (configs, target output, access logs)
  BENCH_PAIRED=0           skip the paired phase that ends a full run
  BENCH_PAIRS=base:target[:target...],...  --paired: the groups to load together (default
                           reference:gatehouse[:gatehouse-compare...]); any target names`);
  process.exit(0);
}

const quick = process.env.BENCH_QUICK === '1';
const envInt = (name, dflt) => {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${v}"`);
  return n;
};
const settings = {
  quick,
  primeSeconds: envInt('BENCH_PRIME_SECONDS', quick ? 2 : 10),
  durationSeconds: envInt('BENCH_DURATION_SECONDS', quick ? 3 : 10),
  rounds: envInt('BENCH_ROUNDS', quick ? 1 : 3),
  connections: envInt('BENCH_CONNECTIONS', 64),
  quietWaitSeconds: envInt('BENCH_QUIET_WAIT_SECONDS', 30),
  retries: envInt('BENCH_RETRIES', 2),
  // Other processes may use at most this fraction of one core during a run before it is redone.
  foreignMax: Number(process.env.BENCH_FOREIGN_MAX ?? 0.05),
  // Steal time on the proxy core (another guest on the host) above which a run is redone.
  stealMax: Number(process.env.BENCH_STEAL_MAX ?? 0.03),
  cpus: { proxy: envInt('BENCH_PROXY_CPU', 0), load: envInt('BENCH_LOAD_CPU', 1) },
  targets: process.env.BENCH_TARGETS ? process.env.BENCH_TARGETS.split(',').map((s) => s.trim()) : null,
};

/**
 * The targets, in the order of the first round (later rounds rotate it). Later issues add
 * entries here, e.g. gatehouseTarget({ name: 'gatehouse-ratelimit', label: ..., route: { filters: {...} } }).
 * Targets with `default: false` run only when BENCH_TARGETS names them.
 */
function allTargets() {
  return [
    directTarget(),
    referenceTarget(),
    gatehouseTarget(),
    gatehouseJwtTarget(),
    gatehouseAuthzTarget(),
    gatehouseSigv4Target(),
    Object.assign(gatehouseSigv4Target({ form: 'presigned' }), { default: false }),
    gatehouseRateLimitMemoryTarget(),
    gatehouseRateLimitRedisTarget(),
    gatehouseQuietTarget(),
    gatehouseObservedTarget(),
    gatehouseLb3Target(),
    gatehouseHttpsTarget(),
    gatehouseHttpsTarget({ client: 'undici' }),
    nginxProxyTarget(),
    ...compareRoots.map((root, i) => compareTarget(root, i)),
    // BENCH_EXTRA_PROXY=script.mjs: another proxy taking the reference's arguments (--port,
    // --upstream), e.g. a prototype of a different upstream client, measured like the reference.
    ...(process.env.BENCH_EXTRA_PROXY
      ? [Object.assign(referenceTarget({ name: 'extra-proxy', label: `(b') ${process.env.BENCH_EXTRA_PROXY}`, script: path.resolve(process.env.BENCH_EXTRA_PROXY) }), { default: false })]
      : []),
  ];
}

/**
 * BENCH_COMPARE_ROOT=/path/to/another/checkout (built): the same catch-all route from that build,
 * reported against this build's `gatehouse` in the same rounds. On a noisy machine, two builds
 * measured side by side are the only fair way to tell whether a change made the data path slower.
 */
const compareRoots = (process.env.BENCH_COMPARE_ROOT ?? '').split(',').filter(Boolean).map((r) => path.resolve(r));
/** Several roots (comma-separated) give gatehouse-compare, gatehouse-compare2, ... */
const compareName = (i) => `gatehouse-compare${i === 0 ? '' : i + 1}`;
/** BENCH_COMPARE_NODE_ARGS: node flags for the compare targets only (e.g. the same build with a GC flag). */
const compareNodeArgs = (process.env.BENCH_COMPARE_NODE_ARGS ?? '').split(' ').filter(Boolean);
function compareTarget(root, i) {
  return Object.assign(gatehouseTarget({ name: compareName(i), label: `(c') Gatehouse built at ${root}, access log on`, root, nodeArgs: compareNodeArgs }), { baseline: 'gatehouse' });
}

/** Targets --profile can profile (BENCH_PROFILE_TARGET). */
const PROFILE_FACTORIES = {
  gatehouse: gatehouseTarget,
  reference: referenceTarget,
  'gatehouse-jwt': gatehouseJwtTarget,
  'gatehouse-sigv4': gatehouseSigv4Target,
  'gatehouse-authz': gatehouseAuthzTarget,
  'gatehouse-observed': gatehouseObservedTarget,
  'gatehouse-quiet': gatehouseQuietTarget,
};

/** What to send to a target: fresh credentials for authenticated targets, a plain GET otherwise. */
async function requestFor(target, seconds) {
  return target.request ? target.request({ seconds }) : { url: target.url, headers: {} };
}

/** The connection levels a target is measured at. */
const levelsFor = (t) => (t.measureAt1 === false ? [settings.connections] : [settings.connections, 1]);

// ---------- cleanup on every exit path ----------

let cleaningUp = false;
async function shutdown(code, message) {
  if (cleaningUp) return;
  cleaningUp = true;
  if (message) console.error(message);
  killActiveWrk();
  await cleanupAll();
  process.exit(code);
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    // A second Ctrl-C while cleanup is stuck: stop waiting.
    if (cleaningUp) {
      cleanupSync();
      process.exit(130);
    }
    shutdown(130, `\n${sig}: stopping children and removing temp dirs...`);
  });
}
process.on('exit', () => {
  killActiveWrk();
  cleanupSync();
});

// ---------- helpers ----------

function preflight() {
  const missing = ['wrk', 'nginx', 'taskset'].filter((c) => !hasCommand(c));
  if (missing.length) {
    console.error(`Missing: ${missing.join(', ')}. Install with:\n\n  ${INSTALL_HINT}\n\n(taskset is in util-linux.)`);
    process.exit(1);
  }
  // os.cpus(), not availableParallelism(): the latter honours the affinity mask we may be under.
  const ncpu = os.cpus().length;
  const need = Math.max(settings.cpus.proxy, settings.cpus.load) + 1;
  if (ncpu < need || settings.cpus.proxy === settings.cpus.load) {
    console.error(`Need two distinct cores (proxy ${settings.cpus.proxy}, load ${settings.cpus.load}); this machine has ${ncpu}.`);
    process.exit(1);
  }
}

function machineInfo() {
  const firstLine = (cmd, args) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    return `${r.stdout}${r.stderr}`.split('\n')[0].trim();
  };
  let debian = null;
  try {
    debian = readFileSync('/etc/debian_version', 'utf8').trim();
  } catch {}
  let undici = null;
  try {
    undici = JSON.parse(readFileSync(path.join(repoRoot, 'node_modules/undici/package.json'), 'utf8')).version;
  } catch {}
  return {
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    cpus: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    debian,
    node: process.version,
    undici,
    nginx: firstLine('nginx', ['-v']).replace(/^nginx version:\s*(nginx\/)?/, ''),
    wrk: firstLine('wrk', ['-v']).split(' ')[1] ?? 'unknown',
  };
}

const log = (s) => console.log(s);
const short = (r) =>
  `${Math.round(r.rps).toLocaleString('en-US').padStart(7)} req/s  p50 ${fmtUs(r.p50).padStart(9)}  p99 ${fmtUs(r.p99).padStart(9)}` +
  (r.proxyCpuUtil === undefined ? '' : `  proxy core ${(r.proxyCpuUtil * 100).toFixed(0).padStart(3)}%`) +
  (r.proxySteal >= 0.01 ? `  steal ${(r.proxySteal * 100).toFixed(0)}%` : '') +
  (Object.values(r.errors).some((n) => n > 0) ? `  ERRORS ${JSON.stringify(r.errors)}` : '') +
  (r.disturbed ? '  [disturbed]' : '');

/**
 * One wrk run against a target. Other work on the machine (a build, a test run) would be measured
 * as the proxy being slow, so: wait for other processes to go quiet, run, then check how much CPU
 * they took during the run; redo a disturbed run up to `retries` times, then keep it flagged.
 */
const ownPgrp = processSnapshot().get(process.pid)?.pgrp;
function makeIsOurs() {
  const groups = ourProcessGroups();
  // Our own group holds the harness, wrk and the npm wrapper; each target has its own group.
  return (pid, info) => pid === process.pid || info.pgrp === ownPgrp || groups.has(info.pgrp);
}
let disturbedRuns = 0;
async function measure(target, connections, seconds, { retries = settings.retries } = {}) {
  for (let attempt = 0; ; attempt++) {
    const bg = await awaitQuiet(makeIsOurs(), {
      threshold: settings.foreignMax,
      maxWaitMs: settings.quietWaitSeconds * 1000,
      onWait: (f) => log(`  (waiting for other processes to go quiet: ${describeForeign(f)})`),
    });
    // After the wait, right before the run: signatures with a short validity (SigV4) stay fresh.
    const { url, headers } = await requestFor(target, seconds);
    const before = processSnapshot();
    const t0 = performance.now();
    const r = await runWrk({ url, headers, connections, seconds, cpu: settings.cpus.load, watchCpu: settings.cpus.proxy });
    const f = foreignCpu(before, processSnapshot(), makeIsOurs(), performance.now() - t0);
    r.foreignCpu = f.coreFraction;
    r.quietBefore = bg.quiet;
    const stolen = (r.proxySteal ?? 0) > settings.stealMax;
    r.disturbed = f.coreFraction > settings.foreignMax || stolen;
    if (r.disturbed) r.foreignTop = f.top;
    if (!r.disturbed) return r;
    const why = stolen ? `the hypervisor: ${((r.proxySteal ?? 0) * 100).toFixed(0)}% of the proxy core stolen` : `other processes (${describeForeign(f)})`;
    if (attempt >= retries) {
      disturbedRuns++;
      log(`  WARNING: disturbed by ${why}; keeping it, flagged`);
      return r;
    }
    log(`  disturbed by ${why}; redoing: ${short(r)}`);
  }
}

/**
 * Start a target and check it proxies the upstream body, sending what wrk will send (credentials
 * included); for an authenticated target, also check that a request without them is refused.
 * Returns null or a failure record.
 */
async function bringUp(target, env) {
  try {
    await target.start(env);
  } catch (err) {
    return { status: 'failed to start', error: err.message, detail: err.detail ?? '' };
  }
  const fail = async (error) => {
    const detail = target.proc?.tail?.(15) ?? '';
    await target.stop();
    return { status: 'failed sanity check', error, detail };
  };
  try {
    // A target that answers but does not proxy (404, 502...) would benchmark its error path.
    const { url, headers } = await requestFor(target, settings.durationSeconds);
    const res = await httpGet(url, 3000, headers);
    if (res.status !== 200 || res.bytes !== BODY_BYTES) return fail(`GET ${url} -> ${res.status}, ${res.bytes} bytes (want 200, ${BODY_BYTES})`);
    // An authenticated route that lets anonymous requests through would measure an open route.
    if (target.requiresCredential) {
      const anon = await httpGet(target.url, 3000);
      if (anon.status !== 401 && anon.status !== 403) return fail(`GET ${target.url} without credentials -> ${anon.status} (want 401 or 403)`);
    }
  } catch (err) {
    return fail(`GET ${target.url}: ${err.message}`);
  }
  return null;
}

function timestamp() {
  return new Date().toISOString().replace(/[:]/g, '-').replace(/\.\d+Z$/, 'Z');
}

// ---------- phases ----------

async function comparison(env, machine, stamp) {
  const known = allTargets();
  const unknown = (settings.targets ?? []).filter((n) => !known.some((t) => t.name === n));
  if (unknown.length) throw new Error(`BENCH_TARGETS: unknown target(s) ${unknown.join(', ')}; known: ${known.map((t) => t.name).join(', ')}`);
  const targets = known.filter((t) => (settings.targets ? settings.targets.includes(t.name) : t.default !== false));
  const results = {};
  for (const t of targets) {
    results[t.name] = { label: t.label, status: 'ok', prime: null, runs: { [`c${settings.connections}`]: [], c1: [] } };
    if (t.baseline) results[t.name].baseline = t.baseline;
    if (t.measureAt1 === false) results[t.name].measuredAt1 = false;
  }

  log('\nStarting targets (proxies on CPU ' + settings.cpus.proxy + ')...');
  const live = [];
  for (const t of targets) {
    const failure = await bringUp(t, env);
    if (failure) {
      Object.assign(results[t.name], failure);
      log(`  ${t.name}: ${failure.status}: ${failure.error}`);
      if (failure.detail) log(failure.detail.replace(/^/gm, '    | '));
    } else {
      log(`  ${t.name}: ${t.url}`);
      live.push(t);
    }
  }

  const eta = live.reduce((s, t) => s + settings.primeSeconds + settings.rounds * levelsFor(t).length * settings.durationSeconds, 0);
  const hiOnly = live.filter((t) => levelsFor(t).length === 1).map((t) => t.name);
  log(
    `\nPriming ${settings.primeSeconds} s each, then ${settings.rounds} round(s) of ${settings.durationSeconds} s @${settings.connections} and @1 per target` +
      (hiOnly.length ? ` (only @${settings.connections}: ${hiOnly.join(', ')})` : '') +
      ` (~${Math.ceil(eta / 60)} min, plus any waits for a quiet machine).`,
  );

  // Priming doubles as the cold-start measurement PERFORMANCE.md asks to report separately.
  for (const t of live) {
    if (settings.primeSeconds === 0) break;
    // Priming is warm-up first; a disturbed prime is not worth a retry.
    try {
      const r = await measure(t, settings.connections, settings.primeSeconds, { retries: 0 });
      results[t.name].prime = strip(r);
      log(`  prime ${t.name.padEnd(15)} ${short(r)}`);
    } catch (err) {
      log(`  prime ${t.name.padEnd(15)} ${err.message.split('\n')[0]}`);
    }
  }

  const dead = new Set();
  for (let round = 0; round < settings.rounds; round++) {
    // Rotate the order each round (A B C D, B C D A, ...) so no target always runs first or last.
    const order = live.map((_, i) => live[(i + round) % live.length]).filter((t) => !dead.has(t.name));
    log(`\nRound ${round + 1}/${settings.rounds}: ${order.map((t) => t.name).join(' ')}`);
    for (const t of order) {
      for (const connections of levelsFor(t)) {
        try {
          const r = await measure(t, connections, settings.durationSeconds);
          results[t.name].runs[`c${connections}`].push({ round, ...strip(r) });
          log(`  ${t.name.padEnd(15)} @${String(connections).padEnd(3)} ${short(r)}`);
        } catch (err) {
          log(`  ${t.name.padEnd(15)} @${connections}: ${err.message.split('\n')[0]}`);
        }
        if (t.proc?.exited) {
          dead.add(t.name);
          Object.assign(results[t.name], { status: 'crashed', error: `exited during the run (${t.proc.signal ?? `code ${t.proc.exitCode}`})`, detail: t.proc.tail(30) });
          log(`  ${t.name} crashed:\n${t.proc.tail(30).replace(/^/gm, '    | ')}`);
          break;
        }
      }
    }
  }

  for (const t of live) {
    await t.stop();
    if (t.info && Object.keys(t.info).length) results[t.name].info = t.info;
  }
  // A target that lost every run (e.g. wrk failed each time) cannot be summarised as "ok".
  for (const r of Object.values(results)) {
    if (r.status === 'ok' && r.runs[`c${settings.connections}`].length === 0) Object.assign(r, { status: 'no successful runs' });
  }

  const rows = summarize(results, { connections: settings.connections });
  const checks = verdict(rows);

  log(
    '\n' +
      `Medians over ${settings.rounds} round(s), leaving out runs disturbed by other processes when a clean one exists; ` +
      'ratios are medians of same-round ratios. Added p50 = target p50 - direct p50 at 1 connection.',
  );
  log(consoleTable(rows, { connections: settings.connections }) + '\n');
  const authTable = authConsoleTable(rows, { connections: settings.connections });
  if (authTable) log(`Authenticated routes against the no-auth gatehouse route (medians of same-round ratios):\n${authTable}\n`);
  for (const row of rows) {
    if (row.status !== 'ok') log(`${row.name}: ${row.status}: ${row.error}`);
    else if (row.errors) log(`${row.name}: WARNING ${row.errors} socket errors / non-2xx responses across its runs`);
    if (row.status !== 'ok') continue;
    const hi = `c${settings.connections}`;
    const counts =
      `clean runs @${settings.connections} ${row.cleanRuns[hi]}/${row.totalRuns[hi]}, ` +
      (row.measuredAt1 === false ? '@1 not measured' : `@1 ${row.cleanRuns.c1}/${row.totalRuns.c1}`);
    const spread = row.rpsSpread === null ? '' : `; req/s @${settings.connections} spread (max-min)/median ${(row.rpsSpread * 100).toFixed(0)}%`;
    log(`${row.name}: ${counts}${spread}${row.disturbedUsed ? '; WARNING: figures include disturbed runs' : ''}`);
  }
  for (const t of live) {
    if (results[t.name].info?.accessLogLines !== undefined) {
      const i = results[t.name].info;
      log(`${t.name}: access log ${i.accessLogLines.toLocaleString('en-US')} lines, ${(i.accessLogBytes / 2 ** 20).toFixed(1)} MiB`);
    }
    if (results[t.name].info?.otlpExports !== undefined) {
      const i = results[t.name].info;
      log(`${t.name}: OTLP sink received ${i.otlpExports} export request(s), ${(i.otlpBytes / 2 ** 10).toFixed(0)} KiB`);
    }
  }
  // Direct runs leave the proxy core idle, so load on it during a run that process accounting
  // called clean is interference that accounting missed (short-lived processes, kernel work).
  const directRuns = results.direct?.status === 'ok' ? Object.values(results.direct.runs).flat().filter((r) => !r.disturbed) : [];
  const interference = directRuns.length ? Math.max(...directRuns.map((r) => r.proxyCpuUtil ?? 0)) : null;
  if (interference !== null && interference > 0.1) {
    log(`WARNING: the proxy core was up to ${Math.round(interference * 100)}% busy during a clean direct run: unaccounted work on the machine; treat figures as suspect.`);
  }
  if (disturbedRuns) log(`WARNING: ${disturbedRuns} run(s) kept although other processes took CPU during them (flagged "disturbed" in the JSON).`);
  for (const c of checks) log(`${c.info ? 'INFO' : c.pass === null ? 'N/A ' : c.pass ? 'PASS' : 'FAIL'}  ${c.name}: ${c.detail}`);

  const md = [
    `Machine: ${machine.cpuModel}, ${machine.cpus} vCPU, ${machine.memoryGiB} GiB; Debian ${machine.debian ?? '?'}, kernel ${machine.kernel}; ` +
      `Node ${machine.node}, undici ${machine.undici}, nginx ${machine.nginx}, wrk ${machine.wrk}. ` +
      `${settings.rounds} round(s) × ${settings.durationSeconds} s, primed ${settings.primeSeconds} s, ${stamp}` +
      (disturbedRuns ? `; ${disturbedRuns} run(s) disturbed by other processes.` : '.'),
    '',
    markdownTable(rows, { connections: settings.connections }),
    ...(authMarkdownTable(rows, { connections: settings.connections }) ? ['', authMarkdownTable(rows, { connections: settings.connections })] : []),
    ...(checks.length ? ['', ...checks.map((c) => `- ${c.info ? 'INFO' : c.pass === null ? 'N/A' : c.pass ? 'PASS' : 'FAIL'}: ${c.name}: ${c.detail}`)] : []),
  ].join('\n');
  log('\nMarkdown for BENCHMARKS.md:\n\n' + md + '\n');

  return { results, rows, checks, markdown: md, disturbedRuns, proxyCoreBusyDuringDirect: interference };
}

/**
 * CPU profile of Gatehouse (or, with BENCH_PROFILE_TARGET=reference, of the reference proxy, to
 * see what the floor looks like) under the high-concurrency load. --cpu-prof covers the whole
 * process life, so the profile includes start-up and priming; with the default 10 s prime and
 * 10 s run the steady state dominates.
 */
async function profilePhase(env, stamp) {
  const profDir = path.join(env.dir, 'cpu-prof');
  mkdirSync(profDir, { recursive: true });
  const which = process.env.BENCH_PROFILE_TARGET || 'gatehouse';
  const opts = {
    name: `${which}-profile`,
    label: `${which} under --cpu-prof`,
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`, '--import', pathToFileURL(path.join(repoRoot, 'bench/lib/cpu-prof-exit.mjs')).href],
    stopTimeoutMs: 15000,
  };
  const factory = PROFILE_FACTORIES[which];
  if (!factory) throw new Error(`BENCH_PROFILE_TARGET must be one of ${Object.keys(PROFILE_FACTORIES).join(', ')}, got "${which}"`);
  const t = factory(opts);
  log(`\nProfile: starting ${which} with --cpu-prof...`);
  const failure = await bringUp(t, env);
  if (failure) {
    log(`  ${failure.status}: ${failure.error}`);
    if (failure.detail) log(failure.detail.replace(/^/gm, '    | '));
    return { status: failure.status, error: failure.error };
  }
  if (settings.primeSeconds) {
    const p = await measure(t, settings.connections, settings.primeSeconds, { retries: 0 });
    log(`  prime        ${short(p)}`);
  }
  const r = await measure(t, settings.connections, settings.durationSeconds);
  log(`  profiled run ${short(r)}  (slower than unprofiled: sampling costs CPU)`);
  await t.stop();
  const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) {
    log(`  no .cpuprofile written: ${which} did not exit normally on SIGTERM.`);
    return { status: 'no profile written', run: strip(r) };
  }
  mkdirSync(resultsDir, { recursive: true });
  const kept = path.join(resultsDir, `${stamp}-${which}.cpuprofile`);
  copyFileSync(path.join(profDir, files[0]), kept);
  const summary = summarizeCpuProfile(kept, { top: 15, repoRoot });
  log('\n' + formatProfile(summary) + '\n\n(open the .cpuprofile in Chrome DevTools > Performance for call trees)');
  return { status: 'ok', target: which, run: strip(r), summary };
}

/**
 * --paired: each group's proxies under load at the same time on the proxy core, so host
 * contention hits all of them alike (bench/lib/paired.mjs). A group is `base:target[:target...]`;
 * reports, per target, the median over rounds of base CPU µs/request ÷ target CPU µs/request:
 * the req/s ratio the two reach with a core each.
 */
async function pairedPhase(env, machine, stamp) {
  const known = allTargets();
  const spec = process.env.BENCH_PAIRS ?? ['reference', 'gatehouse', ...compareRoots.map((_, i) => compareName(i))].join(':');
  const groups = spec.split(',').map((p) => p.trim().split(':'));
  const byName = new Map(known.map((t) => [t.name, t]));
  for (const g of groups) {
    if (g.length < 2 || !g.every((n) => byName.has(n)) || new Set(g).size !== g.length) {
      throw new Error(`BENCH_PAIRS: "${g.join(':')}" is not base:target[:target...] with known, different targets (${[...byName.keys()].join(', ')})`);
    }
  }
  const needed = [...new Set(groups.flat())].map((n) => byName.get(n));
  log('\nPaired runs: starting ' + needed.map((t) => t.name).join(', ') + ` (proxies on CPU ${settings.cpus.proxy})...`);
  for (const t of needed) {
    const failure = await bringUp(t, env);
    if (failure) throw Object.assign(new Error(`${t.name}: ${failure.status}: ${failure.error}`), { detail: failure.detail });
  }
  for (const t of needed) {
    if (settings.primeSeconds === 0) break;
    const r = await measure(t, settings.connections, settings.primeSeconds, { retries: 0 });
    log(`  prime ${t.name.padEnd(17)} ${short(r)}`);
  }
  const results = groups.map((g) => ({ base: g[0], targets: g.slice(1), rounds: [] }));
  for (let round = 0; round < settings.rounds; round++) {
    for (const gr of results) {
      await awaitQuiet(makeIsOurs(), { threshold: settings.foreignMax, maxWaitMs: settings.quietWaitSeconds * 1000, onWait: (f) => log(`  (waiting for other processes to go quiet: ${describeForeign(f)})`) });
      const before = processSnapshot();
      const t0 = performance.now();
      const names = [gr.base, ...gr.targets];
      const runs = await groupRound({ targets: names.map((n) => byName.get(n)), connections: settings.connections, seconds: settings.durationSeconds, loadCpu: settings.cpus.load, requestFor });
      const f = foreignCpu(before, processSnapshot(), makeIsOurs(), performance.now() - t0);
      const dead = names.map((n) => byName.get(n)).find((t) => t.proc?.exited);
      if (dead) throw Object.assign(new Error(`${dead.name} exited during paired round ${round + 1}`), { detail: dead.proc.tail(30) });
      // A proxy that stopped answering (wrk counts no requests and no errors) must not count.
      const errors = runs.flatMap((r) => Object.values(r.errors)).reduce((x, y) => x + y, 0) + runs.filter((r) => !r.requests).length;
      const base = runs[0];
      const rec = {
        round,
        runs: Object.fromEntries(names.map((n, i) => [n, runs[i]])),
        cpuRatio: Object.fromEntries(gr.targets.map((n, i) => [n, base.cpuUsPerReq && runs[i + 1].cpuUsPerReq ? base.cpuUsPerReq / runs[i + 1].cpuUsPerReq : null])),
        rpsRatio: Object.fromEntries(gr.targets.map((n, i) => [n, runs[i + 1].rps / base.rps])),
        foreignCpu: f.coreFraction,
        disturbed: f.coreFraction > settings.foreignMax || errors > 0,
      };
      gr.rounds.push(rec);
      log(
        `  round ${String(round + 1).padStart(2)} ` +
          names.map((n, i) => `${n} ${runs[i].cpuUsPerReq?.toFixed(1)} µs/req (${Math.round(runs[i].rps)}/s, ${(runs[i].cpuShare * 100).toFixed(0)}%)`).join(', ') +
          ' -> ' + gr.targets.map((n) => rec.cpuRatio[n]?.toFixed(3)).join(' ') +
          (errors ? `  ERRORS ${errors}` : '') + (rec.disturbed ? '  [disturbed]' : ''),
      );
    }
  }
  for (const t of needed) await t.stop();
  const { summaries, checks, markdown: md } = reportPaired(results, {
    heading:
      `Paired runs: ${machine.cpuModel}, Node ${machine.node}, undici ${machine.undici}; ${settings.rounds} round(s) × ${settings.durationSeconds} s, ` +
      `${settings.connections} connections to each proxy, primed ${settings.primeSeconds} s, ${stamp}.`,
    targetRatio: TARGET_RPS_RATIO,
  });
  log('\n' + md + '\n');
  return { paired: results, pairedSummary: summaries, checks, markdown: md };
}

/** Keep the JSON small: wrk's raw text is only needed when something looks wrong. */
function strip(r) {
  const { raw, ...rest } = r;
  return rest;
}

// ---------- main ----------

async function main() {
  preflight();
  // Keep the harness itself off the proxy's core; it mostly sleeps, but not entirely.
  spawnSync('taskset', ['-p', '-c', String(settings.cpus.load), String(process.pid)], { stdio: 'ignore' });

  const machine = machineInfo();
  const stamp = timestamp();
  log(`Gatehouse bench ${stamp}${settings.quick ? ' (QUICK: smoke test only, figures not meaningful)' : ''}`);
  log(`${machine.cpuModel} × ${machine.cpus}, ${machine.memoryGiB} GiB, Node ${machine.node}, undici ${machine.undici}, nginx ${machine.nginx}, wrk ${machine.wrk}`);

  const dir = makeTempDir();
  const upstreamPort = await freePort();
  const upstream = await startUpstream({ dir, port: upstreamPort, cpu: settings.cpus.load, watchCpu: settings.cpus.proxy });
  log(`Upstream nginx on CPU ${settings.cpus.load}: ${upstream.url} (${BODY_BYTES}-byte body)`);
  const env = { dir, upstreamUrl: upstream.url, upstreamPort, cpus: settings.cpus, repoRoot };

  const out = { timestamp: stamp, machine, settings, flags };
  if (flags.paired) Object.assign(out, await pairedPhase(env, machine, stamp));
  else if (!flags['profile-only']) {
    Object.assign(out, await comparison(env, machine, stamp));
    // The full run ends with the paired measurement of the issue's ratio too: the sequential ratio
    // above drifts with the host, the paired one repeats (BENCHMARKS.md, Method). BENCH_PAIRED=0 skips it.
    const wanted = (n) => (settings.targets ? settings.targets.includes(n) : true);
    if (process.env.BENCH_PAIRED !== '0' && wanted('reference') && wanted('gatehouse')) {
      const p = await pairedPhase(env, machine, stamp);
      out.pairedRun = p;
      out.markdown = `${out.markdown}\n\n${p.markdown}`;
    }
  }
  if (flags.profile || flags['profile-only']) out.profile = await profilePhase(env, stamp);

  mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `${stamp}.json`);
  writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  log(`Results written to ${path.relative(process.cwd(), file)}`);
}

main().then(
  () => shutdown(0),
  (err) => shutdown(1, `bench failed: ${err.stack ?? err}${err.detail ? `\n${err.detail}` : ''}`),
);
