/**
 * Upstream faults before the answer began, through the real server, on both surfaces and both
 * stream modes: a refused connection, a TCP reset before the headers, a reset in the middle of a
 * JSON body, nginx HTML error pages (502, 503) and headers later than the deployment's timeout.
 * Each fault is checked twice: on a group of one deployment without fallbacks (what the client
 * gets, in its surface's envelope) and on a group of two deployments with a fallback group (one
 * request to each deployment, then the fallback answers). Every request leaves exactly one record.
 * Streams that fail after their first event are upstream-faults-streams.test.ts.
 */
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAULT_REPLY_TEXT, startFaultUpstream, type FaultStep, type FaultUpstream } from '../fakes/fault-upstream.js';
import { ANTHROPIC_REPLY_TEXT, countWords, OPENAI_REPLY_TEXT, startFakeAnthropic, startFakeOpenAI, type FakeUpstream } from '../fakes/index.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { generations, routing } from '../routing/e2e-helpers.js';
import { MASTER_KEY, postJson, recordFor, sseJson } from './harness.js';

type Surface = 'openai' | 'anthropic';
const PATH: Record<Surface, string> = { openai: '/v1/chat/completions', anthropic: '/v1/messages' };
/** Group names start with the surface's own dialect: gpt-* are OpenAI deployments, claude-* Anthropic. */
const PREFIX: Record<Surface, string> = { openai: 'gpt', anthropic: 'claude' };
const BACKUP_TEXT: Record<Surface, string> = { openai: OPENAI_REPLY_TEXT, anthropic: ANTHROPIC_REPLY_TEXT };
const PROMPT = 'Tell me something nice.';

let gw: TestGateway;
let f1: FaultUpstream;
let f2: FaultUpstream;
let backup: Record<Surface, FakeUpstream>;

/** A port nothing listens on: bound once, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  [f1, f2] = await Promise.all([startFaultUpstream(), startFaultUpstream()]);
  backup = { openai: await startFakeOpenAI(), anthropic: await startFakeAnthropic() };
  const [dead1, dead2] = [`http://127.0.0.1:${await closedPort()}`, `http://127.0.0.1:${await closedPort()}`];
  // Short timeouts on the faulty deployments only; order 1 is always tried before order 2.
  const t = 'timeout: 0.5, stream_timeout: 0.5';
  const oa = (base: string, extra = ''): string => `{ model: openai/gpt-4o-mini, api_base: "${base}/v1", api_key: sk-openai-fake${extra} }`;
  const an = (base: string, extra = ''): string => `{ model: anthropic/claude-sonnet-4-5, api_base: "${base}", api_key: sk-ant-fake${extra} }`;
  const entries: [string, string, string][] = [];
  for (const [prefix, params] of [['gpt', oa], ['claude', an]] as const) {
    entries.push(
      [`${prefix}-solo`, `${prefix}-solo-1`, params(f1.url, `, ${t}`)],
      [`${prefix}-pair`, `${prefix}-pair-1`, params(f1.url, `, ${t}, order: 1`)],
      [`${prefix}-pair`, `${prefix}-pair-2`, params(f2.url, `, ${t}, order: 2`)],
      [`${prefix}-dead-solo`, `${prefix}-dead-solo-1`, params(dead1)],
      [`${prefix}-dead-pair`, `${prefix}-dead-pair-1`, params(dead1, ', order: 1')],
      [`${prefix}-dead-pair`, `${prefix}-dead-pair-2`, params(dead2, ', order: 2')],
    );
  }
  entries.push(['gpt-backup', 'gpt-backup-1', oa(backup.openai.url)], ['claude-backup', 'claude-backup-1', an(backup.anthropic.url)]);
  gw = await startGateway(`
model_list:
${entries.map(([group, id, params]) => `  - model_name: ${group}\n    litellm_params: ${params}\n    model_info: { id: ${id} }`).join('\n')}
router_settings:
  disable_cooldowns: true
  fallbacks: [{ gpt-pair: [gpt-backup] }, { gpt-dead-pair: [gpt-backup] }, { claude-pair: [claude-backup] }, { claude-dead-pair: [claude-backup] }]
general_settings: { master_key: ${MASTER_KEY} }
`);
});
afterAll(async () => {
  await gw.close();
  await Promise.all([f1.close(), f2.close(), backup.openai.close(), backup.anthropic.close()]);
});

function body(surface: Surface, model: string, stream: boolean): Record<string, unknown> {
  const messages = [{ role: 'user', content: PROMPT }];
  return surface === 'anthropic' ? { model, max_tokens: 64, messages, stream } : { model, messages, stream };
}

/** The surface's error envelope, exactly: OpenAI's four fields (code is the status), Anthropic's typed error. */
function expectEnvelope(surface: Surface, json: unknown, status: number, type: string, message: RegExp): void {
  if (surface === 'openai') {
    expect(json).toEqual({ error: { message: expect.stringMatching(message), type, param: null, code: String(status) } });
  } else {
    expect(json).toEqual({ type: 'error', error: { type, message: expect.stringMatching(message) }, request_id: expect.any(String) });
  }
}

