/**
 * LiteLLM's Prometheus settings (`litellm_settings.prometheus_metrics_config`,
 * `prometheus_exclude_metrics`, `prometheus_exclude_labels`, `custom_prometheus_metadata_labels`,
 * `prometheus_emit_stream_label`, `enable_end_user_cost_tracking_prometheus_only`), validated once
 * at startup into the exact set of metrics and labels the recorder creates. A typo is an Error
 * naming the group, the bad name and the allowed ones, so a dashboard never silently goes blank.
 */
import { LITELLM_METRICS_NOT_EMITTED, METRICS, METRICS_BY_NAME, type MetricDefinition } from './definitions.js';

/** The keys of `litellm_settings` this module reads; values are unvalidated YAML. */
export interface MetricsSettings {
  prometheus_metrics_config?: unknown;
  prometheus_exclude_metrics?: unknown;
  prometheus_exclude_labels?: unknown;
  custom_prometheus_metadata_labels?: unknown;
  prometheus_emit_stream_label?: unknown;
  enable_end_user_cost_tracking_prometheus_only?: unknown;
}

export const METRICS_SETTING_KEYS = [
  'prometheus_metrics_config',
  'prometheus_exclude_metrics',
  'prometheus_exclude_labels',
  'custom_prometheus_metadata_labels',
  'prometheus_emit_stream_label',
  'enable_end_user_cost_tracking_prometheus_only',
] as const satisfies readonly (keyof MetricsSettings)[];

/** A label whose value is read from the call's metadata. */
export interface CustomLabel {
  /** Prometheus label name, e.g. `metadata_foo`. */
  readonly label: string;
  /** Keys to walk inside `call.metadata`, e.g. `['foo']`. */
  readonly path: readonly string[];
}

export interface ResolvedMetricsConfig {
  /** Every metric that exists, with its final label names in default order. */
  readonly metrics: ReadonlyMap<string, readonly string[]>;
  readonly customLabels: readonly CustomLabel[];
  /** Fill `end_user` (off by default in LiteLLM: end users are unbounded cardinality). */
  readonly endUser: boolean;
  readonly streamLabel: boolean;
  /** Accepted but ignored settings, worth one startup warning each. */
  readonly warnings: readonly string[];
}

const NOT_EMITTED = new Set(LITELLM_METRICS_NOT_EMITTED);

export function resolveMetricsConfig(settings: MetricsSettings = {}): ResolvedMetricsConfig {
  const errors: string[] = [];
  const warnings: string[] = [];
  const streamLabel = flag(settings.prometheus_emit_stream_label, 'prometheus_emit_stream_label', errors);
  const endUser = flag(settings.enable_end_user_cost_tracking_prometheus_only, 'enable_end_user_cost_tracking_prometheus_only', errors);
  const customLabels = parseCustomLabels(settings.custom_prometheus_metadata_labels, errors);
  const defaults = defaultLabels(customLabels, streamLabel);
  const everyLabel = [...new Set([...defaults.values()].flat())].sort();

  const excludedMetrics = new Set<string>();
  for (const name of stringList(settings.prometheus_exclude_metrics, 'prometheus_exclude_metrics', errors)) {
    if (METRICS_BY_NAME.has(name) || NOT_EMITTED.has(name)) excludedMetrics.add(name);
    else errors.push(unknownMetric('prometheus_exclude_metrics', name));
  }
  const excludedLabels = new Set<string>();
  for (const label of stringList(settings.prometheus_exclude_labels, 'prometheus_exclude_labels', errors)) {
    if (everyLabel.includes(label)) excludedLabels.add(label);
    else errors.push(`prometheus_exclude_labels: unknown label "${label}"${suggest(label, everyLabel)}. Allowed labels: ${everyLabel.join(', ')}`);
  }

  const groups = parseGroups(settings.prometheus_metrics_config, errors);
  // Without groups every metric exists with its default labels (LiteLLM: an empty list = no config).
  const selected = new Map<string, readonly string[] | undefined>();
  if (groups.length === 0) for (const def of METRICS) selected.set(def.name, undefined);
  for (const group of groups) {
    const where = `prometheus_metrics_config group "${group.group}"`;
    for (const name of group.metrics) {
      const labels = defaults.get(name);
      if (labels === undefined) {
        if (NOT_EMITTED.has(name)) warnings.push(`${where}: ${name} is a LiteLLM metric Tollgate does not emit; ignored`);
        else errors.push(unknownMetric(where, name));
        continue;
      }
      const bad = (group.includeLabels ?? []).filter((l) => !labels.includes(l));
      for (const label of bad) {
        errors.push(`${where}: "${label}" is not a label of ${name}${suggest(label, labels)}. Allowed labels: ${labels.join(', ') || '(none)'}`);
      }
      // Like LiteLLM, a later group naming the same metric replaces the earlier label filter.
      selected.set(name, group.includeLabels);
    }
  }
  if (errors.length > 0) throw new Error(`Invalid Prometheus metrics configuration:\n- ${errors.join('\n- ')}`);

  const metrics = new Map<string, readonly string[]>();
  for (const def of METRICS) {
    if (!selected.has(def.name) || excludedMetrics.has(def.name)) continue;
    const include = selected.get(def.name);
    const labels = (defaults.get(def.name) ?? []).filter((l) => (include === undefined || include.includes(l)) && !excludedLabels.has(l));
    metrics.set(def.name, labels);
  }
  const cacheWarning = responseCacheOnlyWarning(groups.length > 0, metrics);
  if (cacheWarning !== undefined) warnings.push(cacheWarning);
  return { metrics, customLabels, endUser, streamLabel, warnings };
}

