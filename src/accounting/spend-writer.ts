/**
 * The spend writer: turns each finished CallRecord into its `LiteLLM_SpendLogs` row and Tollgate's
 * details (spend-row.ts) and hands them to the store in batches, off the request path. `record()`
 * only enqueues the record (the pipeline builds it once in `CallContext.finish` and never touches
 * it again), no conversion, no I/O, no await; a timer and a size threshold trigger flushes. A flush
 * converts and appends in chunks of APPEND_CHUNK calls with the event loop served between them (on
 * SQLite each chunk is one synchronous block: its conversion, encoding and one INSERT), into the
 * store's cheap append (its ingest table); after each flush, and on every tick of the timer, the writer asks the store to fold what was appended into the spend tables and LiteLLM's
 * daily tables (`drain`, in short slices; the tick also folds what a crash left behind).
 * `close()` flushes and folds everything before it returns. A failed batch goes back to the head
 * of the queue and is retried on the next flush, so a database outage delays spend logs rather
 * than losing them (up to `maxQueueRows`, which bounds memory); a failed fold is retried on the
 * next tick, its calls kept in the store.
 */
import type { CallRecord } from '../core/call-record.js';
import type { SpendLogRow, SpendLogStore } from '../storage/ports.js';
import { spendLogRow, type DescribePrincipal } from './spend-row.js';

/**
 * Calls one append takes: converting, encoding and inserting 100 calls is ~1-2 ms of one core
 * (bench/spend-writer.mjs); the per-statement commit spread over 100 calls is ~1 µs each.
 */
const APPEND_CHUNK = 100;

/** A call waiting for its flush: the record as the pipeline handed it, or its row (a failed chunk, kept for retry). */
type Queued = CallRecord | SpendLogRow;

const isRow = (q: Queued): q is SpendLogRow => 'log' in q;

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export { redactSecrets, responseIdOf, spendLogRow, type DescribePrincipal, type PrincipalFacts } from './spend-row.js';

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
  /** Team alias and organization of the caller (LiteLLM's metadata and organization_id carry them). */
  describePrincipal?: DescribePrincipal | undefined;
}

const consoleLogger: SpendWriterLogger = {
  warn: (obj, msg) => console.warn(msg, obj),
  error: (obj, msg) => console.error(msg, obj),
};

export class SpendWriter {
  private queue: Queued[] = [];
  private inFlight: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly maxBatchRows: number;
  private readonly maxQueueRows: number;
  private readonly logger: SpendWriterLogger;
  private readonly describePrincipal: DescribePrincipal | undefined;
  /** True while the store keeps failing: the failure is logged when it starts and when it ends, not per retry. */
  private failing = false;
  private droppedRows = 0;
  private closed = false;
  /** The store's fold running in the background, if any (one at a time). */
  private folding: Promise<void> | undefined;
  /** True while folding keeps failing: logged when it starts and when it ends. */
  private foldFailing = false;

  constructor(
    private readonly store: SpendLogStore,
    options: SpendWriterOptions = {},
  ) {
    this.maxBatchRows = options.maxBatchRows ?? 500;
    this.maxQueueRows = Math.max(options.maxQueueRows ?? 100_000, this.maxBatchRows);
    this.logger = options.logger ?? consoleLogger;
    this.describePrincipal = options.describePrincipal;
    this.timer = setInterval(() => void this.flush().then(() => this.fold()), options.flushIntervalMs ?? 1000);
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

  /** Enqueue one call. Synchronous and never throws: the request path does not wait on storage, nor pays the conversion. */
  record(call: CallRecord): void {
    this.queue.push(call);
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

  /**
   * Stop the timer, flush the rest and fold everything into the spend tables. Call after the HTTP
   * server has drained, before the store closes.
   */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      clearInterval(this.timer);
    }
    await this.flush();
    if (this.queue.length > 0) {
      this.logger.error({ unwrittenRows: this.queue.length }, 'spend log: shutting down with rows the store would not take');
    }
    // A background fold first (it may be mid-slice), then one more for anything appended since.
    await this.folding;
    this.fold();
    await this.folding;
  }

  /** Start a fold of what the store holds, unless one is running. Never rejects: failures are logged and retried on the next tick. */
  private fold(): void {
    if (this.folding !== undefined) return;
    this.folding = this.store
      .drain()
      .then(
        (result) => {
          if (result.parked > 0) this.logger.error({ parkedRows: result.parked }, 'spend log: the store refused these calls on their own; they are kept in its ingest table, marked parked');
          if (this.foldFailing) {
            this.foldFailing = false;
            this.logger.warn({ folded: result.folded }, 'spend log: folding works again; appended calls folded');
          }
        },
        (err: unknown) => {
          if (!this.foldFailing) {
            this.foldFailing = true;
            this.logger.error({ err }, 'spend log: folding appended calls into the spend tables failed; they are kept and folded on the next try');
          }
        },
      )
      .finally(() => {
        this.folding = undefined;
      });
  }

  /** The rows of `batch[from, to)`, converting the calls among them; a call that cannot be converted is logged and skipped. */
  private convert(batch: readonly Queued[], from: number, to: number): SpendLogRow[] {
    const rows: SpendLogRow[] = [];
    for (let i = from; i < to; i++) {
      const item = batch[i] as Queued;
      if (isRow(item)) {
        rows.push(item);
        continue;
      }
      try {
        rows.push(spendLogRow(item, this.describePrincipal?.(item.principal)));
      } catch (err) {
        this.logger.error({ err, requestId: item.requestId }, 'spend log: could not convert call record; row skipped');
      }
    }
    return rows;
  }

  private async write(batch: Queued[]): Promise<void> {
    for (let from = 0; from < batch.length; from += APPEND_CHUNK) {
      if (from > 0) await yieldToLoop();
      const to = Math.min(batch.length, from + APPEND_CHUNK);
      const rows = this.convert(batch, from, to);
      if (rows.length > 0 && !(await this.writeChunk(rows))) {
        // The store is down: this chunk and the rest go back to the head, ahead of rows recorded
        // meanwhile, for the next flush. Chunks already appended stay appended.
        this.queue = [...rows, ...batch.slice(to), ...this.queue];
        if (this.queue.length > this.maxQueueRows) this.dropOldest();
        return;
      }
    }
    this.fold();
    if (this.failing) {
      this.failing = false;
      this.logger.warn({ rows: batch.length }, 'spend log: store is writable again; queued rows written');
    }
  }

  /** One append; false when the store is down (the rows are the caller's to keep), true when they are written or set aside. */
  private async writeChunk(batch: SpendLogRow[]): Promise<boolean> {
    try {
      await this.store.append(batch);
      return true;
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
        for (const row of refused) this.logger.error({ requestId: row.log.request_id }, 'spend log: the store refused this row; it is dropped');
        return true;
      }
      if (!this.failing) {
        this.failing = true;
        this.logger.error({ err, pendingRows: this.queue.length + batch.length }, 'spend log: write failed; rows kept and retried on the next flush');
      }
      return false;
    }
  }

  private async tryInsert(rows: SpendLogRow[]): Promise<boolean> {
    try {
      await this.store.append(rows);
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
