// Collector responsiveness during a sign-in burst (issue 10 item 4). What it measures: how much
// slower an IT read (GET /api/v1/devices) and an ingest round trip (one 100-event batch → Ack)
// get while wrong-password sign-ins keep arriving, as a ratio to the same operation on an idle
// collector (same process, same run). The burst keeps 40 sign-ins in flight at all times, each
// from its own client address (the collector trusts 127.0.0.1 as a proxy and each request names
// another X-Forwarded-For) with its own unknown username, so neither the per-address cap nor
// the per-user throttle refuses them: every admitted one really runs scrypt at the production
// cost. This is the worst case for the libuv pool the reads and commits share.
// Two collectors: the default (at most 2 password checks at once) and one with the cap opened
// to 64 (what the collector did before the cap). What it leaves out: TLS, a remote client, other
// load; sign-ins refused with 429 (queue full) are counted but cost no hashing.
import { randomUUID } from 'node:crypto';
import { AgentClient, heartbeat } from '../../collector/test/helpers/agent-client.ts';
import { startCollector } from '../support/collector-process.ts';
import type { BenchResult } from './types.ts';

/** Calls per figure (median of N) with the default cap; each follows WARM warm-up calls. */
const N = 30;
const WARM = 5;
/** With the cap opened each call takes seconds: fewer calls, same statistic. */
const N_OPEN = 9;
const WARM_OPEN = 1;
const IN_FLIGHT = 40;
const PASSWORD = 'bench password long enough 1';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

interface Scenario {
  readIdle: number;
  readBurst: number;
  ingestIdle: number;
  ingestBurst: number;
  logins: { checked: number; refused: number; dropped: number };
}

async function scenario(maxChecks: number, n: number, warm: number): Promise<Scenario> {
  const collector = await startCollector({
    env: {
      CUSTODIAN_LOG_LEVEL: 'warn',
      CUSTODIAN_TRUSTED_PROXIES: '127.0.0.1',
      CUSTODIAN_MAX_CONCURRENT_PASSWORD_CHECKS: String(maxChecks),
      CUSTODIAN_MAX_PASSWORD_CHECKS_PER_IP: '64',
    },
  });
  try {
    const api = (path: string, init: RequestInit = {}) =>
      fetch(`${collector.url}/api/v1${path}`, {
        ...init,
        headers: {
          authorization: `Bearer ${collector.adminToken}`,
          'content-type': 'application/json',
          ...init.headers,
        },
      });
    const created = await api('/users', {
      method: 'POST',
      body: JSON.stringify({
        username: 'bench-it',
        role: 'it',
        password: PASSWORD,
        mustChangePassword: false,
      }),
    });
    if (created.status !== 201) throw new Error(`create user: ${created.status}`);
    const login = await fetch(`${collector.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '10.200.0.1' },
      body: JSON.stringify({ username: 'bench-it', password: PASSWORD }),
    });
    if (login.status !== 200) throw new Error(`login: ${login.status}`);
    const cookie = (login.headers.getSetCookie()[0] as string).split(';')[0] as string;
    for (let i = 0; i < 20; i++) {
      const r = await api('/enrol', {
        method: 'POST',
        body: JSON.stringify({
          secret: collector.enrolSecret,
          machineId: `bench-login-${i}-${randomUUID()}`,
          hostname: `bench-${i}`,
          os: 'linux',
          serial: `L${i}`,
        }),
      });
      if (r.status !== 200) throw new Error(`enrol: ${r.status}`);
      if (i === 0) Object.assign(scenarioDevice, await r.json());
    }
    const agent = new AgentClient(collector.wsUrl);
    const stream = randomUUID();
    await agent.hello(scenarioDevice.deviceId, scenarioDevice.deviceKey, stream);
    let seq = 0;
    const read = async () => {
      const t0 = performance.now();
      const r = await fetch(`${collector.url}/api/v1/devices`, { headers: { cookie } });
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`read: ${r.status}`);
      return performance.now() - t0;
    };
    const ingest = async () => {
      const events = Array.from({ length: 100 }, () => heartbeat(++seq));
      const t0 = performance.now();
      await agent.batch(stream, events);
      return performance.now() - t0;
    };
    const sample = async (fn: () => Promise<number>) => {
      for (let i = 0; i < warm; i++) await fn();
      const xs: number[] = [];
      for (let i = 0; i < n; i++) xs.push(await fn());
      return median(xs);
    };
    const readIdle = await sample(read);
    const ingestIdle = await sample(ingest);

    // The burst: IN_FLIGHT wrong-password sign-ins in flight until told to stop.
    let stop = false;
    let attempt = 0;
    const logins = { checked: 0, refused: 0, dropped: 0 };
    const attacker = async () => {
      while (!stop) {
        const i = attempt++;
        try {
          const r = await fetch(`${collector.url}/api/v1/auth/login`, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'x-forwarded-for': `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
            },
            body: JSON.stringify({ username: `nobody${i}`, password: 'wrong password here' }),
          });
          await r.arrayBuffer();
          if (r.status === 401) logins.checked++;
          else {
            logins.refused++;
            // Refused ones come back after Retry-After, as a client does: this bench loads the
            // hashing path; a flood of requests that never wait is the connection cap's business.
            await new Promise((w) => setTimeout(w, Number(r.headers.get('retry-after') ?? 1) * 1000));
          }
        } catch {
          // A keep-alive socket the server closed as the request went out: the attacker just retries.
          logins.dropped++;
        }
      }
    };
    const attackers = Array.from({ length: IN_FLIGHT }, attacker);
    await new Promise((r) => setTimeout(r, 1000)); // let the pool fill
    const readBurst = await sample(read);
    const ingestBurst = await sample(ingest);
    stop = true;
    await Promise.all(attackers);
    agent.close();
    return { readIdle, readBurst, ingestIdle, ingestBurst, logins };
  } finally {
    await collector.cleanup();
  }
}
const scenarioDevice = { deviceId: '', deviceKey: '' };

