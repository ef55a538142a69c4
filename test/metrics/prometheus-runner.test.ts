/** The skip/fail rule of the real-Prometheus tests: skip loudly on a dev machine, fail in CI. */
import { describe, expect, it } from 'vitest';
import { prometheusGate, startPrometheus } from './prometheus-runner.js';

const MISSING = { PROMETHEUS_BIN: '/nonexistent/prometheus', PATH: '' };

describe('prometheusGate', () => {
  it('skips with a printed reason when the binary is absent outside CI', () => {
    const lines: string[] = [];
    const gate = prometheusGate(MISSING, (line) => lines.push(line));
    expect(gate).toMatchObject({ run: false, bin: undefined });
    expect(lines).toEqual([expect.stringContaining('no prometheus binary')]);
  });

  it('runs (and so fails) when the binary is absent in CI', async () => {
    const gate = prometheusGate({ ...MISSING, CI: 'true' }, () => undefined);
    expect(gate).toMatchObject({ run: true, bin: undefined });
    await expect(startPrometheus([], { bin: gate.bin, env: MISSING })).rejects.toThrow(/prometheus binary not found/);
  });

  it('reports a binary that cannot be started instead of hanging', async () => {
    await expect(startPrometheus([], { bin: '/nonexistent/prometheus' })).rejects.toThrow(/prometheus exited|ENOENT/);
  });
});
