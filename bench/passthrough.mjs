#!/usr/bin/env node
// Bare passthrough proxy: node:http server -> undici Pool -> upstream.
// Request and response bytes are piped unchanged (hop-by-hop headers dropped).
// This is the floor for any Node gateway: no auth, no routing, no JSON work.
//
// With --json (or PASSTHROUGH_JSON=1) the request body is buffered, parsed and
// re-serialised before forwarding, like the "best case gateway" of
// shared/research/peer-performance.md.
//
// Standalone:  node bench/passthrough.mjs --upstream http://127.0.0.1:18080 [--port 18081] [--json]
// Prints one line `passthrough listening {"port":N,...}` when ready.

import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
]);

function requestHeaders(raw, dropLength) {
  const out = {};
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i].toLowerCase();
    if (HOP_BY_HOP.has(k)) continue;
    if (dropLength && k === 'content-length') continue;
    const v = raw[i + 1];
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

function responseHeaders(headers) {
  const out = {};
  for (const k in headers) {
    if (k === 'connection' || k === 'keep-alive' || k === 'transfer-encoding') continue;
    out[k] = headers[k];
  }
  return out;
}

function fail(res, status, message) {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify({ error: { message, type: 'proxy_error' } });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * @param {{upstream: string, port?: number, host?: string, json?: boolean, connections?: number}} options
 */
export function startPassthrough(options) {
  const upstream = new URL(options.upstream);
  const pool = new Pool(upstream.origin, {
    // unlimited by default: the open-streams scenarios hold thousands of
    // concurrent upstream streams, and a capped pool would queue them
    connections: options.connections ?? null,
    pipelining: 1,
    keepAliveTimeout: 60_000,
    headersTimeout: 60_000,
    bodyTimeout: 60_000,
  });
  const prefix = upstream.pathname.replace(/\/$/, '');
  const json = !!options.json;

  const forward = (req, res, body, dropLength) => {
    pool.stream(
      {
        path: prefix + req.url,
        method: req.method,
        headers: requestHeaders(req.rawHeaders, dropLength),
        body,
      },
      ({ statusCode, headers }) => {
        res.writeHead(statusCode, responseHeaders(headers));
        return res;
      },
      (err) => {
        if (err) fail(res, 502, `upstream error: ${err.message}`);
      },
    );
  };

  const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    if (!hasBody) {
      req.resume();
      forward(req, res, null, false);
      return;
    }
    if (!json) {
      forward(req, res, req, false);
      return;
    }
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('error', () => res.destroy());
    req.on('end', () => {
      let text;
      try {
        text = JSON.stringify(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        fail(res, 400, 'invalid JSON body');
        return;
      }
      forward(req, res, text, true);
    });
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      const { port } = server.address();
      resolve({
        server,
        port,
        url: `http://${options.host ?? '127.0.0.1'}:${port}`,
        close: async () => {
          server.closeAllConnections?.();
          await new Promise((r) => server.close(() => r()));
          await pool.destroy();
        },
      });
    });
  });
}

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') {
      out.json = '1';
      continue;
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new Error(`unexpected argument ${a}`);
    const val = m[2] ?? argv[++i];
    if (val === undefined) throw new Error(`missing value for --${m[1]}`);
    out[m[1]] = val;
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = parseArgs(process.argv.slice(2));
  const upstream = args.upstream ?? process.env.UPSTREAM;
  if (!upstream) {
    console.error('usage: node bench/passthrough.mjs --upstream http://127.0.0.1:18080 [--port 18081] [--json]');
    process.exit(2);
  }
  const p = await startPassthrough({
    upstream,
    port: Number(args.port ?? process.env.PROXY_PORT ?? 18081),
    json: args.json === '1' || process.env.PASSTHROUGH_JSON === '1',
  });
  console.log(`passthrough listening ${JSON.stringify({ port: p.port, url: p.url, upstream, pid: process.pid })}`);
  const stop = () => {
    p.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
