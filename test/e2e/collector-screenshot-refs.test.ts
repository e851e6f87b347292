// Issue 10 item 5, replayed from outside: a real collector process and a foreign `ws` client that
// uploads one screenshot and sends a small flag referencing it 400 times (plus a few other ids),
// then a flag carrying 100,000 references in one ~1 MB frame. The alert keeps the distinct ids up
// to one capture's frames; its page and the evidence export stay small, and the collector's
// memory does not balloon while exporting (before the fix: 400 references → a 140 MB export,
// 1.6 GB RSS).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { MAX_CAPTURE_FRAMES } from '@custodian/policy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CollectorProcess, startCollector } from '../support/collector-process.ts';
import { createStaff, type Json, staffSession, TestAgent } from './console-helpers.ts';

let collector: CollectorProcess;
let agent: TestAgent;
let dsl: (method: string, path: string, body?: unknown) => Promise<{ status: number; data: Json }>;
let dslCookie = '';
let blobId: string;
const IMAGE_BYTES = 350 * 1024;

/** Resident set and its peak (kB) of the collector process, from /proc. */
function memory(pid: number): { rssKb: number; peakKb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
  return { rssKb: kb('VmRSS'), peakKb: kb('VmHWM') };
}

function flag(term: string, screenshotBlobIds: string[]) {
  return {
    flaggedActivity: {
      category: 'self-harm',
      severity: 4,
      matchedTerm: term,
      context: term,
      window: { app: 'firefox', title: term, url: '', pid: 1 },
      screenshotBlobIds,
      source: 'title',
    },
  };
}

