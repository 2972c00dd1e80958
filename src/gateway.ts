// Wires the layers together: config → Snapshot → listeners, admin, access log, signals.
import { dirname, resolve } from 'node:path';
import pino from 'pino';
import type { GatehouseConfig } from './config/schema.js';
import type { Snapshot } from './config/snapshot.js';
import { compileSnapshot, quiesceSnapshot, retireSnapshot } from './config/compile.js';
import type { UpstreamDeps } from './upstream/cluster.js';
import { loadConfigFile } from './config/index.js';
import { createListener, type Listener } from './server/listener.js';
import type { RequestServices } from './server/handle-request.js';
import { createAccessLog, type AccessLog } from './observability/access-log.js';
import { createDecisionLog, type DecisionLog } from './observability/decision-log.js';
import { createAuditTrail, type AuditTrail } from './observability/audit.js';
import { createAuditWebhook } from './observability/audit-webhook.js';
import { parseDuration, parseSize } from './config/units.js';
import { startSecretRefresh } from './secrets/rotation.js';
import { SecretHistory } from './secrets/history.js';
import { AdminToken } from './admin/token.js';
import { createTracing } from './observability/tracing.js';
import { createAdminServer, type AdminServer } from './admin/server.js';
import { adminRoutes } from './admin/routes.js';
import { GatewayMetrics } from './observability/metrics.js';
import { packageVersion } from './cli/version.js';
import { systemClock, type Clock, type FilterDeps } from './pipeline/filter.js';
import { createMemoryReplayCache } from './store/replay.js';
import { createLimitStore, storeConfigKey } from './store/config.js';
import type { LimitStore } from './store/limits.js';
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
  /** Key paths whose values came from secret references (redacted by the admin /config). */
  secretPaths?: readonly string[];
  /** Test-only: the Redis limit store runs on `clock` instead of Redis server time. */
  unsafeLimitStoreTestTime?: boolean;
  /** Upstream services: a DNS resolver for dns discovery (tests inject one). */
  upstream?: Pick<UpstreamDeps, 'resolver'>;
}

export interface Gateway {
  /** Bound ports of the listeners, in config order. */
  ports(): number[];
  adminPort(): number | undefined;
  snapshot(): Snapshot;
  /** Swap in a new config; in-flight requests finish on the old snapshot. */
  reload(config: GatehouseConfig, secretPaths?: readonly string[]): Promise<void>;
  /** Stop accepting, drain in-flight requests (up to limits.drain_timeout), release everything. */
  stop(reason?: string): Promise<void>;
}

