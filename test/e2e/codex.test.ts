/**
 * The real OpenAI Codex CLI (`codex exec`, the npm package's native binary) pointed at Tollgate as a
 * custom Responses-API provider with a virtual key, on the three kinds of deployment: one that
 * speaks the Responses API (passthrough), Claude on Anthropic, and a chat-completions-only server
 * (both translated). On each, Codex runs the shell command the model asks for and sends its output
 * back (a tool round trip), then prints the model's answer. Its spend-log rows carry its session id
 * (Codex's `session-id` header, its thread id) and the upstream's token counts, and the usage
 * Codex sums for the turn equals what Tollgate recorded.
 *
 * Codex is configured as research found it runs with no network but the gateway: analytics,
 * plugins and shell snapshots off, retries off (a failure shows at once), stdin closed.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallRecord } from '../../src/core/call-record.js';
import type { JsonObject } from '../../src/core/json.js';
import { totalInput } from '../../src/core/usage.js';
import {
  ANTHROPIC_FAKE_KEY, ANTHROPIC_REPLY_TEXT, OPENAI_FAKE_KEY, OPENAI_REPLY_TEXT, OPENAI_RESPONSES_REPLY_TEXT, startFakeAnthropic, startFakeOpenAI,
  startFakeOpenAIResponses, type FakeUpstream, type ResponsesFakeUpstream,
} from '../fakes/index.js';
import { adminPost } from '../helpers/calls.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { MASTER_KEY, sleep } from './harness.js';

const CODEX = join(import.meta.dirname, '..', '..', 'node_modules', '.bin', 'codex');
const MARKER = 'tollgate-ok';
const SHELL = { cmd: `echo ${MARKER}`, login: false };

interface CodexRun {
  threadId: string;
  events: JsonObject[];
  lastMessage: string;
  usage: { input_tokens: number; cached_input_tokens: number; output_tokens: number; reasoning_output_tokens: number };
}

let responses: ResponsesFakeUpstream;
let anthropic: FakeUpstream;
let vllm: FakeUpstream;
let gw: TestGateway;
let key: string;

beforeAll(async () => {
  responses = await startFakeOpenAIResponses({ reasoning: { tokens: 7 } });
  anthropic = await startFakeAnthropic();
  vllm = await startFakeOpenAI();
  gw = await startGateway(`
model_list:
  - model_name: gpt-5.5
    litellm_params: { model: openai/gpt-5.5, api_base: "${responses.url}/v1", api_key: ${OPENAI_FAKE_KEY}, input_cost_per_token: 0.00000125, output_cost_per_token: 0.00001 }
  - model_name: claude-for-codex
    litellm_params: { model: anthropic/claude-sonnet-4-5, api_base: "${anthropic.url}", api_key: ${ANTHROPIC_FAKE_KEY} }
  - model_name: qwen-for-codex
    litellm_params: { model: hosted_vllm/Qwen/Qwen3-Coder, api_base: "${vllm.url}/v1", api_key: ${OPENAI_FAKE_KEY}, input_cost_per_token: 0.0000001, output_cost_per_token: 0.0000002 }
general_settings: { master_key: ${MASTER_KEY} }
`);
  ({ key } = (await adminPost(gw.url, MASTER_KEY, '/key/generate', { key_alias: 'codex-dev', max_budget: 10 })) as { key: string });
});
afterAll(async () => {
  await gw.close();
  await Promise.all([responses.close(), anthropic.close(), vllm.close()]);
});

function codex(model: string, prompt: string): Promise<CodexRun> {
  const root = mkdtempSync(join(tmpdir(), 'tollgate-codex-'));
  const home = join(root, 'home');
  const work = join(root, 'work');
  mkdirSync(home);
  mkdirSync(work);
  writeFileSync(
    join(home, 'config.toml'),
    `model = "${model}"
model_provider = "tollgate"
check_for_update_on_startup = false
[analytics]
enabled = false
[features]
plugins = false
shell_snapshot = false
unbounded_connection_retries = false
[model_providers.tollgate]
name = "Tollgate"
base_url = "${gw.url}/v1"
env_key = "TOLLGATE_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
`,
  );
  const last = join(root, 'last.txt');
  const args = ['exec', '--skip-git-repo-check', '--json', '--ephemeral', '--dangerously-bypass-approvals-and-sandbox', '--color', 'never', '-o', last, prompt];
  return new Promise((resolve, reject) => {
    const child = execFile(
      CODEX,
      args,
      { cwd: work, timeout: 60_000, env: { PATH: process.env.PATH, HOME: root, CODEX_HOME: home, TOLLGATE_KEY: key } },
      (err, stdout, stderr) => {
        const events = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as JsonObject);
        if (err !== null) return reject(new Error(`codex failed: ${err.message}\n${stdout}\n${stderr}`));
        const done = events.find((e) => e.type === 'turn.completed');
        const started = events.find((e) => e.type === 'thread.started');
        if (done === undefined || started === undefined) return reject(new Error(`codex did not complete a turn:\n${stdout}\n${stderr}`));
        resolve({ threadId: started.thread_id as string, events, lastMessage: readFileSync(last, 'utf8').trim(), usage: done.usage as CodexRun['usage'] });
      },
    );
    // Codex reads more prompt from stdin until it closes.
    child.stdin?.end();
  });
}

/** The spend-log rows of a session, once `count` of them are there. */
async function spendRows(sessionId: string, count: number): Promise<JsonObject[]> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const res = await fetch(`${gw.url}/spend/logs?session_id=${encodeURIComponent(sessionId)}`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
    const rows = (await res.json()) as JsonObject[];
    if (rows.length >= count || Date.now() > deadline) return rows;
    await sleep(20);
  }
}

