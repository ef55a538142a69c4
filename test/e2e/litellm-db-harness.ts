/**
 * What the end-to-end tests on a database LiteLLM made share: the priced config, a chat call with
 * a key LiteLLM wrote, a gateway started on a database URL, and a wait for a value that another
 * tool's SQL write takes effect (within the tenancy refresh interval, REFRESH_S).
 */
import { parseConfigText } from '../../src/config/loader.js';
import { createGateway, type Gateway } from '../../src/server.js';
import { countWords, OPENAI_FAKE_KEY, OPENAI_REPLY_TEXT, type FakeUpstream } from '../fakes/index.js';

export const MASTER = 'sk-1234';
export const PROMPT = 'say hello to the gateway please';
// $1 per million input tokens, $2 per million output tokens: exact in nano-USD.
export const IN_PRICE = 0.000001;
export const OUT_PRICE = 0.000002;
/** One call's cost from the fake's token rule (one token per word), USD. */
export const CALL_COST = countWords(PROMPT) * IN_PRICE + countWords(OPENAI_REPLY_TEXT) * OUT_PRICE;
export const REFRESH_S = 0.5;
/** Within the refresh interval (with room for a slow machine). */
export const WITHIN = REFRESH_S * 1000 * 4 + 2000;
/** A reset reaching the counters takes a refresh and a flush; more under a loaded suite. */
export const SLOW_WITHIN = 15_000;

/** SQL run as another tool would (the rows it returns). */
export type Run = (text: string) => Promise<Record<string, unknown>[]>;

/** OpenAI deployments of the fake named `models`, priced as above, refreshed every REFRESH_S. */
export function pricedConfig(fake: FakeUpstream, models: readonly string[]): string {
  const entries = models.map((name) => `
  - model_name: ${name}
    litellm_params: { model: openai/${name}, api_base: "${fake.url}/v1", api_key: ${OPENAI_FAKE_KEY}, input_cost_per_token: ${IN_PRICE}, output_cost_per_token: ${OUT_PRICE} }`);
  return `
model_list:${entries.join('')}
general_settings: { master_key: ${MASTER}, user_api_key_cache_ttl: ${REFRESH_S}, proxy_batch_write_at: 0.2 }
`;
}

/** The gateway (not yet listening) on `databaseUrl`, spend flushed every 50 ms. */
export function gatewayOn(configYaml: string, databaseUrl: string, dataDir: string): Gateway {
  return createGateway(parseConfigText(configYaml, 'litellm-database.yaml', {}), { env: {}, databaseUrl, dataDir, spendFlushIntervalMs: 50 });
}

/** A chat call of PROMPT with `key` unless another is given; `extra` joins the body. */
export const chatOn = (url: string, defaultKey: string, extra: Record<string, unknown> = {}) => (model: string, key = defaultKey): Promise<Response> =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, ...extra, messages: [{ role: 'user', content: PROMPT }] }),
  });

/** The first defined value `probe` gives (a throw counts as not yet); fails naming `what` and the last error. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last === undefined ? '' : `: ${last instanceof Error ? last.message : JSON.stringify(last)}`}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
