/**
 * Part of migration 0003: an older Tollgate kept keys, users, teams, customers and stored models as
 * JSON documents in `tenancy_records`. They are copied once into LiteLLM's tables (through the same
 * stores that serve them from then on); a row LiteLLM's tables already hold is left as it is.
 * `tenancy_records` itself is left in place, unread, so a rollback loses nothing.
 */
import { sql, type Kysely } from 'kysely';
import { decodeCustomer, decodeKey, decodeModel, decodeTeam, decodeUser, parseDoc } from './tenancy-codecs.js';
import { SqlTenancyStores } from './tenancy-store.js';

export async function importTenancyRecords(db: Kysely<unknown>, dialect: 'sqlite' | 'postgres'): Promise<number> {
  const rows = (await sql<{ kind: string; doc: string }>`select kind, doc from tenancy_records order by created_at`.execute(db)).rows;
  if (rows.length === 0) return 0;
  const stores = new SqlTenancyStores(db, dialect);
  let copied = 0;
  for (const { kind, doc } of rows) {
    const d = parseDoc(doc);
    const extra = typeof d === 'object' && d !== null ? ((d as { extra?: Record<string, unknown> }).extra ?? {}) : {};
    // Older documents kept LiteLLM's links in `extra`; they are columns now.
    const link = (field: string): string | null => (typeof extra[field] === 'string' ? (extra[field]) : null);
    const strip = (e: Record<string, unknown>, ...fields: string[]): Record<string, unknown> => {
      const out = { ...e };
      for (const f of fields) delete out[f];
      return out;
    };
    let ok = false;
    if (kind === 'key') {
      const k = decodeKey(d);
      ok = await stores.keys.insert({ ...k, budget_id: link('budget_id'), organization_id: link('organization_id'), extra: strip(k.extra, 'budget_id', 'organization_id') });
    } else if (kind === 'user') ok = await stores.users.insert(decodeUser(d));
    else if (kind === 'team') {
      const t = decodeTeam(d);
      ok = await stores.teams.insert({ ...t, organization_id: link('organization_id'), extra: strip(t.extra, 'organization_id') });
    } else if (kind === 'customer') {
      const c = decodeCustomer(d);
      ok = await stores.customers.insert({ ...c, budget_id: link('budget_id'), extra: strip(c.extra, 'budget_id') });
    } else if (kind === 'model') ok = await stores.models.insert(decodeModel(d));
    if (ok) copied += 1;
  }
  return copied;
}
