// Helpers for the agent end-to-end suites: read a device's timeline from the real collector's
// HTTP API (all pages); poll it with waitFor from test/support/wait-for.ts.
import { randomUUID } from 'node:crypto';
import { type EnrolledAgent, enrolAgent } from '../support/agent-process.ts';
import { type CollectorProcess, FULL_TITLES, startCollector } from '../support/collector-process.ts';
import { startX, type XSession } from '../support/xvfb.ts';
import { createStaff } from './console-helpers.ts';

export interface TimelineItem {
  streamId: string;
  seq: number;
  kind: string;
  receivedAt: number;
  event: Record<string, unknown> & {
    activeWindow?: { app?: string; title?: string };
    heartbeat?: Record<string, unknown>;
    gap?: Record<string, unknown>;
  };
}

/**
 * Reads as the admin token unless `headers` say otherwise (`dslHeaders`): the admin token never
 * sees device text that matches the safeguarding library ("diagnostic event 420" does: `420`).
 */
export async function timeline(
  c: CollectorProcess,
  deviceId: string,
  kinds?: string[],
  headers: Record<string, string> = { authorization: `Bearer ${c.adminToken}` },
): Promise<TimelineItem[]> {
  const out: TimelineItem[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 1_000; page++) {
    const q = new URLSearchParams({ limit: '1000' });
    if (kinds) q.set('kinds', kinds.join(','));
    if (cursor) q.set('cursor', cursor);
    const res = await fetch(`${c.url}/api/v1/devices/${deviceId}/timeline?${q}`, { headers });
    if (!res.ok) throw new Error(`timeline: HTTP ${res.status}: ${await res.text()}`);
    const body = (await res.json()) as { events: TimelineItem[]; nextCursor?: string };
    out.push(...body.events);
    if (!body.nextCursor) break;
    cursor = body.nextCursor;
  }
  // The API pages newest first; tests reason in stream order.
  return out.sort((a, b) => (a.streamId === b.streamId ? a.seq - b.seq : a.receivedAt - b.receivedAt));
}

/** Headers of a fresh DSL session (a staff account made through the users API, signed in). */
export async function dslHeaders(c: CollectorProcess): Promise<Record<string, string>> {
  const who = await createStaff(c, `dsl-${randomUUID().slice(0, 8)}`, 'dsl');
  const res = await fetch(`${c.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(who),
  });
  if (!res.ok) throw new Error(`login: HTTP ${res.status}: ${await res.text()}`);
  return { cookie: (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '' };
}

/** Each (stream, seq) once, and per stream no seq missing between 1 and the highest. */
export function deliveryProblems(items: TimelineItem[]): string[] {
  const problems: string[] = [];
  const byStream = new Map<string, number[]>();
  for (const i of items) byStream.set(i.streamId, [...(byStream.get(i.streamId) ?? []), i.seq]);
  for (const [stream, seqs] of byStream) {
    const set = new Set(seqs);
    if (set.size !== seqs.length) problems.push(`${stream}: ${seqs.length - set.size} duplicate seqs`);
    const max = Math.max(...seqs);
    const missing = max - set.size;
    if (missing > 0) problems.push(`${stream}: ${missing} seqs missing below ${max}`);
  }
  return problems;
}

export interface EnrolledOnX {
  collector: CollectorProcess;
  x: XSession;
  enrolled: EnrolledAgent;
  /** Cleans up the enrolment, X and the collector (stop the agent first). */
  stop(): Promise<void>;
}

/**
 * A real collector process, a real X server and an agent data dir enrolled with that collector;
 * starting the agent is the test's part. On a failure half-way, what started is stopped again.
 */
export async function startEnrolledOnX(): Promise<EnrolledOnX> {
  const parts: { collector?: CollectorProcess; x?: XSession; enrolled?: EnrolledAgent } = {};
  const stop = async () => {
    await parts.enrolled?.cleanup();
    await parts.x?.stop();
    await parts.collector?.cleanup();
  };
  try {
    // The tests read window titles through the admin token: full titles (the default shows IT
    // app and domain only).
    parts.collector = await startCollector({ env: FULL_TITLES });
    parts.x = await startX();
    parts.enrolled = await enrolAgent({ collector: parts.collector });
  } catch (err) {
    await stop();
    throw err;
  }
  return { collector: parts.collector, x: parts.x, enrolled: parts.enrolled, stop };
}
