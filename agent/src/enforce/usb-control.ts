// The USB write-control enforcer. Finds removable USB volumes at start and on every change,
// decides per volume from policy (usb.mode, allow list, encryption), makes blocked ones read-only
// through the platform guard, records every file written to mounted volumes, and reports it all:
// attach (identity, fs, encryption, decision), write blocked (how), file written (path, size,
// before the block?), removed, enforcement failed (why).
import { type ICommand, v1 } from '@custodian/protocol';
import type { AgentComponent, AgentContext, CapabilityStatus } from '../core/contracts.ts';
import {
  createUsbGuard,
  type UsbGuard,
  type UsbPlan,
  type UsbVolumeInfo,
  type UsbWatchHandle,
} from '../platform/usb.ts';
import { decideUsb, type UsbDecision } from './usb-decision.ts';
import { type FileWrite, MountWatchers } from './usb-file-watch.ts';

export interface UsbControlOptions {
  guard?: UsbGuard;
  /**
   * Full rescan even without change events, while the platform's change sources are not known to
   * see everything (a source down or restarting; platforms without such sources). Default 5000 ms.
   */
  scanIntervalMs?: number;
  /**
   * Full rescan while the change sources are complete (UsbWatchHandle.complete()): only a safety
   * net then, every change already triggers a scan. Default 60000 ms (never below scanIntervalMs).
   */
  safetyScanIntervalMs?: number;
  /**
   * Quiet time after a change event before rescanning. Short, because it is part of the race
   * window between a read-write mount and the block. Default 20 ms.
   */
  debounceMs?: number;
  /** Files already on a volume count as written if modified this long before it appeared. Default 2000 ms. */
  fileSlackMs?: number;
  /** Record written files with chokidar. Default true. */
  watchFiles?: boolean;
}

interface Tracked {
  info: UsbVolumeInfo;
  decision: UsbDecision;
  reason: string;
  firstSeenMs: number;
  /** When the block landed (agent or udev); files modified before it were written in the race window. */
  blockedAt: number | undefined;
  blockedByAgent: boolean;
  /** Mountpoints ('' = the device itself) whose block has been reported. */
  reportedBlocks: Set<string>;
  lastFailure: string;
}

const DECISION_WIRE: Record<UsbDecision, number> = {
  allow: v1.UsbVolume.Decision.ALLOW_WRITE,
  block: v1.UsbVolume.Decision.BLOCK_WRITE,
  audit: v1.UsbVolume.Decision.AUDIT_ONLY,
  'allowed-by-list': v1.UsbVolume.Decision.ALLOWED_BY_LIST,
  // The wire has no "refused" value: the volume stays writable, and the reason says why.
  'system-disk': v1.UsbVolume.Decision.ALLOW_WRITE,
};
const ENCRYPTION_WIRE = {
  encrypted: v1.UsbVolume.Encryption.ENCRYPTED,
  unencrypted: v1.UsbVolume.Encryption.UNENCRYPTED,
  unknown: v1.UsbVolume.Encryption.UNKNOWN,
} as const;

const VIA_NOTE: Record<UsbVolumeInfo['via'], (v: UsbVolumeInfo) => string> = {
  usb: () => '',
  'treat-as-usb': () => ' (counted as USB by policy usb.treatAsUsb)',
  removable: (v) => ` (counted as USB: ${v.viaNote ?? 'removable storage'})`,
};

const fingerprint = (v: UsbVolumeInfo): string =>
  [v.uuid, v.serial, v.sizeBytes, v.fsType, v.vendorId, v.productId, v.encryption, v.systemUse ?? ''].join(
    '|',
  );

