/**
 * RoutingState for `--workers N` without Redis: cooldowns, deployment usage, in-flight counts and
 * latencies live in the primary (one InMemoryRoutingState), the workers reach them over IPC, so
 * the workers route as one process would.
 */
import type { IpcChannel } from '../core/ipc-channel.js';
import type { Admission, DeploymentLimits, DeploymentLoad, LatencyKind, RoutingState } from './state.js';

export class IpcRoutingState implements RoutingState {
  constructor(private readonly channel: IpcChannel) {}

  async load(ids: readonly string[], kind: LatencyKind | undefined, now: number): Promise<Map<string, DeploymentLoad>> {
    // Maps do not survive JSON: entries do.
    return new Map(await this.channel.request<[string, DeploymentLoad][]>('route.load', ids, kind, now));
  }

  admit(id: string, limits: DeploymentLimits, estimatedTokens: number, now: number): Promise<Admission> {
    return this.channel.request<Admission>('route.admit', id, limits, estimatedTokens, now);
  }

  async release(id: string, tokens: number, now: number): Promise<void> {
    await this.channel.request('route.release', id, tokens, now);
  }

  async recordLatency(id: string, kind: LatencyKind, ms: number, now: number): Promise<void> {
    await this.channel.request('route.latency', id, kind, ms, now);
  }

  recordFailure(id: string, now: number): Promise<number> {
    return this.channel.request<number>('route.failure', id, now);
  }

  startCooldown(id: string, until: number, now: number): Promise<boolean> {
    return this.channel.request<boolean>('route.cooldown', id, until, now);
  }

  async cooldowns(now: number): Promise<Map<string, number>> {
    return new Map(await this.channel.request<[string, number][]>('route.cooldowns', now));
  }
}

/** In the primary: answer one worker's routing-state requests from the shared `state`. */
export function serveRoutingState(channel: IpcChannel, state: RoutingState): void {
  channel.handle('route.load', async ([ids, kind, now]) => [...(await state.load(ids as string[], kind as LatencyKind | undefined, now as number))]);
  channel.handle('route.admit', ([id, limits, tokens, now]) => state.admit(id as string, limits as DeploymentLimits, tokens as number, now as number));
  channel.handle('route.release', ([id, tokens, now]) => state.release(id as string, tokens as number, now as number));
  channel.handle('route.latency', ([id, kind, ms, now]) => state.recordLatency(id as string, kind as LatencyKind, ms as number, now as number));
  channel.handle('route.failure', ([id, now]) => state.recordFailure(id as string, now as number));
  channel.handle('route.cooldown', ([id, until, now]) => state.startCooldown(id as string, until as number, now as number));
  channel.handle('route.cooldowns', async ([now]) => [...(await state.cooldowns(now as number))]);
}
