// Live status and the SSE feed: a connected agent's window and USB show up live, disconnect
// flips it offline; flagged content is only in the feed for those allowed to see it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// biome-ignore lint/suspicious/noExplicitAny: SSE payloads are checked field by field below
type Json = any;

import { flagged, windowEvent } from '../helpers/agent-client.ts';
import { connectedDevice, type Harness, startHarness } from '../helpers/harness.ts';

let h: Harness;
beforeAll(async () => {
  // Full titles for IT (the feed carries window titles to IT only when configured to; the default, app and domain, is tested in
  // test/e2e/collector-flagged-text.test.ts).
  h = await startHarness({
    config: (c) => {
      c.itBrowsingDetail = 'full-title';
    },
  });
});
afterAll(async () => {
  await h?.close();
});

async function openFeed(): Promise<{ events: { type: string; data: Json }[]; close: () => void }> {
  const ctrl = new AbortController();
  const res = await fetch(`${h.url}/api/v1/live`, {
    headers: { authorization: `Bearer ${h.adminToken}` },
    signal: ctrl.signal,
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  const events: { type: string; data: Json }[] = [];
  const reader = res.body!.getReader();
  let buf = '';
  void (async () => {
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += new TextDecoder().decode(value);
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const type = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (type && data) events.push({ type, data: JSON.parse(data) });
        }
      }
    } catch {
      // aborted
    }
  })();
  return { events, close: () => ctrl.abort() };
}

async function until<T>(fn: () => T | undefined): Promise<T> {
  for (let i = 0; i < 500; i++) {
    const v = fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('condition not met');
}

describe('live status', () => {
  it('streams status and events after they are durable, redacts flags, and shows disconnects', async () => {
    const feed = await openFeed();
    try {
      await until(() => feed.events.find((e) => e.type === 'snapshot'));
      const { dev, client: c, stream } = await connectedDevice(h);
      await c.batch(stream, [
        windowEvent(1, '<img src=x onerror=alert(1)>'),
        {
          seq: 2,
          timeMs: Date.now(),
          usbAttached: { device: 'sdb1', vendorId: '0781', productId: '5567', encryption: 2, decision: 2 },
        },
        flagged(3, 'kms'),
      ]);
      const status = await until(() =>
        feed.events.find(
          (e) => e.type === 'status' && e.data.deviceId === dev.deviceId && e.data.usbVolumes.length === 1,
        ),
      );
      expect(status.data.connected).toBe(true);
      expect(status.data.currentWindow.title).toBe('<img src=x onerror=alert(1)>');
      expect(status.data.usbVolumes[0]).toMatchObject({
        device: 'sdb1',
        encryption: 'UNENCRYPTED',
        decision: 'BLOCK_WRITE',
      });
      const ev = await until(() =>
        feed.events.find((e) => e.type === 'event' && e.data.deviceId === dev.deviceId && e.data.seq === 3),
      );
      // The admin token is not a safeguarding role: it learns that a flag exists, never what it says,
      // and gets no alert items (the DSL's feed is /api/v1/alerts/live, tested in safeguarding/).
      expect(ev.data.event.flaggedActivity).toEqual({ redacted: true });
      expect(JSON.stringify(feed.events)).not.toContain('kms');
      expect(feed.events.some((e) => e.type === 'alert')).toBe(false);
      const api = await h.api('GET', `/api/v1/devices/${dev.deviceId}`);
      expect(api.json.device.status).toMatchObject({ connected: true, agentVersion: 'test-0.1' });
      const closedAt = Date.now();
      c.close();
      const offline = await until(() =>
        feed.events.find(
          (e) => e.type === 'status' && e.data.deviceId === dev.deviceId && e.data.connected === false,
        ),
      );
      expect(offline.data.lastSeenAt).toBeGreaterThanOrEqual(closedAt);
      expect(offline.data.lastSeenAt).toBeLessThanOrEqual(Date.now());
    } finally {
      feed.close();
    }
  });
});
