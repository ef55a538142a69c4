/**
 * Writes docs/metrics.md from the metrics definitions table.
 * Run: npm run docs:metrics   (test/metrics/doc.test.ts fails when it is stale)
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderMetricsDoc } from '../src/observability/metrics/doc.js';

const target = join(import.meta.dirname, '..', 'docs', 'metrics.md');
writeFileSync(target, renderMetricsDoc());
console.log(`wrote ${target}`);
