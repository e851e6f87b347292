// Which school each device belongs to, in memory, for the live feeds and per-row filters that
// must not read the store once per event (an SSE feed filters every status and event). Loaded
// at start, kept current from the hub's 'device' notifications (enrolment, revocation, a move).
import type { LiveHub } from '../live/hub.ts';
import type { Device, Store } from '../store/types.ts';
import { schoolOfDevice } from './model.ts';

export class DeviceSchools {
  private readonly byDevice = new Map<string, string>();
  private readonly store: Store;

  constructor(store: Store, live: LiveHub) {
    this.store = store;
    live.on('device', (d: Device) => this.byDevice.set(d.id, schoolOfDevice(d)));
  }

  async load(): Promise<void> {
    for (const d of await this.store.devices.list()) this.byDevice.set(d.id, schoolOfDevice(d));
  }

  /** The device's school; undefined for a device this process has not heard of (callers fail closed). */
  schoolOf(deviceId: string): string | undefined {
    return this.byDevice.get(deviceId);
  }

  /** After a write the hub does not announce. */
  set(deviceId: string, schoolId: string): void {
    this.byDevice.set(deviceId, schoolId);
  }
}
