// Fake Azure OpenAI: POST /openai/deployments/{deployment}/chat/completions?api-version=… in front of
// an inner fake OpenAI (same bodies, streams, usage and prompt-cache simulation; see
// openai-upstream.ts). Checked like Azure: `api-version` is required, the deployment must exist
// (it maps to the model the inner fake reports), and the caller presents `api-key` or an Entra ID
// `Authorization: Bearer` token. Streams open with Azure's prompt_filter_results chunk (empty id and
// model, no choices), as in test/fixtures/providers/openai/azure-model-router.1.chunks.txt.
import type { Exchange, FakeStep, FakeUpstream, RecordedRequest } from './common.js';
import { header, isRecord, sendJson, serve, StepQueue } from './common.js';
import { OPENAI_FAKE_KEY, startFakeOpenAI, type OpenAIFakeOptions } from './openai-upstream.js';
import { proxyExchange } from './vertex-upstream.js';

export const AZURE_FAKE_KEY = 'azure-fake-key-0123456789abcdef';
export const AZURE_AD_TOKEN = 'eyJ0eXAiOiJKV1QifQ.fake-entra-token';

export interface AzureFakeOptions {
  apiKey?: string;
  adToken?: string;
  /** deployment name → model the answer reports (default: { 'gpt-4o-prod': 'gpt-4o-2024-08-06' }). */
  deployments?: Record<string, string>;
  openai?: OpenAIFakeOptions;
}

export interface AzureFake extends FakeUpstream {
  openai: FakeUpstream;
}

const PROMPT_FILTER = {
  choices: [], created: 0, id: '', model: '', object: '',
  prompt_filter_results: [{ prompt_index: 0, content_filter_results: { hate: { filtered: false, severity: 'safe' }, self_harm: { filtered: false, severity: 'safe' }, sexual: { filtered: false, severity: 'safe' }, violence: { filtered: false, severity: 'safe' } } }],
};

export function azureError(code: string, message: string, extra: Record<string, unknown> = {}): { error: Record<string, unknown> } {
  return { error: { code, message, ...extra } };
}

export async function startFakeAzure(opts: AzureFakeOptions = {}): Promise<AzureFake> {
  const apiKey = opts.apiKey ?? AZURE_FAKE_KEY;
  const adToken = opts.adToken ?? AZURE_AD_TOKEN;
  const deployments = opts.deployments ?? { 'gpt-4o-prod': 'gpt-4o-2024-08-06' };
  const openai = await startFakeOpenAI(opts.openai);
  const requests: RecordedRequest[] = [];
  const steps = new StepQueue();

  const handler = (ex: Exchange): Promise<void> => {
    const fail = (status: number, body: unknown): Promise<void> => {
      sendJson(ex, status, JSON.stringify(body), { 'content-type': 'application/json', 'apim-request-id': 'fake-apim' });
      return Promise.resolve();
    };
    const [pathname = '', query = ''] = ex.record.path.split('?');
    const route = /^\/openai\/deployments\/([^/]+)\/chat\/completions$/.exec(pathname);
    if (ex.req.method !== 'POST' || route === null) return fail(404, azureError('404', 'Resource not found'));
    const key = header(ex, 'api-key');
    const bearer = header(ex, 'authorization');
    if (key !== apiKey && bearer !== `Bearer ${adToken}`) {
      return fail(401, azureError('401', 'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.'));
    }
    if (!new URLSearchParams(query).has('api-version')) return fail(404, azureError('404', 'Resource not found'));
    const model = deployments[decodeURIComponent(route[1] ?? '')];
    if (model === undefined) {
      return fail(404, azureError('DeploymentNotFound', 'The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.'));
    }
    const body = ex.record.json;
    if (!isRecord(body)) return fail(400, azureError('BadRequest', 'Could not parse the request body.'));
    const step: FakeStep = steps.next();
    if (step !== 'ok') openai.script([step]);
    const prelude = `data: ${JSON.stringify(PROMPT_FILTER)}\n\n`;
    return proxyExchange(ex, `${openai.url}/v1/chat/completions`, { authorization: `Bearer ${OPENAI_FAKE_KEY}` }, JSON.stringify({ ...body, model }), prelude);
  };

  const server = await serve(requests, handler);
  return {
    url: server.url,
    requests,
    script: (s) => steps.push(s),
    resetCache: () => openai.resetCache(),
    close: async () => {
      await server.close();
      await openai.close();
    },
    openai,
  };
}
