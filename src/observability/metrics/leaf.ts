/**
 * The series of one label combination (a leaf of the observer's trie), resolved on first write and
 * then reused, and the writers that put a sample into them. Samples travel through `pending`
 * (series.ts) so no double is boxed between these small functions.
 */
import { addPending, observePending, pending, validPending, type CounterFamily, type HistogramFamily, type HistogramSeries, type LabelView, type NumberSeries } from './series.js';
import type { Trie } from './trie.js';

/** One metric as fed from a leaf: which slot of the leaf caches its series, and how to resolve it. */
export interface Slot<F> {
  readonly slot: number;
  readonly family: F;
  readonly view: LabelView;
  /** A label this metric sets per sample (`cache_ttl`, `reason`), or -1. */
  readonly variant: number;
  readonly variantValue: string;
}

/** The series of one label combination, filled in as metrics first write to it. */
export class Leaf {
  readonly counters: (NumberSeries | undefined)[];
  readonly histograms: (HistogramSeries | undefined)[];
  /** Per-deployment series of this call combination, keyed by the attempt's own labels. */
  attempts: Trie<Leaf> | undefined;
  constructor(
    /** Sanitized label values, in schema order. */
    readonly values: readonly string[],
    counters: number,
    histograms: number,
  ) {
    this.counters = new Array<NumberSeries | undefined>(counters).fill(undefined);
    this.histograms = new Array<HistogramSeries | undefined>(histograms).fill(undefined);
  }
}

function variantValues(values: readonly string[], slot: Slot<unknown>): readonly string[] {
  if (slot.variant < 0) return values;
  const copy = values.slice();
  copy[slot.variant] = slot.variantValue;
  return copy;
}

export function counterOf(leaf: Leaf, s: Slot<CounterFamily>): NumberSeries {
  const cached = leaf.counters[s.slot];
  if (cached !== undefined) return cached;
  const series = s.family.seriesIn(variantValues(leaf.values, s), s.view);
  leaf.counters[s.slot] = series;
  return series;
}

export function histogramOf(leaf: Leaf, s: Slot<HistogramFamily>): HistogramSeries {
  const cached = leaf.histograms[s.slot];
  if (cached !== undefined) return cached;
  const series = s.family.seriesIn(variantValues(leaf.values, s), s.view);
  leaf.histograms[s.slot] = series;
  return series;
}

/**
 * `pending[0]` into the metric's series; an invalid value creates no series (it never did:
 * prom-client was not called for it). Values go through `pending` so no double is boxed (series.ts).
 */
export function countPending(leaf: Leaf, s: Slot<CounterFamily>): void {
  if (validPending()) addPending(counterOf(leaf, s));
}

export function samplePending(leaf: Leaf, s: Slot<HistogramFamily>): void {
  if (validPending()) observePending(histogramOf(leaf, s), s.family.bounds);
}

export function count(leaf: Leaf, s: Slot<CounterFamily>, by: number): void {
  pending[0] = by;
  countPending(leaf, s);
}

export function sample(leaf: Leaf, s: Slot<HistogramFamily>, value: number): void {
  pending[0] = value;
  samplePending(leaf, s);
}
