/**
 * The real Claude Code CLI (the npm package's native binary, `claude -p`) pointed at Tollgate with
 * nothing but ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY. Its first turn writes its system prompt to
 * the (mock model's) prompt cache, the second reads it; the cost Claude Code computes from our usage
 * must equal the cost Tollgate recorded, and each run is exactly one call record.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

const run = promisify(execFile);
const CLAUDE = join(import.meta.dirname, '..', '..', 'node_modules', '.bin', 'claude');
const KEY = 'sk-claude-code-test';

interface ClaudeResult {
  is_error: boolean;
  result: string;
  total_cost_usd: number;
  usage: { input_tokens: number; cache_creation_input_tokens: number; cache_read_input_tokens: number; output_tokens: number };
}

let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway(`
model_list:
  - model_name: "*"
    litellm_params: { model: mock/*, mock_response: "Hi from the gateway." }
general_settings: { master_key: ${KEY} }
`);
});
afterAll(() => gw.close());

async function claude(prompt: string): Promise<ClaudeResult> {
  const { stdout } = await run(CLAUDE, ['-p', prompt, '--output-format', 'json'], {
    timeout: 60_000,
    env: {
      PATH: process.env.PATH,
      HOME: mkdtempSync(join(tmpdir(), 'tollgate-claude-')),
      ANTHROPIC_BASE_URL: gw.url,
      ANTHROPIC_API_KEY: KEY,
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_TELEMETRY: '1',
      DISABLE_AUTOUPDATER: '1',
    },
  });
  return JSON.parse(stdout) as ClaudeResult;
}

describe('Claude Code through Tollgate', () => {
  it('answers, caches its system prompt, and agrees with Tollgate on the cost', async () => {
    const first = await claude('say hi');
    expect(first.is_error).toBe(false);
    expect(first.result).toBe('Hi from the gateway.');
    expect(first.usage.cache_creation_input_tokens).toBeGreaterThan(1000);
    expect(first.usage.cache_read_input_tokens).toBe(0);

    const second = await claude('say hi');
    expect(second.is_error).toBe(false);
    // The same system prompt and tools again: what the first run wrote is now read.
    expect(second.usage.cache_read_input_tokens).toBeGreaterThan(1000);

    const records = gw.gateway.calls.records().filter((r) => r.surface === 'anthropic-messages');
    expect(records).toHaveLength(2);
    for (const [i, result] of [first, second].entries()) {
      const record = records[i]!;
      expect(record.outcome).toBe('success');
      expect(record.stream).toBe(true);
      expect(record.userAgent).toMatch(/^claude-cli\//);
      expect(record.usage).toMatchObject({
        inputUncached: result.usage.input_tokens,
        cacheRead: result.usage.cache_read_input_tokens,
        cacheWrite5m: result.usage.cache_creation_input_tokens,
        output: result.usage.output_tokens,
      });
      // Claude Code prices the usage we reported with Anthropic's published prices: the same number.
      expect(record.costNanoUsd).not.toBeNull();
      expect(record.costNanoUsd! / 1e9).toBeCloseTo(result.total_cost_usd, 9);
    }
    // The read is the shared part (tools and system prompt) of what the first run wrote; the
    // per-session context block after it is written anew.
    expect(second.usage.cache_read_input_tokens).toBeLessThan(records[0]!.usage.cacheWrite5m!);
    expect(second.usage.cache_creation_input_tokens).toBeGreaterThan(0);
  }, 120_000);
});
