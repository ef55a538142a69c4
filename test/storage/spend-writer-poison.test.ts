/**
 * A row the store refuses must not block every row after it. On the real databases: a call whose
 * text carries U+0000 (Postgres TEXT cannot hold it) is still stored, NUL stripped; and with a store
 * that refuses exactly one row, the others of its batch are written and the poison row is logged
 * and dropped — while a store that refuses everything keeps the whole batch for the next flush.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SpendWriter, type SpendWriterLogger } from '../../src/accounting/spend-writer.js';
import type { DailySpendRow, DrainResult, SessionAggregate, SpendAggregate, SpendLogRow, SpendLogStore, StoredSpendLog } from '../../src/storage/ports.js';
import { BACKENDS } from './backends.js';
import { makeCall } from './calls.js';

const quiet: SpendWriterLogger = { warn: () => undefined, error: () => undefined };

class PickyStore implements SpendLogStore {
  readonly rows: SpendLogRow[] = [];
  constructor(private readonly refuse: (row: SpendLogRow) => boolean) {}
  insertMany(rows: readonly SpendLogRow[]): Promise<void> {
    return this.append(rows);
  }
  append(rows: readonly SpendLogRow[]): Promise<void> {
    if (rows.some(this.refuse)) return Promise.reject(new Error('refused'));
    this.rows.push(...rows);
    return Promise.resolve();
  }
  drain(): Promise<DrainResult> {
    return Promise.resolve({ folded: 0, parked: 0 });
  }
  query(): Promise<StoredSpendLog[]> {
    return Promise.resolve(this.rows);
  }
  report(): Promise<SpendAggregate[]> {
    return Promise.resolve([]);
  }
  daily(): Promise<DailySpendRow[]> {
    return Promise.resolve([]);
  }
  sessions(): Promise<SessionAggregate[]> {
    return Promise.resolve([]);
  }
}

describe('a refused row does not hold the queue hostage', () => {
  const writers: SpendWriter[] = [];
  afterEach(async () => {
    for (const w of writers.splice(0)) await w.close().catch(() => undefined);
  });

  it('writes the rest of the batch and drops only the row the store refuses', async () => {
    const calls = Array.from({ length: 7 }, (_, i) => makeCall({ requestId: `poison-${i}` }));
    const store = new PickyStore((row) => row.log.request_id === 'poison-3');
    const errors: string[] = [];
    const writer = new SpendWriter(store, { flushIntervalMs: 60_000, logger: { warn: () => undefined, error: (_o, msg) => errors.push(msg) } });
    writers.push(writer);
    for (const call of calls) writer.record(call);
    await writer.flush();
    expect(store.rows.map((r) => r.log.request_id).sort()).toEqual(calls.map((c) => c.requestId).filter((id) => id !== 'poison-3').sort());
    expect(writer.pendingRows).toBe(0);
    expect(errors).toEqual(['spend log: the store refused this row; it is dropped']);
  });

  it('finds the bad row when it is the first of the batch too', async () => {
    const store = new PickyStore((row) => row.log.request_id === 'first-0');
    const writer = new SpendWriter(store, { flushIntervalMs: 60_000, logger: quiet });
    writers.push(writer);
    for (let i = 0; i < 5; i++) writer.record(makeCall({ requestId: `first-${i}` }));
    await writer.flush();
    expect(store.rows.map((r) => r.log.request_id).sort()).toEqual(['first-1', 'first-2', 'first-3', 'first-4']);
    expect(writer.pendingRows).toBe(0);
  });

  it('keeps the whole batch when the store refuses everything (it is down, not the rows), trying only twice more', async () => {
    const store = new PickyStore(() => true);
    let attempts = 0;
    const insert = store.append.bind(store);
    store.append = (rows) => {
      attempts++;
      return insert(rows);
    };
    const writer = new SpendWriter(store, { flushIntervalMs: 60_000, logger: quiet });
    writers.push(writer);
    for (let i = 0; i < 4; i++) writer.record(makeCall({ requestId: `down-${i}` }));
    await writer.flush();
    expect(writer.pendingRows).toBe(4);
    expect(store.rows).toHaveLength(0);
    // The batch, then one probe at each end: a dead store must not cost a write per row.
    expect(attempts).toBe(3);
  });

  for (const backend of BACKENDS) {
    it.skipIf(backend.skip !== undefined)(`${backend.name}: a NUL character in client text is stripped, and the row stored`, async () => {
      const { db, cleanup } = await backend.open();
      try {
        await db.migrate();
        const writer = new SpendWriter(db.spendLogs, { flushIntervalMs: 60_000, logger: quiet });
        const call = makeCall({ requestId: `nul-${backend.name}-${Date.now()}`, principal: { isMaster: false, endUser: 'a\u0000b' }, metadata: { spend_logs_metadata: { note: 'c\u0000d' } } });
        writer.record(call);
        await writer.close();
        const rows = await db.spendLogs.query({ requestId: call.requestId });
        expect(rows).toHaveLength(1);
        expect(rows[0]!.log.end_user).toBe('ab');
        // Postgres JSONB refuses \u0000 too: stripped inside the metadata as well.
        expect(rows[0]!.log.metadata.spend_logs_metadata).toEqual({ note: 'cd' });
      } finally {
        await cleanup();
      }
    });
  }
});
