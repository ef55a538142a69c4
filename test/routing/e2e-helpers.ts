/**
 * Setup for the router's end-to-end tests: several fault-scripted fake upstreams (each one a
 * deployment's `api_base`), a real gateway from YAML, and readers for the routing headers.
 */
import { startFakeAnthropic, startFakeOpenAI, type FakeUpstream } from '../fakes/index.js';
import { MASTER_KEY } from '../e2e/harness.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';

export interface RouterE2E {
  gw: TestGateway;
  url: string;
  anthropic: FakeUpstream[];
  openai: FakeUpstream[];
  close: () => Promise<void>;
}

export interface Fakes {
  /** Anthropic fake base URLs. */
  a: string[];
  /** OpenAI fake base URLs, `/v1` included. */
  o: string[];
}

/** `yaml` receives the fakes' URLs and returns everything but general_settings. */
export async function startRouterE2E(counts: { anthropic: number; openai: number }, yaml: (f: Fakes) => string, general = ''): Promise<RouterE2E> {
  const anthropic = await Promise.all(Array.from({ length: counts.anthropic }, () => startFakeAnthropic()));
  const openai = await Promise.all(Array.from({ length: counts.openai }, () => startFakeOpenAI()));
  const text = `${yaml({ a: anthropic.map((f) => f.url), o: openai.map((f) => `${f.url}/v1`) })}
general_settings: { master_key: ${MASTER_KEY}${general === '' ? '' : `, ${general}`} }
`;
  const gw = await startGateway(text);
  return {
    gw,
    url: gw.url,
    anthropic,
    openai,
    close: async () => {
      await gw.close();
      await Promise.all([...anthropic, ...openai].map((f) => f.close()));
    },
  };
}

/** The routing facts a response's headers carry. */
export function routing(headers: Headers): { modelId: string | null; apiBase: string | null; group: string | null; retries: string | null; fallbacks: string | null; maxRetries: string | null } {
  return {
    modelId: headers.get('x-litellm-model-id'),
    apiBase: headers.get('x-litellm-model-api-base'),
    group: headers.get('x-litellm-model-group'),
    retries: headers.get('x-litellm-attempted-retries'),
    fallbacks: headers.get('x-litellm-attempted-fallbacks'),
    maxRetries: headers.get('x-litellm-max-retries'),
  };
}

/** Generation requests a fake received (health probes and count_tokens are not generations here). */
export function generations(fake: FakeUpstream): number {
  return fake.requests.filter((r) => r.step !== undefined).length;
}
