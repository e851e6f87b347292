// Replays of old (stream, seq) after retention deleted the event: the stream's purge high-water
// mark outlives the event, so the replay is a duplicate (acked, not stored), and an alert is
// never written over. The collector's clock is moved (in process) so the event is really old.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flagged, heartbeat } from '../helpers/agent-client.ts';
import { connectedDevice, type Harness, startHarness } from '../helpers/harness.ts';

const DAY = 86_400_000;
let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    config: (c) => {
      c.retention.timelineDays = 90;
    },
  });
});
afterAll(async () => {
  await h?.close();
});

describe('replay after retention', () => {
  it('a purged (stream, seq) replayed is a duplicate: not stored again, the graded alert unchanged', async () => {
    const now = Date.now();
    const { dev, client, stream } = await connectedDevice(h);
    h.clock.now = now - 100 * DAY;
    try {
      const ack = await client.batch(stream, [
        flagged(1, 'kms', [], now - 100 * DAY),
        heartbeat(2, now - 100 * DAY),
      ]);
      expect(ack.seq).toBe(2);
    } finally {
      h.clock.now = undefined;
    }
    const [alert] = await h.app.store.alerts.list({ deviceId: dev.deviceId });
    if (!alert) throw new Error('no alert opened');
    // The DSL's decision.
    const graded = await h.app.store.alerts.update(alert.id, (a) => ({
      ...a,
      status: 'escalated',
      grade: 5,
      incidentId: 'inc_1',
      notes: [{ at: now, author: 'dsl1', text: 'spoke to pupil' }],
    }));

    const run = await h.app.retention.run();
    expect(run.perDevice[dev.deviceId]).toBe(2);
    expect(await h.app.store.timeline.has(dev.deviceId, stream, 1)).toBe(false);
    expect(await h.app.store.timeline.purgedThrough(dev.deviceId, stream)).toBe(2);

    const replay = await client.batch(stream, [flagged(1, 'nothing', ['a', 'b']), heartbeat(3)]);
    expect(replay).toMatchObject({ seq: 3, duplicates: 1 });
    expect(await h.app.store.alerts.get(alert.id)).toEqual(graded);
    expect(await h.app.store.timeline.has(dev.deviceId, stream, 1)).toBe(false);
    expect(await h.app.store.timeline.has(dev.deviceId, stream, 3)).toBe(true);
    const state = await h.app.store.timeline.getStream(dev.deviceId, stream);
    expect(state?.duplicates).toBe(1);
    client.close();
  });

  it('an alert is never written over, even when its event is gone and no mark covers it', async () => {
    const { dev, client, stream } = await connectedDevice(h);
    await client.batch(stream, [flagged(5, 'kms')]);
    const [alert] = await h.app.store.alerts.list({ deviceId: dev.deviceId });
    if (!alert) throw new Error('no alert opened');
    const graded = await h.app.store.alerts.update(alert.id, (a) => ({ ...a, status: 'graded', grade: 2 }));
    // The event and its dedup pointer vanish (as after a lost write or a hand-edited store).
    const rec = await h.app.store.timeline.get(dev.deviceId, stream, 5);
    const { K } = await import('../../src/store/keys.ts');
    await h.app.store.engine.batch(
      [
        { type: 'del', key: K.timeline(dev.deviceId, rec?.time ?? 0, stream, 5) },
        { type: 'del', key: K.eventRef(dev.deviceId, stream, 5) },
      ],
      { sync: true },
    );
    const replay = await client.batch(stream, [flagged(5, 'other')]);
    expect(replay.duplicates).toBe(1);
    expect(await h.app.store.alerts.get(alert.id)).toEqual(graded);
    client.close();
  });
});
