/**
 * The loosely typed Kysely handle the tenancy stores, the change feed and its change sources share,
 * and the reading of a `tollgate_record_extras` document both the store and the feed decode.
 * It lives apart from `tenancy-store.ts` so the feed files can name it without importing the store
 * that constructs them (which would close an import loop).
 */
import type { Kysely } from 'kysely';
import type { Row } from './litellm-values.js';

export type LooseDb = Kysely<Record<string, Row>>;

/** A `tollgate_record_extras.doc` as an object; anything else (absent, corrupt, not an object) is `{}`. */
export function extrasDoc(text: unknown): Record<string, unknown> {
  if (typeof text !== 'string') return {};
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
