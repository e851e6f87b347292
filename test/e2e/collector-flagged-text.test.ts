// Issue 10 item 1, replayed from outside: a real collector process, a foreign `ws` client speaking
// the .proto that sends window titles (one a child's concerning search, one harmless) and a USB
// stick with a concerning label, and never a flaggedActivity (a hostile or broken agent need not
// flag). Then plain HTTP as it, admin, the admin token, governor and dsl over every surface: the
// device list, the device page, the timeline, the /api/v1/live feed (snapshot, status, event),
// the governors' report. The concerning text reaches the DSL only; IT sees app and domain.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CollectorProcess, startCollector } from '../support/collector-process.ts';
import { createStaff, type Json, staffSession, TestAgent } from './console-helpers.ts';

const FLAGGED_TITLE = 'how to kill myself painlessly - Google Search';
const FLAGGED_URL = 'https://www.google.com/search?q=how+to+kill+myself+painlessly';
const FLAGGED_LABEL = 'KILL MYSELF';
const HARMLESS_TITLE = 'Fractions - KS3 Maths - BBC Bitesize';
const HARMLESS_URL = 'https://www.bbc.co.uk/bitesize/topics/zt9k7ty/articles';
/** Every spelling of the concerning text that could leak: title, URL query, label. */
const LEAK = /kill(\s|\+|-|%20)?myself|KILL MYSELF|painlessly/i;
/** A device enrolled under a concerning hostname (device text from enrolment). */
const FLAGGED_HOST = 'kill-myself-pc';

type Caller = (path: string) => Promise<{ status: number; data: Json }>;

let collector: CollectorProcess;
let agent: TestAgent;
let hostAgent: TestAgent;
const callers: Record<string, Caller> = {};
const feeds: Record<string, { text: () => string; close: () => void }> = {};

/** Opens /api/v1/live and keeps everything it sends. */
async function openFeed(headers: Record<string, string>): Promise<{ text: () => string; close: () => void }> {
  const ctrl = new AbortController();
  const res = await fetch(`${collector.url}/api/v1/live`, { headers, signal: ctrl.signal });
  expect(res.status).toBe(200);
  let buf = '';
  void (async () => {
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    for (;;) {
      const r = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (r.done) return;
      buf += Buffer.from(r.value as Uint8Array).toString('utf8');
    }
  })();
  return { text: () => buf, close: () => ctrl.abort() };
}

