// Windows: every systeminformation call would start its own powershell.exe; keeping one
// PowerShell for the duration of a collection avoids a burst of ~10 spawns. [Not run on Windows yet.]
import si from 'systeminformation';
import { collectRaw, toInventory } from './inventory.si.ts';
import type { InventoryData, InventorySource } from './inventory.ts';

export class Win32Inventory implements InventorySource {
  private readonly agentVersion: string;
  constructor(agentVersion: string) {
    this.agentVersion = agentVersion;
  }
  async collect(): Promise<InventoryData> {
    si.powerShellStart();
    try {
      return toInventory(await collectRaw(), this.agentVersion);
    } finally {
      si.powerShellRelease();
    }
  }
  async close(): Promise<void> {}
}
