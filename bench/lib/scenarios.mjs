// Scenario definitions: request bodies and headers per target, and the probe that
// checks a target answers a scenario correctly before it is loaded.
//
// A scenario has a client surface (the API the load generator speaks) and an
// upstream (the wire the gateway speaks to the fake provider). They differ in the
// translated scenarios. direct and passthrough always send the client's request
// to the fake upstream in the client's own dialect: they are the floor for a client
// asking that question, and a proxy that translates has to beat the same floor.

import { request } from 'undici';

export const MASTER_KEY = 'sk-bench-master';
export const UPSTREAM_KEY = 'sk-bench';

const SYSTEM = 'You are a concise assistant. Answer in one short sentence.';
const USER = 'Say hello to the benchmark and mention one fact about latency.';

const PATHS = { openai: '/v1/chat/completions', anthropic: '/v1/messages' };
const PROVIDER_MODEL = { openai: 'gpt-4o-mini', anthropic: 'claude-sonnet-4-5' };
const GATEWAY_MODEL = { openai: 'bench-openai', anthropic: 'bench-anthropic' };

// kind: load (closed loop + fixed rate), streams (held open), soak (long fixed rate).
// size: small | 100k | 1m (picks the target and the offered rate). default: in `npm run bench`.
const DEFS = [
  { name: 'openai', surface: 'openai', upstream: 'openai', stream: false, size: 'small', default: true },
  { name: 'openai-stream', surface: 'openai', upstream: 'openai', stream: true, size: 'small', default: true },
  { name: 'anthropic', surface: 'anthropic', upstream: 'anthropic', stream: false, size: 'small', default: true },
  { name: 'anthropic-stream', surface: 'anthropic', upstream: 'anthropic', stream: true, size: 'small', default: true },
  { name: 'openai-to-anthropic', surface: 'openai', upstream: 'anthropic', stream: false, size: 'small', default: true },
  { name: 'openai-to-anthropic-stream', surface: 'openai', upstream: 'anthropic', stream: true, size: 'small', default: true },
  { name: 'anthropic-to-openai', surface: 'anthropic', upstream: 'openai', stream: false, size: 'small', default: true },
  { name: 'anthropic-to-openai-stream', surface: 'anthropic', upstream: 'openai', stream: true, size: 'small', default: true },
  { name: 'openai-100k', surface: 'openai', upstream: 'openai', stream: false, size: '100k', default: true },
  { name: 'anthropic-100k-stream', surface: 'anthropic', upstream: 'anthropic', stream: true, size: '100k', default: true },
  { name: 'openai-1m', surface: 'openai', upstream: 'openai', stream: false, size: '1m', default: false },
  { name: 'anthropic-1m-stream', surface: 'anthropic', upstream: 'anthropic', stream: true, size: '1m', default: false },
  { name: 'streams-1k', kind: 'streams', count: 1000, surface: 'anthropic', upstream: 'anthropic', stream: true, size: 'small', default: true },
  { name: 'streams-5k', kind: 'streams', count: 5000, surface: 'anthropic', upstream: 'anthropic', stream: true, size: 'small', default: false },
  { name: 'soak', kind: 'soak', surface: 'openai', upstream: 'openai', stream: true, size: 'small', default: false },
];

export const ALL_SCENARIOS = DEFS.map((d) => d.name);
export const DEFAULT_SCENARIOS = DEFS.filter((d) => d.default).map((d) => d.name);

function largeText(bytes, ascii) {
  // Pasted documents usually carry some non-Latin-1 text (smart quotes, symbols),
  // which makes UTF-8 decoding and JSON parsing noticeably dearer than pure ASCII.
  const para =
    'Latency budgets for an LLM gateway are measured in microseconds per request, not milliseconds; ' +
    (ascii
      ? 'every copy, parse and re-serialisation of a prompt shows up in the p99. Unicode "quotes" and \\ backslashes. '
      : 'every copy, parse and re-serialisation of a prompt shows up in the p99. Ünïcödé ✓ “quotes” and \\ backslashes. ');
  let s = '';
  let i = 0;
  while (s.length < bytes) s += `[${i++}] ${para}\n`;
  return s.slice(0, bytes);
}

function body(surface, model, stream, user) {
  if (surface === 'openai') {
    return JSON.stringify({
      model,
      messages: [
        { role: 'system', content: SYSTEM },
        { role: 'user', content: user },
      ],
      max_tokens: 64,
      temperature: 0,
      ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
    });
  }
  return JSON.stringify({ model, system: SYSTEM, messages: [{ role: 'user', content: user }], max_tokens: 64, temperature: 0, ...(stream ? { stream: true } : {}) });
}

/** Hold time of a held stream: ramp, open slack, settle, window, and a margin. */
export function holdMs(cfg, count) {
  return Math.round((count / cfg.streamRamp) * 1000 + (cfg.streamSettle + cfg.streamMeasure + 4) * 1000);
}

