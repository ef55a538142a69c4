/**
 * OpenTelemetry traces for `litellm_settings.callbacks: ["otel"]` (and `langfuse_otel`): one span
 * per call record, exported in batches over OTLP/HTTP JSON. The composition root subscribes
 * `tracing.record` to the call log and awaits `tracing.close()` on shutdown.
 */
import type { CallRecord } from '../../core/call-record.js';
import { resolveOtelExporters, type CallbackSettings } from './config.js';
import { OtlpTraceExporter, type ExporterOptions } from './exporter.js';

export { OTEL_CALLBACKS } from './config.js';
export { OtlpTraceExporter } from './exporter.js';

export interface Tracing {
  exporters: OtlpTraceExporter[];
  /** Startup warnings (a callback with nowhere to send, an unsupported sampler). */
  warnings: string[];
  /** Hand a finished call to every exporter; a no-op when tracing is off. */
  record(call: CallRecord): void;
  /** Flush every exporter's queue. */
  close(): Promise<void>;
}

export function setupTracing(settings: CallbackSettings, env: NodeJS.ProcessEnv, options: ExporterOptions = {}): Tracing {
  const { exporters: configured, warnings } = resolveOtelExporters(settings, env);
  const exporters = configured.map((s) => new OtlpTraceExporter(s, options));
  return {
    exporters,
    warnings,
    record: (call) => {
      for (const e of exporters) e.record(call);
    },
    close: async () => {
      await Promise.all(exporters.map((e) => e.close()));
    },
  };
}
