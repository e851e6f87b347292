// Safeguarding text is not on disk in plaintext: a real collector with a real level store
// ingests a window title that matches the library and the flagged event for it (term, context,
// window, URL) from a real `ws` agent client; every file under the data directory is then read
// byte by byte for that text. Records written before sealing (plain) are sealed at the next start.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { v1 } from '@custodian/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/app.ts';
import { defaultConfig } from '../../src/config.ts';
import { buildRecord } from '../../src/ingest/events.ts';
import { createLogger } from '../../src/log.ts';
import { type Incident, IncidentService } from '../../src/safeguarding/incidents.ts';
import { openLevelStore } from '../../src/store/index.ts';
import { K, toJsonBytes } from '../../src/store/keys.ts';
import { alertIdFor, userHash } from '../../src/store/records.ts';
import type { Alert } from '../../src/store/types.ts';
import { heartbeat, windowEvent } from '../helpers/agent-client.ts';
import { filesContaining } from '../helpers/grep-dir.ts';
import { connectedDevice, startHarness } from '../helpers/harness.ts';
import { passwordOnly } from '../helpers/password-only.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const TITLE = 'how to kill myself painlessly';
const TERM = 'kill myself';
const CONTEXT = 'I want to kill myself tonight';
const URL = 'https://search.example.test/?q=hurt-quietly-zq7';

