// Hardware/OS inventory behind one interface, chosen once by platform (STYLE.md §1).
import type { custodian } from '@custodian/protocol';

export type InventoryData = custodian.v1.IInventory & { batteryPercent: number };

export interface InventorySource {
  /** A full inventory. Spawns OS tools (systeminformation): call rarely (start, refresh, every few minutes). */
  collect(): Promise<InventoryData>;
  /** Releases long-lived helpers (Windows keeps one PowerShell for the whole collection). */
  close(): Promise<void>;
}

/**
 * `helperScript`: the agent's own entry script ('' for the single executable, which is its own
 * program); when given, collection runs in a child process
 * (`<script> inventory`, see inventory.child.ts) so systeminformation never loads in the agent.
 */
export async function createInventorySource(
  agentVersion: string,
  helperScript?: string,
): Promise<InventorySource> {
  if (helperScript !== undefined)
    return new (await import('./inventory.child.ts')).ChildProcessInventory(helperScript);
  switch (process.platform) {
    case 'linux':
    case 'darwin':
      return new (await import('./inventory.si.ts')).SystemInformationInventory(agentVersion);
    case 'win32':
      return new (await import('./inventory.win32.ts')).Win32Inventory(agentVersion);
    default:
      return new (await import('./inventory.unsupported.ts')).NodeOsInventory(agentVersion);
  }
}
