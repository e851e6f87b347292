// A real in-memory EventSink and PolicySource for driving enforcers directly in tests.
import { readFileSync } from 'node:fs';
import {
  defaultPolicy,
  mergePolicy,
  type Policy,
  type PolicyPatch,
  RECEIVED_LIMITS,
} from '@custodian/policy';
import type { AgentContext, AgentLogger, EventPayload, PolicySource } from '../../src/core/contracts.ts';

export interface TestContext extends AgentContext {
  emitted: EventPayload[];
  logs: { level: string; msg: string; fields?: Record<string, unknown> }[];
  setPolicy(patch: PolicyPatch): void;
  capabilityChanges: number;
  /** Resolves with the first emitted event matching `pick` (waiting for it if needed). */
  waitFor<T>(pick: (e: EventPayload) => T | undefined, timeoutMs?: number, what?: string): Promise<T>;
}

export function createTestContext(
  opts: { policy?: PolicyPatch; demo?: boolean; dataDir?: string } = {},
): TestContext {
  // The policy as the agent's store holds it: received, so read with RECEIVED_LIMITS (short idle
  // thresholds for tests are the collector's to allow or refuse).
  let policy: Policy = mergePolicy(defaultPolicy(), opts.policy ?? {}, RECEIVED_LIMITS);
  const listeners = new Set<(p: Policy, prev: Policy) => void>();
  const emitted: EventPayload[] = [];
  const waiters = new Set<() => void>();
  const logs: TestContext['logs'] = [];
  const log = (level: string) => (msg: string, fields?: Record<string, unknown>) => {
    logs.push({ level, msg, fields });
    if (process.env['CUSTODIAN_TEST_LOG']) console.error(level, msg, fields ?? '');
  };
  const logger: AgentLogger = {
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    debug: log('debug'),
  };
  const source: PolicySource = {
    current: () => policy,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
  const ctx: TestContext = {
    emitted,
    logs,
    capabilityChanges: 0,
    events: {
      async emit(payload) {
        emitted.push(payload);
        for (const w of [...waiters]) w();
      },
    },
    blobs: {
      putBlob: () => Promise.reject(new Error('no blobs in enforcement tests')),
    },
    policy: source,
    log: logger,
    demo: opts.demo ?? false,
    capabilitiesChanged() {
      ctx.capabilityChanges++;
    },
    lockState: { isLocked: () => Promise.reject(new Error('not used')) },
    dataDir: opts.dataDir ?? '/nonexistent',
    windows: { current: () => undefined, onChange: () => () => undefined },
    setPolicy(patch) {
      const prev = policy;
      policy = mergePolicy(policy, patch, RECEIVED_LIMITS);
      for (const l of listeners) l(policy, prev);
    },
    waitFor(pick, timeoutMs = 20_000, what = 'event') {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          for (const e of emitted) {
            const v = pick(e);
            if (v !== undefined) {
              waiters.delete(check as () => void);
              clearTimeout(timer);
              resolve(v);
              return true;
            }
          }
          return false;
        };
        const timer = setTimeout(() => {
          waiters.delete(check as () => void);
          reject(
            new Error(`timed out waiting for ${what}; emitted: ${JSON.stringify(emitted).slice(0, 2000)}`),
          );
        }, timeoutMs);
        if (!check()) waiters.add(check as () => void);
      });
    },
  };
  return ctx;
}

export interface RecordedCall {
  cmd: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
}

/**
 * A stand-in for run() in unit tests of command construction: records every call and answers
 * from `respond` (return stdout, or throw to simulate a failing command).
 */
export function recordingRunner(respond: (cmd: string, args: readonly string[]) => string) {
  const calls: RecordedCall[] = [];
  const runner = async (cmd: string, args: readonly string[], options?: { env?: NodeJS.ProcessEnv }) => {
    calls.push({ cmd, args, env: options?.env });
    return { stdout: respond(cmd, args), stderr: '', exitCode: 0 };
  };
  return { calls, run: runner };
}

export function testdata(rel: string): string {
  return readFileSync(new URL(`../../testdata/${rel}`, import.meta.url), 'utf8');
}
