/** Prometheus metrics: the definitions table, LiteLLM-compatible settings, and the recorder. */
export { createMetrics, type BudgetOwner, type BudgetState, type Metrics, type MetricsOptions } from './recorder.js';
export { METRICS_SETTING_KEYS, resolveMetricsConfig, type MetricsSettings, type ResolvedMetricsConfig } from './config.js';
export { exposedName, LATENCY_BUCKETS, LITELLM_METRICS_NOT_EMITTED, METRICS, type MetricDefinition } from './definitions.js';
export type { DeploymentLookup } from './observe.js';
export type { PrincipalLookup } from './labels.js';
