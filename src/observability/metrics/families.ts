/**
 * The prom-client objects behind the definitions table: one per metric that the resolved config
 * keeps, each knowing its final label names. A metric the config drops has no family, and every
 * update to it is a cheap no-op (LiteLLM's NoOpMetric).
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ResolvedMetricsConfig } from './config.js';
import { exposedName, METRICS } from './definitions.js';
import { pick, type LabelValues } from './labels.js';

type PromMetric = Counter | Gauge | Histogram;

export class Family {
  constructor(
    readonly name: string,
    readonly labels: readonly string[],
    private readonly metric: PromMetric,
  ) {}

  inc(values: LabelValues, by = 1): void {
    // Counters only go up; a negative or non-finite count is a producer bug, not a reset.
    if (!Number.isFinite(by) || by < 0) return;
    if (this.metric instanceof Histogram) return;
    this.metric.inc(pick(values, this.labels), by);
  }

  set(values: LabelValues, value: number): void {
    if (this.metric instanceof Gauge) this.metric.set(pick(values, this.labels), value);
  }

  dec(values: LabelValues, by = 1): void {
    if (this.metric instanceof Gauge) this.metric.dec(pick(values, this.labels), by);
  }

  observe(values: LabelValues, value: number): void {
    if (!Number.isFinite(value) || value < 0) return;
    if (this.metric instanceof Histogram) this.metric.observe(pick(values, this.labels), value);
  }
}

export type Families = ReadonlyMap<string, Family>;

export function buildFamilies(config: ResolvedMetricsConfig, registry: Registry): Families {
  const families = new Map<string, Family>();
  for (const def of METRICS) {
    const labels = config.metrics.get(def.name);
    if (labels === undefined) continue;
    const common = { name: exposedName(def), help: def.help, labelNames: [...labels], registers: [registry] };
    const metric: PromMetric =
      def.type === 'counter'
        ? new Counter(common)
        : def.type === 'gauge'
          ? new Gauge(common)
          : new Histogram({ ...common, buckets: [...(def.buckets ?? [])] });
    families.set(def.name, new Family(def.name, labels, metric));
  }
  return families;
}
