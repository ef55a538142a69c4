/**
 * The exposition is byte-for-byte what prom-client 15.1.3 wrote before Tollgate kept its own cells:
 * the golden files in fixtures/exposition/ were rendered by the prom-client recorder (commit
 * 2a95fe0) from exposition-workload.ts, with one deliberate change since — a client disconnect's
 * exception_class is the error catalogue's `ClientDisconnected` (was `ClientDisconnectedError`).
 * HELP/TYPE lines, label order and escaping, `le` first on bucket lines, `1.0` bounds, `+Inf`,
 * `Nan`, `1e+21`, series order and the blank line between families are all compared.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createMetrics, resolveMetricsConfig } from '../../src/observability/metrics/index.js';
import { runWorkload, WORKLOAD_CONFIGS, WORKLOAD_DEPLOYMENTS } from './exposition-workload.js';

function golden(name: string): string {
  return gunzipSync(readFileSync(join(import.meta.dirname, 'fixtures', 'exposition', `${name}.prom.gz`))).toString('utf8');
}

/** The first line that differs, so a failure names it instead of printing half a megabyte. */
function firstDifference(actual: string, expected: string): string | undefined {
  const a = actual.split('\n');
  const e = expected.split('\n');
  for (let i = 0; i < Math.max(a.length, e.length); i++) {
    if (a[i] !== e[i]) return `line ${i + 1}:\n  got      ${a[i] ?? '(end)'}\n  expected ${e[i] ?? '(end)'}`;
  }
  return undefined;
}

describe('exposition format', () => {
  for (const [name, settings] of Object.entries(WORKLOAD_CONFIGS)) {
    it(`renders the "${name}" workload exactly as prom-client did`, async () => {
      const metrics = createMetrics({
        config: resolveMetricsConfig(settings),
        lookupDeployment: (id) => WORKLOAD_DEPLOYMENTS.find((d) => d.id === id),
        lookupPrincipal: (p) => (p.teamId === 'team-2' ? { teamAlias: 'two', userEmail: 'b@example.com' } : undefined),
      });
      runWorkload(metrics);
      const text = await metrics.render();
      const expected = golden(name);
      expect(firstDifference(text, expected)).toBeUndefined();
      expect(text).toBe(expected);
    });
  }

  it('renders a configuration with every metric excluded as prom-client did: one newline', async () => {
    const metrics = createMetrics({ config: resolveMetricsConfig({ prometheus_metrics_config: [{ group: 'one', metrics: ['litellm_in_flight_requests'] }], prometheus_exclude_metrics: ['litellm_in_flight_requests'] }) });
    expect(await metrics.render()).toBe('\n');
  });
});