export async function run(): Promise<BenchResult> {
  const capped = await scenario(2, N, WARM);
  const open = await scenario(64, N_OPEN, WARM_OPEN);
  const row = (metric: string, value: number, baseline: number) => ({
    metric,
    value,
    unit: 'ms',
    baseline,
    baselineLabel: 'same call, idle collector',
    ratio: value / baseline,
  });
  const result: BenchResult = {
    title: 'Collector during a sign-in burst (issue 10 item 4)',
    rows: [
      row(
        'IT read GET /devices during the burst (2 checks at once, default)',
        capped.readBurst,
        capped.readIdle,
      ),
      row('ingest 100-event batch → Ack during the burst (default)', capped.ingestBurst, capped.ingestIdle),
      row('IT read during the burst, cap opened to 64 (as before the fix)', open.readBurst, open.readIdle),
      row('ingest batch → Ack during the burst, cap opened to 64', open.ingestBurst, open.ingestIdle),
    ],
    notes: [
      `Median of N = ${N} sequential calls after ${WARM} warm-up calls for the default rows and their idle baselines, N = ${N_OPEN} after ${WARM_OPEN} for the cap-64 rows and theirs (each of those calls takes seconds); ${IN_FLIGHT} wrong-password sign-ins kept in flight, each from its own X-Forwarded-For address (127.0.0.1 trusted as proxy) and username, production scrypt cost (N=2^16, r=8).`,
      'A refused sign-in (429) is retried after its Retry-After (1 s), as a client does; one that is let in is retried at once.',
      `Sign-ins during the measurement: default cap ${capped.logins.checked} checked, ${capped.logins.refused} refused (429, queue full), ${capped.logins.dropped} connection errors; cap 64: ${open.logins.checked} checked, ${open.logins.refused} refused, ${open.logins.dropped} connection errors.`,
      'From one address the per-address cap (4) and the per-user throttle (5 free attempts) refuse a burst before any hashing; this bench removes both to load the hashing path itself.',
      'Collector and load generator share the machine (2 cores).',
    ],
  };
  // The runner prints value and ratio only; a run of this file alone also shows the baselines and notes.
  for (const r of result.rows) console.log(`  baseline for "${r.metric}": ${r.baseline?.toFixed(3)} ms`);
  for (const n of result.notes ?? []) console.log(`  note: ${n}`);
  return result;
}
