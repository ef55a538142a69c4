/** What the request pipeline needs from the rest of the gateway (wired in server.ts). */
import type { CallRecordSink } from '../../core/call-record.js';
import type { Pricing } from '../../accounting/pricing.js';
import type { Metrics } from '../../observability/metrics/index.js';
import type { Authenticator } from '../../policy/auth.js';
import type { Policy } from '../../policy/admission.js';
import type { RequestLimits } from '../../protocols/shared/validate.js';
import type { Tenancy } from '../../policy/tenancy.js';
import type { CallRouter } from '../../routing/calls.js';
import type { SearchRouter } from '../../routing/search.js';
import type { ModelTable } from '../../routing/router.js';
import type { InFlightCalls } from './in-flight.js';
import type { ResponseCache } from './response-cache.js';

export interface CallDeps {
  auth: Authenticator;
  models: ModelTable;
  /** The router, with the providers behind it. */
  calls: CallRouter;
  sink: CallRecordSink;
  /** `x-litellm-max-retries` before the router has looked at a request. */
  maxRetries: number;
  pricing: Pricing;
  metrics: Pick<Metrics, 'inFlight' | 'setKeyModelRemaining'>;
  /** Budgets, rate limits and model access, checked before routing and settled from the record. */
  policy: Pick<Policy, 'admit' | 'settle' | 'keyDisablesFallbacks' | 'allowedModels'>;
  /** Key, team and end-user records (tags, model aliases, allowed_model_region); absent = none apply. */
  tenancy?: Pick<Tenancy, 'keys' | 'teams' | 'customers'> | undefined;
  /**
   * `general_settings.max_request_messages` / `max_request_tools`; absent = the validators'
   * defaults. The output limit is the model's, found per request.
   */
  requestLimits?: Omit<RequestLimits, 'maxOutputTokens'> | undefined;
  /** `general_settings.allow_client_side_credentials`: a body's `api_base`/`api_key` are used, not refused. */
  allowClientSideCredentials?: boolean | undefined;
  /** `litellm_settings.cache`: answers replayed for requests seen before; absent = off. */
  responseCache?: ResponseCache | undefined;
  /** Call spans are exported (`callbacks: [otel]`): each call's span ids are chosen on arrival and sent upstream. */
  tracing?: boolean | undefined;
  /** Counts calls until their record is made, so shutdown can wait for the last records. */
  inFlight?: InFlightCalls | undefined;
  /** `search_tools`: the `/v1/search` routes' tools; absent = none configured. */
  search?: SearchRouter | undefined;
  /** `general_settings.search_tool_deny_by_default`: a key (and its team) must grant each search tool. */
  searchToolDenyByDefault?: boolean | undefined;
}
