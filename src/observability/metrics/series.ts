/**
 * Metric families as plain numeric cells. A series is created once per label combination (its
 * label text escaped and kept for the scrape); after that a sample is one addition on a number or
 * a Float64Array slot. Nothing here hashes label objects: callers hold on to the series they
 * resolved (see observe.ts and recorder.ts), and the text is only built when /metrics is read.
 */
import type { MetricDefinition } from './definitions.js';
import { escapeHelp, formatBound, formatValue, isAscii, labelText, type ExpositionWriter } from './exposition.js';
import { NONE } from './labels.js';

/**
 * A series' labels as written between the braces, `a="x",b="y"` (escaped, UTF-8), or undefined
 * for a family without labels. Encoded once, when the series is created.
 */
export type LabelBytes = Uint8Array | undefined;

/** A counter or gauge cell. */
export class NumberSeries {
  value = 0;
  constructor(readonly labels: LabelBytes) {}
}

/** One histogram series: a count per finite bucket (not cumulative), the sum and the count. */
export class HistogramSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(
    readonly labels: LabelBytes,
    buckets: number,
  ) {
    this.counts = new Float64Array(buckets);
  }
}

const NEWLINE = 0x0a;
const SPACE = 0x20;
const COMMA = 0x2c;
const OPEN = 0x7b; // {
const CLOSE = 0x7d; // }

/** Counters only go up; a negative or non-finite count is a producer bug, not a reset. */
export function add(series: NumberSeries, by: number): void {
  if (by >= 0 && by !== Infinity) series.value += by;
}

/**
 * A computed sample on its way into a cell. A double passed as an argument to a function V8 did
 * not inline is boxed (16 bytes); written here it is not, so the per-request path allocates nothing
 * however the JIT inlines it. Written immediately before `validPending` / `addPending` /
 * `observePending` read it (all synchronous, so no other sample can come in between).
 */
export const pending = new Float64Array(1);

/** Counters only go up and histograms drop non-finite and negative values, as before. */
export function validPending(): boolean {
  const value = pending[0] ?? NaN;
  return value >= 0 && value !== Infinity;
}

export function addPending(series: NumberSeries): void {
  series.value += pending[0] ?? NaN;
}

/** Records `pending[0]`, already checked with `validPending`. */
export function observePending(series: HistogramSeries, bounds: Float64Array): void {
  const value = pending[0] ?? NaN;
  // First bucket whose bound is ≥ value; above the last bound only +Inf (the count) sees it.
  let lo = 0;
  let hi = bounds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((bounds[mid] ?? Infinity) < value) lo = mid + 1;
    else hi = mid;
  }
  if (lo < bounds.length) series.counts[lo] = (series.counts[lo] ?? 0) + 1;
  series.sum += value;
  series.count += 1;
}

/**
 * Where a family reads its label values from: for each of its labels, the index in a caller's
 * value array (-1: the caller has no such label, so "None").
 */
export type LabelView = Int32Array;

abstract class Family<S extends { readonly labels: LabelBytes }> {
  private readonly byKey = new Map<string, S>();
  /** The exposed name (`_total` on counters), encoded. */
  protected readonly name: Uint8Array;
  private readonly header: string;
  /** Whether every label text so far is ASCII (the usual case: the scrape is then a Latin-1 copy). */
  protected ascii = true;

  constructor(
    readonly def: MetricDefinition,
    exposed: string,
    /** Final label names after the configuration, in default order. */
    readonly labels: readonly string[],
    /** False for a metric the configuration drops: every series is one shared, unrendered sink. */
    readonly enabled: boolean,
  ) {
    this.name = Buffer.from(exposed, 'latin1');
    this.header = `# HELP ${exposed} ${escapeHelp(def.help)}\n# TYPE ${exposed} ${def.type}\n`;
  }

  /**
   * A family without labels has its one series from the start (prom-client printed `name 0` for
   * such a counter or gauge before its first sample, and a histogram's empty buckets).
   */
  init(): this {
    if (this.labels.length === 0) this.seriesOf([]);
    return this;
  }

  /** The series for these values, in this family's label order; created on first use. */
  seriesOf(values: readonly string[]): S {
    if (!this.enabled) return this.sink;
    const key = values.length === 1 ? (values[0] ?? '') : values.join('\u0000');
    let series = this.byKey.get(key);
    if (series === undefined) {
      const text = labelText(this.labels, values);
      if (!isAscii(text)) this.ascii = false;
      series = this.create(values.length === 0 ? undefined : Buffer.from(text, 'utf8'));
      this.byKey.set(key, series);
    }
    return series;
  }

