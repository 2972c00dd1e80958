// "Disabled costs nothing": without a `tracing:` section the gateway never loads OpenTelemetry,
// so no OTel code (or global) exists in the process. A real `gatehouse start` process is watched
// with NODE_DEBUG=esm, which names every module the loader stores; the same process with tracing
// configured is the control that shows the check can see OTel being loaded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startUpstream } from '../helpers/upstream.js';
import { startCliGateway } from '../helpers/cli.js';

async function modulesLoaded(upstream: string, tracing: boolean): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-otel-'));
  const file = join(dir, 'g.yaml');
  writeFileSync(
    file,
    `listeners: [{ port: 0 }]
admin: { port: 0 }
access_log: { enabled: false }
${tracing ? 'tracing: { endpoint: "http://127.0.0.1:9/v1/traces", sample_ratio: 1 }\n' : ''}routes: [{ name: all, cluster: up }]
clusters: [{ name: up, endpoints: ["${upstream}"] }]
`,
  );
  const gw = await startCliGateway(file, { env: { NODE_DEBUG: 'esm' } });
  try {
    const r = await request(`http://127.0.0.1:${gw.port}/x`);
    await r.body.dump();
    assert.equal(r.statusCode, 200);
    await gw.stop();
  } finally {
    gw.child.kill('SIGKILL');
  }
  return gw.stderr();
}

test('without tracing configured, no OpenTelemetry module is ever loaded (with it, they are)', async () => {
  const up = await startUpstream((_q, res) => res.end('ok'));
  try {
    const off = await modulesLoaded(up.url, false);
    assert.match(off, /ESM \d+: Storing file:\/\/.*\/dist\/src\/gateway\.js/, 'the module log is there');
    assert.doesNotMatch(off, /@opentelemetry/, 'no OTel module in a gateway without tracing');
    const on = await modulesLoaded(up.url, true);
    assert.match(on, /node_modules\/@opentelemetry\/sdk-trace\//, 'the control: tracing loads the SDK');
  } finally {
    await up.close();
  }
});
