/** Registration point of the azure provider: the selector picks the adapter for a deployment. */
import type { AdapterSelector } from '../registry.js';

export const azureSelector: AdapterSelector | undefined = undefined;
