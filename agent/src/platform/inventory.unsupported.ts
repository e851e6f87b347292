// Platforms systeminformation does not cover: what Node itself knows.
import { arch, cpus, hostname, platform, release, totalmem, type, userInfo } from 'node:os';
import type { InventoryData, InventorySource } from './inventory.ts';

export class NodeOsInventory implements InventorySource {
  private readonly agentVersion: string;
  constructor(agentVersion: string) {
    this.agentVersion = agentVersion;
  }
  async collect(): Promise<InventoryData> {
    return {
      hostname: hostname(),
      osPlatform: platform(),
      osDistro: type(),
      osRelease: release(),
      kernel: `${release()} ${arch()}`,
      cpuBrand: cpus()[0]?.model ?? '',
      cpuCores: cpus().length,
      memoryTotalBytes: totalmem(),
      hasBattery: false,
      batteryPercent: -1,
      loggedInUser: userInfo().username,
      agentVersion: this.agentVersion,
    };
  }
  async close(): Promise<void> {}
}
