// Which client serves an endpoint: the builtin H1Pool (the default, http:// and https://), undici
// when the cluster says `http_client: undici`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Pool } from 'undici';
import { createCluster } from './cluster.js';
import { H1Pool } from './h1-pool.js';

test('endpoints get the builtin pool by default, undici on request', async () => {
  const cases = [
    [{}, 'http://127.0.0.1:1', H1Pool],
    [{ http_client: 'builtin' as const }, 'http://127.0.0.1:1', H1Pool],
    [{ http_client: 'undici' as const }, 'http://127.0.0.1:1', Pool],
    [{}, 'https://127.0.0.1:1', H1Pool],
    [{ http_client: 'builtin' as const }, 'https://127.0.0.1:1', H1Pool],
    [{ http_client: 'undici' as const }, 'https://127.0.0.1:1', Pool],
  ] as const;
  for (const [extra, url, kind] of cases) {
    const c = createCluster({ name: 'c', endpoints: [url], ...extra }, '/');
    try {
      assert.ok(c.endpoints[0]!.pool instanceof kind, `${JSON.stringify(extra)} ${url} → ${kind.name}`);
    } finally {
      await c.close();
    }
  }
});
