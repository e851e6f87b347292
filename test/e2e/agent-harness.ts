// Helpers for the agent end-to-end suites: read a device's timeline from the real collector's
// HTTP API (all pages), and poll it.
import type { CollectorProcess } from '../support/collector-process.ts';

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

export async function timeline(
  c: CollectorProcess,
  deviceId: string,
  kinds?: string[],
): Promise<TimelineItem[]> {
  const out: TimelineItem[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 1_000; page++) {
    const q = new URLSearchParams({ limit: '1000' });
    if (kinds) q.set('kinds', kinds.join(','));
    if (cursor) q.set('cursor', cursor);
    const res = await fetch(`${c.url}/api/v1/devices/${deviceId}/timeline?${q}`, {
      headers: { authorization: `Bearer ${c.adminToken}` },
    });
    if (!res.ok) throw new Error(`timeline: HTTP ${res.status}: ${await res.text()}`);
    const body = (await res.json()) as { events: TimelineItem[]; nextCursor?: string };
    out.push(...body.events);
    if (!body.nextCursor) break;
    cursor = body.nextCursor;
  }
  // The API pages newest first; tests reason in stream order.
  return out.sort((a, b) => (a.streamId === b.streamId ? a.seq - b.seq : a.receivedAt - b.receivedAt));
}

export async function waitFor<T>(
  check: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = 60_000,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err; // collector restarting: keep polling until the deadline
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`,
      );
    await new Promise((r) => setTimeout(r, intervalMs));
  }
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