/** What every Codex run must show: the command ran, its output went back, and the records agree with Codex. */
async function expectRoundTrip(run: CodexRun, model: string, reply: string): Promise<CallRecord[]> {
  const ran = run.events.find((e) => e.type === 'item.completed' && (e.item as JsonObject).type === 'command_execution')?.item as JsonObject | undefined;
  expect(ran?.command).toContain(`echo ${MARKER}`);
  expect(ran?.aggregated_output).toContain(MARKER);
  expect(run.lastMessage).toBe(reply);
  const records = gw.gateway.calls.records().filter((r) => r.sessionId === run.threadId);
  expect(records).toHaveLength(2);
  for (const r of records) {
    expect(r).toMatchObject({ surface: 'openai-responses', outcome: 'success', requestedModel: model, stream: true });
    expect(r.userAgent).toMatch(/^codex_exec\//);
  }
  // Codex's turn usage is the sum over its requests, as Tollgate recorded each from the upstream.
  const sum = (f: (r: CallRecord) => number | undefined): number => records.reduce((s, r) => s + (f(r) ?? 0), 0);
  expect(run.usage.input_tokens).toBe(sum((r) => totalInput(r.usage)));
  expect(run.usage.cached_input_tokens).toBe(sum((r) => r.usage.cacheRead));
  expect(run.usage.output_tokens).toBe(sum((r) => r.usage.output));
  expect(run.usage.input_tokens).toBeGreaterThan(1000);
  const rows = await spendRows(run.threadId, 2);
  expect(rows).toHaveLength(2);
  for (const row of rows) {
    expect(row.session_id).toBe(run.threadId);
    expect(row.model_group).toBe(model);
    expect(row.call_type).toBe('aresponses');
  }
  expect(rows.reduce((s, row) => s + (row.prompt_tokens as number), 0)).toBe(run.usage.input_tokens);
  return records;
}

describe('the Codex CLI through Tollgate', () => {
  it('on a Responses API deployment: bytes through, the tool output goes back upstream', async () => {
    responses.script([{ kind: 'tool', name: 'exec_command', input: SHELL }]);
    const run = await codex('gpt-5.5', 'Run the marker command and report.');
    await expectRoundTrip(run, 'gpt-5.5', OPENAI_RESPONSES_REPLY_TEXT);
    const [first, second] = responses.requests.slice(-2).map((r) => r.json as JsonObject);
    expect(first).toMatchObject({ model: 'gpt-5.5', stream: true, store: false, prompt_cache_key: run.threadId });
    const output = (second!.input as JsonObject[]).find((i) => i.type === 'function_call_output');
    expect(output?.output).toContain(MARKER);
    expect(run.usage.reasoning_output_tokens).toBe(14);
  });

  it('on Claude (Anthropic): translated both ways, exec_command as a tool_use and its output as a tool_result', async () => {
    anthropic.script([{ kind: 'tool', name: 'exec_command', input: SHELL }]);
    const run = await codex('claude-for-codex', 'Run the marker command and report.');
    await expectRoundTrip(run, 'claude-for-codex', ANTHROPIC_REPLY_TEXT);
    const [first, second] = anthropic.requests.slice(-2).map((r) => r.json as JsonObject);
    const tools = first!.tools as JsonObject[];
    expect(tools.map((t) => t.name)).toContain('exec_command');
    // Codex's hosted web_search and its multi_agent_v1 namespace have no Anthropic form: left out;
    // what is left is all function tools with their schemas.
    expect(tools.map((t) => t.name)).not.toContain('multi_agent_v1');
    for (const tool of tools) expect(Object.keys(tool).sort()).toEqual(expect.arrayContaining(['input_schema', 'name']));
    expect(tools.some((t) => 'type' in t)).toBe(false);
    const messages = second!.messages as JsonObject[];
    const use = (messages.at(-2)!.content as JsonObject[]).find((b) => b.type === 'tool_use');
    const result = (messages.at(-1)!.content as JsonObject[]).find((b) => b.type === 'tool_result');
    expect(use).toMatchObject({ name: 'exec_command', input: SHELL });
    expect(result?.tool_use_id).toBe(use?.id);
    expect(JSON.stringify(result?.content)).toContain(MARKER);
  });

  it('on a chat-completions-only server (hosted_vllm): translated, the tool call and its output as chat messages', async () => {
    vllm.script([{ kind: 'tool', name: 'exec_command', input: SHELL }]);
    const run = await codex('qwen-for-codex', 'Run the marker command and report.');
    await expectRoundTrip(run, 'qwen-for-codex', OPENAI_REPLY_TEXT);
    const messages = (vllm.requests.at(-1)!.json as JsonObject).messages as JsonObject[];
    const call = messages.find((m) => m.role === 'assistant' && Array.isArray(m.tool_calls));
    const output = messages.find((m) => m.role === 'tool');
    expect(((call?.tool_calls as JsonObject[])[0]!.function as JsonObject).name).toBe('exec_command');
    expect(String(output?.content)).toContain(MARKER);
    expect(messages[0]!.role).toBe('system');
  });
});
