/**
 * What LiteLLM prices beyond tokens on its non-chat endpoints (images, audio, rerank): counted from
 * the request (images asked for and their size, characters to speak) or reported by the answer
 * (seconds transcribed, Cohere's search units). Undefined means not known, never 0.
 */
export interface EndpointUnits {
  /** Images generated (the request's `n`). */
  images?: number | undefined;
  /** Pixels of one image (the request's `size`, `1024x1024` = 1 048 576). */
  pixelsPerImage?: number | undefined;
  /** Seconds of audio transcribed (whisper's `usage.seconds` or `duration`). */
  seconds?: number | undefined;
  /** Characters of text to speak (the speech request's `input`). */
  characters?: number | undefined;
  /** Cohere's `meta.billed_units.search_units`. */
  searchUnits?: number | undefined;
}

/** LiteLLM's per-unit price keys, as a deployment's litellm_params or model_info set them. */
export const UNIT_PRICE_KEYS = [
  'input_cost_per_request',
  'input_cost_per_image',
  'output_cost_per_image',
  'input_cost_per_pixel',
  'output_cost_per_pixel',
  'input_cost_per_second',
  'input_cost_per_character',
  'input_cost_per_query',
] as const;
