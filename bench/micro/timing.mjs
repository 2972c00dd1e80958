// Shared timing loop of the micro benchmarks. Best of `rounds` rounds: on a shared machine the
// slowest rounds measure the neighbours, not us. Returns nanoseconds per operation.

export const SECONDS = Number(process.argv[2] ?? 0.5);
export const ROUNDS = 5;

/** Time a synchronous `fn(i)`; `batch` calls run between clock reads. */
export function bestNsPerOp(fn, { warm = 20_000, batch = 1_000, seconds = SECONDS, rounds = ROUNDS } = {}) {
  for (let i = 0; i < warm; i++) fn(i); // warm up into optimized code
  const budget = BigInt(Math.round((seconds / rounds) * 1e9));
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    let ops = 0;
    let elapsed = 0n;
    const start = process.hrtime.bigint();
    while (elapsed < budget) {
      for (let i = 0; i < batch; i++) fn(ops + i);
      ops += batch;
      elapsed = process.hrtime.bigint() - start;
    }
    best = Math.min(best, Number(elapsed) / ops);
  }
  return best;
}

/** The same for an async `fn`, awaited one call at a time. */
export async function bestNsPerOpAsync(fn, { warm = 300, batch = 50, seconds = SECONDS, rounds = ROUNDS } = {}) {
  for (let i = 0; i < warm; i++) await fn();
  const budget = BigInt(Math.round((seconds / rounds) * 1e9));
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    let ops = 0;
    let elapsed = 0n;
    const start = process.hrtime.bigint();
    while (elapsed < budget) {
      for (let i = 0; i < batch; i++) await fn();
      ops += batch;
      elapsed = process.hrtime.bigint() - start;
    }
    best = Math.min(best, Number(elapsed) / ops);
  }
  return best;
}
