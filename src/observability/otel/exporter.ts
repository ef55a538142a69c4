/**
 * A batching OTLP/HTTP JSON trace exporter fed by the call log. `record` runs on the request path
 * (the call log calls listeners synchronously), so it only decides sampling and queues the record;
 * spans are built and POSTed later, in batches, like the OTel SDK's BatchSpanProcessor: at most
 * `maxExportBatchSize` calls per request, every `scheduledDelayMs` or as soon as a batch is full,
 * one export at a time, and a bounded queue that drops the oldest call when the collector falls
 * behind. Export failures are counted and logged at most once a minute; nothing here throws into
 * the request path.
 *
 * Hand-written rather than @opentelemetry/sdk-trace-base + exporter-trace-otlp-http: the wire
 * format is one JSON document, and those packages bring a context manager, resource detection and
 * a protobuf toolchain for what is ~250 lines here.
 */
import type { CallRecord } from '../../core/call-record.js';
import type { ExporterSettings } from './config.js';
import { newTraceId, parseTraceparent, spansOf, type DeploymentInfo, type OtlpSpan } from './spans.js';

export interface ExporterOptions {
  lookupDeployment?: ((id: string) => DeploymentInfo | undefined) | undefined;
  log?: ((message: string) => void) | undefined;
  /** Wall clock for the once-a-minute failure log (tests). */
  now?: (() => number) | undefined;
  /** The HTTP client (tests); global fetch by default. */
  fetch?: typeof fetch | undefined;
}

interface Queued {
  call: CallRecord;
  traceId: string;
  spanId?: string | undefined;
  parentSpanId: string | undefined;
}

export interface ExporterStats {
  /** Calls sampled and queued. */
  queued: number;
  /** Calls exported (the collector answered 2xx). */
  exported: number;
  /** Calls dropped because the queue was full (the oldest go first). */
  dropped: number;
  /** Calls whose export request failed. */
  failed: number;
  /** Export requests made. */
  requests: number;
}

const FAILURE_LOG_INTERVAL_MS = 60_000;
const SCOPE = { name: 'tollgate', version: '1' };

export class OtlpTraceExporter {
  readonly stats: ExporterStats = { queued: 0, exported: 0, dropped: 0, failed: 0, requests: 0 };
  private queue: Queued[] = [];
  private timer: NodeJS.Timeout | undefined;
  private exporting: Promise<void> | undefined;
  private closed = false;
  /** Set while flushing: drain empties the queue rather than stopping at a partial batch. */
  private drainAll = false;
  private lastFailureLogAt = -Infinity;
  private failuresSinceLog = 0;
  private droppedSinceLog = 0;
  private readonly resource: { attributes: { key: string; value: { stringValue: string } }[] };
  private readonly lookup: (id: string) => DeploymentInfo | undefined;
  private readonly log: (message: string) => void;
  private readonly now: () => number;
  private readonly fetchFn: typeof fetch;

  constructor(
    readonly settings: ExporterSettings,
    options: ExporterOptions = {},
  ) {
    this.resource = { attributes: Object.entries(settings.resource).map(([key, value]) => ({ key, value: { stringValue: value } })) };
    this.lookup = options.lookupDeployment ?? (() => undefined);
    this.log = options.log ?? ((m) => process.stderr.write(`tollgate: ${m}\n`));
    this.now = options.now ?? Date.now;
    this.fetchFn = options.fetch ?? fetch;
  }

  /** A finished call (a CallLog listener). Cheap: a sampling decision and a queue push. */
  record(call: CallRecord): void {
    if (this.closed) return;
    if (call.outcome === 'success' ? !this.settings.outcomes.success : !this.settings.outcomes.failure) return;
    // The ids the request path chose (and sent upstream), when it chose them; else from the client's header.
    const parent = call.trace === undefined ? parseTraceparent(call.traceparent) : undefined;
    const traceId = call.trace?.traceId ?? parent?.traceId ?? newTraceId();
    if (!this.sampled(traceId, call.trace?.parentSampled ?? parent?.sampled)) return;
    if (this.queue.length >= this.settings.maxQueueSize) {
      this.queue.shift();
      this.stats.dropped++;
      this.droppedSinceLog++;
    }
    this.queue.push({ call, traceId, spanId: call.trace?.spanId, parentSpanId: call.trace?.parentSpanId ?? parent?.spanId });
    this.stats.queued++;
    if (this.queue.length >= this.settings.maxExportBatchSize) void this.kick();
    else this.timer ??= this.schedule();
  }

