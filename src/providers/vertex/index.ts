/** Registration point of the vertex provider: the selector picks the adapter for a deployment. */
import type { AdapterSelector } from '../registry.js';

export const vertexSelector: AdapterSelector | undefined = undefined;