export function buildScenarios(cfg) {
  const text = {
    small: USER,
    '100k': largeText(100 * 1024, cfg.largeAscii),
    '1m': largeText(1024 * 1024, cfg.largeAscii),
  };
  return cfg.scenarios.map((name) => {
    const d = DEFS.find((x) => x.name === name);
    const kind = d.kind ?? 'load';
    let user = text[d.size];
    if (kind === 'streams') user = `${USER} [bench-hold ms=${holdMs(cfg, d.count)} every=${cfg.streamEvery}]`;
    const sizeLabel = d.size === 'small' ? '' : `, ${d.size === '1m' ? '1 MB' : '100 KB'} ${cfg.largeAscii ? 'ASCII' : 'mixed-script'} prompt`;
    const dialect = (x) => (x === 'openai' ? 'OpenAI' : 'Anthropic');
    const label =
      kind === 'streams'
        ? `${d.count} open ${dialect(d.surface)} streams, one event per ${cfg.streamEvery} ms`
        : `${dialect(d.surface)} surface -> ${dialect(d.upstream)} upstream, ${d.stream ? 'stream' : 'non-stream'}${sizeLabel}` +
          (kind === 'soak' ? `, ${cfg.soakSeconds}s at ${cfg.rate} RPS` : '');
    const rate = d.size === '1m' ? cfg.hugeRate : d.size === '100k' ? cfg.largeRate : cfg.rate;
    return {
      ...d,
      kind,
      label,
      rate,
      connections: d.size === '1m' ? Math.min(16, cfg.connections) : cfg.connections,
      translated: d.surface !== d.upstream,
      path: PATHS[d.surface],
      expect: d.stream ? (d.surface === 'openai' ? '[DONE]' : 'message_stop') : null,
      // direct shares its measurement with every scenario that sends the same request
      directKey: `${d.surface}|${d.stream}|${d.size}|${kind}|${d.count ?? ''}`,
      bodies: {
        direct: Buffer.from(body(d.surface, PROVIDER_MODEL[d.surface], d.stream, user)),
        gateway: Buffer.from(body(d.surface, GATEWAY_MODEL[d.upstream], d.stream, user)),
      },
    };
  });
}

export function headersFor(scn, target, gatewayKey) {
  const h = { 'content-type': 'application/json' };
  if (target === 'gateway') {
    h.authorization = `Bearer ${gatewayKey}`;
    if (scn.surface === 'anthropic') h['anthropic-version'] = '2023-06-01';
  } else if (scn.surface === 'openai') {
    h.authorization = `Bearer ${UPSTREAM_KEY}`;
  } else {
    h['x-api-key'] = UPSTREAM_KEY;
    h['anthropic-version'] = '2023-06-01';
  }
  return h;
}

/** One request per target before loading it: catches broken routes early. */
export async function probe(baseUrl, scn, target, gatewayKey) {
  // a held stream would take its whole hold time: probe streams-* with the plain stream body
  const body = target === 'gateway' ? scn.bodies.gateway : scn.bodies.direct;
  const warnings = [];
  let res;
  try {
    res = await request(baseUrl + scn.path, {
      method: 'POST',
      headers: headersFor(scn, target, gatewayKey),
      body: scn.kind === 'streams' ? body.toString().replace(/ \[bench-hold [^\]]*\]/, '') : body,
      headersTimeout: 15_000,
      bodyTimeout: 15_000,
    });
  } catch (err) {
    return { ok: false, error: `request failed: ${err.code ?? ''} ${err.message}` };
  }
  const text = await res.body.text();
  const ct = String(res.headers['content-type'] ?? '');
  if (res.statusCode < 200 || res.statusCode >= 300) return { ok: false, error: `HTTP ${res.statusCode}: ${text.slice(0, 500)}` };
  if (!scn.stream) {
    let j;
    try {
      j = JSON.parse(text);
    } catch {
      return { ok: false, error: `non-JSON body (${ct}): ${text.slice(0, 300)}` };
    }
    if (scn.surface === 'openai') {
      if (typeof j?.choices?.[0]?.message?.content !== 'string') warnings.push('no choices[0].message.content');
      if (typeof j?.usage?.prompt_tokens !== 'number') warnings.push('no usage.prompt_tokens');
    } else {
      if (!Array.isArray(j?.content)) warnings.push('no content[]');
      if (typeof j?.usage?.input_tokens !== 'number') warnings.push('no usage.input_tokens');
      if (!scn.translated && typeof j?.usage?.cache_read_input_tokens !== 'number') warnings.push('no usage.cache_read_input_tokens');
    }
  } else {
    if (!ct.includes('text/event-stream')) warnings.push(`content-type is ${ct || '(none)'}`);
    if (scn.surface === 'openai') {
      if (!text.includes('data: [DONE]')) return { ok: false, error: `stream did not end with data: [DONE]: ...${text.slice(-300)}` };
      if (!/"usage":\s*\{[^}]*"prompt_tokens"/.test(text)) warnings.push('no usage chunk in stream');
      if (!text.includes('"content"')) warnings.push('no content deltas');
    } else {
      for (const ev of ['message_start', 'content_block_delta', 'message_delta', 'message_stop']) {
        if (!text.includes(`event: ${ev}`)) warnings.push(`no ${ev} event`);
      }
      if (!text.includes('message_stop')) return { ok: false, error: `stream has no message_stop: ...${text.slice(-300)}` };
    }
  }
  return { ok: true, status: res.statusCode, bytes: Buffer.byteLength(text), warnings };
}