export async function createGateway(config: GatehouseConfig, opts: GatewayOptions = {}): Promise<Gateway> {
  const baseDir = opts.baseDir ?? process.cwd();
  const say = opts.say ?? ((l: string) => process.stderr.write(`gatehouse: ${l}\n`));
  const log = pino({ level: config.log?.level ?? 'warn', base: null }, pino.destination({ dest: 2, sync: false }));
  const upstream: UpstreamDeps = { resolver: opts.upstream?.resolver, warn: (msg) => log.warn(msg) };
  const clock = opts.clock ?? systemClock;
  // Rate-limit counters are process-wide: they outlive reloads (a reload that changes
  // rate_limit_store swaps the store) and are closed on shutdown.
  // The store reports each round trip to the metrics (created below; called only per request).
  const storeDeps = { clock, log, unsafeTestTime: opts.unsafeLimitStoreTestTime === true, onStoreCall: (sec: number, ok: boolean) => metrics.storeCall(sec, ok) };
  let limitStoreKey = storeConfigKey(config.rate_limit_store);
  let limitStore: LimitStore = createLimitStore(config.rate_limit_store, storeDeps);
  const deps: FilterDeps = { clock, log, baseDir, jwks: new JwksRegistry(clock, log), replay: createMemoryReplayCache({ clock }), limits: limitStore };
  // Previous values of rotated secrets, accepted by inbound verifiers during secrets.overlap.
  const history = new SecretHistory();
  deps.previousSecrets = history.lookup;
  if ('ready' in limitStore && !(await (limitStore as { ready(): Promise<boolean> }).ready())) {
    say('warning: rate_limit_store: redis not reachable yet; limits use their on_store_error mode until it is');
  }
  let snap: Snapshot;
  try {
    snap = compileSnapshot(config, { baseDir, deps, upstream });
  } catch (err) {
    await limitStore.close();
    throw err;
  }
  const accessLog: AccessLog = createAccessLog({ enabled: config.access_log?.enabled ?? true, path: config.access_log?.path ? resolve(baseDir, config.access_log.path) : undefined });
  let draining = false;
  let secretPaths: readonly string[] = opts.secretPaths ?? [];
  const listenersRef: Listener[] = [];
  const metrics = new GatewayMetrics(
    {
      connections: () => listenersRef.map((l) => ({ listener: l.name, count: l.connections() })),
      clusters: () => snap.clusters.values(),
      limitStore: () => limitStore,
    },
    packageVersion(),
  );
  const decisionLog = createDecisionLog({ enabled: config.decision_log?.enabled ?? false, path: config.decision_log?.path ? resolve(baseDir, config.decision_log.path) : undefined });
  // Tracing loads the OpenTelemetry SDK only when configured; absent, requests never touch it.
  const tracing = config.tracing !== undefined ? await createTracing(config.tracing, { version: packageVersion(), log }) : undefined;
  const audit = config.audit?.enabled ? await startAudit(config.audit, baseDir, log, metrics) : undefined;
  const svc: RequestServices = {
    snapshot: () => snap,
    metrics,
    decisionLog,
    audit,
    tracing,
    accessLog,
    draining: () => draining,
    onFilterError: (err, ctx, i) =>
      log.error({ err, request_id: ctx.id, route: ctx.route?.name, filter_index: i }, 'filter failed; answered 500 gateway.internal_error'),
  };
  const listeners: Listener[] = config.listeners.map((l) => createListener(l, baseDir, snap.limits, svc));
  listenersRef.push(...listeners);

  const adminCfg = config.admin ?? {};
  let admin: AdminServer | undefined;
  const adminToken = new AdminToken(clock, say);
  adminToken.set(adminCfg.token, []);
  if (adminCfg.enabled !== false) {
    const routes = adminRoutes({ snapshot: () => snap, draining: () => draining, metrics, secretPaths: () => secretPaths });
    admin = createAdminServer(adminCfg.address ?? '127.0.0.1', adminCfg.port ?? 9901, routes, adminToken);
  }

  try {
    for (const l of listeners) await l.listen();
    await admin?.listen();
  } catch (err) {
    await Promise.allSettled(listeners.map((l) => l.drain(0)));
    await admin?.close();
    await audit?.close();
    await retireSnapshot(snap, undefined);
    await limitStore.close();
    await tracing?.shutdown();
    throw err;
  }

  let stopping: Promise<void> | undefined;
  const gw: Gateway = {
    ports: () => listeners.map((l) => l.port()),
    adminPort: () => admin?.port(),
    snapshot: () => snap,
    async reload(next, nextSecretPaths) {
      const old = snap;
      const nextKey = storeConfigKey(next.rate_limit_store);
      const oldStore = limitStore;
      if (nextKey !== limitStoreKey) deps.limits = createLimitStore(next.rate_limit_store, storeDeps);
      // A rotation (only secret values changed) files each replaced value under its successor for secrets.overlap.
      const overlapMs = next.secrets?.overlap === undefined ? 0 : parseDuration(next.secrets.overlap);
      const rotation = history.update({ config: old.config, secretPaths }, { config: next, secretPaths: nextSecretPaths ?? [] }, overlapMs, clock.now());
      try {
        snap = compileSnapshot(next, { baseDir, deps, previous: old, upstream });
      } catch (err) {
        rotation.undo();
        if (deps.limits !== oldStore) void deps.limits!.close();
        deps.limits = oldStore;
        metrics.configReloaded(false);
        throw err;
      }
      metrics.configReloaded(true);
      if (JSON.stringify(next.tracing) !== JSON.stringify(config.tracing)) say('warning: tracing settings are read at start-up; restart to apply the changes');
      secretPaths = nextSecretPaths ?? [];
      adminToken.set(next.admin?.token, next.admin?.token === undefined ? [] : history.lookup(next.admin.token));
      for (const r of rotation.rotated) {
        say(`secret at ${r.path} rotated; ${overlapMs > 0 ? `previous value accepted until ${new Date(r.until).toISOString()}` : 'previous value refused at once (secrets.overlap is 0)'}`);
      }
      if (deps.limits !== oldStore) {
        limitStore = deps.limits!;
        limitStoreKey = nextKey;
        const s = setTimeout(() => void oldStore.close(), old.limits.drainTimeoutMs);
        s.unref();
      }
      // Health checks and discovery of replaced clusters stop now; in-flight requests on the old
      // snapshot get the drain budget before its pools are released.
      quiesceSnapshot(old, snap);
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
        await limitStore.close();
        await accessLog.flush();
        await decisionLog.flush();
        await audit?.close();
        // After the drain: every span has ended; this exports what is still queued.
        await tracing?.shutdown();
      })();
      return stopping;
    },
  };

  const refreshMs = config.secrets?.refresh_interval === undefined ? 0 : parseDuration(config.secrets.refresh_interval);
  if (refreshMs > 0 && opts.configPath) {
    const refresh = startSecretRefresh({
      configPath: opts.configPath,
      intervalMs: refreshMs,
      current: () => ({ config: snap.config, secretPaths }),
      apply: (loaded) => gw.reload(loaded.config, loaded.secretPaths),
      say,
    });
    const stop = gw.stop;
    gw.stop = (reason) => {
      refresh.stop();
      return stop(reason);
    };
  }
  if (opts.signals) installSignals(gw, [accessLog, decisionLog], opts.configPath, say, () => metrics.configReloaded(false));
  return gw;
}

