// Gatehouse in front of an https upstream (nginx over TLS, certificate verified against its own
// throwaway CA file), once with the builtin upstream client and once with `http_client: undici`:
// loaded together (`BENCH_PAIRS=gatehouse-https-undici:gatehouse-https node bench/run.mjs
// --paired`) they say what the builtin client is worth on TLS. Not in the default run.
import { freePort } from './processes.mjs';
import { startTlsUpstream } from './nginx.mjs';
import { gatehouseTarget } from './targets.mjs';

export function gatehouseHttpsTarget({ client = 'builtin', name = client === 'builtin' ? 'gatehouse-https' : 'gatehouse-https-undici' } = {}) {
  let upstream = null;
  const t = gatehouseTarget({
    name,
    label: `(j) Gatehouse, https upstream, ${client} client`,
    config: async (env) => {
      upstream = await startTlsUpstream({ dir: env.dir, name: `${name}-upstream`, port: await freePort(), plainPort: await freePort(), cpu: env.cpus.load });
      return { clusters: [{ name: 'upstream', endpoints: [upstream.origin], tls: { ca_file: upstream.caFile }, http_client: client }] };
    },
  });
  const stop = t.stop.bind(t);
  return Object.assign(t, {
    default: false,
    measureAt1: false,
    async stop() {
      await stop();
      await upstream?.proc.stop();
      upstream = null;
    },
  });
}
