/**
 * Durations and budget periods. `duration` (key expiry) is a length of time added to now;
 * `budget_duration` is a calendar-aligned period in `litellm_settings.timezone` (IANA name, default
 * UTC), so every instance computes the same period for the same instant without coordination:
 *
 * - `1d` (and `24h`) ends at the next local midnight; `7d` / `1w` at the next Monday midnight;
 *   `30d` and `1mo` at the first of the next month (LiteLLM's rules).
 * - `Ns`, `Nm`, `Nh` end at the next multiple of N since local midnight (`15m` → :00, :15, …), and
 *   never later than the next midnight.
 * - Other day, week and month counts (`3d`, `2w`, `3mo`) are counted from 1970-01-01 local (weeks
 *   from its first Monday), so they too are the same everywhere. LiteLLM anchors these at creation
 *   time instead; a period boundary here never depends on when a key was made.
 *
 * Also accepted: `daily`, `weekly`, `monthly`, `hourly` (what scripts written for LiteLLM's docs send).
 */
import { invalidRequest } from '../core/errors.js';

export type DurationUnit = 's' | 'm' | 'h' | 'd' | 'w' | 'mo';

export interface ParsedDuration {
  value: number;
  unit: DurationUnit;
}

const ALIASES: Record<string, string> = { hourly: '1h', daily: '1d', weekly: '7d', monthly: '1mo' };
const UNIT_MS: Record<Exclude<DurationUnit, 'mo'>, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const DAY_S = 86_400;

/** Parses `30s`, `5m`, `2h`, `1d`, `1w`, `1mo` (and the word aliases); undefined when malformed. */
export function parseDuration(text: string): ParsedDuration | undefined {
  const normalized = ALIASES[text.trim().toLowerCase()] ?? text.trim();
  const match = /^(\d+)\s*(mo|s|m|h|d|w)$/.exec(normalized);
  if (match === null) return undefined;
  const value = Number(match[1]);
  if (!Number.isSafeInteger(value) || value <= 0) return undefined;
  return { value, unit: match[2] as DurationUnit };
}

/** The parsed duration, or a 400 naming the field. */
export function requireDuration(text: string, field: string): ParsedDuration {
  const parsed = parseDuration(text);
  if (parsed === undefined) {
    throw invalidRequest(`${field}: "${text}" is not a duration; use a number and a unit: s, m, h, d, w or mo (e.g. "30d", "1mo")`, field);
  }
  return parsed;
}

/** `now` plus the duration; months are calendar months in UTC (Jan 31 + 1mo = Feb 28/29). */
export function addDuration(now: number, d: ParsedDuration): number {
  if (d.unit !== 'mo') return now + d.value * UNIT_MS[d.unit];
  const date = new Date(now);
  const day = date.getUTCDate();
  const target = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + d.value, 1, date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds(), date.getUTCMilliseconds()));
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(day, lastDay));
  return target.getTime();
}

/** End (exclusive, epoch ms) of the budget period containing `now`. */
export function periodEnd(d: ParsedDuration, now: number, timeZone: string): number {
  const local = zonedFields(now, timeZone);
  const secondsOfDay = local.hour * 3600 + local.minute * 60 + local.second;
  const dayNumber = Math.floor(Date.UTC(local.year, local.month - 1, local.day) / 86_400_000);
  const dayStart = (n: number): number => {
    const date = new Date(n * 86_400_000);
    return zonedToEpoch({ year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate(), hour: 0, minute: 0, second: 0 }, timeZone);
  };
  let { value, unit } = d;
  // Whole days written in smaller units are day periods (`24h` = `1d`, `48h` = `2d`).
  const seconds = unit === 's' ? value : unit === 'm' ? value * 60 : unit === 'h' ? value * 3600 : undefined;
  if (seconds !== undefined && seconds % DAY_S === 0) {
    value = seconds / DAY_S;
    unit = 'd';
  }
  if (seconds !== undefined && unit !== 'd') {
    const next = (Math.floor(secondsOfDay / seconds) + 1) * seconds;
    if (next >= DAY_S) return dayStart(dayNumber + 1);
    return zonedToEpoch({ year: local.year, month: local.month, day: local.day, hour: Math.floor(next / 3600), minute: Math.floor((next % 3600) / 60), second: next % 60 }, timeZone);
  }
  if (unit === 'w') {
    value *= 7;
    unit = 'd';
  }
  if (unit === 'd') {
    if (value === 30) return monthStart(local.year, local.month + 1, timeZone);
    if (value % 7 === 0) {
      // Day 4 since the epoch (1970-01-05) is a Monday: weeks are counted from it.
      const weeks = value / 7;
      const weekIndex = Math.floor((dayNumber - 4) / 7);
      return dayStart(4 + (Math.floor(weekIndex / weeks) + 1) * weeks * 7);
    }
    return dayStart((Math.floor(dayNumber / value) + 1) * value);
  }
  const monthIndex = local.year * 12 + (local.month - 1);
  const nextIndex = (Math.floor(monthIndex / value) + 1) * value;
  return monthStart(Math.floor(nextIndex / 12), (nextIndex % 12) + 1, timeZone);
}

function monthStart(year: number, month: number, timeZone: string): number {
  const y = year + Math.floor((month - 1) / 12);
  const m = ((month - 1) % 12) + 1;
  return zonedToEpoch({ year: y, month: m, day: 1, hour: 0, minute: 0, second: 0 }, timeZone);
}

/** Checks an IANA time zone name; throws with the name when unknown. */
export function validateTimeZone(timeZone: string): string {
  try {
    formatter(timeZone);
    return timeZone;
  } catch {
    throw new Error(`unknown time zone "${timeZone}" (use an IANA name such as "UTC", "Europe/Berlin" or "America/New_York")`);
  }
}

interface Fields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

function zonedFields(epochMs: number, timeZone: string): Fields {
  const out: Fields = { year: 1970, month: 1, day: 1, hour: 0, minute: 0, second: 0 };
  for (const part of formatter(timeZone).formatToParts(epochMs)) {
    if (part.type in out) out[part.type as keyof Fields] = Number(part.value);
  }
  return out;
}

/** The instant a wall-clock time in `timeZone` names (in a DST gap: the first valid instant after it). */
function zonedToEpoch(f: Fields, timeZone: string): number {
  const wall = Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second);
  let guess = wall;
  for (let i = 0; i < 3; i++) {
    const seen = zonedFields(guess, timeZone);
    const diff = wall - Date.UTC(seen.year, seen.month - 1, seen.day, seen.hour, seen.minute, seen.second);
    if (diff === 0) return guess;
    guess += diff;
  }
  return guess;
}
