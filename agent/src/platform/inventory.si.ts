// Inventory via systeminformation (Linux, macOS; Windows wraps it, see inventory.win32.ts).
// The mapping from systeminformation's shapes to the wire Inventory is pure and tested on
// captured output (testdata/inventory/). Only this device's own interfaces are reported.
import si from 'systeminformation';
import type { InventoryData, InventorySource } from './inventory.ts';

export interface RawInventory {
  os: Pick<si.Systeminformation.OsData, 'hostname' | 'platform' | 'distro' | 'release' | 'kernel'>;
  system: Pick<si.Systeminformation.SystemData, 'manufacturer' | 'model' | 'serial'>;
  cpu: Pick<si.Systeminformation.CpuData, 'manufacturer' | 'brand' | 'cores'>;
  mem: Pick<si.Systeminformation.MemData, 'total'>;
  disks: Pick<si.Systeminformation.DiskLayoutData, 'name' | 'device' | 'type' | 'size' | 'interfaceType'>[];
  nets: Pick<
    si.Systeminformation.NetworkInterfacesData,
    'iface' | 'ip4' | 'ip6' | 'mac' | 'internal' | 'virtual'
  >[];
  battery: Pick<si.Systeminformation.BatteryData, 'hasBattery' | 'percent'>;
  users: Pick<si.Systeminformation.UserData, 'user' | 'tty'>[];
}

/** Pure: systeminformation output → wire inventory. */
export function toInventory(raw: RawInventory, agentVersion: string): InventoryData {
  return {
    hostname: raw.os.hostname,
    osPlatform: raw.os.platform,
    osDistro: raw.os.distro,
    osRelease: raw.os.release,
    kernel: raw.os.kernel,
    manufacturer: raw.system.manufacturer,
    model: raw.system.model,
    serial: raw.system.serial,
    cpuBrand: [raw.cpu.manufacturer, raw.cpu.brand].filter(Boolean).join(' '),
    cpuCores: raw.cpu.cores,
    memoryTotalBytes: raw.mem.total,
    disks: raw.disks.map((d) => ({
      name: d.name || d.device,
      type: d.type,
      sizeBytes: d.size,
      interfaceType: d.interfaceType,
    })),
    // Loopback and virtual bridges say nothing about the device; MACs are this device's own.
    interfaces: raw.nets
      .filter((n) => !n.internal && !n.virtual)
      .map((n) => ({ name: n.iface, ipv4: n.ip4, ipv6: n.ip6, mac: n.mac })),
    hasBattery: raw.battery.hasBattery,
    batteryPercent: raw.battery.hasBattery ? Math.round(raw.battery.percent) : -1,
    loggedInUser: pickUser(raw.users),
    agentVersion,
  };
}

/** The person at the console: a graphical/console session first (":0", "tty7", "console"), then any. */
export function pickUser(users: { user: string; tty: string }[]): string {
  const local = users.find((u) => /^(:\d|tty\d|console)/.test(u.tty));
  return (local ?? users[0])?.user ?? '';
}

export async function collectRaw(): Promise<RawInventory> {
  const [os, system, cpu, mem, disks, nets, battery, users] = await Promise.all([
    si.osInfo(),
    si.system(),
    si.cpu(),
    si.mem(),
    si.diskLayout(),
    si.networkInterfaces() as Promise<si.Systeminformation.NetworkInterfacesData[]>,
    si.battery(),
    si.users(),
  ]);
  return { os, system, cpu, mem, disks, nets, battery, users };
}

export class SystemInformationInventory implements InventorySource {
  private readonly agentVersion: string;
  constructor(agentVersion: string) {
    this.agentVersion = agentVersion;
  }
  async collect(): Promise<InventoryData> {
    return toInventory(await collectRaw(), this.agentVersion);
  }
  async close(): Promise<void> {}
}
