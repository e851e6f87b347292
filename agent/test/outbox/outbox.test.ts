import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeEvent, eventKind, type IEvent, MAX_FRAME_BYTES, MAX_STRING_CHARS } from '@custodian/protocol';
import { Level } from 'level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/config/logger.ts';
import { MAX_EVENT_BYTES } from '../../src/outbox/event-size.ts';
import { Outbox } from '../../src/outbox/outbox.ts';

let dir: string;
const open: Outbox[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outbox-'));
});
afterEach(async () => {
  for (const o of open.splice(0)) await o.close().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

async function openOutbox(opts: { maxEvents?: number; minFreeDiskBytes?: number } = {}): Promise<Outbox> {
  const o = await Outbox.open({ dir, log: silentLogger, ...opts });
  open.push(o);
  return o;
}

async function closeOutbox(o: Outbox): Promise<void> {
  open.splice(open.indexOf(o), 1);
  await o.close();
}

const win = (title: string) => ({ activeWindow: { app: 'xterm', title, url: '', pid: 1 } });
const hb = (n: number) => ({ heartbeat: { uptimeSeconds: n } });
const usb = (device: string) => ({ usbRemoved: { device } });

describe('Outbox', () => {
  it('assigns increasing seqs and returns events in order', async () => {
    const o = await openOutbox();
    await o.emit(win('a'));
    await o.emit(hb(1));
    await o.emit(usb('sdb'));
    const events = await o.read(0, 10);
    expect(events.map((e) => Number(e.seq))).toEqual([1, 2, 3]);
    expect(events.map((e) => eventKind(e))).toEqual(['activeWindow', 'heartbeat', 'usbRemoved']);
    expect(events[0]!.activeWindow!.title).toBe('a');
    expect(o.stats().depth).toBe(3);
    expect((await o.read(1, 1)).map((e) => Number(e.seq))).toEqual([2]);
  });

  it('survives a restart with the same stream id and continues the sequence', async () => {
    const o = await openOutbox();
    const streamId = o.streamId;
    await o.emitMany([win('a'), win('b')]);
    await closeOutbox(o);
    const again = await openOutbox();
    expect(again.streamId).toBe(streamId);
    expect(again.stats().depth).toBe(2);
    await again.emit(win('c'));
    expect((await again.read(0, 10)).map((e) => Number(e.seq))).toEqual([1, 2, 3]);
  });

  it('a new outbox directory is a new stream', async () => {
    const o = await openOutbox();
    const other = await Outbox.open({ dir: join(dir, 'other'), log: silentLogger });
    open.push(other);
    expect(other.streamId).not.toBe(o.streamId);
  });

  it('deletes acked events, also after restart, and keeps seq after everything is acked', async () => {
    const o = await openOutbox();
    await o.emitMany([win('a'), win('b'), win('c')]);
    await o.ack(2);
    expect((await o.read(0, 10)).map((e) => Number(e.seq))).toEqual([3]);
    await o.ack(3);
    expect(o.stats().depth).toBe(0);
    await closeOutbox(o);
    const again = await openOutbox();
    expect(again.stats()).toMatchObject({ depth: 0, lastSeq: 3, ackedSeq: 3 });
    await again.emit(win('d'));
    expect((await again.read(0, 10)).map((e) => Number(e.seq))).toEqual([4]);
  });

  it('when full, drops window changes first, then heartbeats, and records a Gap', async () => {
    const o = await openOutbox({ maxEvents: 10 });
    await o.emitMany([usb('a'), win('w1'), hb(1), win('w2'), usb('b'), hb(2), win('w3'), usb('c'), hb(3)]);
    expect(o.stats().depth).toBe(9);
    // 3 more high-priority events: one fits, then the two oldest windows go.
    await o.emit(usb('d'));
    await o.emit(usb('e'));
    await o.emit(usb('f'));
    let events = await o.read(0, 100);
    const titles = events.filter((e) => e.activeWindow).map((e) => e.activeWindow!.title);
    expect(titles).toEqual(['w3']);
    expect(events.filter((e) => e.heartbeat)).toHaveLength(3);
    expect(o.stats().pendingGaps).toEqual([{ fromSeq: 2, toSeq: 4, reason: 'outbox-full', dropped: 2 }]);
    // Room appears after an ack: the gap is written as an event.
    await o.ack(5);
    events = await o.read(0, 100);
    const gap = events.find((e) => e.gap);
    expect(gap?.gap).toMatchObject({ fromSeq: 2, toSeq: 4, reason: 'outbox-full', dropped: 2 });
    expect(o.stats().pendingGaps).toEqual([]);
  });

  it('a low-priority event is dropped itself when only higher-priority events are held', async () => {
    const o = await openOutbox({ maxEvents: 10 });
    await o.emitMany(Array.from({ length: 10 }, (_, i) => usb(`d${i}`)));
    await o.emit(win('late'));
    const events = await o.read(0, 100);
    expect(events.some((e) => e.activeWindow)).toBe(false);
    expect(events).toHaveLength(10);
    expect(o.stats().pendingGaps).toEqual([{ fromSeq: 11, toSeq: 11, reason: 'outbox-full', dropped: 1 }]);
  });

  it('drops the oldest high-priority event only when no space can be made otherwise', async () => {
    const o = await openOutbox({ maxEvents: 10 });
    await o.emitMany(Array.from({ length: 10 }, (_, i) => usb(`d${i}`)));
    await o.emit(usb('new'));
    const devices = (await o.read(0, 100)).map((e) => e.usbRemoved!.device);
    expect(devices[0]).toBe('d1');
    expect(devices.at(-1)).toBe('new');
  });

  it('skips a corrupt entry with a corrupt-entry gap instead of crashing', async () => {
    const o = await openOutbox();
    await o.emitMany([win('a'), win('b'), win('c')]);
    await closeOutbox(o);
    // Damage entry 2 directly in the database.
    const db = new Level<string, Uint8Array>(join(dir, 'db'), { keyEncoding: 'utf8', valueEncoding: 'view' });
    await db.put(`e:${'2'.padStart(16, '0')}`, new Uint8Array([0, 0xff, 0xff, 0xff, 0x07]));
    await db.close();
    const again = await openOutbox();
    const events = await again.read(0, 10);
    const seqs = events.map((e) => Number(e.seq));
    expect(seqs.slice(0, 2)).toEqual([1, 3]);
    const gap = events.find((e) => e.gap) as IEvent;
    expect(gap.gap).toMatchObject({ fromSeq: 2, toSeq: 2, reason: 'corrupt-entry', dropped: 1 });
  });

  it('refuses low-priority events while the disk is below the free-space floor, keeps high ones', async () => {
    const o = await openOutbox({ minFreeDiskBytes: Number.MAX_SAFE_INTEGER });
    await o.emit(win('a'));
    await o.emit(hb(1));
    await o.emit(usb('sdb'));
    const events = await o.read(0, 10);
    expect(events.map((e) => eventKind(e))).toEqual(['usbRemoved']);
    expect(o.stats().diskLow).toBe(true);
    expect(o.stats().pendingGaps).toEqual([{ fromSeq: 1, toSeq: 2, reason: 'disk-full', dropped: 2 }]);
  });

  it('a second process (or handle) on the same outbox gets a clear error', async () => {
    await openOutbox();
    await expect(Outbox.open({ dir, log: silentLogger })).rejects.toThrow(/in use by another process/);
  });

  it('serialises concurrent emits: seqs are unique and complete', async () => {
    const o = await openOutbox();
    await Promise.all(Array.from({ length: 200 }, (_, i) => o.emit(hb(i))));
    const events = await o.read(0, 1000);
    expect(events.map((e) => Number(e.seq))).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
  });
});

describe('Outbox database damage', () => {
  it('a database with a lost MANIFEST is repaired and keeps its stream and events', async () => {
    const o = await openOutbox();
    const stream = o.streamId;
    await o.emit(win('a'));
    await closeOutbox(o);
    await writeFile(join(dir, 'db', 'CURRENT'), 'MANIFEST-999999\n');
    const again = await openOutbox();
    expect(again.streamId).toBe(stream);
    expect((await again.read(0, 10)).map((e) => e.activeWindow?.title)).toEqual(['a']);
  });

  it('an unrepairable database is moved aside and a new stream starts (no crash loop)', async () => {
    const o = await openOutbox();
    const oldStream = o.streamId;
    await o.emit(win('a'));
    await closeOutbox(o);
    await rm(join(dir, 'db'), { recursive: true });
    await writeFile(join(dir, 'db'), 'not a database');
    const again = await openOutbox();
    expect(again.streamId).not.toBe(oldStream);
    expect(again.stats().depth).toBe(0);
    expect((await readdir(dir)).some((n) => n.startsWith('db.corrupt-'))).toBe(true);
    await again.emit(win('b'));
    expect((await again.read(0, 10)).map((e) => e.activeWindow?.title)).toEqual(['b']);
  });
});

/** An inventory whose strings are all within the limit but which, together, exceed one frame. */
function hugeInventory(disks = 300): IEvent['inventory'] {
  return {
    hostname: 'h',
    disks: Array.from({ length: disks }, (_, i) => ({
      name: `${i}`.padEnd(MAX_STRING_CHARS, 'd'),
      type: 'HD',
    })),
  };
}

describe('Outbox bounds on device text (issue 11 §10)', () => {
  it('cuts every string to MAX_STRING_CHARS at emit, at any depth, without splitting a surrogate pair', async () => {
    const o = await openOutbox();
    await o.emit(win('t'.repeat(2_000_000)));
    await o.emit(win(`${'x'.repeat(MAX_STRING_CHARS - 1)}\u{1F600}tail`));
    await o.emit({ inventory: { hostname: 'h', disks: [{ name: 'n'.repeat(10_000), type: 'SSD' }] } });
    const [a, b, c] = await o.read(0, 10);
    expect(a!.activeWindow!.title).toBe('t'.repeat(MAX_STRING_CHARS));
    expect(b!.activeWindow!.title).toBe('x'.repeat(MAX_STRING_CHARS - 1));
    expect(c!.inventory!.disks![0]!.name).toHaveLength(MAX_STRING_CHARS);
    expect(c!.inventory!.disks![0]!.type).toBe('SSD');
  });

  it('turns an event too large for one frame into an oversized gap; the events after it are kept', async () => {
    const o = await openOutbox();
    await o.emit(win('before'));
    await o.emit({ inventory: hugeInventory() });
    await o.emit(win('after'));
    const events = await o.read(0, 10);
    expect(events.map((e) => eventKind(e))).toEqual(['activeWindow', 'gap', 'activeWindow']);
    expect(events[1]!.gap).toMatchObject({ fromSeq: 2, toSeq: 2, reason: 'oversized', dropped: 1 });
    expect(events[2]!.activeWindow!.title).toBe('after');
    for (const e of events) expect(encodeEvent(e).byteLength).toBeLessThanOrEqual(MAX_EVENT_BYTES);
    expect(MAX_EVENT_BYTES).toBeLessThan(MAX_FRAME_BYTES);
  });

  it('an oversized entry stored by an older agent becomes a gap at open instead of blocking the rest', async () => {
    const o = await openOutbox();
    await o.emitMany([win('a'), win('b'), win('c')]);
    await closeOutbox(o);
    const db = new Level<string, Uint8Array>(join(dir, 'db'), { keyEncoding: 'utf8', valueEncoding: 'view' });
    const big = encodeEvent({ seq: 2, timeMs: 1, activeWindow: { app: 'x', title: 't'.repeat(2_000_000) } });
    const value = new Uint8Array(big.byteLength + 1);
    value.set(big, 1);
    await db.put(`e:${'2'.padStart(16, '0')}`, value);
    await db.close();
    const again = await openOutbox();
    const events = await again.read(0, 10);
    expect(events.map((e) => Number(e.seq)).slice(0, 2)).toEqual([1, 3]);
    expect(events.find((e) => e.gap)!.gap).toMatchObject({ fromSeq: 2, toSeq: 2, reason: 'oversized' });
  });
});
