// Which events go first when the outbox is full (issue 4): window changes before heartbeats
// and inventory, before everything else (USB, idle, lock, flagged activity, gaps), which is
// dropped only when no space can be made any other way.
import { type EventKind, eventKind, type IEvent } from '@custodian/protocol';

export const Priority = { LOW: 0, MEDIUM: 1, HIGH: 2 } as const;
export type Priority = (typeof Priority)[keyof typeof Priority];
export const PRIORITIES: readonly Priority[] = [Priority.LOW, Priority.MEDIUM, Priority.HIGH];

const BY_KIND: Partial<Record<EventKind, Priority>> = {
  activeWindow: Priority.LOW,
  heartbeat: Priority.MEDIUM,
  inventory: Priority.MEDIUM,
  capabilities: Priority.MEDIUM,
};

export function priorityOf(event: IEvent): Priority {
  const kind = eventKind(event);
  return kind === undefined ? Priority.HIGH : (BY_KIND[kind] ?? Priority.HIGH);
}
