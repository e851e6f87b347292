// The in-process bus (config `bus: none`, the default): one collector process, so nothing
// crosses; the live hub carries everything as it always has.
import type { Bus, BusHealth } from './bus.ts';

export function createNoneBus(processId: string): Bus {
  return {
    kind: 'none',
    processId,
    start: () => undefined,
    publish: () => undefined,
    claim: async () => undefined,
    release: async () => undefined,
    locate: () => undefined,
    command: async () => false,
    health: (): BusHealth => ({ kind: 'none', connected: true }),
    close: async () => undefined,
  };
}
