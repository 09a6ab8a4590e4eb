// The data path's two per-request metrics, kept in plain numbers and read by Prometheus at scrape time.
// prom-client hashes a label set on every increment and observation; on the router's hot path that was 15%
// of its throughput (bench/router-overhead.ts). These objects are registered in a prom-client registry as
// they are: it asks them for their values (`get()`) only when scraped or aggregated across workers.
import type { Registry } from 'prom-client';

interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

interface MetricSnapshot {
  name: string;
  help: string;
  type: 'counter' | 'histogram';
  aggregator: 'sum';
  values: Sample[];
}

abstract class ScrapedMetric {
  readonly aggregator = 'sum';
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'histogram',
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  abstract get(): Promise<MetricSnapshot>;
  abstract reset(): void;
}

/** A counter by label values, one series per distinct combination. */
export class HotCounter<L extends string> extends ScrapedMetric {
  private series = new Map<string, Sample>();

  constructor(
    name: string,
    help: string,
    private readonly labelNames: readonly L[],
    registry: Registry,
  ) {
    super(name, help, 'counter', registry);
  }

  /** The label values in `labelNames` order. */
  inc(...values: Array<string | number>): void {
    const key = values.join('\u0000');
    const series = this.series.get(key);
    if (series !== undefined) {
      series.value++;
      return;
    }
    this.series.set(key, {
      labels: Object.fromEntries(this.labelNames.map((name, i) => [name, values[i]!])),
      value: 1,
    });
  }

  async get(): Promise<MetricSnapshot> {
    return {
      name: this.name,
      help: this.help,
      type: 'counter',
      aggregator: 'sum',
      values: [...this.series.values()].map((s) => ({ labels: { ...s.labels }, value: s.value })),
    };
  }

  reset(): void {
    this.series = new Map();
  }
}

/** A histogram by one label: bucket counts, sum and count per label value. */
export class HotHistogram extends ScrapedMetric {
  private series = new Map<string, { buckets: Float64Array; sum: number; count: number }>();

  constructor(
    name: string,
    help: string,
    private readonly labelName: string,
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    super(name, help, 'histogram', registry);
  }

  observe(label: string, value: number): void {
    let series = this.series.get(label);
    if (series === undefined)
      this.series.set(label, (series = { buckets: new Float64Array(this.bounds.length), sum: 0, count: 0 }));
    series.sum += value;
    series.count++;
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        series.buckets[i]!++;
        return;
      }
    }
  }

  async get(): Promise<MetricSnapshot> {
    const values: Sample[] = [];
    for (const [label, { buckets, sum, count }] of this.series) {
      let cumulative = 0;
      this.bounds.forEach((bound, i) => {
        cumulative += buckets[i]!;
        values.push({
          metricName: `${this.name}_bucket`,
          labels: { le: bound, [this.labelName]: label },
          value: cumulative,
        });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf', [this.labelName]: label }, value: count });
      values.push({ metricName: `${this.name}_sum`, labels: { [this.labelName]: label }, value: sum });
      values.push({ metricName: `${this.name}_count`, labels: { [this.labelName]: label }, value: count });
    }
    return { name: this.name, help: this.help, type: 'histogram', aggregator: 'sum', values };
  }

  reset(): void {
    this.series = new Map();
  }
}
