// Inventory (issue 4 §5): collected on start, every INVENTORY_REFRESH_MS and on a
// REFRESH_INVENTORY command; an Inventory event only when something changed (battery level
// alone is not a change: the heartbeat carries it).
import { type ICommand, v1 } from '@custodian/protocol';
import type { AgentComponent, AgentContext, CapabilityStatus } from '../core/contracts.ts';
import type { InventoryData, InventorySource } from '../platform/inventory.ts';

export const INVENTORY_REFRESH_MS = 10 * 60_000;

export class InventoryMonitor implements AgentComponent {
  readonly name = 'inventory-monitor';
  private readonly ctx: AgentContext;
  private readonly source: InventorySource;
  private readonly refreshMs: number;
  private latest: InventoryData | undefined;
  private lastKey: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(ctx: AgentContext, source: InventorySource, refreshMs = INVENTORY_REFRESH_MS) {
    this.ctx = ctx;
    this.source = source;
    this.refreshMs = refreshMs;
  }

  capabilities(): CapabilityStatus[] {
    return [];
  }

  current(): InventoryData | undefined {
    return this.latest;
  }

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.refreshMs);
    this.timer.unref();
  }

  /** Collects now (one collection at a time) and emits if changed. */
  refresh(): Promise<void> {
    this.running ??= this.collect().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async collect(): Promise<void> {
    let inv: InventoryData;
    try {
      inv = await this.source.collect();
    } catch (err) {
      this.ctx.log.error('inventory collection failed', { err });
      return;
    }
    this.latest = inv;
    const { batteryPercent: _battery, ...comparable } = inv;
    const key = JSON.stringify(comparable);
    if (key === this.lastKey) return;
    this.lastKey = key;
    await this.ctx.events.emit({ inventory: comparable });
  }

  async onCommand(command: ICommand): Promise<boolean> {
    if (command.kind !== v1.Command.Kind.REFRESH_INVENTORY) return false;
    this.lastKey = undefined; // asked for explicitly: send it even if unchanged
    await this.refresh();
    return true;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    await this.source.close();
  }
}
