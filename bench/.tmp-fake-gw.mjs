// test stand-in for bin/tollgate.js: node fake-gw.mjs serve --config f --port p
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';
const a = process.argv.slice(2);
if (process.env.FAKE_GW_FAIL) { console.error('boom: config invalid at line 3'); process.exit(3); }
const cfgPath = a[a.indexOf('--config') + 1]; const port = Number(a[a.indexOf('--port') + 1]);
const y = readFileSync(cfgPath, 'utf8');
const bases = [...y.matchAll(/model_name: (\S+)\n\s+litellm_params: \{ model: \S+?\/(\S+), api_base: "([^"]+)"/g)].map(m => ({ name: m[1], model: m[2].replace(/,$/, ''), base: new URL(m[3]) }));
const pools = new Map();
const srv = http.createServer((req, res) => {
  if (req.url === '/health/liveliness') { if (process.env.FAKE_GW_UNHEALTHY) { res.writeHead(503); res.end('starting'); return; } res.end('"I\'m alive!"'); return; }
  if (req.headers.authorization !== 'Bearer sk-bench-master') { res.writeHead(401); res.end('{"error":"auth"}'); return; }
  const chunks = []; req.on('data', c => chunks.push(c)); req.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString());
    const d = bases.find(b => b.name === body.model); if (!d) { res.writeHead(404); res.end('{"error":"model"}'); return; }
    body.model = d.model;
    let pool = pools.get(d.base.origin); if (!pool) pools.set(d.base.origin, pool = new Pool(d.base.origin, { connections: 128 }));
    const path = d.base.pathname.replace(/\/$/, '') + req.url.replace(/^\/v1/, d.base.pathname.endsWith('/v1') ? '' : '/v1');
    const h = req.url.startsWith('/v1/messages') ? { 'x-api-key': 'sk-bench', 'anthropic-version': '2023-06-01', 'content-type': 'application/json' } : { authorization: 'Bearer sk-bench', 'content-type': 'application/json' };
    pool.stream({ path, method: 'POST', headers: h, body: JSON.stringify(body) }, ({ statusCode, headers }) => { res.writeHead(statusCode, { 'content-type': headers['content-type'] }); return res; }, (err) => { if (err && !res.headersSent) { res.writeHead(502); res.end(); } });
  });
});
srv.listen(port, '127.0.0.1', () => console.log(`fake gateway listening on ${port}`));
process.on('SIGTERM', () => process.exit(0));
