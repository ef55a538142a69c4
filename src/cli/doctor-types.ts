/** One line of `tollgate doctor`'s report, and the small interface every network probe implements. */
export type Verdict = 'OK' | 'WARN' | 'FAIL';

export interface CheckLine {
  /** What kind of check: config, env, provider, price, credentials, database, redis, probe. */
  check: string;
  /** What was checked: a file, a variable name, a deployment, a store. Never a secret. */
  target: string;
  verdict: Verdict;
  detail: string;
}

/**
 * A network check: `run` gets a signal that aborts at the deadline (`--timeout`), and the runner
 * also stops waiting then, so a client that ignores the signal cannot hang the report.
 */
export interface Probe {
  check: string;
  target: string;
  run(signal: AbortSignal): Promise<Pick<CheckLine, 'verdict' | 'detail'>>;
}

export async function runProbe(probe: Probe, timeoutMs: number): Promise<CheckLine> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<Pick<CheckLine, 'verdict' | 'detail'>>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new Error('timeout'));
      resolve({ verdict: 'FAIL', detail: `no answer within ${timeoutMs / 1000} s` });
    }, timeoutMs);
  });
  try {
    const outcome = await Promise.race([
      probe.run(controller.signal).catch((err: unknown) => ({ verdict: 'FAIL' as const, detail: errorText(err) })),
      deadline,
    ]);
    return { check: probe.check, target: probe.target, ...outcome };
  } finally {
    clearTimeout(timer);
  }
}

export function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // undici wraps the reason a connection failed ("fetch failed" says nothing).
  const cause = err.cause instanceof Error ? err.cause : undefined;
  const code = ((cause ?? err) as NodeJS.ErrnoException).code;
  const message = cause !== undefined && err.message === 'fetch failed' ? cause.message : err.message;
  return code !== undefined && !message.includes(code) ? `${code}: ${message}` : message;
}
