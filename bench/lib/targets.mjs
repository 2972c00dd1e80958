// Benchmark targets. A target is a plain object:
//
//   { name, label, url, start(env), stop(), info? }
//
// start(env) brings it up and sets `url` (throwing an Error with an optional `detail` string if
// it cannot); stop() tears it down and may fill `info` with facts for the report (e.g. access
// log size). `env` is { dir, upstreamUrl, upstreamPort, cpus: { proxy, load }, repoRoot }.
// Optional members (used by the authenticated targets in auth-targets.mjs):
//   request({ seconds }) -> Promise<{ url, headers }>: what wrk (and the start-up check) should
//     send; called right before every run, so credentials with a short validity are fresh.
//     Without it, a plain GET of `url`.
//   baseline: name of the target this one is reported against (req/s ratio, same round).
//   measureAt1: false to measure only the high-concurrency level (saves time).
//   requiresCredential: true to also check, at start-up, that a request without the
//     credentials is refused (401/403), so a misconfigured filter cannot benchmark an open route.
// To benchmark a new configuration, add a target to the list in run.mjs, typically
// gatehouseTarget({ name, label, route: {...filters...} }).
import { createReadStream, existsSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { freePort, startPinned, waitForHttp } from './processes.mjs';
import { startNginxProxy } from './nginx.mjs';

// Node targets run as in production; some libraries (pino among them) check this.
const nodeEnv = () => ({ ...process.env, NODE_ENV: 'production' });

/** (a) wrk straight at the upstream: the floor every proxy's added latency is measured from. */
export function directTarget() {
  return {
    name: 'direct',
    label: '(a) direct: wrk → nginx upstream',
    url: null,
    async start(env) {
      this.url = env.upstreamUrl;
    },
    async stop() {},
  };
}

/** Common shape for "a node process we spawn and poll until it answers". */
async function startNodeTarget(target, env, { argv, readyTimeoutMs = 10000 }) {
  const port = await freePort();
  target.url = `http://127.0.0.1:${port}/`;
  const proc = startPinned({
    name: target.name,
    // BENCH_NODE_ARGS: extra node flags for every node target (e.g. --trace-gc, which NODE_OPTIONS refuses).
    argv: ['node', ...(process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(' ').filter(Boolean) : []), ...argv(port)],
    cpu: env.cpus.proxy,
    cwd: env.repoRoot,
    env: nodeEnv(),
    logFile: path.join(env.dir, `${target.name}.out`),
  });
  const why = await waitForHttp(target.url, { timeoutMs: readyTimeoutMs, proc });
  if (why) {
    await proc.stop();
    const err = new Error(why);
    err.detail = proc.tail(30);
    throw err;
  }
  return proc;
}

/** (b) The reference proxy: Node's practical ceiling (bench/reference-proxy.mjs). */
export function referenceTarget({ name = 'reference', label = '(b) reference: node:http + undici Pool.dispatch()', nodeArgs = [], stopTimeoutMs = 5000, script = undefined } = {}) {
  return {
    name,
    label,
    url: null,
    proc: null,
    async start(env) {
      this.proc = await startNodeTarget(this, env, {
        argv: (port) => [
          ...nodeArgs,
          script ?? path.join(env.repoRoot, 'bench/reference-proxy.mjs'),
          '--port', String(port),
          '--upstream', `http://127.0.0.1:${env.upstreamPort}`,
        ],
      });
    },
    async stop() {
      await this.proc?.stop(stopTimeoutMs);
    },
  };
}

/** (d) nginx as a reverse proxy: the native-code yardstick. */
export function nginxProxyTarget() {
  return {
    name: 'nginx-proxy',
    label: '(d) nginx reverse proxy (keepalive 64)',
    url: null,
    proc: null,
    async start(env) {
      const port = await freePort();
      const { proc, url } = await startNginxProxy({ dir: env.dir, port, upstreamPort: env.upstreamPort, cpu: env.cpus.proxy });
      this.proc = proc;
      this.url = url;
    },
    async stop() {
      await this.proc?.stop();
    },
  };
}

/**
 * A Gatehouse config with one catch-all route to the benchmark upstream.
 * `route` is merged over the bench route (add filters, headers, rewrites...); `config` is merged
 * over the top level last, so a caller can replace anything, including routes and clusters.
 */
export function gatehouseConfig({ port, adminPort, upstreamUrl, accessLogPath, route = {}, config = {} }) {
  return {
    listeners: [{ port, address: '127.0.0.1' }],
    admin: { port: adminPort },
    // On, and to a file: the target is "with the access log on", and a log written to
    // stdout would land in the harness's capture file instead of Gatehouse's own writer.
    access_log: accessLogPath ? { path: accessLogPath } : { enabled: false },
    routes: [{ name: 'bench', match: { path: { prefix: '/' } }, cluster: 'upstream', ...route }],
    clusters: [{ name: 'upstream', endpoints: [upstreamUrl] }],
    ...config,
  };
}

/**
 * (c) Gatehouse, started the way users start it: `node bin/gatehouse.js start -c <yaml>`.
 * Options: name/label for the report, route/config as for gatehouseConfig() (either may also be a
 * function `(env) => object | Promise<object>`, called once in start(), for config that needs
 * async set-up such as generated keys), accessLog (default true), nodeArgs (e.g. --cpu-prof
 * flags), stopTimeoutMs (profiling needs a graceful exit), root (another built checkout to run
 * instead of this one: BENCH_COMPARE_ROOT).
 */
export function gatehouseTarget({
  name = 'gatehouse',
  label = '(c) Gatehouse, access log on',
  route = {},
  config = {},
  accessLog = true,
  nodeArgs = [],
  stopTimeoutMs = 5000,
  root = null,
} = {}) {
  return {
    name,
    label,
    url: null,
    proc: null,
    info: {},
    accessLogPath: null,
    async start(env) {
      const routeCfg = typeof route === 'function' ? await route(env) : route;
      const topCfg = typeof config === 'function' ? await config(env) : config;
      const adminPort = await freePort();
      this.accessLogPath = accessLog ? path.join(env.dir, `${name}-access.log`) : null;
      const configFile = path.join(env.dir, `${name}.yaml`);
      this.proc = await startNodeTarget(this, env, {
        argv: (port) => {
          const cfg = gatehouseConfig({
            port,
            adminPort,
            upstreamUrl: `http://127.0.0.1:${env.upstreamPort}`,
            accessLogPath: this.accessLogPath,
            route: routeCfg,
            config: topCfg,
          });
          writeFileSync(configFile, `# generated by bench/lib/targets.mjs\n${YAML.stringify(cfg)}`);
          return [...nodeArgs, path.join(root ?? env.repoRoot, 'bin/gatehouse.js'), 'start', '-c', configFile];
        },
      });
    },
    async stop() {
      await this.proc?.stop(stopTimeoutMs);
      // Proof the access log was really being written during the run, for the report.
      if (this.accessLogPath && existsSync(this.accessLogPath)) {
        this.info = { accessLogBytes: statSync(this.accessLogPath).size, accessLogLines: await countLines(this.accessLogPath) };
      } else if (this.accessLogPath) {
        this.info = { accessLogBytes: 0, accessLogLines: 0 };
      }
    },
  };
}

/** Newline count, streamed: a full run's access log can be hundreds of MB. */
async function countLines(file) {
  let lines = 0;
  for await (const chunk of createReadStream(file)) {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
  }
  return lines;
}
