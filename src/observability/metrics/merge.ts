/**
 * One exposition from several workers' (`--workers N`), so a scrape never sees one worker's share.
 * Counters and histogram series are summed. Gauges are state, not flows: `litellm_in_flight_requests`
 * is summed (each worker counts its own), a gauge of what is left (`*remaining*`) takes the lowest
 * value (the worker that settled last saw the most spend), any other gauge (limits, max budgets,
 * deployment state) the highest — the same configuration everywhere, so they agree anyway.
 */

interface Family {
  header: string[];
  type: string;
  samples: Map<string, number>;
}

export function mergeExpositions(texts: readonly string[]): string {
  const families = new Map<string, Family>();
  for (const text of texts) {
    let current: Family | undefined;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      if (line.startsWith('# ')) {
        const [, kind, name, ...rest] = line.split(' ');
        if (name === undefined) continue;
        let family = families.get(name);
        if (family === undefined) {
          family = { header: [], type: 'untyped', samples: new Map() };
          families.set(name, family);
        }
        if (kind === 'TYPE') family.type = rest[0] ?? 'untyped';
        if (!family.header.includes(line)) family.header.push(line);
        current = family;
        continue;
      }
      if (current === undefined) continue;
      // The value is the last field (no timestamps are written); label values may hold spaces.
      const at = line.lastIndexOf(' ');
      const series = line.slice(0, at);
      const value = parseValue(line.slice(at + 1));
      const seen = current.samples.get(series);
      current.samples.set(series, seen === undefined ? value : combine(current, series, seen, value));
    }
  }
  const out: string[] = [];
  for (const family of families.values()) {
    out.push(...family.header);
    for (const [series, value] of family.samples) out.push(`${series} ${formatValue(value)}`);
  }
  return out.length === 0 ? '\n' : `${out.join('\n')}\n`;
}

function combine(family: Family, series: string, a: number, b: number): number {
  if (family.type !== 'gauge' || series.startsWith('litellm_in_flight_requests')) return a + b;
  return series.includes('remaining') ? Math.min(a, b) : Math.max(a, b);
}

function parseValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

function formatValue(value: number): string {
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}
