/**
 * The primary's side of `--workers N`: the shared counters and routing state the workers use when
 * no Redis is configured (one MemorySharedState and one InMemoryRoutingState, answered over each
 * worker's IPC channel), the admin-change signal passed from one worker to the others, and
 * `/metrics` totals (every worker's exposition, merged).
 */
import type { LoadedConfig } from './config/loader.js';
import type { IpcChannel } from './core/ipc-channel.js';
import { mergeExpositions } from './observability/metrics/merge.js';
import { serveRoutingState } from './routing/ipc-state.js';
import { resolveRouterSettings } from './routing/settings.js';
import { InMemoryRoutingState } from './routing/state.js';
import { CHANGED_EVENT } from './storage/ipc/change-signal.js';
import { serveSharedState } from './storage/ipc/shared-state.js';
import { MemorySharedState } from './storage/memory/shared-state.js';

export interface ClusterHost {
  /** Serve one worker; returns what to call when it has gone. */
  attach(channel: IpcChannel): () => void;
  close(): Promise<void>;
}

export function createClusterHost(loaded: LoadedConfig): ClusterHost {
  const settings = resolveRouterSettings(loaded.config);
  const state = new MemorySharedState();
  const routing = new InMemoryRoutingState({ latencyWindow: settings.latencyWindow, latencyTtlMs: settings.latencyTtlMs });
  const workers = new Set<IpcChannel>();
  return {
    attach(channel) {
      workers.add(channel);
      serveSharedState(channel, state);
      serveRoutingState(channel, routing);
      channel.on(CHANGED_EVENT, () => {
        for (const other of workers) if (other !== channel) other.emit(CHANGED_EVENT);
      });
      channel.handle('metrics.all', async () => {
        // A worker that does not answer (restarting) is left out of this scrape, not waited for.
        const texts = await Promise.all([...workers].map((w) => w.request<string>('metrics.render').catch(() => '')));
        return mergeExpositions(texts);
      });
      return () => workers.delete(channel);
    },
    close: () => state.close(),
  };
}
