// Puts devices, timelines, screenshots and alerts into a real store the way ingest does: the
// same record builder (ingest/events.ts) and the same atomic ops (store/records.ts), so the
// safeguarding API is tested on exactly what ingest writes.
import { randomUUID } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';
import { type IEvent, v1 } from '@custodian/protocol';
import { buildRecord } from '../../src/ingest/events.ts';
import { alertOps, timelineOps } from '../../src/store/records.ts';
import type { Alert, Device, KvOp, Store } from '../../src/store/types.ts';

/** A real PNG (8-bit RGB, one colour) so tests can decode what the endpoint serves. */
export function makePng(width: number, height: number, rgb: [number, number, number]): Uint8Array {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td) >>> 0);
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(width * 3, Buffer.from(rgb))]);
  const raw = Buffer.concat(Array.from({ length: height }, () => row));
  return new Uint8Array(
    Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', ihdr),
      chunk('IDAT', deflateSync(raw)),
      chunk('IEND', Buffer.alloc(0)),
    ]),
  );
}

export async function seedDevice(store: Store, over: Partial<Device> = {}): Promise<Device> {
  const id = over.id ?? `dev_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  const device: Device = {
    id,
    kind: 'school',
    machineId: randomUUID(),
    hostname: `LAPTOP-${id.slice(-4).toUpperCase()}`,
    os: 'linux',
    serial: `SN${id.slice(-6)}`,
    keyHash: '0'.repeat(64),
    enrolledAt: Date.now() - 86_400_000,
    ...over,
  };
  await store.devices.put(device);
  return device;
}

export interface SeedAlertOptions {
  /** FlaggedActivity.source; default 'title'. */
  source?: string;
  device: Device;
  streamId?: string;
  seq?: number;
  time?: number;
  title?: string;
  url?: string;
  app?: string;
  term?: string;
  category?: string;
  severity?: number;
  context?: string;
  user?: string;
  /** Screenshot PNG bytes to store (encrypted) and reference; none when omitted. */
  screenshot?: Uint8Array;
  unavailableReason?: string;
}

/** Writes heartbeat → window → flagged event → a later window event, and the alert, like ingest. */
export async function seedAlert(store: Store, o: SeedAlertOptions): Promise<Alert> {
  const streamId = o.streamId ?? randomUUID();
  const seq = o.seq ?? 1;
  const t = o.time ?? Date.now() - 60_000;
  const title = o.title ?? 'how to kms - Google Search';
  const window = {
    app: o.app ?? 'firefox',
    title,
    url: o.url ?? 'https://www.google.com/search?q=how+to+kms',
    pid: 4242,
  };
  let blobId: string | undefined;
  if (o.screenshot) {
    blobId = randomUUID();
    await store.blobs.put(o.device.id, blobId, 'image/png', o.screenshot);
  }
  const events: IEvent[] = [
    { seq, timeMs: t - 30_000, heartbeat: { loggedInUser: o.user ?? 'pupil.one', uptimeSeconds: 100 } },
    { seq: seq + 1, timeMs: t - 1_000, activeWindow: window },
    {
      seq: seq + 2,
      timeMs: t,
      flaggedActivity: {
        category: o.category ?? 'suicide',
        severity: o.severity ?? 5,
        matchedTerm: o.term ?? 'kms',
        context: o.context ?? title,
        window,
        screenshotBlobIds: blobId ? [blobId] : [],
        screenshotUnavailableReason: o.unavailableReason ?? '',
        source: o.source ?? 'title',
      },
    },
    {
      seq: seq + 3,
      timeMs: t + 20_000,
      activeWindow: { app: 'code', title: 'homework.txt', url: '', pid: 1 },
    },
  ];
  const ops: KvOp[] = [];
  let alert: Alert | undefined;
  for (const e of events) {
    // Like ingest: the alert records its device's school (tenancy).
    const built = buildRecord(o.device.id, streamId, v1.Event.fromObject(e), t + 40_000, {
      ...(o.device.schoolId !== undefined ? { schoolId: o.device.schoolId } : {}),
    });
    ops.push(...timelineOps(store.cipher, built.record));
    if (built.alert) {
      alert = built.alert;
      ops.push(...alertOps(store.cipher, built.alert));
    }
  }
  await store.engine.batch(ops, { sync: true });
  if (!alert) throw new Error('no alert built');
  return alert;
}
