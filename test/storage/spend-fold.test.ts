/**
 * The spend log's append and fold, on every database: appended calls survive a restart and are
 * folded by the next read; a batch appended twice (its acknowledgement lost) counts once; a big
 * backlog is folded in slices with the event loop served between them, its daily sums added up
 * across slices; a call the tables refuse on its own is set aside and the rest folded.
 */
import { describe, expect, it } from 'vitest';
import type { DailySpendRow, SpendLogRow } from '../../src/storage/ports.js';
import { BACKENDS } from './backends.js';
import { DAY, MAR10, makeRow, uniqueId } from './calls.js';

const day = new Date(MAR10).toISOString().slice(0, 10);
const dailyOf = (rows: DailySpendRow[], user: string) => rows.filter((r) => r.entity_id === user);

for (const backend of BACKENDS) {
  describe(`spend append and fold on ${backend.name}`, () => {
    // A :memory: database is gone when its handle closes: it has no restart to survive.
    if (backend.name !== 'sqlite-memory') {
      it.skipIf(backend.skip !== undefined)('calls appended but not folded before a crash are folded after the restart, on the first read', async () => {
        const { db, reopen, cleanup } = await backend.open();
        try {
          await db.migrate();
          const user = uniqueId('crash');
          const rows = Array.from({ length: 3 }, (_, i) => makeRow({ user, start: MAR10 + i * 1000, nano: 2000 }));
          await db.spendLogs.append(rows);
          // No drain, no writer close: the process "dies" here.
          await db.close();
          const again = reopen();
          await again.migrate();
          const stored = await again.spendLogs.query({ userId: user });
          expect(stored.map((s) => s.log.request_id).sort()).toEqual(rows.map((r) => r.log.request_id).sort());
          const [daily] = dailyOf(await again.spendLogs.daily({ entity: 'user', ids: [user], startDate: day, endDate: day }), user);
          expect(daily).toMatchObject({ api_requests: 3, successful_requests: 3, prompt_tokens: 30, completion_tokens: 15 });
          expect(daily?.spend).toBeCloseTo(3 * 2e-6, 12);
          await again.close();
        } finally {
          await cleanup();
        }
      });
    }

    it.skipIf(backend.skip !== undefined)('a batch appended twice (its acknowledgement lost) is counted once', async () => {
      const { db, cleanup } = await backend.open();
      try {
        await db.migrate();
        const user = uniqueId('twice');
        const rows = Array.from({ length: 4 }, () => makeRow({ user }));
        await db.spendLogs.append(rows);
        await db.spendLogs.append(rows);
        const drained = await db.spendLogs.drain();
        expect(drained).toEqual({ folded: 8, parked: 0 });
        const [report] = await db.spendLogs.report({ userId: user, by: [] });
        expect(report?.requests).toBe(4);
        const [daily] = dailyOf(await db.spendLogs.daily({ entity: 'user', ids: [user], startDate: day, endDate: day }), user);
        expect(daily?.api_requests).toBe(4);
      } finally {
        await cleanup();
      }
    });

    it.skipIf(backend.skip !== undefined)('a backlog is folded in slices, the event loop served between them, its daily sums added across slices', async () => {
      const { db, cleanup } = await backend.open();
      try {
        await db.migrate();
        const user = uniqueId('backlog');
        const count = 600;
        // Two days, so the sums must be split by day as well as summed across slices.
        const rows: SpendLogRow[] = Array.from({ length: count }, (_, i) => makeRow({ user, team: 'team-backlog', start: MAR10 + (i % 2) * DAY, nano: 1000 + i }));
        await db.spendLogs.append(rows);
        let ticks = 0;
        let running = true;
        const tick = (): void => {
          ticks++;
          if (running) setImmediate(tick);
        };
        setImmediate(tick);
        const drained = await db.spendLogs.drain();
        running = false;
        expect(drained).toEqual({ folded: count, parked: 0 });
        // More than one slice (at most 200 rows each), with other work run in between.
        expect(ticks).toBeGreaterThanOrEqual(3);
        const daily = dailyOf(await db.spendLogs.daily({ entity: 'user', ids: [user], startDate: day, endDate: new Date(MAR10 + DAY).toISOString().slice(0, 10) }), user);
        expect(daily.map((d) => [d.date, d.api_requests, d.prompt_tokens, d.completion_tokens])).toEqual([
          [day, count / 2, (count / 2) * 10, (count / 2) * 5],
          [new Date(MAR10 + DAY).toISOString().slice(0, 10), count / 2, (count / 2) * 10, (count / 2) * 5],
        ]);
        // Even i on the first day, odd on the second: nano-USD 1000 + i.
        const nanoOf = (parity: number) => rows.reduce((sum, _, i) => (i % 2 === parity ? sum + 1000 + i : sum), 0);
        expect(daily[0]?.spend).toBeCloseTo(nanoOf(0) / 1e9, 9);
        expect(daily[1]?.spend).toBeCloseTo(nanoOf(1) / 1e9, 9);
        const [report] = await db.spendLogs.report({ userId: user, by: [] });
        expect(report?.requests).toBe(count);
        // Nothing left to fold.
        expect(await db.spendLogs.drain()).toEqual({ folded: 0, parked: 0 });
      } finally {
        await cleanup();
      }
    });

    it.skipIf(backend.skip !== undefined)('a call the tables refuse on its own is parked; the others are folded and it is not retried', async () => {
      const { db, cleanup } = await backend.open();
      try {
        await db.migrate();
        const user = uniqueId('poison');
        const rows = Array.from({ length: 5 }, () => makeRow({ user }));
        // LiteLLM_SpendLogs.spend is NOT NULL.
        const bad = rows[2] as SpendLogRow;
        rows[2] = { log: { ...bad.log, spend: null as unknown as number }, details: bad.details };
        await db.spendLogs.append(rows);
        expect(await db.spendLogs.drain()).toEqual({ folded: 4, parked: 1 });
        const stored = await db.spendLogs.query({ userId: user });
        expect(stored.map((s) => s.log.request_id).sort()).toEqual(rows.filter((_, i) => i !== 2).map((r) => r.log.request_id).sort());
        expect(await db.spendLogs.drain()).toEqual({ folded: 0, parked: 0 });
        const [daily] = dailyOf(await db.spendLogs.daily({ entity: 'user', ids: [user], startDate: day, endDate: day }), user);
        expect(daily?.api_requests).toBe(4);
      } finally {
        await cleanup();
      }
    });
  });
}
