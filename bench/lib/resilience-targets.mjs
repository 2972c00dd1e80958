// Issue 6's benchmark: Gatehouse balancing over 3 endpoints with least_request (outlier detection
// and the default circuit breakers on), reported as a same-round req/s ratio to the plain
// `gatehouse` target (one endpoint, round-robin). Target: >= 0.95.
//
// The three endpoints are three ports of one extra nginx (one worker, the same fixed 1 KiB body
// as the bench upstream), pinned to the load core like the main upstream, so both targets talk
// to one nginx worker and differ only in Gatehouse's balancing work.
import { freePort } from './processes.mjs';
import { startUpstreams } from './nginx.mjs';
import { gatehouseTarget } from './targets.mjs';

export const LB_BASELINE = 'gatehouse';
export const GATEHOUSE_LB3 = 'gatehouse-lb3';

async function startTriUpstream(env, name) {
  const ports = [await freePort(), await freePort(), await freePort()];
  const { proc, urls } = await startUpstreams({ dir: env.dir, name, ports, cpu: env.cpus.load });
  // Cluster endpoints are origins: no trailing path.
  return { proc, urls: urls.map((u) => u.replace(/\/$/, '')) };
}

/** (i) Gatehouse, 3 endpoints, least_request, outlier detection on. */
export function gatehouseLb3Target({ name = GATEHOUSE_LB3, label = '(i) Gatehouse, 3 endpoints, least_request + outlier detection', ...opts } = {}) {
  let upstream = null;
  const t = gatehouseTarget({
    name,
    label,
    ...opts,
    config: async (env) => {
      upstream = await startTriUpstream(env, `${name}-upstreams`);
      return {
        clusters: [
          {
            name: 'upstream',
            endpoints: upstream.urls,
            lb_policy: 'least_request',
            outlier_detection: { consecutive_5xx: 5 },
          },
        ],
      };
    },
  });
  const stop = t.stop.bind(t);
  return Object.assign(t, {
    baseline: LB_BASELINE,
    measureAt1: false,
    async stop() {
      await stop();
      await upstream?.proc.stop();
      upstream = null;
    },
  });
}
