/** The one-per-model warning for calls recorded with cost null names the prices that would fix it. */
import { describe, expect, it } from 'vitest';
import { priceWarner } from '../../src/observability/price-warnings.js';
import { callRecord } from '../metrics/helpers.js';

describe('price warnings', () => {
  it('once per model; per-token advice for generations, the unit price for per-unit endpoints', () => {
    const lines: string[] = [];
    const warn = priceWarner((m) => lines.push(m));
    const unpriced = { costNanoUsd: null, costMissingReason: 'no_price' as const };
    warn(callRecord({ ...unpriced, upstreamModel: 'private-chat' }));
    warn(callRecord({ ...unpriced, upstreamModel: 'private-chat' }));
    warn(callRecord({ ...unpriced, upstreamModel: 'tts-private', surface: 'openai-audio-speech' }));
    warn(callRecord({ costNanoUsd: 0, upstreamModel: 'priced' }));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/private-chat has no known price.*input_cost_per_token/);
    expect(lines[1]).toMatch(/tts-private has no known price.*input_cost_per_character/);
    expect(lines[1]).not.toMatch(/input_cost_per_token/);
  });
});
