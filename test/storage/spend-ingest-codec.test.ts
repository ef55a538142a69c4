/**
 * The ingest payload: a call's row comes back from its payload exactly as spendLogRow made it
 * (version 2 stores LiteLLM's metadata positionally and derives additional_usage_values); a
 * version 1 payload an older Tollgate left in the table still reads; metadata of another shape is
 * kept as an object.
 */
import { describe, expect, it } from 'vitest';
import { spendLogRow } from '../../src/accounting/spend-writer.js';
import { decodePayload, encodePayload } from '../../src/storage/sql/spend-ingest.js';
import type { SpendLogRow } from '../../src/storage/ports.js';
import { makeCall } from './calls.js';

/** JSON text of the row: what the store writes (key order included). */
const asStored = (row: SpendLogRow): string => JSON.stringify(row);

describe('spend ingest payload', () => {
  it('round-trips a row, metadata key order and derived usage values included', () => {
    const failed = makeCall({ outcome: 'failure', httpStatus: 502, error: { code: 'upstream_error', message: 'bad gateway' }, metadata: { spend_logs_metadata: { job: 'x', n: [1, 2] }, tags: ['a'] } });
    for (const call of [makeCall(), failed]) {
      const row = spendLogRow(call, { teamAlias: 'Team A', organizationId: 'org-1' });
      const back = decodePayload(encodePayload(row));
      expect(asStored(back)).toBe(asStored(row));
      expect(back.log.metadata.additional_usage_values).toEqual({ ...(row.log.metadata.usage_object as object), prompt_tokens: undefined, completion_tokens: undefined, total_tokens: undefined });
    }
  });

  it('stores the metadata positionally: the payload is well under the plain encoding', () => {
    const row = spendLogRow(makeCall());
    const payload = encodePayload(row);
    expect(JSON.parse(payload)[0]).toBe(2);
    // Version 1 carried the metadata object itself (its JSON, keys and all).
    const v1Length = payload.length - JSON.stringify(JSON.parse(payload)[1][17]).length + JSON.stringify(row.log.metadata).length;
    expect(payload.length).toBeLessThan(v1Length * 0.75);
  });

  it('keeps metadata of another shape as an object, and an additional_usage_values that differs', () => {
    const row = spendLogRow(makeCall());
    const odd: SpendLogRow = { ...row, log: { ...row.log, metadata: { custom: 1, user_api_key: 'k' } } };
    expect(asStored(decodePayload(encodePayload(odd)))).toBe(asStored(odd));
    const differs: SpendLogRow = { ...row, log: { ...row.log, metadata: { ...row.log.metadata, additional_usage_values: { extra: 5 } } } };
    expect(asStored(decodePayload(encodePayload(differs)))).toBe(asStored(differs));
    const zero: SpendLogRow = { ...row, log: { ...row.log, metadata: { ...row.log.metadata, additional_usage_values: 0 } } };
    expect(decodePayload(encodePayload(zero)).log.metadata.additional_usage_values).toBe(0);
  });

  it('reads a version 1 payload', () => {
    const row = spendLogRow(makeCall());
    const v2 = JSON.parse(encodePayload(row)) as [number, unknown[], unknown[]];
    const v1 = JSON.stringify([1, v2[1].map((v, i) => (i === 17 ? row.log.metadata : v)), v2[2]]);
    expect(asStored(decodePayload(v1))).toBe(asStored(row));
    expect(() => decodePayload(JSON.stringify([3, [], []]))).toThrow('unknown payload encoding');
  });
});
