/**
 * Durations and calendar-aligned budget periods, in UTC and in zones with offsets and DST.
 */
import { describe, expect, it } from 'vitest';
import { addDuration, parseDuration, periodEnd, requireDuration, validateTimeZone } from '../../src/policy/budget-period.js';
import { PeriodClock } from '../../src/policy/scopes.js';

const iso = (ms: number): string => new Date(ms).toISOString();
const at = (s: string): number => Date.parse(s);
const end = (d: string, now: string, tz = 'UTC'): string => iso(periodEnd(requireDuration(d, 'budget_duration'), at(now), tz));

describe('parseDuration', () => {
  it('reads s, m, h, d, w, mo and the word aliases; refuses the rest', () => {
    expect(parseDuration('30s')).toEqual({ value: 30, unit: 's' });
    expect(parseDuration('1mo')).toEqual({ value: 1, unit: 'mo' });
    expect(parseDuration('monthly')).toEqual({ value: 1, unit: 'mo' });
    expect(parseDuration('daily')).toEqual({ value: 1, unit: 'd' });
    expect(parseDuration('weekly')).toEqual({ value: 7, unit: 'd' });
    for (const bad of ['', '0d', '1y', 'd', '1.5h', '-1d', 'forever']) expect(parseDuration(bad)).toBeUndefined();
    expect(() => requireDuration('1y', 'budget_duration')).toThrow(/budget_duration: "1y" is not a duration/);
  });

  it('adds a duration; months are calendar months clamped to the month end', () => {
    expect(iso(addDuration(at('2025-03-10T12:00:00Z'), { value: 30, unit: 'm' }))).toBe('2025-03-10T12:30:00.000Z');
    expect(iso(addDuration(at('2025-03-10T12:00:00Z'), { value: 2, unit: 'w' }))).toBe('2025-03-24T12:00:00.000Z');
    expect(iso(addDuration(at('2025-01-31T08:00:00Z'), { value: 1, unit: 'mo' }))).toBe('2025-02-28T08:00:00.000Z');
    expect(iso(addDuration(at('2024-01-31T08:00:00Z'), { value: 1, unit: 'mo' }))).toBe('2024-02-29T08:00:00.000Z');
    expect(iso(addDuration(at('2025-11-15T00:00:00Z'), { value: 3, unit: 'mo' }))).toBe('2026-02-15T00:00:00.000Z');
  });
});

describe('periodEnd (UTC)', () => {
  it('1d and 24h end at the next midnight, even exactly at midnight', () => {
    expect(end('1d', '2025-03-10T13:14:15Z')).toBe('2025-03-11T00:00:00.000Z');
    expect(end('24h', '2025-03-10T13:14:15Z')).toBe('2025-03-11T00:00:00.000Z');
    expect(end('1d', '2025-03-11T00:00:00Z')).toBe('2025-03-12T00:00:00.000Z');
  });

  it('7d and 1w end on the next Monday; 30d and 1mo on the first of the next month', () => {
    // 2025-03-10 is a Monday.
    expect(end('7d', '2025-03-10T00:00:00Z')).toBe('2025-03-17T00:00:00.000Z');
    expect(end('1w', '2025-03-16T23:59:59Z')).toBe('2025-03-17T00:00:00.000Z');
    expect(end('30d', '2025-12-31T23:00:00Z')).toBe('2026-01-01T00:00:00.000Z');
    expect(end('1mo', '2025-02-10T00:00:00Z')).toBe('2025-03-01T00:00:00.000Z');
    expect(end('monthly', '2025-02-28T23:59:59Z')).toBe('2025-03-01T00:00:00.000Z');
  });

  it('s, m and h align to multiples since midnight and never pass midnight', () => {
    expect(end('30s', '2025-03-10T10:00:29Z')).toBe('2025-03-10T10:00:30.000Z');
    expect(end('15m', '2025-03-10T10:07:00Z')).toBe('2025-03-10T10:15:00.000Z');
    expect(end('1h', '2025-03-10T10:00:00Z')).toBe('2025-03-10T11:00:00.000Z');
    expect(end('5h', '2025-03-10T22:30:00Z')).toBe('2025-03-11T00:00:00.000Z');
    expect(end('45m', '2025-03-10T10:50:00Z')).toBe('2025-03-10T11:15:00.000Z');
  });

  it('other day, week and month counts are counted from the epoch, so every instance agrees', () => {
    const a = periodEnd({ value: 3, unit: 'd' }, at('2025-03-10T01:00:00Z'), 'UTC');
    const b = periodEnd({ value: 3, unit: 'd' }, at('2025-03-10T23:00:00Z'), 'UTC');
    expect(a).toBe(b);
    expect((a - Date.UTC(1970, 0, 1)) % (3 * 86_400_000)).toBe(0);
    expect(end('3mo', '2025-02-10T00:00:00Z')).toBe('2025-04-01T00:00:00.000Z');
    expect(end('2w', '2025-03-10T00:00:00Z')).toMatch(/T00:00:00.000Z$/);
    expect(new Date(periodEnd({ value: 2, unit: 'w' }, at('2025-03-12T00:00:00Z'), 'UTC')).getUTCDay()).toBe(1);
  });
});

describe('periodEnd in litellm_settings.timezone', () => {
  it('midnight is local midnight', () => {
    // 20:00Z is already 01:30 on the 11th in India: the period ends at midnight of the 12th, local.
    expect(end('1d', '2025-03-10T20:00:00Z', 'Asia/Kolkata')).toBe('2025-03-11T18:30:00.000Z');
    expect(end('1d', '2025-03-10T17:00:00Z', 'Asia/Kolkata')).toBe('2025-03-10T18:30:00.000Z');
    expect(end('1mo', '2025-03-31T19:00:00Z', 'Asia/Kolkata')).toBe('2025-04-30T18:30:00.000Z');
  });

  it('follows daylight saving time (New York springs forward on 2025-03-09)', () => {
    expect(end('1d', '2025-03-08T12:00:00Z', 'America/New_York')).toBe('2025-03-09T05:00:00.000Z');
    expect(end('1d', '2025-03-09T12:00:00Z', 'America/New_York')).toBe('2025-03-10T04:00:00.000Z');
  });

  it('rejects unknown zones by name', () => {
    expect(validateTimeZone('Europe/Berlin')).toBe('Europe/Berlin');
    expect(() => validateTimeZone('Mars/Olympus')).toThrow(/unknown time zone "Mars\/Olympus"/);
  });
});

describe('PeriodClock', () => {
  it('caches a period until it ends, and gives 0 for no duration', () => {
    const clock = new PeriodClock('UTC');
    const t = at('2025-03-10T10:00:00Z');
    expect(clock.end(null, t)).toBe(0);
    expect(clock.end('nonsense', t)).toBe(0);
    expect(clock.end('1d', t)).toBe(at('2025-03-11T00:00:00Z'));
    expect(clock.end('1d', at('2025-03-10T23:59:59Z'))).toBe(at('2025-03-11T00:00:00Z'));
    expect(clock.end('1d', at('2025-03-11T00:00:00Z'))).toBe(at('2025-03-12T00:00:00Z'));
  });
});
