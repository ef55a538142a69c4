// In-process fake provider for the soak: OpenAI and Anthropic wire formats, with
// a fixed rate of faults (500, 529 overloaded, connection reset, mid-stream cut,
// slow reply) so the gateway's error paths run for the whole soak.
import http from 'node:http';

const FAULTS = ['500', '529', 'reset', 'cut', 'slow'];

function openaiFrames(model, tool) {
  const id = 'chatcmpl-soak';
  const base = { id, object: 'chat.completion.chunk', created: 1, model };
  const f = [];
  if (tool) {
    f.push({ ...base, choices: [{ index: 0, delta: { role: 'assistant', tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } }] } }] });
    f.push({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '{"city":"Paris"}' } }] } }] });
    f.push({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] });
  } else {
    for (let i = 0; i < 5; i++) f.push({ ...base, choices: [{ index: 0, delta: { content: `tok${i} ` } }] });
    f.push({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
  }
  f.push({ ...base, choices: [], usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } });
  return f.map((o) => `data: ${JSON.stringify(o)}\n\n`).concat(['data: [DONE]\n\n']);
}

function openaiJson(model, tool) {
  const message = tool
    ? { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] }
    : { role: 'assistant', content: 'Hello from soak.' };
  return { id: 'chatcmpl-soak', object: 'chat.completion', created: 1, model, choices: [{ index: 0, message, finish_reason: tool ? 'tool_calls' : 'stop' }], usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 } };
}

function anthropicFrames(model, tool) {
  const ev = (type, data) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  const f = [ev('message_start', { message: { id: 'msg_soak', type: 'message', role: 'assistant', model, content: [], stop_reason: null, usage: { input_tokens: 10, output_tokens: 1 } } })];
  if (tool) {
    f.push(ev('content_block_start', { index: 0, content_block: { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: {} } }));
    f.push(ev('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: '{"city":"Paris"}' } }));
  } else {
    f.push(ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }));
    for (let i = 0; i < 5; i++) f.push(ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: `tok${i} ` } }));
  }
  f.push(ev('content_block_stop', { index: 0 }));
  f.push(ev('message_delta', { delta: { stop_reason: tool ? 'tool_use' : 'end_turn' }, usage: { output_tokens: 5 } }));
  f.push(ev('message_stop', {}));
  return f;
}

function anthropicJson(model, tool) {
  const content = tool ? [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } }] : [{ type: 'text', text: 'Hello from soak.' }];
  return { id: 'msg_soak', type: 'message', role: 'assistant', model, content, stop_reason: tool ? 'tool_use' : 'end_turn', usage: { input_tokens: 10, output_tokens: 5 } };
}

/** Start the upstream; resolves to { port, stats, close }. */
export function startFaultyUpstream({ faultRate = 0.05, chunkDelayMs = 20 } = {}) {
  const stats = { requests: 0, faults: Object.fromEntries(FAULTS.map((k) => [k, 0])) };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      stats.requests++;
      let j = {};
      try { j = JSON.parse(body); } catch { /* fall through: 400 */ }
      const anthropic = req.url.startsWith('/v1/messages');
      const tool = Array.isArray(j.tools) && j.tools.length > 0;
      const fault = Math.random() < faultRate ? FAULTS[Math.floor(Math.random() * FAULTS.length)] : null;
      if (fault) stats.faults[fault]++;
      if (fault === 'reset') return req.socket.destroy();
      if (fault === '500') { res.writeHead(500, { 'content-type': 'application/json' }); return res.end('{"error":{"message":"boom","type":"server_error"}}'); }
      if (fault === '529') {
        res.writeHead(529, { 'content-type': 'application/json' });
        return res.end(anthropic ? '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}' : '{"error":{"message":"overloaded","type":"overloaded_error"}}');
      }
      const delay = fault === 'slow' ? 2000 : 0;
      setTimeout(() => {
        if (res.destroyed) return;
        if (!j.stream) {
          res.writeHead(200, { 'content-type': 'application/json' });
          return res.end(JSON.stringify(anthropic ? anthropicJson(j.model, tool) : openaiJson(j.model, tool)));
        }
        const frames = anthropic ? anthropicFrames(j.model, tool) : openaiFrames(j.model, tool);
        const stop = fault === 'cut' ? Math.max(1, Math.floor(frames.length / 2)) : frames.length;
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        let i = 0;
        const tick = () => {
          if (res.destroyed) return;
          if (i >= stop) return fault === 'cut' ? req.socket.destroy() : res.end();
          res.write(frames[i++]);
          setTimeout(tick, chunkDelayMs);
        };
        tick();
      }, delay);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    port: server.address().port,
    stats,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  })));
}
