// Heartbeat at the policy's interval. Everything in it comes from Node itself or from the
// last inventory, so a heartbeat spawns no process.
import { cpus, freemem, totalmem, uptime } from 'node:os';
import type { IScopeState } from '@custodian/protocol';
import type { AgentComponent, AgentContext, CapabilityStatus } from '../core/contracts.ts';
import type { InventoryData } from '../platform/inventory.ts';

export interface HeartbeatDeps {
  outboxDepth: () => number;
  inventory: () => InventoryData | undefined;
  /** BYOD monitoring scope (issue 19); absent in tests that do not care. */
  scope?: () => IScopeState;
}

export class HeartbeatMonitor implements AgentComponent {
  readonly name = 'heartbeat';
  private readonly ctx: AgentContext;
  private readonly deps: HeartbeatDeps;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private lastCpu = cpuTimes();

  constructor(ctx: AgentContext, deps: HeartbeatDeps) {
    this.ctx = ctx;
    this.deps = deps;
  }

  capabilities(): CapabilityStatus[] {
    return [];
  }

  async start(): Promise<void> {
    await this.beat();
    this.schedule();
    this.unsubscribe = this.ctx.policy.onChange((p, prev) => {
      if (p.heartbeatSeconds !== prev.heartbeatSeconds) this.schedule();
    });
  }

  private schedule(): void {
    clearInterval(this.timer);
    this.timer = setInterval(() => void this.beat(), this.ctx.policy.current().heartbeatSeconds * 1000);
  }

  async beat(): Promise<void> {
    const now = cpuTimes();
    const busy = now.busy - this.lastCpu.busy;
    const total = now.total - this.lastCpu.total;
    this.lastCpu = now;
    const inv = this.deps.inventory();
    const scope = this.deps.scope?.();
    // Outside scope a BYOD heartbeat says who is signed in to nobody: at home that may be a parent.
    const outside = scope !== undefined && scope.inScope !== true;
    try {
      await this.ctx.events.emit({
        heartbeat: {
          uptimeSeconds: Math.round(uptime()),
          loggedInUser: outside ? '' : (inv?.loggedInUser ?? ''),
          outboxDepth: this.deps.outboxDepth(),
          cpuLoadPercent: total > 0 ? (100 * busy) / total : 0,
          memoryUsedBytes: totalmem() - freemem(),
          batteryPercent: inv?.batteryPercent ?? -1,
          agentRssBytes: process.memoryUsage.rss(),
          ...(scope ? { scope } : {}),
        },
      });
    } catch (err) {
      this.ctx.log.error('heartbeat not recorded', { err });
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.unsubscribe?.();
  }
}

function cpuTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const c of cpus()) {
    const t = c.times;
    busy += t.user + t.nice + t.sys + t.irq;
    total += t.user + t.nice + t.sys + t.irq + t.idle;
  }
  return { busy, total };
}
