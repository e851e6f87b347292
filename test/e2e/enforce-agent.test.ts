// Enforcement end to end: a real collector process, a real agent process (root) on a real X
// server, and a real loop device counted as USB through policy usb.treatAsUsb. The collector's
// per-device policy says "lock after 3 s idle, block unencrypted USB writes"; the timeline must
// show the lock by i3lock and the USB attach + decision + block, and a write must fail EROFS.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { udevRulePathFor } from '../../agent/src/platform/usb-udev-rule.linux.ts';
import { type AgentProcess, type EnrolledAgent, enrolAgent, startAgent } from '../support/agent-process.ts';
import { type CollectorProcess, startCollector } from '../support/collector-process.ts';
import {
  acquireUsbTestLock,
  attachLoop,
  canUseLoopDevices,
  cleanupLoopScaffolding,
  makeImage,
  mountDevice,
  mountOptions,
  writeFromOtherProcess,
} from '../support/loopdev.ts';
import { allInstalled } from '../support/tools.ts';
import { waitFor } from '../support/wait-for.ts';
import { startX, type XSession } from '../support/xvfb.ts';
import { type TimelineItem, timeline } from './agent-harness.ts';

const loops = canUseLoopDevices();
const xTools = allInstalled(['Xvfb', 'openbox', 'i3lock', 'xprintidle', 'xwininfo']);
const skip = !loops.ok
  ? `skipped: ${loops.reason}`
  : !xTools
    ? 'skipped: X tools (Xvfb, openbox, i3lock, xprintidle) missing'
    : '';

let collector: CollectorProcess | undefined;
let enrolled: EnrolledAgent | undefined;
let agent: AgentProcess | undefined;
let x: XSession | undefined;
let release: (() => void) | undefined;

beforeAll(async () => {
  if (!skip) release = await acquireUsbTestLock();
});
afterAll(async () => {
  await agent?.stop();
  await x?.stop();
  cleanupLoopScaffolding();
  await enrolled?.cleanup();
  await collector?.cleanup();
  release?.();
});

const find = (items: TimelineItem[], kind: string) =>
  items.filter((i) => i.kind === kind).map((i) => i.event[kind] as Record<string, unknown>);

describe.skipIf(Boolean(skip))(
  `enforcement through a real agent and collector${skip ? ` — ${skip}` : ''}`,
  () => {
    it('idle lock and USB block reach the collector timeline', async () => {
      // The 3 s idle lock below is under the 60 s floor for people editing policy: this collector
      // is configured down for the test (config policy.minIdleLockSeconds, documented for demos).
      collector = await startCollector({ env: { CUSTODIAN_POLICY_MIN_IDLE_LOCK_SECONDS: '3' } });
      enrolled = await enrolAgent({ collector });
      const dev = attachLoop(makeImage('ext4', { label: 'E2E' }));
      const mnt = mountDevice(dev);
      const res = await fetch(`${collector.url}/api/v1/devices/${enrolled.deviceId}/policy`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${collector.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          policy: {
            idleLock: {
              enabled: true,
              idleLockSeconds: 3,
              warningSeconds: 0,
              reportOnly: false,
              exemptionReason: '',
            },
            usb: { mode: 'block-unencrypted-writes', allow: [], treatAsUsb: [dev.name] },
          },
          reason: 'enforcement e2e test',
        }),
      });
      expect(res.status).toBe(200);
      x = await startX();
      agent = await startAgent({
        dataDir: enrolled.dataDir,
        env: { ...x.env, CUSTODIAN_LOCK_COMMAND: 'i3lock -n' },
      });
      const deviceId = enrolled.deviceId;
      const c = collector;

      const items = await waitFor(
        async () => {
          const t = await timeline(c, deviceId, [
            'usbAttached',
            'usbWriteBlocked',
            'screenLocked',
            'idleState',
            'lockFailed',
          ]);
          const done =
            t.some((i) => i.kind === 'screenLocked') && t.some((i) => i.kind === 'usbWriteBlocked');
          return done ? t : undefined;
        },
        'screenLocked and usbWriteBlocked in the timeline',
        60_000,
      );

      expect(find(items, 'lockFailed')).toEqual([]);
      expect(find(items, 'screenLocked')[0]).toMatchObject({ method: 'i3lock', byPolicy: true, attempt: 1 });
      expect(find(items, 'idleState').some((s) => s['state'] === 'IDLE')).toBe(true);
      const attached = find(items, 'usbAttached').filter((a) => a['device'] === dev.name);
      expect(attached.at(-1)).toMatchObject({
        filesystem: 'ext4',
        label: 'E2E',
        encryption: 'UNENCRYPTED',
        decision: 'BLOCK_WRITE',
        mountpoint: mnt,
      });
      expect(find(items, 'usbWriteBlocked')).toContainEqual({
        device: dev.name,
        method: 'remount-ro',
        mountpoint: mnt,
      });
      expect(mountOptions(mnt)).toContain('ro');
      const w = writeFromOtherProcess(join(mnt, 'exfil.txt'), 'secret');
      expect(w.ok).toBe(false);
      expect(w.stderr).toMatch(/Read-only file system/);

      const caps = await timeline(c, deviceId, ['capabilities']);
      const last = find(caps, 'capabilities').at(-1)?.['capabilities'] as {
        name: string;
        available?: boolean;
      }[];
      expect(
        last
          .filter((k) => ['idle', 'lock', 'usb_control'].includes(k.name))
          .map((k) => [k.name, k.available === true]),
      ).toEqual([
        ['idle', true],
        ['lock', true],
        ['usb_control', true],
      ]);

      const rule = udevRulePathFor(enrolled.dataDir);
      expect(existsSync(rule)).toBe(true);
      await agent.stop();
      agent = undefined;
      expect(existsSync(rule)).toBe(false);
    });
  },
);
