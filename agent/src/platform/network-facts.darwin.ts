// macOS: not implemented, never run. The facts would come from `route -n get default` (gateway),
// `arp -n` (its MAC), `scutil --dns` (search domains); the SSID needs Location Services for the
// agent since macOS 14 (`ipconfig getsummary en0` hides it otherwise). Until then a BYOD policy
// that needs the network keeps a Mac out of scope.
import { type NetworkFactsSource, unavailableNetworkFacts } from './network-facts.ts';

export function createDarwinNetworkFacts(): NetworkFactsSource {
  return unavailableNetworkFacts(
    'network facts are not read on macOS yet (route, scutil --dns not wired): on-premises scope cannot be decided',
  );
}
