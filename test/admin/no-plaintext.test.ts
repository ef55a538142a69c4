/**
 * Proof that a plaintext key is never stored, logged or exported. Keys are made every way there is
 * (`/key/generate`, a custom `key`, `/user/new`, `/key/regenerate` by body and by path), then used
 * everywhere a key can be named (info by plaintext in the URL, update, block, list, user and team
 * info, errors, spend and soft-budget logs). Afterwards:
 * - no table row on the backend holds a plaintext (nor its random part), and the SQLite files
 *   (database, WAL) do not contain one;
 * - the logs (fastify request logs with the gateway's serializers at trace level, tenancy logs)
 *   do not contain one;
 * - no answer except the one that created a key contains that key.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { sql, type Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerJsonBodyParser } from '../../src/http/body.js';
import { registerAdminRoutes } from '../../src/http/routes/admin/index.js';
import { requestLogSerializers } from '../../src/http/routes/admin/redact.js';
import type { Database } from '../../src/storage/ports.js';
import { BACKENDS } from '../storage/backends.js';
import { bearer, callFor, MASTER, settled, stack, USD, type Stack } from '../policy/harness.js';

/** Every row of every Tollgate table, as text. */
async function dumpTables(db: Database): Promise<string> {
  const kdb = (db as unknown as { db: Kysely<unknown> }).db;
  const out: string[] = [];
  for (const table of [
    'tenancy_records', 'tenancy_deletions', 'budget_counters', 'budget_alerts', 'spend_logs',
    // Where spend is written now: LiteLLM's tables and Tollgate's details beside them.
    'LiteLLM_SpendLogs', 'tollgate_call_details', 'LiteLLM_DailyUserSpend', 'LiteLLM_DailyTeamSpend', 'LiteLLM_DailyTagSpend', 'LiteLLM_DailyEndUserSpend',
  ]) {
    const rows = await sql`select * from ${sql.table(table)}`.execute(kdb);
    out.push(JSON.stringify(rows.rows));
  }
  return out.join('\n');
}

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== undefined)(`no plaintext key stored, logged or exported on ${backend.name}${backend.skip === undefined ? '' : ` (skipped: ${backend.skip})`}`, () => {
    let db: Database;
    let cleanup: () => Promise<void>;
    let s: Stack;

    beforeEach(async () => {
      ({ db, cleanup } = await backend.open());
      await db.migrate();
      s = await stack(db);
    });
    afterEach(async () => {
      await s.close();
      await cleanup();
    });

    it('holds for every way a key is made and used', async () => {
      const logLines: string[] = [];
      const stream = new Writable({
        write(chunk: Buffer, _enc, done) {
          logLines.push(chunk.toString('utf8'));
          done();
        },
      });
      const app = Fastify({ logger: { level: 'trace', stream, serializers: requestLogSerializers } });
      registerJsonBodyParser(app);
      registerAdminRoutes(app, { auth: s.auth, tenancy: s.tenancy, configModels: () => [], storeModelInDb: true });
      await app.ready();
      const answers: { text: string; creates?: string }[] = [];
      const call = async (method: 'GET' | 'POST', url: string, body?: unknown, key = MASTER) => {
        const res = await app.inject({ method, url, headers: bearer(key), payload: body === undefined ? undefined : JSON.stringify(body) });
        const json = res.json<Record<string, unknown>>();
        answers.push({ text: res.body, creates: typeof json.key === 'string' && json.key.startsWith('sk-') ? json.key : undefined });
        return json;
      };

      const plaintexts: string[] = [];
      const made = (json: Record<string, unknown>): string => {
        const k = json.key as string;
        plaintexts.push(k);
        return k;
      };
      await call('POST', '/team/new', { team_id: 'team-x' });
      const k1 = made(await call('POST', '/key/generate', { key_alias: 'one', max_budget: 1, soft_budget: 0.05, team_id: 'team-x' }));
      const k2 = made(await call('POST', '/key/generate', { key: 'sk-custom-chosen-by-admin-42' }));
      const k3 = made(await call('POST', '/user/new', { user_id: 'u1', key_alias: 'user-key' }));
      const k4 = made(await call('POST', '/key/regenerate', { key: k2 }));
      const k5 = made(await call('POST', `/key/${k4}/regenerate`, {}));

      await call('GET', `/key/info?key=${k1}`);
      await call('GET', '/key/info', undefined, k3);
      await call('POST', '/key/update', { key: k1, metadata: { note: 'x' } });
      await call('POST', '/key/block', { key: k3 });
      await call('POST', '/key/unblock', { key: k3 });
      await call('GET', '/key/list?return_full_object=true');
      await call('POST', '/v2/key/info', { keys: [k1, k5] });
      await call('GET', '/user/info?user_id=u1');
      await call('GET', '/team/info?team_id=team-x');
      await call('GET', `/key/info?key=${k2}`); // regenerated away: a 404 that must not echo it
      await call('POST', '/key/generate', {}, k1); // a non-admin key: 403
      await call('GET', '/key/list', undefined, 'sk-not-a-key-at-all'); // 401

      // Spend with a soft-budget crossing, flushed to the store and logged.
      const principal = s.auth.authenticate(bearer(k1));
      const admission = await s.policy.admit({ principal, requestedModel: 'm', estimatedInputTokens: 1, maxOutputTokens: 1, priceNano: () => USD / 10 });
      s.policy.settle(admission, callFor(admission, USD / 10));
      await settled();
      await s.tenancy.sync(true);
      expect(s.tenancy.softBudgetAlerts).toBe(1);
      await app.close();

      const secrets = plaintexts.flatMap((p) => [p, p.slice(3)]);
      expect(plaintexts.every((p) => p.startsWith('sk-'))).toBe(true);

      const stored = await dumpTables(db);
      for (const secret of secrets) expect(stored, 'a table row').not.toContain(secret);
      if (backend.name === 'sqlite-file') {
        const kdb = (db as unknown as { db: Kysely<unknown> }).db;
        const main = (await sql<{ name: string; file: string }>`pragma database_list`.execute(kdb)).rows.find((r) => r.name === 'main');
        const dir = dirname(main?.file ?? '');
        const files = readdirSync(dir).filter((f) => f.startsWith('tollgate.db'));
        expect(files.length).toBeGreaterThan(0);
        for (const f of files) {
          const bytes = readFileSync(`${dir}/${f}`).toString('latin1');
          for (const secret of secrets) expect(bytes, f).not.toContain(secret);
        }
      }

      const logs = [...logLines, ...s.logs.map((l) => JSON.stringify(l))].join('\n');
      expect(logLines.some((l) => l.includes('/key/info?key=sk-...'))).toBe(true);
      expect(s.logs.some((l) => l.msg === 'soft budget crossed')).toBe(true);
      for (const secret of secrets) expect(logs, 'logs').not.toContain(secret);

      for (const answer of answers) {
        for (const p of plaintexts) if (p !== answer.creates) expect(answer.text, 'an answer').not.toContain(p.slice(3));
      }
    });
  });
}
