/**
 * The spend writer: turns each finished CallRecord into one `spend_logs` row and writes the rows in
 * batches, off the request path. `record()` only converts and enqueues (no I/O, no await); a timer
 * and a size threshold trigger flushes; `close()` flushes what is left on shutdown. A failed batch
 * goes back to the head of the queue and is retried on the next flush, so a database outage delays
 * spend logs rather than losing them (up to `maxQueueRows`, which bounds memory).
 */
import { createHash } from 'node:crypto';
import type { CallRecord, Surface } from '../core/call-record.js';
import { totalInput, totalTokens } from '../core/usage.js';
import type { SpendLogRow, SpendLogStore } from '../storage/ports.js';

/** pino's call shape, so `app.log` fits. */
export interface SpendWriterLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface SpendWriterOptions {
  /** Flush every this many ms (default 1000). */
  flushIntervalMs?: number | undefined;
  /** Flush as soon as this many rows are queued (default 500). */
  maxBatchRows?: number | undefined;
  /**
   * While the store is failing, keep at most this many rows (default 100 000); beyond it the oldest
   * are dropped, counted and logged, so an outage cannot exhaust memory.
   */
  maxQueueRows?: number | undefined;
  logger?: SpendWriterLogger | undefined;
}

const consoleLogger: SpendWriterLogger = {
  warn: (obj, msg) => console.warn(msg, obj),
  error: (obj, msg) => console.error(msg, obj),
};

export class SpendWriter {
  private queue: SpendLogRow[] = [];
  private inFlight: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly maxBatchRows: number;
  private readonly maxQueueRows: number;
  private readonly logger: SpendWriterLogger;
  /** True while the store keeps failing: the failure is logged when it starts and when it ends, not per retry. */
  private failing = false;
  private droppedRows = 0;
  private closed = false;

  constructor(
    private readonly store: SpendLogStore,
    options: SpendWriterOptions = {},
  ) {
    this.maxBatchRows = options.maxBatchRows ?? 500;
    this.maxQueueRows = Math.max(options.maxQueueRows ?? 100_000, this.maxBatchRows);
    this.logger = options.logger ?? consoleLogger;
    this.timer = setInterval(() => void this.flush(), options.flushIntervalMs ?? 1000);
    // The timer alone must not keep the process alive; close() does the final flush.
    this.timer.unref();
  }

  /** Rows waiting to be written. */
  get pendingRows(): number {
    return this.queue.length;
  }

  /** Rows given up because the queue overflowed during a store outage. */
  get dropped(): number {
    return this.droppedRows;
  }

  /** Enqueue one call. Synchronous and never throws: the request path does not wait on storage. */
  record(call: CallRecord): void {
    let row: SpendLogRow;
    try {
      row = spendLogRow(call);
    } catch (err) {
      this.logger.error({ err, requestId: call.requestId }, 'spend log: could not convert call record; row skipped');
      return;
    }
    this.queue.push(row);
    if (this.queue.length > this.maxQueueRows) this.dropOldest();
    if (this.queue.length >= this.maxBatchRows && this.inFlight === undefined && !this.failing) void this.flush();
  }

  /** Write everything queued so far. Resolves when written or, on failure, when the rows are queued again. */
  async flush(): Promise<void> {
    // One write at a time: rows keep their order and a retry never overlaps the attempt it retries.
    while (this.inFlight !== undefined) await this.inFlight;
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.inFlight = this.write(batch).finally(() => {
      this.inFlight = undefined;
    });
    await this.inFlight;
  }

