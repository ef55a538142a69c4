/** Several workers' expositions → one: flows summed, state gauges by their rule, layout kept. */
import { describe, expect, it } from 'vitest';
import { mergeExpositions } from '../../src/observability/metrics/merge.js';

const worker = (requests: number, inFlight: number, remaining: number, bucket: number): string => `# HELP litellm_requests_metric_total Total number of LLM calls
# TYPE litellm_requests_metric_total counter
litellm_requests_metric_total{user_agent="Mozilla/5.0 (X11; Linux)",model="m"} ${requests}

# HELP litellm_in_flight_requests In flight
# TYPE litellm_in_flight_requests gauge
litellm_in_flight_requests ${inFlight}

# HELP litellm_remaining_api_key_budget_metric Remaining budget
# TYPE litellm_remaining_api_key_budget_metric gauge
litellm_remaining_api_key_budget_metric{hashed_api_key="k"} ${remaining}
litellm_remaining_api_key_budget_metric{hashed_api_key="open"} +Inf

# HELP litellm_deployment_rpm_limit Deployment RPM limit
# TYPE litellm_deployment_rpm_limit gauge
litellm_deployment_rpm_limit{model_id="a"} 60

# HELP tollgate_request_retries Retries per request
# TYPE tollgate_request_retries histogram
tollgate_request_retries_bucket{le="0",requested_model="m"} ${bucket}
tollgate_request_retries_bucket{le="+Inf",requested_model="m"} ${bucket}
tollgate_request_retries_sum{requested_model="m"} 0.5
tollgate_request_retries_count{requested_model="m"} ${bucket}
`;

describe('mergeExpositions', () => {
  it('sums counters and histograms, sums in-flight, takes the lowest remaining and the highest other gauge', () => {
    const merged = mergeExpositions([worker(3, 1, 7.5, 2), worker(4, 2, 6.25, 5), '']);
    expect(merged).toBe(`# HELP litellm_requests_metric_total Total number of LLM calls
# TYPE litellm_requests_metric_total counter
litellm_requests_metric_total{user_agent="Mozilla/5.0 (X11; Linux)",model="m"} 7
# HELP litellm_in_flight_requests In flight
# TYPE litellm_in_flight_requests gauge
litellm_in_flight_requests 3
# HELP litellm_remaining_api_key_budget_metric Remaining budget
# TYPE litellm_remaining_api_key_budget_metric gauge
litellm_remaining_api_key_budget_metric{hashed_api_key="k"} 6.25
litellm_remaining_api_key_budget_metric{hashed_api_key="open"} +Inf
# HELP litellm_deployment_rpm_limit Deployment RPM limit
# TYPE litellm_deployment_rpm_limit gauge
litellm_deployment_rpm_limit{model_id="a"} 60
# HELP tollgate_request_retries Retries per request
# TYPE tollgate_request_retries histogram
tollgate_request_retries_bucket{le="0",requested_model="m"} 7
tollgate_request_retries_bucket{le="+Inf",requested_model="m"} 7
tollgate_request_retries_sum{requested_model="m"} 1
tollgate_request_retries_count{requested_model="m"} 7
`);
  });

  it('keeps a series only one worker has', () => {
    const merged = mergeExpositions(['# TYPE c_total counter\nc_total{a="1"} 2\n', '# TYPE c_total counter\nc_total{a="2"} 5\n']);
    expect(merged).toBe('# TYPE c_total counter\nc_total{a="1"} 2\nc_total{a="2"} 5\n');
  });
});
