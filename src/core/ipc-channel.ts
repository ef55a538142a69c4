/**
 * Request/response and events over a Node IPC channel (a cluster worker's `process`, or the
 * primary's handle of one worker). With `--workers N` and no Redis, the primary holds the shared
 * counters and routing state and the workers ask it through this: one message each way per call,
 * answered in order, so an `admit` is as atomic as in one process (the primary runs it to
 * completion before reading the next message).
 */
import type { Serializable } from 'node:child_process';

/** What a channel needs of its end: `process` in a worker, a `Worker` in the primary. */
export interface IpcEndpoint {
  send?: ((message: Serializable) => boolean) | undefined;
  on(event: 'message', listener: (message: unknown) => void): unknown;
}

interface RequestMessage {
  tg: 'req';
  id: number;
  method: string;
  args: unknown[];
}
interface ResponseMessage {
  tg: 'res';
  id: number;
  ok: boolean;
  value?: unknown;
  error?: string;
}
interface EventMessage {
  tg: 'evt';
  name: string;
  data?: unknown;
}
type Message = RequestMessage | ResponseMessage | EventMessage;

export type IpcHandler = (args: unknown[]) => unknown;

const isMessage = (m: unknown): m is Message => typeof m === 'object' && m !== null && ['req', 'res', 'evt'].includes((m as { tg?: unknown }).tg as string);

export class IpcChannel {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private readonly handlers = new Map<string, IpcHandler>();
  private readonly listeners = new Map<string, ((data: unknown) => void)[]>();

  constructor(
    private readonly endpoint: IpcEndpoint,
    /** Longest a request waits for its answer (the primary is local: this only bounds a dead one). */
    private readonly timeoutMs = 5000,
  ) {
    endpoint.on('message', (m) => {
      if (isMessage(m)) this.receive(m);
    });
  }

  /** Ask the other end; rejects with its error, or when it does not answer in time. */
  request<T>(method: string, ...args: unknown[]): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no answer to ${method} over IPC within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      timer.unref();
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      if (!this.post({ tg: 'req', id, method, args })) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(new Error(`IPC channel closed (${method})`));
      }
    });
  }

  /** Answer `method` requests from the other end. */
  handle(method: string, handler: IpcHandler): void {
    this.handlers.set(method, handler);
  }

  emit(name: string, data?: unknown): void {
    this.post({ tg: 'evt', name, data });
  }

  on(name: string, listener: (data: unknown) => void): void {
    this.listeners.set(name, [...(this.listeners.get(name) ?? []), listener]);
  }

  private receive(m: Message): void {
    if (m.tg === 'res') {
      const waiting = this.pending.get(m.id);
      if (waiting === undefined) return;
      this.pending.delete(m.id);
      clearTimeout(waiting.timer);
      if (m.ok) waiting.resolve(m.value);
      else waiting.reject(new Error(m.error ?? 'IPC request failed'));
      return;
    }
    if (m.tg === 'evt') {
      for (const l of this.listeners.get(m.name) ?? []) l(m.data);
      return;
    }
    const handler = this.handlers.get(m.method);
    if (handler === undefined) {
      this.post({ tg: 'res', id: m.id, ok: false, error: `no IPC handler for ${m.method}` });
      return;
    }
    void Promise.resolve()
      .then(() => handler(m.args))
      .then(
        (value) => this.post({ tg: 'res', id: m.id, ok: true, value }),
        (err: unknown) => this.post({ tg: 'res', id: m.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
      );
  }

  private post(message: Message): boolean {
    try {
      return this.endpoint.send?.(message) ?? false;
    } catch {
      return false;
    }
  }
}
