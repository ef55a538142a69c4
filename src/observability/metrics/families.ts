/**
 * The families behind the definitions table, as typed handles: `families.litellm_spend_metric` is
 * a CounterFamily, and a misspelt name does not compile. A metric the configuration drops still
 * has a handle, whose series are one shared sink that is never rendered (LiteLLM's NoOpMetric), so
 * writers need no check.
 */
import type { ResolvedMetricsConfig } from './config.js';
import { exposedName, METRICS, type MetricNameOf } from './definitions.js';
import { ExpositionWriter } from './exposition.js';
import { CounterFamily, GaugeFamily, HistogramFamily } from './series.js';

export type AnyFamily = CounterFamily | GaugeFamily | HistogramFamily;

export type Families = { readonly [N in MetricNameOf<'counter'>]: CounterFamily } & { readonly [N in MetricNameOf<'gauge'>]: GaugeFamily } & {
  readonly [N in MetricNameOf<'histogram'>]: HistogramFamily;
};

export interface FamilySet {
  readonly families: Families;
  /** The exposition: enabled families in definitions order, as prom-client's registry joined them. */
  readonly render: () => ExpositionWriter;
}

export function buildFamilies(config: ResolvedMetricsConfig, services: { redis?: boolean | undefined } = {}): FamilySet {
  const byName: Record<string, AnyFamily> = {};
  const enabled: AnyFamily[] = [];
  for (const def of METRICS) {
    const labels = config.metrics.get(def.name);
    const on = labels !== undefined && (def.requires !== 'redis' || services.redis === true);
    const args = [def, exposedName(def), labels ?? [], on] as const;
    const family = (def.type === 'counter' ? new CounterFamily(...args) : def.type === 'gauge' ? new GaugeFamily(...args) : new HistogramFamily(...args)).init();
    byName[def.name] = family;
    if (on) enabled.push(family);
  }
  // Sized from the previous scrape, so a large exposition is not copied while it grows.
  let lastLength = 0;
  return {
    // Every name of the table was just filled in, which is what the mapped type promises.
    families: byName as unknown as Families,
    render: () => {
      const w = new ExpositionWriter(lastLength + (lastLength >> 3));
      // prom-client joined families with a blank line and ended with one newline ('\n' when empty).
      if (enabled.length === 0) w.byte(0x0a);
      enabled.forEach((family, i) => {
        if (i > 0) w.byte(0x0a);
        family.render(w);
      });
      lastLength = w.length;
      return w;
    },
  };
}