/** The reply text of a whole answer or of a stream, in either surface's protocol. */
async function replyText(res: Response, stream: boolean): Promise<string> {
  if (!stream) {
    const json = (await res.json()) as { choices?: { message: { content: string } }[]; content?: { text: string }[] };
    return json.choices?.[0]?.message.content ?? json.content?.map((b) => b.text).join('') ?? '';
  }
  return sseJson(await res.text()).map((e) => {
    const choice = (e.choices as { delta?: { content?: string } }[] | undefined)?.[0];
    const delta = e.delta as { text?: string } | undefined;
    return choice?.delta?.content ?? (e.type === 'content_block_delta' ? delta?.text ?? '' : '');
  }).join('');
}

interface FaultCase {
  name: string;
  /** What both fault servers do; undefined for the refused connection (the *-dead-* groups). */
  step: FaultStep | undefined;
  streams: boolean[];
  status: number;
  code: string;
  type: Record<Surface, string>;
  message: RegExp;
}

const API_ERROR = { openai: 'api_error', anthropic: 'api_error' };
const CASES: FaultCase[] = [
  // LiteLLM answers an APIConnectionError with 500; Tollgate says 502 (its catalogue's upstream_connection).
  { name: 'connection refused', step: undefined, streams: [false, true], status: 502, code: 'upstream_connection', type: API_ERROR, message: /^Could not reach (openai|anthropic) at .*ECONNREFUSED/ },
  { name: 'reset before the headers', step: { kind: 'reset' }, streams: [false, true], status: 502, code: 'upstream_connection', type: API_ERROR, message: /ECONNRESET/ },
  { name: 'reset in the middle of the JSON body', step: { kind: 'reset-mid-body' }, streams: [false], status: 502, code: 'upstream_connection', type: API_ERROR, message: /ECONNRESET/ },
  // The page's text is the message (JSON-escaped), under the upstream's own status.
  { name: 'nginx HTML 502 page', step: { kind: 'html', status: 502 }, streams: [false, true], status: 502, code: 'upstream_error', type: API_ERROR, message: /<title>502 Bad Gateway<\/title>/ },
  // Compressed error pages are decoded before their text is read.
  { name: 'gzip-encoded nginx HTML 502 page', step: { kind: 'html', status: 502, encoding: 'gzip' }, streams: [false], status: 502, code: 'upstream_error', type: API_ERROR, message: /<title>502 Bad Gateway<\/title>/ },
  { name: 'nginx HTML 503 page', step: { kind: 'html', status: 503 }, streams: [false, true], status: 503, code: 'service_unavailable', type: API_ERROR, message: /<title>503 Service Temporarily Unavailable<\/title>/ },
  {
    name: 'headers later than the timeout', step: { kind: 'slow-headers', ms: 900 }, streams: [false, true], status: 408, code: 'timeout',
    // The attempt's deadline or undici's headersTimeout (the same 0.5 s), whichever fires first.
    type: { openai: 'timeout_error', anthropic: 'timeout_error' }, message: /^Timed out waiting for (openai|anthropic) \(((stream_)?timeout: 0\.5s|Headers Timeout Error)/,
  },
];

const matrix = CASES.flatMap((c) => (['openai', 'anthropic'] as const).flatMap((surface) => c.streams.map((stream) => ({ ...c, surface, stream }))));

describe.each(matrix)('$name → $surface surface (stream=$stream)', ({ step, surface, stream, status, code, type, message }) => {
  const group = (kind: 'solo' | 'pair'): string => `${PREFIX[surface]}-${step === undefined ? `dead-${kind}` : kind}`;

  it(`one deployment, no fallback: the client gets the ${status} envelope, one attempt, one failure record`, async () => {
    if (step !== undefined) f1.script([step]);
    const before = f1.requests.length;
    const res = await postJson(gw.url, PATH[surface], body(surface, group('solo'), stream));
    expect(res.status).toBe(status);
    // Never the upstream's HTML: JSON, whatever the upstream sent.
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expectEnvelope(surface, await res.json(), status, type[surface], message);
    expect(routing(res.headers)).toMatchObject({ retries: '0', fallbacks: '0' });
    if (step !== undefined) expect(f1.requests.length - before).toBe(1);
    const record = await recordFor(gw.gateway, res.headers.get('x-litellm-call-id'));
    expect(record).toMatchObject({ outcome: 'failure', httpStatus: status, stream, retries: 0, fallbacks: 0, error: { code, message: expect.stringMatching(message) } });
    expect(record.attempts.map((a) => [a.deploymentId, a.status, a.errorCode])).toEqual([[`${group('solo')}-1`, status, code]]);
    expect(record.usage).toEqual({});
  });

  it('two deployments and a fallback: one try of each deployment, then the fallback group answers', async () => {
    if (step !== undefined) {
      f1.script([step]);
      f2.script([step]);
    }
    const before = [f1.requests.length, f2.requests.length, generations(backup[surface])];
    const res = await postJson(gw.url, PATH[surface], body(surface, group('pair'), stream));
    expect(res.status).toBe(200);
    expect(await replyText(res, stream)).toBe(BACKUP_TEXT[surface]);
    const backupGroup = `${PREFIX[surface]}-backup`;
    expect(routing(res.headers)).toMatchObject({ modelId: `${backupGroup}-1`, group: backupGroup, retries: '1', fallbacks: '1' });
    const after = [f1.requests.length, f2.requests.length, generations(backup[surface])];
    // A refused connection never reaches a server: only the fallback's request is seen.
    expect(after.map((n, i) => n - before[i]!)).toEqual(step === undefined ? [0, 0, 1] : [1, 1, 1]);
    const record = await recordFor(gw.gateway, res.headers.get('x-litellm-call-id'));
    expect(record).toMatchObject({ outcome: 'success', httpStatus: 200, stream, requestedModel: group('pair'), modelGroup: backupGroup, retries: 1, fallbacks: 1 });
    expect(record.attempts.map((a) => [a.deploymentId, a.outcome, a.status])).toEqual([
      [`${group('pair')}-1`, 'failure', status],
      [`${group('pair')}-2`, 'failure', status],
      [`${backupGroup}-1`, 'success', undefined],
    ]);
    // Metered from the fallback's answer alone: the fakes count one token per word.
    expect(record.usage.output).toBe(countWords(BACKUP_TEXT[surface]));
  });
});

describe('one bad try, then the second deployment of the group', () => {
  it.each(['openai', 'anthropic'] as const)('%s surface: an HTML 502 then a good answer is a success after one retry, no fallback', async (surface) => {
    f1.script([{ kind: 'html', status: 502 }]);
    const before = [f1.requests.length, f2.requests.length, generations(backup[surface])];
    const res = await postJson(gw.url, PATH[surface], body(surface, `${PREFIX[surface]}-pair`, false));
    expect(res.status).toBe(200);
    expect(await replyText(res, false)).toBe(FAULT_REPLY_TEXT);
    expect([f1.requests.length - before[0]!, f2.requests.length - before[1]!, generations(backup[surface]) - before[2]!]).toEqual([1, 1, 0]);
    const record = await recordFor(gw.gateway, res.headers.get('x-litellm-call-id'));
    expect(record).toMatchObject({ outcome: 'success', retries: 1, fallbacks: 0, deployment: { id: `${PREFIX[surface]}-pair-2` } });
    expect(record.attempts.map((a) => a.status)).toEqual([502, undefined]);
    // The fault server counts one token per word of the prompt and of its reply.
    expect(record.usage).toMatchObject({ inputUncached: countWords(PROMPT), output: countWords(FAULT_REPLY_TEXT) });
  });
});
