/**
 * Prints one plain closing line, `Tests: N passed, N failed, N skipped`, after vitest's own summary,
 * so any tool that reads a run's last line can tell what ran. The default reporter prints its
 * summary from `onFinished`, so this one does too (registered after it, it prints last).
 */
import type { Reporter } from 'vitest/node';

type Task = { type: string; mode?: string; result?: { state?: string }; tasks?: Task[] };

function count(tasks: readonly Task[], totals: { passed: number; failed: number; skipped: number }): void {
  for (const task of tasks) {
    if (task.type === 'test') {
      const state = task.result?.state;
      if (state === 'pass') totals.passed++;
      else if (state === 'fail') totals.failed++;
      else totals.skipped++;
    } else {
      if (task.type === 'suite' && task.result?.state === 'fail' && (task.tasks ?? []).length === 0) totals.failed++;
      count(task.tasks ?? [], totals);
    }
  }
}

export default class SummaryReporter implements Reporter {
  onFinished(files: readonly Task[] = [], errors: readonly unknown[] = []): void {
    const totals = { passed: 0, failed: errors.length, skipped: 0 };
    count(files, totals);
    process.stdout.write(`Tests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`);
  }
}