export function createUsbControl(
  ctx: AgentContext,
  options: UsbControlOptions = {},
): AgentComponent & { settled(): Promise<void> } {
  const scanIntervalMs = options.scanIntervalMs ?? 5_000;
  const safetyScanIntervalMs = Math.max(scanIntervalMs, options.safetyScanIntervalMs ?? 60_000);
  const debounceMs = options.debounceMs ?? 20;
  const slackMs = options.fileSlackMs ?? 2_000;
  let guard: UsbGuard | undefined = options.guard;
  const tracked = new Map<string, Tracked>();
  const recreateTargets = new Set<string>();
  let cap: CapabilityStatus = { name: 'usb_control', available: false, reason: 'not started' };
  let guardInPlace: string | null = null;
  let plan: UsbPlan = ctx.policy.current().usb;
  let running = false;
  let scanTimer: NodeJS.Timeout | undefined;
  let debounceTimer: NodeJS.Timeout | undefined;
  let scanning: Promise<void> | undefined;
  let dirty = false;
  let sources: UsbWatchHandle | undefined;
  let unsubscribe: (() => void) | undefined;
  let lastScanError = '';
  /** Emits are chained so file events never overtake the attach event they belong to. */
  let emitChain: Promise<void> = Promise.resolve();

  const emit = (payload: Parameters<AgentContext['events']['emit']>[0]): Promise<void> => {
    emitChain = emitChain
      .then(() => ctx.events.emit(payload))
      .catch((err) => ctx.log.error('usb event not persisted', { error: (err as Error).message }));
    return emitChain;
  };

  const watchers = new MountWatchers({
    onWrite: (w) => void recordWrite(w),
    onUnlink: () => requestScan(),
    onError: (target, err) => ctx.log.warn('file watcher error', { target, error: err.message }),
  });

  function recordWrite(w: FileWrite): Promise<void> {
    const t = tracked.get(w.device);
    const beforeBlock = t?.decision === 'block' && (t.blockedAt === undefined || w.mtimeMs < t.blockedAt);
    return emit({
      fileWritten: { device: w.device, path: w.path.slice(0, 1024), sizeBytes: w.sizeBytes, beforeBlock },
    });
  }

  async function refreshCapability(): Promise<void> {
    if (!guard) return;
    const a = await guard.availability(plan);
    const next: CapabilityStatus = { name: 'usb_control', available: a.available, reason: a.reason };
    if (next.available !== cap.available || next.reason !== cap.reason) {
      cap = next;
      ctx.capabilitiesChanged();
    }
  }

  function requestScan(delay = debounceMs): void {
    if (!running) return;
    clearTimeout(debounceTimer);
    debounceTimer = setTimeout(() => void scanLoop(), delay);
  }

  function scanLoop(): Promise<void> {
    dirty = true;
    if (scanning) return scanning;
    scanning = (async () => {
      while (dirty && running) {
        dirty = false;
        try {
          await scanOnce();
          lastScanError = '';
        } catch (err) {
          const msg = (err as Error).message;
          if (msg !== lastScanError) ctx.log.error('usb scan failed', { error: msg });
          lastScanError = msg;
        }
      }
    })().finally(() => {
      scanning = undefined;
    });
    return scanning;
  }

  async function scanOnce(): Promise<void> {
    if (!guard) return;
    const volumes = await guard.scan(plan);
    const now = Date.now();
    const present = new Set<string>();
    for (const v of volumes) {
      present.add(v.device);
      let t = tracked.get(v.device);
      if (!t || fingerprint(t.info) !== fingerprint(v)) {
        const verdict = decideUsb(v, plan, ctx.demo);
        t = {
          info: v,
          decision: verdict.decision,
          reason: verdict.reason,
          firstSeenMs: t?.firstSeenMs ?? now,
          blockedAt: undefined,
          blockedByAgent: false,
          reportedBlocks: new Set(),
          lastFailure: '',
        };
        tracked.set(v.device, t);
        await emitAttached(t);
      } else {
        const before = t.info.mounts.map((m) => `${m.target}:${m.readOnly}`).join('|');
        t.info = v;
        const after = v.mounts.map((m) => `${m.target}:${m.readOnly}`).join('|');
        if (before !== after) for (const m of v.mounts) recreateTargets.add(m.target);
      }
      await enforce(t);
    }
    for (const [device, t] of tracked) {
      if (present.has(device)) continue;
      tracked.delete(device);
      watchers.forget(device);
      await emit({ usbRemoved: { device, serial: t.info.serial, label: t.info.label } });
    }
    if (options.watchFiles !== false) {
      // Never a system disk's mounts: watching / would walk the whole machine.
      const targets = [...tracked.values()]
        .filter((t) => t.decision !== 'system-disk')
        .flatMap((t) =>
          t.info.mounts.map((m) => ({
            device: t.info.device,
            target: m.target,
            sinceMs: t.firstSeenMs - slackMs,
          })),
        );
      const recreate = new Set(recreateTargets);
      recreateTargets.clear();
      await watchers.sync(targets, recreate);
    }
  }

  function emitAttached(t: Tracked, prefix = ''): Promise<void> {
    const v = t.info;
    return emit({
      usbAttached: {
        device: v.device,
        vendorId: v.vendorId,
        productId: v.productId,
        vendor: v.vendor,
        product: v.product,
        serial: v.serial,
        sizeBytes: v.sizeBytes,
        label: v.label,
        filesystem: v.fsType,
        encryption: ENCRYPTION_WIRE[v.encryption],
        encryptionKind: v.encryptionKind,
        decision: DECISION_WIRE[t.decision],
        mountpoint: v.mounts[0]?.target ?? '',
        decisionReason: `${prefix}${t.reason}${VIA_NOTE[v.via](v)}`,
      },
    });
  }

  async function enforce(t: Tracked): Promise<void> {
    if (!guard || t.decision !== 'block') return;
    const v = t.info;
    const writable = !v.deviceReadOnly || v.mounts.some((m) => !m.readOnly);
    if (!writable) {
      // Already read-only: our udev rule (before mount), our own earlier block, or a write-protect switch.
      t.blockedAt ??= Date.now();
      // A failed block attempt may still have set the device read-only itself (blockdev --setro runs first).
      const how =
        t.blockedByAgent || t.lastFailure
          ? 'blockdev-setro'
          : guardInPlace
            ? 'udev-readonly'
            : 'device-readonly';
      const places = v.mounts.length ? v.mounts.map((m) => m.target) : [''];
      for (const place of places) {
        if (t.reportedBlocks.has(place)) continue;
        t.reportedBlocks.add(place);
        await emit({ usbWriteBlocked: { device: v.device, method: how, mountpoint: place } });
      }
      return;
    }
    try {
      const results = await guard.block(v);
      t.blockedAt ??= Date.now();
      t.blockedByAgent = true;
      t.lastFailure = '';
      for (const r of results) {
        t.reportedBlocks.add(r.mountpoint);
        recreateTargets.add(r.mountpoint);
        await emit({ usbWriteBlocked: { device: v.device, method: r.method, mountpoint: r.mountpoint } });
        if (r.note) ctx.log.warn('usb block needed the last resort', { device: v.device, note: r.note });
      }
      dirty = true; // the mount table changed under us: look again
    } catch (err) {
      const e = err as Error & { details?: { cmd?: string } };
      const reason = e.message.slice(0, 500);
      if (reason !== t.lastFailure) {
        t.lastFailure = reason;
        await emit({
          usbEnforcementFailed: { device: v.device, method: e.details?.cmd ?? 'block', reason },
        });
        ctx.log.error('usb block failed', { device: v.device, error: reason });
      }
    }
  }

  async function applyPolicy(): Promise<void> {
    if (!guard) return;
    plan = ctx.policy.current().usb;
    try {
      guardInPlace = await guard.applyPlan(plan);
    } catch (err) {
      guardInPlace = null;
      await emit({
        usbEnforcementFailed: {
          device: '',
          method: 'pre-mount-guard',
          reason: (err as Error).message.slice(0, 500),
        },
      });
    }
    await refreshCapability();
    for (const t of tracked.values()) {
      const verdict = decideUsb(t.info, plan, ctx.demo);
      if (verdict.decision === t.decision && verdict.reason === t.reason) continue;
      const wasBlockedByUs = t.decision === 'block' && t.blockedByAgent;
      t.decision = verdict.decision;
      t.reason = verdict.reason;
      if (wasBlockedByUs && verdict.decision !== 'block') {
        try {
          await guard.release(t.info);
          t.blockedAt = undefined;
          t.blockedByAgent = false;
          t.reportedBlocks.clear();
        } catch (err) {
          ctx.log.error('usb release failed', { device: t.info.device, error: (err as Error).message });
        }
      }
      await emitAttached(t, `policy changed: `);
    }
  }

  return {
    name: 'usb-control',
    async start() {
      guard ??= await createUsbGuard({ owner: ctx.dataDir });
      running = true;
      if (ctx.demo && plan.mode === 'audit')
        ctx.log.info('demo mode: USB control in audit mode (writes are recorded, never blocked)');
      await applyPolicy();
      unsubscribe = ctx.policy.onChange(() => {
        void applyPolicy().then(() => requestScan(0));
      });
      sources = guard.watch((hint) => {
        if (hint.target) recreateTargets.add(hint.target);
        requestScan();
      });
      await scanLoop();
      // While the sources are complete, the poll drops to the safety rate; it is re-checked every
      // scanIntervalMs, so a source that dies brings the fast rate back within that time.
      let lastFullScan = Date.now();
      const tick = (): void => {
        scanTimer = setTimeout(() => {
          if (sources?.complete?.() && Date.now() - lastFullScan < safetyScanIntervalMs) return tick();
          lastFullScan = Date.now();
          void scanLoop().finally(() => running && tick());
        }, scanIntervalMs);
      };
      tick();
    },
    async stop() {
      running = false;
      clearTimeout(scanTimer);
      clearTimeout(debounceTimer);
      unsubscribe?.();
      await sources?.stop();
      await scanning;
      await watchers.closeAll();
      await emitChain;
      // Leaves devices already read-only as they are; removes the pre-mount rule so a stopped
      // (or uninstalled) agent leaves no enforcement it can no longer report on.
      await guard?.teardown();
    },
    capabilities() {
      return [cap];
    },
    async onCommand(command: ICommand) {
      if (command.kind !== v1.Command.Kind.RESCAN_USB) return false;
      await scanLoop();
      return true;
    },
    /** Test and diagnostics hook: resolves when the current scan and its events are done. */
    async settled() {
      await scanning;
      await watchers.ready();
      await emitChain;
    },
  };
}