  /** Maps this family's labels onto a caller's label schema. */
  view(schema: readonly string[]): LabelView {
    return Int32Array.from(this.labels, (l) => schema.indexOf(l));
  }

  /** The series for a caller's values (in `schema` order), through a view made from that schema. */
  seriesIn(values: readonly string[], view: LabelView): S {
    if (!this.enabled) return this.sink;
    const picked: string[] = [];
    for (let i = 0; i < view.length; i++) {
      const at = view[i] ?? -1;
      picked.push(at < 0 ? NONE : (values[at] ?? NONE));
    }
    return this.seriesOf(picked);
  }

  /** `# HELP`, `# TYPE` and every sample line, each ending in a newline. */
  render(w: ExpositionWriter): void {
    w.utf8(this.header);
    for (const series of this.byKey.values()) this.renderSeries(w, series);
  }

  /** `name{a="x"} value` (no braces without labels) and a newline. */
  protected sample(w: ExpositionWriter, name: Uint8Array, labels: LabelBytes, value: number): void {
    w.bytes(name, true);
    if (labels !== undefined) {
      w.byte(OPEN);
      w.bytes(labels, this.ascii);
      w.byte(CLOSE);
    }
    w.byte(SPACE);
    w.ascii(formatValue(value));
    w.byte(NEWLINE);
  }

  protected abstract readonly sink: S;
  protected abstract create(labels: LabelBytes): S;
  protected abstract renderSeries(w: ExpositionWriter, series: S): void;
}

export class CounterFamily extends Family<NumberSeries> {
  protected readonly sink = new NumberSeries(undefined);
  protected create(labels: LabelBytes): NumberSeries {
    return new NumberSeries(labels);
  }
  protected renderSeries(w: ExpositionWriter, s: NumberSeries): void {
    this.sample(w, this.name, s.labels, s.value);
  }
}

/** Gauges share the counter's cell; only their writers differ (set, inc, dec). */
export class GaugeFamily extends CounterFamily {}

export class HistogramFamily extends Family<HistogramSeries> {
  /** Finite bucket bounds, ascending; +Inf is implied. */
  readonly bounds: Float64Array;
  /** `name_bucket{le="0.005"` per finite bound, then the +Inf one. */
  private readonly bucketPrefix: readonly Uint8Array[];
  private readonly sumName: Uint8Array;
  private readonly countName: Uint8Array;
  protected readonly sink: HistogramSeries;

  constructor(def: MetricDefinition, exposed: string, labels: readonly string[], enabled: boolean) {
    super(def, exposed, labels, enabled);
    this.bounds = Float64Array.from(def.buckets ?? []);
    this.bucketPrefix = [...[...this.bounds].map(formatBound), '+Inf'].map((b) => Buffer.from(`${exposed}_bucket{le="${b}"`, 'latin1'));
    this.sumName = Buffer.from(`${exposed}_sum`, 'latin1');
    this.countName = Buffer.from(`${exposed}_count`, 'latin1');
    this.sink = new HistogramSeries(undefined, this.bounds.length);
  }

  protected create(labels: LabelBytes): HistogramSeries {
    return new HistogramSeries(labels, this.bounds.length);
  }

  /** Cumulative buckets with `le` first (as prom-client wrote them), +Inf, then sum and count. */
  protected renderSeries(w: ExpositionWriter, s: HistogramSeries): void {
    let cumulative = 0;
    const prefixes = this.bucketPrefix;
    for (let i = 0; i < prefixes.length; i++) {
      const prefix = prefixes[i];
      if (prefix === undefined) continue;
      cumulative = i < s.counts.length ? cumulative + (s.counts[i] ?? 0) : s.count;
      w.bytes(prefix, true);
      if (s.labels !== undefined) {
        w.byte(COMMA);
        w.bytes(s.labels, this.ascii);
      }
      w.byte(CLOSE);
      w.byte(SPACE);
      w.ascii(formatValue(cumulative));
      w.byte(NEWLINE);
    }
    this.sample(w, this.sumName, s.labels, s.sum);
    this.sample(w, this.countName, s.labels, s.count);
  }
}
