/**
 * The recorder sums tokens without core's arrays (it runs once per request); the sums must be
 * core's on every combination of defined and undefined fields.
 */
import { describe, expect, it } from 'vitest';
import { totalInput, type Usage } from '../../src/core/usage.js';
import { inputTokens } from '../../src/observability/metrics/observe.js';

const FIELDS = ['inputUncached', 'cacheRead', 'cacheWrite5m', 'cacheWrite1h', 'cacheWriteUnknownTtl', 'output'] as const;

describe('token sums on the metrics path', () => {
  // Total tokens (input + output) are checked through the exposition in recorder.test.ts.
  it("equal core's totalInput on all 64 combinations of present fields", () => {
    for (let mask = 0; mask < 1 << FIELDS.length; mask++) {
      const u: Usage = {};
      FIELDS.forEach((f, i) => {
        if (mask & (1 << i)) u[f] = (i + 1) * 7; // 7, 14, 21, …: distinct, so a dropped part shows
      });
      expect(inputTokens(u), JSON.stringify(u)).toBe(totalInput(u));
    }
  });

  it('is undefined when the provider reported no input at all', () => {
    expect(inputTokens({ output: 5 })).toBeUndefined();
    expect(inputTokens({ cacheWrite1h: 0 })).toBe(0);
  });
});