function installSignals(gw: Gateway, logs: readonly (AccessLog | DecisionLog)[], configPath: string | undefined, say: (l: string) => void, loadFailed: () => void): void {
  const onStop = (sig: string) => {
    void gw.stop(`received ${sig}`).then(() => {
      say('stopped');
      process.exit(0);
    });
  };
  process.once('SIGTERM', () => onStop('SIGTERM'));
  process.once('SIGINT', () => onStop('SIGINT'));
  // SIGUSR1: reopen the access log file after logrotate moved it.
  process.on('SIGUSR1', () => {
    for (const l of logs) l.reopen();
  });
  process.on('SIGHUP', () => {
    if (!configPath) return;
    loadConfigFile(configPath).then(
      (loaded) =>
        gw.reload(loaded.config, loaded.secretPaths).then(
          () => say(`reloaded ${configPath}`),
          // A config that validates but fails to compile (an unreadable key file...) must not
          // become an unhandled rejection that takes the process down.
          (err: Error) => say(`reload failed, keeping the running config: ${err.message}`),
        ),
      (err: Error & { errors?: string[] }) => {
        loadFailed();
        say(`reload failed, keeping the running config: ${err.errors?.join('; ') ?? err.message}`);
      },
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
    gw = await createGateway(loaded.config, { baseDir: dirname(resolve(opts.configPath)), signals: true, configPath: opts.configPath, say, secretPaths: loaded.secretPaths });
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

/** The audit trail from its config section (defaults: 100MiB files, daily rotation, 1 s flush, 1 min checkpoints). */
function startAudit(a: NonNullable<GatehouseConfig['audit']>, baseDir: string, log: pino.Logger, metrics: GatewayMetrics): Promise<AuditTrail> {
  const dur = (v: string | number | undefined, d: number) => (v === undefined ? d : parseDuration(v));
  const w = a.webhook;
  return createAuditTrail({
    sink: a.sink ?? 'file',
    dir: a.dir === undefined ? undefined : resolve(baseDir, a.dir),
    webhook:
      w === undefined
        ? undefined
        : createAuditWebhook({
            url: w.url,
            headers: w.headers ?? {},
            batchSize: w.batch_size ?? 500,
            flushIntervalMs: dur(w.flush_interval, 1000),
            timeoutMs: dur(w.timeout, 5000),
            maxQueue: w.max_queue ?? 100_000,
            log,
            onFailure: () => metrics.auditWebhookFailed(),
            onDropped: (n) => metrics.auditWebhookDropped(n),
          }),
    key: a.hmac_key ? Buffer.from(a.hmac_key) : undefined,
    maxFileBytes: a.max_file_size === undefined ? 100 * 1024 * 1024 : parseSize(a.max_file_size),
    rotateIntervalMs: dur(a.rotate_interval, 24 * 3600_000),
    flushIntervalMs: dur(a.flush_interval, 1000),
    checkpointPath: a.checkpoint_path ? resolve(baseDir, a.checkpoint_path) : undefined,
    checkpointIntervalMs: dur(a.checkpoint_interval, 60_000),
    includeNotFound: a.include_not_found !== false,
    includePublic: a.include_public !== false,
    log,
    onFailure: () => metrics.auditWriteFailed(),
  });
}
