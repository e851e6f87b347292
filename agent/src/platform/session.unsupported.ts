// No session discovery on this platform: the agent uses its own environment (Windows and macOS
// services reach the console session through their own adapters).
import type { SessionDiscovery } from './session.ts';

export function createUnsupportedSessionDiscovery(): SessionDiscovery {
  return {
    fingerprint: async () => '',
    discover: async () => undefined,
  };
}
