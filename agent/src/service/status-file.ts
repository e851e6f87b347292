// status.json: the running agent's view of itself, for `custodian-agent status` (level allows
// one process per database, so status cannot open the outbox). Never contains the device key.
import { readIfExists, writeFileAtomic } from '../config/files.ts';
import type { CapabilityStatus } from '../core/contracts.ts';
import type { LinkState } from '../link/link.ts';
import type { OutboxStats } from '../outbox/outbox.ts';
import type { ScopeStatus } from '../scope/scope-monitor.ts';
import type { SpawnCounts } from './spawn-counter.ts';

export interface AgentStatus {
  pid: number;
  startedAt: string;
  updatedAt: string;
  running: boolean;
  demo: boolean;
  enforce: boolean;
  deviceId: string;
  serverUrl: string;
  link: LinkState;
  outbox: Omit<OutboxStats, 'pendingGaps'> & { pendingGaps: number };
  policyVersion: number;
  capabilities: CapabilityStatus[];
  /** BYOD monitoring scope (issue 19): in or out, why, since when. Absent: an agent from before scopes. */
  scope?: ScopeStatus;
  /** Child processes started since the agent started (counted when CUSTODIAN_COUNT_SPAWNS=1). */
  spawns?: SpawnCounts;
}

export async function writeStatus(path: string, status: AgentStatus): Promise<void> {
  // No fsync: status is advisory and rewritten every few seconds.
  await writeFileAtomic(path, JSON.stringify(status, null, 2), { sync: false });
}

export async function readStatus(path: string): Promise<AgentStatus | undefined> {
  const text = await readIfExists(path);
  return text === undefined ? undefined : (JSON.parse(text) as AgentStatus);
}

/** Is that pid a live process? (A stale status.json from a killed agent must not say "running".) */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
