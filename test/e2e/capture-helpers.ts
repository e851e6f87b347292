// Helpers for the capture end-to-end test and the capture latency bench: a real collector, a
// real enrolled agent running on a real X server, and the collector's alert API.
import { type AgentProcess, type EnrolledAgent, enrolAgent, startAgent } from '../support/agent-process.ts';
import { type CollectorProcess, FULL_TITLES, startCollector } from '../support/collector-process.ts';
import { startX, type XOptions, type XSession } from '../support/xvfb.ts';
import { createStaff } from './console-helpers.ts';

export interface AlertRow {
  id: string;
  category: string;
  term: string;
  severity: number;
  windowTitle: string;
  windowUrl: string;
  windowApp: string;
  source: string;
  context: string;
  repeatCount: number;
  screenshotCount: number;
  occurredAt: number;
  createdAt: number;
}

export interface CaptureRig {
  collector: CollectorProcess;
  enrolled: EnrolledAgent;
  agent: AgentProcess;
  x: XSession;
  alerts(): Promise<AlertRow[]>;
  get(path: string): Promise<Response>;
  /** `promise`, or its error with the tail of the agent's log appended (the log holds no titles). */
  withAgentLog<T>(promise: Promise<T>): Promise<T>;
  stop(): Promise<void>;
}

export interface CaptureRigOptions {
  /** Laid over the test policy (`windowSampleMs: 200`). */
  policy?: Record<string, unknown>;
  /** Agent arguments; default `--demo` (idle lock report-only). */
  agentArgs?: string[];
  agentEnv?: NodeJS.ProcessEnv;
  /** Extra X server options (a server without RECORD). */
  x?: XOptions;
  /** Runs on the X server before the agent starts (a pupil preparing the screen). */
  beforeAgent?: (x: XSession) => Promise<void>;
  /** Collector environment (e.g. a lower idle-lock floor for a test policy of a few seconds). */
  collectorEnv?: Record<string, string>;
}

export async function startCaptureRig(options: CaptureRigOptions = {}): Promise<CaptureRig> {
  const parts: {
    collector?: CollectorProcess;
    enrolled?: EnrolledAgent;
    agent?: AgentProcess;
    x?: XSession;
  } = {};
  const stop = async () => {
    await parts.agent?.stop();
    await parts.x?.stop();
    await parts.enrolled?.cleanup();
    await parts.collector?.cleanup();
  };
  try {
    // Full titles for IT: the tests read window titles back through the timeline as the admin token.
    parts.collector = await startCollector({ env: { ...FULL_TITLES, ...options.collectorEnv } });
    parts.x = await startX({ width: 1024, height: 768, ...options.x });
    parts.enrolled = await enrolAgent({ collector: parts.collector });
    // Sample windows often (the default is 1 s), so the test spends its time on capture, not waiting.
    const put = await fetch(`${parts.collector.url}/api/v1/devices/${parts.enrolled.deviceId}/policy`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${parts.collector.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        policy: { windowSampleMs: 200, ...options.policy },
        reason: 'capture e2e test',
      }),
    });
    if (!put.ok) throw new Error(`policy PUT: HTTP ${put.status}: ${await put.text()}`);
    await options.beforeAgent?.(parts.x);
    parts.agent = await startAgent({
      dataDir: parts.enrolled.dataDir,
      env: { ...parts.x.env, ...options.agentEnv },
      args: options.agentArgs ?? ['--demo'],
    });
    await parts.agent.waitForLog(/connected to collector/, 30_000);
  } catch (err) {
    await stop();
    throw err;
  }
  const { collector } = parts as Required<typeof parts>;
  // Alerts and screenshots are for safeguarding roles only: sign in as a DSL.
  const dsl = await createStaff(collector, 'dsl-capture', 'dsl');
  const login = await fetch(`${collector.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(dsl),
  });
  if (!login.ok) throw new Error(`login: HTTP ${login.status}: ${await login.text()}`);
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const get = (path: string) => fetch(`${collector.url}${path}`, { headers: { cookie } });
  return {
    collector,
    enrolled: parts.enrolled!,
    agent: parts.agent!,
    x: parts.x!,
    get,
    async withAgentLog(promise) {
      try {
        return await promise;
      } catch (err) {
        (err as Error).message += `\n--- agent log (tail) ---\n${parts.agent!.logs().slice(-6_000)}`;
        throw err;
      }
    },
    async alerts() {
      const res = await get('/api/v1/alerts?limit=200');
      // fatal: waitFor (test/support/wait-for.ts) stops at once on a 4xx instead of polling on.
      if (!res.ok)
        throw Object.assign(new Error(`alerts: HTTP ${res.status}: ${await res.text()}`), {
          fatal: res.status < 500,
        });
      return ((await res.json()) as { alerts: AlertRow[] }).alerts;
    },
    stop,
  };
}
