/** Registration point of the gemini provider: the selector picks the adapter for a deployment. */
import type { AdapterSelector } from '../registry.js';

export const geminiSelector: AdapterSelector | undefined = undefined;
