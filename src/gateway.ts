// Wires the layers together: config → Snapshot → listeners, admin, access log, signals.
import { dirname, resolve } from 'node:path';
import pino from 'pino';
import type { GatehouseConfig } from './config/schema.js';
import type { Snapshot } from './config/snapshot.js';
import { compileSnapshot, retireSnapshot } from './config/compile.js';
import { loadConfigFile } from './config/index.js';
import { createListener, type Listener } from './server/listener.js';
import type { RequestServices } from './server/handle-request.js';
import { createAccessLog, type AccessLog } from './observability/access-log.js';
import { createAdminServer, sendJson, type AdminRoute, type AdminServer } from './admin/server.js';
import { explainRoute } from './admin/explain.js';
import { systemClock, type Clock, type FilterDeps } from './pipeline/filter.js';
import { createMemoryReplayCache } from './store/replay.js';
import { startDemoUpstream } from './demo/upstream.js';
import { JwksRegistry } from './filters/jwt/jwks-cache.js';

export interface GatewayOptions {
  /** Directory that relative file paths in the config are resolved against. */
  baseDir?: string;
  /** Install SIGTERM/SIGINT/SIGHUP/SIGUSR1 handlers (the CLI does; tests don't). */
  signals?: boolean;
  /** Where operational messages go (default stderr). */
  say?: (line: string) => void;
  /** Path of the config file, for reloads. */
  configPath?: string;
  /** The clock filters read (default the system clock); tests inject a fixed one. */
  clock?: Clock;
}

export interface Gateway {
  /** Bound ports of the listeners, in config order. */
  ports(): number[];
  adminPort(): number | undefined;
  snapshot(): Snapshot;
  /** Swap in a new config; in-flight requests finish on the old snapshot. */
  reload(config: GatehouseConfig): Promise<void>;
  /** Stop accepting, drain in-flight requests (up to limits.drain_timeout), release everything. */
  stop(reason?: string): Promise<void>;
}

export async function createGateway(config: GatehouseConfig, opts: GatewayOptions = {}): Promise<Gateway> {
  const baseDir = opts.baseDir ?? process.cwd();
  const say = opts.say ?? ((l: string) => process.stderr.write(`gatehouse: ${l}\n`));
  const log = pino({ level: 'warn', base: null }, pino.destination({ dest: 2, sync: false }));
  const clock = opts.clock ?? systemClock;
  const deps: FilterDeps = { clock, log, baseDir, jwks: new JwksRegistry(clock, log), replay: createMemoryReplayCache({ clock }) };
  let snap = compileSnapshot(config, { baseDir, deps });
  const accessLog: AccessLog = createAccessLog({ enabled: config.access_log?.enabled ?? true, path: config.access_log?.path ? resolve(baseDir, config.access_log.path) : undefined });
  let draining = false;
  const svc: RequestServices = {
    snapshot: () => snap,
    accessLog,
    draining: () => draining,
    onFilterError: (err, ctx, i) =>
      log.error({ err, request_id: ctx.id, route: ctx.route?.name, filter_index: i }, 'filter failed; answered 500 gateway.internal_error'),
  };
  const listeners: Listener[] = config.listeners.map((l) => createListener(l, baseDir, snap.limits, svc));

  const adminCfg = config.admin ?? {};
  let admin: AdminServer | undefined;
  if (adminCfg.enabled !== false) {
    const routes = new Map<string, AdminRoute>([
      ['/healthz', (_q, res) => sendJson(res, 200, { status: 'ok' })],
      ['/ready', (_q, res) => (draining ? sendJson(res, 503, { ready: false, reason: 'draining' }) : sendJson(res, 200, { ready: true }))],
      ['POST /explain', explainRoute(() => snap.config)],
    ]);
    admin = createAdminServer(adminCfg.address ?? '127.0.0.1', adminCfg.port ?? 9901, routes);
  }

  try {
    for (const l of listeners) await l.listen();
    await admin?.listen();
  } catch (err) {
    await Promise.allSettled(listeners.map((l) => l.drain(0)));
    await admin?.close();
    await retireSnapshot(snap, undefined);
    throw err;
  }

  let stopping: Promise<void> | undefined;
  const gw: Gateway = {
    ports: () => listeners.map((l) => l.port()),
    adminPort: () => admin?.port(),
    snapshot: () => snap,
    async reload(next) {
      const old = snap;
      snap = compileSnapshot(next, { baseDir, deps, previous: old });
      // Give in-flight requests on the old snapshot the drain budget before releasing its pools.
      const t = setTimeout(() => void retireSnapshot(old, snap), old.limits.drainTimeoutMs);
      t.unref();
    },
    stop(reason) {
      stopping ??= (async () => {
        draining = true;
        if (reason) say(`${reason}: draining (up to ${snap.limits.drainTimeoutMs} ms)`);
        await Promise.all(listeners.map((l) => l.drain(snap.limits.drainTimeoutMs)));
        await admin?.close();
        await retireSnapshot(snap, undefined);
        await accessLog.flush();
      })();
      return stopping;
    },
  };

  if (opts.signals) installSignals(gw, accessLog, opts.configPath, say);
  return gw;
}

function installSignals(gw: Gateway, accessLog: AccessLog, configPath: string | undefined, say: (l: string) => void): void {
  const onStop = (sig: string) => {
    void gw.stop(`received ${sig}`).then(() => {
      say('stopped');
      process.exit(0);
    });
  };
  process.once('SIGTERM', () => onStop('SIGTERM'));
  process.once('SIGINT', () => onStop('SIGINT'));
  // SIGUSR1: reopen the access log file after logrotate moved it.
  process.on('SIGUSR1', () => accessLog.reopen());
  process.on('SIGHUP', () => {
    if (!configPath) return;
    loadConfigFile(configPath).then(
      (loaded) => gw.reload(loaded.config).then(() => say(`reloaded ${configPath}`)),
      (err: Error & { errors?: string[] }) => say(`reload failed, keeping the running config: ${err.errors?.join('; ') ?? err.message}`),
    );
  });
}

/** The CLI's entry point: load, validate, start, print where to send requests. */
export async function startGateway(opts: { configPath: string; demoUpstream?: boolean }): Promise<{ stop(reason?: string): Promise<void> }> {
  const loaded = await loadConfigFile(opts.configPath);
  const say = (l: string) => process.stderr.write(`gatehouse: ${l}\n`);
  for (const w of loaded.warnings) say(`warning: ${w}`);
  const demo = opts.demoUpstream ? await startDemoUpstream(9000) : undefined;
  if (demo) say(`demo upstream listening on http://127.0.0.1:${demo.port}`);
  let gw: Gateway;
  try {
    gw = await createGateway(loaded.config, { baseDir: dirname(resolve(opts.configPath)), signals: true, configPath: opts.configPath, say });
  } catch (err) {
    await demo?.close();
    throw err;
  }
  const hostOf = (i: number) => loaded.config.listeners[i]!.address ?? '127.0.0.1';
  gw.ports().forEach((p, i) => say(`listening on ${loaded.config.listeners[i]!.tls ? 'https' : 'http'}://${hostOf(i)}:${p}`));
  const ap = gw.adminPort();
  if (ap !== undefined) say(`admin on http://${loaded.config.admin?.address ?? '127.0.0.1'}:${ap} (/ready, /healthz, POST /explain)`);
  if (demo) say(`try: curl -i http://127.0.0.1:${gw.ports()[0]}/hello`);
  return {
    async stop(reason) {
      await gw.stop(reason);
      await demo?.close();
    },
  };
}
