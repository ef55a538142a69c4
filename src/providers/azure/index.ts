/** Registration point of the azure provider: the selector picks the adapter for a deployment. */
import type { AdapterSelector } from '../types.js';
import { AzureAdapter } from './adapter.js';

// Stateless: endpoint, version and credentials are read from each call's deployment.
const adapter = new AzureAdapter();

export const azureSelector: AdapterSelector | undefined = () => adapter;
