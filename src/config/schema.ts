// The configuration schema, written once in code (TypeBox) so that the TypeScript types, the
// runtime validator and the committed JSON Schema (schema/gatehouse.schema.json, for editor
// completion) can never disagree. Descriptions here are the user documentation.
import { Type as T, type Static, type TSchema } from '@sinclair/typebox';
import { policyDocumentSchema } from '../policy/index.js';
import { rateLimitStoreSchema } from '../store/config.js';
import { usagePlansSchema } from '../filters/rate-limit/config.js';
import { upstreamSchemas } from '../upstream/config.js';

const obj = <P extends Record<string, TSchema>>(props: P, description: string) =>
  T.Object(props, { additionalProperties: false, description });

export const Duration = T.Union(
  [
    T.Integer({ minimum: 0, description: 'milliseconds' }),
    T.String({ pattern: '^[0-9]+(\\.[0-9]+)?(ms|s|m|h)$', description: 'e.g. 250ms, 10s, 5m, 1h' }),
  ],
  { description: 'A duration: integer milliseconds or a string such as 250ms, 10s, 5m, 1h' },
);
export const Size = T.Union(
  [
    T.Integer({ minimum: 0, description: 'bytes' }),
    T.String({ pattern: '^[0-9]+(B|KB|KiB|MB|MiB|GB|GiB)$', description: 'e.g. 512B, 60KiB, 10MiB' }),
  ],
  { description: 'A size: integer bytes or a string such as 60KiB or 10MiB' },
);

const upstream = upstreamSchemas({ Duration, Size });