beforeAll(async () => {
  collector = await startCollector();
  const who = await createStaff(collector, 'dsl-refs', 'dsl');
  dsl = await staffSession(collector, who);
  // A second session of the same DSL for the raw export response (headers, streaming).
  const login = await fetch(`${collector.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(who),
  });
  dslCookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  agent = await TestAgent.enrol(collector, 'LAPTOP-REFS');
  await agent.connect();
  // Random bytes do not compress: the export's size is honest about what it embeds.
  blobId = await agent.uploadBlob(new Uint8Array(randomBytes(IMAGE_BYTES)), 'image/png');
}, 120_000);

afterAll(async () => {
  await agent?.disconnect();
  await collector?.cleanup();
});

describe('screenshot references are de-duplicated and capped', () => {
  it('400 references to one screenshot: one image in the alert and in a small, streamed export', async () => {
    const refs = [...Array.from({ length: 400 }, () => blobId), 'other-1', 'other-2', blobId];
    await agent.send(flag('repeat refs', refs));
    const { data } = await dsl('GET', '/alerts?limit=10');
    const row = data.alerts.find((a: Json) => a.term === 'repeat refs');
    expect(row.screenshotCount).toBe(3);
    const page = await dsl('GET', `/alerts/${row.id}`);
    expect(page.data.alert.screenshotBlobIds).toEqual([blobId, 'other-1', 'other-2']);
    expect(page.data.screenshots).toHaveLength(3);
    expect(page.data.alert.history).toContainEqual(
      expect.objectContaining({ action: 'screenshot-ids-capped', from: 403, to: 3 }),
    );

    const before = memory(collector.pid);
    const res = await fetch(`${collector.url}/api/v1/alerts/${row.id}/export`, {
      headers: { cookie: dslCookie },
    });
    expect(res.status).toBe(200);
    const html = await res.text();
    const after = memory(collector.pid);
    expect(Number(res.headers.get('content-length'))).toBe(Buffer.byteLength(html));
    expect(html.match(/<img /g)).toHaveLength(1);
    // One image (base64: 4/3 of it) plus the page: well under 1 MB (was 140 MB).
    expect(Buffer.byteLength(html)).toBeLessThan(IMAGE_BYTES * 1.34 + 200_000);
    // The export adds at most a few image-sized buffers to the collector's peak memory.
    expect(after.peakKb - before.peakKb).toBeLessThan(64 * 1024);
    console.log(
      `export of 403 references: ${Buffer.byteLength(html)} bytes; collector RSS ${before.rssKb} → ${after.rssKb} kB, peak ${before.peakKb} → ${after.peakKb} kB`,
    );
  });

  it('100,000 references in one frame: the alert holds at most one capture’s frames', async () => {
    const refs = Array.from({ length: 100_000 }, (_, i) => `r${i}`);
    await agent.send(flag('many refs', refs));
    const { data } = await dsl('GET', '/alerts?limit=10');
    const row = data.alerts.find((a: Json) => a.term === 'many refs');
    const page = await dsl('GET', `/alerts/${row.id}`);
    expect(page.data.alert.screenshotBlobIds).toHaveLength(MAX_CAPTURE_FRAMES);
    expect(JSON.stringify(page.data).length).toBeLessThan(20_000);
    // The stored event says the same as the alert.
    const timeline = await dsl('GET', `/devices/${agent.deviceId}/timeline?kinds=flaggedActivity&limit=1`);
    expect(timeline.data.events[0].event.flaggedActivity.screenshotBlobIds).toHaveLength(MAX_CAPTURE_FRAMES);
  });

  it('an incident of large screenshots: the export embeds at most 64 MiB, streams it, and lists the rest', async () => {
    const MIB = 1024 * 1024;
    const ids: string[] = [];
    // Five 14 MiB screenshots (70 MiB): four fit the export's 56 MiB of images, the fifth does not.
    for (let i = 0; i < 5; i++) {
      const blob = await agent.uploadBlobChunked(new Uint8Array(randomBytes(14 * MIB)), 'image/png');
      await agent.send(flag(`large ${i}`, [blob]));
      ids.push(blob);
    }
    const { data } = await dsl('GET', '/alerts?limit=20');
    const alertIds = ids.map((b) => {
      const row = data.alerts.find((a: Json) => a.term === `large ${ids.indexOf(b)}`);
      return row.id as string;
    });
    const opened = await dsl('POST', `/alerts/${alertIds[0]}/escalate`, { incident: { title: 'Large' } });
    const incidentId = opened.data.incident.id as string;
    for (const id of alertIds.slice(1))
      expect((await dsl('POST', `/alerts/${id}/escalate`, { incidentId })).status).toBe(200);

    const before = memory(collector.pid);
    const res = await fetch(`${collector.url}/api/v1/incidents/${incidentId}/export`, {
      headers: { cookie: dslCookie },
    });
    expect(res.status).toBe(200);
    // Read as a stream and count, as a receiving browser would, without keeping the file.
    let bytes = 0;
    let tail = '';
    let images = 0;
    let notIncluded = 0;
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      bytes += r.value.byteLength;
      // Markers may straddle chunks: keep a short tail of the previous chunk.
      const text = tail + Buffer.from(r.value).toString('latin1');
      // Count a marker once: only where it ends in this chunk's new bytes.
      const count = (re: RegExp) =>
        [...text.matchAll(re)].filter((m) => (m.index ?? 0) + m[0].length > tail.length).length;
      images += count(/<img alt="Screenshot/g);
      notIncluded += count(/the export embeds at most 64 MiB/g);
      tail = text.slice(-100);
    }
    const after = memory(collector.pid);
    expect(bytes).toBe(Number(res.headers.get('content-length')));
    expect(images).toBe(4);
    expect(notIncluded).toBe(1);
    expect(bytes).toBeLessThan(64 * MIB * 1.34 + 2 * MIB);
    // Streamed: one image (and its base64) at a time, not the 75 MB file in memory.
    expect(after.peakKb - before.peakKb).toBeLessThan(120 * 1024);
    console.log(
      `incident export of 5 × 14 MiB screenshots: ${bytes} bytes, 4 embedded; collector peak RSS ${before.peakKb} → ${after.peakKb} kB`,
    );
  }, 240_000);
});
