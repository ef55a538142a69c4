/** Raw Node response writing: JSON in one write, streams with backpressure and disconnect handling. */
import type { ServerResponse } from 'node:http';

export function sendJson(res: ServerResponse, status: number, headers: Record<string, string>, body: string | Buffer): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}

/**
 * The headers of an event stream. They are written with `writeHead` and go out with the first
 * chunk, in the same write: a separate flush costs a syscall, and the first chunk (the peeked head
 * of the answer) follows at once anyway.
 */
export function streamHeaders(headers: Record<string, string>): Record<string, string> {
  return {
    ...headers,
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  };
}

/** Write a chunk; wait for the socket to drain when its buffer is full, or give up if it closes. */
export async function writeChunk(res: ServerResponse, chunk: string | Buffer): Promise<boolean> {
  if (res.destroyed || res.writableEnded) return false;
  if (chunk.length === 0) return true;
  if (res.write(chunk)) return true;
  return new Promise<boolean>((resolve) => {
    const done = (ok: boolean): void => {
      res.off('drain', onDrain);
      res.off('close', onClose);
      resolve(ok);
    };
    const onDrain = (): void => done(true);
    const onClose = (): void => done(false);
    res.on('drain', onDrain);
    res.on('close', onClose);
  });
}