const HeaderName = T.String({ pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", description: 'An HTTP field name' });

export const Tls = obj(
  {
    cert_file: T.String({ description: 'PEM certificate chain file' }),
    key_file: T.String({ description: 'PEM private key file' }),
    client_auth: T.Optional(
      T.Union([T.Literal('none'), T.Literal('request'), T.Literal('require')], {
        description:
          'Client certificates (mTLS). none (default): not asked for. request: asked for and verified against ' +
          'client_ca_file, but the connection is accepted without one or with a refused one; routes decide with the ' +
          'mtls filter (401/403). require: the TLS handshake fails without a certificate client_ca_file trusts',
      }),
    ),
    client_ca_file: T.Optional(
      T.String({ description: 'PEM bundle of the CAs that issue client certificates; required when client_auth is request or require (never the system roots)' }),
    ),
  },
  'Serve TLS on this listener',
);

export const Listener = obj(
  {
    name: T.Optional(T.String({ description: 'Name used in logs and metrics (default: address:port)' })),
    address: T.Optional(T.String({ description: 'Address to bind (default 127.0.0.1)' })),
    port: T.Integer({ minimum: 0, maximum: 65535, description: 'Port to bind (0 picks a free one)' }),
    tls: T.Optional(Tls),
  },
  'A socket the gateway accepts client traffic on',
);

export const Admin = obj(
  {
    address: T.Optional(T.String({ description: 'Admin bind address (default 127.0.0.1; keep it private)' })),
    port: T.Optional(T.Integer({ minimum: 0, maximum: 65535, description: 'Admin port (default 9901)' })),
    enabled: T.Optional(T.Boolean({ description: 'Serve the admin API (default true)' })),
    token: T.Optional(
      T.String({
        minLength: 16,
        description:
          'Require Authorization: Bearer <token> on every admin endpoint except /healthz and /ready (use a secret reference, ' +
          'e.g. ${secret:env:GATEHOUSE_ADMIN_TOKEN}; at least 16 characters)',
      }),
    ),
  },
  'The admin listener: /ready, /healthz, /metrics, /config, /routes, /clusters, POST /explain',
);

export const Limits = obj(
  {
    header_timeout: T.Optional(Duration),
    request_timeout: T.Optional(Duration),
    idle_timeout: T.Optional(Duration),
    max_header_bytes: T.Optional(Size),
    max_header_count: T.Optional(T.Integer({ minimum: 1, maximum: 1000 })),
    max_uri_bytes: T.Optional(Size),
    max_body_bytes: T.Optional(Size),
    max_requests_per_connection: T.Optional(T.Integer({ minimum: 0 })),
    max_connections: T.Optional(T.Integer({ minimum: 1 })),
    max_connections_per_ip: T.Optional(T.Integer({ minimum: 1 })),
    drain_timeout: T.Optional(Duration),
  },
  'Limits on client connections and requests. Defaults: header_timeout 10s (408), request_timeout 30s, ' +
    'idle_timeout 5s, max_header_bytes 60KiB and max_header_count 100 (431), max_uri_bytes 16KiB (414), ' +
    'max_body_bytes 10MiB (413), max_requests_per_connection 1000, max_connections 10000, ' +
    'max_connections_per_ip 256, drain_timeout 30s',
);

const StringMatch = obj(
  {
    name: HeaderName,
    exact: T.Optional(T.String({ description: 'Value must equal this' })),
    prefix: T.Optional(T.String({ description: 'Value must start with this' })),
    present: T.Optional(T.Boolean({ description: 'true: must be present; false: must be absent' })),
  },
  'Matches one header or query parameter. With neither exact, prefix nor present, it must be present',
);

export const PathMatch = obj(
  {
    exact: T.Optional(T.String({ pattern: '^/', description: 'The normalized path equals this' })),
    prefix: T.Optional(
      T.String({ pattern: '^/', description: 'Matches on segment boundaries: /admin matches /admin and /admin/x, never /administrator' }),
    ),
    template: T.Optional(
      T.String({ pattern: '^/', description: 'Segments with {param} placeholders, e.g. /users/{id}; a final {name*} captures the rest' }),
    ),
  },
  'Exactly one of exact, prefix or template',
);

export const RouteMatch = obj(
  {
    host: T.Optional(
      T.Array(T.String({ description: 'example.com or *.example.com' }), { description: 'Hosts (lower-cased, port ignored)' }),
    ),
    path: T.Optional(PathMatch),
    methods: T.Optional(T.Array(T.String({ pattern: '^[A-Z]+$' }), { description: 'Allowed methods (upper case)' })),
    headers: T.Optional(T.Array(StringMatch, { description: 'All must match' })),
    query: T.Optional(T.Array(StringMatch, { description: 'All must match' })),
  },
  'What a request must look like for this route to apply (all given parts must hold)',
);

export const HeaderOps = obj(
  {
    add: T.Optional(T.Record(T.String(), T.String(), { description: 'Append these fields' })),
    set: T.Optional(T.Record(T.String(), T.String(), { description: 'Replace these fields' })),
    remove: T.Optional(T.Array(HeaderName, { description: 'Remove these fields' })),
  },
  'Header changes: remove, then set, then add',
);

export const Rewrite = obj(
  {
    strip_prefix: T.Optional(T.String({ pattern: '^/', description: 'Remove this leading path prefix (segment-aligned)' })),
    prefix: T.Optional(T.String({ pattern: '^/', description: 'Then prepend this prefix' })),
  },
  'Path rewriting before forwarding',
);

/** Per-route filter configs; keys and schemas are contributed by filters/registry.ts. */
export const routeSchema = (filters: TSchema) =>
  obj(
    {
      name: T.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$', description: 'Unique; used in logs, metrics and policy resources' }),
      match: T.Optional(RouteMatch),
      cluster: T.Optional(T.String({ description: 'Name of the cluster to forward to (or clusters, for a weighted split)' })),
      ...upstream.routeProps,
      rewrite: T.Optional(Rewrite),
      request_headers: T.Optional(HeaderOps),
      response_headers: T.Optional(HeaderOps),
      timeout: T.Optional(Duration),
      max_body_bytes: T.Optional(Size),
      websocket: T.Optional(T.Boolean({ description: 'Pass WebSocket upgrades through (default false)' })),
      audit: T.Optional(
        T.Union([T.Literal('on'), T.Literal('off'), T.Literal('required')], {
          description:
            'Audit this route: on (default, when the audit trail is enabled), off, or required: the record is written durably before ' +
            'the upstream is called, and the request is refused (503 audit.unavailable) when it cannot be',
        }),
      ),
      filters: T.Optional(filters),
    },
    'A route: requests that match are forwarded to a cluster; the first matching route wins',
  );

export const ClusterTls = obj(
  {
    ca_file: T.Optional(T.String({ description: 'PEM CA bundle to verify the upstream (default: system roots)' })),
    servername: T.Optional(T.String({ description: 'SNI name and the name verified in the certificate' })),
    cert_file: T.Optional(T.String({ description: 'Client certificate for upstream mTLS' })),
    key_file: T.Optional(T.String({ description: 'Client key for upstream mTLS' })),
    insecure_skip_verify: T.Optional(T.Boolean({ description: 'Do not verify the upstream certificate (never in production; default false)' })),
  },
  'TLS settings for https endpoints; certificates are verified by default',
);

export const Endpoint = T.Union([
  T.String({ pattern: '^https?://', description: 'http://host:port or https://host:port' }),
  obj(
    {
      url: T.String({ pattern: '^https?://' }),
      weight: T.Optional(T.Integer({ minimum: 1, maximum: 1000, description: 'Relative weight (default 1)' })),
      priority: T.Optional(T.Integer({ minimum: 0, maximum: 10, description: 'Priority level: 0 (the default) first; higher levels take traffic when lower ones are unhealthy (priority_failover_threshold)' })),
    },
    'An endpoint with options',
  ),
]);

export const Cluster = obj(
  {
    name: T.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$' }),
    endpoints: T.Optional(T.Array(Endpoint, { minItems: 1, description: 'Static endpoints (required unless discovery is dns or file)' })),
    tls: T.Optional(ClusterTls),
    connect_timeout: T.Optional(Duration),
    keepalive_timeout: T.Optional(Duration),
    max_connections_per_endpoint: T.Optional(T.Integer({ minimum: 1, description: 'Pool size per endpoint (default 128)' })),
    ...upstream.clusterProps,
  },
  'A named group of upstream endpoints, load-balanced (round-robin by default), health-checked, with circuit breakers',
);

export const AccessLog = obj(
  {
    enabled: T.Optional(T.Boolean({ description: 'Write one JSON line per request (default true)' })),
    path: T.Optional(T.String({ description: 'File to append to (default stdout); reopened on SIGUSR1' })),
  },
  'The access log',
);

export const AuditWebhook = obj(
  {
    url: T.String({ pattern: '^https?://', description: 'Collector URL; every sealed record and checkpoint is POSTed here as NDJSON, in chain order' }),
    headers: T.Optional(
      T.Record(T.String({ pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" }), T.String(), {
        description: 'Headers sent with every POST, e.g. authorization: "Bearer ${secret:env:SIEM_TOKEN}" (use secret references for credentials)',
      }),
    ),
    batch_size: T.Optional(T.Integer({ minimum: 1, maximum: 10_000, description: 'Records per POST (default 500)' })),
    flush_interval: T.Optional(Duration),
    timeout: T.Optional(Duration),
    max_queue: T.Optional(T.Integer({ minimum: 1, maximum: 10_000_000, description: 'Records held while the collector is down (default 100000); beyond it the oldest are dropped and counted' })),
  },
  'An HTTP copy of the audit trail off the host: batched (flush_interval default 1s), retried with backoff (timeout default 5s per POST). ' +
    'The local chain stays the record of truth; undelivered records are counted in gatehouse_audit_webhook_dropped_total',
);

export const Audit = obj(
  {
    enabled: T.Optional(T.Boolean({ description: 'Write the audit trail (default false)' })),
    sink: T.Optional(
      T.Union([T.Literal('file'), T.Literal('stdout')], {
        description: 'file (default): rotating chain files in dir; stdout: one chain per process on standard output, beside the access log',
      }),
    ),
    dir: T.Optional(T.String({ description: 'Folder for the chain files, required by the file sink (one chain per gateway process, rotated files named gatehouse-audit-<time>-<pid>-<n>.jsonl)' })),
    webhook: T.Optional(AuditWebhook),
    hmac_key: T.Optional(
      T.String({ minLength: 16, description: 'Key for the HMAC over every record hash (use a secret reference); without it the chain is unkeyed' }),
    ),
    max_file_size: T.Optional(Size),
    rotate_interval: T.Optional(Duration),
    flush_interval: T.Optional(Duration),
    checkpoint_path: T.Optional(T.String({ description: 'A second sink: the latest hash is appended here every checkpoint_interval, so truncation is detectable' })),
    checkpoint_interval: T.Optional(Duration),
    include_not_found: T.Optional(T.Boolean({ description: 'Audit requests no route matched (default true)' })),
    include_public: T.Optional(T.Boolean({ description: 'Audit requests on public routes with no edge decision (default true)' })),
  },
  'The tamper-evident audit trail: one hash-chained JSON record per request. Defaults: max_file_size 100MiB, rotate_interval 24h, ' +
    'flush_interval 1s, checkpoint_interval 1m. Routes with audit: required write their record durably before the upstream is called',
);

export const Secrets = obj(
  {
    refresh_interval: T.Optional(Duration),
    overlap: T.Optional(
      T.Union(Duration.anyOf, {
        description:
          'After a rotation, how long the previous value of a rotated secret still verifies inbound credentials (sigv4 secrets and ' +
          'session tokens, jwt HS256/384/512 secrets, admin.token). Default 0: the previous value is refused at once (right after a ' +
          'leak); e.g. 5m for routine rotations while clients pick up the new value. At most 24h',
      }),
    ),
    vault: T.Optional(
      obj(
        {
          address: T.String({ pattern: '^https?://', description: 'Vault address, e.g. https://vault.internal:8200' }),
          token: T.String({ minLength: 1, description: 'Vault token (an env or file secret reference, never inline)' }),
          mount: T.Optional(T.String({ description: 'KV version 2 mount (default secret)' })),
          namespace: T.Optional(T.String({ description: 'Vault Enterprise namespace' })),
          timeout: T.Optional(Duration),
        },
        'HashiCorp Vault KV v2: references read ${secret:vault:<path>#<field>} (field defaults to value)',
      ),
    ),
  },
  'Secret providers beyond env and file, and rotation. refresh_interval (default 0: off): how often secret references are ' +
    're-read; a changed value is applied like a reload (new requests use it, in-flight ones finish, nothing restarts). ' +
    'overlap (default 0: off): how long the previous value of a rotated inbound credential still verifies',
);

export const DecisionLog = obj(
  {
    enabled: T.Optional(T.Boolean({ description: 'Write one JSON line per request on which an edge filter decided (default false)' })),
    path: T.Optional(T.String({ description: 'File to append to (default stdout); reopened on SIGUSR1' })),
  },
  'The decision log: authn, authz, rate-limit and quota decisions with reason codes, policy and statement, joined to the access log by request_id',
);

export const OperationalLog = obj(
  {
    level: T.Optional(
      T.Union([T.Literal('debug'), T.Literal('info'), T.Literal('warn'), T.Literal('error')], {
        description: 'Level of the operational log on stderr (filter errors, key fetches, store outages); default warn',
      }),
    ),
  },
  "The gateway's operational log (JSON on stderr); request data never goes here",
);

export const Tracing = obj(
  {
    endpoint: T.String({
      pattern: '^https?://',
      description:
        'OTLP/HTTP traces URL of the collector, used as given (nothing is appended), e.g. http://collector:4318/v1/traces. ' +
        'Spans are sent as OTLP JSON',
    }),
    service_name: T.Optional(T.String({ minLength: 1, description: 'The service.name resource attribute (default "gatehouse")' })),
    sample_ratio: T.Optional(
      T.Number({
        minimum: 0,
        maximum: 1,
        description:
          'Share of new traces (no sampled/unsampled parent, or parent_based false) that are recorded and exported, decided on ' +
          'the trace id (TraceIdRatioBased). Default 0.01: cheap at high request rates; set 1 while trying tracing out',
      }),
    ),
    parent_based: T.Optional(
      T.Boolean({
        description:
          "Follow the caller's sampling decision (the sampled flag of its traceparent/B3 header) when it sent one; the ratio " +
          'applies only to traces that start here (default true). Note that this lets clients choose to be traced',
      }),
    ),
    propagation: T.Optional(
      T.Array(T.Union([T.Literal('w3c'), T.Literal('b3')]), {
        minItems: 1,
        uniqueItems: true,
        description:
          'Incoming trace-context formats accepted, tried in this order: w3c (traceparent/tracestate), b3 (single `b3` or ' +
          'multi X-B3-* headers). Upstreams always receive W3C traceparent/tracestate; accepted incoming headers are replaced, ' +
          'not forwarded (default [w3c])',
      }),
    ),
    headers: T.Optional(
      T.Record(T.String({ pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" }), T.String(), {
        description: 'Headers sent with every export request, e.g. authorization: "Bearer ${secret:env:OTLP_TOKEN}" (use secret references for credentials)',
      }),
    ),
    timeout: T.Optional(T.Union(Duration.anyOf, { description: 'Timeout of one export request (default 10s)' })),
    schedule_delay: T.Optional(T.Union(Duration.anyOf, { description: 'How long finished spans wait to be batched before export (default 5s)' })),
    max_queue_size: T.Optional(
      T.Integer({ minimum: 1, description: 'Finished spans buffered for export; when full, new spans are dropped, never the request (default 2048)' }),
    ),
  },
  'OpenTelemetry tracing: a SERVER span per request and a CLIENT span per upstream attempt, exported over OTLP/HTTP. ' +
    'Absent: no tracing code runs per request and client traceparent headers pass through unchanged. Read at start-up only',
);

export const Authorization = obj(
  {
    policies: T.Optional(
      T.Record(T.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]*$' }), policyDocumentSchema, {
        description: 'Named IAM-style policy documents (AWS key spelling: Statement, Effect, Action, Resource, Condition)',
      }),
    ),
    roles: T.Optional(
      T.Record(T.String({ minLength: 1 }), T.Array(T.String({ minLength: 1 })), {
        description: 'Role → names of the policies that apply to every caller holding the role, on every route with authz',
      }),
    ),
    case_insensitive_deny: T.Optional(
      T.Boolean({
        description:
          'Deny statements match resource paths case-insensitively, so /ADMIN cannot slip past a deny on /admin to a ' +
          'case-insensitive upstream; Allow statements always match exactly (default true)',
      }),
    ),
  },
  'Authorization policies and the roles they attach to; routes opt in with the authz filter',
);

export const configSchema = (filters: TSchema) =>
  obj(
    {
      $schema: T.Optional(T.String({ description: 'Path or URL of this JSON Schema, for editors' })),
      listeners: T.Array(Listener, { minItems: 1 }),
      admin: T.Optional(Admin),
      limits: T.Optional(Limits),
      trusted_proxies: T.Optional(
        T.Array(T.String(), { description: 'CIDRs whose X-Forwarded-* and X-Request-Id are trusted (default none)' }),
      ),
      access_log: T.Optional(AccessLog),
      decision_log: T.Optional(DecisionLog),
      audit: T.Optional(Audit),
      secrets: T.Optional(Secrets),
      log: T.Optional(OperationalLog),
      tracing: T.Optional(Tracing),
      authorization: T.Optional(Authorization),
      rate_limit_store: T.Optional(rateLimitStoreSchema()),
      usage_plans: T.Optional(usagePlansSchema()),
      routes: T.Array(routeSchema(filters)),
      clusters: T.Array(Cluster),
    },
    'Gatehouse configuration',
  );

export type RouteFilters = Record<string, unknown>;
export type ListenerConfig = Static<typeof Listener>;
export type LimitsConfig = Static<typeof Limits>;
export type RouteMatchConfig = Static<typeof RouteMatch>;
export type StringMatchConfig = Static<typeof StringMatch>;
export type HeaderOpsConfig = Static<typeof HeaderOps>;
export type ClusterConfig = Static<typeof Cluster>;
export type TracingConfig = Static<typeof Tracing>;
export type RouteConfig = Static<ReturnType<typeof routeSchema>> & { filters?: RouteFilters };
export type GatehouseConfig = Omit<Static<ReturnType<typeof configSchema>>, 'routes'> & { routes: RouteConfig[] };
