/** Registration point of the bedrock provider: the selector picks the adapter for a deployment. */
import type { AdapterSelector } from '../registry.js';

export const bedrockSelector: AdapterSelector | undefined = undefined;
