// One suite for the Store interface, run against every implementation (STYLE.md §3):
// store.memory.test.ts and store.level.test.ts each call it with their factory.
import { defaultPolicy } from '@custodian/policy';
import { v1 } from '@custodian/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { K } from '../../src/store/keys.ts';
import { alertIdFor, alertOps, streamFloorOp, timelineOps } from '../../src/store/records.ts';
import { replacementOps } from '../../src/store/store.ts';
import type { Alert, Device, ReplacementRequest, Store, TimelineRecord } from '../../src/store/types.ts';

export interface StoreFactory {
  open(): Promise<Store>;
  /** Close and remove what open() created. */
  dispose(store: Store): Promise<void>;
}

function device(id: string, machineId = `m-${id}`): Device {
  return {
    id,
    kind: 'school',
    machineId,
    hostname: `h-${id}`,
    os: 'linux',
    serial: 'S',
    keyHash: 'ab'.repeat(32),
    enrolledAt: 1,
  };
}

function record(
  deviceId: string,
  streamId: string,
  seq: number,
  time: number,
  kind = 'heartbeat',
): TimelineRecord {
  const event =
    kind === 'heartbeat'
      ? { seq, timeMs: time, heartbeat: { uptimeSeconds: seq } }
      : { seq, timeMs: time, activeWindow: { title: `t${seq}` } };
  return {
    deviceId,
    streamId,
    seq,
    time,
    agentTimeMs: time,
    receivedAt: time,
    kind,
    event: v1.Event.encode(event).finish(),
  };
}

function alert(deviceId: string, seq: number, createdAt: number, extra: Partial<Alert> = {}): Alert {
  return {
    id: alertIdFor(deviceId, 's1', seq),
    deviceId,
    event: { streamId: 's1', seq },
    category: 'bullying',
    severity: 3,
    term: 't',
    context: 'c',
    windowTitle: 'w',
    windowUrl: '',
    windowApp: 'a',
    source: 'title',
    educationalContext: false,
    repeatCount: 0,
    screenshotBlobIds: [],
    screenshotUnavailableReason: '',
    status: 'new',
    notes: [],
    history: [],
    occurredAt: createdAt,
    createdAt,
    updatedAt: createdAt,
    ...extra,
  };
}

