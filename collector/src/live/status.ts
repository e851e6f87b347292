// Live status per device: connected or not, last seen, agent and policy versions, last
// heartbeat, current window, idle/locked, USB volumes, capabilities. Ingest computes the next
// status with `reduce` before its commit (the snapshot is written in the same batch) and calls
// `set` after the commit, which notifies the live hub. Every status it keeps carries `sensitive`:
// the paths of its device text that match the safeguarding library (views hide them but for the DSL).
import type { TextScreens } from '../ingest/text-screen.ts';
import { statusOp } from '../store/records.ts';
import type { DeviceLiveStatus, Store } from '../store/types.ts';
import type { LiveHub } from './hub.ts';

type Json = Record<string, unknown>;

export function emptyStatus(deviceId: string): DeviceLiveStatus {
  return { deviceId, connected: false, usbVolumes: [] };
}

const str = (v: unknown) => (typeof v === 'string' ? v : '');
const num = (v: unknown) => (typeof v === 'number' ? v : 0);

/** Applies one stored event (eventToJson form) to a status. Pure. */
export function reduceStatus(
  status: DeviceLiveStatus,
  kind: string,
  event: Json,
  receivedAt: number,
): DeviceLiveStatus {
  const s: DeviceLiveStatus = { ...status, lastSeenAt: Math.max(status.lastSeenAt ?? 0, receivedAt) };
  const p = (event[kind] ?? {}) as Json;
  const at = num(event['timeMs']) || receivedAt;
  switch (kind) {
    case 'agentStarted':
      s.agentVersion = str(p['agentVersion']);
      s.os = str(p['os']);
      s.hostname = str(p['hostname']);
      s.usbVolumes = [];
      // A new run of the agent: the stop it announced (if any) is over, and so is an uninstall.
      delete s.lastStop;
      delete s.uninstalled;
      break;
    case 'agentStopping':
      // The goodbye before a clean stop; silence without it is an unclean stop (health/detect.ts).
      s.lastStop = { at, reason: str(p['reason']).slice(0, 100) };
      break;
    case 'agentUninstalled':
      // Removed by an installer: the device list shows "uninstalled", health tells IT (detect.ts).
      s.uninstalled = { at, method: str(p['method']).slice(0, 64), user: str(p['user']).slice(0, 64) };
      break;
    case 'heartbeat':
      s.lastHeartbeat = { ...p, at };
      if (str(p['loggedInUser'])) s.loggedInUser = str(p['loggedInUser']);
      if (p['scope']) s.scope = scopeOf(p['scope'] as Json, at);
      break;
    case 'scopeChanged':
      s.scope = scopeOf(p, at);
      break;
    case 'inventory':
      s.inventory = p;
      if (str(p['hostname'])) s.hostname = str(p['hostname']);
      if (str(p['loggedInUser'])) s.loggedInUser = str(p['loggedInUser']);
      break;
    case 'activeWindow':
      s.currentWindow = { app: str(p['app']), title: str(p['title']), url: str(p['url']), at };
      break;
    case 'idleState':
      s.idle = { state: str(p['state']), idleMs: num(p['idleMs']), at };
      if (p['state'] === 'LOCKED') s.locked = true;
      else if (p['state'] === 'ACTIVE') s.locked = false;
      break;
    case 'screenLocked':
      s.locked = true;
      delete s.lastLockFailure;
      break;
    case 'lockFailed':
      s.lastLockFailure = {
        at,
        method: str(p['method']),
        reason: str(p['reason']),
        attempt: num(p['attempt']),
      };
      break;
    case 'usbEnforcementFailed':
      s.usbEnforcementFailure = {
        at,
        method: str(p['method']).slice(0, 100),
        count: (s.usbEnforcementFailure?.count ?? 0) + 1,
      };
      break;
    case 'usbWriteBlocked':
      // A block that landed: enforcement works again.
      delete s.usbEnforcementFailure;
      break;
    case 'usbAttached':
      s.usbVolumes = [...s.usbVolumes.filter((v) => v['device'] !== p['device']), { ...p, at }];
      break;
    case 'usbRemoved':
      s.usbVolumes = s.usbVolumes.filter((v) => v['device'] !== p['device']);
      break;
    case 'policyApplied':
      if (p['ok'] === true) {
        s.policyVersionApplied = num(p['version']);
        delete s.policyRejected;
      } else {
        s.policyRejected = { version: num(p['version']), error: str(p['error']).slice(0, 500), at };
      }
      break;
    case 'capabilities':
      s.capabilities = ((p['capabilities'] as Json[] | undefined) ?? []).map((c) => ({
        name: str(c['name']),
        available: c['available'] === true,
        reason: str(c['reason']),
      }));
      break;
    default:
      break;
  }
  return s;
}

/** BYOD monitoring scope (issue 19), as the agent last reported it. */
function scopeOf(p: Json, at: number): NonNullable<DeviceLiveStatus['scope']> {
  return {
    applies: p['applies'] === true,
    inScope: p['inScope'] === true,
    reason: str(p['reason']).slice(0, 300),
    rule: str(p['rule']).slice(0, 64),
    mode: str(p['mode']).slice(0, 32),
    at,
  };
}

type Screens = Pick<TextScreens, 'cached' | 'forDevice'>;

export class StatusTracker {
  private readonly byDevice = new Map<string, DeviceLiveStatus>();
  private readonly o: { store: Store; live: LiveHub; now: () => number; screens?: Screens };

  constructor(options: { store: Store; live: LiveHub; now: () => number; screens?: Screens }) {
    this.o = options;
  }

  /** Reads the persisted snapshots; after a restart nothing is connected. */
  async load(): Promise<void> {
    for (const s of await this.o.store.status.list()) {
      const { connectedAt: _c, remoteAddress: _r, sensitive: _s, ...rest } = s;
      await this.o.screens?.forDevice(s.deviceId);
      this.byDevice.set(s.deviceId, this.screened({ ...rest, connected: false }));
    }
  }

  /**
   * The status with `sensitive` (re)computed: every device string in it (window, hostname, user,
   * USB labels, inventory, capability reasons) screened against the device's library.
   */
  private screened(status: DeviceLiveStatus): DeviceLiveStatus {
    const { sensitive: _old, ...rest } = status;
    if (!this.o.screens) return rest;
    return { ...rest, sensitive: this.o.screens.cached(status.deviceId).paths(rest) };
  }

  get(deviceId: string): DeviceLiveStatus {
    return this.byDevice.get(deviceId) ?? emptyStatus(deviceId);
  }

  list(): DeviceLiveStatus[] {
    return [...this.byDevice.values()];
  }

  /** Records a committed status and tells the live feed. */
  set(status: DeviceLiveStatus): void {
    const screened = this.screened(status);
    this.byDevice.set(status.deviceId, screened);
    this.o.live.emit('status', screened);
  }

  /** Updates outside an event commit (connect, disconnect, policy sent); persisted unsynced. */
  async patch(deviceId: string, change: Partial<DeviceLiveStatus>): Promise<DeviceLiveStatus> {
    const { sensitive: _s, ...next } = { ...this.get(deviceId), ...change, deviceId };
    this.set(next);
    await this.o.store.engine.batch([statusOp(this.o.store.cipher, next)], { sync: false });
    return this.get(deviceId);
  }
}
