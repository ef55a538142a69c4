/**
 * The loosely typed Kysely handle the tenancy stores, the change feed and its change sources share.
 * It lives apart from `tenancy-store.ts` so the feed files can name it without importing the store
 * that constructs them (which would close an import loop).
 */
import type { Kysely } from 'kysely';
import type { Row } from './litellm-values.js';

export type LooseDb = Kysely<Record<string, Row>>;