async function until(what: string, ok: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  collector = await startCollector();
  const tokenCall: Caller = async (path) => {
    const r = await fetch(`${collector.url}/api/v1${path}`, {
      headers: { authorization: `Bearer ${collector.adminToken}` },
    });
    return { status: r.status, data: await r.json() };
  };
  callers['admin-token'] = tokenCall;
  for (const role of ['it', 'admin', 'governor', 'dsl'] as const) {
    const who = await createStaff(collector, `${role}-flagged-text`, role);
    const session = await staffSession(collector, who);
    callers[role] = (path) => session('GET', path);
    if (role !== 'governor') {
      const login = await fetch(`${collector.url}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(who),
      });
      const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      feeds[role] = await openFeed({ cookie });
    }
  }
  feeds['admin-token'] = await openFeed({ authorization: `Bearer ${collector.adminToken}` });

  agent = await TestAgent.enrol(collector, 'LAPTOP-FT1');
  await agent.connect();
  await agent.send(
    { activeWindow: { app: 'firefox', title: HARMLESS_TITLE, url: HARMLESS_URL, pid: 7 } },
    {
      usbAttached: {
        device: 'sdb1',
        vendorId: '0781',
        productId: '5567',
        vendor: 'SanDisk',
        product: 'Cruzer',
        serial: 'X1',
        label: FLAGGED_LABEL,
        encryption: 2,
        decision: 2,
      },
    },
    // Last, so the device's live status shows it as the current window.
    { activeWindow: { app: 'firefox', title: FLAGGED_TITLE, url: FLAGGED_URL, pid: 7 } },
  );
  // Non-compliant (no USB control), so the full termly report names it.
  hostAgent = await TestAgent.enrol(collector, FLAGGED_HOST);
  await hostAgent.connect();
  // Every feed has seen the three events.
  for (const f of Object.values(feeds))
    await until('three events on the live feed', () => (f.text().match(/event: event\n/g) ?? []).length >= 3);
}, 120_000);

afterAll(async () => {
  for (const f of Object.values(feeds)) f.close();
  await agent?.disconnect();
  await hostAgent?.disconnect();
  await collector?.cleanup();
});

const NOT_DSL = ['it', 'admin', 'admin-token'] as const;

describe('device text that matches the safeguarding library is the DSL’s only', () => {
  it.each(NOT_DSL)(
    '%s: device list, device page and timeline show neither the title, the URL nor the label',
    async (role) => {
      const call = callers[role] as Caller;
      const list = await call('/devices');
      const page = await call(`/devices/${agent.deviceId}`);
      const timeline = await call(`/devices/${agent.deviceId}/timeline`);
      for (const r of [list, page, timeline]) {
        expect(r.status).toBe(200);
        expect(JSON.stringify(r.data)).not.toMatch(LEAK);
      }
      const status = page.data.device.status;
      expect(status.currentWindow.app).toBe('firefox');
      expect(status.currentWindow.title).toBe('');
      expect(status.currentWindow.url).toBe('');
      expect(status.currentWindow.hidden).toEqual({ title: 'safeguarding', url: 'safeguarding' });
      expect(status.usbVolumes[0].label).toBe('');
      expect(status.usbVolumes[0].hidden).toEqual({ label: 'safeguarding' });
      const [flaggedWindow, usb, harmless] = timeline.data.events;
      expect(flaggedWindow.event.activeWindow).toMatchObject({ app: 'firefox', title: '', url: '' });
      expect(usb.event.usbAttached).toMatchObject({
        label: '',
        vendor: 'SanDisk',
        hidden: { label: 'safeguarding' },
      });
      // Harmless browsing: app and domain only (the default itBrowsingDetail).
      expect(harmless.event.activeWindow).toMatchObject({
        app: 'firefox',
        title: '',
        url: 'https://www.bbc.co.uk',
        hidden: { title: 'domain-only', url: 'domain-only' },
      });
    },
  );

  it.each(NOT_DSL)('%s: the /api/v1/live feed (snapshot, status, event) carries none of it', (role) => {
    const text = (feeds[role] as { text: () => string }).text();
    expect(text).toContain('event: snapshot');
    expect(text).toContain('event: status');
    expect(text).not.toMatch(LEAK);
    expect(text).not.toContain('Fractions');
    expect(text).toContain('https://www.bbc.co.uk');
  });

  it('governor: no device surface at all, and the report names none of it', async () => {
    const call = callers['governor'] as Caller;
    for (const path of [
      '/devices',
      `/devices/${agent.deviceId}`,
      `/devices/${agent.deviceId}/timeline`,
      '/live',
    ])
      expect((await call(path)).status).toBe(403);
    const report = await call('/reports/termly');
    expect(report.status).toBe(200);
    expect(JSON.stringify(report.data)).not.toMatch(LEAK);
  });

  it.each(['admin', 'admin-token'])(
    '%s: the full termly report names the device without its hostname',
    async (role) => {
      const report = await (callers[role] as Caller)('/reports/termly');
      expect(report.status).toBe(200);
      const listed = report.data.devices.list.find((d: Json) => d.deviceId === hostAgent.deviceId);
      expect(listed).toMatchObject({ hostname: '', hidden: { hostname: 'safeguarding' } });
      expect(JSON.stringify(report.data)).not.toMatch(LEAK);
    },
  );

  it('dsl: sees the full titles, URL and label everywhere', async () => {
    const call = callers['dsl'] as Caller;
    const page = await call(`/devices/${agent.deviceId}`);
    expect(page.data.device.status.currentWindow).toMatchObject({ title: FLAGGED_TITLE, url: FLAGGED_URL });
    expect(page.data.device.status.usbVolumes[0].label).toBe(FLAGGED_LABEL);
    expect(page.data.device.status.sensitive).toBeUndefined();
    const list = await call('/devices');
    expect(JSON.stringify(list.data)).toContain(FLAGGED_TITLE);
    expect(JSON.stringify(list.data)).toContain(FLAGGED_HOST);
    expect(JSON.stringify((await call('/reports/termly')).data)).toContain(FLAGGED_HOST);
    const timeline = await call(`/devices/${agent.deviceId}/timeline`);
    const titles = timeline.data.events
      .filter((e: Json) => e.kind === 'activeWindow')
      .map((e: Json) => e.event.activeWindow.title);
    expect(titles).toEqual([FLAGGED_TITLE, HARMLESS_TITLE]);
    const feed = (feeds['dsl'] as { text: () => string }).text();
    expect(feed).toContain(FLAGGED_TITLE);
    expect(feed).toContain(HARMLESS_TITLE);
    expect(feed).toContain(FLAGGED_LABEL);
  });

  it('the marks are stored with the event: still hidden after a restart', async () => {
    await collector.restart();
    const it = await callers['it']?.(`/devices/${agent.deviceId}/timeline`);
    // The staff session survives a restart (sessions are stored).
    expect(it?.status).toBe(200);
    expect(JSON.stringify(it?.data)).not.toMatch(LEAK);
    const devices = await callers['admin-token']?.('/devices');
    expect(JSON.stringify(devices?.data)).not.toMatch(LEAK);
    const dsl = await callers['dsl']?.(`/devices/${agent.deviceId}/timeline`);
    expect(JSON.stringify(dsl?.data)).toContain(FLAGGED_TITLE);
  });
});
