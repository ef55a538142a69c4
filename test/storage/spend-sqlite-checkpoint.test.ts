/**
 * SQLite's WAL is checkpointed by the worker thread sqlite/connect.ts starts, not by commits on
 * the event loop: after appends well under the loop connection's backstop, the database file
 * itself grows (pages copied out of the WAL) with no checkpoint run on this thread; closing the
 * store stops the worker.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/storage/database.js';
import { makeRow } from './calls.js';

describe('SQLite checkpoints off the event loop', () => {
  it('the database file takes the WAL pages without a checkpoint on this thread', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-ckpt-'));
    const path = join(dir, 'tollgate.db');
    try {
      const db = openDatabase(path, dir);
      await db.migrate();
      // Let a checkpoint of the migration's pages pass, then measure from there.
      await new Promise((r) => setTimeout(r, 500));
      const before = statSync(path).size;
      // ~2 MB of ingest rows: far below the 4096-page backstop, so only the worker can copy them.
      const rows = Array.from({ length: 1000 }, () => makeRow({ user: 'ckpt', nano: 1000 }));
      await db.spendLogs.append(rows);
      expect(statSync(`${path}-wal`).size).toBeGreaterThan(1_000_000);
      const deadline = Date.now() + 5000;
      while (statSync(path).size - before < 1_000_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(statSync(path).size - before).toBeGreaterThan(1_000_000);
      await db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
