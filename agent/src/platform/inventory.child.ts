// Inventory in a short-lived child process (`custodian-agent inventory`): systeminformation and
// what it leaves behind (~9 MiB measured) never enter the long-running agent. One spawn at start
// and one per refresh (every few minutes) is cheaper than carrying it all day.
import { CustodianError, ErrorCode } from '@custodian/protocol';
import { run } from './exec.ts';
import type { InventoryData, InventorySource } from './inventory.ts';

export class ChildProcessInventory implements InventorySource {
  private readonly script: string;

  constructor(script: string) {
    this.script = script;
  }

  async collect(): Promise<InventoryData> {
    // '' = the single executable: the program is the binary itself, which applies its own Node
    // flags (process.execArgv there lists them, but as arguments the program would take them as its own).
    const args = this.script ? [...process.execArgv, this.script, 'inventory'] : ['inventory'];
    const { stdout } = await run(process.execPath, args, {
      timeoutMs: 60_000,
    });
    return parseInventoryJson(stdout);
  }

  async close(): Promise<void> {}
}

/** The child's stdout → inventory; anything else is an error, never an empty inventory. */
export function parseInventoryJson(stdout: string): InventoryData {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch (err) {
    throw new CustodianError(ErrorCode.COMMAND_FAILED, 'inventory helper printed no JSON', { cause: err });
  }
  const inv = parsed as InventoryData;
  if (
    typeof inv !== 'object' ||
    inv === null ||
    typeof inv.hostname !== 'string' ||
    typeof inv.batteryPercent !== 'number'
  )
    throw new CustodianError(ErrorCode.COMMAND_FAILED, 'inventory helper printed an unexpected shape');
  return inv;
}
