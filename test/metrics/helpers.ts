/**
 * Hand-built call records and a small parser for the Prometheus text exposition, so the metric
 * tests read like "this record → these samples" with the numbers written out by hand.
 */
import type { CallRecord, DeploymentRef } from '../../src/core/call-record.js';

export const SONNET: DeploymentRef = {
  id: 'dep-sonnet-1',
  modelGroup: 'claude-sonnet',
  provider: 'anthropic',
  model: 'claude-sonnet-4-5',
  apiBase: 'https://api.anthropic.com',
};

/** A successful, non-streaming /v1/messages call on SONNET; override what a test is about. */
export function callRecord(overrides: Partial<CallRecord> = {}): CallRecord {
  return {
    requestId: 'req-1',
    callId: 'call-1',
    surface: 'anthropic-messages',
    route: '/v1/messages',
    stream: false,
    startedAt: 1_700_000_000_000,
    endedAt: 1_700_000_001_000,
    durationMs: 1000,
    upstreamMs: 900,
    principal: { keyHash: 'hash-abc', keyAlias: 'ci-key', userId: 'user-1', teamId: 'team-1', endUser: 'customer-9', isMaster: false },
    requestedModel: 'claude-sonnet',
    modelGroup: 'claude-sonnet',
    deployment: SONNET,
    attempts: [{ deploymentId: SONNET.id, startedAt: 1_700_000_000_050, durationMs: 900, outcome: 'success' }],
    retries: 0,
    fallbacks: 0,
    outcome: 'success',
    httpStatus: 200,
    clientDisconnected: false,
    usage: { inputUncached: 10, output: 5 },
    upstreamModel: 'claude-sonnet-4-5',
    costNanoUsd: 105_000,
    userAgent: 'vitest',
    passthrough: true,
    ...overrides,
  };
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses `name{a="b",…} value` lines; comments and blank lines are skipped. */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null) throw new Error(`unparseable exposition line: ${line}`);
    const [, name, rawLabels, rawValue] = match;
    const labels: Record<string, string> = {};
    for (const m of (rawLabels ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[m[1]!] = m[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    }
    samples.push({ name: name!, labels, value: rawValue === '+Inf' ? Infinity : rawValue === '-Inf' ? -Infinity : Number(rawValue) });
  }
  return samples;
}

/** Metric family names declared by `# TYPE` lines. */
export function declaredMetrics(text: string): string[] {
  return [...text.matchAll(/^# TYPE (\S+) \S+$/gm)].map((m) => m[1]!);
}

function matches(sample: Sample, labels: Record<string, string>): boolean {
  return Object.entries(labels).every(([k, v]) => sample.labels[k] === v);
}

export function find(samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && matches(s, labels));
}

/** Sum of the samples of `name` whose labels include `labels`; undefined when there are none. */
export function total(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = find(samples, name, labels);
  return found.length === 0 ? undefined : found.reduce((acc, s) => acc + s.value, 0);
}

/** The samples a running gateway exposes at `/metrics/` (the path LiteLLM's dashboards scrape). */
export async function scrape(url: string): Promise<Sample[]> {
  return parseExposition(await (await fetch(`${url}/metrics/`)).text());
}
