// Stale devices (lifecycle): enrolled, not revoked, not connected now, and not heard from for
// `staleDays` (never heard from: counted from enrolment). Leavers' "zombie" laptops show up here
// for IT to revoke or retire in bulk. Pure.
import type { Device, DeviceLiveStatus } from '../store/types.ts';

export interface StaleDevice {
  device: Device;
  /** Last time the collector heard from it, or undefined if never. */
  lastSeenAt: number | undefined;
  daysUnseen: number;
}

const DAY = 86_400_000;

export function staleDevices(
  devices: readonly Device[],
  statusOf: (id: string) => DeviceLiveStatus | undefined,
  now: number,
  staleDays: number,
): StaleDevice[] {
  const out: StaleDevice[] = [];
  for (const device of devices) {
    if (device.revokedAt !== undefined) continue;
    const status = statusOf(device.id);
    if (status?.connected) continue;
    const lastSeenAt = status?.lastSeenAt;
    const daysUnseen = Math.floor((now - (lastSeenAt ?? device.enrolledAt)) / DAY);
    if (daysUnseen >= staleDays) out.push({ device, lastSeenAt, daysUnseen });
  }
  return out.sort((a, b) => b.daysUnseen - a.daysUnseen);
}
