// The bus the config names (bus.ts): `none` (one process) or `nats`.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { CollectorConfig } from '../config.ts';
import type { Logger } from '../log.ts';
import type { Bus } from './bus.ts';
import { NatsBus } from './nats.ts';
import { createNoneBus } from './none.ts';

export type { Bus, BusHealth, PresenceEntry } from './bus.ts';
export { describeNatsUrl } from './nats.ts';

/** This start's id on the bus: the configured name (or host name) and a random suffix. */
export function busProcessId(name: string): string {
  const base = (name || hostname()).replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64) || 'collector';
  return `${base}-${randomBytes(4).toString('hex')}`;
}

export function createBus(config: Pick<CollectorConfig, 'bus' | 'nats'>, log: Logger): Bus {
  const processId = busProcessId(config.nats.name);
  if (config.bus !== 'nats') return createNoneBus(processId);
  return new NatsBus({ url: config.nats.url, processId, presenceTtlMs: config.nats.presenceTtlMs, log });
}