  /**
   * OTel's TraceIdRatioBased: a trace is kept when its random low 56 bits fall below ratio × 2^56,
   * so every service sampling at the same ratio keeps the same traces. A client's traceparent
   * decides instead under the parentbased_ samplers (the default, parentbased_always_on).
   */
  private sampled(traceId: string, parentSampled: boolean | undefined): boolean {
    if (this.settings.parentBased && parentSampled !== undefined) return parentSampled;
    const { sampler } = this.settings;
    if (sampler.kind === 'always_on') return true;
    if (sampler.kind === 'always_off') return false;
    return BigInt(`0x${traceId.slice(18)}`) < BigInt(Math.floor(sampler.ratio * 2 ** 56));
  }

  private schedule(): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.timer = undefined;
      void this.kick();
    }, this.settings.scheduledDelayMs);
    // A pending export must not keep the process alive; close() flushes what is left.
    timer.unref();
    return timer;
  }

  /** Start draining unless an export is already running (it drains full batches itself). */
  private kick(): Promise<void> {
    if (this.exporting !== undefined) return this.exporting;
    this.exporting = this.drain().finally(() => {
      this.exporting = undefined;
      // Calls that arrived during the last export wait for the next tick of the timer.
      if (this.queue.length > 0 && !this.closed) this.timer ??= this.schedule();
    });
    return this.exporting;
  }

  /** Export batch after batch while full batches are waiting (all of them when flushing). */
  private async drain(): Promise<void> {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    do {
      const batch = this.queue.splice(0, this.settings.maxExportBatchSize);
      if (batch.length === 0) return;
      await this.send(batch);
    } while (this.queue.length >= this.settings.maxExportBatchSize || (this.drainAll && this.queue.length > 0));
  }

  private async send(batch: Queued[]): Promise<void> {
    this.stats.requests++;
    try {
      const spans: OtlpSpan[] = batch.flatMap((q) => spansOf(q.call, { traceId: q.traceId, spanId: q.spanId, parentSpanId: q.parentSpanId }, this.lookup));
      const body = JSON.stringify({ resourceSpans: [{ resource: this.resource, scopeSpans: [{ scope: SCOPE, spans }] }] });
      const response = await this.fetchFn(this.settings.url, {
        method: 'POST',
        headers: { ...this.settings.headers, 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(this.settings.exportTimeoutMs),
      });
      // The body is read so the connection can be reused; a partial_success is not retried (as the SDKs).
      await response.text().catch(() => '');
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      this.stats.exported += batch.length;
    } catch (err) {
      this.stats.failed += batch.length;
      this.failed(err);
    }
    this.reportDrops();
  }

  private failed(err: unknown): void {
    this.failuresSinceLog++;
    const now = this.now();
    if (now - this.lastFailureLogAt < FAILURE_LOG_INTERVAL_MS) return;
    this.lastFailureLogAt = now;
    const reason = err instanceof Error ? (err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message) : String(err);
    const count = this.failuresSinceLog;
    this.failuresSinceLog = 0;
    this.log(`otel (${this.settings.callback}): exporting traces to ${redact(this.settings.url)} failed: ${reason}${count > 1 ? ` (${count} failed exports since the last report)` : ''}`);
  }

  private reportDrops(): void {
    if (this.droppedSinceLog === 0) return;
    const now = this.now();
    if (now - this.lastFailureLogAt < FAILURE_LOG_INTERVAL_MS) return;
    this.lastFailureLogAt = now;
    this.log(`otel (${this.settings.callback}): trace queue full (${this.settings.maxQueueSize} calls); dropped the ${this.droppedSinceLog} oldest`);
    this.droppedSinceLog = 0;
  }

  /** Send everything queued and wait for it (bounded by the export timeout per batch). */
  async flush(): Promise<void> {
    while (this.exporting !== undefined) await this.exporting;
    if (this.queue.length === 0) return;
    this.drainAll = true;
    try {
      await this.kick();
    } finally {
      this.drainAll = false;
    }
  }

  /** Stop taking calls and flush the queue (Gateway.close awaits this after requests drain). */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** The URL without userinfo or query (a token may sit there). */
function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '<invalid url>';
  }
}
