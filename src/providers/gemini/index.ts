/** Registration point of the gemini provider: the selector picks the adapter for a deployment. */
import type { AdapterSelector } from '../types.js';
import { GeminiAdapter, geminiApiEndpoint } from './adapter.js';

// Stateless: the API key is read from each call's deployment, so one adapter serves them all.
const adapter = new GeminiAdapter('gemini', geminiApiEndpoint);

export const geminiSelector: AdapterSelector | undefined = () => adapter;
