/**
 * A loopback OTLP/HTTP JSON trace receiver for tests: records every POST (path, headers, parsed
 * ExportTraceServiceRequest) and answers 200 `{}` (or a scripted status).
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OtlpAttribute {
  key: string;
  value: { stringValue?: string; intValue?: string; doubleValue?: number; boolValue?: boolean };
}

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: OtlpAttribute[];
  status?: { code: number; message?: string };
}

export interface ExportPost {
  path: string;
  headers: IncomingHttpHeaders;
  resource: Record<string, string>;
  spans: ReceivedSpan[];
}

export interface OtlpReceiver {
  url: string;
  posts: ExportPost[];
  spans: () => ReceivedSpan[];
  /** The next POSTs get these statuses (then 200 again). */
  failNext: (statuses: number[]) => void;
  /** Scripted failures not yet used. */
  failures: () => number;
  close: () => Promise<void>;
}

interface ExportRequest {
  resourceSpans: { resource: { attributes: OtlpAttribute[] }; scopeSpans: { spans: ReceivedSpan[] }[] }[];
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const posts: ExportPost[] = [];
  const failures: number[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = failures.shift();
      if (status !== undefined) {
        res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ExportRequest;
      for (const rs of body.resourceSpans) {
        const resource = Object.fromEntries(rs.resource.attributes.map((a) => [a.key, a.value.stringValue ?? '']));
        posts.push({ path: req.url ?? '', headers: req.headers, resource, spans: rs.scopeSpans.flatMap((s) => s.spans) });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    posts,
    spans: () => posts.flatMap((p) => p.spans),
    failNext: (statuses) => failures.push(...statuses),
    failures: () => failures.length,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A span's attributes as a plain object (int64 strings turned into numbers). */
export function attrs(span: ReceivedSpan): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of span.attributes) {
    out[key] = value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : (value.doubleValue ?? value.boolValue ?? ''));
  }
  return out;
}

export async function waitFor(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