export function storeSuite(name: string, factory: StoreFactory): void {
  describe(`Store (${name})`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await factory.open();
    });
    afterEach(async () => {
      await factory.dispose(store);
    });

    it('devices: put, get, list, by machine id, update', async () => {
      await store.devices.put(device('d1'));
      await store.devices.put(device('d2'));
      expect((await store.devices.get('d1'))?.hostname).toBe('h-d1');
      expect((await store.devices.list()).map((d) => d.id)).toEqual(['d1', 'd2']);
      expect((await store.devices.byMachineId('m-d2'))?.id).toBe('d2');
      const updated = await store.devices.update('d1', (d) => ({
        ...d,
        revokedAt: 5,
        revokedReason: 'lost',
      }));
      expect(updated.revokedAt).toBe(5);
      expect((await store.devices.get('d1'))?.revokedReason).toBe('lost');
      await expect(store.devices.update('nope', (d) => d)).rejects.toMatchObject({
        code: 'CUST_ERR_NOT_FOUND',
      });
      await expect(store.devices.get('../etc')).rejects.toMatchObject({ code: 'CUST_ERR_INVALID_INPUT' });
    });

    it('timeline: newest first, cursor paging, kinds and time range, has/get', async () => {
      const ops = [];
      for (let i = 1; i <= 30; i++)
        ops.push(
          ...timelineOps(
            store.cipher,
            record('d1', 's1', i, 1_000 + i, i % 3 === 0 ? 'activeWindow' : 'heartbeat'),
          ),
        );
      ops.push(...timelineOps(store.cipher, record('d10', 's1', 1, 5_000)));
      await store.engine.batch(ops, { sync: true });
      const seqs: number[] = [];
      let cursor: string | undefined;
      for (;;) {
        const page = await store.timeline.query({ deviceId: 'd1', limit: 7, ...(cursor ? { cursor } : {}) });
        seqs.push(...page.records.map((r) => r.seq));
        if (!page.nextCursor) break;
        cursor = page.nextCursor;
      }
      expect(seqs).toEqual(Array.from({ length: 30 }, (_, i) => 30 - i));
      const windows = await store.timeline.query({ deviceId: 'd1', limit: 100, kinds: ['activeWindow'] });
      expect(windows.records.map((r) => r.seq)).toEqual([30, 27, 24, 21, 18, 15, 12, 9, 6, 3]);
      const range = await store.timeline.query({ deviceId: 'd1', limit: 100, from: 1_010, to: 1_013 });
      expect(range.records.map((r) => r.seq)).toEqual([12, 11, 10]);
      expect(await store.timeline.has('d1', 's1', 30)).toBe(true);
      expect(await store.timeline.has('d1', 's1', 31)).toBe(false);
      const got = await store.timeline.get('d1', 's1', 3);
      expect(v1.Event.decode(got!.event).activeWindow?.title).toBe('t3');
      await expect(
        store.timeline.query({ deviceId: 'd1', limit: 5, cursor: 'bm90LWEta2V5' }),
      ).rejects.toMatchObject({ code: 'CUST_ERR_INVALID_INPUT' });
    });

    it('timeline: the purge high-water mark outlives the events it covers', async () => {
      const ops = [];
      for (let i = 1; i <= 5; i++) ops.push(...timelineOps(store.cipher, record('d1', 's1', i, 1_000 + i)));
      await store.engine.batch(ops, { sync: true });
      expect(await store.timeline.purgedThrough('d1', 's1')).toBe(0);
      expect(await store.timeline.heldBefore('d1', 's1', 3)).toBe(true);
      expect(await store.timeline.heldBefore('d1', 's1', 6)).toBe(false);
      // Retention deletes seq 1..3 (record + dedup pointer) and raises the mark in the same batch.
      const purge = [streamFloorOp('d1', 's1', 3)];
      for (let i = 1; i <= 3; i++) {
        const [rec, ref] = timelineOps(store.cipher, record('d1', 's1', i, 1_000 + i));
        purge.push({ type: 'del', key: rec!.key }, { type: 'del', key: ref!.key });
      }
      await store.engine.batch(purge, { sync: true });
      expect(await store.timeline.has('d1', 's1', 2)).toBe(false);
      expect(await store.timeline.purgedThrough('d1', 's1')).toBe(3);
      for (const seq of [1, 2, 3, 4, 5]) expect(await store.timeline.heldBefore('d1', 's1', seq)).toBe(true);
      expect(await store.timeline.heldBefore('d1', 's1', 6)).toBe(false);
      // Per stream and per device.
      expect(await store.timeline.purgedThrough('d1', 's2')).toBe(0);
      expect(await store.timeline.heldBefore('d2', 's1', 1)).toBe(false);
    });

    it('blobs: encrypted at rest, read back exactly, deleted', async () => {
      const data = new Uint8Array(Buffer.concat([Buffer.from('SECRET-PIXELS'), Buffer.alloc(600_000, 7)]));
      const meta = await store.blobs.put('d1', 'b1', 'image/png', data);
      expect(meta.chunks).toBe(3);
      const raw = await store.engine.get(K.blobChunk('d1', 'b1', 0));
      expect(Buffer.from(raw!).includes(Buffer.from('SECRET-PIXELS'))).toBe(false);
      const read = await store.blobs.read('d1', 'b1');
      expect(Buffer.from(read!.data).equals(Buffer.from(data))).toBe(true);
      expect(await store.blobs.read('d2', 'b1')).toBeUndefined();
      // Chunk by chunk (streaming export): the same bytes, one chunk at a time.
      const streamed = await store.blobs.readChunks('d1', 'b1');
      const parts: Uint8Array[] = [];
      for await (const c of streamed!.chunks) parts.push(c);
      expect(parts).toHaveLength(3);
      expect(Buffer.concat(parts).equals(Buffer.from(data))).toBe(true);
      expect(streamed!.meta.sha256).toBe(meta.sha256);
      expect(await store.blobs.readChunks('d2', 'b1')).toBeUndefined();
      expect(await store.blobs.delete('d1', 'b1')).toBe(true);
      expect(await store.blobs.meta('d1', 'b1')).toBeUndefined();
      expect(await store.engine.get(K.blobChunk('d1', 'b1', 1))).toBeUndefined();
    });

    it('blobs: a chunk moved to another blob fails authentication', async () => {
      await store.blobs.put('d1', 'b1', 'image/png', new Uint8Array(10).fill(1));
      await store.blobs.put('d1', 'b2', 'image/png', new Uint8Array(10).fill(2));
      const stolen = await store.engine.get(K.blobChunk('d1', 'b1', 0));
      await store.engine.batch([{ type: 'put', key: K.blobChunk('d1', 'b2', 0), value: stolen! }], {
        sync: true,
      });
      await expect(store.blobs.read('d1', 'b2')).rejects.toMatchObject({ code: 'CUST_ERR_STORAGE' });
    });

    it('alerts: list newest first with filters, update keeps history', async () => {
      await store.engine.batch(
        [
          ...alertOps(store.cipher, alert('d1', 1, 100)),
          ...alertOps(store.cipher, alert('d2', 2, 200, { severity: 5, category: 'grooming' })),
          ...alertOps(store.cipher, alert('d1', 3, 300)),
        ],
        { sync: true },
      );
      expect((await store.alerts.list()).map((a) => a.createdAt)).toEqual([300, 200, 100]);
      expect((await store.alerts.list({ deviceId: 'd1' })).length).toBe(2);
      expect((await store.alerts.list({ minSeverity: 5 })).map((a) => a.deviceId)).toEqual(['d2']);
      expect((await store.alerts.list({ since: 150, until: 300 })).map((a) => a.createdAt)).toEqual([200]);
      const id = alertIdFor('d1', 's1', 1);
      const graded = await store.alerts.update(id, (a) => ({
        ...a,
        status: 'graded',
        grade: 2,
        history: [...a.history, { at: 1, actor: 'dsl1', action: 'grade' }],
      }));
      expect(graded.status).toBe('graded');
      expect((await store.alerts.list({ status: ['graded'] })).map((a) => a.id)).toEqual([id]);
      expect((await store.alerts.list()).length).toBe(3);
    });

    it('alerts: update with an audit record writes both in one batch', async () => {
      await store.engine.batch(alertOps(store.cipher, alert('d1', 1, 100)), { sync: true });
      const id = alertIdFor('d1', 's1', 1);
      const batches: number[] = [];
      const batch = store.engine.batch.bind(store.engine);
      store.engine.batch = async (ops, o) => {
        batches.push(ops.length);
        return batch(ops, o);
      };
      const graded = await store.alerts.update(id, (a) => ({ ...a, status: 'graded', grade: 3 }), {
        actor: 'dsl1',
        action: 'alert.graded',
        target: `alert:${id}`,
        details: { grade: 3 },
      });
      expect(graded.grade).toBe(3);
      expect(batches).toEqual([2]); // the alert and its audit record
      const records = (await store.audit.list({ target: `alert:${id}` })).records;
      expect(records.map((r) => [r.actor, r.action])).toEqual([['dsl1', 'alert.graded']]);
    });

    it('audit: append-only, newest first, filters and paging', async () => {
      for (let i = 0; i < 5; i++)
        await store.audit.append({
          actor: i % 2 ? 'dsl1' : 'admin',
          action: 'screenshot.view',
          target: `alert:a${i}`,
          at: 1000 + i,
        });
      const all = await store.audit.list();
      expect(all.records.map((r) => r.target)).toEqual([
        'alert:a4',
        'alert:a3',
        'alert:a2',
        'alert:a1',
        'alert:a0',
      ]);
      expect((await store.audit.list({ actor: 'dsl1' })).records.length).toBe(2);
      const first = await store.audit.list({ limit: 2 });
      const second = await store.audit.list({ limit: 2, cursor: first.nextCursor! });
      expect(second.records.map((r) => r.target)).toEqual(['alert:a2', 'alert:a1']);
      expect('delete' in store.audit).toBe(false);
    });

    it('policy: versions rise on every change, overrides, change log', async () => {
      const p1 = await store.policy.setDefault(defaultPolicy(), { actor: 'system', reason: 'init' });
      const v2 = await store.policy.setOverride(
        'd1',
        { idleLock: { idleLockSeconds: 60 } },
        { actor: 'it1', reason: 'exam' },
      );
      const p3 = await store.policy.setDefault(
        { ...p1, heartbeatSeconds: 30 },
        { actor: 'it1', reason: 'faster' },
      );
      const v4 = await store.policy.setOverride('d1', null, { actor: 'it1', reason: 'done' });
      expect([p1.version, v2, p3.version, v4]).toEqual([1, 2, 3, 4]);
      expect(await store.policy.getOverride('d1')).toEqual({ patch: {}, version: 4 });
      const log = await store.policy.changes();
      expect(log.records.map((c) => [c.scope, c.reason])).toEqual([
        ['d1', 'done'],
        ['default', 'faster'],
        ['d1', 'exam'],
        ['default', 'init'],
      ]);
      expect(log.records[0]).toMatchObject({ old: { idleLock: { idleLockSeconds: 60 } }, new: null });
      expect((await store.policy.changes({ scope: 'default' })).records.length).toBe(2);
    });

    it('policy layers (tenancy): school and group layers, device moves, one version counter', async () => {
      const p1 = await store.policy.setDefault(defaultPolicy(), { actor: 'system', reason: 'init' });
      await store.devices.put(device('d1'));
      const v2 = await store.policy.setLayer(
        { kind: 'school', id: 'north' },
        { idleLock: { idleLockSeconds: 600 } },
        { actor: 'admin1', reason: 'north locks sooner' },
        { actor: 'admin1', action: 'policy.change', target: 'policy:school:north' },
      );
      const v3 = await store.policy.setLayer(
        { kind: 'group', id: 'y7' },
        { heartbeatSeconds: 30 },
        { actor: 'admin1', reason: 'year 7' },
      );
      const moved = await store.policy.moveDevice(
        'd1',
        'y7',
        { actor: 'admin1', reason: 'new pupil' },
        { actor: 'admin1', action: 'device.group', target: 'device:d1' },
      );
      const v5 = await store.policy.setLayer({ kind: 'school', id: 'north' }, null, {
        actor: 'admin1',
        reason: 'back to the trust default',
      });
      expect([p1.version, v2, v3, moved.version, v5]).toEqual([1, 2, 3, 4, 5]);
      expect(moved.device.groupId).toBe('y7');
      expect((await store.devices.get('d1'))?.groupId).toBe('y7');
      expect(await store.policy.moveVersion('d1')).toBe(4);
      expect(await store.policy.moveVersion('d2')).toBe(0);
      // A removed layer keeps an empty patch with the version of its removal.
      expect(await store.policy.getLayer({ kind: 'school', id: 'north' })).toEqual({ patch: {}, version: 5 });
      expect(await store.policy.listLayers('group')).toEqual([
        { id: 'y7', patch: { heartbeatSeconds: 30 }, version: 3 },
      ]);
      const log = await store.policy.changes();
      expect(log.records.map((c) => [c.scope, c.version])).toEqual([
        ['school:north', 5],
        ['d1', 4],
        ['group:y7', 3],
        ['school:north', 2],
        ['default', 1],
      ]);
      expect(log.records[0]).toMatchObject({ old: { idleLock: { idleLockSeconds: 600 } }, new: null });
      expect(log.records[1]).toMatchObject({ move: { from: null, to: 'y7' }, reason: 'new pupil' });
      // The audit records went in the same batches, with the version.
      const audit = await store.audit.list();
      expect(audit.records.map((r) => [r.target, r.details?.['version']]).sort()).toEqual([
        ['device:d1', 4],
        ['policy:school:north', 2],
      ]);
      await expect(
        store.policy.moveDevice('nope', 'y7', { actor: 'admin1', reason: 'x' }),
      ).rejects.toMatchObject({ code: 'CUST_ERR_NOT_FOUND' });
      await store.policy.deleteLayer({ kind: 'group', id: 'y7' });
      expect(await store.policy.listLayers('group')).toEqual([]);
    });

    it('kv namespaces: isolated, ordered, update under lock', async () => {
      const users = store.kv<{ name: string }>('users');
      const sessions = store.kv<number>('sessions');
      await users.put('u2', { name: 'b' });
      await users.put('u1', { name: 'a' });
      await users.put('x1', { name: 'x' });
      await sessions.put('u1', 5);
      expect((await users.list()).map((r) => r.key)).toEqual(['u1', 'u2', 'x1']);
      expect((await users.list({ prefix: 'u' })).map((r) => r.value.name)).toEqual(['a', 'b']);
      expect(await sessions.get('u1')).toBe(5);
      await Promise.all(Array.from({ length: 20 }, () => sessions.update('u1', (n) => (n ?? 0) + 1)));
      expect(await sessions.get('u1')).toBe(25);
      await users.update('u1', () => undefined);
      expect(await users.get('u1')).toBeUndefined();
      await expect(users.put('../x', { name: 'bad' })).rejects.toMatchObject({
        code: 'CUST_ERR_INVALID_INPUT',
      });
    });

    it('kv: update with an audit record writes both in one batch; a refused change writes neither', async () => {
      const items = store.kv<{ state: string }>('items');
      await items.put('i1', { state: 'open' });
      const batches: number[] = [];
      const batch = store.engine.batch.bind(store.engine);
      store.engine.batch = async (ops, o) => {
        batches.push(ops.length);
        return batch(ops, o);
      };
      const audit = { actor: 'it1', action: 'item.resolve', target: 'item:i1' };
      expect(await items.update('i1', () => ({ state: 'resolved' }), audit)).toEqual({ state: 'resolved' });
      expect(batches).toEqual([2]); // the item and its audit record
      await expect(
        items.update(
          'i1',
          () => {
            throw new Error('already resolved');
          },
          audit,
        ),
      ).rejects.toThrow('already resolved');
      expect(batches).toEqual([2]);
      expect((await store.audit.list({ target: 'item:i1' })).records.map((r) => r.actor)).toEqual(['it1']);
    });

    it('enrol codes and secrets are stored as given (hashes only)', async () => {
      await store.enrol.setSecretHash('aa'.repeat(32));
      expect(await store.enrol.getSecretHash()).toBe('aa'.repeat(32));
      await store.enrol.putCode({
        codeHash: 'cc'.repeat(32),
        hint: 'ABCD',
        createdAt: 1,
        createdBy: 'admin',
        expiresAt: 2,
        note: '',
      });
      expect((await store.enrol.getCode('cc'.repeat(32)))?.hint).toBe('ABCD');
      expect((await store.enrol.listCodes()).length).toBe(1);
    });

    it('replacement requests: by id, oldest first, filtered by state, updated in place', async () => {
      const req = (id: string, requestedAt: number): ReplacementRequest => ({
        id,
        state: 'pending',
        kind: 'byod',
        facts: { machineId: 'm-1', hostname: 'h', os: 'linux', serial: '' },
        credential: 'ABCD',
        replaces: 'd_old',
        replacesHostname: 'lab-1',
        reasons: ['d_old was seen 1 minute ago'],
        newDeviceId: `d_${id}`,
        keyHash: 'ee'.repeat(32),
        requestedAt,
        ip: '127.0.0.1',
      });
      await store.engine.batch([...replacementOps(req('r_b', 20)), ...replacementOps(req('r_a', 10))], {
        sync: true,
      });
      expect((await store.enrol.listReplacements()).map((r) => r.id)).toEqual(['r_a', 'r_b']);
      await store.engine.batch(
        replacementOps({ ...req('r_b', 20), state: 'denied', decidedBy: 'it1', decidedAt: 30 }),
        { sync: true },
      );
      expect(await store.enrol.getReplacement('r_b')).toMatchObject({ state: 'denied', decidedBy: 'it1' });
      expect((await store.enrol.listReplacements({ state: 'pending' })).map((r) => r.id)).toEqual(['r_a']);
      expect((await store.enrol.listReplacements()).length).toBe(2);
      expect(await store.enrol.getReplacement('r_missing')).toBeUndefined();
      await expect(store.enrol.getReplacement('../x')).rejects.toMatchObject({
        code: 'CUST_ERR_INVALID_INPUT',
      });
    });
  });
}
