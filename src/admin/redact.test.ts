import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactConfig } from './redact.js';
import type { GatehouseConfig } from '../config/schema.js';

test('values from secret references and secret-named fields are redacted; everything else is kept', () => {
  const config = {
    listeners: [{ port: 8080 }],
    admin: { token: 'admin-token-value-123' },
    routes: [
      {
        name: 'r',
        cluster: 'c',
        request_headers: { set: { Authorization: 'Bearer static', 'x-env': 'prod' } },
        filters: { api_key: { keys: [{ id: 'k1', hash: 'sha256:abc', owner: 'o' }] }, custom: { url: 'https://user-from-env' } },
      },
    ],
    clusters: [{ name: 'c', endpoints: ['http://127.0.0.1:9000'], aws_sigv4: { region: 'eu-west-1', service: 'execute-api', access_key_id: 'AKIDLITERAL', secret_access_key: 'literal-aws-secret', session_token: 'literal-token' } }],
    audit: { enabled: true, dir: '/tmp/a', hmac_key: 'literal-hmac-key-0123456789' },
  } as unknown as GatehouseConfig;
  const out = redactConfig(config, ['routes[0].filters.custom.url']) as any;
  assert.equal(out.admin.token, '[redacted]');
  assert.equal(out.routes[0].request_headers.set.Authorization, '[redacted]');
  assert.equal(out.routes[0].request_headers.set['x-env'], 'prod');
  assert.equal(out.routes[0].filters.api_key.keys[0].hash, '[redacted]');
  assert.equal(out.routes[0].filters.api_key.keys[0].id, 'k1');
  assert.equal(out.routes[0].filters.custom.url, '[redacted]', 'a secret-sourced value, whatever its key');
  assert.equal(out.clusters[0].endpoints[0], 'http://127.0.0.1:9000');
  // Written inline (validate warns), they are still never shown.
  assert.equal(out.clusters[0].aws_sigv4.secret_access_key, '[redacted]');
  assert.equal(out.clusters[0].aws_sigv4.session_token, '[redacted]');
  assert.equal(out.clusters[0].aws_sigv4.access_key_id, 'AKIDLITERAL');
  assert.equal(out.audit.hmac_key, '[redacted]');
  assert.equal((config as any).admin.token, 'admin-token-value-123', 'the running config is not modified');
});
