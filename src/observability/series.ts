// Metric families whose series are bound once and then updated with plain arithmetic, exposed
// through prom-client's Registry (so the text format is prom-client's own). Measured on this
// machine (node 20): a prom-client child counter inc() costs ~490 ns and a histogram observe()
// ~660 ns, because every call re-validates and re-hashes the label set; a bound series here costs
// 5-10 ns. With ~6 updates per request that is ~3.5 µs vs ~0.05 µs per request.
// Families implement the small interface Registry#registerMetric and #metrics() rely on
// (name, help, type, get(), reset()).

export type Labels = Readonly<Record<string, string>>;

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

interface MetricSnapshot {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  values: MetricValue[];
  aggregator: 'sum';
}

abstract class Family<S> {
  readonly #series = new Map<string, S>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}

  /** The series for these label values (in labelNames order); created once, then reused. */
  bind(...values: string[]): S {
    const key = values.length === 1 ? values[0]! : values.join('\u0000');
    let s = this.#series.get(key);
    if (s === undefined) {
      if (values.length !== this.labelNames.length) throw new Error(`${this.name}: expected ${this.labelNames.length} label values`);
      const labels: Record<string, string> = {};
      this.labelNames.forEach((n, i) => (labels[n] = values[i]!));
      s = this.create(Object.freeze(labels));
      this.#series.set(key, s);
    }
    return s;
  }

  protected abstract create(labels: Labels): S;

  protected series(): IterableIterator<S> {
    return this.#series.values();
  }

  reset(): void {
    this.#series.clear();
  }
}

export class CounterSeries {
  value = 0;
  constructor(readonly labels: Labels) {}
  inc(n = 1): void {
    this.value += n;
  }
}

export class CounterFamily extends Family<CounterSeries> {
  readonly type = 'counter';
  protected create(labels: Labels): CounterSeries {
    return new CounterSeries(labels);
  }
  get(): MetricSnapshot {
    const values: MetricValue[] = [];
    for (const s of this.series()) values.push({ labels: { ...s.labels }, value: s.value });
    return { name: this.name, help: this.help, type: 'counter', values, aggregator: 'sum' };
  }
}

export class HistogramSeries {
  /** counts[i]: observations <= bounds[i] and > bounds[i-1]; the last slot is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(
    readonly labels: Labels,
    readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }
  observe(v: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && v > b[i]!) i++;
    this.counts[i]!++;
    this.sum += v;
    this.count++;
  }
}

export class HistogramFamily extends Family<HistogramSeries> {
  readonly type = 'histogram';
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    readonly bounds: readonly number[],
  ) {
    super(name, help, labelNames);
  }
  protected create(labels: Labels): HistogramSeries {
    return new HistogramSeries(labels, this.bounds);
  }
  get(): MetricSnapshot {
    const values: MetricValue[] = [];
    for (const s of this.series()) {
      let cumulative = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        cumulative += s.counts[i]!;
        const le = i < this.bounds.length ? this.bounds[i]! : '+Inf';
        values.push({ metricName: `${this.name}_bucket`, labels: { ...s.labels, le }, value: cumulative });
      }
      values.push({ metricName: `${this.name}_sum`, labels: { ...s.labels }, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels: { ...s.labels }, value: s.count });
    }
    return { name: this.name, help: this.help, type: 'histogram', values, aggregator: 'sum' };
  }
}

/** A series set read at scrape time from plain numbers kept elsewhere (connections, in-flight
 * requests, pool state, store statistics): free on the hot path. */
class Collected {
  constructor(
    readonly type: 'gauge' | 'counter',
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly collect: () => Iterable<{ labels: Labels; value: number }>,
  ) {}
  get(): MetricSnapshot {
    const values: MetricValue[] = [];
    for (const v of this.collect()) values.push({ labels: { ...v.labels }, value: v.value });
    return { name: this.name, help: this.help, type: this.type, values, aggregator: 'sum' };
  }
  reset(): void {}
}

export class CollectedGauge extends Collected {
  constructor(name: string, help: string, labelNames: readonly string[], collect: () => Iterable<{ labels: Labels; value: number }>) {
    super('gauge', name, help, labelNames, collect);
  }
}

/** A counter whose value something else keeps (it must only grow). */
export class CollectedCounter extends Collected {
  constructor(name: string, help: string, labelNames: readonly string[], collect: () => Iterable<{ labels: Labels; value: number }>) {
    super('counter', name, help, labelNames, collect);
  }
}
