/**
 * The Postgres function behind counter-state.ts, created by migration 0007. Arguments: the keys
 * of one call, a JSON spec {c: [[key indexes], limit, incoming, refuse reached (1) or over (0)],
 * i: [[key index, amount, expires at or -1]]} (1-based indexes, as the Redis script takes them),
 * the caller's clock and whether to check. It applies the rules of counter-rules.ts: an expired
 * counter reads as 0 and is replaced; every check's sum is reported, the first that refuses stops
 * the increments; an increment keeps the longest expiry (none is the longest).
 *
 * Its transaction commits asynchronously (no wait for the WAL flush): a database crash may lose
 * the last fraction of a second of counter changes. These are live admission counters; the record
 * — spend logs and budget_counters — is committed normally by its own writers.
 */
export const APPLY_FUNCTION = 'tollgate_counters_apply';

export const APPLY_FUNCTION_SQL = `
CREATE OR REPLACE FUNCTION ${APPLY_FUNCTION}(p_keys text[], p_spec jsonb, p_now bigint, p_check boolean)
RETURNS jsonb LANGUAGE plpgsql AS $fn$
DECLARE
  n int := cardinality(p_keys);
  vals float8[] := array_fill(0::float8, ARRAY[n]);
  exps bigint[] := array_fill(NULL::bigint, ARRAY[n]);
  present boolean[] := array_fill(false, ARRAY[n]);
  row record;
  chk jsonb;
  inc jsonb;
  idx int;
  at int := 0;
  total float8;
  failed int := -1;
  sums jsonb := '[]'::jsonb;
  outs jsonb := '[]'::jsonb;
  amount float8;
  expiry bigint;
BEGIN
  -- Live admission state, not the record (spend logs and budget_counters are): its commit need not
  -- wait for the WAL flush, which would otherwise hold every admission of a key behind an fsync.
  PERFORM set_config('synchronous_commit', 'off', true);
  PERFORM pg_advisory_xact_lock(h) FROM (SELECT hashtextextended(k, 0) AS h FROM unnest(p_keys) AS k ORDER BY 1) AS ordered;
  FOR row IN SELECT a.ord, t.value, t.expires_at FROM unnest(p_keys) WITH ORDINALITY AS a(key, ord) JOIN tollgate_shared_counters t ON t.key = a.key LOOP
    IF row.expires_at IS NULL OR row.expires_at > p_now THEN
      vals[row.ord] := row.value;
      exps[row.ord] := row.expires_at;
      present[row.ord] := true;
    END IF;
  END LOOP;
  IF p_check THEN
    FOR chk IN SELECT value FROM jsonb_array_elements(p_spec->'c') LOOP
      total := 0;
      FOR idx IN SELECT value::int FROM jsonb_array_elements_text(chk->0) LOOP
        total := total + vals[idx];
      END LOOP;
      sums := sums || to_jsonb(total);
      IF failed < 0 AND (
        ((chk->>3)::int = 1 AND total >= (chk->>1)::float8) OR
        ((chk->>3)::int = 0 AND total + (chk->>2)::float8 > (chk->>1)::float8)
      ) THEN
        failed := at;
      END IF;
      at := at + 1;
    END LOOP;
    IF failed >= 0 THEN
      RETURN jsonb_build_object('ok', false, 'failed', failed, 'sums', sums);
    END IF;
  END IF;
  FOR inc IN SELECT value FROM jsonb_array_elements(p_spec->'i') LOOP
    idx := (inc->>0)::int;
    amount := (inc->>1)::float8;
    expiry := (inc->>2)::bigint;
    -- An earlier increment of this call may have given the counter an expiry already past.
    IF present[idx] AND exps[idx] IS NOT NULL AND exps[idx] <= p_now THEN
      present[idx] := false;
      vals[idx] := 0;
    END IF;
    IF NOT present[idx] THEN
      exps[idx] := CASE WHEN expiry < 0 THEN NULL ELSE expiry END;
      present[idx] := true;
    ELSIF exps[idx] IS NULL OR expiry < 0 THEN
      exps[idx] := NULL;
    ELSE
      exps[idx] := greatest(exps[idx], expiry);
    END IF;
    vals[idx] := vals[idx] + amount;
    outs := outs || to_jsonb(vals[idx]);
  END LOOP;
  INSERT INTO tollgate_shared_counters (key, value, expires_at)
    SELECT p_keys[o], vals[o], exps[o] FROM (SELECT DISTINCT (value->>0)::int AS o FROM jsonb_array_elements(p_spec->'i')) AS touched
    ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at;
  RETURN jsonb_build_object('ok', true, 'sums', sums, 'values', outs);
END
$fn$;
`;