describe('safeguarding text at rest', () => {
  it('a flagged title, its alert, the live status and an incident leave no plaintext in the data dir', async () => {
    const h = await startHarness();
    try {
      const { dev, client, stream } = await connectedDevice(h);
      const ack = await client.batch(stream, [
        heartbeat(1),
        windowEvent(2, TITLE),
        {
          seq: 3,
          timeMs: Date.now(),
          flaggedActivity: {
            category: 'self-harm',
            severity: 5,
            matchedTerm: TERM,
            context: CONTEXT,
            window: { app: 'firefox', title: TITLE, url: URL, pid: 1 },
            screenshotBlobIds: [],
            source: 'title',
          },
        },
      ]);
      expect(Number(ack.seq)).toBe(3);
      client.close();
      // What is held reads back whole through the store's views...
      const alert = await h.app.store.alerts.get(alertIdFor(dev.deviceId, stream, 3));
      expect(alert).toMatchObject({ term: TERM, context: CONTEXT, windowTitle: TITLE, windowUrl: URL });
      const window = await h.app.store.timeline.get(dev.deviceId, stream, 2);
      expect(v1.Event.decode(window?.event as Uint8Array).activeWindow?.title).toBe(TITLE);
      expect(window?.sensitive).toEqual(['activeWindow.title']);
      expect((await h.app.store.status.get(dev.deviceId))?.currentWindow?.title).toBe(TITLE);
      // Escalated: the incident's default title is "category: term" (the escalate route's write path).
      const incidents = new IncidentService(h.app.store.kv<Incident>('incidents'));
      const incident = await incidents.create({ title: `self-harm: ${TERM}`, description: CONTEXT }, 'dsl', [
        alertIdFor(dev.deviceId, stream, 3),
      ]);
      expect((await incidents.get(incident.id))?.title).toBe(`self-harm: ${TERM}`);
      // ...and nothing of it is on disk in plaintext (the level log holds every write as made).
      const data = join(h.dir, 'data');
      for (const text of [TERM, CONTEXT, TITLE, URL, 'painlessly', 'hurt-quietly-zq7'])
        expect(filesContaining(data, text), text).toEqual([]);
      // The same grep does find what is stored plain (the device's hostname): it can fail.
      expect(filesContaining(data, 'host-1').length).toBeGreaterThan(0);
    } finally {
      await h.close();
    }
  });

  it('records written plain before sealing are sealed at the next start, and still read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'custodian-at-rest-'));
    dirs.push(dir);
    const dataDir = join(dir, 'data');
    const key = randomBytes(32);
    const deviceId = 'dev_legacy01';
    const streamId = 'stream-legacy';
    // A store as an older collector wrote it: alert, flagged event and status all plain JSON.
    const old = await openLevelStore(dataDir, key);
    const event = v1.Event.fromObject({
      seq: 1,
      timeMs: 1_700_000_000_000,
      flaggedActivity: {
        category: 'self-harm',
        severity: 4,
        matchedTerm: TERM,
        context: CONTEXT,
        window: { app: 'firefox', title: TITLE, url: URL, pid: 1 },
        screenshotBlobIds: [],
        source: 'title',
      },
    });
    const built = buildRecord(deviceId, streamId, event, 1_700_000_000_000);
    const beat = buildRecord(
      deviceId,
      streamId,
      v1.Event.fromObject({ seq: 2, timeMs: 1_700_000_001_000, heartbeat: { loggedInUser: 'Legacy.User' } }),
      1_700_000_001_000,
    ).record;
    const beatKey = K.timeline(deviceId, beat.time, streamId, beat.seq);
    const alert = built.alert as Alert;
    const rec = built.record;
    const tlKey = K.timeline(deviceId, rec.time, streamId, rec.seq);
    // A note only this alert holds, and a hostname only the device record holds (plain by design).
    const secret = randomBytes(20).toString('hex');
    const hostname = `legacy-host-${randomBytes(20).toString('hex')}`;
    alert.notes = [{ at: 1, author: 'dsl', text: `note ${secret}` }];
    await old.devices.put({
      id: deviceId,
      kind: 'school',
      machineId: 'm-legacy',
      hostname,
      os: 'linux',
      serial: 'S1',
      keyHash: '0'.repeat(64),
      enrolledAt: 1,
    });
    await old.engine.batch(
      [
        { type: 'put', key: K.alert(alert.id), value: toJsonBytes(alert) },
        { type: 'put', key: K.alertTime(alert.createdAt, alert.id), value: new Uint8Array() },
        {
          type: 'put',
          key: tlKey,
          value: toJsonBytes({ ...rec, event: Buffer.from(rec.event).toString('base64') }),
        },
        { type: 'put', key: K.eventRef(deviceId, streamId, rec.seq), value: toJsonBytes(tlKey) },
        {
          type: 'put',
          key: beatKey,
          value: toJsonBytes({ ...beat, event: Buffer.from(beat.event).toString('base64') }),
        },
        {
          type: 'put',
          key: K.kv('incidents', 'in_legacy'),
          value: toJsonBytes({ id: 'in_legacy', title: `self-harm: ${TERM}`, description: CONTEXT }),
        },
        {
          type: 'put',
          key: K.status(deviceId),
          value: toJsonBytes({
            deviceId,
            connected: false,
            usbVolumes: [],
            currentWindow: { app: 'firefox', title: TITLE, url: URL, at: 1 },
          }),
        },
      ],
      { sync: true },
    );
    await old.close();
    expect(filesContaining(dataDir, CONTEXT).length).toBeGreaterThan(0);
    expect(filesContaining(dataDir, secret).length).toBeGreaterThan(0);

    const config = {
      ...passwordOnly(defaultConfig(dataDir)),
      port: 0,
      screenshotKeyFile: join(dir, 'unused.key'),
    };
    const app = await createApp({
      config,
      env: {
        CUSTODIAN_SCREENSHOT_KEY: key.toString('base64'),
        CUSTODIAN_ADMIN_TOKEN: randomBytes(32).toString('base64url'),
        CUSTODIAN_ENROL_SECRET: randomBytes(32).toString('base64url'),
      },
      log: createLogger('silent'),
    });
    try {
      expect(await app.store.alerts.get(alert.id)).toMatchObject({ term: TERM, context: CONTEXT });
      const back = await app.store.timeline.get(deviceId, streamId, 1);
      expect(v1.Event.decode(back?.event as Uint8Array).flaggedActivity?.matchedTerm).toBe(TERM);
      expect((await app.store.status.get(deviceId))?.currentWindow?.url).toBe(URL);
      expect(await app.store.kv('incidents').get('in_legacy')).toMatchObject({ title: `self-harm: ${TERM}` });
      // The same start pass indexed who was signed in where (subject access reads only those devices).
      expect(await app.store.engine.get(K.userSeen(userHash('legacy.user'), deviceId))).toBeDefined();
      // Every value the store holds now: none carries the text (the device's hostname, plain by
      // design, does: the scan can fail).
      const values: string[] = [];
      for await (const [, v] of app.store.engine.entries({})) values.push(Buffer.from(v).toString('latin1'));
      for (const text of [TERM, CONTEXT, TITLE, URL, secret])
        expect(
          values.filter((v) => v.includes(text)),
          text,
        ).toEqual([]);
      expect(values.filter((v) => v.includes(hostname))).toHaveLength(1);
      // And the files: the plain values were compacted away. (Level tables are snappy-compressed,
      // so this grep is weaker after a compaction than on the write-ahead log of the first test.)
      for (const text of [TERM, CONTEXT, TITLE, URL, secret])
        expect(filesContaining(dataDir, text), text).toEqual([]);
    } finally {
      await app.stop();
    }
  });
});