const RESPONSE_CACHE_METRICS = ['litellm_cache_hits_metric', 'litellm_cache_misses_metric', 'litellm_cached_tokens_metric'];
const PROMPT_CACHE_METRICS = ['litellm_input_cached_tokens_metric', 'litellm_input_cache_creation_tokens_metric'];

/**
 * Many LiteLLM users enable the three `litellm_cache_*` metrics to watch Anthropic/Bedrock/Vertex
 * prompt caching; in LiteLLM (prometheus.py, `_increment_cache_metrics`) and here they count the
 * gateway's own response cache, so those series stay empty. One startup line names the right ones.
 */
function responseCacheOnlyWarning(configured: boolean, metrics: ReadonlyMap<string, readonly string[]>): string | undefined {
  const enabled = RESPONSE_CACHE_METRICS.filter((m) => metrics.has(m));
  if (!configured || enabled.length === 0 || PROMPT_CACHE_METRICS.some((m) => metrics.has(m))) return undefined;
  return (
    `prometheus_metrics_config enables ${enabled.join(', ')}: these count the gateway's own response cache (litellm_settings.cache), ` +
    `not provider prompt caching; for prompt-cache tokens (Anthropic, Bedrock, Vertex, OpenAI cached_tokens) add ` +
    `${PROMPT_CACHE_METRICS.join(' and ')} (docs/metrics.md, "Response cache vs provider prompt cache")`
  );
}

/** Default labels per metric once the optional `stream` and custom metadata labels are added. */
function defaultLabels(custom: readonly CustomLabel[], streamLabel: boolean): Map<string, readonly string[]> {
  const out = new Map<string, readonly string[]>();
  for (const def of METRICS) out.set(def.name, labelsOf(def, custom, streamLabel));
  return out;
}

function labelsOf(def: MetricDefinition, custom: readonly CustomLabel[], streamLabel: boolean): readonly string[] {
  const labels = [...def.labels];
  if (streamLabel && def.name === 'litellm_proxy_total_requests_metric') labels.push('stream');
  // Custom labels only go on per-call counters and histograms: a budget gauge would only ever say
  // "None", and a per-deployment gauge (litellm_deployment_state) split by request metadata would
  // leave stale series behind.
  if (def.source === 'call' && def.type !== 'gauge') for (const c of custom) labels.push(c.label);
  return labels;
}

interface Group {
  group: string;
  metrics: string[];
  includeLabels: string[] | undefined;
}

