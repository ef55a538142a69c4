/** Registration point of the cohere provider (`cohere/…` and LiteLLM's `cohere_chat/…`). */
import type { AdapterSelector } from '../types.js';
import { CohereAdapter } from './adapter.js';

const adapter = new CohereAdapter();

export const cohereSelector: AdapterSelector = () => adapter;