  /** Stop the timer and flush the rest. Call after the HTTP server has drained, before the store closes. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      clearInterval(this.timer);
    }
    await this.flush();
    if (this.queue.length > 0) {
      this.logger.error({ unwrittenRows: this.queue.length }, 'spend log: shutting down with rows the store would not take');
    }
  }

  private async write(batch: SpendLogRow[]): Promise<void> {
    try {
      await this.store.insertMany(batch);
      if (this.failing) {
        this.failing = false;
        this.logger.warn({ rows: batch.length }, 'spend log: store is writable again; queued rows written');
      }
    } catch (err) {
      // One row the store refuses must not hold every later row hostage. Probe with one row first:
      // if even that fails the store itself is down, and the batch waits for the next flush at the
      // cost of one extra write (a dead store must not cost a write per row, on a synchronous
      // SQLite that would stall the event loop). If the probe goes in, the store is up: the rest is
      // split apart and only rows that fail on their own are set aside (logged).
      // The probe may itself be the bad row: try the newest row too before calling the store down.
      const probes = batch.length > 1 ? [0, batch.length - 1] : [];
      for (const index of probes) {
        const probe = batch[index];
        if (probe === undefined || !(await this.tryInsert([probe]))) continue;
        const { refused } = await this.writeApart(batch.filter((_, i) => i !== index));
        for (const row of refused) this.logger.error({ requestId: row.request_id }, 'spend log: the store refused this row; it is dropped');
        return;
      }
      // Back to the head, ahead of rows recorded meanwhile, for the next flush.
      this.queue = batch.concat(this.queue);
      if (this.queue.length > this.maxQueueRows) this.dropOldest();
      if (!this.failing) {
        this.failing = true;
        this.logger.error({ err, pendingRows: this.queue.length }, 'spend log: write failed; rows kept and retried on the next flush');
      }
    }
  }

  private async tryInsert(rows: SpendLogRow[]): Promise<boolean> {
    try {
      await this.store.insertMany(rows);
      return true;
    } catch {
      return false;
    }
  }

  /** Halves that go in are done; halves that fail are split again, down to the rows at fault. */
  private async writeApart(rows: SpendLogRow[]): Promise<{ refused: SpendLogRow[] }> {
    if (await this.tryInsert(rows)) return { refused: [] };
    if (rows.length === 1) return { refused: rows };
    const middle = Math.ceil(rows.length / 2);
    const left = await this.writeApart(rows.slice(0, middle));
    const right = await this.writeApart(rows.slice(middle));
    return { refused: [...left.refused, ...right.refused] };
  }

  private dropOldest(): void {
    const excess = this.queue.length - this.maxQueueRows;
    this.queue.splice(0, excess);
    if (this.droppedRows === 0) {
      this.logger.error({ maxQueueRows: this.maxQueueRows }, 'spend log: queue full while the store is failing; dropping the oldest rows');
    }
    this.droppedRows += excess;
  }
}

const CALL_TYPES: Record<Surface, string> = {
  'openai-chat': 'acompletion',
  'anthropic-messages': 'anthropic_messages',
  'anthropic-count-tokens': 'count_tokens',
  // LiteLLM logs its Bedrock and Vertex pass-through routes under this call type.
  'bedrock-invoke': 'pass_through_endpoint',
  'bedrock-converse': 'pass_through_endpoint',
  'vertex-raw-predict': 'pass_through_endpoint',
};

const SHA256_HEX = /^[0-9a-f]{64}$/;
/** Key-shaped secrets (`sk-…`, `sk-ant-…`) that an upstream error or client metadata may echo. */
const SECRET = /\bsk-[A-Za-z0-9_-]{8,}/g;

/** Mask key-shaped strings as LiteLLM does (`sk-...abcd`) so no plaintext key reaches the store. */
export function redactSecrets(text: string): string {
  return text.replace(SECRET, (key) => `sk-...${key.slice(-4)}`);
}

function intOrNull(value: number | undefined): number | null {
  return value === undefined || !Number.isFinite(value) ? null : Math.round(value);
}

