// One oversized event must not stop delivery (issue 11 §10), with a real collector process:
// - through the agent's own outbox and link: a multi-megabyte window title arrives cut to the
//   protocol's string limit; an event whose strings together exceed one frame becomes an
//   `oversized` Gap, and the events after it are delivered;
// - a real agent process whose outbox holds such an entry from an older agent records the Gap at
//   start and delivers what follows.
// The wedge being replayed: an event that decodes (under MAX_FRAME_BYTES) but whose batch frame
// (event + stream id + envelope) is over it. Before the fix it was stored, sent alone, the
// collector closed the session with 1009, the link reconnected and sent it again — forever,
// with every event behind it stuck.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeEvent, type IEvent, MAX_FRAME_BYTES, MAX_STRING_CHARS } from '@custodian/protocol';
import { Level } from 'level';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../agent/src/config/logger.ts';
import { dataPaths } from '../../agent/src/config/paths.ts';
import { PolicyStore } from '../../agent/src/config/policy-store.ts';
import { Link } from '../../agent/src/link/link.ts';
import { BlobStore } from '../../agent/src/outbox/blob-store.ts';
import { Outbox } from '../../agent/src/outbox/outbox.ts';
import { type AgentProcess, type EnrolledAgent, enrolAgent, startAgent } from '../support/agent-process.ts';
import { type CollectorProcess, FULL_TITLES, startCollector } from '../support/collector-process.ts';
import { waitFor } from '../support/wait-for.ts';
import { type TimelineItem, timeline } from './agent-harness.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function rig(): Promise<{ collector: CollectorProcess; enrolled: EnrolledAgent }> {
  // The test reads window titles back as the admin token: IT sees full titles when configured so.
  const collector = await startCollector({ env: FULL_TITLES });
  cleanups.push(() => collector.cleanup());
  const enrolled = await enrolAgent({ collector });
  cleanups.push(() => enrolled.cleanup());
  return { collector, enrolled };
}

/**
 * An inventory whose strings are all within MAX_STRING_CHARS and whose encoded Event (with
 * `seq`/`timeMs` as given) is `target` bytes: decodable alone, too big for a batch frame.
 */
function inventoryEncodedAs(target: number, seq: number, timeMs: number): IEvent['inventory'] {
  const disks: { name: string }[] = [];
  const size = () => encodeEvent({ seq, timeMs, inventory: { hostname: 'h', disks } }).byteLength;
  while (size() + MAX_STRING_CHARS + 8 < target - 300) disks.push({ name: 'd'.repeat(MAX_STRING_CHARS) });
  // Start at 200 characters so the name's length prefix stays 2 bytes while it grows.
  const last = { name: 'd'.repeat(200) };
  disks.push(last);
  last.name += 'd'.repeat(target - size());
  if (size() !== target || last.name.length > MAX_STRING_CHARS)
    throw new Error(`cannot build ${target} bytes`);
  return { hostname: 'h', disks };
}
const NEARLY_A_FRAME = MAX_FRAME_BYTES - 16;

const windowTitles = (items: TimelineItem[]) =>
  items.filter((i) => i.kind === 'activeWindow').map((i) => i.event.activeWindow?.title ?? '');

describe('oversized events with a real collector', () => {
  it('cuts huge strings, turns an unsendable event into a Gap, and delivers the events after it', async () => {
    const { collector, enrolled } = await rig();
    const paths = dataPaths(enrolled.dataDir);
    const creds = JSON.parse(await readFile(paths.credentials, 'utf8'));
    const outbox = await Outbox.open({ dir: paths.outbox, log: silentLogger });
    cleanups.push(() => outbox.close());
    const blobs = new BlobStore({ dir: paths.blobs, log: silentLogger });
    await blobs.init();
    const policy = await PolicyStore.load({
      path: paths.policy,
      log: silentLogger,
      demo: false,
      enforce: false,
    });

    const win = (title: string) => ({ activeWindow: { app: 'xterm', title, url: '', pid: 1 } });
    await outbox.emit(win('before'));
    await outbox.emit(win('T'.repeat(3_000_000))); // a pupil's window title
    // Every string within the limit; the event decodes alone, its batch frame is over the limit.
    await outbox.emit({ inventory: inventoryEncodedAs(NEARLY_A_FRAME, 3, Date.now()) });
    await outbox.emit(win('after'));

    const link = new Link({
      serverUrl: creds.serverUrl,
      deviceId: creds.deviceId,
      deviceKey: creds.deviceKey,
      agentVersion: '0.0.0-test',
      os: 'linux',
      outbox,
      blobs,
      policy,
      log: silentLogger,
      capabilities: () => [],
      onCommand: async () => ({ ok: false, error: 'unsupported' }),
      initialBackoffMs: 100,
      maxBackoffMs: 1_000,
    });
    link.start();
    cleanups.push(() => link.stop());

    const items = await waitFor(
      async () => {
        const t = await timeline(collector, creds.deviceId);
        return windowTitles(t).includes('after') ? t : undefined;
      },
      'the event after the oversized one at the collector',
      60_000,
    );
    expect(windowTitles(items)).toEqual(['before', 'T'.repeat(MAX_STRING_CHARS), 'after']);
    const gaps = items.filter((i) => i.kind === 'gap');
    expect(gaps).toHaveLength(1);
    expect(gaps[0]!.event.gap).toMatchObject({ fromSeq: 3, toSeq: 3, reason: 'oversized', dropped: 1 });
    expect(items.some((i) => i.kind === 'inventory')).toBe(false);
    expect(outbox.stats().depth).toBe(0);
  }, 120_000);

  it('a real agent whose outbox holds an oversized entry from an older agent records a Gap and delivers the rest', async () => {
    const { collector, enrolled } = await rig();
    const paths = dataPaths(enrolled.dataDir);
    // What an older agent stored: seq 1, an event just under a frame, as the outbox writes it
    // (priority byte + event; inventory is medium priority).
    const outbox = await Outbox.open({ dir: paths.outbox, log: silentLogger });
    const streamId = outbox.streamId;
    await outbox.close();
    const db = new Level<string, Uint8Array>(join(paths.outbox, 'db'), {
      keyEncoding: 'utf8',
      valueEncoding: 'view',
    });
    const timeMs = Date.now();
    const big = encodeEvent({ seq: 1, timeMs, inventory: inventoryEncodedAs(NEARLY_A_FRAME, 1, timeMs) });
    const value = new Uint8Array(big.byteLength + 1);
    value[0] = 1;
    value.set(big, 1);
    await db.put(`e:${'1'.padStart(16, '0')}`, value);
    await db.put('m:last', new TextEncoder().encode('1'));
    await db.close();

    const agent: AgentProcess = await startAgent({ dataDir: enrolled.dataDir, env: { DISPLAY: '' } });
    cleanups.push(() => agent.stop());
    const items = await waitFor(
      async () => {
        const t = await timeline(collector, enrolled.deviceId);
        return t.some((i) => i.kind === 'agentStarted') && t.some((i) => i.kind === 'gap') ? t : undefined;
      },
      'agentStarted and the gap at the collector',
      60_000,
    );
    const gap = items.find((i) => i.kind === 'gap')!;
    expect(gap.streamId).toBe(streamId);
    expect(gap.event.gap).toMatchObject({ fromSeq: 1, toSeq: 1, reason: 'oversized', dropped: 1 });
    expect(items.filter((i) => i.kind === 'inventory' && i.seq === 1)).toHaveLength(0);
  }, 120_000);
});
