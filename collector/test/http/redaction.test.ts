// Device text against the library over time: a custom term added after the text arrived hides it
// from IT from then on (timeline and live status), while the stored mark keeps hiding what
// matched on arrival. In-process collector, real `ws` client, plain HTTP with the admin token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { windowEvent } from '../helpers/agent-client.ts';
import { connectedDevice, type Harness, startHarness } from '../helpers/harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    config: (c) => {
      c.itBrowsingDetail = 'full-title';
    },
  });
});
afterAll(async () => {
  await h?.close();
});

describe('redaction follows the library', () => {
  it('a custom term added later hides text that arrived before it', async () => {
    const { dev, client, stream } = await connectedDevice(h);
    await client.batch(stream, [windowEvent(1, 'zorblax club notes'), windowEvent(2, 'how to kill myself')]);
    const titles = async () =>
      (await h.api('GET', `/api/v1/devices/${dev.deviceId}/timeline`)).json.events.map(
        (e: { event: { activeWindow: { title: string } } }) => e.event.activeWindow.title,
      );
    expect(await titles()).toEqual(['', 'zorblax club notes']);
    const stored = await h.app.store.timeline.get(dev.deviceId, stream, 2);
    expect(stored?.sensitive).toEqual(['activeWindow.title']);
    expect((await h.app.store.timeline.get(dev.deviceId, stream, 1))?.sensitive).toEqual([]);

    const put = await h.api('PUT', '/api/v1/policy', {
      policy: { capture: { customTerms: [{ term: 'zorblax', category: 'custom', severity: 1 }] } },
      reason: 'school term for a known concern',
    });
    expect(put.status).toBe(200);
    await expect.poll(titles).toEqual(['', '']);
    // The live status follows at its next change.
    await client.batch(stream, [windowEvent(3, 'zorblax again')]);
    const device = (await h.api('GET', `/api/v1/devices/${dev.deviceId}`)).json.device;
    expect(device.status.currentWindow).toMatchObject({ title: '', hidden: { title: 'safeguarding' } });
    client.close();
  });
});
