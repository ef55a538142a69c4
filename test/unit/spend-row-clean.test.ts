/**
 * spend-row.ts's cleaning of client metadata: secrets masked and U+0000 removed at any depth, JSON's
 * impossibles replaced, nothing copied when there is nothing to change, and metadata nested
 * deeper than 64 levels cut off with a marker instead of recursing without bound (issue 12).
 */
import { describe, expect, it } from 'vitest';
import { cleanJson } from '../../src/accounting/spend-row.js';

describe('cleanJson', () => {
  it('returns the value itself when nothing in it needs cleaning', () => {
    const meta = { job: 'nightly', n: [1, 2, { ok: true, none: null }], s: 'sk-' };
    expect(cleanJson(meta)).toBe(meta);
  });

  it('masks secrets and strips NUL in values and keys, copying only what changes', () => {
    const kept = { a: 1 };
    const meta = { kept, 'sk-abcdefghijkl': 'x', deep: [{ v: 'token sk-1234567890abcd end' }], nul: 'a\u0000b' };
    const out = cleanJson(meta) as Record<string, unknown>;
    expect(out).toEqual({ kept: { a: 1 }, 'sk-...ijkl': 'x', deep: [{ v: 'token sk-...abcd end' }], nul: 'ab' });
    expect(out.kept).toBe(kept);
    expect(meta.nul).toBe('a\u0000b');
  });

  it('replaces what JSON cannot carry', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(cleanJson({ big: 10n, f: () => 1, nan: NaN, inf: -Infinity, list: [undefined, 1], cyclic, when: new Date(0) })).toEqual({
      big: '[not serializable]',
      f: '[not serializable]',
      nan: null,
      inf: null,
      list: [null, 1],
      cyclic: { a: 1, self: '[not serializable]' },
      when: {},
    });
  });

  it('cuts metadata nested deeper than 64 levels off with a marker', () => {
    const root: Record<string, unknown> = {};
    let node = root;
    for (let i = 0; i < 10_000; i++) {
      const next: Record<string, unknown> = {};
      node.x = next;
      node = next;
    }
    let out = cleanJson(root) as Record<string, unknown>;
    let depth = 0;
    while (typeof out.x === 'object' && out.x !== null) {
      out = out.x as Record<string, unknown>;
      depth++;
    }
    // Levels 0..63 are objects; the 64th is the marker.
    expect(depth).toBe(63);
    expect(out.x).toBe('[too deep]');
  });
});
