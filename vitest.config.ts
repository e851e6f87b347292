import { defineConfig } from 'vitest/config';
import { USB_LOCK_WAIT_MS } from './test/support/loopdev.ts';

// Two projects: unit/integration suites run in parallel; end-to-end suites (real processes,
// Xvfb, loop devices, Chromium) run one file at a time so they do not fight over the machine.
// sequence.groupOrder runs the e2e project only after every unit file has finished: the two
// never share the CPU. Hook timeouts are longer than any wait inside a hook (the machine-wide
// USB test lock, waited for in beforeAll, gives up after USB_LOCK_WAIT_MS), so a hook that
// waits for the lock fails with the lock holder's pid, not with a bare hook timeout.
const HOOK_TIMEOUT = USB_LOCK_WAIT_MS + 60_000;
export default defineConfig({
  test: {
    // Two unit files at a time. Vitest's default is one fewer than the CPUs, which is ONE on the
    // 2-core CI machine, and the unit files mostly wait (PostgreSQL, timers, child processes):
    // measured 166 CPU-s in ~300 s of wall time one at a time. The e2e project stays at one
    // (fileParallelism: false).
    maxWorkers: 2,
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{protocol,agent,collector}/test/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
          exclude: ['**/node_modules/**'],
          testTimeout: 30_000,
          hookTimeout: HOOK_TIMEOUT,
          pool: 'forks',
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          exclude: ['**/node_modules/**'],
          testTimeout: 120_000,
          hookTimeout: HOOK_TIMEOUT,
          pool: 'forks',
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
