// Config of the resilience features: cluster load balancing, health, outlier detection, circuit
// breakers, discovery, and the route's retry policy. The descriptions are the user documentation
// (they become the JSON Schema). Built by functions that receive the shared unit schemas, so this
// file does not import config/schema.ts at evaluation time (that would be an import cycle).
import { Type as T, type TSchema } from '@sinclair/typebox';

const obj = <P extends Record<string, TSchema>>(props: P, description: string) =>
  T.Object(props, { additionalProperties: false, description });

const HEADER_NAME = "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";
const Percent = (description: string) => T.Number({ minimum: 0, maximum: 100, description });
const Status = T.Integer({ minimum: 100, maximum: 599 });

/** A string from a fixed set: one `enum` keyword, so a wrong value reads "expected one of: ..." */
const StringEnum = <V extends string>(values: readonly V[], description: string) => T.Unsafe<V>({ type: 'string', enum: [...values], description });

export const RETRY_ON = ['5xx', 'gateway-error', 'reset', 'connect-failure', 'retriable-4xx', 'retriable-status-codes'] as const;
export type RetryOn = (typeof RETRY_ON)[number];

export function upstreamSchemas<D extends TSchema, S extends TSchema>(units: { Duration: D; Size: S }) {
  const { Duration, Size } = units;
  const LbPolicy = StringEnum(
    ['round_robin', 'least_request', 'random', 'ring_hash'] as const,
    'How an endpoint is chosen for each attempt. round_robin (the default): weighted round-robin. least_request: power of two ' +
      'choices, of two random endpoints (by weight) the one with fewer requests in flight. random: weighted random. ring_hash: ' +
      'consistent hashing on hash_on (sticky sessions), when an endpoint leaves only its keys move',
  );
  const HashOn = T.Union(
    [
      obj({ header: T.String({ pattern: HEADER_NAME, description: 'Hash this request header' }) }, 'Hash a request header'),
      obj({ cookie: T.String({ minLength: 1, description: 'Hash this cookie' }) }, 'Hash a cookie'),
      obj({ client_ip: T.Literal(true, { description: 'Hash the client address (X-Forwarded-For only from trusted_proxies)' }) }, 'Hash the client address'),
    ],
    { description: 'ring_hash only: what the key is. A request without the key is balanced at random' },
  );
  const HealthCheck = obj(
    {
      path: T.String({ pattern: '^/', description: 'Path requested with GET on each endpoint' }),
      host: T.Optional(T.String({ description: 'Host header of the probe (default the endpoint host:port)' })),
      interval: T.Optional(Duration),
      timeout: T.Optional(Duration),
      jitter: T.Optional(Duration),
      healthy_threshold: T.Optional(T.Integer({ minimum: 1, description: 'Consecutive passes that mark an unhealthy endpoint healthy (default 2)' })),
      unhealthy_threshold: T.Optional(T.Integer({ minimum: 1, description: 'Consecutive failures that mark an endpoint unhealthy (default 3)' })),
      expected_statuses: T.Optional(T.Array(Status, { minItems: 1, description: 'Statuses that pass (default 200 to 299)' })),
    },
    'Active HTTP health checks, run on their own connection per endpoint, never on the request path. interval 10s, ' +
      'timeout 2s, jitter a tenth of the interval up to 1s (a random 0..jitter is added to every interval) by default. Endpoints start healthy and the first ' +
      'probe runs at once; a passing probe also ends an outlier ejection',
  );
  const OutlierDetection = obj(
    {
      consecutive_5xx: T.Optional(T.Integer({ minimum: 0, description: 'Eject after this many consecutive 5xx responses (default 5; 0 disables). Unless split_external_local_origin_errors, connect failures, resets and timeouts count as 5xx' })),
      consecutive_gateway_failure: T.Optional(T.Integer({ minimum: 0, description: 'Eject after this many consecutive 502/503/504 (and, unless split, local-origin failures). Default 0: off, as Envoy enforces it 0% by default' })),
      split_external_local_origin_errors: T.Optional(T.Boolean({ description: 'Count connect failures, resets and timeouts apart from HTTP statuses (default false)' })),
      consecutive_local_origin_failure: T.Optional(T.Integer({ minimum: 0, description: 'With split_external_local_origin_errors: eject after this many consecutive local-origin failures (default 5; 0 disables)' })),
      base_ejection_time: T.Optional(Duration),
      max_ejection_time: T.Optional(Duration),
      interval: T.Optional(Duration),
      max_ejection_percent: T.Optional(
        T.Number({ minimum: 0, maximum: 50, description: 'At most this share of the endpoints is ejected at once, but always at least one (default 10; at most 50, SECURITY.md)' }),
      ),
    },
    'Passive health (outlier detection), in Envoy terms and with its defaults: an ejected endpoint gets no traffic for ' +
      'base_ejection_time (30s) × its number of ejections, capped by max_ejection_time (300s, or base if larger); the count ' +
      'drops by one for each interval (10s) it stays in',
  );
  const RetryBudget = obj(
    {
      budget_percent: T.Optional(Percent('Retries in flight may be at most this share of the requests in flight (default 20)')),
      min_retry_concurrency: T.Optional(T.Integer({ minimum: 0, description: 'Retries always allowed in flight, whatever the share (default 3)' })),
    },
    'Retry budget (Envoy retry_budget semantics). The default when max_retries is not set: 20% with a minimum of 3, so retries cannot amplify an outage (SECURITY.md)',
  );
  const CircuitBreakers = obj(
    {
      max_connections: T.Optional(T.Integer({ minimum: 1, description: 'Connections per endpoint pool (default max_connections_per_endpoint, else 128); per endpoint because each endpoint has its own pool' })),
      max_pending_requests: T.Optional(T.Integer({ minimum: 1, description: 'Requests waiting for a connection across the cluster (default 1024); more answer 503 upstream.overflow' })),
      max_requests: T.Optional(T.Integer({ minimum: 1, description: 'Requests in flight across the cluster (default 1024); more answer 503 upstream.overflow' })),
      max_retries: T.Optional(
        T.Integer({ minimum: 0, description: 'A fixed cap on retries in flight across the cluster (Envoy style) instead of the default retry budget; a retry over the limit is not made and the last answer stands' }),
      ),
      retry_budget: T.Optional(RetryBudget),
    },
    'Circuit breakers: overflow answers 503 upstream.overflow at once instead of queueing (Envoy defaults)',
  );
  // One object with a `type` enum rather than a union of objects: a wrong type then reads
  // "expected one of: static, dns, file"; which fields go with which type is cross-checked.
  const Discovery = obj(
    {
      type: StringEnum(['static', 'dns', 'file'] as const, 'static: the endpoints list (the default). dns: the addresses a name resolves to. file: a watched endpoint list'),
      url: T.Optional(T.String({ pattern: '^https?://', description: 'dns: scheme://hostname:port; every address the name resolves to becomes an endpoint on that port' })),
      family: T.Optional(T.Union([T.Literal(4), T.Literal(6), T.Literal('any')], { description: 'dns: A records (4, the default), AAAA (6) or both (any)' })),
      min_refresh: T.Optional(Duration),
      max_refresh: T.Optional(Duration),
      path: T.Optional(T.String({ minLength: 1, description: 'file: JSON or YAML file holding a list of endpoints (as in endpoints) or { endpoints: [...] }; relative to the config file' })),
      poll_interval: T.Optional(Duration),
    },
    'Where the endpoints come from (default static). dns: re-resolved when the shortest record TTL runs out, but no sooner than ' +
      'min_refresh (default 1s) and no later than max_refresh (default 5m); a failed lookup keeps the last answer; an empty answer ' +
      '(NXDOMAIN, no records) empties the cluster; TLS endpoints are verified against the hostname. file: re-read when it changes ' +
      '(checked every poll_interval, default 1s); an unreadable or invalid file keeps the last list',
  );
  const AwsSigv4 = obj(
    {
      region: T.String({ pattern: '^[a-z0-9-]+$', description: 'Region of the credential scope, e.g. eu-west-1' }),
      service: T.String({ pattern: '^[a-z0-9-]+$', description: 'Signing name of the service, e.g. execute-api, s3, es, lambda' }),
      access_key_id: T.String({ pattern: '^[A-Za-z0-9_.-]{1,128}$', description: 'Access key id (normally a secret reference, like the secret)' }),
      secret_access_key: T.String({
        minLength: 1,
        description: 'Secret access key. Write a secret reference (${secret:env:NAME}, ${secret:file:/path}, ${secret:vault:path#field}), never the value; it is never logged or shown',
      }),
      session_token: T.Optional(T.String({ minLength: 1, description: 'Session token of temporary credentials (STS), sent as x-amz-security-token and signed; a secret reference' })),
      host: T.Optional(
        T.String({
          pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9._-]+)(:[0-9]{1,5})?$',
          description:
            "host[:port] sent upstream as Host and signed (Envoy host_rewrite); default the endpoint's host[:port] without a default port, with dns discovery the host of discovery.url",
        }),
      ),
      payload: T.Optional(
        StringEnum(
          ['signed', 'unsigned'] as const,
          "signed (the default): the body is read first (up to the route's max_body_bytes, else 413 request.body_too_large) and its SHA-256 is signed. " +
            'unsigned: x-amz-content-sha256: UNSIGNED-PAYLOAD and the body streams; only S3 and a few services accept it (Envoy use_unsigned_payload)',
        ),
      ),
      s3_style_paths: T.Optional(T.Boolean({ description: 'Canonicalise the path the S3 way: no normalisation, single encoding (default false: every other service)' })),
    },
    'Sign every request sent to this cluster with AWS Signature Version 4, using credentials the gateway holds (clients never see them). ' +
      'Client copies of Authorization, X-Amz-Date, X-Amz-Security-Token and X-Amz-Content-Sha256 are dropped. Each attempt is signed after ' +
      'its endpoint is picked (a retry is signed again). Signed: host, x-amz-date, x-amz-content-sha256, x-amz-security-token, content-type, ' +
      'content-md5 and every other x-amz-* header present. Credentials rotated through secret references apply to new attempts without ' +
      'restarting the cluster. Health checks are not signed',
  );
  const clusterProps = {
    http_client: T.Optional(
      StringEnum(['builtin', 'undici'] as const, "The upstream HTTP/1.1 client: builtin (the default; Gatehouse's pool on Node's own parser, the faster one) or undici"),
    ),
    lb_policy: T.Optional(LbPolicy),
    hash_on: T.Optional(HashOn),
    panic_threshold: T.Optional(
      Percent('When fewer than this share of the endpoints is healthy (active checks and outlier ejection), balance over all of them rather than overload the few (default 50; 0 disables)'),
    ),
    priority_failover_threshold: T.Optional(
      Percent('With endpoint priorities: traffic goes to the lowest priority level whose healthy share is at least this (default 70); when none is, to every healthy endpoint'),
    ),
    health_check: T.Optional(HealthCheck),
    outlier_detection: T.Optional(OutlierDetection),
    circuit_breakers: T.Optional(CircuitBreakers),
    discovery: T.Optional(Discovery),
    aws_sigv4: T.Optional(AwsSigv4),
  };
  const RetryPolicy = obj(
    {
      retry_on: T.Array(
        StringEnum(RETRY_ON, 'A retry condition'),
        {
          minItems: 1,
          description:
            'When to retry (Envoy semantics): 5xx (any 5xx, or no response), gateway-error (502, 503, 504), reset (no response: ' +
            'connection failure, reset, per-try timeout), connect-failure, retriable-4xx (409), retriable-status-codes (the list below)',
        },
      ),
      num_retries: T.Optional(T.Integer({ minimum: 0, maximum: 10, description: 'Retries after the first attempt (default 1)' })),
      per_try_timeout: T.Optional(Duration),
      retriable_status_codes: T.Optional(T.Array(Status, { description: 'For retriable-status-codes' })),
      backoff: T.Optional(
        obj(
          { base_interval: T.Optional(Duration), max_interval: T.Optional(Duration) },
          'Fully jittered exponential backoff: retry N waits a random time below (2^N − 1) × base_interval (default 25ms), at most max_interval (default 10 × base)',
        ),
      ),
      respect_retry_after: T.Optional(
        T.Boolean({ description: "Wait as long as the upstream's Retry-After says (seconds or HTTP date) instead of the backoff; when that is past the route timeout, the answer stands (default false)" }),
      ),
      retry_non_idempotent: T.Optional(
        T.Boolean({
          description:
            'Also retry POST, PATCH and other non-idempotent methods (default false: only GET, HEAD, OPTIONS, PUT, DELETE, and requests carrying an Idempotency-Key header, are retried)',
        }),
      ),
      max_replay_bytes: T.Optional(Size),
    },
    'Retries on another endpoint when possible, within the route timeout, never once response bytes reached the client. A request body ' +
      'is kept for replay only up to max_replay_bytes (default 64KiB); a larger one is streamed and not retried. Retries count against ' +
      'the cluster circuit_breakers (max_retries or retry_budget)',
  );
  const WeightedCluster = obj(
    {
      name: T.String({ description: 'A cluster name' }),
      weight: T.Integer({ minimum: 0, maximum: 10000, description: 'Relative share of the requests (0: only via cluster_header)' }),
    },
    'One cluster of a weighted split',
  );
  const Fault = obj(
    {
      delay: T.Optional(
        obj(
          { fixed_delay: Duration, percentage: T.Optional(Percent('Share of requests delayed (default 100)')) },
          'Delay requests before they are forwarded',
        ),
      ),
      abort: T.Optional(
        obj(
          { http_status: T.Integer({ minimum: 200, maximum: 599, description: 'Status to answer with' }), percentage: T.Optional(Percent('Share of requests aborted (default 100)')) },
          'Answer requests at once with a status (reason code fault.abort), without forwarding them',
        ),
      ),
      header_control: T.Optional(
        T.Boolean({
          description:
            'Clients may ask for faults: x-gatehouse-fault-abort-request: <status> aborts, x-gatehouse-fault-delay-request: <ms> delays (at most max_delay). ' +
            'For test routes only: any client can then slow or fail its own requests (default false)',
        }),
      ),
      max_delay: T.Optional(Duration),
    },
    'Fault injection, to test how clients cope with a slow or failing API. Applied before the upstream is contacted; never on WebSocket upgrades',
  );
  const routeProps = {
    clusters: T.Optional(
      T.Array(WeightedCluster, {
        minItems: 1,
        description: 'Weighted split between clusters (canary), instead of cluster: each request goes to one of them by weight',
      }),
    ),
    cluster_header: T.Optional(
      T.String({
        pattern: HEADER_NAME,
        description: 'With clusters: a request carrying this header with the name of one of them goes there (override for testing). Clients can choose among the listed clusters only',
      }),
    ),
    mirror: T.Optional(
      obj(
        {
          cluster: T.String({ description: 'Cluster that receives the copies' }),
          percent: T.Optional(Percent('Share of requests mirrored (default 100)')),
        },
        'Shadow traffic: a copy of sampled requests goes to another cluster, fire-and-forget; its answer is dropped and never delays or changes the response. ' +
          'The copy\'s Host gets "-shadow" appended. Requests with a body are mirrored only when a filter buffered the body',
      ),
    ),
    fault: T.Optional(Fault),
    retry_policy: T.Optional(RetryPolicy),
    idle_timeout: T.Optional(Duration),
  };
  return { clusterProps, RetryPolicy, routeProps, Discovery };
}