function parseGroups(raw: unknown, errors: string[]): Group[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    errors.push('prometheus_metrics_config must be a list of {group, metrics, include_labels}');
    return [];
  }
  const groups: Group[] = [];
  raw.forEach((entry: unknown, i) => {
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      errors.push(`prometheus_metrics_config[${i}] must be an object with group, metrics and optional include_labels`);
      return;
    }
    const obj = entry as Record<string, unknown>;
    const group = typeof obj.group === 'string' && obj.group !== '' ? obj.group : undefined;
    const where = group === undefined ? `prometheus_metrics_config[${i}]` : `prometheus_metrics_config group "${group}"`;
    if (group === undefined) errors.push(`${where}: "group" must be a non-empty string`);
    for (const key of Object.keys(obj)) {
      if (!['group', 'metrics', 'include_labels'].includes(key)) errors.push(`${where}: unknown key "${key}" (allowed: group, metrics, include_labels)`);
    }
    if (!Array.isArray(obj.metrics) || obj.metrics.length === 0) errors.push(`${where}: "metrics" must be a non-empty list of metric names`);
    const metrics = stringList(obj.metrics, `${where} metrics`, errors);
    const includeLabels = obj.include_labels === undefined || obj.include_labels === null ? undefined : stringList(obj.include_labels, `${where} include_labels`, errors);
    groups.push({ group: group ?? String(i), metrics, includeLabels });
  });
  return groups;
}

function parseCustomLabels(raw: unknown, errors: string[]): CustomLabel[] {
  const reserved = new Set([...METRICS.flatMap((m) => m.labels), 'stream']);
  const out: CustomLabel[] = [];
  for (const entry of stringList(raw, 'custom_prometheus_metadata_labels', errors)) {
    // LiteLLM reads "metadata.foo.bar" as metadata → foo → bar and names the label metadata_foo_bar.
    const dotted = entry.startsWith('metadata.') ? entry.slice('metadata.'.length) : entry;
    const path = dotted.split('.');
    const label = sanitizeLabelName(entry);
    if (path.some((p) => p === '')) errors.push(`custom_prometheus_metadata_labels: "${entry}" is not a metadata path like "metadata.foo"`);
    else if (reserved.has(label)) errors.push(`custom_prometheus_metadata_labels: "${entry}" would become label "${label}", which is a built-in label`);
    else if (out.some((c) => c.label === label)) errors.push(`custom_prometheus_metadata_labels: "${entry}" duplicates label "${label}"`);
    else out.push({ label, path });
  }
  return out;
}

/** Prometheus label names match ^[a-zA-Z_][a-zA-Z0-9_]*$ (LiteLLM's _sanitize_prometheus_label_name). */
export function sanitizeLabelName(name: string): string {
  const cleaned = name.replace(/[^a-zA-Z0-9_]/g, '_');
  if (cleaned === '') return '_';
  return /^[a-zA-Z_]/.test(cleaned) ? cleaned : `_${cleaned}`;
}

function stringList(raw: unknown, where: string, errors: string[]): string[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    errors.push(`${where} must be a list of strings`);
    return [];
  }
  const out: string[] = [];
  for (const item of raw as unknown[]) {
    if (typeof item === 'string') out.push(item);
    else errors.push(`${where}: ${JSON.stringify(item)} is not a string`);
  }
  return out;
}

function flag(raw: unknown, key: string, errors: string[]): boolean {
  if (raw === undefined || raw === null) return false;
  if (typeof raw === 'boolean') return raw;
  errors.push(`${key} must be true or false`);
  return false;
}

function unknownMetric(where: string, name: string): string {
  const known = METRICS.map((m) => m.name);
  return `${where}: unknown metric "${name}"${suggest(name, known)}. Allowed metrics: ${known.join(', ')}`;
}

/** A "did you mean" for near misses, including the `_total` suffix that only the exposition has. */
function suggest(name: string, allowed: readonly string[]): string {
  const stripped = name.endsWith('_total') ? name.slice(0, -'_total'.length) : name;
  if (stripped !== name && allowed.includes(stripped)) return ` (did you mean "${stripped}"? config names have no _total suffix)`;
  let best: string | undefined;
  let bestDistance = Math.max(3, Math.floor(name.length / 4)) + 1;
  for (const candidate of allowed) {
    const d = distance(name, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best === undefined ? '' : ` (did you mean "${best}"?)`;
}

function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}