function stripQuery(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function requestTags(metadata: Record<string, unknown> | undefined): string[] {
  const tags = metadata?.tags;
  return Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : [];
}

/** Client metadata that JSON cannot carry (a BigInt, a cycle) must not cost the call its row. */
function metadataJson(metadata: Record<string, unknown>): string {
  try {
    return JSON.stringify(metadata);
  } catch {
    return JSON.stringify({ ...metadata, request_metadata: '[not serializable]' });
  }
}

/** The one conversion of a call record into its spend log row. */
export function spendLogRow(call: CallRecord): SpendLogRow {
  return withoutNul(buildRow(call));
}

function buildRow(call: CallRecord): SpendLogRow {
  const { usage, principal, deployment } = call;
  const keyHash = principal.keyHash;
  const lastAttempt = call.attempts.at(-1);
  const metadata = {
    route: call.route,
    passthrough: call.passthrough,
    upstream_ms: intOrNull(call.upstreamMs),
    cost_missing_reason: call.costMissingReason ?? null,
    upstream_error_type: call.error?.upstreamType ?? null,
    attempts: call.attempts.map((a) => ({
      deployment_id: a.deploymentId,
      outcome: a.outcome,
      status: a.status ?? null,
      error_code: a.errorCode ?? null,
      duration_ms: Math.round(a.durationMs),
    })),
    request_metadata: call.metadata ?? null,
  };
  return {
    call_id: call.callId,
    request_id: call.requestId,
    call_type: CALL_TYPES[call.surface],
    surface: call.surface,
    start_time: Math.round(call.startedAt),
    end_time: Math.round(call.endedAt),
    // Principal.keyHash is documented as a hash; if anything else ever arrives, hash it here rather than store it.
    api_key: keyHash === undefined ? null : SHA256_HEX.test(keyHash) ? keyHash : createHash('sha256').update(keyHash).digest('hex'),
    key_alias: principal.keyAlias ?? null,
    user_id: principal.userId ?? null,
    team_id: principal.teamId ?? null,
    end_user: principal.endUser ?? null,
    requested_model: call.requestedModel,
    model_group: call.modelGroup ?? deployment?.modelGroup ?? null,
    model_id: deployment?.id ?? lastAttempt?.deploymentId ?? null,
    provider: deployment?.provider ?? null,
    upstream_model: call.upstreamModel ?? deployment?.model ?? null,
    api_base: deployment?.apiBase === undefined ? null : stripQuery(deployment.apiBase),
    retries: call.retries,
    fallbacks: call.fallbacks,
    stream: call.stream,
    status_code: call.httpStatus,
    outcome: call.outcome,
    error_class: call.error?.code ?? null,
    error_message: call.error === undefined ? null : redactSecrets(call.error.message),
    input_uncached_tokens: intOrNull(usage.inputUncached),
    cache_read_tokens: intOrNull(usage.cacheRead),
    cache_write_5m_tokens: intOrNull(usage.cacheWrite5m),
    cache_write_1h_tokens: intOrNull(usage.cacheWrite1h),
    cache_write_unknown_ttl_tokens: intOrNull(usage.cacheWriteUnknownTtl),
    output_tokens: intOrNull(usage.output),
    reasoning_tokens: intOrNull(usage.reasoning),
    prompt_tokens: intOrNull(totalInput(usage)) ?? 0,
    completion_tokens: intOrNull(usage.output) ?? 0,
    total_tokens: intOrNull(totalTokens(usage)) ?? 0,
    // Integer nano-USD end to end; rounding only guards against a fractional value slipping in.
    cost_nano_usd: call.costNanoUsd === null ? null : Math.round(call.costNanoUsd),
    ttft_ms: intOrNull(call.timeToFirstTokenMs),
    duration_ms: Math.round(call.durationMs),
    user_agent: call.userAgent ?? null,
    metadata: redactSecrets(metadataJson(metadata)),
    tags: redactSecrets(JSON.stringify(requestTags(call.metadata))),
    client_disconnected: call.clientDisconnected,
  };
}

/** Postgres TEXT cannot hold U+0000; a client can send it (e.g. in `user`). Strip it from every text column. */
function withoutNul(row: SpendLogRow): SpendLogRow {
  const out: Record<string, unknown> = { ...row };
  for (const [key, value] of Object.entries(out)) if (typeof value === 'string' && value.includes('\u0000')) out[key] = value.replaceAll('\u0000', '');
  return out as unknown as SpendLogRow;
}
